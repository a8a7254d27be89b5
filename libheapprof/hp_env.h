/*
 * hp_env.h - how the HEAPPROF_* values are read, for the library
 * (config.c) and for the command line tool, which must read them the same
 * way: `heapprof dump` sends the signal it reads from the target's
 * environment, and `heapprof run` refuses what the library would ignore.
 * When the two read HEAPPROF_SIGNAL=TERM differently (the tool took any
 * signal name, the library only its list), dump sent SIGTERM to a program
 * that caught it and ended it.  Likewise the HEAPPROF_OUT patterns, whose
 * derived names (".%n" for dumps taken while the program runs) the tool
 * must find where the library writes them.  Header-only: the tool does not
 * link the library.
 */
#ifndef HEAPPROF_HP_ENV_H
#define HEAPPROF_HP_ENV_H

#include <signal.h>
#include <stdint.h>
#include <string.h>

#define HP_ENV_RATE_MAX ((uint64_t)1 << 40)             /* HEAPPROF_RATE */
#define HP_ENV_SECONDS_MAX ((uint64_t)86400 * 365)      /* HEAPPROF_INTERVAL, HEAPTRACE_INTERVAL */

/* A decimal number with an optional k/m/g (binary) suffix, digits only (no
 * sign, no spaces).  0 on success. */
static inline int hp_env_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -1;
	}
	unsigned shift = 0;
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	}
	if (*p || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

/* HEAPPROF_SIGNAL: "USR2" or "SIGUSR2" (upper case) from a short list of
 * signals a program is unlikely to need, "RTMIN+N", or the number of one of
 * them.  Returns the number, 0 for "0" (no signal), -1 when not understood
 * (the library then keeps SIGUSR2).  A number outside the list is refused
 * as its name is: 11 made a crashing program spin for ever in our handler
 * instead of dying, 9 can never be caught, 17 dumped at each child's exit. */
static inline int hp_env_signal(const char *s)
{
	static const struct { const char *n; int v; } names[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "PROF", SIGPROF },
		{ "URG", SIGURG }, { "WINCH", SIGWINCH }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
	};
	uint64_t v;
	if (hp_env_u64(s, &v) == 0) {
		if (v == 0 || (v >= (uint64_t)SIGRTMIN && v <= (uint64_t)SIGRTMAX))
			return (int)v;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (v == (uint64_t)names[i].v)
				return (int)v;
		return -1;
	}
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(s, names[i].n))
			return names[i].v;
	if (!strncmp(s, "RTMIN+", 6) && hp_env_u64(s + 6, &v) == 0 && v <= (uint64_t)(SIGRTMAX - SIGRTMIN))
		return SIGRTMIN + (int)v;
	return -1;
}

/* Copies directory dir into out (cap bytes) with each % doubled, so that
 * a pattern joined to it takes its % signs literally.  Returns the length
 * written, or cap when it does not fit (out then holds a cut copy). */
static inline size_t hp_env_escape(char *out, size_t cap, const char *dir)
{
	size_t o = 0;
	for (; *dir; dir++) {
		if (o + 2 >= cap)
			return cap;
		if (*dir == '%')
			out[o++] = '%';
		out[o++] = *dir;
	}
	out[o] = '\0';
	return o;
}

/* Whether pattern pat has %c (not counting "%%"). */
static inline int hp_env_pattern_has(const char *pat, char c)
{
	for (; *pat; pat++) {
		if (pat[0] == '%' && pat[1] == '%')
			pat++;
		else if (pat[0] == '%' && pat[1] == c)
			return 1;
	}
	return 0;
}

/* Where a derived name inserts text into file: before its profile
 * extension, else at its end.  The offset into file. */
static inline size_t hp_env_ext_at(const char *file)
{
	static const char *const ext[] = { ".pb.gz", ".pprof.gz", ".gz", ".pb", ".pprof", ".prof" };
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(file);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t e = strlen(ext[i]);
		if (strlen(base) > e && !strcmp(file + n - e, ext[i]))
			return n - e;
	}
	return n;
}

/* The beacon (libheapprof/beacon.c): a mapping the library names after its
 * dump settings, which `heapprof dump` finds in /proc/PID/maps as
 *     /memfd:heapprof:1 sig=12 out=/dir/app.%p.%n.pb.gz (deleted)
 * or "/memfd:heapprof:1 off" when HEAPPROF_RATE=0.  out= is the pattern of
 * dumps taken while the program runs, absolute, as the library expands it;
 * sig= the signal it was told to catch (0: none).  The kernel takes names
 * of at most 249 bytes. */
#define HP_ENV_BEACON "heapprof:1 "
#define HP_ENV_BEACON_MAX 249

#endif
