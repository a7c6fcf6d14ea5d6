/*
 * persist/internal.h - what the files of persist/ share: the state of an open store file.
 */
#ifndef RS_PERSIST_INTERNAL_H
#define RS_PERSIST_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <sys/types.h>

#include "persist/catalog.h"
#include "persist/kv.h"
#include "store/model.h"

#define RS_CATALOG_DB "catalog"
#define RS_CATALOG_KEY "catalog"
#define RS_LOG_DB "log"

/* An entry of the registry of files open in this process (persist/file.c). */
struct rs_file;

struct rs_persist {
    MDB_env *env;         /* read-write: this store's own; read-only: FILE's, shared */
    struct rs_file *file; /* this process's entry for the file: our descriptor, its locks */
    char *path;
    char *real_path; /* PATH with its symlinks resolved (realpath()), for LMDB; or NULL */
    int fd;          /* FILE's descriptor of the data file (the entry owns it): sizing */
    pid_t pid;       /* the process that opened it (a forked child must not use it) */
    unsigned flags;  /* STORE_OPEN_* */
    size_t map_size; /* the map now */
    size_t map_max;  /* the cap it may grow to */
    unsigned maxdbs; /* named databases: one per model, and the catalog */
    bool broken;     /* a commit failed: reopen the environment before the next snapshot */
    bool short_file; /* extending the file after a commit failed: retry before anything */
    bool stale;      /* the catalog on file differs from the schema (new file, migration) */
    bool made_file;  /* this open created the data file: a failed open removes it */
    bool made_lock;  /* PATH-lock was missing, so LMDB made it: a failed open removes it */
    pthread_mutex_t snap; /* one snapshot (or backup) at a time */
    uint64_t generation, time_ns;
    uint32_t format;     /* the file's format version: its catalog's, or ours once written */
    rs_cat_state *state; /* per model: the file as of the last commit */
    rs_cat_log log;      /* the change log as of the last commit */
    size_t last_written, last_deleted, last_bytes;
    /* STORE_DURABLE_INTERVAL: the background snapshot thread and how to stop it. */
    store_durability durability;
    unsigned interval_ms;
    bool ticking, stopping;
    pthread_t ticker;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick;
    int last_error;
};

/* rs_durable_start() / rs_durable_stop() - the background snapshots of STORE_DURABLE_INTERVAL
 * (persist/durable.c). Start returns STORE_OK or STORE_ENOMEM; stop waits for the thread. */
int rs_durable_start(store *db);
void rs_durable_stop(struct rs_persist *p);

/* rs_file_mdb_error() - STORE_E* for LMDB's RC (or an errno) from WHAT, with LMDB's message in
 * the detail, which names DB's file; rs_file_mdb_error_at() names PATH (DB may be NULL: while
 * opening). MDB_MAP_FULL is STORE_EFULL; MDB_CORRUPTED, MDB_INVALID and MDB_VERSION_MISMATCH
 * are STORE_ECORRUPT; a full disk, a quota or a file size limit is STORE_ENOSPC; ENOMEM is
 * STORE_ENOMEM; anything else STORE_EIO. */
int rs_file_mdb_error(const store *db, int rc, const char *what);
int rs_file_mdb_error_at(const store *db, const char *path, int rc, const char *what);

/*
 * rs_file_path_error() - STORE_E* for the errno ERR of opening PATH, DOING naming the call, with
 * the detail: a missing directory ("the directory ... does not exist"), a missing or
 * existing file, a part of the path that is not a directory are STORE_EINVAL; a full disk
 * STORE_ENOSPC; ENOMEM STORE_ENOMEM; others STORE_EIO.
 */
int rs_file_path_error(const store *db, const char *path, int err, const char *doing);

/*
 * rs_file_write_error() - STORE_E* for RC, LMDB's code or an errno, from WHAT, a step of
 * writing the file FD (named PATH in the detail), recorded as rs_file_mdb_error_at() does;
 * except that after an EIO (LMDB's code for a write cut short, as on a disk that has just
 * filled up) one more page is tried past the end of FD's file (written with zeros, then
 * truncated back): if the file system refuses it with ENOSPC, EDQUOT or EFBIG, that is the
 * code (STORE_ENOSPC) and the detail.
 */
int rs_file_write_error(const store *db, const char *path, int fd, int rc, const char *what);

/*
 * rs_file_env_open() - (re)create P's environment on P->path with P's flags and map size. A
 * failure's detail goes to store_errmsg(ERRDB): NULL while opening.
 */
int rs_file_env_open(const store *errdb, struct rs_persist *p);

/*
 * rs_file_share_begin(), rs_file_share_end() - around a use of a read-only P's environment
 * outside the open (a backup): the entry's USE lock, which every user of the shared
 * environment takes; STORE_EBUSY (nothing held) while a writer in another process has the
 * file. Nothing for a read-write P.
 */
int rs_file_share_begin(const store *db, struct rs_persist *p);
void rs_file_share_end(struct rs_persist *p);

/* rs_load_store() - read CAT's models, and its change log over them, from KV into the empty
 * store DB (persist/load.c). */
int rs_load_store(store *db, const rs_kv *kv, const rs_catalog *cat);

/* rs_file_dbname() - the LMDB database name of model NAME, into BUF of SIZE bytes. */
void rs_file_dbname(char *buf, size_t size, const char *name);

/*
 * rs_pagecheck_file() - D2: walk the page tree that META (the newest meta page's first bytes)
 * reaches in the file FD of FILE_SIZE bytes and PSIZE-byte pages, with pread, and check that
 * OTHER (the other meta page; NULL: no such check) does not lead to a newer snapshot.
 * STORE_OK, STORE_ECORRUPT or
 * STORE_ENOMEM, the detail in store_errmsg(NULL) (persist/pagecheck.c).
 */
int rs_pagecheck_file(int fd, const char *path, uint64_t file_size, uint32_t psize,
                      const uint8_t *meta, const uint8_t *other);

/*
 * rs_file_extend() - D2: grow the data file to cover LMDB's last page. COMMITTED: right after
 * the commit of snapshot P->generation, which the detail of a failure then says is made;
 * otherwise the retry that the next snapshot makes first.
 */
int rs_file_extend(const store *db, struct rs_persist *p, bool committed);

#endif
