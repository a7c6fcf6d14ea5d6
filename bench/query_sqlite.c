/*
 * bench/query_sqlite.c - the query benchmark on SQLite, a ":memory:" database.
 *
 * Schema (no constraint is checked that relstore does not check: foreign keys are declared,
 * and not enforced, as SQLite does by default):
 *   author(id INTEGER PRIMARY KEY, name TEXT NOT NULL)
 *   book(id INTEGER PRIMARY KEY, title TEXT NOT NULL, pages INTEGER NOT NULL,
 *        price REAL NOT NULL, author_id INTEGER NOT NULL REFERENCES author(id))
 * with an index on the foreign key, book(author_id), and on the columns the queries filter
 * or order by: author(name), book(pages), book(price). The indexes are made after the rows
 * are in, then ANALYZE gives the planner its statistics. Every statement is prepared once
 * (SQLITE_PREPARE_PERSISTENT), bound, stepped to the end and reset; text is bound with
 * SQLITE_STATIC from the data. The connection is SQLITE_OPEN_NOMUTEX: one thread uses it.
 *
 * The orders name a tie-break (id DESC) so that both systems return the same rows; it is the
 * order SQLite's index on (price) already yields backwards, so it costs SQLite nothing.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/query.h"

typedef struct qsq {
    sqlite3 *db;
    sqlite3_stmt *st[QB_NQUERIES];
} qsq;

static const char schema_sql[] =
    "CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT NOT NULL, pages INTEGER NOT NULL,"
    " price REAL NOT NULL, author_id INTEGER NOT NULL REFERENCES author(id));";

static const char index_sql[] = "CREATE INDEX book_author ON book(author_id);"
                                "CREATE INDEX author_name ON author(name);"
                                "CREATE INDEX book_pages ON book(pages);"
                                "CREATE INDEX book_price ON book(price);"
                                "ANALYZE;";

static const char *const query_sql[QB_NQUERIES] = {
    [QB_FK_TOP] = "SELECT id, title, pages, price FROM book WHERE author_id = ?1 AND pages >= ?2"
                  " ORDER BY pages DESC, id DESC LIMIT 5",
    [QB_RANGE_COUNT] = "SELECT count(*) FROM book WHERE pages BETWEEN ?1 AND ?2",
    [QB_TOP_PRICE] = "SELECT id, title, pages, price FROM book ORDER BY price DESC, id DESC"
                     " LIMIT 10",
    [QB_CROSS_PREFIX] = "SELECT b.id, b.title FROM book b JOIN author a ON a.id = b.author_id"
                        " WHERE a.name = ?1 AND b.title GLOB ?2",
    [QB_MANY_BOOKS] = "SELECT a.id, a.name FROM author a JOIN (SELECT author_id FROM book"
                      " GROUP BY author_id HAVING count(*) >= ?1) c ON a.id = c.author_id",
    [QB_CROSS_AGG] = "SELECT sum(b.pages), avg(b.price), count(*) FROM book b"
                     " JOIN author a ON a.id = b.author_id WHERE a.name = ?1",
    [QB_UPDATE] = "UPDATE book SET price = ?3 WHERE pages BETWEEN ?1 AND ?2",
    [QB_RANGE_SCAN] = "SELECT count(*) FROM book NOT INDEXED WHERE pages BETWEEN ?1 AND ?2",
    [QB_PRICE_SCAN] = "SELECT id, title, pages, price FROM book NOT INDEXED"
                      " ORDER BY price DESC, id DESC LIMIT 10",
};

static volatile double fsink; /* keeps the float reads */

static void die(const qsq *c, const char *what)
{
    fprintf(stderr, "sqlite-mem: %s: %s\n", what, c->db ? sqlite3_errmsg(c->db) : "not open");
    exit(1);
}

static void exec(qsq *c, const char *sql)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(c, sql);
}

static sqlite3_stmt *prepare(qsq *c, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        die(c, sql);
    return st;
}

/* Steps ST, which returns no row, and resets it. */
static void done(qsq *c, sqlite3_stmt *st, const char *what)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die(c, what);
    sqlite3_reset(st);
}

static void load(qsq *c, const qb_data *d)
{
    sqlite3_stmt *ia = prepare(c, "INSERT INTO author(id, name) VALUES (?1, ?2)");
    sqlite3_stmt *ib = prepare(c, "INSERT INTO book(id, title, pages, price, author_id)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5)");
    exec(c, "BEGIN");
    for (long a = 0; a < d->authors; a++) {
        sqlite3_bind_int64(ia, 1, a + 1);
        sqlite3_bind_text(ia, 2, d->names[a], -1, SQLITE_STATIC);
        done(c, ia, "INSERT INTO author");
    }
    for (size_t b = 0; b < d->books; b++) {
        const qb_book *k = &d->book[b];
        sqlite3_bind_int64(ib, 1, (sqlite3_int64)b + 1);
        sqlite3_bind_text(ib, 2, k->title, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ib, 3, k->pages);
        sqlite3_bind_double(ib, 4, k->price);
        sqlite3_bind_int64(ib, 5, (sqlite3_int64)k->author);
        done(c, ib, "INSERT INTO book");
    }
    exec(c, "COMMIT");
    sqlite3_finalize(ia);
    sqlite3_finalize(ib);
    exec(c, index_sql);
}

static void sq_destroy(void *ctx)
{
    qsq *c = ctx;
    for (int q = 0; q < QB_NQUERIES; q++)
        sqlite3_finalize(c->st[q]);
    sqlite3_close(c->db);
    free(c);
}

static void *sq_create(const qb_data *d)
{
    qsq *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(":memory:", &c->db, flags, NULL) != SQLITE_OK)
        die(c, "sqlite3_open_v2");
    exec(c, schema_sql);
    load(c, d);
    for (int q = 0; q < QB_NQUERIES; q++)
        c->st[q] = prepare(c, query_sql[q]);
    return c;
}

/* Steps ST to its end, reading each row; returns the checksum relstore's side computes. */
static uint64_t read_rows(qsq *c, int q, sqlite3_stmt *st, size_t *rows)
{
    uint64_t sum = 0, i = 0;
    bool ordered = q == QB_FK_TOP || q == QB_TOP_PRICE || q == QB_PRICE_SCAN;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t row = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_column_text(st, 1); /* the text first, then its length, as documented */
        row += (uint64_t)sqlite3_column_bytes(st, 1);
        if (ordered)
            row = (++i) * (row + (uint64_t)sqlite3_column_int64(st, 2) +
                           (uint64_t)llround(sqlite3_column_double(st, 3) * 100));
        sum += row;
        ++*rows;
    }
    if (rc != SQLITE_DONE)
        die(c, query_sql[q]);
    return sum;
}

/* The one row of a count or an aggregate; its checksum. */
static uint64_t read_one(qsq *c, int q, sqlite3_stmt *st, size_t *rows)
{
    if (sqlite3_step(st) != SQLITE_ROW)
        die(c, query_sql[q]);
    if (q == QB_RANGE_COUNT || q == QB_RANGE_SCAN) {
        int64_t n = sqlite3_column_int64(st, 0);
        *rows += (size_t)n;
        return (uint64_t)n;
    }
    int64_t count = sqlite3_column_int64(st, 2);
    *rows += (size_t)count;
    if (!count)
        return 0;
    fsink += sqlite3_column_double(st, 1);
    return (uint64_t)sqlite3_column_int64(st, 0) + (uint64_t)count * 1000003u;
}

static uint64_t sq_run(void *ctx, int q, const qb_param *p, size_t *rows)
{
    qsq *c = ctx;
    sqlite3_stmt *st = c->st[q];
    switch (q) {
    case QB_FK_TOP:
        sqlite3_bind_int64(st, 1, (sqlite3_int64)p->author);
        sqlite3_bind_int64(st, 2, p->lo);
        break;
    case QB_RANGE_COUNT:
    case QB_RANGE_SCAN:
        sqlite3_bind_int64(st, 1, p->lo);
        sqlite3_bind_int64(st, 2, p->hi);
        break;
    case QB_CROSS_PREFIX:
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p->glob, -1, SQLITE_STATIC);
        break;
    case QB_MANY_BOOKS:
        sqlite3_bind_int64(st, 1, p->lo);
        break;
    case QB_CROSS_AGG:
        sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
        break;
    case QB_UPDATE: /* one statement: its own transaction */
        sqlite3_bind_int64(st, 1, p->lo);
        sqlite3_bind_int64(st, 2, p->hi);
        sqlite3_bind_double(st, 3, p->price);
        done(c, st, query_sql[q]);
        *rows += (size_t)sqlite3_changes(c->db);
        return (uint64_t)sqlite3_changes(c->db);
    default:
        break;
    }
    bool one = q == QB_RANGE_COUNT || q == QB_RANGE_SCAN || q == QB_CROSS_AGG;
    uint64_t sum = one ? read_one(c, q, st, rows) : read_rows(c, q, st, rows);
    sqlite3_reset(st);
    return sum;
}

const qb_sys qb_sqlite = {
    .name = "sqlite-mem",
    .create = sq_create,
    .run = sq_run,
    .destroy = sq_destroy,
};
