# cli/cli.mk - the `heapprof` command line tool (included by the top Makefile).
#
#   make cli             build/heapprof from cli/*.c (needs only zlib, not the library)
#   make fuzz            fuzz the profile reader for $(FUZZ_SECONDS) s (default 60)
#                        with libFuzzer + ASan + UBSan, starting from real profiles
#   make cli-test        the CLI's own unit test and integration scripts
#
# Every cli/*.c is part of the program, so new files (the flame graph
# renderer, cli/flame.c) join the build without edits here.

CLI_SRCS := $(filter-out cli/fuzz_%,$(wildcard cli/*.c))
CLI_OBJS := $(patsubst cli/%.c,$(B)/cli/%.o,$(CLI_SRCS))
CLI_HDRS := $(wildcard cli/*.h) libheapprof/hp_env.h
CLI      := $(B)/heapprof

.PHONY: cli fuzz cli-test

cli: $(CLI)

$(B)/cli/%.o: cli/%.c $(CLI_HDRS)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) -c -o $@ $<

$(CLI): $(CLI_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -o $@ $(CLI_OBJS) -lz -lm

# ---- fuzzing the reader ----
# The target parses each input and then walks it the way the commands do
# (stacks, per-function totals, frame names), so a reader bug that lets a bad
# index through shows up as an ASan report.  Crashes land in
# $(B)/fuzz/artifacts/; once fixed, copy them to tests/fuzz/regress/, which
# tests/unit/test_pprof_read.c replays in every test run.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BIN     := $(B)/fuzz/fuzz_pprof_read
FUZZ_SRCS    := tests/fuzz/fuzz_pprof_read.c cli/pprof_read.c cli/common.c cli/stacks.c
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -Icli -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined

$(FUZZ_BIN): $(FUZZ_SRCS) $(CLI_HDRS)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) -lz -lm

fuzz: $(FUZZ_BIN)
	$(Q)mkdir -p $(B)/fuzz/corpus $(B)/fuzz/artifacts
	$(Q)cp tests/fuzz/seed/* tests/fuzz/regress/* $(B)/fuzz/corpus/ 2>/dev/null || true
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/artifacts/ $(B)/fuzz/corpus

# ---- the CLI's own tests (make test runs them too, through tests/run.sh;
# tests/tests.mk builds $(B)/tests/unit/test_pprof_read) ----
cli-test: $(CLI) $(B)/tests/unit/test_pprof_read
	$(Q)B=$(B) sh tests/run.sh test_pprof_read cli_
