/*
 * bench/sys_lmdb.c - the benchmark workload on raw LMDB, indexed by hand two ways:
 * "lmdb-plain" and "lmdb-expert".
 *
 * Each system has one environment, the file DIR/bench.lmdb (MDB_NOSUBDIR, its lock file beside
 * it), with a map of 8 GiB (sparse: only what is written takes room), MDB_NOTLS and LMDB's
 * default sync, so every commit is fsynced and durable. Id keys are native-endian size_t with
 * MDB_INTEGERKEY. Records are encoded as:
 *   author  name bytes (no terminating NUL)
 *   book    OFFSET 0, SIZE 8: pages (int64_t, native-endian); OFFSET 8, SIZE rest: title bytes
 *
 *   lmdb-plain   "authors" id -> author, "books" id -> book, and "by_author" author id -> book
 *                ids (MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP). A walk positions a cursor
 *                on the author (MDB_SET), lists the book ids a page at a time
 *                (MDB_GET_MULTIPLE, MDB_NEXT_MULTIPLE) and gets each book by id.
 *   lmdb-expert  "authors" as above, "books" keyed by (author id, book id), both big-endian
 *                u64, so an author's books are one key range, and "book_author" book id ->
 *                author id for gets. A walk is MDB_SET_RANGE on (author, 0) then MDB_NEXT
 *                while the author matches; a get is two lookups.
 *
 * The bulk insert is one write transaction with MDB_APPEND (keys arrive in order). An update is
 * one write transaction that overwrites each book in place (MDB_CURRENT, same size), committed.
 * Reads use one read transaction and one cursor made at open, reset after each get or walk and
 * renewed before the next (mdb_txn_reset / mdb_txn_renew): the cheap per-operation snapshot.
 * Persisting is a no-op, LMDB being durable at each commit.
 *
 * Errors print one line naming the system and the failing call, and return -1 (NULL from
 * create, 0 from get and walk, whose results are never 0 for a book or author that exists).
 */
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "bench/systems.h"

#define BOOKS_PER_AUTHOR 10
#define MAP_SIZE ((size_t)8 << 30)
#define PAGES_SIZE sizeof(int64_t)

typedef struct lm_ctx {
    const char *name;    /* the system's name, for error messages */
    int expert;          /* 1: lmdb-expert, 0: lmdb-plain */
    char path[PATH_MAX]; /* DIR/bench.lmdb */
    MDB_env *env;
    MDB_dbi authors;
    MDB_dbi books;    /* plain: by id; expert: by (author, id) */
    MDB_dbi link;     /* plain: "by_author"; expert: "book_author" */
    MDB_txn *rtxn;    /* the read transaction, reset between operations */
    MDB_cursor *rcur; /* plain: on by_author; expert: on books */
} lm_ctx;

static int fail(const lm_ctx *c, const char *call, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", c->name, call, mdb_strerror(rc));
    return -1;
}

/* Begins a write transaction, refusing if a failed reopen left the environment closed. */
static int write_begin(lm_ctx *c, MDB_txn **txn)
{
    if (!c->env) {
        fprintf(stderr, "%s: mdb_txn_begin: environment not open\n", c->name);
        return -1;
    }
    int rc = mdb_txn_begin(c->env, NULL, 0, txn);
    if (rc)
        return fail(c, "mdb_txn_begin", rc);
    return 0;
}

/* The expert key of book ID of author A: both big-endian, so memcmp order is (A, ID) order. */
static MDB_val expert_key(unsigned char buf[16], uint64_t a, uint64_t id)
{
    for (int i = 0; i < 8; i++) {
        buf[i] = (unsigned char)(a >> (56 - 8 * i));
        buf[8 + i] = (unsigned char)(id >> (56 - 8 * i));
    }
    return (MDB_val){.mv_size = 16, .mv_data = buf};
}

/* Opens (at create: makes) the tables, in a transaction of their own. */
static int open_dbis(lm_ctx *c, int make)
{
    const unsigned int mk = make ? MDB_CREATE : 0;
    const unsigned int link_flags =
        c->expert ? MDB_INTEGERKEY : MDB_INTEGERKEY | MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP;
    MDB_txn *txn;
    int rc = mdb_txn_begin(c->env, NULL, make ? 0 : MDB_RDONLY, &txn);
    if (rc)
        return fail(c, "mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, "authors", mk | MDB_INTEGERKEY, &c->authors)) ||
        (rc = mdb_dbi_open(txn, "books", mk | (c->expert ? 0 : MDB_INTEGERKEY), &c->books)) ||
        (rc = mdb_dbi_open(txn, c->expert ? "book_author" : "by_author", mk | link_flags,
                           &c->link))) {
        mdb_txn_abort(txn);
        return fail(c, "mdb_dbi_open", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return fail(c, "mdb_txn_commit", rc);
    return 0;
}

/* Closes the read transaction, its cursor and the environment; the context may open again. */
static void close_env(lm_ctx *c)
{
    if (c->rcur)
        mdb_cursor_close(c->rcur);
    if (c->rtxn)
        mdb_txn_abort(c->rtxn);
    if (c->env)
        mdb_env_close(c->env);
    c->rcur = NULL;
    c->rtxn = NULL;
    c->env = NULL;
}

/* Opens the environment and its tables and makes the reset read transaction and its cursor. */
static int open_env(lm_ctx *c, int make)
{
    int rc = mdb_env_create(&c->env);
    if (rc) {
        c->env = NULL;
        return fail(c, "mdb_env_create", rc);
    }
    if ((rc = mdb_env_set_mapsize(c->env, MAP_SIZE)))
        return fail(c, "mdb_env_set_mapsize", rc);
    if ((rc = mdb_env_set_maxdbs(c->env, 3)))
        return fail(c, "mdb_env_set_maxdbs", rc);
    rc = mdb_env_open(c->env, c->path, MDB_NOSUBDIR | MDB_NOTLS, 0644);
    if (rc)
        return fail(c, "mdb_env_open", rc);
    if (open_dbis(c, make))
        return -1;
    rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn);
    if (rc) {
        c->rtxn = NULL;
        return fail(c, "mdb_txn_begin(read)", rc);
    }
    rc = mdb_cursor_open(c->rtxn, c->expert ? c->books : c->link, &c->rcur);
    if (rc) {
        c->rcur = NULL;
        return fail(c, "mdb_cursor_open(read)", rc);
    }
    mdb_txn_reset(c->rtxn);
    return 0;
}

static void *lm_create(const char *dir, const char *name, int expert)
{
    lm_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "%s: calloc: out of memory\n", name);
        return NULL;
    }
    c->name = name;
    c->expert = expert;
    if ((size_t)snprintf(c->path, sizeof(c->path), "%s/bench.lmdb", dir) >= sizeof(c->path)) {
        fprintf(stderr, "%s: create: path too long: %s\n", name, dir);
        free(c);
        return NULL;
    }
    if (open_env(c, 1)) {
        close_env(c);
        free(c);
        return NULL;
    }
    return c;
}

static void *plain_create(const char *dir)
{
    return lm_create(dir, "lmdb-plain", 0);
}

static void *expert_create(const char *dir)
{
    return lm_create(dir, "lmdb-expert", 1);
}

/* The write cursors of the bulk insert: one per table, so each append lands on the last page. */
typedef struct put_cursors {
    MDB_cursor *authors, *books, *link;
} put_cursors;

static int put_book(lm_ctx *c, put_cursors *pc, size_t a, size_t id)
{
    unsigned char val[PAGES_SIZE + BENCH_TITLE_MAX], kbuf[16];
    const int64_t pages = 0;
    memcpy(val, &pages, PAGES_SIZE);
    size_t len;
    const char *title = bench_title(id, &len);
    memcpy(val + PAGES_SIZE, title, len);
    MDB_val ik = {.mv_size = sizeof(id), .mv_data = &id};
    MDB_val book = {.mv_size = PAGES_SIZE + (size_t)len, .mv_data = val};
    MDB_val ak = {.mv_size = sizeof(a), .mv_data = &a};
    MDB_val iv = {.mv_size = sizeof(id), .mv_data = &id};
    MDB_val av = {.mv_size = sizeof(a), .mv_data = &a};
    int rc;
    if (c->expert) {
        MDB_val ek = expert_key(kbuf, a, id);
        if ((rc = mdb_cursor_put(pc->books, &ek, &book, MDB_APPEND)))
            return fail(c, "mdb_cursor_put(books)", rc);
        if ((rc = mdb_cursor_put(pc->link, &ik, &av, MDB_APPEND)))
            return fail(c, "mdb_cursor_put(book_author)", rc);
        return 0;
    }
    if ((rc = mdb_cursor_put(pc->books, &ik, &book, MDB_APPEND)))
        return fail(c, "mdb_cursor_put(books)", rc);
    /* An author's first id starts a new key (at the end); the others end its list of ids. */
    unsigned int flags = id == (a - 1) * BOOKS_PER_AUTHOR + 1 ? MDB_APPEND : MDB_APPENDDUP;
    if ((rc = mdb_cursor_put(pc->link, &ak, &iv, flags)))
        return fail(c, "mdb_cursor_put(by_author)", rc);
    return 0;
}

static int put_author(lm_ctx *c, put_cursors *pc, size_t a)
{
    size_t len;
    const char *name = bench_name(a, &len);
    MDB_val k = {.mv_size = sizeof(a), .mv_data = &a};
    MDB_val v = {.mv_size = len, .mv_data = (void *)name};
    int rc = mdb_cursor_put(pc->authors, &k, &v, MDB_APPEND);
    if (rc)
        return fail(c, "mdb_cursor_put(authors)", rc);
    for (size_t id = (a - 1) * BOOKS_PER_AUTHOR + 1; id <= a * BOOKS_PER_AUTHOR; id++) {
        if (put_book(c, pc, a, id))
            return -1;
    }
    return 0;
}

static int lm_insert(void *ctx, long authors)
{
    lm_ctx *c = ctx;
    put_cursors pc = {0};
    MDB_txn *txn;
    if (write_begin(c, &txn))
        return -1;
    int rc;
    if ((rc = mdb_cursor_open(txn, c->authors, &pc.authors)) ||
        (rc = mdb_cursor_open(txn, c->books, &pc.books)) ||
        (rc = mdb_cursor_open(txn, c->link, &pc.link))) {
        mdb_txn_abort(txn); /* Also closes the cursors of a write transaction. */
        return fail(c, "mdb_cursor_open", rc);
    }
    for (long a = 1; a <= authors; a++) {
        if (put_author(c, &pc, (size_t)a)) {
            mdb_txn_abort(txn);
            return -1;
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return fail(c, "mdb_txn_commit", rc);
    return 0;
}

/* Renews the read transaction (and, for a walk, its cursor) for one operation. */
static int read_begin(lm_ctx *c, int cursor)
{
    int rc = mdb_txn_renew(c->rtxn);
    if (rc)
        return fail(c, "mdb_txn_renew", rc);
    if (cursor && (rc = mdb_cursor_renew(c->rtxn, c->rcur))) {
        mdb_txn_reset(c->rtxn);
        return fail(c, "mdb_cursor_renew", rc);
    }
    return 0;
}

/* The key of book ID in "books", in *KEY: ID itself (plain) or (its author, ID) (expert). */
static int book_key(lm_ctx *c, MDB_txn *txn, size_t *id, unsigned char kbuf[16], MDB_val *key)
{
    MDB_val ik = {.mv_size = sizeof(*id), .mv_data = id};
    if (!c->expert) {
        *key = ik;
        return 0;
    }
    MDB_val av;
    int rc = mdb_get(txn, c->link, &ik, &av);
    if (rc)
        return fail(c, "mdb_get(book_author)", rc);
    size_t a;
    memcpy(&a, av.mv_data, sizeof(a));
    *key = expert_key(kbuf, a, *id);
    return 0;
}

/* The length of the title in BOOK, whose last byte is read too (as strlen() does for the
 * systems keeping NUL-ended strings): the title's bytes really come into the cache. */
static size_t title_len(const MDB_val *book)
{
    const unsigned char *t = (const unsigned char *)book->mv_data + PAGES_SIZE;
    size_t n = book->mv_size - PAGES_SIZE;
    return n + (n && t[n - 1] == 0); /* never 0: a title has no NUL */
}

static size_t lm_get(void *ctx, uint64_t book_id)
{
    lm_ctx *c = ctx;
    unsigned char kbuf[16];
    size_t id = book_id;
    MDB_val key, book;
    if (read_begin(c, 0))
        return 0;
    size_t len = 0;
    if (!book_key(c, c->rtxn, &id, kbuf, &key)) {
        int rc = mdb_get(c->rtxn, c->books, &key, &book);
        if (rc)
            fail(c, "mdb_get(books)", rc);
        else
            len = title_len(&book);
    }
    mdb_txn_reset(c->rtxn);
    return len;
}

/* Plain walk: the author's book ids a page at a time from "by_author", then each book by id. */
static int walk_plain(lm_ctx *c, size_t a, size_t *sum)
{
    MDB_val k = {.mv_size = sizeof(a), .mv_data = &a}, ids;
    int rc = mdb_cursor_get(c->rcur, &k, &ids, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return 0;
    for (MDB_cursor_op op = MDB_GET_MULTIPLE; !rc; op = MDB_NEXT_MULTIPLE) {
        if ((rc = mdb_cursor_get(c->rcur, &k, &ids, op)))
            break;
        for (size_t i = 0; i < ids.mv_size / sizeof(size_t); i++) {
            size_t id; /* Copied out: an id inside a page need not be 8-byte aligned. */
            memcpy(&id, (const char *)ids.mv_data + i * sizeof(id), sizeof(id));
            MDB_val ik = {.mv_size = sizeof(id), .mv_data = &id}, book;
            if ((rc = mdb_get(c->rtxn, c->books, &ik, &book)))
                return fail(c, "mdb_get(books)", rc);
            *sum += title_len(&book);
        }
    }
    return rc == MDB_NOTFOUND ? 0 : fail(c, "mdb_cursor_get(by_author)", rc);
}

/* Expert walk: the range of keys starting with the author, in one cursor pass over "books". */
static int walk_expert(lm_ctx *c, size_t a, size_t *sum)
{
    unsigned char kbuf[16];
    MDB_val k = expert_key(kbuf, a, 0), book;
    unsigned char prefix[8];
    memcpy(prefix, kbuf, sizeof(prefix));
    int rc = mdb_cursor_get(c->rcur, &k, &book, MDB_SET_RANGE);
    while (!rc && k.mv_size == 16 && !memcmp(k.mv_data, prefix, sizeof(prefix))) {
        *sum += title_len(&book);
        rc = mdb_cursor_get(c->rcur, &k, &book, MDB_NEXT);
    }
    return !rc || rc == MDB_NOTFOUND ? 0 : fail(c, "mdb_cursor_get(books)", rc);
}

static size_t lm_walk(void *ctx, uint64_t author_id)
{
    lm_ctx *c = ctx;
    size_t sum = 0;
    if (read_begin(c, 1))
        return 0;
    int rc = c->expert ? walk_expert(c, author_id, &sum) : walk_plain(c, author_id, &sum);
    mdb_txn_reset(c->rtxn);
    return rc ? 0 : sum;
}

/* Sets the pages of book ID in write transaction TXN, rewriting its record in place. */
static int update_book(lm_ctx *c, MDB_txn *txn, MDB_cursor *cur, uint64_t id, int64_t value)
{
    unsigned char kbuf[16], val[256];
    size_t sid = id;
    MDB_val key, book;
    if (book_key(c, txn, &sid, kbuf, &key))
        return -1;
    int rc = mdb_cursor_get(cur, &key, &book, MDB_SET_KEY);
    if (rc)
        return fail(c, "mdb_cursor_get(books)", rc);
    if (book.mv_size > sizeof(val)) {
        fprintf(stderr, "%s: update: book %zu is %zu bytes\n", c->name, sid, book.mv_size);
        return -1;
    }
    /* LMDB's data must not be written through: copy it, change the pages, put it back. */
    memcpy(val, book.mv_data, book.mv_size);
    memcpy(val, &value, PAGES_SIZE);
    book.mv_data = val;
    rc = mdb_cursor_put(cur, &key, &book, MDB_CURRENT);
    if (rc)
        return fail(c, "mdb_cursor_put(books)", rc);
    return 0;
}

static int lm_update(void *ctx, const uint64_t *ids, size_t n, int64_t value)
{
    lm_ctx *c = ctx;
    MDB_txn *txn;
    MDB_cursor *cur;
    if (write_begin(c, &txn))
        return -1;
    int rc;
    if ((rc = mdb_cursor_open(txn, c->books, &cur))) {
        mdb_txn_abort(txn);
        return fail(c, "mdb_cursor_open", rc);
    }
    for (size_t i = 0; i < n; i++) {
        if (update_book(c, txn, cur, ids[i], value)) {
            mdb_txn_abort(txn);
            return -1;
        }
    }
    rc = mdb_txn_commit(txn); /* Fsynced: the update is durable once this returns. */
    if (rc)
        return fail(c, "mdb_txn_commit", rc);
    return 0;
}

/* LMDB is durable after each commit (default sync): nothing to write. */
static int lm_persist(void *ctx)
{
    (void)ctx;
    return 0;
}

static int lm_reopen(void *ctx)
{
    lm_ctx *c = ctx;
    close_env(c);
    if (open_env(c, 0)) {
        close_env(c);
        return -1;
    }
    if (!lm_walk(c, 1)) {
        fprintf(stderr, "%s: reopen: author 1 has no books\n", c->name);
        return -1;
    }
    return 0;
}

/* Every record of DBI through one cursor; adds their sizes to *SUM. */
static int scan_dbi(lm_ctx *c, MDB_dbi dbi, size_t *sum)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(c->rtxn, dbi, &cur);
    if (rc)
        return fail(c, "mdb_cursor_open", rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        *sum += v.mv_size + ((const unsigned char *)v.mv_data)[v.mv_size - 1];
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : fail(c, "mdb_cursor_get", rc);
}

static double lm_load(void *ctx)
{
    lm_ctx *c = ctx;
    size_t sum = 0;
    double t = bench_now_ms();
    if (read_begin(c, 0))
        return -1;
    int rc = scan_dbi(c, c->authors, &sum) || scan_dbi(c, c->books, &sum);
    mdb_txn_reset(c->rtxn);
    t = bench_now_ms() - t;
    return rc || !sum ? -1 : t * 1e6;
}

static void lm_destroy(void *ctx)
{
    lm_ctx *c = ctx;
    if (!c)
        return;
    close_env(c);
    free(c);
}

const bench_sys bench_lmdb_plain = {
    .name = "lmdb-plain",
    .create = plain_create,
    .insert = lm_insert,
    .get = lm_get,
    .walk = lm_walk,
    .update = lm_update,
    .persist = lm_persist,
    .reopen = lm_reopen,
    .load = lm_load,
    .destroy = lm_destroy,
};

const bench_sys bench_lmdb_expert = {
    .name = "lmdb-expert",
    .create = expert_create,
    .insert = lm_insert,
    .get = lm_get,
    .walk = lm_walk,
    .update = lm_update,
    .persist = lm_persist,
    .reopen = lm_reopen,
    .load = lm_load,
    .destroy = lm_destroy,
};
