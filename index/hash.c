/*
 * index/hash.c - the open-addressing multimap behind every index: u64 keys, pointer values.
 *
 * The table owns one calloc'ed array of {key, val} pairs whose length is a power of two; a
 * slot is empty when its val is NULL. A key's home slot is XXH3-64 of its eight bytes, masked.
 * Invariants: every entry is reached by probing forward from its home slot without crossing an
 * empty slot; count is the number of occupied slots and never exceeds three quarters of the
 * capacity, so at least a quarter of the slots are empty and every probe ends. Deletion keeps
 * the first invariant by shifting later entries of the cluster back into the hole (no
 * tombstones), which is correct for repeated keys because it never looks at key equality.
 * Nothing here knows what a model or an object is, takes a lock or keeps global state; only
 * growth allocates, and it uses calloc and free only.
 */
#include <assert.h>
#include <stdlib.h>
#include <xxhash.h>

#include "index/hash.h"

enum { MIN_SLOTS = 16 };

/* The most entries a table of CAP slots may hold: three quarters of it (CAP is 0 or >= 16). */
static size_t load_limit(size_t cap)
{
    return cap - cap / 4;
}

static size_t capacity(const rs_hash *h)
{
    return h->slots ? h->mask + 1 : 0;
}

static size_t home_slot(size_t mask, uint64_t key)
{
    return (size_t)XXH3_64bits(&key, sizeof key) & mask;
}

/* Puts KEY -> VAL in the first empty slot from its home; the caller made sure one exists. */
static void place(rs_hash_entry *slots, size_t mask, uint64_t key, void *val)
{
    size_t i = home_slot(mask, key);
    while (slots[i].val)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].val = val;
}

/* Moves every entry into a new array of CAP slots; on failure the table is untouched. */
static int rehash(rs_hash *h, size_t cap)
{
    rs_hash_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    size_t old_cap = capacity(h);
    for (size_t i = 0; i < old_cap; i++) {
        if (h->slots[i].val)
            place(slots, cap - 1, h->slots[i].key, h->slots[i].val);
    }
    free(h->slots);
    h->slots = slots;
    h->mask = cap - 1;
    return 0;
}

/*
 * Makes the table big enough to hold NEED entries under the load limit, doubling from its
 * current capacity (or from MIN_SLOTS). Returns -1, table unchanged, if the capacity or its
 * size in bytes would overflow size_t or the allocation fails.
 */
static int fit(rs_hash *h, size_t need)
{
    size_t cap = capacity(h);
    if (need <= load_limit(cap))
        return 0;
    size_t new_cap = cap ? cap : MIN_SLOTS;
    while (need > load_limit(new_cap)) {
        if (new_cap > SIZE_MAX / 2)
            return -1;
        new_cap *= 2;
    }
    if (new_cap > SIZE_MAX / sizeof(rs_hash_entry))
        return -1;
    return rehash(h, new_cap);
}

/* The slot holding exactly KEY -> VAL, or SIZE_MAX when the pair is absent. */
static size_t find_pair(const rs_hash *h, uint64_t key, const void *val)
{
    if (!h->slots || !val)
        return SIZE_MAX;
    size_t i = home_slot(h->mask, key);
    for (; h->slots[i].val; i = (i + 1) & h->mask) {
        if (h->slots[i].key == key && h->slots[i].val == val)
            return i;
    }
    return SIZE_MAX;
}

void rs_hash_init(rs_hash *h)
{
    h->slots = NULL;
    h->mask = 0;
    h->count = 0;
}

void rs_hash_free(rs_hash *h)
{
    free(h->slots);
    rs_hash_init(h);
}

int rs_hash_reserve(rs_hash *h, size_t extra)
{
    if (extra > SIZE_MAX - h->count)
        return -1;
    return fit(h, h->count + extra);
}

int rs_hash_put(rs_hash *h, uint64_t key, void *val)
{
    assert(val);
    if (fit(h, h->count + 1))
        return -1;
    place(h->slots, h->mask, key, val);
    h->count++;
    return 0;
}

void *rs_hash_get(const rs_hash *h, uint64_t key)
{
    size_t pos = 0;
    return rs_hash_next(h, key, &pos);
}

/*
 * The cursor is the distance from KEY's home slot to the next slot to look at, so 0 starts at
 * the home slot. It only moves forward and the walk stops at the first empty slot, which
 * exists because the table is never more than three quarters full; the cursor then stays on
 * that slot, so further calls keep returning NULL. A stale cursor from a table that changed
 * still never reads outside the slots.
 */
void *rs_hash_next(const rs_hash *h, uint64_t key, size_t *pos)
{
    if (!h->slots)
        return NULL;
    size_t home = home_slot(h->mask, key);
    for (size_t d = *pos; d <= h->mask; d++) {
        const rs_hash_entry *e = &h->slots[(home + d) & h->mask];
        if (!e->val) {
            *pos = d;
            return NULL;
        }
        if (e->key == key) {
            *pos = d + 1;
            return e->val;
        }
    }
    *pos = h->mask + 1;
    return NULL;
}

/*
 * Backward shift: the hole at I is filled by the next entry of the cluster whose home slot is
 * not after the hole (cyclically), which opens a new hole where that entry was; the walk ends
 * at the first empty slot. An entry whose home lies in (hole, j] must stay, or probing from its
 * home would no longer reach it.
 */
bool rs_hash_del(rs_hash *h, uint64_t key, const void *val)
{
    size_t hole = find_pair(h, key, val);
    if (hole == SIZE_MAX)
        return false;
    size_t mask = h->mask;
    for (size_t j = (hole + 1) & mask; h->slots[j].val; j = (j + 1) & mask) {
        size_t dist = (j - home_slot(mask, h->slots[j].key)) & mask;
        if (dist >= ((j - hole) & mask)) {
            h->slots[hole] = h->slots[j];
            hole = j;
        }
    }
    h->slots[hole].key = 0;
    h->slots[hole].val = NULL;
    h->count--;
    return true;
}

bool rs_hash_replace(rs_hash *h, uint64_t key, const void *old, void *new_val)
{
    assert(new_val);
    size_t i = find_pair(h, key, old);
    if (i == SIZE_MAX)
        return false;
    h->slots[i].val = new_val;
    return true;
}

/* The cursor is the index of the next slot to look at. */
const rs_hash_entry *rs_hash_scan(const rs_hash *h, size_t *pos)
{
    size_t cap = capacity(h);
    for (size_t i = *pos; i < cap; i++) {
        if (h->slots[i].val) {
            *pos = i + 1;
            return &h->slots[i];
        }
    }
    *pos = cap;
    return NULL;
}
