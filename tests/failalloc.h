/*
 * tests/failalloc.h - make the N-th allocation fail, for the all-or-nothing tests.
 *
 * Test executables link tests/failalloc.c with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * (and strdup and posix_memalign, which LMDB uses), and LMDB from its archive, so every
 * allocation made by the library, by LMDB and by the test's own code goes through the counter
 * below; the library itself has no hook.
 */
#ifndef RS_TESTS_FAILALLOC_H
#define RS_TESTS_FAILALLOC_H

#include <stdbool.h>

/* The N-th allocation from now (0: the next one) returns NULL; -1 turns failures off. */
void fail_alloc_at(long n);

/* Like fail_alloc_at(), but every allocation from the N-th on fails, until fail_alloc_at(-1). */
void fail_alloc_from(long n);

/* Whether an allocation failed since the last fail_alloc_at() / fail_alloc_from(). */
bool fail_alloc_hit(void);

/* How many allocations were made since the counter was last armed or reset. */
long fail_alloc_count(void);

#endif
