/*
 * tests/xorshift.h - the xorshift64 generator the tests draw their random inputs from.
 */
#ifndef RS_TESTS_XORSHIFT_H
#define RS_TESTS_XORSHIFT_H

#include <stdint.h>

/* The next number of the generator whose state is *STATE (which must start non-zero). */
static inline uint64_t rnd(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
