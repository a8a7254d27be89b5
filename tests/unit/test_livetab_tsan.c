/* test_livetab.c under ThreadSanitizer (smaller, sanitizers are slow).
 * Links: livetab.c ialloc.c */
#define LIVETAB_BIG 200000
#include "test_livetab.c"
