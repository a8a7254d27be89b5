/*
 * deferred.c - the frees that had to wait for this thread's locks.
 *
 * A signal handler that frees a sampled block while its thread is inside
 * one of our critical sections cannot take the block's shard lock: the
 * thread may hold it, and would wait for itself for ever.  core.c
 * (free_later) keeps the block, still allocated, in the thread's list,
 * linked through the block's first word (the program is done with it), so
 * the list has no length limit and needs no memory;
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
	int e = errno, g = t->guard;
	/* The whole list at once, in one exchange: a signal landing in a copy
	 * and a reset, whose handler's own unlock flushed the same list, made
	 * each block freed twice (glibc: "double free detected"). */
	void *p = __atomic_exchange_n(&t->deferred, NULL, __ATOMIC_ACQUIRE);
	t->guard = 0;           /* the program's frees, counted as such (HEAPTRACE) */
	while (p) {
		void *next;
		memcpy(&next, p, sizeof next);
		free(p);        /* its unlock may flush blocks pushed meanwhile */
		p = next;
	}
	t->guard = g;
	errno = e;
}
