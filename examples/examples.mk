# examples/: programs `make demo` profiles.  Built with -g, frame pointers and
# no inlining, so the demo shows each function of the example as a frame.
EXAMPLES := $(B)/examples/logcache

$(B)/examples/%: examples/%.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -fno-inline -g -fno-omit-frame-pointer -Wall -Wextra -o $@ $<

.PHONY: examples demo
examples: $(EXAMPLES)

# The main job: profile the example with the CLI, show the heaviest sites
# and write a flame graph.
demo: all examples
	@sh scripts/demo.sh
