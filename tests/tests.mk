# tests/tests.mk - builds the unit tests and the test programs, and runs the
# suite.  Included by the top Makefile (B, Q, CC, BASE_CFLAGS, LIB, LIB_OBJS,
# LIB_LIBS come from there).  Rules are generic: a new tests/unit/test_*.c or
# tests/progs/*.c joins the build without editing this file.
#
#   make test            everything (library, CLI, unit and integration tests)
#   make test T=lib_     only tests whose name contains lib_ (see tests/run.sh)
#   make unit            unit tests only
#   make test-progs      only build the test programs
#
# Unit tests (tests/unit/test_NAME.c -> $(B)/tests/unit/test_NAME):
#   - by default linked with the library objects except interpose.o (from an
#     archive, so only the modules the test uses), so it keeps glibc's malloc;
#   - test_flame.c links cli/flame.c, test_pprof_read.c links cli/pprof_read.c
#     (no library objects);
#   - test_*_tsan.c / test_*_asan.c are built with clang and ThreadSanitizer /
#     AddressSanitizer+UBSan, against $(SAN_SRCS) compiled the same way;
#   - test_*.cc are compiled with g++.
# Test programs (tests/progs/NAME.c|cc -> $(B)/tests/progs/NAME) are built
# -O0 -fno-inline with frame pointers so their stacks are predictable, and
# without -rdynamic: the profiler must name their functions from .symtab.
# tests/progs/*plugin.c become shared objects $(B)/tests/progs/*plugin.so.

SAN_CC   ?= clang
CXX      ?= g++
TEST_TIMEOUT ?= 300

SAN_SRCS := libheapprof/stacktab.c libheapprof/livetab.c libheapprof/ialloc.c libheapprof/sampler.c \
	libheapprof/config.c libheapprof/deferred.c libheapprof/fdtab.c
LIB_HDRS := $(wildcard libheapprof/*.h) include/heapprof.h

# The unit tests call libdwfl themselves (test_symnames.c checks our names
# against its tables): linked, where the library loads it (dwlib.c).
UNIT_LIBS     := $(LIB_LIBS) -ldw -lelf
UNIT_CFLAGS   := $(BASE_CFLAGS) -Ilibheapprof
UNIT_CXXFLAGS := $(filter-out -std=gnu11,$(BASE_CFLAGS)) -std=gnu++17 -Ilibheapprof
SAN_CFLAGS    := -O1 -g -fno-omit-frame-pointer $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread \
	-Iinclude -Ilibheapprof -DHP_VERSION=\"$(VERSION)\"
UNIT_LIB_OBJS := $(filter-out $(B)/lib/interpose.o,$(LIB_OBJS))
# As an archive, so each test pulls in only the objects it uses (core.o, for
# one, refers to interpose.o's functions, which a table test never needs).
UNIT_LIB_A    := $(B)/tests/libhp_unit.a

# Sources cli tests link (extend if pprof_read.c grows dependencies in cli/).
TEST_FLAME_SRCS      := cli/flame.c
TEST_PPROF_READ_SRCS := cli/pprof_read.c

UNIT_TSAN_SRCS := $(wildcard tests/unit/test_*_tsan.c)
UNIT_ASAN_SRCS := $(wildcard tests/unit/test_*_asan.c)
UNIT_CLI_SRCS  := $(wildcard tests/unit/test_flame.c tests/unit/test_pprof_read.c)
UNIT_LIB_SRCS  := $(filter-out $(UNIT_TSAN_SRCS) $(UNIT_ASAN_SRCS) $(UNIT_CLI_SRCS), \
	$(wildcard tests/unit/test_*.c))
UNIT_CC_SRCS   := $(wildcard tests/unit/test_*.cc)

unit_bin = $(patsubst tests/unit/%.cc,$(B)/tests/unit/%,$(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(1)))
UNIT_LIB_BINS  := $(call unit_bin,$(UNIT_LIB_SRCS))
UNIT_TSAN_BINS := $(call unit_bin,$(UNIT_TSAN_SRCS))
UNIT_ASAN_BINS := $(call unit_bin,$(UNIT_ASAN_SRCS))
UNIT_CC_BINS   := $(call unit_bin,$(UNIT_CC_SRCS))
UNIT_BINS      := $(UNIT_LIB_BINS) $(UNIT_TSAN_BINS) $(UNIT_ASAN_BINS) $(UNIT_CC_BINS) \
	$(call unit_bin,$(UNIT_CLI_SRCS))

PROG_CFLAGS   := -O0 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls \
	$(WARN) -D_GNU_SOURCE -pthread -Iinclude
PLUGIN_SRCS   := $(wildcard tests/progs/*plugin.c)
PROG_C_SRCS   := $(filter-out $(PLUGIN_SRCS),$(wildcard tests/progs/*.c))
PROG_CC_SRCS  := $(wildcard tests/progs/*.cc)
PROG_BINS     := $(patsubst tests/progs/%.c,$(B)/tests/progs/%,$(PROG_C_SRCS)) \
	$(patsubst tests/progs/%.cc,$(B)/tests/progs/%,$(PROG_CC_SRCS))
PLUGIN_SOS    := $(patsubst tests/progs/%.c,$(B)/tests/progs/%.so,$(PLUGIN_SRCS))

.PHONY: test unit test-progs test-units

test: all test-units test-progs
	$(Q)B=$(B) TEST_TIMEOUT=$(TEST_TIMEOUT) sh tests/run.sh $(T)

unit: test-units
	$(Q)B=$(B) TEST_TIMEOUT=$(TEST_TIMEOUT) sh tests/run.sh --unit $(T)

test-units: $(UNIT_BINS)

test-progs: $(PROG_BINS) $(PLUGIN_SOS)

# ---- unit tests ----
$(UNIT_LIB_A): $(UNIT_LIB_OBJS)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(UNIT_LIB_BINS): $(B)/tests/unit/%: tests/unit/%.c $(UNIT_LIB_A) $(LIB_HDRS) $(wildcard tests/unit/*.h)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_LIB_A) $(UNIT_LIBS) -lm

$(UNIT_CC_BINS): $(B)/tests/unit/%: tests/unit/%.cc $(UNIT_LIB_A) $(LIB_HDRS)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(UNIT_CXXFLAGS) -o $@ $< $(UNIT_LIB_A) $(UNIT_LIBS) -lm

# The sanitizer builds compile $(SAN_SRCS) again with the sanitizer and
# archive them, so a test links only the modules it uses.
SAN_TSAN_A := $(B)/tests/san/libhp_tsan.a
SAN_ASAN_A := $(B)/tests/san/libhp_asan.a
SAN_TSAN_OBJS := $(patsubst libheapprof/%.c,$(B)/tests/san/tsan/%.o,$(SAN_SRCS))
SAN_ASAN_OBJS := $(patsubst libheapprof/%.c,$(B)/tests/san/asan/%.o,$(SAN_SRCS))
TSAN_FLAGS := -fsanitize=thread
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined

$(B)/tests/san/tsan/%.o: libheapprof/%.c $(LIB_HDRS) | $(B)/.deps
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN    $<")
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $(TSAN_FLAGS) -c -o $@ $<

$(B)/tests/san/asan/%.o: libheapprof/%.c $(LIB_HDRS) | $(B)/.deps
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  ASAN    $<")
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(SAN_TSAN_A): $(SAN_TSAN_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(SAN_ASAN_A): $(SAN_ASAN_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# Each test_X_tsan.c / test_X_asan.c is test_X.c #included under a
# sanitizer: rebuild it when test_X.c changes.
$(foreach t,$(UNIT_TSAN_SRCS) $(UNIT_ASAN_SRCS),\
	$(eval $(call unit_bin,$(t)): $(patsubst %_tsan.c,%.c,$(patsubst %_asan.c,%.c,$(t)))))

$(UNIT_TSAN_BINS): $(B)/tests/unit/%: tests/unit/%.c $(SAN_TSAN_A) $(LIB_HDRS) $(wildcard tests/unit/*.h)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  TSAN    $@")
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $(TSAN_FLAGS) -Itests/unit -o $@ $< $(SAN_TSAN_A) $(UNIT_LIBS) -lm

$(UNIT_ASAN_BINS): $(B)/tests/unit/%: tests/unit/%.c $(SAN_ASAN_A) $(LIB_HDRS) $(wildcard tests/unit/*.h)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  ASAN    $@")
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $(ASAN_FLAGS) -Itests/unit -o $@ $< $(SAN_ASAN_A) $(UNIT_LIBS) -lm

$(B)/tests/unit/test_flame: tests/unit/test_flame.c $(TEST_FLAME_SRCS) $(wildcard cli/*.h)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -Icli -o $@ $< $(TEST_FLAME_SRCS) -lm

$(B)/tests/unit/test_pprof_read: tests/unit/test_pprof_read.c $(TEST_PPROF_READ_SRCS) $(wildcard cli/*.h)
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -Icli -o $@ $< $(TEST_PPROF_READ_SRCS) -lz -lm

# ---- test programs ----
$(B)/tests/progs/%: tests/progs/%.c
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(PROG_CFLAGS) -std=gnu11 -o $@ $< -ldl

$(B)/tests/progs/%: tests/progs/%.cc
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(PROG_CFLAGS) -std=gnu++17 -o $@ $<

$(B)/tests/progs/%plugin.so: tests/progs/%plugin.c
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(PROG_CFLAGS) -std=gnu11 -fPIC -shared -o $@ $<
