/*
 * store/lock.h - a store's lock: lookups share it, changes take it alone.
 *
 * Every lock and unlock of a store goes through here. A writer waits only for the readers
 * already in: once it waits, new readers queue behind it, so a steady stream of lookups
 * cannot starve a change. The price is that reads must never nest: a thread holding the lock
 * that asks for it again would wait behind the writer waiting for it. relstore keeps that rule
 * with a stronger one, which this module checks in builds with assertions (NDEBUG not
 * defined): a thread holds at most one store's lock at a time, and only the thread that took
 * a lock gives it back. No public call is made with a lock held, so nothing needs more.
 *
 * The check costs two thread-local accesses per lock and unlock, and nothing without
 * assertions.
 */
#ifndef RS_STORE_LOCK_H
#define RS_STORE_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

typedef struct rs_lock {
    pthread_rwlock_t rw;
} rs_lock;

#ifndef NDEBUG
/* The lock this thread holds, or NULL, and whether it holds it to write (store/lock.c). */
extern _Thread_local const rs_lock *rs_lock_mine;
extern _Thread_local bool rs_lock_mine_write;
#endif

/* rs_lock_init() - a new lock in L, writers first. STORE_OK, or STORE_ENOMEM. */
int rs_lock_init(rs_lock *l);

/* rs_lock_destroy() - free L, which nobody holds. */
void rs_lock_destroy(rs_lock *l);

/* rs_lock_read() - take L shared. The calling thread holds no store's lock. */
static inline void rs_lock_read(rs_lock *l)
{
#ifndef NDEBUG
    assert(!rs_lock_mine && "a thread holding a store's lock asks for one again");
#endif
    pthread_rwlock_rdlock(&l->rw);
#ifndef NDEBUG
    rs_lock_mine = l;
    rs_lock_mine_write = false;
#endif
}

/* rs_lock_write() - take L alone. The calling thread holds no store's lock. */
static inline void rs_lock_write(rs_lock *l)
{
#ifndef NDEBUG
    assert(!rs_lock_mine && "a thread holding a store's lock asks for one again");
#endif
    pthread_rwlock_wrlock(&l->rw);
#ifndef NDEBUG
    rs_lock_mine = l;
    rs_lock_mine_write = true;
#endif
}

/* rs_lock_unlock() - give back L, which the calling thread took. */
static inline void rs_lock_unlock(rs_lock *l)
{
#ifndef NDEBUG
    assert(rs_lock_mine == l && "a thread gives back a store's lock it does not hold");
    rs_lock_mine = NULL;
#endif
    pthread_rwlock_unlock(&l->rw);
}

/*
 * rs_lock_held(), rs_lock_held_write() - whether the calling thread holds L (in either mode;
 * alone): for assert() in functions that need the lock. Without assertions they are true,
 * whatever the truth, and must not be used for anything else.
 */
static inline bool rs_lock_held(const rs_lock *l)
{
#ifndef NDEBUG
    return rs_lock_mine == l;
#else
    (void)l;
    return true;
#endif
}

static inline bool rs_lock_held_write(const rs_lock *l)
{
#ifndef NDEBUG
    return rs_lock_mine == l && rs_lock_mine_write;
#else
    (void)l;
    return true;
#endif
}

#endif
