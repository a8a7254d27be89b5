# bench/bench.mk - included by the top Makefile.
#
#   make bench          heapprof's overhead: plain vs default rate vs rate 1,
#                       ns per allocation and callgrind instruction counts
#                       (issue 2, item 9); about 4-6 minutes
#   make bench-peers    heapprof against heaptrack, massif, tcmalloc and
#                       jemalloc profiling, accuracy, profile writing time
#                       (issue 7); about 20-25 minutes, not run by CI
#
# BENCH_ARGS passes options to bench/bench.py, e.g. BENCH_ARGS=--quick for a
# smoke run, BENCH_ARGS="--rounds 9" or BENCH_ARGS="--only deep,churn".
# Results are printed and written to build/bench/results-{core,peers}.md.

# The workloads are built like ordinary programs: -O2, frame pointers kept
# (deep.c's stacks must be real), no identical-code folding (stacks.c and
# deep.c rely on distinct functions), and no malloc builtins, so gcc cannot
# drop a malloc/free pair whose block is never read.
BENCH_CFLAGS := $(BASE_CFLAGS) -O2 -fno-omit-frame-pointer -fno-ipa-icf -fno-optimize-sibling-calls \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free
BENCH_PROGS := $(addprefix $(B)/bench/,loop churn deep stacks runner start)

.PHONY: bench bench-peers bench-progs

bench-progs: $(BENCH_PROGS) $(B)/bench/floor.so

$(BENCH_PROGS): $(B)/bench/%: bench/%.c bench/bench.h include/heapprof.h bench/bench.mk
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< -ldl

# The floor: what forwarding alone costs (floor.c), a row of make bench.
$(B)/bench/floor.so: bench/floor.c bench/bench.mk
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) -O2 -fPIC -shared -fno-plt -o $@ $<

bench: $(LIB) $(BENCH_PROGS) $(B)/bench/floor.so
	$(Q)sh bench/deps.sh core
	$(Q)python3 bench/bench.py core --bin $(B)/bench --lib $(LIB) $(BENCH_ARGS)

bench-peers: $(LIB) $(BENCH_PROGS)
	$(Q)sh bench/deps.sh peers
	$(Q)python3 bench/bench.py peers --bin $(B)/bench --lib $(LIB) $(BENCH_ARGS)
