# heapprof - plain GNU make.  Outputs go to build/.  `make V=1` shows commands.
#
#   make              build/libheapprof.so and build/heapprof (the CLI)
#   make test         unit + integration tests (ends with "N passed, M failed")
#   make bench        overhead benchmarks (not part of the tests)
#   make demo         profile an example and show its top allocation sites
#   make install PREFIX=/usr/local
#   make clean

PREFIX  ?= /usr/local
CC      ?= cc
B       := build
VERSION := 0.1.0

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN    := -Wall -Wextra
CFLAGS  ?= -O2 -g
BASE_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread -Iinclude -DHP_VERSION=\"$(VERSION)\"

# The library lives inside someone else's process: hidden symbols, initial-exec
# TLS, no builtin malloc folding (gcc turns malloc+memset into calloc), and
# every symbol bound at load time so nothing lazy happens inside malloc.
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free
LIB_LDFLAGS := -shared -Wl,-z,now -Wl,-z,nodelete -Wl,--no-undefined -Wl,--version-script=libheapprof/heapprof.map \
	-Wl,-soname,libheapprof.so
# libdw and libelf are loaded at the first profile (dwlib.c), not linked:
# they cost every start of every profiled process 0.4 ms.
LIB_LIBS := -lz -ldl -lpthread

LIB_SRCS := $(addprefix libheapprof/, interpose.c core.c config.c sampler.c stack.c cfi.c \
	ialloc.c exitheap.c deferred.c fdtab.c stacktab.c livetab.c modtab.c dump.c dumper.c beacon.c http.c trace.c leaks.c pb.c profile.c \
	symbolize.c dwlib.c)
LIB_OBJS := $(patsubst libheapprof/%.c,$(B)/lib/%.o,$(LIB_SRCS))
LIB      := $(B)/libheapprof.so

.PHONY: all lib deps test unit bench demo install clean
all: lib cli

lib: $(LIB)

# Debian packages we build and test with; installs whichever are missing.
deps: $(B)/.deps
$(B)/.deps: scripts/deps.sh
	$(Q)mkdir -p $(B)
	$(Q)sh scripts/deps.sh
	$(Q)touch $@

# The code between malloc and the unwinder keeps frame pointers, so that
# HEAPPROF_UNWIND=fp finds an unbroken chain.  The fast paths need no frame:
# they end in a tail jump, and gcc sets the frame up on the slow branch only.
$(B)/lib/interpose.o $(B)/lib/core.o $(B)/lib/stack.o $(B)/lib/cfi.o: LIB_CFLAGS += -fno-omit-frame-pointer

$(B)/lib/%.o: libheapprof/%.c libheapprof/hp.h libheapprof/hp_env.h libheapprof/profile.h include/heapprof.h | $(B)/.deps
	$(Q)mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS) libheapprof/heapprof.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LIB_CFLAGS) $(LIB_LDFLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)

-include cli/cli.mk
-include tests/tests.mk
-include bench/bench.mk
-include examples/examples.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libheapprof.so
	install -m 644 include/heapprof.h $(DESTDIR)$(PREFIX)/include/heapprof.h
	[ ! -f $(B)/heapprof ] || install -m 755 $(B)/heapprof $(DESTDIR)$(PREFIX)/bin/heapprof
	[ ! -f docs/heapprof.1 ] || install -m 644 docs/heapprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/heapprof.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' libheapprof/heapprof.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/heapprof.pc

clean:
	rm -rf $(B)
