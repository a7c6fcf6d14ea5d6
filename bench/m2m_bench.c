/*
 * bench/m2m_bench.c - many-to-many relations against SQLite, side by side in one run.
 *
 *   m2m_bench [--books B] [--repeats N]
 *
 * Both systems hold the same data, made from one seeded generator: 1,000 tags (names of
 * 10-30 bytes, unique) and B books (default 100,000; titles of 20-60 bytes), each book
 * linked to 10 distinct random tags, about 5% of them to 12-15 (so that the count query
 * below finds some): at the default size 1.1M objects, of which 1M links. relstore declares
 * Book.tags as a STORE_M2M field to Tag with related_name "books" and no .through (the store
 * declares "Book_tags"); SQLite :memory: holds book, tag and a junction table book_tag with
 * an index on each of its two columns, loaded in one transaction, then ANALYZE (so that
 * the planner looks a pair up by book_id), statements prepared once.
 * Each measurement is repeated N times (default 5), on a new random sample each time (the
 * same sample for both systems), and the median printed, in ns per operation (the count
 * query: ms per query):
 *   1. walk a book's tags, reading each name (10,000 random books);
 *   2. walk a tag's books, the first 20, reading each title (10,000 random tags, drawn from
 *      the 1,000);
 *   3. link a book and a tag not linked, then unlink them (10,000 pairs); relstore in plain
 *      calls, SQLite in one transaction around the batch (SELECT the pair, INSERT, DELETE);
 *   4. count the books with at least 12 tags: relstore's query "tags__count__gte" (each
 *      book keeps its count); SQLite groups book_tag by book_id.
 * The memory a link costs: relstore, the growth of the process's resident set while the
 * links alone are made (books and tags made first), over the links; SQLite, page_count *
 * page_size after the links are loaded less before, over the links. Both sides' results are
 * compared (the rows, and each string's first byte weighted by its place), and a mismatch
 * stops the run.
 * Prints one table: each time, the ratio sqlite/relstore, and the goal (walks: relstore at
 * least 10x faster; writes: at least 5x; memory per link: at most SQLite's). Times are
 * wall-clock: compare figures of one run.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <unistd.h>

#include "bench/common.h"

enum { TAGS = 1000, OPS = 10000, TAG_WALK = 20, MANY_TAGS = 12, RUNS_MAX = 15 };

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

typedef struct data {
    long nbooks;
    char (*titles)[64];
    char (*names)[32];
    size_t *first; /* book B's tags: tags[first[B]] up to tags[first[B + 1]] */
    uint16_t *tags;
    size_t nlinks;
    long many; /* books with at least MANY_TAGS tags */
} data;

static bool has_tag(const data *d, long book, int tag)
{
    for (size_t i = d->first[book]; i < d->first[book + 1]; i++)
        if (d->tags[i] == tag)
            return true;
    return false;
}

static void data_make(data *d, long books)
{
    d->nbooks = books;
    d->titles = malloc((size_t)books * sizeof *d->titles);
    d->names = malloc(TAGS * sizeof *d->names);
    d->first = malloc(((size_t)books + 1) * sizeof *d->first);
    d->tags = malloc((size_t)books * 15 * sizeof *d->tags);
    d->many = 0;
    if (!d->titles || !d->names || !d->first || !d->tags) {
        fprintf(stderr, "m2m_bench: out of memory\n");
        exit(1);
    }
    for (int t = 0; t < TAGS; t++) { /* the names are unique: draw again on a repeat */
        bool again;
        do {
            text(d->names[t], 10, 30);
            again = false;
            for (int u = 0; u < t && !again; u++)
                again = !strcmp(d->names[t], d->names[u]);
        } while (again);
    }
    size_t n = 0;
    for (long b = 0; b < books; b++) {
        text(d->titles[b], 20, 60);
        int k = rnd() % 20 ? 10 : MANY_TAGS + (int)(rnd() % 4);
        d->many += k >= MANY_TAGS;
        d->first[b] = n;
        d->first[b + 1] = n; /* has_tag() reads it while the list grows */
        for (int j = 0; j < k; j++) {
            int t;
            do
                t = (int)(rnd() % TAGS);
            while (has_tag(d, b, t));
            d->tags[n++] = (uint16_t)t;
            d->first[b + 1] = n;
        }
    }
    d->nlinks = n;
}

static void data_free(data *d)
{
    free(d->titles);
    free(d->names);
    free(d->first);
    free(d->tags);
}

/* The process's resident set, in bytes. */
static size_t rss(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        fprintf(stderr, "m2m_bench: cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- relstore ------------------------------------------------------------------------------ */

static const store_field tag_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 30, .unique = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 60},
    {.name = "tags", .type = STORE_M2M, .to = "Tag", .related_name = "books"},
    {0},
};

typedef struct rel {
    store *db;
    store_schema *schema;
    store_model *Book, *Tag;
    const store_fld *title, *name;
    store_obj **books, **tags;
    size_t link_bytes; /* the resident set's growth while the links were made */
    double load_ms;    /* making the links */
} rel;

static void rel_open(rel *r, const data *d)
{
    if (store_schema_new(&r->schema) || store_schema_add(r->schema, "Tag", tag_fields) ||
        store_schema_add(r->schema, "Book", book_fields)) {
        fprintf(stderr, "m2m_bench: cannot declare the schema: %s\n", store_errmsg(NULL));
        exit(1);
    }
    bench_must(store_open(&r->db, r->schema, NULL, NULL), NULL, "open");
    r->Book = store_model_find(r->db, "Book");
    r->Tag = store_model_find(r->db, "Tag");
    r->title = store_field_find(r->Book, "title");
    r->name = store_field_find(r->Tag, "name");
    r->books = malloc((size_t)d->nbooks * sizeof *r->books);
    r->tags = malloc(TAGS * sizeof *r->tags);
    for (int t = 0; t < TAGS; t++)
        bench_must(store_create(r->db, r->Tag,
                                (store_value[]){STORE_V_STR("name", d->names[t]), {0}},
                                &r->tags[t]),
                   r->db, "create tag");
    for (long b = 0; b < d->nbooks; b++)
        bench_must(store_create(r->db, r->Book,
                                (store_value[]){STORE_V_STR("title", d->titles[b]), {0}},
                                &r->books[b]),
                   r->db, "create book");
    size_t before = rss();
    double t0 = bench_now_ms();
    for (long b = 0; b < d->nbooks; b++)
        for (size_t i = d->first[b]; i < d->first[b + 1]; i++)
            bench_must(store_m2m_add(r->db, r->books[b], "tags", r->tags[d->tags[i]], NULL, NULL),
                       r->db, "link");
    r->load_ms = bench_now_ms() - t0;
    size_t after = rss();
    r->link_bytes = after > before ? after - before : 0;
}

static void rel_close(rel *r)
{
    bench_must(store_close(r->db), NULL, "close");
    store_schema_free(r->schema);
    free(r->books);
    free(r->tags);
}

/* ---- SQLite -------------------------------------------------------------------------------- */

typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *ins_book, *ins_tag, *ins_link, *book_walk, *tag_walk, *has, *del, *many;
    size_t link_bytes; /* the pages the links added */
    double load_ms;    /* inserting the links */
} sq;

static void sq_exec(sq *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "m2m_bench: sqlite: %s: %s\n", sql, err);
        exit(1);
    }
}

static sqlite3_stmt *sq_prepare(sq *s, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "m2m_bench: sqlite: %s: %s\n", sql, sqlite3_errmsg(s->db));
        exit(1);
    }
    return st;
}

static void sq_step(sq *s, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "m2m_bench: sqlite: %s\n", sqlite3_errmsg(s->db));
        exit(1);
    }
    sqlite3_reset(st);
}

/* The database's size: its pages times the page size. */
static size_t sq_bytes(sq *s)
{
    int64_t v[2];
    const char *const pragma[] = {"PRAGMA page_count", "PRAGMA page_size"};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, pragma[i], -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
            fprintf(stderr, "m2m_bench: sqlite: %s: %s\n", pragma[i], sqlite3_errmsg(s->db));
            exit(1);
        }
        v[i] = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return (size_t)(v[0] * v[1]);
}

static void sq_open(sq *s, const data *d)
{
    memset(s, 0, sizeof *s);
    if (sqlite3_open(":memory:", &s->db) != SQLITE_OK)
        exit(1);
    sq_exec(s, "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT);"
               "CREATE TABLE tag(id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
               "CREATE TABLE book_tag(id INTEGER PRIMARY KEY, book_id INTEGER, tag_id INTEGER);"
               "CREATE INDEX book_tag_book ON book_tag(book_id);"
               "CREATE INDEX book_tag_tag ON book_tag(tag_id);");
    s->ins_book = sq_prepare(s, "INSERT INTO book(id, title) VALUES (?1, ?2)");
    s->ins_tag = sq_prepare(s, "INSERT INTO tag(id, name) VALUES (?1, ?2)");
    s->ins_link = sq_prepare(s, "INSERT INTO book_tag(book_id, tag_id) VALUES (?1, ?2)");
    sq_exec(s, "BEGIN");
    for (int t = 0; t < TAGS; t++) {
        sqlite3_bind_int64(s->ins_tag, 1, t + 1);
        sqlite3_bind_text(s->ins_tag, 2, d->names[t], -1, SQLITE_STATIC);
        sq_step(s, s->ins_tag);
    }
    for (long b = 0; b < d->nbooks; b++) {
        sqlite3_bind_int64(s->ins_book, 1, b + 1);
        sqlite3_bind_text(s->ins_book, 2, d->titles[b], -1, SQLITE_STATIC);
        sq_step(s, s->ins_book);
    }
    size_t before = sq_bytes(s);
    double t0 = bench_now_ms();
    for (long b = 0; b < d->nbooks; b++)
        for (size_t i = d->first[b]; i < d->first[b + 1]; i++) {
            sqlite3_bind_int64(s->ins_link, 1, b + 1);
            sqlite3_bind_int64(s->ins_link, 2, d->tags[i] + 1);
            sq_step(s, s->ins_link);
        }
    sq_exec(s, "COMMIT");
    s->load_ms = bench_now_ms() - t0;
    size_t after = sq_bytes(s);
    s->link_bytes = after > before ? after - before : 0;
    /* The statistics a DBA would gather after a load: without them the planner takes the
     * index on tag_id (a hundredth of the links for each tag) for a pair's lookup rather
     * than the one on book_id (10 links a book). Gathered after the size was measured, as
     * they take pages of their own. */
    sq_exec(s, "ANALYZE");
    s->book_walk = sq_prepare(s, "SELECT t.name FROM book_tag bt JOIN tag t ON t.id = bt.tag_id "
                                 "WHERE bt.book_id = ?1 ORDER BY bt.id");
    s->tag_walk = sq_prepare(s, "SELECT b.title FROM book_tag bt JOIN book b ON b.id = "
                                "bt.book_id WHERE bt.tag_id = ?1 ORDER BY bt.id LIMIT 20");
    s->has = sq_prepare(s, "SELECT 1 FROM book_tag WHERE book_id = ?1 AND tag_id = ?2");
    s->del = sq_prepare(s, "DELETE FROM book_tag WHERE book_id = ?1 AND tag_id = ?2");
    s->many = sq_prepare(s, "SELECT book_id FROM book_tag GROUP BY book_id "
                            "HAVING count(*) >= 12");
}

static void sq_close(sq *s)
{
    sqlite3_stmt *all[] = {s->ins_book, s->ins_tag, s->ins_link, s->book_walk,
                           s->tag_walk, s->has,     s->del,      s->many};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(s->db);
}

/* ---- The measurements ---------------------------------------------------------------------- */

/* One repeat's random sample, drawn before the clock starts; both systems run it. */
typedef struct sample {
    long books[OPS];     /* walk 1 */
    int tags[OPS];       /* walk 2 */
    long pair_book[OPS]; /* link and unlink: pairs not linked */
    int pair_tag[OPS];
} sample;

static void sample_make(sample *s, const data *d)
{
    for (int i = 0; i < OPS; i++) {
        s->books[i] = (long)(rnd() % (uint64_t)d->nbooks);
        s->tags[i] = (int)(rnd() % TAGS);
        long b;
        int t;
        do {
            b = (long)(rnd() % (uint64_t)d->nbooks);
            t = (int)(rnd() % TAGS);
        } while (has_tag(d, b, t));
        s->pair_book[i] = b;
        s->pair_tag[i] = t;
    }
}

/* What a walk read: the rows, and a sum of each string's first byte and its place. Both
 * systems must read the same. */
typedef struct seen {
    uint64_t rows, sum;
} seen;

static void seen_check(const char *what, seen a, seen b)
{
    if (a.rows != b.rows || a.sum != b.sum) {
        fprintf(stderr, "m2m_bench: %s: relstore read %" PRIu64 " rows (sum %" PRIu64 "), SQLite %"
                        PRIu64 " (sum %" PRIu64 ")\n", what, a.rows, a.sum, b.rows, b.sum);
        exit(1);
    }
}

static double rel_book_walk(rel *r, const sample *s, seen *out)
{
    seen v = {0, 0};
    double t0 = bench_now_ms();
    for (int i = 0; i < OPS; i++) {
        store_iter it = store_m2m(r->books[s->books[i]], "tags");
        uint64_t k = 0;
        for (store_obj *t; (t = store_next(&it)); k++)
            v.sum += (unsigned char)store_field_str(t, r->name)[0] * (k + 1);
        v.rows += k;
    }
    double ms = bench_now_ms() - t0;
    *out = v;
    return ms;
}

static double sq_book_walk(sq *s, const sample *p, seen *out)
{
    seen v = {0, 0};
    double t0 = bench_now_ms();
    for (int i = 0; i < OPS; i++) {
        sqlite3_bind_int64(s->book_walk, 1, p->books[i] + 1);
        uint64_t k = 0;
        for (; sqlite3_step(s->book_walk) == SQLITE_ROW; k++)
            v.sum += sqlite3_column_text(s->book_walk, 0)[0] * (k + 1);
        sqlite3_reset(s->book_walk);
        v.rows += k;
    }
    double ms = bench_now_ms() - t0;
    *out = v;
    return ms;
}

static double rel_tag_walk(rel *r, const sample *s, seen *out)
{
    seen v = {0, 0};
    double t0 = bench_now_ms();
    for (int i = 0; i < OPS; i++) {
        store_iter it = store_m2m(r->tags[s->tags[i]], "books");
        uint64_t k = 0;
        for (store_obj *b; k < TAG_WALK && (b = store_next(&it)); k++)
            v.sum += (unsigned char)store_field_str(b, r->title)[0] * (k + 1);
        v.rows += k;
    }
    double ms = bench_now_ms() - t0;
    *out = v;
    return ms;
}

static double sq_tag_walk(sq *s, const sample *p, seen *out)
{
    seen v = {0, 0};
    double t0 = bench_now_ms();
    for (int i = 0; i < OPS; i++) {
        sqlite3_bind_int64(s->tag_walk, 1, p->tags[i] + 1);
        uint64_t k = 0;
        for (; sqlite3_step(s->tag_walk) == SQLITE_ROW; k++)
            v.sum += sqlite3_column_text(s->tag_walk, 0)[0] * (k + 1);
        sqlite3_reset(s->tag_walk);
        v.rows += k;
    }
    double ms = bench_now_ms() - t0;
    *out = v;
    return ms;
}

static double rel_link_unlink(rel *r, const sample *s)
{
    double t0 = bench_now_ms();
    for (int i = 0; i < OPS; i++) {
        store_obj *b = r->books[s->pair_book[i]], *t = r->tags[s->pair_tag[i]];
        bench_must(store_m2m_add(r->db, b, "tags", t, NULL, NULL), r->db, "link");
        bench_must(store_m2m_remove(r->db, b, "tags", t), r->db, "unlink");
    }
    return bench_now_ms() - t0;
}

static double sq_link_unlink(sq *s, const sample *p)
{
    double t0 = bench_now_ms();
    sq_exec(s, "BEGIN");
    for (int i = 0; i < OPS; i++) {
        int64_t b = p->pair_book[i] + 1, t = p->pair_tag[i] + 1;
        sqlite3_bind_int64(s->has, 1, b);
        sqlite3_bind_int64(s->has, 2, t);
        int rc = sqlite3_step(s->has);
        sqlite3_reset(s->has);
        if (rc != SQLITE_DONE) { /* a row, or an error: the pair was meant to be unlinked */
            fprintf(stderr, "m2m_bench: sqlite: pair %" PRId64 ", %" PRId64 ": %s\n", b, t,
                    rc == SQLITE_ROW ? "already linked" : sqlite3_errmsg(s->db));
            exit(1);
        }
        sqlite3_bind_int64(s->ins_link, 1, b);
        sqlite3_bind_int64(s->ins_link, 2, t);
        sq_step(s, s->ins_link);
        sqlite3_bind_int64(s->del, 1, b);
        sqlite3_bind_int64(s->del, 2, t);
        sq_step(s, s->del);
    }
    sq_exec(s, "COMMIT");
    return bench_now_ms() - t0;
}

/* The books with at least MANY_TAGS tags: a query on "tags__count__gte", whose count each
 * book keeps (so the query checks one word per book). */
static double rel_many(rel *r, long *found)
{
    store_query *q;
    bench_must(store_query_new(r->db, r->Book, &q), r->db, "query");
    bench_must(store_query_filter(q, (store_value[]){STORE_V_INT("tags__count__gte", MANY_TAGS),
                                                     {0}}),
               r->db, "filter");
    size_t n = 0;
    double t0 = bench_now_ms();
    bench_must(store_query_count(q, NULL, &n), r->db, "count");
    double ms = bench_now_ms() - t0;
    store_query_free(q);
    *found = (long)n;
    return ms;
}

static double sq_many(sq *s, long *found)
{
    long n = 0;
    double t0 = bench_now_ms();
    while (sqlite3_step(s->many) == SQLITE_ROW)
        n++;
    sqlite3_reset(s->many);
    double ms = bench_now_ms() - t0;
    *found = n;
    return ms;
}

/* A table row: relstore's figure, SQLite's, the ratio sqlite/relstore and the goal, which is
 * that ratio at least GOAL (0: no goal). */
static void row(const char *what, const char *unit, double rs, double sql, double goal)
{
    double ratio = sql / rs;
    printf("| %s | %s | %.*f | %.*f | %.2fx | ", what, unit, rs < 100 ? 2 : 0, rs,
           sql < 100 ? 2 : 0, sql, ratio);
    if (goal > 0)
        printf(">= %.0fx: %s |\n", goal, ratio >= goal ? "met" : "MISSED");
    else
        printf("- |\n");
}

int main(int argc, char **argv)
{
    long books = 100000;
    int repeats = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--books") && i + 1 < argc)
            books = atol(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: m2m_bench [--books B] [--repeats N (1-15)]\n");
            return 2;
        }
    }
    if (books < 1 || repeats < 1 || repeats > RUNS_MAX) {
        fprintf(stderr, "m2m_bench: bad arguments\n");
        return 2;
    }
    data d;
    data_make(&d, books);
    rel r;
    sq s;
    rel_open(&r, &d); /* first, so that its resident set is measured before SQLite's pages */
    sq_open(&s, &d);

    double bw_r[RUNS_MAX], bw_s[RUNS_MAX], tw_r[RUNS_MAX], tw_s[RUNS_MAX];
    double lk_r[RUNS_MAX], lk_s[RUNS_MAX], mn_r[RUNS_MAX], mn_s[RUNS_MAX];
    long found = 0;
    sample *p = malloc(sizeof *p);
    for (int k = 0; k < repeats; k++) {
        sample_make(p, &d);
        seen a, b;
        bw_r[k] = rel_book_walk(&r, p, &a);
        bw_s[k] = sq_book_walk(&s, p, &b);
        seen_check("walk a book's tags", a, b);
        tw_r[k] = rel_tag_walk(&r, p, &a);
        tw_s[k] = sq_tag_walk(&s, p, &b);
        seen_check("walk a tag's books", a, b);
        lk_r[k] = rel_link_unlink(&r, p);
        lk_s[k] = sq_link_unlink(&s, p);
        long fr, fs;
        mn_r[k] = rel_many(&r, &fr);
        mn_s[k] = sq_many(&s, &fs);
        if (fr != d.many || fs != d.many) {
            fprintf(stderr, "m2m_bench: books with %d tags or more: %ld made, relstore %ld, "
                            "SQLite %ld\n", MANY_TAGS, d.many, fr, fs);
            return 1;
        }
        found = fr;
    }
    free(p);

    double per_op = 1e6 / OPS; /* ms per batch to ns per operation */
    double mem_r = (double)r.link_bytes / (double)d.nlinks;
    double mem_s = (double)s.link_bytes / (double)d.nlinks;
    printf("### Many-to-many: %ld books, %d tags, %zu links, median of %d\n\n", books, TAGS,
           d.nlinks, repeats);
    printf("| measurement | unit | relstore | sqlite-mem | sqlite/relstore | goal |\n");
    printf("| --- | --- | ---: | ---: | ---: | --- |\n");
    row("walk a book's tags, reading each name", "ns/op", per_op * bench_median(bw_r, repeats),
        per_op * bench_median(bw_s, repeats), 10);
    row("walk a tag's first 20 books, reading each title", "ns/op",
        per_op * bench_median(tw_r, repeats), per_op * bench_median(tw_s, repeats), 10);
    row("link a pair, then unlink it", "ns/op", per_op * bench_median(lk_r, repeats),
        per_op * bench_median(lk_s, repeats), 5);
    row("count the books with tags__count__gte 12", "ms/query", bench_median(mn_r, repeats),
        bench_median(mn_s, repeats), 0);
    printf("| memory per link | bytes | %.1f | %.1f | %.2fx | <= sqlite: %s |\n", mem_r, mem_s,
           mem_s / mem_r, mem_r <= mem_s ? "met" : "MISSED");
    printf("\nOne operation: a walk of one book (10 tags, 12-15 for about 5%% of books), a walk "
           "of one tag's first 20 books, or one link and its unlink (SQLite: SELECT the pair, "
           "INSERT, DELETE, %d of them in one transaction; relstore: plain calls), over %d "
           "random picks per run. SQLite's statistics are gathered (ANALYZE) after the load, "
           "so that a pair is looked up through the index on book_id.\n",
           OPS, OPS);
    printf("The count query found %ld books on both sides (relstore: a query on tags__count, a "
           "scan reading each book's count; SQLite: GROUP BY book_id HAVING count(*) >= 12).\n",
           found);
    printf("Memory per link: relstore, the resident set's growth while the %zu links were made "
           "(%.1f MB); SQLite, page_count * page_size after loading them less before (%.1f MB: "
           "book_tag and its two indexes). Making the links took %.0f ms in relstore "
           "(store_m2m_add), %.0f ms in SQLite (one transaction).\n",
           d.nlinks, r.link_bytes / 1e6, s.link_bytes / 1e6, r.load_ms, s.load_ms);
    rel_close(&r);
    sq_close(&s);
    data_free(&d);
    return 0;
}
