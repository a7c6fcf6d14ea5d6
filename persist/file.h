/*
 * persist/file.h - the LMDB file behind a store: open and load, snapshot, close.
 *
 * This folder is the only place that includes lmdb.h; the rest of relstore sees a store's
 * file as the opaque struct rs_persist and these calls.
 */
#ifndef RS_PERSIST_FILE_H
#define RS_PERSIST_FILE_H

#include <store.h>

#include "store/model.h"

/*
 * rs_file_open() - attach the file PATH to the freshly compiled, empty store DB: take
 * the file for this process alone (read-write), or share it with other readers (read-only:
 * within this process, one LMDB environment), check it is whole, check the schema against its
 * catalog, and load every object. Returns STORE_OK, STORE_EBUSY (the file is open read-write
 * elsewhere, or open at all when opening read-write; in this process too), STORE_EINVAL (PATH
 * or PATH-lock is not a regular file, or read-only and missing or empty), STORE_ECORRUPT
 * (damaged, truncated or not a relstore file), STORE_ESCHEMA, STORE_ENOTSUP (an LMDB library
 * of another series), STORE_ENOSPC, STORE_EIO or STORE_ENOMEM, with the detail in
 * store_errmsg(NULL); on failure a data file or PATH-lock this open made is removed while no
 * other opener shares it, any other file holds what it held (but for what a read-write open
 * writes before it loads: LMDB's meta pages in an empty file, zeros that pad a short one; see
 * persist/file.c), and DB has no file (the caller closes it).
 */
int rs_file_open(store *db, const char *path, const store_options *opts);

/*
 * rs_snapshot_write() - write every change since the last snapshot in one LMDB write
 * transaction. Takes DB's write lock only to gather the changes. STORE_OK, STORE_EIO,
 * STORE_ENOSPC, STORE_EFULL, STORE_ENOMEM, STORE_EFORK or STORE_EINVAL (read-only); on
 * failure the store is unchanged and still dirty, and the file is at the last snapshot;
 * except after a commit whose extension of the file failed (see store_snapshot()).
 */
int rs_snapshot_write(store *db);

/*
 * rs_file_close() - stop background snapshots, snapshot what is pending (unless
 * read-only), release the file. Returns the snapshot's code. From a forked child, touches
 * nothing of the parent's, frees only memory, and returns STORE_EFORK.
 */
int rs_file_close(store *db);

/* rs_file_each_write() - whether every change must be snapshot before its call returns. */
bool rs_file_each_write(const store *db);

/*
 * rs_file_read_schema() - the schema recorded in the file PATH, in *OUT (the caller
 * frees it). Opens the file read-only and briefly, sharing the environment of any read-only
 * store of the file in this process. STORE_OK, or the codes of rs_file_open(); detail in
 * store_errmsg(NULL).
 */
int rs_file_read_schema(const char *path, store_schema **out);

/* rs_file_stat() - the file figures of store_stat(); DB's lock held by the caller. */
void rs_file_stat(const store *db, store_stats *st);

/* rs_snapshot_backup() - store_backup(): the new file PATH is created here, exclusively, and
 * removed again if the copy fails. */
int rs_snapshot_backup(store *db, const char *path);

#endif
