/*
 * wrapplugin.c - a second preload that wraps pthread_create, as tracing and
 * sandboxing preloads do: the new thread runs this library's start
 * routine first, which allocates, and then the real one.  Preloaded after
 * libheapprof.so, it runs on heapprof's own threads too, and on the
 * program's before heapprof's thread_begin.  Such an allocation counted
 * a thread twice, or counted heapprof's dumper as the program's, and a
 * program whose main left with pthread_exit never ended
 * (tests/integration/lib_exit.sh).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *volatile sink;

static void *wrapped(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	sink = malloc(100);
	free(sink);
	return s.fn(s.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	static int (*next)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!next)
		next = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT,
												     "pthread_create");
	struct start *s = malloc(sizeof *s);
	if (!s)
		return next(t, a, fn, arg);
	s->fn = fn;
	s->arg = arg;
	int r = next(t, a, wrapped, s);
	if (r != 0)
		free(s);
	return r;
}
