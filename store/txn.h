/*
 * store/txn.h - transactions: the undo log that makes a rollback exact.
 *
 * A write transaction holds the store's write lock from its begin to its end, so no other
 * thread's locked call sees it half done and no snapshot contains part of it. Every change
 * made meanwhile writes an undo entry before it touches anything: the old value of each
 * slot word it stores (store/model.h routes every slot write through rs_word_set()), each
 * value index entry it puts, deletes or moves, the marks a snapshot reads, the live count
 * of each chunk, and the strings it makes and retires. A rollback replays the entries of
 * its level backwards, so every word, link, index entry and mark is what it was at the
 * begin, and restores the models' next ids and counts and the join sequence saved then.
 *
 * Nothing a rollback does can fail: the log's room is reserved before each change commits
 * (rs_txn_reserve(), with the bounds below, while the change may still fail), a value index
 * never shrinks, so putting back what a transaction took out needs no room, and strings a
 * transaction replaces or deletes are kept until its outermost commit (then freed: they
 * are listed apart from the log, so that a commit costs what was retired, not what was
 * logged). A chunk
 * emptied inside a transaction keeps its pages until that commit, so that an object deleted
 * there can come back at its own address.
 *
 * An ordered index is put back differently: before a transaction changes one of its nodes for
 * the first time at a level, the node's bytes are kept (store/oindex.c), and a rollback
 * writes them back, so it needs neither memory nor the comparisons a re-insert would.
 *
 * A savepoint (a begin inside a begin) is a mark in the log: its rollback replays the log
 * back to the mark, its commit leaves the entries to the level outside.
 */
#ifndef RS_STORE_TXN_H
#define RS_STORE_TXN_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <store.h>

#include "store/model.h"

/* What one undo entry puts back. */
typedef enum rs_undo_kind {
    RS_UNDO_WORD,    /* P (a word) held A */
    RS_UNDO_STR_NEW, /* P is a string made by the transaction: freed by a rollback */
    RS_UNDO_PUT,     /* B was put under key A in table P */
    RS_UNDO_DEL,     /* B was deleted from under key A in table P */
    RS_UNDO_MOVE,    /* key A of table P held B, now C */
    RS_UNDO_MARKS,   /* id A of arena P had the mark bits B (one bit per plane) */
    RS_UNDO_LIVE,    /* chunk A of arena P gained (B non-NULL) or lost an object */
    RS_UNDO_BYTES,   /* the (size_t)B bytes at P were those kept at offset A of the images */
    RS_UNDO_MADE,    /* P is an ordered index node made by the transaction: freed by a
                        rollback */
} rs_undo_kind;

typedef struct rs_undo {
    uint8_t kind;
    void *p;
    uint64_t a;
    void *b, *c;
} rs_undo;

/* One level of a write transaction, or a read-only one. */
struct store_txn {
    store *db;
    store_txn *outer;     /* the level this one is inside; NULL for the outermost */
    bool readonly;
    bool ended;           /* committed or rolled back: the handle is being freed */
    size_t log_at;        /* the log's length at this level's begin */
    size_t retired_at;    /* the retired strings' count at the begin */
    size_t lost_at;       /* the deleted objects' count at the begin */
    size_t imgs_at;       /* the saved bytes' length at the begin */
    uint64_t join_seq;    /* the store's join sequence at the begin */
    uint64_t *counters;   /* each model's next_id and count at the begin: 2 * nmodels */
    store_txn *inner;     /* the level open inside this one, or NULL */
    store_txn *next_mine; /* the outermost transactions of this thread, for its exit */
};

/* rs_txn_logging() - whether a change to O must be logged: a write transaction is open. */
static inline bool rs_txn_logging(const store *db)
{
    return db->txn != NULL;
}

/* rs_txn_reserve() - room for N more entries in DB's undo log, when a write transaction is
 * open (else nothing). STORE_OK or STORE_ENOMEM (detail set). */
int rs_txn_reserve(store *db, size_t n);

/* The entries a change may log, at most: a create of an object of M; an update of an
 * object of M giving NVALUES values; a delete of X; a child whose foreign key a delete
 * sets null. */
size_t rs_txn_bound_create(const store_model *m);
size_t rs_txn_bound_update(const store_model *m, size_t nvalues);
size_t rs_txn_bound_delete(const store_obj *x);
#define RS_TXN_BOUND_SET_NULL 16

/* rs_txn_reserve_bytes() - room for N more bytes of saved ordered index nodes, when a write
 * transaction is open. STORE_OK or STORE_ENOMEM (detail set). */
int rs_txn_reserve_bytes(store *db, size_t n);

/* The ordered indexes' undo hooks (index/otree.h), CTX the store: keep the SIZE bytes at
 * ADDR, about to change, in room reserved before; a node made inside the transaction. */
void rs_txn_save_bytes(void *ctx, void *addr, size_t size);
void rs_txn_made(void *ctx, void *node);

/* rs_txn_log_grow() - room for one more entry when a bound was wrong (store/txn.c). */
void rs_txn_log_grow(store *db);

/* rs_txn_log() - log entry E, in room reserved before. */
static inline void rs_txn_log(store *db, rs_undo e)
{
    assert(db->nundo < db->capundo && "an undo entry beyond the room reserved");
    if (__builtin_expect(db->nundo == db->capundo, 0))
        rs_txn_log_grow(db);
    db->undo[db->nundo++] = e;
}

/* rs_txn_log_word() - log the word at W, about to change. */
static inline void rs_txn_log_word(store *db, uint64_t *w)
{
    rs_txn_log(db, (rs_undo){.kind = RS_UNDO_WORD, .p = w,
                             .a = __atomic_load_n(w, __ATOMIC_RELAXED)});
}

/* rs_txn_str_retire() - S, an own allocation that O's field is about to stop holding:
 * freed now, or at the outermost commit inside a write transaction. */
void rs_txn_str_retire(store *db, char *s);

/* rs_txn_begin() - a new level for DB on the calling thread (which holds the write lock, or
 * the read lock for a READONLY one), inside OUTER (NULL: the outermost), in *OUT.
 * STORE_OK or STORE_ENOMEM. */
int rs_txn_begin(store *db, store_txn *outer, bool readonly, store_txn **out);

/* rs_txn_commit() - end T keeping its changes: a savepoint's stay in the level outside;
 * the outermost frees what its changes retired. Cannot fail. Frees T. */
void rs_txn_commit(store_txn *t);

/* rs_txn_rollback() - end T undoing every change made since its begin. Cannot fail. Frees
 * T. */
void rs_txn_rollback(store_txn *t);

/* rs_txn_adopt(), rs_txn_forget() - T, an outermost transaction, is the calling thread's
 * until it ends: if the thread exits first, the transaction is rolled back and its lock
 * given back. */
int rs_txn_adopt(store_txn *t);
void rs_txn_forget(store_txn *t);

/* rs_txn_mine() - the calling thread's outermost open transaction on DB, or NULL. */
store_txn *rs_txn_mine(const store *db);

#endif
