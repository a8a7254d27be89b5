/* test_stacktab.c under AddressSanitizer and UBSan: the indexes as they grow.
 * Links: stacktab.c ialloc.c config.c */
#include "test_stacktab.c"
