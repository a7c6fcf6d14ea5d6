/*
 * store/arena.c - slots addressed by id, in chunks of RS_CHUNK_SLOTS, and their marks.
 *
 * A slot's address is the object's identity (store_obj *): it belongs to one id for as long
 * as the store is open, and an object never moves. The chunk table and the marks beside it
 * grow by doubling; a chunk is carved, zeroed, from the newest region (an anonymous mapping)
 * when the first id it covers is reserved. Replaced chunk tables are kept until the store
 * closes (at most as many bytes as the current one), so that rs_arena_at() needs no lock.
 * This replaces a hash table id -> slot plus a free list: a lookup is an index computation,
 * and the objects of a model sit in id order, so a parent's children created together are
 * neighbours in memory.
 *
 * A chunk whose ids were all handed out and all died leaves the table and gives its pages
 * back with madvise(MADV_DONTNEED): the memory a store holds follows the chunks that hold
 * living objects. Its addresses are never carved again while the store is open. Reusing
 * them for new ids (as an earlier design did) let a pointer kept to a deleted object reach
 * whichever object later took the slot, and every call would have had to tell the two
 * apart; with addresses that are never reused, a dead slot reads zeros until the store
 * closes, and a zero id or model word is proof of death. The cost is address space, not
 * memory: slot_size bytes of it per id ever handed out since the store was opened (a reopen
 * starts afresh), in regions that double up to REGION_MAX, plus the kernel's page tables for
 * the pages ever touched (8 bytes per 4 KiB page). Regions are unmapped only when the store
 * closes, so that a reader holding no lock never touches unmapped memory. Two costs are
 * memory after all: the marks beside each chunk (about 520 bytes per 1,024 ids handed out,
 * kept while the store is open), and under strict overcommit (vm.overcommit_memory = 2),
 * where MAP_NORESERVE is ignored, the regions count against the commit limit until close.
 * Invariant: count[p] is the number of set bits of plane p, a chunk with a DIRTY or TOMB bit
 * is on the list, and every chunk in the table lies inside one region.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/arena.h"

/* The largest region mapped at once: address space is cheap, but not free under a cap. */
#define REGION_MAX ((size_t)1 << 30)
enum { REGION_FIRST_CHUNKS = 16 };

void rs_arena_init(rs_arena *a, size_t slot_size)
{
    memset(a, 0, sizeof *a);
    a->slot_size = slot_size;
}

void rs_arena_free_all(rs_arena *a)
{
    for (rs_region *r = a->regions, *next; r; r = next) {
        next = r->next;
        munmap(r->base, r->size);
        free(r);
    }
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

/* A chunk's bytes, or 0 when they would not fit a size_t. */
static size_t chunk_bytes(const rs_arena *a)
{
    return RS_CHUNK_SLOTS > SIZE_MAX / a->slot_size ? 0 : RS_CHUNK_SLOTS * a->slot_size;
}

/* Maps a new region with room for at least one chunk of BYTES: the regions together double,
 * up to REGION_MAX at a time. Pages are committed only when touched. */
static int map_region(rs_arena *a, size_t bytes)
{
    size_t size = a->mapped < REGION_MAX ? a->mapped : REGION_MAX;
    size -= size % bytes;
    if (size < REGION_FIRST_CHUNKS * bytes)
        size = bytes <= SIZE_MAX / REGION_FIRST_CHUNKS ? REGION_FIRST_CHUNKS * bytes : bytes;
    rs_region *r = malloc(sizeof *r);
    if (!r)
        return -1;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(r);
        return -1;
    }
    *r = (rs_region){.next = a->regions, .base = base, .size = size};
    a->regions = r;
    a->carved = 0;
    a->mapped += size;
    return 0;
}

int rs_arena_reserve(rs_arena *a, uint64_t id)
{
    uint64_t c = id >> RS_CHUNK_SHIFT;
    size_t bytes = chunk_bytes(a);
    if (id >= RS_ID_LIMIT || !bytes)
        return -1;
    if (c >= a->nchunks && grow_tables(a, (size_t)c))
        return -1;
    if (a->table->chunk[c])
        return 0;
    if ((!a->regions || a->regions->size - a->carved < bytes) && map_region(a, bytes))
        return -1;
    char *chunk = a->regions->base + a->carved; /* fresh pages: zeros */
    a->carved += bytes;
#ifdef MADV_POPULATE_WRITE
    /* Its slots fill in id order: fault its pages in with one call rather than a trap each
     * (advice: where the kernel lacks it, the pages come one fault at a time). */
    madvise(chunk, bytes, MADV_POPULATE_WRITE);
#endif
    __atomic_store_n(&a->table->chunk[c], chunk, __ATOMIC_RELEASE);
    return 0;
}

void *rs_arena_take(rs_arena *a, uint64_t id)
{
    a->meta[id >> RS_CHUNK_SHIFT].live++;
    return rs_arena_at(a, id);
}

/* Takes chunk C out of the table and gives back the whole pages inside it (it stays mapped
 * and reads zeros there, until the store closes). */
static void release_chunk(rs_arena *a, size_t c)
{
    char *chunk = a->table->chunk[c];
    __atomic_store_n(&a->table->chunk[c], NULL, __ATOMIC_RELEASE);
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
    a->meta[c].live--;
    rs_arena_settle(a, c, next_id);
}

void rs_arena_live_add(rs_arena *a, uint64_t c, int delta)
{
    a->meta[c].live = (uint32_t)((int64_t)a->meta[c].live + delta);
}

void rs_arena_settle(rs_arena *a, uint64_t c, uint64_t next_id)
{
    if (a->meta[c].live == 0 && (c + 1) << RS_CHUNK_SHIFT <= next_id && a->table->chunk[c])
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

void rs_arena_mark_set(rs_arena *a, uint64_t id, int plane, bool on)
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

void rs_arena_mark_sort(rs_arena *a)
{
    if (a->nmarked > 1)
        qsort(a->marked, a->nmarked, sizeof *a->marked, by_number);
}

static size_t popcount(uint64_t w)
{
    return (size_t)__builtin_popcountll(w);
}

void rs_arena_mark_settle(rs_arena *a, bool written)
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
