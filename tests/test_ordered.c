/*
 * tests/test_ordered.c - ordered indexes through the store: every planner use (ranges,
 * startswith, equality, isnull, order_by both ways with ties, offsets, counts, MIN / MAX)
 * answers exactly what the scan path answers, over random data and random queries, before
 * and after random changes in and out of transactions (rolled back or not, with savepoints),
 * after a reopen, and when .ordered is added to the fields of an existing file; each
 * allocation of a create, an update, a delete with SET_NULL children and a transaction failed
 * in turn changes nothing; store_check() verifies the trees (every entry against its
 * object's value) throughout.
 *
 * Two models hold the same objects under the same ids: Item, whose fields are .ordered, and
 * Twin, whose are not, so each query runs twice, once through the index and once by a scan.
 *
 *   Writer  name CHAR(30)
 *   Item    year INT .null, price FLOAT, title CHAR(60), body TEXT .null, flag BOOL,
 *           writer FK Writer .null SET_NULL "items", n INT (not ordered)
 *   Twin    the same, nothing ordered, writer's relation "twins"
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/check.h"
#include "tests/helpers.h"
#include "tests/xorshift.h"

static store *s;
static store_model *Writer, *Item, *Twin;
static store_obj *writers[12];
static uint64_t seed = 0x0dde5eed;
static char dir[64], path[128];

/* The next number of the test's generator. */
static uint64_t draw(void)
{
    return rnd(&seed);
}

static store_schema *ordered_schema(bool ordered)
{
    store_schema *sc;
    cr_assert_eq(store_schema_new(&sc), STORE_OK);
    int rc = store_schema_add(sc, "Writer", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30}, {0}});
    for (int twin = 0; twin < 2 && !rc; twin++) {
        bool o = ordered && !twin;
        rc = store_schema_add(sc, twin ? "Twin" : "Item", (store_field[]){
            {.name = "year", .type = STORE_INT, .null = true, .ordered = o},
            {.name = "price", .type = STORE_FLOAT, .ordered = o},
            {.name = "title", .type = STORE_CHAR, .max_length = 60, .ordered = o},
            {.name = "body", .type = STORE_TEXT, .null = true, .ordered = o},
            {.name = "flag", .type = STORE_BOOL, .ordered = o},
            {.name = "writer", .type = STORE_FK, .to = "Writer", .null = true,
             .on_delete = STORE_SET_NULL, .related_name = twin ? "twins" : "items",
             .ordered = o},
            {.name = "n", .type = STORE_INT},
            {0}});
    }
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(NULL));
    return sc;
}

/* WRITERS: the 12 live writers (a rollback may have taken back the ones made since). */
static void find_writers(void)
{
    size_t k = 0;
    for (uint64_t id = 1; k < 12 && id < store_model_next_id(Writer); id++)
        if (store_get(s, Writer, id, &writers[k]) == STORE_OK)
            k++;
    cr_assert_eq(k, 12);
}

static void find_models(void)
{
    Writer = store_model_find(s, "Writer");
    Item = store_model_find(s, "Item");
    Twin = store_model_find(s, "Twin");
    cr_assert(Writer && Item && Twin);
    find_writers();
}

static void open_memory(void)
{
    store_schema *sc = ordered_schema(true);
    cr_assert_eq(store_open(&s, sc, NULL, NULL), STORE_OK);
    store_schema_free(sc);
    for (int k = 0; k < 12; k++) {
        char name[16];
        snprintf(name, sizeof name, "writer %d", k);
        cr_assert_eq(store_create(s, store_model_find(s, "Writer"),
                                  (store_value[]){STORE_V_STR("name", name), {0}}, NULL),
                     STORE_OK);
    }
    find_models();
}

/* ---- Random values -------------------------------------------------------------------------- */

/* Strings that share their first 8 bytes often (the tie function's work), of 0 to 60 bytes. */
static void random_string(char *buf, size_t max)
{
    static const char *heads[] = {"The Great ", "The Grea", "The ", "A", "Zebra crossing at ",
                                  "\xc3\xa9t\xc3\xa9 ", "", "The Great Gatsby, again"};
    const char *h = heads[draw() % 8];
    size_t n = strlen(h), tail = draw() % 20;
    if (n > max)
        n = max;
    memcpy(buf, h, n);
    for (size_t i = 0; i < tail && n < max; i++)
        buf[n++] = (char)('a' + draw() % 3);
    buf[n] = 0;
}

static double random_price(void)
{
    static const double some[] = {-INFINITY, -10.5, -0.0, 0.0, 1.25, 3.5, 1e300, INFINITY};
    return draw() % 2 ? some[draw() % 8] : (double)(int64_t)(draw() % 2000 - 1000) / 8;
}

static int64_t random_year(void)
{
    switch (draw() % 50) {
    case 0:
        return INT64_MIN;
    case 1:
        return INT64_MAX;
    default:
        return 1900 + (int64_t)(draw() % 120);
    }
}

/* The values of a random object (every field), into V (8 entries); strings in BUFS. */
static void random_values(store_value *v, char bufs[2][64], bool all)
{
    size_t k = 0;
    if (all || draw() % 2)
        v[k++] = draw() % 8 ? (store_value)STORE_V_INT("year", random_year())
                           : (store_value)STORE_V_NULL("year");
    if (all || draw() % 2)
        v[k++] = (store_value)STORE_V_FLOAT("price", random_price());
    if (all || draw() % 2) {
        random_string(bufs[0], 60);
        v[k++] = (store_value)STORE_V_STR("title", bufs[0]);
    }
    if (all || draw() % 3 == 0) {
        random_string(bufs[1], 60);
        v[k++] = draw() % 5 ? (store_value)STORE_V_STR("body", bufs[1])
                           : (store_value)STORE_V_NULL("body");
    }
    if (all || draw() % 3 == 0)
        v[k++] = (store_value)STORE_V_BOOL("flag", draw() % 2);
    if (all || draw() % 3 == 0)
        v[k++] = draw() % 6 ? (store_value)STORE_V_REF("writer", writers[draw() % 12])
                           : (store_value)STORE_V_NULL("writer");
    if (all || draw() % 3 == 0)
        v[k++] = (store_value)STORE_V_INT("n", (int64_t)(draw() % 10));
    v[k] = (store_value){0};
}

/* Creates one object in both models, the same values under the same id. */
static void create_pair(void)
{
    store_value v[8];
    char bufs[2][64];
    random_values(v, bufs, true);
    store_obj *a, *b;
    cr_assert_eq(store_create(s, Item, v, &a), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_create(s, Twin, v, &b), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_id(a), store_id(b));
}

/* A live id of Item, or 0. */
static uint64_t some_id(void)
{
    uint64_t next = store_model_next_id(Item);
    for (int tries = 0; tries < 20 && next > 1; tries++) {
        uint64_t id = 1 + draw() % (next - 1);
        store_obj *o;
        if (store_get(s, Item, id, &o) == STORE_OK)
            return id;
    }
    return 0;
}

/* A random change to both models: an update, a delete, a create, or a writer's delete. */
static void change_pair(void)
{
    uint64_t id = some_id();
    store_obj *a, *b;
    int what = (int)(draw() % 10);
    if (what < 6 && id) {
        store_value v[8];
        char bufs[2][64];
        random_values(v, bufs, false);
        if (!v[0].name)
            return;
        cr_assert_eq(store_get(s, Item, id, &a), STORE_OK);
        cr_assert_eq(store_get(s, Twin, id, &b), STORE_OK);
        cr_assert_eq(store_update(s, a, v), STORE_OK, "%s", store_errmsg(s));
        cr_assert_eq(store_update(s, b, v), STORE_OK, "%s", store_errmsg(s));
    } else if (what < 8 && id) {
        cr_assert_eq(store_get(s, Item, id, &a), STORE_OK);
        cr_assert_eq(store_get(s, Twin, id, &b), STORE_OK);
        cr_assert_eq(store_delete(s, a), STORE_OK);
        cr_assert_eq(store_delete(s, b), STORE_OK);
    } else if (what == 9 && draw() % 8 == 0) {
        /* A writer goes: both models' pointers to it become null (SET_NULL), then it comes
         * back as a new writer in its place in the list. */
        size_t k = draw() % 12;
        cr_assert_eq(store_delete(s, writers[k]), STORE_OK);
        cr_assert_eq(store_create(s, Writer, (store_value[]){STORE_V_STR("name", "again"), {0}},
                                  &writers[k]),
                     STORE_OK);
    } else {
        create_pair();
    }
}

/* ---- Random queries -------------------------------------------------------------------------- */

static const char *fields[] = {"year", "price", "title", "body", "flag", "writer"};
static const char *looks[] = {"", "__gt", "__gte", "__lt", "__lte", "__range", "__startswith",
                              "__isnull", "__not_isnull"};

/* A random value for field F (0..5) as a query takes it; NULL sometimes. */
static store_value random_arg(int f, const char *name, char *buf, bool allow_null)
{
    if (allow_null && draw() % 12 == 0)
        return (store_value)STORE_V_NULL(name);
    switch (f) {
    case 0:
        return (store_value)STORE_V_INT(name, random_year());
    case 1:
        return draw() % 4 ? (store_value)STORE_V_FLOAT(name, random_price())
                         : (store_value)STORE_V_INT(name, (int64_t)(draw() % 10) - 5);
    case 2:
    case 3:
        random_string(buf, 12 + draw() % 20);
        return (store_value)STORE_V_STR(name, buf);
    case 4:
        return (store_value)STORE_V_BOOL(name, draw() % 2);
    default:
        return (store_value)STORE_V_REF(name, writers[draw() % 12]);
    }
}

typedef struct qspec {
    char names[3][48];
    store_value terms[4];
    store_value range[3][3];
    char bufs[6][64];
    const char *keys[3];
    char keybuf[2][24];
    size_t offset, limit;
    bool ordered_term;
} qspec;

/* Whether lookup L (an index into looks) fits field F (0..5) as the query layer takes it. */
static bool fits(int f, int l)
{
    if (f == 4 || f == 5) /* BOOL, FK: equal and the null tests */
        return l == 0 || l == 7 || l == 8;
    if (l == 6)
        return f == 2 || f == 3;
    return true;
}

static void random_query(qspec *q)
{
    memset(q, 0, sizeof *q);
    size_t nt = 0;
    int f = (int)(draw() % 6);
    int nterms = (int)(draw() % 3);
    for (int k = 0; k < nterms; k++) {
        int l;
        do
            l = (int)(draw() % 9);
        while (!fits(f, l));
        snprintf(q->names[k], sizeof q->names[k], "%s%s", fields[f], looks[l]);
        if (l == 5) {
            q->range[k][0] = random_arg(f, NULL, q->bufs[2 * k], false);
            q->range[k][1] = random_arg(f, NULL, q->bufs[2 * k + 1], false);
            q->terms[nt++] = (store_value)STORE_V_LIST(q->names[k], q->range[k]);
        } else if (l >= 7) {
            q->terms[nt++] = (store_value)STORE_V_BOOL(q->names[k], draw() % 2);
        } else {
            q->terms[nt++] = random_arg(f, q->names[k], q->bufs[2 * k], l == 0);
            if (l == 6 && q->terms[nt - 1].kind != STORE_KIND_STR)
                nt--;
        }
        q->ordered_term = true;
    }
    if (draw() % 3 == 0) {
        snprintf(q->names[2], sizeof q->names[2], "n__lt");
        q->terms[nt++] = (store_value)STORE_V_INT(q->names[2], (int64_t)(draw() % 10));
    }
    q->terms[nt] = (store_value){0};
    int order = (int)(draw() % 4);
    if (order) {
        int kf = draw() % 3 ? f : (int)(draw() % 6);
        snprintf(q->keybuf[0], sizeof q->keybuf[0], "%s%s", draw() % 2 ? "-" : "", fields[kf]);
        q->keys[0] = q->keybuf[0];
        if (order == 3) {
            static const char *second[] = {"id", "-id", "-n"};
            q->keys[1] = second[draw() % 3];
        }
    }
    if (draw() % 2) {
        q->offset = draw() % 3 ? 0 : draw() % 200;
        q->limit = draw() % 40;
    }
}

static store_query *build(store_model *m, const qspec *spec)
{
    store_query *q;
    cr_assert_eq(store_query_new(s, m, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, spec->terms), STORE_OK, "%s: %s", spec->terms[0].name,
                 store_errmsg(s));
    if (spec->keys[0])
        cr_assert_eq(store_query_order_by(q, spec->keys), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_query_slice(q, spec->offset, spec->limit), STORE_OK);
    return q;
}

static bool collect_id(store_obj *o, void *arg)
{
    uint64_t **at = arg;
    *(*at)++ = store_id(o);
    return true;
}

static size_t used_index, queries_run;

/* The query SPEC gives the same answers on Item (through its indexes) and Twin (by a scan). */
static void same_answers(const qspec *spec)
{
    store_query *qi = build(Item, spec), *qt = build(Twin, spec);
    char how[256];
    cr_assert_eq(store_query_explain(qi, NULL, how, sizeof how), STORE_OK);
    used_index += strstr(how, "ordered index") != NULL;
    queries_run++;
    store_result ri, rt;
    cr_assert_eq(store_query_find(qi, NULL, &ri), STORE_OK);
    cr_assert_eq(store_query_find(qt, NULL, &rt), STORE_OK);
    cr_assert_eq(ri.count, rt.count, "%s %s: %zu found, %zu by the scan (%s)",
                 spec->terms[0].name ? spec->terms[0].name : "-", spec->keys[0] ? spec->keys[0] : "-",
                 ri.count, rt.count, how);
    for (size_t k = 0; k < ri.count; k++)
        cr_assert_eq(store_id(ri.objs[k]), store_id(rt.objs[k]),
                     "%s order %s, offset %zu limit %zu: result %zu is %" PRIu64 ", the scan "
                     "says %" PRIu64 " (%s)",
                     spec->terms[0].name ? spec->terms[0].name : "-",
                     spec->keys[0] ? spec->keys[0] : "-", spec->offset, spec->limit, k,
                     store_id(ri.objs[k]), store_id(rt.objs[k]), how);
    /* The same through visit, count, exists, first. */
    uint64_t *ids = malloc((ri.count + 1) * sizeof *ids), *at = ids;
    cr_assert_eq(store_query_visit(qi, NULL, collect_id, &at), STORE_OK);
    cr_assert_eq((size_t)(at - ids), ri.count);
    for (size_t k = 0; k < ri.count; k++)
        cr_assert_eq(ids[k], store_id(ri.objs[k]));
    free(ids);
    size_t ci, ct;
    cr_assert_eq(store_query_count(qi, NULL, &ci), STORE_OK);
    cr_assert_eq(store_query_count(qt, NULL, &ct), STORE_OK);
    cr_assert_eq(ci, ct, "count %zu, the scan %zu (%s)", ci, ct, how);
    cr_assert_eq(ci, ri.count);
    bool ei, et;
    cr_assert_eq(store_query_exists(qi, NULL, &ei), STORE_OK);
    cr_assert_eq(store_query_exists(qt, NULL, &et), STORE_OK);
    cr_assert_eq(ei, et);
    /* MIN and MAX of each orderable field, and COUNT. */
    static const char *agg_paths[] = {"year", "price", "title", "body", "flag"};
    const char *p = agg_paths[draw() % 5];
    store_agg ai[] = {{.op = STORE_AGG_MIN, .path = p}, {.op = STORE_AGG_MAX, .path = p},
                      {.op = STORE_AGG_COUNT}, {0}};
    store_agg at2[] = {{.op = STORE_AGG_MIN, .path = p}, {.op = STORE_AGG_MAX, .path = p},
                       {.op = STORE_AGG_COUNT}, {0}};
    cr_assert_eq(store_query_aggregate(qi, NULL, ai), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_query_aggregate(qt, NULL, at2), STORE_OK);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(ai[k].n, at2[k].n, "aggregate %d of %s: n %zu, the scan %zu", k, p,
                     ai[k].n, at2[k].n);
        cr_assert_eq(ai[k].out.kind, at2[k].out.kind);
        switch (ai[k].out.kind) {
        case STORE_KIND_STR:
            cr_assert_str_eq(ai[k].out.u.s, at2[k].out.u.s);
            break;
        case STORE_KIND_FLOAT:
            cr_assert(ai[k].out.u.f == at2[k].out.u.f, "%s: %g, the scan %g", p,
                      ai[k].out.u.f, at2[k].out.u.f);
            break;
        case STORE_KIND_BOOL:
            cr_assert_eq(ai[k].out.u.b, at2[k].out.u.b);
            break;
        case STORE_KIND_INT:
            cr_assert_eq(ai[k].out.u.i, at2[k].out.u.i);
            break;
        default:
            break;
        }
    }
    store_result_free(&ri);
    store_result_free(&rt);
    store_query_free(qi);
    store_query_free(qt);
}

static void many_queries(int n)
{
    for (int k = 0; k < n; k++) {
        qspec spec;
        random_query(&spec);
        same_answers(&spec);
    }
}

/* Deletes the writers TERMS match (N of them) in one call: first inside a transaction rolled
 * back, then for good; the indexes are checked after each. */
static void delete_writers(const store_value *terms, size_t n)
{
    for (int inside = 1; inside >= 0; inside--) {
        store_txn *t = NULL;
        if (inside)
            cr_assert_eq(store_begin(s, 0, &t), STORE_OK);
        store_query *q;
        size_t got;
        cr_assert_eq(store_query_new(s, Writer, &q), STORE_OK);
        cr_assert_eq(store_query_filter(q, terms), STORE_OK);
        cr_assert_eq(store_query_delete(q, NULL, &got), STORE_OK, "%s", store_errmsg(s));
        cr_assert_eq(got, n);
        store_query_free(q);
        check_invariants(s);
        if (inside) {
            cr_assert_eq(store_rollback(t), STORE_OK);
            check_invariants(s);
            find_writers();
        }
    }
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void teardown(void)
{
    if (s)
        store_close(s);
    s = NULL;
    if (dir[0])
        test_dir_remove(dir);
    dir[0] = 0;
}

TestSuite(ordered, .fini = teardown, .timeout = 300);

Test(ordered, random_queries_answer_what_a_scan_answers)
{
    open_memory();
    for (int k = 0; k < 3000; k++)
        create_pair();
    check_invariants(s);
    used_index = queries_run = 0;
    many_queries(3000);
    cr_assert_gt(used_index, queries_run / 3, "only %zu of %zu queries used an ordered index",
                 used_index, queries_run);
    /* Every writer at once, in one delete: each one's items become null (SET_NULL), so the
     * index of Item.writer takes the nulls of many parents in one change. */
    delete_writers((store_value[]){{0}}, 12);
    for (int k = 0; k < 12; k++)
        cr_assert_eq(store_create(s, Writer, (store_value[]){STORE_V_STR("name", "w"), {0}},
                                  &writers[k]),
                     STORE_OK);
    many_queries(300);
}

Test(ordered, random_changes_in_and_out_of_transactions_keep_the_indexes)
{
    open_memory();
    for (int k = 0; k < 1500; k++)
        create_pair();
    for (int round = 0; round < 40; round++) {
        int kind = (int)(draw() % 4);
        store_txn *t = NULL, *sp = NULL;
        if (kind)
            cr_assert_eq(store_begin(s, 0, &t), STORE_OK);
        for (int k = 0; k < 150; k++) {
            if (kind == 3 && k == 75)
                cr_assert_eq(store_begin(s, 0, &sp), STORE_OK);
            change_pair();
        }
        if (sp) {
            if (draw() % 2)
                cr_assert_eq(store_rollback(sp), STORE_OK);
            else
                cr_assert_eq(store_commit(sp), STORE_OK);
            find_writers();
            check_invariants(s);
        }
        if (t) {
            if (kind == 1)
                cr_assert_eq(store_rollback(t), STORE_OK);
            else
                cr_assert_eq(store_commit(t), STORE_OK);
            find_writers();
        }
        check_invariants(s);
        many_queries(40);
    }
}

Test(ordered, a_rollback_puts_every_index_back_as_it_was)
{
    open_memory();
    for (int k = 0; k < 2000; k++)
        create_pair();
    char *copy;
    cr_assert_eq(rs_dump_store(s, &copy), STORE_OK);
    store_txn *t;
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK);
    for (int k = 0; k < 3000; k++)
        change_pair();
    cr_assert_eq(store_rollback(t), STORE_OK);
    check_invariants(s);
    cr_assert(same_store(s, copy));
    find_writers();
    free(copy);
    many_queries(300);
}

Test(ordered, a_reopened_file_builds_its_indexes_and_an_old_file_gains_them)
{
    test_dir_new(dir, path, "ordered");
    /* A file written without .ordered ... */
    store_schema *plain = ordered_schema(false);
    cr_assert_eq(store_open(&s, plain, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    for (int k = 0; k < 12; k++)
        cr_assert_eq(store_create(s, store_model_find(s, "Writer"),
                                  (store_value[]){STORE_V_STR("name", "w"), {0}}, NULL),
                     STORE_OK);
    find_models();
    for (int k = 0; k < 2000; k++)
        create_pair();
    cr_assert_eq(store_snapshot(s), STORE_OK);
    cr_assert_eq(store_close(s), STORE_OK);
    /* ... opened with it: the indexes are built on open, the file unchanged. */
    store_schema *sc = ordered_schema(true);
    cr_assert_eq(store_open(&s, sc, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    find_models();
    check_invariants(s);
    used_index = queries_run = 0;
    many_queries(500);
    cr_assert_gt(used_index, 0);
    for (int k = 0; k < 500; k++)
        change_pair();
    cr_assert_eq(store_snapshot(s), STORE_OK);
    cr_assert_eq(store_close(s), STORE_OK);
    /* Reopened: built again from the file, in bulk. */
    cr_assert_eq(store_open(&s, sc, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    find_models();
    check_invariants(s);
    many_queries(500);
    /* Opened without a schema: the file's catalog says which fields are ordered. */
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_eq(store_open(&s, NULL, path, &(store_options){.flags = STORE_OPEN_READONLY}),
                 STORE_OK, "%s", store_errmsg(NULL));
    find_models();
    cr_assert(store_field_ordered(store_field_find(Item, "year")));
    cr_assert(store_field_ordered(store_field_find(Item, "writer")));
    cr_assert_not(store_field_ordered(store_field_find(Item, "n")));
    cr_assert_not(store_field_ordered(store_field_find(Twin, "year")));
    check_invariants(s);
    many_queries(100);
    /* Reopened with the plain schema again: .ordered is an index, not data. */
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_eq(store_open(&s, plain, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    find_models();
    check_invariants(s);
    store_schema_free(plain);
    store_schema_free(sc);
}

/* What a query's plan says. */
static void explains(store_model *m, const store_value *terms, const char *const *keys,
                     size_t offset, size_t limit, const char *want)
{
    store_query *q;
    cr_assert_eq(store_query_new(s, m, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, terms), STORE_OK);
    if (keys)
        cr_assert_eq(store_query_order_by(q, keys), STORE_OK);
    cr_assert_eq(store_query_slice(q, offset, limit), STORE_OK);
    char how[256];
    cr_assert_eq(store_query_explain(q, NULL, how, sizeof how), STORE_OK);
    cr_assert(strstr(how, want), "explain says \"%s\", not \"%s\"", how, want);
    store_query_free(q);
}

Test(ordered, the_planner_uses_the_index_where_it_should)
{
    open_memory();
    for (int k = 0; k < 5000; k++)
        create_pair();
    explains(Item, (store_value[]){STORE_V_INT("year__gte", 1990), STORE_V_INT("year__lt", 1995),
                                   {0}},
             NULL, 0, 0, "0 conditions to check");
    explains(Item, (store_value[]){STORE_V_INT("year__gte", 1990), {0}}, NULL, 0, 0,
             "ordered index Item.year");
    explains(Item, (store_value[]){STORE_V_STR("title__startswith", "The Grea"), {0}}, NULL, 0, 0,
             "ordered index Item.title");
    explains(Item, (store_value[]){STORE_V_FLOAT("price", 3.5), {0}}, NULL, 0, 0,
             "ordered index Item.price");
    explains(Item, (store_value[]){{0}}, (const char *[]){"-title", NULL}, 0, 20,
             "from the end");
    explains(Item, (store_value[]){{0}}, (const char *[]){"price", NULL}, 100, 20,
             "in index order");
    explains(Item, (store_value[]){STORE_V_INT("n", 3), {0}}, (const char *[]){"year", NULL}, 0,
             10, "in index order");
    explains(Twin, (store_value[]){STORE_V_INT("year__gte", 1990), {0}}, NULL, 0, 0, "scan Twin");
}

Test(ordered, long_runs_of_one_value_backwards_and_deep_offsets)
{
    open_memory();
    /* 3000 objects over 3 values of year: runs of about 1000, ties in id order. */
    for (int k = 0; k < 3000; k++) {
        char t[64];
        random_string(t, 60);
        store_value v[] = {STORE_V_INT("year", 2000 + k % 3), STORE_V_FLOAT("price", 1),
                           STORE_V_STR("title", t), STORE_V_BOOL("flag", k % 2),
                           STORE_V_INT("n", k % 10), {0}};
        cr_assert_eq(store_create(s, Item, v, NULL), STORE_OK);
        cr_assert_eq(store_create(s, Twin, v, NULL), STORE_OK);
    }
    size_t offsets[] = {0, 1, 999, 1000, 1001, 1500, 2999, 3000, 5000};
    const char *orders[] = {"-year", "year", "-flag", "-price", "-title"};
    for (size_t o = 0; o < 2 * sizeof orders / sizeof *orders; o++)
        for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++) {
            qspec spec = {.offset = offsets[k], .limit = k % 2 ? 7 : 0};
            spec.keys[0] = orders[o % 5];
            spec.keys[1] = o < 5 ? NULL : "-id";
            same_answers(&spec);
            spec.terms[0] = (store_value)STORE_V_INT("year__gte", 2001);
            same_answers(&spec);
        }
}

Test(ordered, one_delete_nulls_the_children_of_many_parents)
{
    open_memory();
    for (int k = 0; k < 500; k++)
        create_pair();
    /* 6,000 writers of one item each, every other one deleted in one call: each of their
     * items' writer becomes null, 3,000 new entries in Item.writer's index from 3,000
     * parents, while the entries that leave do not empty a leaf (they alternate). */
    for (int k = 0; k < 6000; k++) {
        store_obj *w;
        cr_assert_eq(store_create(s, Writer,
                                  (store_value[]){STORE_V_STR("name", k % 2 ? "x" : "y"), {0}},
                                  &w),
                     STORE_OK);
        store_value v[] = {STORE_V_INT("year", k), STORE_V_FLOAT("price", 1),
                           STORE_V_STR("title", "t"), STORE_V_BOOL("flag", false),
                           STORE_V_REF("writer", w), STORE_V_INT("n", 1), {0}};
        cr_assert_eq(store_create(s, Item, v, NULL), STORE_OK);
        cr_assert_eq(store_create(s, Twin, v, NULL), STORE_OK);
    }
    delete_writers((store_value[]){STORE_V_STR("name", "x"), {0}}, 3000);
    many_queries(200);
}

Test(ordered, min_and_max_read_the_value_a_scan_reads)
{
    open_memory();
    /* -0 and +0 are one value, not one double: both report the first holder's. */
    const double prices[] = {-1, -0.0, 0.0, -0.0, -2};
    for (size_t k = 0; k < 5; k++) {
        store_value v[] = {STORE_V_INT("year", 1), STORE_V_FLOAT("price", prices[k]),
                           STORE_V_STR("title", "t"), STORE_V_BOOL("flag", false),
                           STORE_V_INT("n", 1), {0}};
        cr_assert_eq(store_create(s, Item, v, NULL), STORE_OK);
        cr_assert_eq(store_create(s, Twin, v, NULL), STORE_OK);
    }
    for (int m = 0; m < 2; m++) {
        store_query *q;
        cr_assert_eq(store_query_new(s, m ? Twin : Item, &q), STORE_OK);
        store_agg a[] = {{.op = STORE_AGG_MAX, .path = "price"},
                         {.op = STORE_AGG_MIN, .path = "price"}, {0}};
        cr_assert_eq(store_query_aggregate(q, NULL, a), STORE_OK);
        cr_assert(a[0].out.u.f == 0 && signbit(a[0].out.u.f), "%s: MAX is %g, not -0",
                  m ? "scan" : "index", a[0].out.u.f);
        cr_assert_eq(a[1].out.u.f, -2);
        store_query_free(q);
    }
}

/* ---- Allocation failures ------------------------------------------------------------------- */

/* Runs FN with each allocation failing in turn until it succeeds: every failure leaves the
 * store as it was, and store_check() passes. */
static void each_failure(int (*fn)(void *), void *arg)
{
    for (long n = 0;; n++) {
        char *before;
        cr_assert_eq(rs_dump_store(s, &before), STORE_OK);
        fail_alloc_at(n);
        int rc = fn(arg);
        fail_alloc_at(-1);
        check_invariants(s);
        if (rc == STORE_OK) {
            free(before);
            return;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s", n, store_errmsg(s));
        cr_assert(same_store(s, before), "allocation %ld failed and the store changed", n);
        free(before);
    }
}

static int do_create(void *arg)
{
    (void)arg;
    store_value v[8];
    char bufs[2][64];
    uint64_t keep = seed;
    random_values(v, bufs, true);
    seed = keep; /* the same values at each try */
    return store_create(s, Item, v, NULL);
}

static int do_update(void *arg)
{
    store_obj *o = arg;
    uint64_t keep = seed;
    store_value v[8];
    char bufs[2][64];
    random_values(v, bufs, true);
    seed = keep;
    return store_update(s, o, v);
}

static int do_delete_writer(void *arg)
{
    return store_delete(s, arg);
}

static int do_txn(void *arg)
{
    (void)arg;
    store_txn *t;
    int rc = store_begin(s, 0, &t);
    if (rc)
        return rc;
    uint64_t keep = seed;
    for (int k = 0; k < 30 && !rc; k++) {
        store_value v[8];
        char bufs[2][64];
        random_values(v, bufs, true);
        rc = store_create(s, Item, v, NULL);
    }
    seed = keep;
    if (rc) {
        store_rollback(t);
        return rc;
    }
    return store_commit(t);
}

Test(ordered, each_allocation_failed_in_turn_changes_nothing)
{
    open_memory();
    for (int k = 0; k < 600; k++)
        create_pair();
    for (int k = 0; k < 20; k++)
        each_failure(do_create, NULL);
    for (int k = 0; k < 20; k++) {
        store_obj *o;
        cr_assert_eq(store_get(s, Item, some_id(), &o), STORE_OK);
        each_failure(do_update, o);
    }
    each_failure(do_delete_writer, writers[3]);
    cr_assert_eq(store_create(s, Writer, (store_value[]){STORE_V_STR("name", "new"), {0}},
                              &writers[3]),
                 STORE_OK);
    each_failure(do_txn, NULL);
}
