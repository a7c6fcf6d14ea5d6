/*
 * store/error.c - store_errmsg()'s memory: per store, one message for each thread that failed
 * on it; per thread, one for calls with no store.
 *
 * A store keeps a list of entries, one per thread that ever failed on it, each holding that
 * thread's last detail. An entry is allocated at the thread's first failure on the store,
 * pushed at the list's head with a compare-and-swap (no lock, so the store needs nothing
 * initialized: calloc's zero is the empty list), written and read by its own thread only, and
 * freed by rs_error_forget() when the store closes. So failures on other stores never evict
 * a store's detail, the address store_errmsg() gave stays the thread's detail on that store,
 * and a thread failing on many short-lived stores holds memory only while they are open.
 * A thread that exits leaves its entry until the store closes.
 *
 * Recording never fails: when the entry cannot be allocated, the detail goes to the thread's
 * one spare slot, keyed by the store's serial (so a store opened later at the same address
 * never sees an old message). The spare holds one store's detail at a time: only a thread
 * that runs out of memory on its first failure on several stores can lose one this way.
 * Failures with no store go to a second per-thread slot.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/model.h"

enum { MSG_MAX = 256 };

struct rs_errmsg {
    struct rs_errmsg *next; /* an older entry; set before the entry is published */
    uint64_t thread;        /* the owner's thread_number() */
    char msg[MSG_MAX];
};

struct slot {
    uint64_t serial; /* the store's serial; 0: none */
    char msg[MSG_MAX];
};

static _Thread_local struct slot none;  /* failures with no store */
static _Thread_local struct slot spare; /* a store's failure when its entry cannot be made */
static _Thread_local uint64_t self;     /* thread_number(); 0 until first asked */
static uint64_t next_serial = 1;
static uint64_t next_thread = 1;

uint64_t rs_error_serial(void)
{
    return __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
}

/* thread_number() - the calling thread's number: no two threads of the process share one, even
 * after one has exited (a pthread_t or a thread-local address may be reused). */
static uint64_t thread_number(void)
{
    if (!self)
        self = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
    return self;
}

/* find() - the calling thread's entry in DB's list, or NULL. */
static struct rs_errmsg *find(const struct store *db)
{
    uint64_t me = thread_number();
    struct rs_errmsg *e = __atomic_load_n(&db->errmsgs, __ATOMIC_ACQUIRE);
    for (; e; e = e->next)
        if (e->thread == me)
            return e;
    return NULL;
}

/* buffer_for() - where the calling thread's next detail on DB goes. The list is not the
 * store's content: adding to it through a const pointer is what a lookup's failure needs. */
static char *buffer_for(const struct store *db)
{
    if (!db)
        return none.msg;
    struct rs_errmsg *e = find(db);
    if (e)
        return e->msg;
    e = malloc(sizeof *e);
    if (!e) {
        spare.serial = db->serial;
        return spare.msg;
    }
    e->thread = thread_number();
    struct rs_errmsg **head = (struct rs_errmsg **)&db->errmsgs;
    e->next = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    while (!__atomic_compare_exchange_n(head, &e->next, e, true, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE))
        ; /* another thread pushed first: e->next is now its entry, try again */
    return e->msg;
}

int rs_error_set(const struct store *db, int rc, const char *fmt, ...)
{
    char *buf = buffer_for(db);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, MSG_MAX, fmt, ap);
    va_end(ap);
    return rc;
}

const char *rs_error_get(const struct store *db)
{
    if (!db)
        return none.msg;
    struct rs_errmsg *e = find(db);
    if (e)
        return e->msg;
    return spare.serial == db->serial ? spare.msg : "";
}

void rs_error_forget(struct store *db)
{
    struct rs_errmsg *e = __atomic_exchange_n(&db->errmsgs, NULL, __ATOMIC_ACQUIRE);
    while (e) {
        struct rs_errmsg *next = e->next;
        free(e);
        e = next;
    }
}
