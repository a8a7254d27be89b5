/*
 * dl.c - dlopen a plugin that allocates, dlclose it, repeat.
 *
 * Usage: dl [PLUGIN] - default: dlplugin.so next to this executable.
 * Loads the plugin ROUNDS times; each time calls plugin_alloc() and keeps
 * the block it returns after dlclose.  Truth at rate 1
 * (tests/integration/lib_pprof.py, DL): plugin_alloc 100 objects / 10000 B
 * allocated, 20 / 2000 B in use; plugin_ctor 20 / 1000 B allocated, none in
 * use.  stdout is fixed; exit code 0.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 20

static char *kept[ROUNDS];

int main(int argc, char **argv)
{
	char path[PATH_MAX];

	if (argc > 1) {
		snprintf(path, sizeof path, "%s", argv[1]);
	} else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
		if (n < 0) {
			printf("dl: cannot read /proc/self/exe\n");
			return 1;
		}
		path[n] = 0;
		char *slash = strrchr(path, '/');
		strcpy(slash ? slash + 1 : path, "dlplugin.so");
	}
	for (int r = 0; r < ROUNDS; r++) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			printf("dl: dlopen failed: %s\n", dlerror());
			return 1;
		}
		void *(*fn)(int) = (void *(*)(int))dlsym(h, "plugin_alloc");
		if (!fn) {
			printf("dl: dlsym failed\n");
			return 1;
		}
		kept[r] = fn(r);
		if (dlclose(h) != 0) {
			printf("dl: dlclose failed\n");
			return 1;
		}
	}
	int sum = 0;
	for (int r = 0; r < ROUNDS; r++)
		sum += kept[r][99];
	printf("dl: %d rounds, checksum %d\n", ROUNDS, sum);
	return 0;
}
