# examples/: programs `make demo` profiles.  Built with -g and frame
# pointers so the profile names functions and lines.
EXAMPLES := $(B)/examples/logcache

$(B)/examples/%: examples/%.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer -Wall -Wextra -o $@ $<

.PHONY: examples demo
examples: $(EXAMPLES)

# The main job: profile the example with the CLI, show the heaviest sites
# and write a flame graph.
demo: all examples
	@sh scripts/demo.sh
