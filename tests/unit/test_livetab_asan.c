/* test_livetab.c under AddressSanitizer and UBSan.
 * Links: livetab.c ialloc.c */
#define LIVETAB_BIG 200000
#include "test_livetab.c"
