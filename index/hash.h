/*
 * index/hash.h - one open-addressing hash table: u64 keys, non-NULL pointer values.
 *
 * Linear probing over a power-of-two array of {key, value} pairs, hashed with XXH3-64.
 * A key may be present more than once (a multimap), so the same table serves the id index
 * (one value per key), unique indexes (keys are value hashes; equal hashes of different
 * values coexist) and plain field indexes. Deletion shifts entries back instead of leaving
 * tombstones, so a table that sees many deletes never degrades.
 *
 * Nothing here knows what a model or an object is. Functions that may allocate return 0 or
 * -1 (out of memory, table unchanged); nothing else allocates.
 */
#ifndef RS_INDEX_HASH_H
#define RS_INDEX_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_hash_entry {
    uint64_t key;
    void *val; /* NULL: empty slot */
} rs_hash_entry;

typedef struct rs_hash {
    rs_hash_entry *slots; /* NULL until the first put or reserve */
    size_t mask;          /* capacity - 1; capacity is a power of two */
    size_t count;         /* live entries */
} rs_hash;

/* rs_hash_init() - an empty table; allocates nothing. */
void rs_hash_init(rs_hash *h);

/* rs_hash_free() - frees the slots; the table is empty again and may be reused. */
void rs_hash_free(rs_hash *h);

/*
 * rs_hash_reserve() - make room for EXTRA more entries.
 *
 * After it returns 0, the next EXTRA calls to rs_hash_put() cannot fail and do not allocate
 * (deletes in between only make more room). Returns -1 if the larger table cannot be
 * allocated; the table is then unchanged.
 */
int rs_hash_reserve(rs_hash *h, size_t extra);

/*
 * rs_hash_put() - add the pair KEY -> VAL (VAL not NULL). An existing entry with the same key
 * stays: callers that want one value per key look first. Grows the table when it passes its
 * load limit; returns -1 if that allocation fails, the table unchanged.
 */
int rs_hash_put(rs_hash *h, uint64_t key, void *val);

/* rs_hash_get() - a value stored under KEY (the first one met when there are several), or NULL. */
void *rs_hash_get(const rs_hash *h, uint64_t key);

/*
 * rs_hash_next() - walk every value stored under KEY.
 *
 *     size_t pos = 0;
 *     for (void *v; (v = rs_hash_next(h, key, &pos)); )
 *         ...
 *
 * POS is the walk's cursor; start it at 0. rs_hash_replace() does not disturb the walk; any put
 * or delete (even of the value just returned) ends its guarantees: a value may then be skipped.
 * To remove every value under KEY, delete rs_hash_get()'s answer until it is NULL.
 */
void *rs_hash_next(const rs_hash *h, uint64_t key, size_t *pos);

/*
 * rs_hash_del() - remove the pair KEY -> VAL (one copy, if it was put more than once). Returns
 * false if it is not there. Never allocates.
 */
bool rs_hash_del(rs_hash *h, uint64_t key, const void *val);

/* rs_hash_replace() - make the pair KEY -> OLD hold NEW_VAL (not NULL) instead; false if absent. */
bool rs_hash_replace(rs_hash *h, uint64_t key, const void *old, void *new_val);

/*
 * rs_hash_scan() - walk every entry, in table order.
 *
 *     size_t pos = 0;
 *     for (const rs_hash_entry *e; (e = rs_hash_scan(h, &pos)); )
 *         ...
 *
 * E points into the table and stays valid until the next put, delete or free. Any put or
 * delete ends the walk's guarantees: an entry may then be skipped or met twice.
 */
const rs_hash_entry *rs_hash_scan(const rs_hash *h, size_t *pos);

static inline size_t rs_hash_count(const rs_hash *h)
{
    return h->count;
}

#endif
