/*
 * dlplugin.c - a shared object that dl.c loads and unloads repeatedly.
 *
 * Built as build/tests/progs/dlplugin.so.  Its constructor allocates a block
 * that its destructor frees (allocation while the loader runs), and
 * plugin_alloc() allocates five 100-byte blocks and hands one back to the
 * caller, which keeps it after the plugin is unloaded: the profile then
 * holds live blocks whose stack points into a library that is gone.
 *
 * Truth per load (dl.c loads it ROUNDS = 20 times):
 *   plugin_ctor:  1 object / 50 B allocated, freed by the destructor;
 *   plugin_alloc: 5 objects / 500 B allocated, 1 object / 100 B kept.
 */
#include <stdlib.h>
#include <string.h>

static void *ctor_block;

__attribute__((constructor)) void plugin_ctor(void)
{
	ctor_block = malloc(50); /* @plugin_ctor */
	memset(ctor_block, 'p', 50);
}

__attribute__((destructor)) static void plugin_dtor(void)
{
	free(ctor_block);
}

void *plugin_alloc(int round)
{
	char *v[5];
	for (int i = 0; i < 5; i++) {
		v[i] = malloc(100); /* @plugin_alloc */
		memset(v[i], 'a' + round % 26, 100);
	}
	for (int i = 1; i < 5; i++)
		free(v[i]);
	return v[0];
}
