/*
 * persist/durable.c - STORE_DURABLE_INTERVAL: a thread that snapshots while changes are
 * pending, every interval_ms.
 *
 * The thread sleeps on a condition variable (CLOCK_MONOTONIC), so stopping it is immediate;
 * it takes the store's read lock only to see whether anything is pending, and the snapshot
 * runs exactly as store_snapshot() does (serialized with any other snapshot). Its last code
 * is kept for store_stat().
 */
#include <time.h>

#include "persist/file.h"
#include "persist/internal.h"
#include "store/error.h"

static bool pending(store *db)
{
    bool any = false;
    rs_lock_read(&db->lock);
    for (uint32_t i = 0; i < db->nmodels && !any; i++)
        any = db->models[i].arena.count[RS_MARK_DIRTY] || db->models[i].arena.count[RS_MARK_TOMB];
    rs_lock_unlock(&db->lock);
    return any;
}

static void deadline(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *tick_main(void *arg)
{
    store *db = arg;
    struct rs_persist *p = db->persist;
    pthread_mutex_lock(&p->tick_lock);
    while (!p->stopping) {
        struct timespec until;
        deadline(&until, p->interval_ms);
        while (!p->stopping && pthread_cond_timedwait(&p->tick, &p->tick_lock, &until) == 0)
            ; /* woken early: only a stop ends the wait */
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->tick_lock);
        if (pending(db))
            __atomic_store_n(&p->last_error, rs_snapshot_write(db), __ATOMIC_RELAXED);
        pthread_mutex_lock(&p->tick_lock);
    }
    pthread_mutex_unlock(&p->tick_lock);
    return NULL;
}

int rs_durable_start(store *db)
{
    struct rs_persist *p = db->persist;
    if (pthread_create(&p->ticker, NULL, tick_main, db))
        return rs_error_set(NULL, STORE_ENOMEM, "%s: cannot start the snapshot thread", p->path);
    p->ticking = true;
    return STORE_OK;
}

void rs_durable_stop(struct rs_persist *p)
{
    if (!p->ticking)
        return;
    pthread_mutex_lock(&p->tick_lock);
    p->stopping = true;
    pthread_cond_signal(&p->tick);
    pthread_mutex_unlock(&p->tick_lock);
    pthread_join(p->ticker, NULL);
    p->ticking = false;
}
