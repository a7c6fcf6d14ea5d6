/*
 * index/otree.h - an ordered index: a B+tree of (key, id) entries with subtree counts.
 *
 * Each entry is two words: KEY, a 64-bit image of a value whose unsigned order is the value's
 * order (the caller makes it: a signed integer with its sign bit flipped, a double's bits
 * folded into a total order, the first 8 bytes of a string, big-endian), and ID, the object's
 * id. Entries are ordered by key, then, for equal keys, by the caller's TIE function when the
 * key is only a prefix of the value (a string longer than 8 bytes), then by id; so equal
 * values sit in id order. Inner nodes keep, for each child, the number of entries below it:
 * the rank of an entry, the entry at a rank and the size of a range each cost one descent.
 *
 * Leaves hold 62 entries (a node is 1 KiB); a leaf that fills splits in half, except at the end of
 * the tree, where an append leaves the full leaf as it is and starts a new one (ascending
 * inserts keep leaves full). A leaf that empties goes; one that falls under a quarter is
 * merged into a neighbour under the same parent when the two fit in three quarters.
 *
 * Allocation happens only in rs_otree_reserve() and rs_otree_build(): an insert takes its
 * nodes from the spares a reserve made, so a caller can stage every allocation before it
 * changes anything. Deletes never allocate; the nodes they empty become spares.
 *
 * Nothing here knows what a model or an object is. The caller serialises changes; any number
 * of lookups may run together between changes.
 */
#ifndef RS_INDEX_OTREE_H
#define RS_INDEX_OTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_oent {
    uint64_t key, id;
} rs_oent;

/* Compares the whole value FULL (given with a probe) with the value of the object ID, whose
 * key is equal: <0, 0 or >0. CTX is the tree's. */
typedef int (*rs_otree_tie)(const void *ctx, const void *full, uint64_t id);

typedef struct rs_onode rs_onode;

/*
 * Undo hooks, for a caller that must put a tree back as it was (a transaction's rollback):
 * while *EPOCH is nonzero, the tree calls SAVE(CTX, addr, size) with each node, and with its
 * own header, before the first change to it since *EPOCH took its value, and MADE(CTX, node)
 * for each node rs_otree_reserve() allocates. Writing the saved bytes back, newest first, and
 * freeing the nodes made, returns the tree to the state at the change of *EPOCH, without an
 * allocation or a comparison. *EPOCH must take a value never used before each time the
 * caller starts a new point to return to. rs_otree_trim() and rs_otree_free() are the
 * caller's to hold back meanwhile.
 */
typedef struct rs_otree_undo {
    void (*save)(void *ctx, void *addr, size_t size);
    void (*made)(void *ctx, void *node);
    void *ctx;
    const uint64_t *epoch; /* NULL: never saves */
} rs_otree_undo;

typedef struct rs_otree {
    rs_onode *root; /* NULL when empty */
    uint32_t height; /* 1: the root is a leaf */
    size_t count;
    size_t nleaves, ninner;
    rs_onode *spare; /* nodes ready for inserts, chained */
    size_t nspare;
    rs_otree_tie tie; /* NULL: keys are whole values */
    const void *ctx;
    rs_otree_undo undo;
    uint64_t epoch; /* the header was last saved under this epoch */
} rs_otree;

/* A value to look for: its key, the whole value for TIE (NULL: the key is whole), and an id,
 * or RS_OTREE_LOW / RS_OTREE_HIGH to stand before / after every entry of the value. */
typedef struct rs_oprobe {
    uint64_t key;
    const void *full;
    uint64_t id;
} rs_oprobe;

#define RS_OTREE_LOW 0
#define RS_OTREE_HIGH UINT64_MAX

/* A place in the tree: an entry of a leaf, or the end (LEAF NULL). */
typedef struct rs_ocursor {
    const rs_onode *leaf;
    uint32_t at;
} rs_ocursor;

/* rs_otree_init() - an empty tree; allocates nothing. */
void rs_otree_init(rs_otree *t, rs_otree_tie tie, const void *ctx);

/* rs_otree_free() - free every node; the tree is empty again. */
void rs_otree_free(rs_otree *t);

/* rs_otree_reserve() - room for N more inserts: afterwards they cannot fail. 0, or -1 when
 * out of memory (the tree unchanged, spares made so far kept). */
int rs_otree_reserve(rs_otree *t, size_t n);

/* rs_otree_shortfall() - the nodes rs_otree_reserve(T, N) would allocate now (each one a
 * MADE call while the undo hooks save). */
size_t rs_otree_shortfall(const rs_otree *t, size_t n);

/* rs_otree_undo_bound() - the SAVE calls one insert or delete may make, at most; each saves
 * at most rs_otree_undo_size() bytes. */
size_t rs_otree_undo_bound(const rs_otree *t);
size_t rs_otree_undo_size(void);

/* rs_otree_trim() - free the spares past a few (after a change that reserved many). */
void rs_otree_trim(rs_otree *t);

/* rs_otree_insert() - add the entry (P's key, P's id); room reserved before. */
void rs_otree_insert(rs_otree *t, const rs_oprobe *p);

/* rs_otree_delete() - remove the entry (P's key, P's id); false if it is not there. Never
 * allocates. */
bool rs_otree_delete(rs_otree *t, const rs_oprobe *p);

/* rs_otree_build() - make T, which must be empty, hold the N entries E, sorted and without
 * repeats, in full leaves. 0, or -1 when out of memory (T still empty). */
int rs_otree_build(rs_otree *t, const rs_oent *e, size_t n);

/* rs_otree_seek() - the first entry not before P (P's id RS_OTREE_LOW: the first of P's
 * value; RS_OTREE_HIGH: the first after it), as a cursor, and its rank in *RANK (the number
 * of entries before it; the count when it is the end). RANK may be NULL. */
rs_ocursor rs_otree_seek(const rs_otree *t, const rs_oprobe *p, size_t *rank);

/* rs_otree_at() - the entry at RANK (0 .. count - 1), or the end. */
rs_ocursor rs_otree_at(const rs_otree *t, size_t rank);

/* rs_otree_last() - the last entry, or the end when the tree is empty. */
rs_ocursor rs_otree_last(const rs_otree *t);

/* rs_otree_entry() - the entry at C (not the end). */
const rs_oent *rs_otree_entry(rs_ocursor c);

/* rs_otree_next(), rs_otree_prev() - the entry after / before C (the end past either edge). */
rs_ocursor rs_otree_next(rs_ocursor c);
rs_ocursor rs_otree_prev(rs_ocursor c);

/* rs_otree_check() - every invariant (order, counts, separators, leaf chain, fill of merged
 * leaves); NULL, or what is wrong. */
const char *rs_otree_check(const rs_otree *t);

/* rs_otree_bytes() - the memory the nodes take, spares included. */
size_t rs_otree_bytes(const rs_otree *t);

#endif
