/*
 * store/check.h - verifying and dumping a whole store.
 */
#ifndef RS_STORE_CHECK_H
#define RS_STORE_CHECK_H

#include <stddef.h>

#include "store/model.h"

/* rs_check_store() - store_check() under the read lock. */
int rs_check_store(store *db);

/*
 * rs_dump_store() - the whole store as canonical text, in *OUT (malloc'd, NUL-terminated; the
 * caller frees it): per model its next id and count, then every object in id order with every
 * field, and every reverse relation as the ids in walk order. Two stores give the same text
 * exactly when they hold the same objects, values and relation orders, and the same next
 * ids. Returns STORE_OK or STORE_ENOMEM. Under the read lock.
 */
int rs_dump_store(store *db, char **out);

#endif
