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
    if (rs_lock_init(&db->lock)) {
        free(db);
        return rs_error_set(NULL, STORE_ENOMEM, "cannot create the store's lock");
    }
    db->serial = rs_error_serial();
    int rc = rs_schema_compile(db, s);
    if (rc) {
        rs_lock_destroy(&db->lock);
        free(db);
        return rc;
    }
    *out = db;
    return STORE_OK;
}

void rs_db_close(store *db)
{
    rs_schema_models_free(db);
    rs_lock_destroy(&db->lock);
    rs_error_forget(db);
    free(db->undo); /* the transactions' undo log: its room is kept between them */
    free(db->retired);
    free(db->imgs);
    free(db);
}
