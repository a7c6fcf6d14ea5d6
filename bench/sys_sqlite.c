/*
 * bench/sys_sqlite.c - the benchmark workload on SQLite, two ways: "sqlite-mem" and "sqlite-wal".
 *
 * Both use the same schema:
 *   author(id INTEGER PRIMARY KEY, name TEXT)
 *   book(id INTEGER PRIMARY KEY, title TEXT, pages INTEGER, author_id INTEGER REFERENCES author)
 *   CREATE INDEX book_author ON book(author_id)
 * Ids are the rowids, so a get is one b-tree lookup and a walk is one index range plus a rowid
 * lookup per book. Every statement is prepared once, kept in the context and reset after use;
 * text is bound with SQLITE_STATIC from a stack buffer. A bulk phase (insert, update) is one
 * transaction; a get or a walk is one statement in autocommit mode, so its own read
 * transaction. Connections are opened with SQLITE_OPEN_NOMUTEX, since only one thread uses
 * them. Everything else is SQLite's default: foreign keys are not enforced, the page cache is
 * 2 MB, no mmap, locking_mode=NORMAL (so each read transaction on the file takes and drops a
 * lock on the WAL index).
 *
 *   sqlite-mem  A ":memory:" database. Persisting means the online backup API: the whole
 *               database is copied to DIR/backup.db.tmp (synchronous=FULL, the default, so the
 *               backup's commit is fsynced), which is then renamed over DIR/backup.db and the
 *               folder fsynced. SQLite has no incremental backup, so an update pays for a full
 *               one too. Reopening restores DIR/backup.db into a new ":memory:" database with
 *               the same API.
 *   sqlite-wal  The file DIR/bench.sqlite with journal_mode=WAL and synchronous=NORMAL. A commit
 *               appends to the WAL without fsync; the WAL is fsynced at each checkpoint, so a
 *               commit survives a crash of the process at once and a power loss after the next
 *               checkpoint. Persisting, and the end of an update, is therefore a TRUNCATE
 *               checkpoint, which syncs the WAL, copies it into the database, syncs that and
 *               empties the WAL. (SQLite's automatic checkpoint, once the WAL passes 1000 pages,
 *               already does most of that work inside a big commit.)
 *
 * Errors print one line naming the system and the failing call, and return -1 (NULL from
 * create, 0 from get and walk, whose results are never 0 for a book or author that exists).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/systems.h"

#define BOOKS_PER_AUTHOR 10

typedef struct sq_ctx {
    const char *name;    /* the system's name, for error messages */
    int in_memory;       /* 1: sqlite-mem, 0: sqlite-wal */
    char dir[PATH_MAX];  /* the folder given to create */
    char file[PATH_MAX]; /* sqlite-mem: the backup; sqlite-wal: the database */
    char tmp[PATH_MAX];  /* sqlite-mem: where a backup is written before its rename */
    sqlite3 *db;
    sqlite3_stmt *ins_author, *ins_book, *get, *walk, *upd, *begin, *commit;
} sq_ctx;

static const char schema_sql[] =
    "CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT);"
    "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT, pages INTEGER,"
    " author_id INTEGER REFERENCES author(id));"
    "CREATE INDEX book_author ON book(author_id);";

static int fail(const sq_ctx *c, sqlite3 *db, const char *call)
{
    fprintf(stderr, "%s: %s: %s\n", c->name, call, db ? sqlite3_errmsg(db) : "not open");
    return -1;
}

static int exec(sq_ctx *c, const char *sql)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(c, c->db, sql);
    return 0;
}

static int prepare(sq_ctx *c, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return fail(c, c->db, sql);
    return 0;
}

/* Prepares every statement the phases use; on failure the prepared ones stay for close_db. */
static int prepare_all(sq_ctx *c)
{
    if (prepare(c, &c->ins_author, "INSERT INTO author(id, name) VALUES (?1, ?2)") ||
        prepare(c, &c->ins_book,
                "INSERT INTO book(id, title, pages, author_id) VALUES (?1, ?2, 0, ?3)") ||
        prepare(c, &c->get, "SELECT title FROM book WHERE id = ?1") ||
        prepare(c, &c->walk, "SELECT title FROM book WHERE author_id = ?1") ||
        prepare(c, &c->upd, "UPDATE book SET pages = ?1 WHERE id = ?2") ||
        prepare(c, &c->begin, "BEGIN") || prepare(c, &c->commit, "COMMIT"))
        return -1;
    return 0;
}

/* Finalizes the statements and closes the connection; the context may be opened again. */
static void close_db(sq_ctx *c)
{
    sqlite3_stmt **all[] = {&c->ins_author, &c->ins_book, &c->get,   &c->walk,
                            &c->upd,        &c->begin,    &c->commit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
    if (c->db && sqlite3_close(c->db) != SQLITE_OK)
        fail(c, c->db, "sqlite3_close");
    c->db = NULL;
}

static int open_db(sq_ctx *c, sqlite3 **db, const char *path, int flags)
{
    int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "%s: sqlite3_open_v2(%s): %s\n", c->name, path,
                *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

/* Runs a prepared statement that returns no row, and resets it. */
static int run(sq_ctx *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fail(c, c->db, what);
    return 0;
}

/* Copies the whole of database SRC into DST with the online backup API, in one step. */
static int backup(sq_ctx *c, sqlite3 *dst, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return fail(c, dst, "sqlite3_backup_init");
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return fail(c, dst, "sqlite3_backup_step");
    return 0;
}

static int fsync_dir(sq_ctx *c)
{
    int fd = open(c->dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        fprintf(stderr, "%s: fsync(%s): %s\n", c->name, c->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/*
 * Writes the ":memory:" database to a fresh DIR/backup.db.tmp, then renames it over
 * DIR/backup.db: the previous backup stays whole until the new one is complete, and a new file
 * needs no rollback journal of old pages.
 */
static int save_backup(sq_ctx *c)
{
    sqlite3 *dst = NULL;
    if (unlink(c->tmp) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: unlink(%s): %s\n", c->name, c->tmp, strerror(errno));
        return -1;
    }
    if (open_db(c, &dst, c->tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
        return -1;
    int rc = backup(c, dst, c->db);
    sqlite3_close(dst); /* Cannot be busy: the backup is finished and nothing was prepared. */
    if (rc)
        return -1;
    if (rename(c->tmp, c->file) != 0) {
        fprintf(stderr, "%s: rename(%s): %s\n", c->name, c->tmp, strerror(errno));
        return -1;
    }
    return fsync_dir(c);
}

/*
 * Makes everything committed durable: sqlite-mem writes a full backup; sqlite-wal, whose WAL
 * is fsynced only at a checkpoint under synchronous=NORMAL, makes a TRUNCATE checkpoint.
 */
static int make_durable(sq_ctx *c)
{
    if (c->in_memory)
        return save_backup(c);
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(c, c->db, "sqlite3_wal_checkpoint_v2");
    return 0;
}

/* Opens the database (sqlite-mem: from the backup, if RESTORE) and prepares the statements. */
static int open_all(sq_ctx *c, int restore)
{
    int rc;
    if (c->in_memory) {
        rc = open_db(c, &c->db, ":memory:", SQLITE_OPEN_READWRITE);
        if (!rc && restore) {
            sqlite3 *src = NULL;
            rc = open_db(c, &src, c->file, SQLITE_OPEN_READONLY);
            if (!rc)
                rc = backup(c, c->db, src);
            sqlite3_close(src);
        }
    } else {
        rc = open_db(c, &c->db, c->file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        /* journal_mode is stored in the file; synchronous belongs to the connection. */
        if (!rc)
            rc = exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    }
    if (!rc && !restore)
        rc = exec(c, schema_sql);
    if (!rc)
        rc = prepare_all(c);
    return rc;
}

static void *sq_create(const char *dir, const char *name, int in_memory)
{
    sq_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "%s: calloc: out of memory\n", name);
        return NULL;
    }
    c->name = name;
    c->in_memory = in_memory;
    const char *base = in_memory ? "backup.db" : "bench.sqlite";
    if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s", dir) >= sizeof(c->dir) ||
        (size_t)snprintf(c->file, sizeof(c->file), "%s/%s", dir, base) >= sizeof(c->file) ||
        (size_t)snprintf(c->tmp, sizeof(c->tmp), "%s/%s.tmp", dir, base) >= sizeof(c->tmp)) {
        fprintf(stderr, "%s: create: path too long: %s\n", name, dir);
        free(c);
        return NULL;
    }
    if (open_all(c, 0)) {
        close_db(c);
        free(c);
        return NULL;
    }
    return c;
}

static void *mem_create(const char *dir)
{
    return sq_create(dir, "sqlite-mem", 1);
}

static void *wal_create(const char *dir)
{
    return sq_create(dir, "sqlite-wal", 0);
}

static int insert_author(sq_ctx *c, long a)
{
    size_t len;
    const char *s = bench_name((uint64_t)a, &len);
    sqlite3_bind_int64(c->ins_author, 1, a);
    sqlite3_bind_text(c->ins_author, 2, s, (int)len, SQLITE_STATIC);
    if (run(c, c->ins_author, "INSERT INTO author"))
        return -1;
    for (long id = (a - 1) * BOOKS_PER_AUTHOR + 1; id <= a * BOOKS_PER_AUTHOR; id++) {
        s = bench_title((uint64_t)id, &len);
        sqlite3_bind_int64(c->ins_book, 1, id);
        sqlite3_bind_text(c->ins_book, 2, s, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(c->ins_book, 3, a);
        if (run(c, c->ins_book, "INSERT INTO book"))
            return -1;
    }
    return 0;
}

static int sq_insert(void *ctx, long authors)
{
    sq_ctx *c = ctx;
    if (run(c, c->begin, "BEGIN"))
        return -1;
    for (long a = 1; a <= authors; a++) {
        if (insert_author(c, a)) {
            exec(c, "ROLLBACK");
            return -1;
        }
    }
    return run(c, c->commit, "COMMIT");
}

static size_t sq_get(void *ctx, uint64_t book_id)
{
    sq_ctx *c = ctx;
    size_t len = 0;
    sqlite3_bind_int64(c->get, 1, (sqlite3_int64)book_id);
    int rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW && sqlite3_column_text(c->get, 0))
        len = (size_t)sqlite3_column_bytes(c->get, 0);
    else if (rc == SQLITE_DONE)
        fprintf(stderr, "%s: SELECT FROM book: no book %llu\n", c->name,
                (unsigned long long)book_id);
    else
        fail(c, c->db, "SELECT FROM book");
    sqlite3_reset(c->get);
    return len;
}

static size_t sq_walk(void *ctx, uint64_t author_id)
{
    sq_ctx *c = ctx;
    size_t sum = 0;
    int rc;
    sqlite3_bind_int64(c->walk, 1, (sqlite3_int64)author_id);
    while ((rc = sqlite3_step(c->walk)) == SQLITE_ROW) {
        /* The text first, then its length: the order the documentation asks for. */
        if (sqlite3_column_text(c->walk, 0))
            sum += (size_t)sqlite3_column_bytes(c->walk, 0);
    }
    sqlite3_reset(c->walk);
    if (rc != SQLITE_DONE) {
        fail(c, c->db, "SELECT FROM book WHERE author_id");
        return 0;
    }
    return sum;
}

static int sq_update(void *ctx, const uint64_t *ids, size_t n, int64_t value)
{
    sq_ctx *c = ctx;
    if (run(c, c->begin, "BEGIN"))
        return -1;
    sqlite3_bind_int64(c->upd, 1, value);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(c->upd, 2, (sqlite3_int64)ids[i]);
        int rc = run(c, c->upd, "UPDATE book");
        if (!rc && sqlite3_changes(c->db) != 1) {
            fprintf(stderr, "%s: UPDATE book: no book %llu\n", c->name, (unsigned long long)ids[i]);
            rc = -1;
        }
        if (rc) {
            exec(c, "ROLLBACK");
            return -1;
        }
    }
    if (run(c, c->commit, "COMMIT"))
        return -1;
    /* The commit alone is not durable in either system (see the header). */
    return make_durable(c);
}

static int sq_persist(void *ctx)
{
    return make_durable(ctx);
}

static int sq_reopen(void *ctx)
{
    sq_ctx *c = ctx;
    close_db(c);
    if (open_all(c, 1)) {
        close_db(c);
        return -1;
    }
    if (!sq_walk(c, 1)) {
        fprintf(stderr, "%s: reopen: author 1 has no books\n", c->name);
        return -1;
    }
    return 0;
}

static void sq_destroy(void *ctx)
{
    sq_ctx *c = ctx;
    if (!c)
        return;
    close_db(c);
    free(c);
}

const bench_sys bench_sqlite_mem = {
    .name = "sqlite-mem",
    .create = mem_create,
    .insert = sq_insert,
    .get = sq_get,
    .walk = sq_walk,
    .update = sq_update,
    .persist = sq_persist,
    .reopen = sq_reopen,
    .destroy = sq_destroy,
};

const bench_sys bench_sqlite_wal = {
    .name = "sqlite-wal",
    .create = wal_create,
    .insert = sq_insert,
    .get = sq_get,
    .walk = sq_walk,
    .update = sq_update,
    .persist = sq_persist,
    .reopen = sq_reopen,
    .destroy = sq_destroy,
};
