/*
 * store/db.c - creating and destroying a store: its lock, its models, its objects.
 */
#include <stdlib.h>

#include "store/db.h"
#include "store/error.h"
#include "store/schema.h"

int rs_db_open(store **out, const store_schema *s)
{
    store *db = calloc(1, sizeof *db);
    if (!db)
        return rs_error_set(NULL, STORE_ENOMEM, "out of memory opening a store");
    /* A waiting writer holds off readers that arrive after it (store/model.h). */
    pthread_rwlockattr_t attr;
    int lrc = pthread_rwlockattr_init(&attr);
    if (!lrc) {
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        lrc = pthread_rwlock_init(&db->lock, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    if (lrc) {
        free(db);
        return rs_error_set(NULL, STORE_ENOMEM, "cannot create the store's lock");
    }
    db->serial = rs_error_serial();
    int rc = rs_schema_compile(db, s);
    if (rc) {
        pthread_rwlock_destroy(&db->lock);
        free(db);
        return rc;
    }
    *out = db;
    return STORE_OK;
}

void rs_db_close(store *db)
{
    rs_models_free(db);
    pthread_rwlock_destroy(&db->lock);
    rs_error_forget(db);
    free(db);
}
