/*
 * store/arena.h - fixed-size slots for one model's objects.
 */
#ifndef RS_STORE_ARENA_H
#define RS_STORE_ARENA_H

#include <stddef.h>

typedef struct rs_arena_chunk rs_arena_chunk;

typedef struct rs_arena {
    size_t slot_size;       /* bytes, a multiple of 8, at least 24 */
    rs_arena_chunk *chunks; /* newest first */
    char *bump;             /* next never-used slot of the newest chunk */
    char *end;              /* end of the newest chunk */
    void *free;             /* recycled slots, linked through bytes 16..23 */
    size_t next_slots;      /* slots in the next chunk */
} rs_arena;

/* rs_arena_init() - an empty arena of SLOT_SIZE-byte slots; allocates nothing. */
void rs_arena_init(rs_arena *a, size_t slot_size);

/* rs_arena_free_all() - give every chunk back; every slot becomes invalid. */
void rs_arena_free_all(rs_arena *a);

/*
 * rs_arena_alloc() - a zeroed slot, or NULL when a new chunk cannot be allocated (the arena
 * is then unchanged). A slot never moves while it is in use.
 */
void *rs_arena_alloc(rs_arena *a);

/*
 * rs_arena_free() - put SLOT back for reuse. Bytes 0..15 are left as they are (the store
 * keeps a dead object's id, 0, and its model there); bytes 16..23 carry the free list.
 */
void rs_arena_free(rs_arena *a, void *slot);

#endif
