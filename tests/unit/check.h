/*
 * check.h - the unit tests' one helper: CHECK(cond, fmt, ...) prints
 * "ok - what" or "not ok - what" plus the failed condition, and counts.
 * Each test program ends with `return check_done();`.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

static int check_failed;

#define CHECK(cond, ...) do { \
	int ok_ = !!(cond); \
	printf("%s - ", ok_ ? "ok" : "not ok"); \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_) { \
		printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		check_failed++; \
	} \
	fflush(stdout); \
} while (0)

static inline int check_done(void)
{
	return check_failed ? 1 : 0;
}

#endif
