/*
 * store/arena.c - slots of one size, carved from chunks that grow geometrically.
 *
 * A slot's address is the object's identity (store_obj *), so slots never move: chunks are
 * only ever added, and freed all at once when the store closes. Freed slots are recycled
 * before the bump pointer advances. Chunks start at 64 slots and double up to 65,536 slots,
 * so a small model wastes little and a large one makes few allocations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/arena.h"

enum { FIRST_SLOTS = 64, MAX_SLOTS = 65536 };

struct rs_arena_chunk {
    rs_arena_chunk *next;
    uint64_t pad; /* keeps the slots 16-byte aligned */
};

void rs_arena_init(rs_arena *a, size_t slot_size)
{
    memset(a, 0, sizeof *a);
    a->slot_size = slot_size;
    a->next_slots = FIRST_SLOTS;
}

void rs_arena_free_all(rs_arena *a)
{
    rs_arena_chunk *c = a->chunks;
    while (c) {
        rs_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    rs_arena_init(a, a->slot_size);
}

static int grow(rs_arena *a)
{
    size_t n = a->next_slots;
    if (n > (SIZE_MAX - sizeof(rs_arena_chunk)) / a->slot_size)
        return -1;
    rs_arena_chunk *c = malloc(sizeof *c + n * a->slot_size);
    if (!c)
        return -1;
    c->next = a->chunks;
    a->chunks = c;
    a->bump = (char *)(c + 1);
    a->end = a->bump + n * a->slot_size;
    if (a->next_slots < MAX_SLOTS)
        a->next_slots *= 2;
    return 0;
}

static void **free_link(void *slot)
{
    return (void **)((char *)slot + 16);
}

void *rs_arena_alloc(rs_arena *a)
{
    void *slot = a->free;
    if (slot) {
        a->free = *free_link(slot);
    } else {
        if (a->bump == a->end && grow(a))
            return NULL;
        slot = a->bump;
        a->bump += a->slot_size;
    }
    memset(slot, 0, a->slot_size);
    return slot;
}

void rs_arena_free(rs_arena *a, void *slot)
{
    *free_link(slot) = a->free;
    a->free = slot;
}
