/*
 * store/lock.h - a store's lock: lookups share it, changes take it alone.
 *
 * Every lock and unlock of a store goes through here. A writer waits only for the readers
 * already in: once it waits, new readers queue behind it, so a steady stream of lookups
 * cannot starve a change. The price is that a thread must never ask the lock for a read it
 * already holds: it would wait behind the writer waiting for it. So each thread records the
 * lock it holds (at most one store's at a time), and a read asked by the thread that already
 * holds the lock nests: it only counts, and the last unlock gives the lock back. That lets
 * a store_query_visit() callback read the store. A change asked by a thread that holds the
 * lock to read would wait for itself: api/ refuses it first (STORE_EBUSY) with
 * rs_lock_held(). The rest is checked with assert(): a thread taking a second store's lock,
 * a write under the lock held, an unlock by a thread that does not hold the lock.
 *
 * The record costs a few thread-local accesses per lock and unlock.
 */
#ifndef RS_STORE_LOCK_H
#define RS_STORE_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

typedef struct rs_lock {
    pthread_rwlock_t rw;
} rs_lock;

/* What the calling thread holds (store/lock.c). */
typedef struct rs_lock_hold {
    const rs_lock *lock; /* NULL: none */
    bool write;
    unsigned depth; /* nested reads, counting the first */
} rs_lock_hold;

extern _Thread_local rs_lock_hold rs_lock_mine;

/* rs_lock_init() - a new lock in L, writers first. STORE_OK, or STORE_ENOMEM. */
int rs_lock_init(rs_lock *l);

/* rs_lock_destroy() - free L, which nobody holds. */
void rs_lock_destroy(rs_lock *l);

/* rs_lock_read() - take L shared; nested if the calling thread holds L already. The thread
 * holds no other store's lock. */
static inline void rs_lock_read(rs_lock *l)
{
    if (rs_lock_mine.lock == l) {
        rs_lock_mine.depth++;
        return;
    }
    assert(!rs_lock_mine.lock && "a thread holding a store's lock asks for another's");
    pthread_rwlock_rdlock(&l->rw);
    rs_lock_mine = (rs_lock_hold){.lock = l, .write = false, .depth = 1};
}

/* rs_lock_write() - take L alone. The calling thread holds no store's lock. */
static inline void rs_lock_write(rs_lock *l)
{
    assert(!rs_lock_mine.lock && "a thread holding a store's lock asks for one to write");
    pthread_rwlock_wrlock(&l->rw);
    rs_lock_mine = (rs_lock_hold){.lock = l, .write = true, .depth = 1};
}

/* rs_lock_unlock() - give back L, which the calling thread took (the last of nested reads
 * gives it back to other threads). */
static inline void rs_lock_unlock(rs_lock *l)
{
    assert(rs_lock_mine.lock == l && "a thread gives back a store's lock it does not hold");
    if (--rs_lock_mine.depth)
        return;
    rs_lock_mine.lock = NULL;
    pthread_rwlock_unlock(&l->rw);
}

/* rs_lock_held(), rs_lock_held_write() - whether the calling thread holds L (in either mode;
 * alone). */
static inline bool rs_lock_held(const rs_lock *l)
{
    return rs_lock_mine.lock == l;
}

static inline bool rs_lock_held_write(const rs_lock *l)
{
    return rs_lock_mine.lock == l && rs_lock_mine.write;
}

#endif
