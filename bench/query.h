/*
 * bench/query.h - what the parts of the query benchmark share (bench/query_bench.c): the
 * queries, the generated data both systems load, the parameters of each run, and the table
 * through which the driver runs a system.
 *
 * The data: A authors, then 10 * A books, each given to an author drawn at random, so an
 * author has 10 books on average and anywhere from none to twenty-odd. An author's name is
 * a first name, sometimes an initial, and a last name (10-30 bytes; names repeat now and
 * then, as real ones do); a book's title is words (20-60 bytes), its pages 50-1048 (most near
 * the middle), its price 1.99-99.99. Ids are 1, 2, 3, ... in that order in both systems.
 */
#ifndef RS_BENCH_QUERY_H
#define RS_BENCH_QUERY_H

#include <stddef.h>
#include <stdint.h>

/* The queries, in the order of the table. The last ones are references: the same question
 * put to SQLite without the index that answers it, to show what a scan costs there. */
enum {
    QB_FK_TOP,       /* books of one author with pages >= X, by -pages, limit 5 */
    QB_RANGE_COUNT,  /* count of books with pages in [X, Y] */
    QB_TOP_PRICE,    /* top 10 books by price */
    QB_CROSS_PREFIX, /* books whose author__name = N and title__startswith = P */
    QB_MANY_BOOKS,   /* authors with books__count__gte = K */
    QB_CROSS_AGG,    /* SUM(pages), AVG(price) of the books whose author__name = N */
    QB_UPDATE,       /* price = V on the books with pages in [X, Y]: 1% of the books */
    QB_RANGE_SCAN,   /* reference: QB_RANGE_COUNT, SQLite told not to use its index */
    QB_PRICE_SCAN,   /* reference: QB_TOP_PRICE, SQLite told not to use its index */
    QB_NQUERIES
};

/* Whether query Q is a reference (no target applies). */
#define QB_IS_REFERENCE(q) ((q) >= QB_RANGE_SCAN)

/* The query whose question reference Q asks (Q itself for the others): a reference is given
 * the same parameters. */
static inline int qb_base(int q)
{
    return q == QB_RANGE_SCAN ? QB_RANGE_COUNT : q == QB_PRICE_SCAN ? QB_TOP_PRICE : q;
}

typedef struct qb_book {
    const char *title; /* in the data's pool */
    int64_t pages;
    double price;
    uint64_t author; /* 1..A */
} qb_book;

typedef struct qb_data {
    long authors;
    size_t books;
    const char **names; /* names[id - 1], in the pool */
    qb_book *book;      /* book[id - 1] */
    char *pool;
    size_t used, cap;
} qb_data;

/* The values one run of a query is given; each query reads the ones it needs. */
typedef struct qb_param {
    uint64_t author;  /* QB_FK_TOP: the author's id */
    int64_t lo, hi;   /* QB_FK_TOP: pages >= lo; the ranges: [lo, hi]; QB_MANY_BOOKS: K */
    double price;     /* QB_UPDATE: the new price */
    const char *name; /* the cross-FK queries: an author's name, in the data's pool */
    char prefix[16];  /* QB_CROSS_PREFIX: a title's first word and a space */
    char glob[17];    /* the same with "*" after it, for SQLite's GLOB */
} qb_param;

/* qb_data_new() - the data at A authors, the same for a given SEED; NULL if out of memory. */
qb_data *qb_data_new(long authors, uint64_t seed);

/* qb_data_free() - free D; NULL is allowed. */
void qb_data_free(qb_data *d);

/* qb_params() - N parameter sets for runs of QUERY over D, drawn with SEED; the array is
 * the caller's (free()); NULL if out of memory. */
qb_param *qb_params(const qb_data *d, int query, size_t n, uint64_t seed);

/* A system that answers the queries. */
typedef struct qb_sys {
    const char *name; /* as printed: "relstore", "sqlite-mem" */
    /* A new system holding D, with every query prepared; NULL on error (said on stderr). */
    void *(*create)(const qb_data *d);
    /* Runs QUERY once with P, reading every result in full; returns a checksum of what it
     * read, which both systems must agree on, and adds the rows (for a count or an
     * aggregate: the objects counted) to *ROWS. Stops the program on an error. */
    uint64_t (*run)(void *ctx, int query, const qb_param *p, size_t *rows);
    void (*destroy)(void *ctx);
} qb_sys;

extern const qb_sys qb_relstore, qb_sqlite;

#endif
