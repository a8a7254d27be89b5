/*
 * deferred.c - the frees that had to wait for this thread's locks.
 *
 * A signal handler that frees a sampled block while its thread is inside
 * one of our critical sections cannot take the block's shard lock: the
 * thread may hold it, and would wait for itself for ever.  core.c
 * (free_later) keeps the block, still allocated, in the thread's list;
 * the unlock that leaves the thread holding none of our locks frees it
 * here, through the exported free, as the program asked.  Alone in its
 * file because every user of hp_unlock calls it: the unit tests link the
 * tables without core.c and interpose.c.
 */
#include "hp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void hp_free_deferred(void)
{
	struct hp_thread *t = &hp_self;
	void *p[HP_DEFER_MAX];
	int n = t->ndeferred, e = errno, g = t->guard;
	memcpy(p, t->deferred, (size_t)n * sizeof *p);
	t->ndeferred = 0;       /* first: the frees below unlock too */
	t->guard = 0;           /* the program's frees, counted as such (HEAPTRACE) */
	for (int i = 0; i < n; i++)
		free(p[i]);
	t->guard = g;
	errno = e;
}
