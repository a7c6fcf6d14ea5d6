/*
 * bench/ordered_bench.c - ordered indexes against SQLite's indexes, side by side in one run.
 *
 *   ordered_bench [--objects N[,N...]] [--repeats R] [--file-dir DIR]
 *
 * For each scale N (default 1,000,000) both systems hold the same N books from one seeded
 * generator: a title of 20-60 bytes made of words (titles share their first words, so share
 * prefixes), a year uniform in 0..999,999 (1,000,000 distinct values: ties are real, ten a
 * value at 10M) and pages 1..1,000. relstore: Book with title CHAR(60) and year INT .ordered,
 * pages plain. SQLite :memory:: book(id INTEGER PRIMARY KEY, title TEXT, year INTEGER, pages
 * INTEGER) with an index on title and one on year, loaded in one transaction, then ANALYZE.
 * Statements are prepared once, relstore queries built once and run with binds. Each
 * measurement is repeated R times (default 5) on a new random sample of parameters (the same
 * for both systems) and the median printed, in us per query:
 *   1. range count, year in [a, a + 9,999] (about 1% of the rows): year__range;
 *   2. top-20 page by year descending (ties by id descending, as SQLite's index walked
 *      backwards gives them), reading each title;
 *   3. the page of 20 at offset 500,000 (N / 2 when smaller) by year;
 *   4. title__startswith the first two words of a random title ("the silent "), by title,
 *      first 20; SQLite title >= P AND title < P' (P with its last byte raised: LIKE does not
 *      use an index by default);
 *   5. MIN and MAX of year.
 * Both sides' results are compared (counts; rows by id and title's first byte, weighted by
 * place; the minimum and maximum), and a mismatch stops the run.
 * The costs: creating the N books one by one in a store with the two .ordered fields and in
 * one without (median of R loads each; SQLite with and without its indexes, one load each);
 * the resident set's growth of the ordered store over the plain one's (each loaded in a new
 * child process, on a fresh heap), per index entry (two a book; SQLite: page_count * page_size with the indexes less without); and a store on a file
 * in DIR (default: a new folder in the system's temporary folder, removed at the end), made,
 * snapshotted, closed, then opened R times (the open builds the ordered indexes in bulk): the
 * open per book, and until the first top-20 page. One markdown table per scale; the plans of
 * both systems below it. Times are wall-clock: compare figures of one run.
 */
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/common.h"

enum {
    YEARS = 1000000,     /* year is drawn from [0, YEARS) */
    WIDTH = YEARS / 100, /* the years a range count covers */
    PAGE = 20,
    QUERIES = 1000,      /* queries per measurement, each with its own parameters */
    DEEP_QUERIES = 50,   /* the page at a deep offset: SQLite steps over every row before it */
    DEEP = 500000,
    RUNS_MAX = 15,
    SCALES_MAX = 8,
};

/* The queries, in the table's order. */
enum { Q_COUNT, Q_TOP, Q_DEEP, Q_PREFIX, Q_MINMAX, NQ };

static uint64_t seed = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    return bench_rnd(&seed);
}

/* Words into BUF until it holds between MIN and MAX bytes. */
static const char *text(char *buf, size_t min, size_t max)
{
    return bench_text(&seed, buf, min, max, 30);
}

/* ---- The data, made once for both systems -------------------------------------------------- */

typedef struct book {
    char title[64];
    int32_t year, pages;
} book;

typedef struct data {
    long n;
    book *books;
} data;

static void data_make(data *d, long n)
{
    d->n = n;
    if (!(d->books = malloc((size_t)n * sizeof *d->books))) {
        fprintf(stderr, "ordered_bench: out of memory\n");
        exit(1);
    }
    for (long b = 0; b < n; b++) {
        text(d->books[b].title, 20, 60);
        d->books[b].year = (int32_t)(rnd() % YEARS);
        d->books[b].pages = 1 + (int32_t)(rnd() % 1000);
    }
}

/* The process's resident set, in bytes. */
static size_t rss(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        fprintf(stderr, "ordered_bench: cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- relstore ------------------------------------------------------------------------------ */

/* The model; the plain store's is the same without .ordered. */
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 60, .ordered = true},
    {.name = "year", .type = STORE_INT, .ordered = true},
    {.name = "pages", .type = STORE_INT},
    {0},
};

typedef struct rel {
    store *db;
    store_schema *schema;
    store_model *Book;
    const store_fld *title;
    store_query *q[NQ]; /* rel_queries() */
} rel;

static void rel_open(rel *r, bool ordered, const char *path)
{
    store_field fields[sizeof book_fields / sizeof *book_fields];
    memcpy(fields, book_fields, sizeof fields);
    fields[0].ordered = fields[1].ordered = ordered;
    memset(r, 0, sizeof *r);
    if (store_schema_new(&r->schema) || store_schema_add(r->schema, "Book", fields)) {
        fprintf(stderr, "ordered_bench: cannot declare the schema: %s\n", store_errmsg(NULL));
        exit(1);
    }
    bench_must(store_open(&r->db, r->schema, path, NULL), NULL, "open");
    r->Book = store_model_find(r->db, "Book");
    r->title = store_field_find(r->Book, "title");
}

/* Creates D's books one by one; returns the time it took, in ms. */
static double rel_load(rel *r, const data *d)
{
    double t0 = bench_now_ms();
    for (long b = 0; b < d->n; b++)
        bench_must(store_create(r->db, r->Book,
                                (store_value[]){STORE_V_STR("title", d->books[b].title),
                                                STORE_V_INT("year", d->books[b].year),
                                                STORE_V_INT("pages", d->books[b].pages), {0}},
                                NULL),
                   r->db, "create book");
    return bench_now_ms() - t0;
}

/* A query of books meeting TERMS (NULL: all), by KEYS (NULL: by id), sliced (LIMIT 0: not). */
static store_query *rel_query(rel *r, const store_value *terms, const char *const *keys,
                              size_t offset, size_t limit)
{
    store_query *q;
    bench_must(store_query_new(r->db, r->Book, &q), r->db, "query");
    if (terms)
        bench_must(store_query_filter(q, terms), r->db, "filter");
    if (keys)
        bench_must(store_query_order_by(q, keys), r->db, "order_by");
    if (limit)
        bench_must(store_query_slice(q, offset, limit), r->db, "slice");
    return q;
}

/* The top-20 page's order: ties (one year, several books) by id descending, as SQLite's
 * index on year gives them walked backwards; "-year" alone breaks them by id ascending, which
 * SQLite could only match by sorting each year's books. */
static const char *const top_keys[] = {"-year", "-id", NULL};

/* The queries, built once; the parameters are bound when they run. */
static void rel_queries(rel *r, size_t deep)
{
    r->q[Q_COUNT] = rel_query(r, (store_value[]){STORE_V_PARAM("year__range", "r"), {0}}, NULL,
                              0, 0);
    r->q[Q_TOP] = rel_query(r, NULL, top_keys, 0, PAGE);
    r->q[Q_DEEP] = rel_query(r, NULL, (const char *[]){"year", NULL}, deep, PAGE);
    r->q[Q_PREFIX] = rel_query(r, (store_value[]){STORE_V_PARAM("title__startswith", "p"), {0}},
                               (const char *[]){"title", NULL}, 0, PAGE);
    r->q[Q_MINMAX] = rel_query(r, NULL, NULL, 0, 0);
}

static void rel_close(rel *r)
{
    for (int i = 0; i < NQ; i++)
        store_query_free(r->q[i]);
    bench_must(store_close(r->db), NULL, "close");
    store_schema_free(r->schema);
}

/* ---- SQLite -------------------------------------------------------------------------------- */

/* The same queries, each ORDER BY ending with relstore's ties (the rowid ends an index entry:
 * no sort). min() and max() are two subqueries: SQLite reads a MIN or a MAX from its index
 * only when it is the lone aggregate of its SELECT. */
static const char *const sqls[NQ] = {
    [Q_COUNT] = "SELECT count(*) FROM book WHERE year BETWEEN ?1 AND ?2",
    [Q_TOP] = "SELECT id, title FROM book ORDER BY year DESC, id DESC LIMIT 20",
    [Q_DEEP] = "SELECT id, title FROM book ORDER BY year, id LIMIT 20 OFFSET ?1",
    [Q_PREFIX] = "SELECT id, title FROM book WHERE title >= ?1 AND title < ?2 "
                 "ORDER BY title, id LIMIT 20",
    [Q_MINMAX] = "SELECT (SELECT min(year) FROM book), (SELECT max(year) FROM book)",
};

typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *ins, *q[NQ];
    size_t bytes;   /* page_count * page_size after the load */
    double load_ms; /* the inserts, in one transaction */
} sq;

/* Stops the program on SQLite's failure at WHAT. */
static void sq_die(sq *s, const char *what)
{
    fprintf(stderr, "ordered_bench: sqlite: %s: %s\n", what, sqlite3_errmsg(s->db));
    exit(1);
}

static void sq_exec(sq *s, const char *sql)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        sq_die(s, sql);
}

static sqlite3_stmt *sq_prepare(sq *s, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        sq_die(s, sql);
    return st;
}

/* The database's size: its pages times the page size. */
static size_t sq_bytes(sq *s)
{
    const char *sql = "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size";
    sqlite3_stmt *st = sq_prepare(s, sql);
    if (sqlite3_step(st) != SQLITE_ROW)
        sq_die(s, sql);
    size_t v = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* SQLite's plan for SQL, its steps joined by "; ", into BUF. */
static const char *sq_plan(sq *s, const char *sql, char *buf, size_t size)
{
    char explain[512];
    snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = sq_prepare(s, explain);
    size_t n = 0;
    buf[0] = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < size)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "; " : "",
                              (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    return buf;
}

/* A database of D's books, with the two indexes when INDEXED (then ready for the queries). */
static void sq_open(sq *s, const data *d, bool indexed, long deep)
{
    memset(s, 0, sizeof *s);
    if (sqlite3_open(":memory:", &s->db) != SQLITE_OK)
        sq_die(s, "open");
    sq_exec(s, "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT, year INTEGER, "
               "pages INTEGER)");
    if (indexed)
        sq_exec(s, "CREATE INDEX book_title ON book(title); "
                   "CREATE INDEX book_year ON book(year)");
    s->ins = sq_prepare(s, "INSERT INTO book(id, title, year, pages) VALUES (?1, ?2, ?3, ?4)");
    double t0 = bench_now_ms();
    sq_exec(s, "BEGIN");
    for (long b = 0; b < d->n; b++) {
        sqlite3_bind_int64(s->ins, 1, b + 1);
        sqlite3_bind_text(s->ins, 2, d->books[b].title, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->ins, 3, d->books[b].year);
        sqlite3_bind_int64(s->ins, 4, d->books[b].pages);
        if (sqlite3_step(s->ins) != SQLITE_DONE)
            sq_die(s, "insert");
        sqlite3_reset(s->ins);
    }
    sq_exec(s, "COMMIT");
    s->load_ms = bench_now_ms() - t0;
    s->bytes = sq_bytes(s);
    if (!indexed)
        return;
    sq_exec(s, "ANALYZE"); /* after the size was read: the statistics take pages of their own */
    for (int i = 0; i < NQ; i++)
        s->q[i] = sq_prepare(s, sqls[i]);
    sqlite3_bind_int64(s->q[Q_DEEP], 1, deep);
}

static void sq_close(sq *s)
{
    sqlite3_finalize(s->ins);
    for (int i = 0; i < NQ; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
}

/* ---- The measurements ---------------------------------------------------------------------- */

/* One repeat's random parameters, drawn before the clock starts; both systems run them. */
typedef struct sample {
    int64_t lo[QUERIES];      /* range counts: [lo, lo + WIDTH - 1] */
    char prefix[QUERIES][64]; /* the first two words of a title, and the space after them */
    char next[QUERIES][64];   /* the smallest string past every string starting with it */
} sample;

static void sample_make(sample *s, const data *d)
{
    for (int i = 0; i < QUERIES; i++) {
        s->lo[i] = (int64_t)(rnd() % (YEARS - WIDTH + 1));
        const char *t, *sp;
        do { /* every title has three words or more; a padded one may not */
            t = d->books[rnd() % (uint64_t)d->n].title;
            sp = strchr(t, ' ');
            sp = sp ? strchr(sp + 1, ' ') : NULL;
        } while (!sp);
        size_t len = (size_t)(sp - t) + 1;
        memcpy(s->prefix[i], t, len);
        s->prefix[i][len] = 0;
        memcpy(s->next[i], s->prefix[i], len + 1);
        s->next[i][len - 1]++; /* a space: never 0xff */
    }
}

/* What the queries read: the rows, and a sum of each row's id and title's first byte, by its
 * place (counts: each count by its place). Both systems must read the same. */
typedef struct seen {
    uint64_t rows, sum;
} seen;

static void seen_check(const char *what, seen a, seen b)
{
    if (a.rows != b.rows || a.sum != b.sum) {
        fprintf(stderr, "ordered_bench: %s: relstore read %" PRIu64 " rows (sum %" PRIu64
                        "), SQLite %" PRIu64 " (sum %" PRIu64 ")\n",
                what, a.rows, a.sum, b.rows, b.sum);
        exit(1);
    }
}

/* Runs query WHICH once, with sample P's parameters I, adding what it read to V. */
static void rel_one(rel *r, int which, const sample *p, int i, seen *v)
{
    if (which == Q_COUNT) {
        store_value range[] = {STORE_V_INT(NULL, p->lo[i]),
                               STORE_V_INT(NULL, p->lo[i] + WIDTH - 1), {0}};
        size_t n;
        bench_must(store_query_count(r->q[Q_COUNT], (store_value[]){STORE_V_LIST("r", range), {0}},
                                     &n),
                   r->db, "range count");
        v->rows += n;
        v->sum += n * (uint64_t)(i + 1);
    } else if (which == Q_MINMAX) {
        store_agg aggs[] = {{.op = STORE_AGG_MIN, .path = "year"},
                            {.op = STORE_AGG_MAX, .path = "year"}, {0}};
        bench_must(store_query_aggregate(r->q[Q_MINMAX], NULL, aggs), r->db, "min / max");
        v->rows++;
        v->sum += (uint64_t)aggs[0].out.u.i + 3 * (uint64_t)aggs[1].out.u.i;
    } else {
        store_value binds[] = {STORE_V_STR("p", which == Q_PREFIX ? p->prefix[i] : NULL), {0}};
        store_result res;
        bench_must(store_query_find(r->q[which], which == Q_PREFIX ? binds : NULL, &res), r->db,
                   "find");
        for (size_t k = 0; k < res.count; k++)
            v->sum += (store_id(res.objs[k]) +
                       (unsigned char)store_field_str(res.objs[k], r->title)[0]) * (k + 1);
        v->rows += res.count;
        store_result_free(&res);
    }
}

/* The same on SQLite. */
static void sq_one(sq *s, int which, const sample *p, int i, seen *v)
{
    sqlite3_stmt *st = s->q[which];
    if (which == Q_COUNT) {
        sqlite3_bind_int64(st, 1, p->lo[i]);
        sqlite3_bind_int64(st, 2, p->lo[i] + WIDTH - 1);
    } else if (which == Q_PREFIX) {
        sqlite3_bind_text(st, 1, p->prefix[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p->next[i], -1, SQLITE_STATIC);
    }
    for (uint64_t k = 1; sqlite3_step(st) == SQLITE_ROW; k++) {
        uint64_t a = (uint64_t)sqlite3_column_int64(st, 0);
        if (which == Q_COUNT) {
            v->rows += a;
            v->sum += a * (uint64_t)(i + 1);
        } else if (which == Q_MINMAX) {
            v->rows++;
            v->sum += a + 3 * (uint64_t)sqlite3_column_int64(st, 1);
        } else {
            v->rows++;
            v->sum += (a + sqlite3_column_text(st, 1)[0]) * k;
        }
    }
    sqlite3_reset(st);
}

/* The time, in ms, of query WHICH run with each of sample P's parameters, on relstore
 * (SYSTEM 0) or SQLite (1); what it read in *OUT. */
static double run(rel *r, sq *s, int system, int which, const sample *p, seen *out)
{
    seen v = {0, 0};
    int times = which == Q_DEEP ? DEEP_QUERIES : QUERIES;
    double t0 = bench_now_ms();
    for (int i = 0; i < times; i++)
        if (system == 0)
            rel_one(r, which, p, i, &v);
        else
            sq_one(s, which, p, i, &v);
    double ms = bench_now_ms() - t0;
    *out = v;
    return ms;
}

/* What one scale measured; [0] is relstore's (or the ordered store's), [1] SQLite's (or the
 * plain store's). Times in ms. */
typedef struct result {
    long n, deep;
    double q[NQ][2][RUNS_MAX]; /* each query's batches, by repeat */
    double ins[2][RUNS_MAX];   /* relstore's loads: ordered, plain */
    double sq_ins[2];          /* SQLite's load: with the indexes, without */
    double rs_mem[2];          /* the resident set's growth, bytes: ordered, plain */
    double sq_mem[2];          /* page_count * page_size: with the indexes, without */
    double open[2], first[2];  /* opening a file, and until the first page: ordered, plain */
    char plan[NQ][2][300];     /* store_query_explain(), SQLite's EXPLAIN QUERY PLAN */
    seen top;                  /* SQLite's top-20 page */
} result;

/* Makes D's store on the file PATH (ORDERED or not), snapshots and closes it, then opens it
 * REPEATS times, each until its first top-20 page, which must read RES's: the medians. */
static void file_reopen(const data *d, bool ordered, const char *path, int repeats,
                        result *res)
{
    double open[RUNS_MAX], first[RUNS_MAX];
    rel r;
    rel_open(&r, ordered, path);
    rel_load(&r, d);
    bench_must(store_snapshot(r.db), r.db, "snapshot");
    rel_close(&r);
    for (int k = 0; k < repeats; k++) {
        double t0 = bench_now_ms();
        rel_open(&r, ordered, path);
        open[k] = bench_now_ms() - t0;
        r.q[Q_TOP] = rel_query(&r, NULL, top_keys, 0, PAGE);
        seen v = {0, 0};
        rel_one(&r, Q_TOP, NULL, 0, &v);
        first[k] = bench_now_ms() - t0;
        seen_check("top-20 page after opening the file", v, res->top);
        rel_close(&r);
    }
    unlink(path);
    char lock[1100];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    res->open[!ordered] = bench_median(open, repeats);
    res->first[!ordered] = bench_median(first, repeats);
}

/* The resident growth of loading a store (ORDERED or not) in a new child process: a fresh
 * heap, so that memory an earlier scale freed does not flatter either store. */
static double child_growth(bool ordered, const data *d)
{
    int fds[2];
    if (pipe(fds)) {
        perror("ordered_bench: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("ordered_bench: fork");
        exit(1);
    }
    if (pid == 0) {
        rel c;
        size_t m0 = rss();
        rel_open(&c, ordered, NULL);
        rel_load(&c, d);
        double grown = (double)(rss() - m0);
        ssize_t w = write(fds[1], &grown, sizeof grown);
        _exit(w == sizeof grown ? 0 : 1);
    }
    double grown = -1;
    ssize_t got = read(fds[0], &grown, sizeof grown);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    if (got != sizeof grown || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "ordered_bench: the child measuring memory failed\n");
        exit(1);
    }
    return grown;
}

/* The resident growth of each store, in a child each; then the plain store and the ordered
 * one (kept in R, for the queries) loaded here, and REPEATS - 1 more loads of each in a new
 * store. */
static void rel_costs(rel *r, const data *d, int repeats, result *res)
{
    rel plain;
    res->rs_mem[0] = child_growth(true, d);
    res->rs_mem[1] = child_growth(false, d);
    rel_open(&plain, false, NULL);
    res->ins[1][0] = rel_load(&plain, d);
    rel_open(r, true, NULL);
    res->ins[0][0] = rel_load(r, d);
    rel_close(&plain);
    for (int k = 1; k < repeats; k++)
        for (int j = 0; j < 2; j++) {
            int which = (k + j) % 2; /* alternate which goes first */
            rel_open(&plain, !which, NULL);
            res->ins[which][k] = rel_load(&plain, d);
            rel_close(&plain);
        }
    rel_queries(r, (size_t)res->deep);
}

/* The queries on both systems, REPEATS times, each on a new sample; then their plans. */
static void run_queries(rel *r, sq *s, const data *d, int repeats, result *res)
{
    static const char *const names[NQ] = {"range count", "top-20 page", "page at an offset",
                                           "prefix", "min / max"};
    sample *p = malloc(sizeof *p);
    for (int k = 0; k < repeats; k++) {
        sample_make(p, d);
        for (int i = 0; i < NQ; i++) {
            seen got[2];
            for (int j = 0; j < 2; j++) { /* each system first in turn */
                int sys = (j + k) % 2;
                res->q[i][sys][k] = run(r, s, sys, i, p, &got[sys]);
            }
            seen_check(names[i], got[0], got[1]);
        }
    }
    sq_one(s, Q_TOP, p, 0, &res->top);
    /* The plans, for the last sample's first parameters. */
    store_value range[] = {STORE_V_INT(NULL, p->lo[0]), STORE_V_INT(NULL, p->lo[0] + WIDTH - 1),
                           {0}};
    const store_value *binds[NQ] = {[Q_COUNT] = (store_value[]){STORE_V_LIST("r", range), {0}},
                                    [Q_PREFIX] = (store_value[]){STORE_V_STR("p", p->prefix[0]),
                                                                {0}}};
    for (int i = 0; i < NQ; i++) {
        bench_must(store_query_explain(r->q[i], binds[i], res->plan[i][0],
                                       sizeof res->plan[i][0]),
                   r->db, "explain");
        sq_plan(s, sqls[i], res->plan[i][1], sizeof res->plan[i][1]);
    }
    free(p);
}

/* A table row: relstore's figure, SQLite's (NAN: none), the ratio sqlite/relstore and the
 * goal, which is that ratio at least GOAL (0: no goal). */
static void row(const char *what, const char *unit, double rs, double sql, double goal)
{
    printf("| %s | %s | %.*f | ", what, unit, rs < 1 ? 3 : rs < 100 ? 2 : 0, rs);
    if (isnan(sql)) {
        printf("- | - | - |\n");
        return;
    }
    double ratio = sql / rs;
    printf("%.*f | %.2fx | ", sql < 1 ? 3 : sql < 100 ? 2 : 0, sql, ratio);
    if (goal > 0)
        printf(">= %.0fx: %s |\n", goal, ratio >= goal ? "met" : "MISSED");
    else
        printf("- |\n");
}

static void print_table(const result *res, int repeats)
{
    static const char *const names[NQ] = {
        "1. range count, year in [a, a+9999] (~1%)", "2. top-20 page by -year, -id, titles read",
        "3. page of 20 at offset ", "4. title__startswith 2 words, by title, 20",
        "5. MIN and MAX of year"};
    double per = 1e6 / (double)res->n; /* ms to ns per book */
    printf("### Ordered indexes: %ld books, median of %d\n\n", res->n, repeats);
    printf("Book: title CHAR(60) of 20-60 bytes made of %zu words, year INT uniform in 0..%d, "
           "pages INT 1..1000; relstore with title and year .ordered, SQLite :memory: with an "
           "index on each.\n\n", (size_t)30, YEARS - 1);
    printf("| measure | unit | relstore | SQLite | SQLite/relstore | goal |\n");
    printf("| --- | --- | ---: | ---: | ---: | --- |\n");
    for (int i = 0; i < NQ; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s%ld by year", names[i], res->deep);
        double us = 1e3 / (i == Q_DEEP ? DEEP_QUERIES : QUERIES); /* batch ms to us a query */
        row(i == Q_DEEP ? what : names[i], "us/query", us * bench_median(res->q[i][0], repeats),
            us * bench_median(res->q[i][1], repeats), 5);
    }
    double io = per * bench_median(res->ins[0], repeats), ip = per * bench_median(res->ins[1],
                                                                                   repeats);
    row("insert, with the two indexes", "ns/book", io, per * res->sq_ins[0], 0);
    row("insert, without them", "ns/book", ip, per * res->sq_ins[1], 0);
    printf("| insert cost, with / without | ratio | %.2fx | %.2fx | - | <= 1.5x: %s |\n", io / ip,
           res->sq_ins[0] / res->sq_ins[1], io / ip <= 1.5 ? "met" : "MISSED");
    double entries = 2.0 * (double)res->n;
    double mr = (res->rs_mem[0] - res->rs_mem[1]) / entries;
    double ms = (res->sq_mem[0] - res->sq_mem[1]) / entries;
    printf("| memory per index entry | bytes | %.1f | %.1f | %.2fx | <= 24: %s |\n", mr, ms,
           ms / mr, mr <= 24 ? "met" : "MISSED");
    row("load (open the file), with .ordered", "ns/book", per * res->open[0], NAN, 0);
    row("load (open the file), without", "ns/book", per * res->open[1], NAN, 0);
    row("open + first top-20 page, with .ordered", "ms", res->first[0], NAN, 0);
    row("open + first top-20 page, without", "ms", res->first[1], NAN, 0);
    printf("\nQueries: %d per measurement (the deep page: %d), new parameters each repeat; 1 "
           "and 4 bound to a query built once. Inserts: relstore store_create() of each book, "
           "the median of %d loads of a new store; SQLite one load each way, in one "
           "transaction. Memory: relstore, the resident set's growth loading the ordered store "
           "(%.1f MB) less the plain one's (%.1f MB), over %.0f entries; SQLite, page_count * "
           "page_size with the indexes (%.1f MB) less without (%.1f MB). Loads: the median of "
           "%d opens of a snapshotted file.\n\nPlans:\n\n", QUERIES, DEEP_QUERIES, repeats,
           res->rs_mem[0] / 1e6, res->rs_mem[1] / 1e6, entries, res->sq_mem[0] / 1e6,
           res->sq_mem[1] / 1e6, repeats);
    for (int i = 0; i < NQ; i++)
        printf("- %d. relstore: %s%s; SQLite: %s\n", i + 1, res->plan[i][0],
               i == Q_MINMAX ? " (a find's plan: the aggregate reads the index's ends)" : "",
               res->plan[i][1]);
    printf("\n");
}

static void run_scale(long n, int repeats, const char *dir)
{
    data d;
    data_make(&d, n);
    result *res = calloc(1, sizeof *res);
    res->n = n;
    res->deep = n / 2 < DEEP ? n / 2 : DEEP;
    rel r;
    rel_costs(&r, &d, repeats, res); /* first: its resident set before SQLite's pages */
    sq s;
    sq_open(&s, &d, false, res->deep);
    res->sq_ins[1] = s.load_ms;
    res->sq_mem[1] = (double)s.bytes;
    sq_close(&s);
    sq_open(&s, &d, true, res->deep);
    res->sq_ins[0] = s.load_ms;
    res->sq_mem[0] = (double)s.bytes;
    run_queries(&r, &s, &d, repeats, res);
    rel_close(&r);
    sq_close(&s);
    char path[1100];
    snprintf(path, sizeof path, "%.1000s/ordered.db", dir);
    file_reopen(&d, true, path, repeats, res);
    snprintf(path, sizeof path, "%.1000s/plain.db", dir);
    file_reopen(&d, false, path, repeats, res);
    print_table(res, repeats);
    free(res);
    free(d.books);
}

/* The scales of the list AT ("1000000,10000000") into SCALES; how many, 0 if AT is wrong. */
static int parse_scales(char *at, long *scales)
{
    int n = 0;
    while (*at) {
        if (n == SCALES_MAX)
            return 0;
        scales[n] = strtol(at, &at, 10);
        if (scales[n++] < 2 || (*at && *at++ != ','))
            return 0;
    }
    return n;
}

int main(int argc, char **argv)
{
    long scales[SCALES_MAX] = {1000000};
    int nscales = 1, repeats = 5;
    bool bad = false;
    const char *dir = NULL;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--objects") && i + 1 < argc) {
            nscales = parse_scales(argv[++i], scales);
            bad = !nscales;
        } else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--file-dir") && i + 1 < argc)
            dir = argv[++i];
        else
            bad = true;
    }
    if (bad || repeats < 1 || repeats > RUNS_MAX) {
        fprintf(stderr, "usage: ordered_bench [--objects N[,N...]] [--repeats R (1-15)] "
                        "[--file-dir DIR]\n");
        return 2;
    }
    char tmp[1024];
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%.990s/relstore-ordered-XXXXXX", t && *t ? t : P_tmpdir);
        if (!mkdtemp(tmp)) {
            perror("ordered_bench: mkdtemp");
            return 1;
        }
    }
    for (int i = 0; i < nscales; i++)
        run_scale(scales[i], repeats, dir ? dir : tmp);
    if (!dir)
        rmdir(tmp);
    return 0;
}
