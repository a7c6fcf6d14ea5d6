/*
 * bench/txn_bench.c - transactions against SQLite, side by side in one run.
 *
 *   txn_bench [--authors A] [--repeats N] [--dir DIR]
 *
 * Both systems hold A authors (default 10,000; names of 10-30 bytes) and 10 books each
 * (titles of 20-60 bytes, pages); SQLite with an index on book(author_id), statements
 * prepared once. Each measurement is repeated N times (default 5) and the median printed:
 *   1. in memory: a transaction of 100 updates (a new title and page count for random books)
 *      and its commit; SQLite :memory: BEGIN, 100 UPDATEs, COMMIT;
 *   2. in memory: 10,000 books in one store_create_many(); SQLite one transaction of 10,000
 *      INSERTs;
 *   3. on a file, STORE_DURABLE_EACH_WRITE: a transaction of 1,000 creates and its commit
 *      (one synced snapshot) against 1,000 single creates (a synced snapshot each: measured
 *      on 100 and scaled), and against SQLite in WAL mode with synchronous=FULL, BEGIN,
 *      1,000 INSERTs, COMMIT (one synced commit).
 * Prints one table: the time of each, the ratio, and the goal (in memory: relstore at least
 * 5x faster; durable: relstore's commit within 1.5x of SQLite's). The snapshots taken are
 * counted from store_stat()'s generation. Times are wall-clock: compare figures of one run.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <unistd.h>

#include "bench/common.h"

enum { TXN_UPDATES = 100, MANY = 10000, DURABLE = 1000, SINGLES = 100, RUNS_MAX = 15 };

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    return bench_rnd(&seed);
}

/* Words into BUF until it holds between MIN and MAX bytes. */
static const char *text(char *buf, size_t min, size_t max)
{
    return bench_text(&seed, buf, min, max, 18);
}

/* ---- relstore ------------------------------------------------------------------------------ */

typedef struct rel {
    store *db;
    store_schema *schema;
    store_model *A, *B;
    store_obj **authors;
    long nauthors;
} rel;

static void rel_open(rel *r, const char *path, store_durability d, long authors)
{
    r->schema = bench_schema();
    store_options o = {.durability = d};
    bench_must(store_open(&r->db, r->schema, path, path ? &o : NULL), NULL, "open");
    r->A = store_model_find(r->db, "Author");
    r->B = store_model_find(r->db, "Book");
    r->authors = malloc((size_t)authors * sizeof *r->authors);
    r->nauthors = authors;
    char name[32], title[64];
    store_txn *t; /* the load itself is one transaction: one snapshot under EACH_WRITE */
    bench_must(store_begin(r->db, 0, &t), r->db, "begin");
    for (long a = 0; a < authors; a++) {
        bench_must(store_create(r->db, r->A,
                                (store_value[]){STORE_V_STR("name", text(name, 10, 30)), {0}},
                                &r->authors[a]),
                   r->db, "create author");
        for (int b = 0; b < 10; b++)
            bench_must(store_create(r->db, r->B,
                                    (store_value[]){STORE_V_STR("title", text(title, 20, 60)),
                                                    STORE_V_INT("pages", (int64_t)(rnd() % 900)),
                                                    STORE_V_REF("author", r->authors[a]), {0}},
                                    NULL),
                       r->db, "create book");
    }
    bench_must(store_commit(t), r->db, "commit");
}

static void rel_close(rel *r)
{
    bench_must(store_close(r->db), NULL, "close");
    store_schema_free(r->schema);
    free(r->authors);
}

/* ---- SQLite -------------------------------------------------------------------------------- */

typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *ins_author, *ins_book, *upd;
    long nauthors;
    int64_t next_book;
} sq;

static void sq_exec(sq *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "txn_bench: sqlite: %s: %s\n", sql, err);
        exit(1);
    }
}

static sqlite3_stmt *sq_prepare(sq *s, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "txn_bench: sqlite: %s: %s\n", sql, sqlite3_errmsg(s->db));
        exit(1);
    }
    return st;
}

static void sq_step(sq *s, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "txn_bench: sqlite: %s\n", sqlite3_errmsg(s->db));
        exit(1);
    }
    sqlite3_reset(st);
}

static void sq_book(sq *s, const char *title, int64_t pages, int64_t author)
{
    sqlite3_bind_int64(s->ins_book, 1, ++s->next_book);
    sqlite3_bind_text(s->ins_book, 2, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s->ins_book, 3, pages);
    sqlite3_bind_int64(s->ins_book, 4, author);
    sq_step(s, s->ins_book);
}

static void sq_open(sq *s, const char *path, long authors)
{
    memset(s, 0, sizeof *s);
    if (sqlite3_open(path ? path : ":memory:", &s->db) != SQLITE_OK)
        exit(1);
    if (path)
        sq_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    sq_exec(s, "CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
               "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT NOT NULL, pages INTEGER "
               "NOT NULL, author_id INTEGER NOT NULL REFERENCES author(id));"
               "CREATE INDEX book_author ON book(author_id);");
    s->ins_author = sq_prepare(s, "INSERT INTO author(id, name) VALUES (?1, ?2)");
    s->ins_book = sq_prepare(s, "INSERT INTO book(id, title, pages, author_id) "
                                "VALUES (?1, ?2, ?3, ?4)");
    s->upd = sq_prepare(s, "UPDATE book SET title = ?1, pages = ?2 WHERE id = ?3");
    s->nauthors = authors;
    char name[32], title[64];
    sq_exec(s, "BEGIN");
    for (long a = 1; a <= authors; a++) {
        sqlite3_bind_int64(s->ins_author, 1, a);
        sqlite3_bind_text(s->ins_author, 2, text(name, 10, 30), -1, SQLITE_TRANSIENT);
        sq_step(s, s->ins_author);
        for (int b = 0; b < 10; b++)
            sq_book(s, text(title, 20, 60), (int64_t)(rnd() % 900), a);
    }
    sq_exec(s, "COMMIT");
}

static void sq_close(sq *s)
{
    sqlite3_finalize(s->ins_author);
    sqlite3_finalize(s->ins_book);
    sqlite3_finalize(s->upd);
    sqlite3_close(s->db);
}

/* ---- The measurements ---------------------------------------------------------------------- */

/* The values of the measured runs, prepared before the clock starts. */
typedef struct rows {
    char (*titles)[64];
    int64_t *pages, *ids;
    long *authors;
    size_t n;
} rows;

static void rows_make(rows *r, size_t n, long authors, long books)
{
    r->titles = malloc(n * sizeof *r->titles);
    r->pages = malloc(n * sizeof *r->pages);
    r->ids = malloc(n * sizeof *r->ids);
    r->authors = malloc(n * sizeof *r->authors);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        text(r->titles[i], 20, 60);
        r->pages[i] = (int64_t)(rnd() % 900);
        r->ids[i] = 1 + (int64_t)(rnd() % (uint64_t)books);
        r->authors[i] = (long)(rnd() % (uint64_t)authors);
    }
}

static void rows_free(rows *r)
{
    free(r->titles);
    free(r->pages);
    free(r->ids);
    free(r->authors);
}

static double rel_updates(rel *r, const rows *v)
{
    double t0 = bench_now_ms();
    store_txn *t;
    bench_must(store_begin(r->db, 0, &t), r->db, "begin");
    for (size_t i = 0; i < v->n; i++) {
        store_obj *b;
        bench_must(store_get(r->db, r->B, (uint64_t)v->ids[i], &b), r->db, "get");
        bench_must(store_update(r->db, b, (store_value[]){STORE_V_STR("title", v->titles[i]),
                                                          STORE_V_INT("pages", v->pages[i]),
                                                          {0}}),
                   r->db, "update");
    }
    bench_must(store_commit(t), r->db, "commit");
    return bench_now_ms() - t0;
}

static double sq_updates(sq *s, const rows *v)
{
    double t0 = bench_now_ms();
    sq_exec(s, "BEGIN");
    for (size_t i = 0; i < v->n; i++) {
        sqlite3_bind_text(s->upd, 1, v->titles[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->upd, 2, v->pages[i]);
        sqlite3_bind_int64(s->upd, 3, v->ids[i]);
        sq_step(s, s->upd);
    }
    sq_exec(s, "COMMIT");
    return bench_now_ms() - t0;
}

/* N books from V in one store_create_many() (SINGLE: N store_create() calls, each its own
 * write, in a transaction if TXN). */
static double rel_creates(rel *r, const rows *v, bool many, bool txn)
{
    store_value (*vals)[4] = malloc(v->n * sizeof *vals);
    const store_value **list = malloc(v->n * sizeof *list);
    for (size_t i = 0; i < v->n; i++) {
        store_value row[4] = {STORE_V_STR("title", v->titles[i]),
                              STORE_V_INT("pages", v->pages[i]),
                              STORE_V_REF("author", r->authors[v->authors[i]]), {0}};
        memcpy(vals[i], row, sizeof row);
        list[i] = vals[i];
    }
    double t0 = bench_now_ms();
    if (many) {
        bench_must(store_create_many(r->db, r->B, list, v->n, NULL, NULL), r->db, "many");
    } else {
        store_txn *t = NULL;
        if (txn)
            bench_must(store_begin(r->db, 0, &t), r->db, "begin");
        for (size_t i = 0; i < v->n; i++)
            bench_must(store_create(r->db, r->B, list[i], NULL), r->db, "create");
        if (txn)
            bench_must(store_commit(t), r->db, "commit");
    }
    double ms = bench_now_ms() - t0;
    free(vals);
    free(list);
    return ms;
}

static double sq_creates(sq *s, const rows *v)
{
    double t0 = bench_now_ms();
    sq_exec(s, "BEGIN");
    for (size_t i = 0; i < v->n; i++)
        sq_book(s, v->titles[i], v->pages[i], 1 + v->authors[i]);
    sq_exec(s, "COMMIT");
    return bench_now_ms() - t0;
}

static uint64_t generation(store *db)
{
    store_stats st;
    bench_must(store_stat(db, &st), db, "stat");
    return st.generation;
}

static void row(const char *what, const char *unit, double rs, double other, const char *other_name,
                double goal, bool faster)
{
    double ratio = faster ? other / rs : rs / other;
    bool met = faster ? ratio >= goal : ratio <= goal;
    printf("| %s | %s | %.3g | %s %.3g | %.2fx | %s %.1fx: %s |\n", what, unit, rs, other_name,
           other, ratio, faster ? ">=" : "<=", goal, met ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
    long authors = 10000;
    int repeats = 5;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--authors") && i + 1 < argc)
            authors = atol(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: txn_bench [--authors A] [--repeats N (1-15)] [--dir DIR]\n");
            return 2;
        }
    }
    if (authors < 1 || repeats < 1 || repeats > RUNS_MAX) {
        fprintf(stderr, "txn_bench: bad arguments\n");
        return 2;
    }
    char tmp[] = "/tmp/relstore-txn-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("txn_bench: mkdtemp");
        return 1;
    }
    long books = 10 * authors;
    double upd_r[RUNS_MAX], upd_s[RUNS_MAX], many_r[RUNS_MAX], many_s[RUNS_MAX];
    double dur_txn[RUNS_MAX], dur_single[RUNS_MAX], dur_s[RUNS_MAX];
    uint64_t snaps_txn = 0, snaps_single = 0;

    rel r;
    sq s;
    rel_open(&r, NULL, STORE_DURABLE_MANUAL, authors);
    sq_open(&s, NULL, authors);
    for (int k = 0; k < repeats; k++) {
        rows v;
        rows_make(&v, TXN_UPDATES, authors, books);
        enum { TXNS = 200 }; /* per measurement: the median is of these batches' means */
        double a = 0, b = 0;
        for (int j = 0; j < TXNS; j++) {
            a += rel_updates(&r, &v);
            b += sq_updates(&s, &v);
        }
        upd_r[k] = a / TXNS;
        upd_s[k] = b / TXNS;
        rows_free(&v);
        rows_make(&v, MANY, authors, books);
        many_r[k] = rel_creates(&r, &v, true, false);
        many_s[k] = sq_creates(&s, &v);
        rows_free(&v);
    }
    rel_close(&r);
    sq_close(&s);

    char path[512], sqpath[512];
    snprintf(path, sizeof path, "%s/txn.db", dir);
    snprintf(sqpath, sizeof sqpath, "%s/txn.sqlite", dir);
    rel_open(&r, path, STORE_DURABLE_EACH_WRITE, authors / 10 ? authors / 10 : 1);
    sq_open(&s, sqpath, authors / 10 ? authors / 10 : 1);
    for (int k = 0; k < repeats; k++) {
        rows v;
        rows_make(&v, DURABLE, r.nauthors, 10 * r.nauthors);
        uint64_t g0 = generation(r.db);
        dur_txn[k] = rel_creates(&r, &v, false, true);
        uint64_t g1 = generation(r.db);
        v.n = SINGLES;
        dur_single[k] = rel_creates(&r, &v, false, false) * DURABLE / SINGLES;
        snaps_txn = g1 - g0;
        snaps_single = (generation(r.db) - g1) * DURABLE / SINGLES;
        v.n = DURABLE;
        dur_s[k] = sq_creates(&s, &v);
        rows_free(&v);
    }
    rel_close(&r);
    sq_close(&s);
    char extra[530];
    const char *const left[] = {"", "-lock", "-wal", "-shm"};
    for (int i = 0; i < 4; i++) {
        snprintf(extra, sizeof extra, "%s%s", path, left[i]);
        unlink(extra);
        snprintf(extra, sizeof extra, "%s%s", sqpath, left[i]);
        unlink(extra);
    }

    printf("### Transactions: %ld authors, %ld books, median of %d\n\n", authors, books, repeats);
    printf("| measurement | unit | relstore | other | ratio | goal |\n");
    printf("| --- | --- | ---: | ---: | ---: | --- |\n");
    row("in memory: 100 updates + commit", "us", 1e3 * bench_median(upd_r, repeats),
        1e3 * bench_median(upd_s, repeats), "sqlite-mem", 5, true);
    row("in memory: create_many of 10,000 books", "ms", bench_median(many_r, repeats),
        bench_median(many_s, repeats), "sqlite-mem", 5, true);
    row("EACH_WRITE: 1,000 creates + commit", "ms", bench_median(dur_txn, repeats),
        bench_median(dur_s, repeats), "sqlite WAL FULL", 1.5, false);
    printf("| EACH_WRITE: 1,000 single creates | ms | %.3g | txn %.3g | %.0fx | - |\n",
           bench_median(dur_single, repeats), bench_median(dur_txn, repeats),
           bench_median(dur_single, repeats) / bench_median(dur_txn, repeats));
    printf("\nSynced snapshots: %" PRIu64 " for the transaction of 1,000 creates, %" PRIu64
           " for 1,000 single creates.\n",
           snaps_txn, snaps_single);
    if (dir == tmp)
        rmdir(dir);
    return 0;
}
