/*
 * threads.c - 8 threads, each freeing the blocks its neighbour allocated.
 *
 * Thread t allocates PER_THREAD blocks of 32 + 8*t bytes in produce(),
 * writes a pattern into each, keeps the last KEEP of them and passes the rest
 * to thread (t + 1) % 8 through a queue; every thread checks and frees what
 * it receives.  So most frees happen on another thread than the malloc, while
 * all threads allocate at the same time.  The queues are static arrays (no
 * malloc) guarded by a mutex and a condition variable.
 *
 * Truth at exit (tests/integration/lib_pprof.py, THREADS), leaf produce:
 *   per size 32 + 8t: alloc 20000 objects, inuse 100 objects;
 *   in all: alloc 160000 objects / 9600000 B, inuse 800 / 48000 B.
 * stdout is fixed; the exit code is 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define PER_THREAD 20000
#define KEEP 100

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int head, tail;                      /* head: next to pop; tail: next to push */
	void *slot[PER_THREAD];              /* never wraps: at most PER_THREAD pushes */
};

static struct queue queues[NTHREADS];
static void *kept[NTHREADS][KEEP];
static long checksum[NTHREADS];
static int received[NTHREADS];
static int bad[NTHREADS];

static size_t size_of(int t)
{
	return 32 + 8 * (size_t)t;
}

unsigned char *produce(int t, int j)
{
	unsigned char *p = malloc(size_of(t)); /* @produce */
	memset(p, (t * 31 + j) & 0xff, size_of(t));
	p[0] = (unsigned char)t;
	return p;
}

static void push(struct queue *q, void *p)
{
	pthread_mutex_lock(&q->lock);
	q->slot[q->tail++] = p;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Pops one block, waiting for one if wait is set; NULL if none and !wait. */
static void *pop(struct queue *q, int wait)
{
	void *p = NULL;
	pthread_mutex_lock(&q->lock);
	while (wait && q->head == q->tail)
		pthread_cond_wait(&q->cond, &q->lock);
	if (q->head != q->tail)
		p = q->slot[q->head++];
	pthread_mutex_unlock(&q->lock);
	return p;
}

static void consume(int t, unsigned char *p)
{
	int from = (t + NTHREADS - 1) % NTHREADS;
	if (p[0] != from || p[size_of(from) - 1] != ((from * 31 + received[t]) & 0xff))
		bad[t]++;
	checksum[t] += p[size_of(from) - 1];
	received[t]++;
	free(p);
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	struct queue *out = &queues[(t + 1) % NTHREADS];
	unsigned char *p;

	for (int j = 0; j < PER_THREAD; j++) {
		p = produce(t, j);
		if (j >= PER_THREAD - KEEP)
			kept[t][j - (PER_THREAD - KEEP)] = p;
		else
			push(out, p);
		while ((p = pop(&queues[t], 0)) != NULL)
			consume(t, p);
	}
	while (received[t] < PER_THREAD - KEEP)
		consume(t, pop(&queues[t], 1));
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];

	for (int t = 0; t < NTHREADS; t++) {
		pthread_mutex_init(&queues[t].lock, NULL);
		pthread_cond_init(&queues[t].cond, NULL);
	}
	for (int t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0) {
			printf("threads: pthread_create failed\n");
			return 1;
		}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	int nbad = 0;
	for (int t = 0; t < NTHREADS; t++) {
		printf("thread %d: freed %d blocks, checksum %ld\n", t, received[t], checksum[t]);
		nbad += bad[t];
		if (kept[t][KEEP - 1] == NULL)
			nbad++;
	}
	printf("threads: %d bad blocks\n", nbad);
	return nbad ? 1 : 0;
}
