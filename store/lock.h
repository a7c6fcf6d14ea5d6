/*
 * store/lock.h - a store's lock: lookups share it, changes take it alone.
 *
 * Every lock and unlock of a store goes through here. A writer waits only for the readers
 * already in: once it waits, new readers queue behind it, so a steady stream of lookups
 * cannot starve a change. The price is that a thread must never ask the lock for a read it
 * already holds: it would wait behind the writer waiting for it. So each thread records the
 * locks it holds (of up to RS_LOCK_HOLDS stores at once), and a lock asked by the thread
 * that already holds it nests: it only counts, and the last unlock gives it back. A read
 * nests under a read or a write (a store_query_visit() callback reads the store; a
 * transaction, which holds the write lock across calls, runs queries); a write nests under
 * a write (the calls a transaction makes). A change asked by a thread that holds the lock
 * to read would wait for itself, and one asked from a visit callback inside a transaction
 * would change what the visit walks: api/ refuses both first (STORE_EBUSY) with
 * rs_lock_reading(). The rest is checked with assert(): a write under a read, an unlock by
 * a thread that does not hold the lock, more stores than RS_LOCK_HOLDS at once.
 *
 * The record costs a few thread-local accesses per lock and unlock.
 */
#ifndef RS_STORE_LOCK_H
#define RS_STORE_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rs_lock {
    pthread_rwlock_t rw;
} rs_lock;

/* The stores one thread may hold the lock of at once. */
enum { RS_LOCK_HOLDS = 4 };

/* One lock the calling thread holds. */
typedef struct rs_lock_hold {
    const rs_lock *lock; /* NULL: a free entry */
    bool write;
    unsigned depth;   /* nested takes, counting the first */
    unsigned pinned;  /* visit callbacks running: the store must not change under them */
} rs_lock_hold;

/* The calling thread's locks: mine[0 .. n), so that a thread holding none (the common case)
 * looks at one counter. One thread-local object, not two: in a shared library each reaches
 * its thread's copy through a call (__tls_get_addr), and a create takes and gives back the
 * lock once. */
typedef struct rs_lock_thread {
    unsigned n;
    rs_lock_hold mine[RS_LOCK_HOLDS];
} rs_lock_thread;

extern _Thread_local rs_lock_thread rs_lock_me;

/* rs_lock_init() - a new lock in L, writers first. STORE_OK, or STORE_ENOMEM. */
int rs_lock_init(rs_lock *l);

/* rs_lock_destroy() - free L, which nobody holds. */
void rs_lock_destroy(rs_lock *l);

/* rs_lock_hold_of() - the calling thread's entry for L, or NULL. */
static inline rs_lock_hold *rs_lock_hold_of(const rs_lock *l)
{
    rs_lock_thread *me = &rs_lock_me;
    for (unsigned i = 0; i < me->n; i++)
        if (me->mine[i].lock == l)
            return &me->mine[i];
    return NULL;
}

/* Records that the calling thread now holds L (taken for real). */
static inline void rs_lock_record(const rs_lock *l, bool write)
{
    rs_lock_thread *me = &rs_lock_me;
    assert(me->n < RS_LOCK_HOLDS && "a thread holds the locks of more than RS_LOCK_HOLDS stores");
    me->mine[me->n++] = (rs_lock_hold){.lock = l, .write = write, .depth = 1};
}

/* rs_lock_read() - take L shared; nested if the calling thread holds L already. */
static inline void rs_lock_read(rs_lock *l)
{
    rs_lock_hold *h = rs_lock_hold_of(l);
    if (h) {
        h->depth++;
        return;
    }
    pthread_rwlock_rdlock(&l->rw);
    rs_lock_record(l, false);
}

/* rs_lock_write() - take L alone; nested if the calling thread holds L alone already. */
static inline void rs_lock_write(rs_lock *l)
{
    rs_lock_hold *h = rs_lock_hold_of(l);
    if (h) {
        assert(h->write && "a thread holding a store's lock to read asks for it to write");
        h->depth++;
        return;
    }
    pthread_rwlock_wrlock(&l->rw);
    rs_lock_record(l, true);
}

/* rs_lock_unlock() - give back L, which the calling thread took (the last of nested takes
 * gives it back to other threads). */
static inline void rs_lock_unlock(rs_lock *l)
{
    rs_lock_hold *h = rs_lock_hold_of(l);
    assert(h && "a thread gives back a store's lock it does not hold");
    if (--h->depth)
        return;
    rs_lock_thread *me = &rs_lock_me;
    *h = me->mine[--me->n]; /* the last entry fills the gap */
    pthread_rwlock_unlock(&l->rw);
}

/* rs_lock_held(), rs_lock_held_write() - whether the calling thread holds L (in either mode;
 * alone). */
static inline bool rs_lock_held(const rs_lock *l)
{
    return rs_lock_hold_of(l) != NULL;
}

static inline bool rs_lock_held_write(const rs_lock *l)
{
    const rs_lock_hold *h = rs_lock_hold_of(l);
    return h && h->write;
}

/* rs_lock_reading() - whether a change asked now by the calling thread must be refused: it
 * holds L to read, or runs a visit callback under it. */
static inline bool rs_lock_reading(const rs_lock *l)
{
    const rs_lock_hold *h = rs_lock_hold_of(l);
    return h && (!h->write || h->pinned);
}

/* rs_lock_pinned() - whether the calling thread runs a visit callback under L. */
static inline bool rs_lock_pinned(const rs_lock *l)
{
    const rs_lock_hold *h = rs_lock_hold_of(l);
    return h && h->pinned;
}

/* rs_lock_pin(), rs_lock_unpin() - a visit callback starts, ends (L held by the caller). */
static inline void rs_lock_pin(const rs_lock *l)
{
    rs_lock_hold_of(l)->pinned++;
}

static inline void rs_lock_unpin(const rs_lock *l)
{
    rs_lock_hold_of(l)->pinned--;
}

#endif
