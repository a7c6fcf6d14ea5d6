/*
 * persist/kv.h - what the loader reads: named databases of key/value pairs, in key order.
 *
 * The loader (persist/load.c) reads through this and nothing else, so that it can be fed
 * from an LMDB read transaction (persist/file.c) or from memory (tests/fuzz/fuzz_load.c)
 * alike. Keys of the databases the loader reads are 8-byte integers, in increasing order.
 */
#ifndef RS_PERSIST_KV_H
#define RS_PERSIST_KV_H

#include <stddef.h>

typedef struct rs_kv {
    void *ctx;
    /*
     * Opens database NAME for a walk: STORE_OK with *CURSOR and *COUNT (its pairs), 1 if
     * there is no such database, or a STORE_E* code with the detail recorded (on no store).
     */
    int (*open)(void *ctx, const char *name, size_t *count, void **cursor);
    /* The next pair, pointers valid until the next call: 1, 0 at the end, or a STORE_E*
     * code with the detail recorded. */
    int (*next)(void *cursor, const void **key, size_t *klen, const void **val, size_t *vlen);
    void (*close)(void *cursor);
} rs_kv;

#endif
