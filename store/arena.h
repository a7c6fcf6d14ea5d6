/*
 * store/arena.h - one model's objects, each in the slot its id names.
 *
 * Ids are dense (1, 2, 3, ... never reused), so an arena is addressed by id: chunk
 * id >> RS_CHUNK_SHIFT holds ids [c * RS_CHUNK_SLOTS, (c + 1) * RS_CHUNK_SLOTS), each in
 * slot id % RS_CHUNK_SLOTS. Finding an object is two loads (the chunk table, small enough to
 * stay in cache, then the slot): no hash, no probe, no compare of keys. A slot's first word
 * is the id of the object living there, 0 while nobody does.
 *
 * A slot's address belongs to its id for as long as the store is open: chunks are carved
 * from mappings that are never reused for other ids (store/arena.c says what that costs), so
 * a pointer to a deleted object can never reach a living one.
 *
 * Beside each chunk live its marks: bit planes of one bit per slot (dirty, deleted, in
 * flight: store/object.c and persist/snapshot.c give them meaning) and a list of the chunks
 * holding a set mark, so that what changed is found in time proportional to the change.
 */
#ifndef RS_STORE_ARENA_H
#define RS_STORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    RS_CHUNK_SHIFT = 10,
    RS_CHUNK_SLOTS = 1 << RS_CHUNK_SHIFT,
    RS_CHUNK_WORDS = RS_CHUNK_SLOTS / 64,
};

/* Ids of a model are below RS_ID_LIMIT: a create past it is STORE_EFULL, and a file whose
 * catalog names a next id above it is damaged. */
#define RS_ID_LIMIT ((uint64_t)1 << 40)

/* The mark planes: changed and deleted since the last snapshot, and the same two being
 * written by the snapshot in progress. */
enum { RS_MARK_DIRTY, RS_MARK_TOMB, RS_MARK_DIRTY_OUT, RS_MARK_TOMB_OUT, RS_NMARKS };

typedef struct rs_chunk_meta {
    uint32_t live;   /* objects living in the chunk */
    bool listed;     /* on the arena's list of marked chunks */
    uint64_t bits[RS_NMARKS][RS_CHUNK_WORDS];
} rs_chunk_meta;

/* The chunk table: chunk[c] is chunk c's slots, or NULL. A table never changes size: a
 * larger one replaces it, and the old one is kept (on the OLDER list) until the store
 * closes, so a reader holding no lock may go on using whichever table it loaded. */
typedef struct rs_chunks {
    size_t n;
    struct rs_chunks *older;
    char *chunk[];
} rs_chunks;

/* A mapping that chunks are carved from, in address order; never reused for another chunk. */
typedef struct rs_region {
    struct rs_region *next;
    char *base;
    size_t size;
} rs_region;

typedef struct rs_arena {
    size_t slot_size;     /* bytes, a multiple of 8, at least 16 */
    rs_chunks *table;     /* NULL until the first reserve; read with an acquire load */
    rs_chunk_meta *meta;  /* [nchunks] */
    size_t nchunks;       /* entries of meta, and of the table (most may be NULL) */
    uint32_t *marked;     /* chunk numbers with a DIRTY or TOMB bit set, unordered */
    size_t nmarked;       /* entries of marked; room for nchunks */
    rs_region *regions;   /* every mapping, newest first; unmapped when the store closes */
    size_t carved;        /* bytes of the newest region handed out as chunks */
    size_t mapped;        /* bytes of all regions */
    size_t count[RS_NMARKS]; /* bits set, per plane */
} rs_arena;

/* rs_arena_init() - an empty arena of SLOT_SIZE-byte slots; allocates nothing. */
void rs_arena_init(rs_arena *a, size_t slot_size);

/* rs_arena_free_all() - give every chunk back; every slot becomes invalid. */
void rs_arena_free_all(rs_arena *a);

/*
 * rs_arena_reserve() - make sure the slot of ID exists (its chunk allocated and zeroed), so
 * that rs_arena_take(ID) cannot fail. 0, or -1 when memory ran out (the arena still holds
 * exactly the objects it held).
 */
int rs_arena_reserve(rs_arena *a, uint64_t id);

/*
 * rs_arena_at() - the slot of ID, or NULL when its chunk does not exist. The slot holds
 * the object with ID only if its first word is ID. Takes no lock: safe against a writer
 * that reserves at the same time (it then answers from the table it loaded).
 */
static inline void *rs_arena_at(const rs_arena *a, uint64_t id)
{
    const rs_chunks *t = __atomic_load_n(&a->table, __ATOMIC_ACQUIRE);
    uint64_t c = id >> RS_CHUNK_SHIFT;
    if (!t || c >= t->n)
        return NULL;
    char *chunk = __atomic_load_n(&t->chunk[c], __ATOMIC_ACQUIRE);
    return chunk ? chunk + (id & (RS_CHUNK_SLOTS - 1)) * a->slot_size : NULL;
}

/*
 * rs_arena_take() - the (zeroed) slot of ID, reserved before, for an object that starts to
 * live there now. The caller writes ID into its first word.
 */
void *rs_arena_take(rs_arena *a, uint64_t id);

/*
 * rs_arena_drop() - the object of ID has died (the caller zeroed its slot). When a chunk
 * whose every id was handed out (ids below NEXT_ID) holds no living object any more, it
 * leaves the table and its pages go back to the system. Its addresses stay mapped, reading
 * zeros, and never hold another object while the store is open: a stale pointer into it
 * reads a dead object, never unmapped memory and never an object of another id.
 */
void rs_arena_drop(rs_arena *a, uint64_t id, uint64_t next_id);

/* rs_arena_live_add() - chunk C holds DELTA more living objects (a transaction drops and
 * takes back objects without giving pages back: store/txn.h). */
void rs_arena_live_add(rs_arena *a, uint64_t c, int delta);

/* rs_arena_settle() - chunk C gives its pages back if it holds no living object and every
 * id in it was handed out (ids below NEXT_ID), as rs_arena_drop() does. */
void rs_arena_settle(rs_arena *a, uint64_t c, uint64_t next_id);

/*
 * rs_arena_scan() - the slot of the living object with the smallest id >= *POS, or NULL;
 * *POS moves past it. Start *POS at 0; the walk is in id order.
 */
void *rs_arena_scan(const rs_arena *a, uint64_t *pos);

/* ---- Marks ---------------------------------------------------------------------------- */

/* rs_mark_test() - whether ID (its chunk reserved) has mark PLANE. */
static inline bool rs_mark_test(const rs_arena *a, uint64_t id, int plane)
{
    const rs_chunk_meta *m = &a->meta[id >> RS_CHUNK_SHIFT];
    uint32_t s = (uint32_t)(id & (RS_CHUNK_SLOTS - 1));
    return m->bits[plane][s / 64] >> (s % 64) & 1;
}

/* rs_arena_mark_set() - set or clear mark PLANE of ID (its chunk reserved). Never allocates:
 * the list of marked chunks always has room for every chunk. */
void rs_arena_mark_set(rs_arena *a, uint64_t id, int plane, bool on);

/* rs_arena_mark_sort() - put the list of marked chunks in chunk order (for a walk in id order). */
void rs_arena_mark_sort(rs_arena *a);

/*
 * rs_arena_mark_settle() - after a snapshot: if WRITTEN, the DIRTY and TOMB bits still in flight
 * are cleared (they were written); either way the in-flight planes are emptied, and chunks
 * left with no DIRTY or TOMB bit leave the list. Cost: the listed chunks.
 */
void rs_arena_mark_settle(rs_arena *a, bool written);

#endif
