/*
 * modtab.c - the modules (executable and shared objects) that sampled
 * stacks point into, remembered after they are dlclose'd.
 *
 * A dump symbolizes from /proc/self/maps, which no longer lists a library
 * the program has unloaded; its frames would show as bare addresses.  So
 * whenever a new stack is interned, its addresses are checked against this
 * table, and a module not yet in it is recorded (path, load base, text
 * range, file offset) from dl_iterate_phdr.  At dump time, profile.c asks
 * here for any address /proc/self/maps does not cover and symbolizes it
 * from the file on disk.
 *
 * dl_iterate_phdr takes the dynamic loader's lock, and a thread inside
 * dlopen holds that lock while it calls malloc (and so may sample), so it
 * is never called with mt.lock or hp_g.lock held.  If a later library is
 * loaded over an unloaded one's addresses, the newer record wins.
 */
#include "hp.h"

#include <link.h>
#include <string.h>

#define MAXMODS 1024

struct module {
	uintptr_t lo, hi;       /* executable segment [lo, hi) */
	uintptr_t base;         /* load bias (dlpi_addr) */
	uint64_t offset;        /* file offset of lo */
	char *path;             /* ialloc'd; "" for the main program */
	size_t pathlen;
};

static struct {
	pthread_mutex_t lock;
	struct module mods[MAXMODS];
	int n;
} mt = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct found {
	struct module m[MAXMODS];
	int n;
};

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct found *f = arg;
	if (f->n >= MAXMODS)
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		struct module *m = &f->m[f->n++];
		m->lo = info->dlpi_addr + ph->p_vaddr;
		m->hi = m->lo + ph->p_memsz;
		m->base = info->dlpi_addr;
		m->offset = ph->p_offset;
		m->path = (char *)(info->dlpi_name ? info->dlpi_name : "");
		break;
	}
	return 0;
}

static int find_locked(uintptr_t a)
{
	for (int i = 0; i < mt.n; i++)
		if (a >= mt.mods[i].lo && a < mt.mods[i].hi)
			return i;
	return -1;
}

void hp_modtab_note(const uintptr_t *pcs, int n)
{
	int missing = 0;
	hp_mutex_lock(&mt.lock);
	for (int i = 0; i < n && !missing; i++)
		missing = find_locked(pcs[i] - 1) < 0;
	hp_mutex_unlock(&mt.lock);
	if (!missing)
		return;

	struct found *f = hp_ialloc(sizeof *f);
	if (!f)
		return;
	dl_iterate_phdr(collect, f);
	/* Copy names now: a dlclose could free them after the walk. */
	for (int i = 0; i < f->n; i++) {
		size_t l = strlen(f->m[i].path);
		char *p = hp_ialloc(l + 1);
		if (p)
			memcpy(p, f->m[i].path, l + 1);
		f->m[i].path = p;
		f->m[i].pathlen = l + 1;
	}
	hp_mutex_lock(&mt.lock);
	for (int i = 0; i < f->n; i++) {
		struct module *m = &f->m[i];
		if (!m->path)
			continue;
		int k = find_locked(m->lo);
		if (k >= 0 && mt.mods[k].lo == m->lo && mt.mods[k].hi == m->hi && !strcmp(mt.mods[k].path, m->path)) {
			hp_ifree(m->path, m->pathlen);  /* known already */
			continue;
		}
		if (k < 0 && mt.n < MAXMODS)
			k = mt.n++;
		else if (k >= 0)
			hp_ifree(mt.mods[k].path, mt.mods[k].pathlen);  /* reloaded over an old one */
		else {
			hp_ifree(m->path, m->pathlen);
			continue;
		}
		mt.mods[k] = *m;
	}
	hp_mutex_unlock(&mt.lock);
	hp_ifree(f, sizeof *f);
}

int hp_modtab_find(uintptr_t addr, struct hp_modinfo *out)
{
	int r = 0;
	hp_mutex_lock(&mt.lock);
	int k = find_locked(addr);
	if (k >= 0 && mt.mods[k].path[0]) {
		out->lo = mt.mods[k].lo;
		out->hi = mt.mods[k].hi;
		out->base = mt.mods[k].base;
		out->offset = mt.mods[k].offset;
		size_t l = mt.mods[k].pathlen < sizeof out->path ? mt.mods[k].pathlen : sizeof out->path;
		memcpy(out->path, mt.mods[k].path, l);
		out->path[sizeof out->path - 1] = 0;
		r = 1;
	}
	hp_mutex_unlock(&mt.lock);
	return r;
}

void hp_modtab_atfork_child(void)
{
	pthread_mutex_init(&mt.lock, NULL);
}
