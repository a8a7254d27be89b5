/*
 * fuzz_pprof_read.c - libFuzzer target for the profile reader (`make fuzz`).
 *
 * Each input goes through pprof_parse (gzip or plain) and, when accepted,
 * through what the commands do with a profile: folded stacks for every
 * sample type (as value and as base, merged), per-function and per-line
 * totals sorted both ways, and every frame's name and position.  The reader
 * promises that every index it hands out is in range; ASan and UBSan turn a
 * broken promise, or an overflow in the sums, into a crash here.
 *
 * Crashes found are fixed and their inputs kept in tests/fuzz/regress/,
 * which tests/unit/test_pprof_read.c replays on every test run.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_profile p;
	char err[256];
	/* A small cap keeps gzip bombs within the fuzzer's memory limit. */
	if (pprof_parse(data, size, (size_t)16 << 20, &p, err, sizeof err) != PPROF_OK) {
		if (strlen(err) == 0)
			__builtin_trap();       /* every failure must say why */
		return 0;
	}
	volatile size_t sink = 0;
	for (size_t i = 0; i < p.nstring; i++)
		sink += strlen(p.string[i]);
	for (size_t i = 0; i < p.nlocation; i++) {
		const struct pprof_location *l = &p.location[i];
		for (size_t j = 0; j <= l->nline; j++) {
			char name[256], pos[256];
			sink += strlen(cli_frame_name(&p, l, j, name, sizeof name));
			sink += strlen(cli_frame_pos(&p, l, j, pos, sizeof pos));
		}
	}
	for (size_t si = 0; si < p.nsample_type && si < 8; si++) {
		struct stackset s = { 0 };
		if (stacks_add(&s, &p, (int)si, 0) == 0 && stacks_add(&s, &p, (int)si, 1) == 0)
			stacks_merge(&s);
		stacks_free(&s);
		for (int lines = 0; lines < 2; lines++) {
			struct fnodeset fs = { 0 };
			if (fnodes_build(&fs, &p, (int)si, lines) == 0) {
				fnodes_sort(&fs, 0);
				fnodes_sort(&fs, 1);
				for (size_t i = 0; i < fs.n; i++)
					sink += strlen(fs.v[i].name) + strlen(fnode_inline_label(&fs.v[i]));
			}
			fnodes_free(&fs);
		}
	}
	(void)sink;
	pprof_free(&p);
	return 0;
}
