/*
 * bench/query_relstore.c - the query benchmark on relstore, in memory (no file).
 *
 * Schema: Author(name CHAR(64), .index), Book(title CHAR(128), pages INT .ordered, price
 * FLOAT .ordered, author FK -> Author, related_name "books"): the indexes SQLite is given on
 * the same columns (a value index answers equality; an ordered index ranges, orders and
 * counts).
 *
 * Each query is built once, with STORE_V_PARAM for what changes between runs, and each run
 * binds the values: the intended use. A run reads every result through field handles, as a
 * hot loop should: the id, the title's length (strlen, so the bytes are touched), the pages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>
#include <string.h>

#include "bench/common.h"
#include "bench/query.h"

typedef struct qrel {
    store_schema *schema;
    store *db;
    store_model *Author, *Book;
    const store_fld *title, *pages, *price, *name;
    store_query *q[QB_NQUERIES]; /* the references reuse their query's */
} qrel;

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 64, .index = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 128},
    {.name = "pages", .type = STORE_INT, .ordered = true},
    {.name = "price", .type = STORE_FLOAT, .ordered = true},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books"},
    {0},
};

static volatile double fsink; /* keeps the float reads */

static void load(qrel *r, const qb_data *d)
{
    store_obj **authors = malloc((size_t)d->authors * sizeof *authors);
    if (!authors)
        bench_must(STORE_ENOMEM, r->db, "load");
    for (long a = 0; a < d->authors; a++)
        bench_must(store_create(r->db, r->Author,
                                (store_value[]){STORE_V_STR("name", d->names[a]), {0}},
                                &authors[a]),
                   r->db, "create Author");
    for (size_t b = 0; b < d->books; b++) {
        const qb_book *k = &d->book[b];
        store_value v[] = {STORE_V_STR("title", k->title),
                           STORE_V_INT("pages", k->pages),
                           STORE_V_FLOAT("price", k->price),
                           STORE_V_REF("author", authors[k->author - 1]),
                           {0}};
        bench_must(store_create(r->db, r->Book, v, NULL), r->db, "create Book");
    }
    free(authors);
}

/* A new query of MODEL with TERMS (NULL: none), ORDER (NULL: none) and LIMIT (0: none). */
static store_query *build(qrel *r, store_model *model, const store_value *terms,
                          const char *const *order, size_t limit)
{
    store_query *q;
    bench_must(store_query_new(r->db, model, &q), r->db, "store_query_new");
    int rc = terms ? store_query_filter(q, terms) : STORE_OK;
    if (!rc && order)
        rc = store_query_order_by(q, order);
    if (!rc && limit)
        rc = store_query_slice(q, 0, limit);
    bench_must(rc, r->db, "building a query");
    return q;
}

static void build_all(qrel *r)
{
    r->q[QB_FK_TOP] =
        build(r, r->Book,
              (store_value[]){STORE_V_PARAM("author", "a"), STORE_V_PARAM("pages__gte", "x"), {0}},
              (const char *[]){"-pages", "-id", NULL}, 5);
    r->q[QB_RANGE_COUNT] =
        build(r, r->Book, (store_value[]){STORE_V_PARAM("pages__range", "r"), {0}}, NULL, 0);
    r->q[QB_TOP_PRICE] = build(r, r->Book, NULL, (const char *[]){"-price", "-id", NULL}, 10);
    r->q[QB_CROSS_PREFIX] =
        build(r, r->Book,
              (store_value[]){
                  STORE_V_PARAM("author__name", "n"), STORE_V_PARAM("title__startswith", "p"), {0}},
              NULL, 0);
    r->q[QB_MANY_BOOKS] =
        build(r, r->Author, (store_value[]){STORE_V_PARAM("books__count__gte", "k"), {0}}, NULL, 0);
    r->q[QB_CROSS_AGG] =
        build(r, r->Book, (store_value[]){STORE_V_PARAM("author__name", "n"), {0}}, NULL, 0);
    r->q[QB_UPDATE] =
        build(r, r->Book, (store_value[]){STORE_V_PARAM("pages__range", "r"), {0}}, NULL, 0);
}

static void *rel_create(const qb_data *d)
{
    qrel *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    bench_must(store_schema_new(&r->schema), NULL, "store_schema_new");
    bench_must(store_schema_add(r->schema, "Author", author_fields), NULL, "schema Author");
    bench_must(store_schema_add(r->schema, "Book", book_fields), NULL, "schema Book");
    bench_must(store_open(&r->db, r->schema, NULL, NULL), NULL, "store_open");
    r->Author = store_model_find(r->db, "Author");
    r->Book = store_model_find(r->db, "Book");
    r->title = store_field_find(r->Book, "title");
    r->pages = store_field_find(r->Book, "pages");
    r->price = store_field_find(r->Book, "price");
    r->name = store_field_find(r->Author, "name");
    load(r, d);
    build_all(r);
    return r;
}

/* The rows of a find, in order: what a query ordered by pages or price returns. */
static uint64_t read_ordered(const qrel *r, const store_result *res)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < res->count; i++) {
        const store_obj *o = res->objs[i];
        uint64_t row = store_id(o) + strlen(store_field_str(o, r->title)) +
                       (uint64_t)store_field_int(o, r->pages) +
                       (uint64_t)llround(store_field_float(o, r->price) * 100);
        sum += (i + 1) * row;
    }
    return sum;
}

/* One find of query Q with BINDS; returns the checksum of the rows read (ORDERED: the place
 * of each row counts too). */
static uint64_t find(qrel *r, int q, const store_value *binds, bool ordered, size_t *rows)
{
    store_result res;
    bench_must(store_query_find(r->q[q], binds, &res), r->db, "store_query_find");
    *rows += res.count;
    uint64_t sum = 0;
    if (ordered) {
        sum = read_ordered(r, &res);
    } else if (q == QB_MANY_BOOKS) {
        for (size_t i = 0; i < res.count; i++)
            sum += store_id(res.objs[i]) + strlen(store_field_str(res.objs[i], r->name));
    } else {
        for (size_t i = 0; i < res.count; i++)
            sum += store_id(res.objs[i]) + strlen(store_field_str(res.objs[i], r->title));
    }
    store_result_free(&res);
    return sum;
}

static uint64_t fk_top(qrel *r, const qb_param *p, size_t *rows)
{
    store_obj *a;
    bench_must(store_get(r->db, r->Author, p->author, &a), r->db, "store_get");
    return find(r, QB_FK_TOP, (store_value[]){STORE_V_REF("a", a), STORE_V_INT("x", p->lo), {0}},
                true, rows);
}

static uint64_t range_count(qrel *r, const qb_param *p, size_t *rows)
{
    store_value range[] = {STORE_V_INT(NULL, p->lo), STORE_V_INT(NULL, p->hi), {0}};
    size_t n;
    bench_must(
        store_query_count(r->q[QB_RANGE_COUNT], (store_value[]){STORE_V_LIST("r", range), {0}}, &n),
        r->db, "store_query_count");
    *rows += n;
    return n;
}

static uint64_t cross_agg(qrel *r, const qb_param *p, size_t *rows)
{
    store_agg aggs[] = {{.op = STORE_AGG_SUM, .path = "pages"},
                        {.op = STORE_AGG_AVG, .path = "price"},
                        {.op = STORE_AGG_COUNT},
                        {0}};
    bench_must(store_query_aggregate(r->q[QB_CROSS_AGG],
                                     (store_value[]){STORE_V_STR("n", p->name), {0}}, aggs),
               r->db, "store_query_aggregate");
    int64_t count = aggs[2].out.u.i;
    *rows += (size_t)count;
    if (!count)
        return 0;
    fsink += aggs[1].out.u.f;
    return (uint64_t)aggs[0].out.u.i + (uint64_t)count * 1000003u;
}

/* An update by query: the books it changed are the rows. */
static uint64_t update(qrel *r, const qb_param *p, size_t *rows)
{
    store_value range[] = {STORE_V_INT(NULL, p->lo), STORE_V_INT(NULL, p->hi), {0}};
    size_t n;
    bench_must(store_query_update(r->q[QB_UPDATE], (store_value[]){STORE_V_LIST("r", range), {0}},
                                  (store_value[]){STORE_V_FLOAT("price", p->price), {0}}, &n),
               r->db, "store_query_update");
    *rows += n;
    return n;
}

static uint64_t rel_run(void *ctx, int query, const qb_param *p, size_t *rows)
{
    qrel *r = ctx;
    switch (qb_base(query)) { /* a reference is its query: relstore has no index to avoid */
    case QB_FK_TOP:
        return fk_top(r, p, rows);
    case QB_RANGE_COUNT:
        return range_count(r, p, rows);
    case QB_TOP_PRICE:
        return find(r, QB_TOP_PRICE, NULL, true, rows);
    case QB_CROSS_PREFIX:
        return find(r, QB_CROSS_PREFIX,
                    (store_value[]){STORE_V_STR("n", p->name), STORE_V_STR("p", p->prefix), {0}},
                    false, rows);
    case QB_MANY_BOOKS:
        return find(r, QB_MANY_BOOKS, (store_value[]){STORE_V_INT("k", p->lo), {0}}, false, rows);
    case QB_UPDATE:
        return update(r, p, rows);
    default:
        return cross_agg(r, p, rows);
    }
}

static void rel_destroy(void *ctx)
{
    qrel *r = ctx;
    for (int q = 0; q < QB_NQUERIES; q++)
        store_query_free(r->q[q]);
    store_close(r->db);
    store_schema_free(r->schema);
    free(r);
}

const qb_sys qb_relstore = {
    .name = "relstore",
    .create = rel_create,
    .run = rel_run,
    .destroy = rel_destroy,
};
