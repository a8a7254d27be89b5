/*
 * mdebug.c - glibc's malloc debugging must keep working under the profiler.
 *
 * Since glibc 2.34, MALLOC_CHECK_, mtrace() and mcheck() live in
 * libc_malloc_debug.so, which the user preloads.  With heapprof preloaded
 * first, heapprof must forward to that library's malloc, not past it to
 * libc's (tests/integration/lib_mdebug.sh runs both orders):
 *   overrun - writes one byte past a 100-byte block and frees it; under
 *             MALLOC_CHECK_=3 glibc aborts in free (exit 134), else
 *             "survived" is printed;
 *   trace   - mtrace() around two mallocs and one free, then prints how
 *             many allocation (+) and free (-) lines MALLOC_TRACE's file
 *             received: 2 and 1 when the debug malloc is in use;
 *   usable  - prints malloc_usable_size(malloc(1)), which tells allocators
 *             apart (glibc 24, tcmalloc and jemalloc 8): with jemalloc or
 *             tcmalloc preloaded after heapprof, theirs must be in use.
 */
#include <malloc.h>
#include <mcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;
static volatile size_t one_past = 101;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "overrun")) {
		char *p = malloc(100);
		memset(p, 1, one_past); /* the bug MALLOC_CHECK_ is there to catch */
		free(p);
		printf("survived\n");
		return 0;
	}
	if (!strcmp(mode, "trace")) {
		const char *path = getenv("MALLOC_TRACE");
		mtrace();
		void *p = malloc(123);
		keep = malloc(77);
		free(p);
		muntrace();
		FILE *f = path ? fopen(path, "r") : NULL;
		int plus = 0, minus = 0;
		char line[256];
		while (f && fgets(line, sizeof line, f)) {
			char *op = strstr(line, "] ");
			op = op ? op + 2 : line;
			plus += op[0] == '+';
			minus += op[0] == '-';
		}
		if (f)
			fclose(f);
		printf("traced: %d allocations, %d frees\n", plus, minus);
		return 0;
	}
	if (!strcmp(mode, "usable")) {
		keep = malloc(1);
		printf("usable %zu\n", malloc_usable_size(keep));
		return 0;
	}
	fprintf(stderr, "usage: mdebug overrun|trace|usable\n");
	return 2;
}
