/*
 * store/lock.c - creating a store's lock, and the record of which lock each thread holds
 * (store/lock.h).
 */
#include <store.h>

#include "store/lock.h"

_Thread_local rs_lock_thread rs_lock_me;

int rs_lock_init(rs_lock *l)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc)
        return STORE_ENOMEM;
    /* Writers first: a waiting writer holds off readers that arrive after it. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&l->rw, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc ? STORE_ENOMEM : STORE_OK;
}

void rs_lock_destroy(rs_lock *l)
{
    pthread_rwlock_destroy(&l->rw);
}
