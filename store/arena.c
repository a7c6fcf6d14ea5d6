/*
 * store/arena.c - slots addressed by id, in chunks of RS_CHUNK_SLOTS, and their marks.
 *
 * A slot's address is the object's identity (store_obj *): while its chunk is in the table
 * a slot belongs to one id (ids are never reused), and an object never moves. The chunk
 * table and the marks beside it grow by doubling; a chunk is allocated, zeroed, when the
 * first id it covers is reserved. Replaced chunk tables are kept until the store closes (at
 * most as many bytes as the current one), so that rs_arena_at() needs no lock. This
 * replaces a hash table id -> slot plus a free list: a lookup is an index computation, and
 * the objects of a model sit in id order, so a parent's children created together are
 * neighbours in memory.
 *
 * The cost is memory for ids that died: a chunk stays while any of its objects lives. A
 * chunk whose ids all died leaves the table, gives its pages back with madvise(MADV_DONTNEED)
 * (it stays mapped, reading zeros) and goes to a spare list, from which the next new range
 * of ids takes it before any new allocation: the memory a store holds follows the chunks
 * that hold living objects, not the number of ids ever handed out. A chunk is freed only
 * when the store closes, so that a reader holding no lock never touches freed memory.
 * Invariant: count[p] is the number of set bits of plane p, a chunk with a DIRTY or TOMB bit
 * is on the list, and every chunk is in the table or on the spare list, once.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/arena.h"

void rs_arena_init(rs_arena *a, size_t slot_size)
{
    memset(a, 0, sizeof *a);
    a->slot_size = slot_size;
}

void rs_arena_free_all(rs_arena *a)
{
    for (size_t c = 0; a->table && c < a->table->n; c++)
        free(a->table->chunk[c]);
    for (size_t k = 0; k < a->nspare; k++)
        free(a->spare[k]);
    free(a->spare);
    for (rs_chunks *t = a->table, *older; t; t = older) {
        older = t->older;
        free(t);
    }
    free(a->meta);
    free(a->marked);
    rs_arena_init(a, a->slot_size);
}

/* Makes the tables cover chunk C: a new chunk table is published (the old one kept for
 * readers without a lock), the marks grow in place. All of it, or nothing that shows. */
static int grow_tables(rs_arena *a, size_t c)
{
    size_t n = a->nchunks ? a->nchunks : 4;
    while (n <= c)
        n *= 2;
    rs_chunk_meta *meta = realloc(a->meta, n * sizeof *meta);
    if (!meta)
        return -1;
    a->meta = meta;
    uint32_t *marked = realloc(a->marked, n * sizeof *marked);
    if (!marked)
        return -1;
    a->marked = marked;
    char **spare = realloc(a->spare, n * sizeof *spare);
    if (!spare)
        return -1;
    a->spare = spare;
    rs_chunks *t = calloc(1, sizeof *t + n * sizeof t->chunk[0]);
    if (!t)
        return -1;
    t->n = n;
    t->older = a->table;
    if (a->table)
        memcpy(t->chunk, a->table->chunk, a->nchunks * sizeof t->chunk[0]);
    memset(meta + a->nchunks, 0, (n - a->nchunks) * sizeof *meta);
    a->nchunks = n;
    __atomic_store_n(&a->table, t, __ATOMIC_RELEASE);
    return 0;
}

/*
 * Zeroes a chunk taken from the spare list (the edges of its pages kept old bytes). A reader
 * holding no lock may still be looking at one of its slots through a stale pointer: the id
 * and model words it may read without a lock are cleared with atomic stores, the rest, which
 * it reads only under the store's lock, with memset.
 */
static void clear_chunk(const rs_arena *a, char *chunk)
{
    for (size_t i = 0; i < RS_CHUNK_SLOTS; i++) {
        uint64_t *slot = (uint64_t *)(void *)(chunk + i * a->slot_size);
        __atomic_store_n(&slot[0], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slot[1], 0, __ATOMIC_RELAXED);
        memset(slot + 2, 0, a->slot_size - 2 * sizeof *slot);
    }
}

int rs_arena_reserve(rs_arena *a, uint64_t id)
{
    uint64_t c = id >> RS_CHUNK_SHIFT;
    if (c > UINT32_MAX || (RS_CHUNK_SLOTS > SIZE_MAX / a->slot_size))
        return -1;
    if (c >= a->nchunks && grow_tables(a, (size_t)c))
        return -1;
    if (a->table->chunk[c])
        return 0;
    char *chunk;
    if (a->nspare) {
        chunk = a->spare[--a->nspare];
        clear_chunk(a, chunk);
    } else if (!(chunk = calloc(RS_CHUNK_SLOTS, a->slot_size))) {
        return -1;
    }
    __atomic_store_n(&a->table->chunk[c], chunk, __ATOMIC_RELEASE);
    return 0;
}

void *rs_arena_take(rs_arena *a, uint64_t id)
{
    a->meta[id >> RS_CHUNK_SHIFT].live++;
    return rs_arena_at(a, id);
}

/* Takes chunk C out of the table onto the spare list and gives back the whole pages inside
 * it (it stays mapped and reads zeros there). */
static void release_chunk(rs_arena *a, size_t c)
{
    char *chunk = a->table->chunk[c];
    __atomic_store_n(&a->table->chunk[c], NULL, __ATOMIC_RELEASE);
    a->spare[a->nspare++] = chunk; /* room for every chunk: cannot fail */
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    uintptr_t start = (uintptr_t)chunk, end = start + RS_CHUNK_SLOTS * a->slot_size;
    uintptr_t first = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t last = end & ~((uintptr_t)page - 1);
    if (last > first)
        madvise((void *)first, last - first, MADV_DONTNEED); /* advice: failure is harmless */
}

void rs_arena_drop(rs_arena *a, uint64_t id, uint64_t next_id)
{
    uint64_t c = id >> RS_CHUNK_SHIFT;
    if (--a->meta[c].live == 0 && (c + 1) << RS_CHUNK_SHIFT <= next_id)
        release_chunk(a, (size_t)c);
}

void *rs_arena_scan(const rs_arena *a, uint64_t *pos)
{
    for (uint64_t id = *pos; (id >> RS_CHUNK_SHIFT) < a->nchunks; id++) {
        uint64_t c = id >> RS_CHUNK_SHIFT;
        if (!a->table->chunk[c] || !a->meta[c].live) {
            id = ((c + 1) << RS_CHUNK_SHIFT) - 1; /* the next chunk */
            continue;
        }
        char *slot = a->table->chunk[c] + (id & (RS_CHUNK_SLOTS - 1)) * a->slot_size;
        uint64_t held;
        memcpy(&held, slot, sizeof held);
        if (held == id && id) {
            *pos = id + 1;
            return slot;
        }
    }
    *pos = (uint64_t)a->nchunks << RS_CHUNK_SHIFT;
    return NULL;
}

/* ---- Marks ---------------------------------------------------------------------------- */

static bool chunk_marked(const rs_chunk_meta *m)
{
    for (int w = 0; w < RS_CHUNK_WORDS; w++)
        if (m->bits[RS_MARK_DIRTY][w] | m->bits[RS_MARK_TOMB][w])
            return true;
    return false;
}

void rs_mark_set(rs_arena *a, uint64_t id, int plane, bool on)
{
    size_t c = (size_t)(id >> RS_CHUNK_SHIFT);
    rs_chunk_meta *m = &a->meta[c];
    uint32_t s = (uint32_t)(id & (RS_CHUNK_SLOTS - 1));
    uint64_t bit = UINT64_C(1) << (s % 64), *w = &m->bits[plane][s / 64];
    if (!(*w & bit) == !on)
        return;
    *w ^= bit;
    a->count[plane] += on ? 1 : (size_t)-1;
    if (on && (plane == RS_MARK_DIRTY || plane == RS_MARK_TOMB) && !m->listed) {
        m->listed = true;
        a->marked[a->nmarked++] = (uint32_t)c;
    }
}

static int by_number(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

void rs_mark_sort(rs_arena *a)
{
    if (a->nmarked > 1)
        qsort(a->marked, a->nmarked, sizeof *a->marked, by_number);
}

static size_t popcount(uint64_t w)
{
    return (size_t)__builtin_popcountll(w);
}

void rs_mark_settle(rs_arena *a, bool written)
{
    size_t keep = 0;
    for (size_t k = 0; k < a->nmarked; k++) {
        rs_chunk_meta *m = &a->meta[a->marked[k]];
        for (int w = 0; w < RS_CHUNK_WORDS; w++) {
            uint64_t *d = m->bits[RS_MARK_DIRTY], *t = m->bits[RS_MARK_TOMB];
            uint64_t *dout = m->bits[RS_MARK_DIRTY_OUT], *tout = m->bits[RS_MARK_TOMB_OUT];
            if (written) {
                a->count[RS_MARK_DIRTY] -= popcount(d[w] & dout[w]);
                a->count[RS_MARK_TOMB] -= popcount(t[w] & tout[w]);
                d[w] &= ~dout[w];
                t[w] &= ~tout[w];
            }
            a->count[RS_MARK_DIRTY_OUT] -= popcount(dout[w]);
            a->count[RS_MARK_TOMB_OUT] -= popcount(tout[w]);
            dout[w] = tout[w] = 0;
        }
        m->listed = chunk_marked(m);
        if (m->listed)
            a->marked[keep++] = a->marked[k];
    }
    a->nmarked = keep;
}
