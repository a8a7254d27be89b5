/* test_stacktab.c under ThreadSanitizer: the lock-free lookup.
 * Links: stacktab.c ialloc.c config.c */
#include "test_stacktab.c"
