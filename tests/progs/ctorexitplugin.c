/*
 * ctorexitplugin.c - a library whose constructor works a while and then
 * calls exit(3), inside dlopen, which holds the dynamic linker's lock
 * (tests/progs/ctorexit.c loads it).
 */
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void init(void)
{
	usleep(1500000);        /* a periodic dump falls in here */
	exit(3);
}
