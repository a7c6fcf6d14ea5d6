/*
 * store/db.h - a store's life: open in memory, close.
 */
#ifndef RS_STORE_DB_H
#define RS_STORE_DB_H

#include "store/model.h"

/* rs_db_open() - a new in-memory store of schema S, in *OUT. STORE_ESCHEMA or STORE_ENOMEM. */
int rs_db_open(store **out, const store_schema *s);

/* rs_db_close() - free DB and everything it owns. */
void rs_db_close(store *db);

#endif
