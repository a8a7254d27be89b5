/*
 * frames.c - allocations under every kind of frame the default unwinder
 * (libheapprof/cfi.c) meets, so that a rate-1 profile can be checked frame
 * by frame, and against libunwind's walk of the same program.
 *
 * The test programs are built -O0 with frame pointers; the functions marked
 * NOFP below are compiled without one (CFA = rsp + N, rbp kept as a
 * general register or untouched), like most of a distribution's -O2 code.
 *
 *   path (leaf first)                                          objects  bytes
 *   fp_site <- fp_mid <- run_all <- main                          11    11 x 111
 *   nofp_site <- nofp_big <- nofp_small <- run_all <- main        12    12 x 222
 *   vla_site <- vla_mid <- run_all <- main                        13    13 x 333
 *   sig_site <- on_usr1 <- (signal frame) raise... <- sig_mid      14    14 x 444
 *   alt_site <- on_usr2 <- (signal frame, on a sigaltstack) ...    15    15 x 555
 *   rec_site <- recurse_nofp x 40 <- run_all <- main               16    16 x 666
 *
 * All blocks are freed.  In the signal cases the walk crosses a signal
 * frame, which cfi.c hands to libunwind; on the alternate signal stack it
 * cannot even start there.  stdout is fixed; the exit code is 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOFP __attribute__((noinline, noclone, optimize("omit-frame-pointer")))
#define KEEP __attribute__((noinline, noclone))

static void *blocks[128];
static int nblocks;
static volatile int sink;

static void hold(void *p, size_t n)
{
	memset(p, 1, n);
	blocks[nblocks++] = p;
}

KEEP void fp_site(void)
{
	for (int i = 0; i < 11; i++)
		hold(malloc(111), 111); /* @fp_site */
}

KEEP void fp_mid(void) { fp_site(); sink++; }

NOFP void nofp_site(void)
{
	for (int i = 0; i < 12; i++)
		hold(malloc(222), 222); /* @nofp_site */
}

/* A big frame: CFA = rsp + several KiB. */
NOFP void nofp_big(void)
{
	volatile char pad[6000];
	pad[0] = 1;
	nofp_site();
	sink += pad[0];
}

NOFP void nofp_small(void) { nofp_big(); sink++; }

KEEP void vla_site(void)
{
	for (int i = 0; i < 13; i++)
		hold(malloc(333), 333); /* @vla_site */
}

/* A variable-length array makes even NOFP code keep a frame pointer. */
NOFP void vla_mid(int n)
{
	volatile char v[n];
	v[0] = 1;
	vla_site();
	sink += v[0];
}

KEEP void sig_site(void)
{
	for (int i = 0; i < 14; i++)
		hold(malloc(444), 444); /* @sig_site */
}

KEEP void alt_site(void)
{
	for (int i = 0; i < 15; i++)
		hold(malloc(555), 555); /* @alt_site */
}

static void on_usr1(int sig) { (void)sig; sig_site(); }
static void on_usr2(int sig) { (void)sig; alt_site(); }

KEEP void sig_mid(void) { raise(SIGUSR1); sink++; }
KEEP void alt_mid(void) { raise(SIGUSR2); sink++; }

KEEP void rec_site(void)
{
	for (int i = 0; i < 16; i++)
		hold(malloc(666), 666); /* @rec_site */
}

NOFP int recurse_nofp(int n)
{
	volatile int local = n;
	if (n == 0)
		rec_site();
	else
		local += recurse_nofp(n - 1);
	return local;
}

KEEP void run_all(void)
{
	fp_mid();
	nofp_small();
	vla_mid(100 + sink);
	sig_mid();
	alt_mid();
	sink += recurse_nofp(40);
}

int main(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR2, &sa, NULL) != 0) {
		perror("frames: sigaltstack");
		return 1;
	}
	run_all();
	printf("frames: %d blocks\n", nblocks);
	for (int i = 0; i < nblocks; i++)
		free(blocks[i]);
	return 0;
}
