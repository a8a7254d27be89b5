/*
 * test_cfi_views.c - the stack walk's own views of unwind tables (cfi.c):
 * for every module of this process, a rule looked up through our private
 * mapping of its file must be the one looked up through the program's own
 * mapping, also while the views keep giving their pages back.  Views are
 * forced on for every module (view_min 1), so libc and this test count.
 * White-box: includes cfi.c to reach find_rule and the views.
 * Links: ialloc.o config.o
 */
#include "check.h"
#include "../../libheapprof/cfi.c"

#include <stdlib.h>

struct hp_global hp_g = { .lock = HP_LOCK_INIT };
HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

struct textrange {
	uintptr_t lo, hi;
};

static struct textrange texts[64];
static int ntexts;

static int add_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum && ntexts < 64; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			texts[ntexts++] = (struct textrange){ info->dlpi_addr + ph->p_vaddr,
							      info->dlpi_addr + ph->p_vaddr + ph->p_memsz };
	}
	return 0;
}

/* Rss of the mapping that starts at addr, from /proc/self/smaps (-1: none). */
static long rss_kib(const void *addr)
{
	char line[512], want[32];
	snprintf(want, sizeof want, "%lx-", (unsigned long)(uintptr_t)addr);
	FILE *f = fopen("/proc/self/smaps", "r");
	long rss = -1;
	int in = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (strchr(line, '-') && strncmp(line, want, strlen(want)) == 0)
			in = 1;
		else if (in && strncmp(line, "Rss:", 4) == 0) {
			rss = strtol(line + 4, NULL, 10);
			break;
		}
	}
	if (f)
		fclose(f);
	return rss;
}

int main(void)
{
	hp_cfg.rate = 524288;
	view_min = 1;
	CHECK(hp_cfi_init() == 0, "init");
	CHECK(vw.n >= 2, "views made for %d modules (this test, libc, ...)", vw.n);

	dl_iterate_phdr(add_text, NULL);
	long compared = 0, through_view = 0, differ = 0;
	for (int t = 0; t < ntexts; t++) {
		for (uintptr_t pc = texts[t].lo + 1; pc < texts[t].hi; pc += 13) {
			struct where w = { .pc = pc };
			dl_iterate_phdr(find_module, &w);
			const struct view *v = view_of((uintptr_t)w.hdr, w.subs);
			uint64_t want = find_rule(w.hdr, pc, &prog_view);
			compared++;
			if (!v)
				continue;
			uint64_t got = find_rule((const uint8_t *)((uintptr_t)w.hdr - (uintptr_t)v->delta), pc, v);
			view_lookup_done();     /* gives the pages back every VIEW_DROP_EVERY lookups */
			if (got == R_RETRY)
				continue;
			through_view++;
			differ += got != want;
		}
	}
	CHECK(through_view > compared / 2, "%ld of %ld code addresses looked up through a view", through_view, compared);
	CHECK(differ == 0, "each gave the rule the program's own mapping gives (%ld differ)", differ);

	/* What the views are for: their pages do not stay resident. */
	int big = 0;
	for (int i = 1; i < vw.n; i++)
		if (vw.m[i].maplen > vw.m[big].maplen)
			big = i;
	volatile uint8_t touch = vw.m[big].v.lo[vw.m[big].v.hi - vw.m[big].v.lo - 1];   /* as a lookup reads it */
	(void)touch;
	long before = rss_kib(vw.m[big].map);
	vw.lookups = VIEW_DROP_EVERY - 1;
	view_lookup_done();
	long after = rss_kib(vw.m[big].map);
	CHECK(before > 0 && after == 0, "a view's resident %ld KiB go back to 0 KiB when it is emptied", before);
	return check_done();
}
