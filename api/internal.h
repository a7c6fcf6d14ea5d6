/*
 * api/internal.h - what the public calls of api/store.c share with those of api/query.c.
 */
#ifndef RS_API_INTERNAL_H
#define RS_API_INTERNAL_H

#include <store.h>

/* rs_store_check_writable() - STORE_EINVAL, detail set, if DB was opened read-only. */
int rs_store_check_writable(store *db);

/* rs_store_check_not_reading() - STORE_EBUSY, detail naming CALL, if the calling thread holds
 * DB's lock (a change asked from a store_query_visit() callback would wait for itself). */
int rs_store_check_not_reading(store *db, const char *call);

/* rs_store_check_obj() - STORE_EINVAL, detail naming CALL, if OBJ is NULL, deleted (as far
 * as can be told without the lock) or of another store than DB (NULL too). */
int rs_store_check_obj(store *db, const store_obj *obj, const char *call);

/* rs_store_check_live() - STORE_EINVAL, detail naming CALL, if OBJ (which passed
 * rs_store_check_obj()) was deleted meanwhile; under the lock the call works under. */
int rs_store_check_live(store *db, const store_obj *obj, const char *call);

/* rs_store_prefetch_run() - ask for the COUNT slots of SLOT_SIZE bytes from FIRST (up to a
 * bound) to be fetched: the children of a walk, created together, sit side by side. */
void rs_store_prefetch_run(const void *first, size_t count, size_t slot_size);

/* rs_store_after_write() - under STORE_DURABLE_EACH_WRITE, the snapshot that makes the change
 * just made durable; its code (the change stays made and pending if it fails). */
int rs_store_after_write(store *db);

#endif
