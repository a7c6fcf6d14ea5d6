/*
 * tests/test_query.c - queries: every lookup on the types it fits, the null rules, paths
 * through foreign keys and reverse relations, OR / AND / NOT groups, order with its ties and
 * nulls, slices, each kind of run, aggregates, parameters, and the sticky building errors;
 * changes by query on a file, and the same answers after a reopen.
 *
 * The data (ids in creation order):
 *   Author 1 Ann   age 30   email ann@x  rating 4.5  active
 *   Author 2 Bob   age null email null   rating 0.5  active
 *   Author 3 cara  age 25   email c@x    rating 2.0  active
 *   Author 4 Dan   age 40   email null   rating 4.5  not active
 *   Book 1 "The Hobbit"    Ann  300 pages  isbn 111
 *   Book 2 "Silmarillion"  Ann  400 pages
 *   Book 3 "the end"       Bob   10 pages  isbn 333
 *   Book 4 "Zebra"         Dan  300 pages  editor Ann
 */
#include <stdio.h>
#include <string.h>

#include "store/lock.h"
#include "store/model.h"
#include "tests/helpers.h"

static void data_setup(void)
{
    library_setup();
    struct {
        const char *name, *email;
        int64_t age;
        double rating;
        bool active;
    } a[] = {{"Ann", "ann@x", 30, 4.5, true},
             {"Bob", NULL, -1, 0.5, true},
             {"cara", "c@x", 25, 2.0, true},
             {"Dan", NULL, 40, 4.5, false}};
    store_obj *au[4];
    for (int i = 0; i < 4; i++) {
        store_value v[] = {STORE_V_STR("name", a[i].name),
                           a[i].email ? (store_value)STORE_V_STR("email", a[i].email)
                                      : (store_value)STORE_V_NULL("email"),
                           a[i].age < 0 ? (store_value)STORE_V_NULL("age")
                                        : (store_value)STORE_V_INT("age", a[i].age),
                           STORE_V_FLOAT("rating", a[i].rating),
                           STORE_V_BOOL("active", a[i].active),
                           {0}};
        cr_assert_eq(store_create(db, Author, v, &au[i]), STORE_OK, "%s", store_errmsg(db));
    }
    struct {
        const char *title, *isbn;
        int author, editor;
        int64_t pages;
    } b[] = {{"The Hobbit", "111", 0, -1, 300},
             {"Silmarillion", NULL, 0, -1, 400},
             {"the end", "333", 1, -1, 10},
             {"Zebra", NULL, 3, 0, 300}};
    for (int i = 0; i < 4; i++) {
        store_value v[] = {STORE_V_STR("title", b[i].title),
                           STORE_V_REF("author", au[b[i].author]),
                           STORE_V_REF("editor", b[i].editor < 0 ? NULL : au[b[i].editor]),
                           STORE_V_INT("pages", b[i].pages),
                           STORE_V_STR("isbn", b[i].isbn),
                           {0}};
        cr_assert_eq(store_create(db, Book, v, NULL), STORE_OK, "%s", store_errmsg(db));
    }
}

TestSuite(query, .init = data_setup, .fini = library_teardown);

static store_obj *author(uint64_t id)
{
    store_obj *o;
    cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
    return o;
}

/* The ids Q finds with BINDS, as "1,2,3" ("" for none; "ERR n" for a failed run). */
static const char *found(const store_query *q, const store_value *binds)
{
    static char buf[256];
    store_result r;
    int rc = store_query_find(q, binds, &r);
    if (rc) {
        snprintf(buf, sizeof buf, "ERR %d", rc);
        return buf;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < r.count; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", k ? "," : "",
                              (unsigned long long)store_id(r.objs[k]));
    store_result_free(&r);
    return buf;
}

/* The ids of MODEL's objects meeting TERMS (filter), in id order. */
static const char *where(store_model *m, const store_value *terms)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, m, &q), STORE_OK);
    int rc = store_query_filter(q, terms);
    static char buf[256];
    if (rc)
        snprintf(buf, sizeof buf, "ERR %d", rc);
    else
        snprintf(buf, sizeof buf, "%s", found(q, NULL));
    store_query_free(q);
    return buf;
}

#define WHERE(m, ...) where((m), (store_value[]){__VA_ARGS__, {0}})
#define LIST(...) ((store_value[]){__VA_ARGS__, {0}})

/* ---- Lookups ------------------------------------------------------------------------------- */

Test(query, no_condition_finds_every_object_in_id_order)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_str_eq(found(q, NULL), "1,2,3,4");
    store_query_free(q);
}

Test(query, equality_on_each_type)
{
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("name", "Bob")), "2");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("age", 30)), "1");
    cr_assert_str_eq(WHERE(Author, STORE_V_FLOAT("rating", 4.5)), "1,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("rating", 2)), "3"); /* an INT for a FLOAT */
    cr_assert_str_eq(WHERE(Author, STORE_V_BOOL("active", false)), "4");
    cr_assert_str_eq(WHERE(Book, STORE_V_REF("author", author(1))), "1,2");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("id", 3)), "3");
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("email", "c@x")), "3"); /* .unique */
}

Test(query, ordering_lookups_on_numbers_and_strings)
{
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("pages__gt", 300)), "2");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("pages__gte", 300)), "1,2,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("pages__lt", 300)), "3");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("pages__lte", 300)), "1,3,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_FLOAT("rating__lt", 2.5)), "2,3");
    cr_assert_str_eq(WHERE(Book, STORE_V_LIST("pages__range", LIST(STORE_V_INT(NULL, 10),
                                                                   STORE_V_INT(NULL, 300)))),
                     "1,3,4");
    /* Bytes: 'Z' < 'a' < 't' */
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__gt", "Zebra")), "3");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("id__gte", 3)), "3,4");
}

Test(query, in_and_not_in_with_repeats_and_empty_lists)
{
    cr_assert_str_eq(WHERE(Author, STORE_V_LIST("name__in", LIST(STORE_V_STR(NULL, "Dan"),
                                                                 STORE_V_STR(NULL, "Ann"),
                                                                 STORE_V_STR(NULL, "Dan")))),
                     "1,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_LIST("id__in", LIST(STORE_V_INT(NULL, 4),
                                                             STORE_V_INT(NULL, 2),
                                                             STORE_V_INT(NULL, 99)))),
                     "2,4");
    store_value none[] = {{0}};
    cr_assert_str_eq(WHERE(Book, STORE_V_LIST("id__in", none)), "");
    cr_assert_str_eq(WHERE(Book, STORE_V_LIST("id__not_in", none)), "1,2,3,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_LIST("age__not_in", LIST(STORE_V_INT(NULL, 30)))),
                     "2,3,4"); /* not_in matches the null age */
    cr_assert_str_eq(WHERE(Book, STORE_V_LIST("author__in", LIST(STORE_V_REF(NULL, author(2)),
                                                                 STORE_V_REF(NULL, author(4))))),
                     "3,4");
}

Test(query, string_lookups_and_their_case_folding)
{
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__startswith", "The")), "1");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__istartswith", "the")), "1,3");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__endswith", "end")), "3");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__iendswith", "BIT")), "1");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__contains", "e")), "1,3,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__icontains", "E")), "1,3,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__contains", "E")), "");
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("name__iexact", "CARA")), "3");
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("name", "CARA")), "");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title__contains", "")), "1,2,3,4");
}

/* ---- Nulls --------------------------------------------------------------------------------- */

Test(query, null_rules)
{
    cr_assert_str_eq(WHERE(Author, STORE_V_NULL("age")), "2");
    cr_assert_str_eq(WHERE(Author, STORE_V_NULL("age__not")), "1,3,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_BOOL("age__isnull", true)), "2");
    cr_assert_str_eq(WHERE(Author, STORE_V_BOOL("age__isnull", false)), "1,3,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_BOOL("email__not_isnull", true)), "1,3");
    /* Comparisons with a null are false, except not */
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("age__lt", 100)), "1,3,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("age__not", 30)), "2,3,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_NULL("editor")), "1,2,3");
    cr_assert_str_eq(WHERE(Book, STORE_V_REF("editor", NULL)), "1,2,3");
}

Test(query, exclude_is_two_valued)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_exclude(q, (store_value[]){STORE_V_INT("age", 30), {0}}), STORE_OK);
    cr_assert_str_eq(found(q, NULL), "2,3,4"); /* Bob's null age stays */
    store_query_free(q);
}

/* ---- Paths --------------------------------------------------------------------------------- */

Test(query, paths_through_foreign_keys)
{
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("author__name", "Ann")), "1,2");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__id", 4)), "4");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__age__gte", 30)), "1,2,4");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("editor__name", "Ann")), "4");
    /* Through a null foreign key the value is null */
    cr_assert_str_eq(WHERE(Book, STORE_V_NULL("editor__name")), "1,2,3");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("editor__name__not", "Ann")), "1,2,3");
    cr_assert_str_eq(WHERE(Book, STORE_V_BOOL("author__age__isnull", true)), "3");
}

Test(query, reverse_relations_mean_some_child_matches)
{
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("books__pages", 300)), "1,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("books__title__startswith", "S")), "1");
    /* some book not called "Zebra": cara has no book, Dan only Zebra */
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("books__title__not", "Zebra")), "1,2");
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("edited__title", "Zebra")), "1");
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("author__books__title", "Silmarillion")), "1,2");

    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_exclude(q, (store_value[]){STORE_V_INT("books__pages", 300), {0}}),
                 STORE_OK);
    cr_assert_str_eq(found(q, NULL), "2,3"); /* no book of 300 pages */
    store_query_free(q);
}

Test(query, relation_counts)
{
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("books__count", 0)), "3");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("books__count__gte", 1)), "1,2,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("books__count__gt", 1)), "1");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__books__count", 2)), "1,2");
}

/* ---- Groups -------------------------------------------------------------------------------- */

Test(query, or_and_not_groups)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    store_cond a = store_cond_terms(q, (store_value[]){STORE_V_STR("name", "Bob"), {0}});
    store_cond b = store_cond_terms(q, (store_value[]){STORE_V_INT("age__gte", 30),
                                                       STORE_V_BOOL("active", true), {0}});
    store_cond any = store_cond_any(q, (store_cond[]){a, b}, 2);
    cr_assert_gt(any, 0);
    cr_assert_eq(store_query_where(q, any), STORE_OK);
    cr_assert_str_eq(found(q, NULL), "1,2");
    store_query_free(q);

    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    a = store_cond_terms(q, (store_value[]){STORE_V_STR("name", "Bob"), {0}});
    cr_assert_eq(store_query_where(q, store_cond_not(q, a)), STORE_OK);
    cr_assert_str_eq(found(q, NULL), "1,3,4");
    store_query_free(q);

    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_where(q, store_cond_any(q, NULL, 0)), STORE_OK); /* false */
    cr_assert_str_eq(found(q, NULL), "");
    store_query_free(q);
}

/* ---- Order and slices ---------------------------------------------------------------------- */

static const char *ordered(store_model *m, const char *const *keys, size_t offset, size_t limit)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, m, &q), STORE_OK);
    cr_assert_eq(store_query_order_by(q, keys), STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(store_query_slice(q, offset, limit), STORE_OK);
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", found(q, NULL));
    store_query_free(q);
    return buf;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(query, order_ties_by_id_and_nulls_first_ascending)
{
    cr_assert_str_eq(ordered(Book, KEYS("pages"), 0, 0), "3,1,4,2");
    cr_assert_str_eq(ordered(Book, KEYS("-pages"), 0, 0), "2,1,4,3"); /* tie 1,4 by id */
    cr_assert_str_eq(ordered(Author, KEYS("age"), 0, 0), "2,3,1,4");   /* null first */
    cr_assert_str_eq(ordered(Author, KEYS("-age"), 0, 0), "4,1,3,2");  /* null last */
    cr_assert_str_eq(ordered(Book, KEYS("author__name", "-pages"), 0, 0), "2,1,3,4");
    cr_assert_str_eq(ordered(Author, KEYS("-books__count", "name"), 0, 0), "1,2,4,3");
    cr_assert_str_eq(ordered(Book, KEYS("-id"), 0, 0), "4,3,2,1");
    cr_assert_str_eq(ordered(Author, KEYS("-rating", "-id"), 0, 0), "4,1,3,2");
}

Test(query, slices_after_the_order)
{
    cr_assert_str_eq(ordered(Book, KEYS("pages"), 1, 2), "1,4");
    cr_assert_str_eq(ordered(Book, KEYS("pages"), 3, 0), "2");
    cr_assert_str_eq(ordered(Book, KEYS("pages"), 9, 2), "");
    cr_assert_str_eq(ordered(Book, KEYS("id"), 1, 1), "2");
}

Test(query, an_order_through_a_reverse_relation_is_refused)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_order_by(q, KEYS("books__pages")), STORE_EINVAL);
    cr_assert(strstr(store_errmsg(db), "books__pages"), "%s", store_errmsg(db));
    store_query_free(q);
}

/* ---- Runs ---------------------------------------------------------------------------------- */

Test(query, count_exists_first_get)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_INT("pages__gte", 300), {0}}),
                 STORE_OK);
    size_t n;
    bool yes;
    store_obj *o;
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(store_query_exists(q, NULL, &yes), STORE_OK);
    cr_assert(yes);
    cr_assert_eq(store_query_first(q, NULL, &o), STORE_OK);
    cr_assert_eq(store_id(o), 1);
    cr_assert_eq(store_query_get(q, NULL, &o), STORE_EMULTIPLE);
    cr_assert_null(o);
    cr_assert_eq(store_query_slice(q, 2, 5), STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(store_query_get(q, NULL, &o), STORE_OK);
    cr_assert_eq(store_id(o), 4);
    cr_assert_eq(store_query_slice(q, 3, 0), STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(store_query_exists(q, NULL, &yes), STORE_OK);
    cr_assert(!yes);
    cr_assert_eq(store_query_first(q, NULL, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_query_get(q, NULL, &o), STORE_ENOTFOUND);
    store_query_free(q);
}

Test(query, count_of_a_parent_s_children_and_of_a_model)
{
    store_query *q;
    size_t n;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_REF("author", author(1)), {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 2);
    store_query_free(q);
}

static bool collect_ids(store_obj *o, void *arg)
{
    char *buf = arg;
    size_t n = strlen(buf);
    snprintf(buf + n, 64 - n, "%s%llu", n ? "," : "", (unsigned long long)store_id(o));
    return store_id(o) != 1; /* stop after book 1 */
}

static bool try_writes(store_obj *o, void *arg)
{
    int *rc = arg;
    rc[0] = store_update(db, o, (store_value[]){STORE_V_INT("pages", 1), {0}});
    rc[1] = store_delete(db, o);
    store_iter it = store_reverse(store_ref(o, "author"), "books");
    rc[2] = (int)store_count(&it); /* a read from under the lock nests */
    return false;
}

Test(query, visit_in_order_stops_and_refuses_writes)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_order_by(q, KEYS("-pages")), STORE_OK);
    char buf[64] = "";
    cr_assert_eq(store_query_visit(q, NULL, collect_ids, buf), STORE_OK);
    cr_assert_str_eq(buf, "2,1");
    int rc[3] = {0};
    cr_assert_eq(store_query_visit(q, NULL, try_writes, rc), STORE_OK);
    cr_assert_eq(rc[0], STORE_EBUSY);
    cr_assert_eq(rc[1], STORE_EBUSY);
    cr_assert_eq(rc[2], 2);
    cr_assert_eq(store_model_count(Book), 4);
    store_query_free(q);
    check_invariants(db);
}

/* ---- Aggregates ---------------------------------------------------------------------------- */

Test(query, aggregates_on_matches_and_on_nothing)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    store_agg a[] = {{.op = STORE_AGG_COUNT},
                     {.op = STORE_AGG_COUNT, .path = "age"},
                     {.op = STORE_AGG_SUM, .path = "age"},
                     {.op = STORE_AGG_AVG, .path = "age"},
                     {.op = STORE_AGG_MIN, .path = "name"},
                     {.op = STORE_AGG_MAX, .path = "rating"},
                     {.op = STORE_AGG_SUM, .path = "books__count"},
                     {.op = STORE_AGG_SUM, .path = "rating"},
                     {0}};
    cr_assert_eq(store_query_aggregate(q, NULL, a), STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(a[0].out.kind, STORE_KIND_INT);
    cr_assert_eq(a[0].out.u.i, 4);
    cr_assert_eq(a[1].out.u.i, 3);
    cr_assert_eq(a[2].out.kind, STORE_KIND_INT);
    cr_assert_eq(a[2].out.u.i, 95);
    cr_assert_eq(a[3].out.kind, STORE_KIND_FLOAT);
    cr_assert_float_eq(a[3].out.u.f, 95.0 / 3, 1e-9);
    cr_assert_eq(a[4].out.kind, STORE_KIND_STR);
    cr_assert_str_eq(a[4].out.u.s, "Ann");
    cr_assert_eq(a[5].out.kind, STORE_KIND_FLOAT);
    cr_assert_float_eq(a[5].out.u.f, 4.5, 1e-12);
    cr_assert_eq(a[6].out.u.i, 4);
    cr_assert_eq(a[7].out.kind, STORE_KIND_FLOAT);
    cr_assert_float_eq(a[7].out.u.f, 11.5, 1e-12);

    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_STR("name", "nobody"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_aggregate(q, NULL, a), STORE_OK);
    cr_assert_eq(a[0].out.kind, STORE_KIND_INT);
    cr_assert_eq(a[0].out.u.i, 0);
    for (int k = 2; k < 8; k++)
        cr_assert_eq(a[k].out.kind, STORE_KIND_NULL, "aggregate %d", k);
    store_query_free(q);
}

Test(query, an_int_sum_fails_only_when_the_total_leaves_int64)
{
    /* Ann, cara, Dan: in id order the partial sums leave int64 and come back */
    int64_t ages[][3] = {{INT64_MAX, 25, -100}, {INT64_MIN, -1, 1}, {INT64_MAX, 25, 40}};
    int64_t sums[] = {INT64_MAX - 75, INT64_MIN, 0};
    for (int k = 0; k < 3; k++) {
        uint64_t ids[] = {1, 3, 4};
        for (int i = 0; i < 3; i++)
            cr_assert_eq(store_update(db, author(ids[i]),
                                      (store_value[]){STORE_V_INT("age", ages[k][i]), {0}}),
                         STORE_OK);
        for (int desc = 0; desc < 2; desc++) { /* a slice collects in order: both orders */
            store_query *q;
            cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
            cr_assert_eq(store_query_order_by(q, (const char *[]){desc ? "-id" : "id", NULL}),
                         STORE_OK);
            cr_assert_eq(store_query_slice(q, 0, desc ? 10 : 0), STORE_OK);
            store_agg a[] = {{.op = STORE_AGG_SUM, .path = "age"}, {0}};
            int rc = store_query_aggregate(q, NULL, a);
            if (k == 2) {
                cr_assert_eq(rc, STORE_EINVAL);
                cr_assert(strstr(store_errmsg(db), "overflows"), "%s", store_errmsg(db));
            } else {
                cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
                cr_assert_eq(a[0].out.kind, STORE_KIND_INT);
                cr_assert_eq(a[0].out.u.i, sums[k], "case %d: %lld", k, (long long)a[0].out.u.i);
            }
            store_query_free(q);
        }
    }
}

Test(query, sum_and_avg_refuse_strings)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    store_agg a[] = {{.op = STORE_AGG_SUM, .path = "name"}, {0}};
    cr_assert_eq(store_query_aggregate(q, NULL, a), STORE_EINVAL);
    store_query_free(q);
}

/* ---- Parameters ---------------------------------------------------------------------------- */

Test(query, parameters_are_bound_at_each_run)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_PARAM("title__istartswith", "p"),
                                                       STORE_V_PARAM("author__in", "who"),
                                                       {0}}),
                 STORE_OK);
    store_value who[] = {STORE_V_REF(NULL, author(1)), STORE_V_REF(NULL, author(2)), {0}};
    cr_assert_str_eq(found(q, (store_value[]){STORE_V_STR("p", "the"), STORE_V_LIST("who", who),
                                             {0}}),
                     "1,3");
    cr_assert_str_eq(found(q, (store_value[]){STORE_V_STR("p", "s"), STORE_V_LIST("who", who),
                                             {0}}),
                     "2");
    /* A missing bind, a bind of the wrong kind */
    cr_assert_str_eq(found(q, (store_value[]){STORE_V_STR("p", "s"), {0}}), "ERR -1");
    cr_assert(strstr(store_errmsg(db), "who"), "%s", store_errmsg(db));
    cr_assert_str_eq(found(q, (store_value[]){STORE_V_INT("p", 1), STORE_V_LIST("who", who),
                                             {0}}),
                     "ERR -1");
    cr_assert_str_eq(found(q, NULL), "ERR -1");
    store_query_free(q);
}

/* ---- Building errors ----------------------------------------------------------------------- */

Test(query, building_errors_name_the_term_and_stick)
{
    struct {
        store_model **m;
        store_value v;
        const char *says;
    } bad[] = {
        {&Book, STORE_V_STR("nope", "x"), "nope"},
        {&Book, STORE_V_STR("title__nope", "x"), "title__nope"},
        {&Book, STORE_V_INT("title", 1), "title"},
        {&Book, STORE_V_STR("pages__contains", "1"), "pages__contains"},
        {&Author, STORE_V_BOOL("active__gt", true), "active__gt"},
        {&Book, STORE_V_REF("author__gt", NULL), "author__gt"},
        {&Book, STORE_V_INT("title__isnull", 1), "title__isnull"},
        {&Book, STORE_V_INT("id__in", 1), "id__in"},
        {&Book, STORE_V_NULL("pages__gt"), "pages__gt"},
        {&Author, STORE_V_INT("books", 1), "books"},
        {&Book, STORE_V_REF("author", NULL), NULL}, /* fine: null */
        {&Author, STORE_V_FLOAT("rating", 0.0 / 0.0), "rating"},
        {&Book, STORE_V_STR("author__nope", "x"), "author__nope"},
        {&Book, STORE_V_STR("", "x"), ""},
        {&Book, STORE_V_STR("title____x", "x"), "title____x"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        store_query *q;
        cr_assert_eq(store_query_new(db, *bad[k].m, &q), STORE_OK);
        int rc = store_query_filter(q, (store_value[]){bad[k].v, {0}});
        if (!bad[k].says) {
            cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
            store_query_free(q);
            continue;
        }
        cr_assert_eq(rc, STORE_EINVAL, "term %zu \"%s\": %d", k, bad[k].v.name, rc);
        cr_assert(strstr(store_errmsg(db), bad[k].says), "term %zu: %s", k, store_errmsg(db));
        /* Sticky: later building calls and every run return it */
        cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_INT("pages", 1), {0}}),
                     STORE_EINVAL);
        cr_assert_eq(store_query_slice(q, 0, 1), STORE_EINVAL);
        size_t n;
        cr_assert_eq(store_query_count(q, NULL, &n), STORE_EINVAL);
        store_query_free(q);
    }
    /* A reference to the wrong model */
    store_obj *book;
    cr_assert_eq(store_get(db, Book, 1, &book), STORE_OK);
    cr_assert_str_eq(WHERE(Book, STORE_V_REF("author", book)), "ERR -1");
}

Test(query, bad_arguments)
{
    store_query *q;
    cr_assert_eq(store_query_new(NULL, Book, &q), STORE_EINVAL);
    cr_assert_eq(store_query_new(db, NULL, &q), STORE_EINVAL);
    cr_assert_eq(store_query_new(db, Book, NULL), STORE_EINVAL);
    cr_assert_eq(store_query_filter(NULL, (store_value[]){{0}}), STORE_EINVAL);
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_where(q, 7), STORE_EINVAL);
    store_query_free(q);
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, NULL), STORE_EINVAL);
    store_query_free(q);
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_query_visit(q, NULL, NULL, NULL), STORE_EINVAL);
    store_query_free(q);
    store_query_free(NULL);
    store_result_free(NULL);
}

/* ---- Plans give the same answers ---------------------------------------------------------- */

Test(query, every_plan_gives_the_answer_of_a_scan)
{
    /* author = x drives by the child list, name by the index, id by ids, author__name across
     * the foreign key: each must agree with the same terms evaluated on a scan. */
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "Writer %d", i % 7);
        store_obj *a = make_author(name);
        for (int b = 0; b < i % 4; b++)
            make_book(b % 2 ? "Odd title" : "Even title", a);
    }
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("name", "Writer 3"), STORE_V_INT("id__gt", 100)),
                     WHERE(Author, STORE_V_STR("name__iexact", "writer 3"),
                           STORE_V_INT("id__gt", 100)));
    char a[256], b[256];
    snprintf(a, sizeof a, "%s",
             WHERE(Book, STORE_V_STR("author__name", "Writer 5"),
                   STORE_V_STR("title__startswith", "Odd")));
    snprintf(b, sizeof b, "%s",
             WHERE(Book, STORE_V_STR("author__name__istartswith", "writer 5"),
                   STORE_V_STR("title__startswith", "Odd")));
    cr_assert_str_eq(a, b);
    cr_assert_neq(strlen(a), 0);
    store_obj *w = author(60);
    snprintf(a, sizeof a, "%s", WHERE(Book, STORE_V_REF("author", w)));
    snprintf(b, sizeof b, "%s", WHERE(Book, STORE_V_INT("author__id", 60)));
    cr_assert_str_eq(a, b);
    cr_assert_str_eq(a, child_ids(w, "books"));
    check_invariants(db);
}

/* ---- Update and delete by query ----------------------------------------------------------- */

static store_query *books_where(const store_value *terms)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, terms), STORE_OK, "%s", store_errmsg(db));
    return q;
}

Test(query, update_by_query_changes_every_match_with_its_own_strings)
{
    store_query *q = books_where((store_value[]){STORE_V_INT("pages__gte", 300), {0}});
    size_t n = 0;
    const char *title = "A title long enough to need an allocation of its own";
    cr_assert_eq(store_query_update(q, NULL,
                                    (store_value[]){STORE_V_STR("title", title),
                                                    STORE_V_REF("editor", author(3)), {0}},
                                    &n),
                 STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(n, 3);
    cr_assert_str_eq(WHERE(Book, STORE_V_STR("title", title)), "1,2,4");
    cr_assert_str_eq(WHERE(Author, STORE_V_INT("edited__count", 3)), "3");
    /* Each object got a string of its own: deleting one leaves the others readable. */
    store_obj *b1, *b2;
    cr_assert_eq(store_get(db, Book, 1, &b1), STORE_OK);
    cr_assert_eq(store_get(db, Book, 2, &b2), STORE_OK);
    cr_assert_neq(store_str(b1, "title"), store_str(b2, "title"));
    cr_assert_eq(store_delete(db, b1), STORE_OK);
    cr_assert_str_eq(store_str(b2, "title"), title);
    store_query_free(q);
    check_invariants(db);
}

Test(query, a_failed_update_by_query_changes_nothing)
{
    const char *before = dump_store(db);
    store_query *q = books_where((store_value[]){STORE_V_INT("pages__gte", 300), {0}});
    size_t n = 99;
    /* one isbn for three books */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("isbn", "999"), {0}},
                                    &n),
                 STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(db), "isbn"), "%s", store_errmsg(db));
    /* a value that does not fit, and a field that does not exist */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("pages", "x"), {0}},
                                    &n),
                 STORE_EINVAL);
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_INT("nope", 1), {0}}, &n),
                 STORE_EINVAL);
    cr_assert_eq(n, 99);
    cr_assert(same_store(db, before));
    store_query_free(q);
    /* Bad values are refused even when nothing matches */
    q = books_where((store_value[]){STORE_V_INT("pages", 12345), {0}});
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("pages", "x"), {0}},
                                    &n),
                 STORE_EINVAL);
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_INT("pages", 1), {0}}, &n),
                 STORE_OK);
    cr_assert_eq(n, 0);
    store_query_free(q);
    /* One match may take a unique value */
    q = books_where((store_value[]){STORE_V_INT("id", 2), {0}});
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("isbn", "222"), {0}},
                                    &n),
                 STORE_OK);
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("isbn", "111"), {0}},
                                    &n),
                 STORE_ECONSTRAINT); /* book 1 has it */
    store_query_free(q);
    check_invariants(db);
}

Test(query, delete_by_query_applies_on_delete_rules)
{
    store_obj *b3;
    cr_assert_eq(store_get(db, Book, 3, &b3), STORE_OK);
    make_review(b3, "good");
    store_obj *b1;
    cr_assert_eq(store_get(db, Book, 1, &b1), STORE_OK);
    make_loan(b1, "Eve");

    /* Ann's books: book 1 has a loan (RESTRICT): nothing is deleted */
    const char *before = dump_store(db);
    store_query *q = books_where((store_value[]){STORE_V_STR("author__name", "Ann"), {0}});
    size_t n = 99;
    cr_assert_eq(store_query_delete(q, NULL, &n), STORE_ECONSTRAINT);
    cr_assert_eq(n, 99);
    cr_assert(same_store(db, before));
    store_query_free(q);

    /* Authors without a loaned book: Bob (his book and its review cascade), cara, Dan (his
     * book cascades); Ann stays, and Dan's book edited by Ann goes */
    store_query *a;
    cr_assert_eq(store_query_new(db, Author, &a), STORE_OK);
    cr_assert_eq(store_query_exclude(a, (store_value[]){STORE_V_STR("books__loans__who", "Eve"),
                                                        {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_delete(a, NULL, &n), STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(n, 3);
    cr_assert_eq(store_model_count(Author), 1);
    cr_assert_eq(store_model_count(Book), 2);
    cr_assert_eq(store_model_count(Review), 0);
    cr_assert_str_eq(child_ids(author(1), "books"), "1,2");
    store_query_free(a);
    check_invariants(db);
}

Test(query, delete_by_query_sets_null_and_honours_the_slice)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_order_by(q, KEYS("-rating", "id")), STORE_OK);
    cr_assert_eq(store_query_slice(q, 0, 1), STORE_OK); /* Ann: rating 4.5, the lower id */
    size_t n;
    cr_assert_eq(store_query_delete(q, NULL, &n), STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(n, 1);
    cr_assert_str_eq(WHERE(Author, STORE_V_STR("name", "Ann")), "");
    store_obj *b4;
    cr_assert_eq(store_get(db, Book, 4, &b4), STORE_OK); /* Dan's, edited by Ann */
    cr_assert(store_is_null(b4, "editor"));
    cr_assert_eq(store_model_count(Book), 2);
    store_query_free(q);
    check_invariants(db);
}

static bool delete_from_visit(store_obj *o, void *arg)
{
    (void)o;
    int *rc = arg;
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    size_t n;
    rc[0] = store_query_delete(q, NULL, &n);
    rc[1] = store_query_update(q, NULL, (store_value[]){STORE_V_INT("pages", 1), {0}}, &n);
    size_t c = 0;
    rc[2] = store_query_count(q, NULL, &c); /* a read nests */
    rc[3] = (int)c;
    store_query_free(q);
    return false;
}

Test(query, changes_by_query_from_a_visit_are_busy)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    int rc[4] = {0};
    cr_assert_eq(store_query_visit(q, NULL, delete_from_visit, rc), STORE_OK);
    cr_assert_eq(rc[0], STORE_EBUSY);
    cr_assert_eq(rc[1], STORE_EBUSY);
    cr_assert_eq(rc[2], STORE_OK);
    cr_assert_eq(rc[3], 4);
    cr_assert_eq(store_model_count(Book), 4);
    store_query_free(q);
}

/* ---- Plans --------------------------------------------------------------------------------- */

static const char *plan_of(store_model *m, const store_value *terms)
{
    static char buf[256];
    store_query *q;
    cr_assert_eq(store_query_new(db, m, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, terms), STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(store_query_explain(q, NULL, buf, sizeof buf), STORE_OK);
    store_query_free(q);
    return buf;
}

#define PLAN(m, ...) plan_of((m), (store_value[]){__VA_ARGS__, {0}})

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

Test(query, the_planner_picks_the_cheapest_start)
{
    const char *p;
    cr_assert(starts(p = plan_of(Book, (store_value[]){{0}}), "scan Book: 4 to look at"), "%s",
              p);
    cr_assert(starts(p = PLAN(Book, STORE_V_REF("author", author(1))),
                     "children of 1 Author through Book.author: 2 to look at, 0 conditions"),
              "%s", p);
    cr_assert(starts(p = PLAN(Book, STORE_V_LIST("id__in", LIST(STORE_V_INT(NULL, 1),
                                                                 STORE_V_INT(NULL, 3))),
                              STORE_V_INT("pages__gt", 0)),
                     "ids of Book (2): 2 to look at, 1 condition to check"),
              "%s", p);
    cr_assert(starts(p = PLAN(Author, STORE_V_STR("name", "Bob")), "index Author.name (1 value)"),
              "%s", p);
    cr_assert(starts(p = PLAN(Book, STORE_V_STR("author__name", "Ann")),
                     "index Author.name (1 value), then children through Book.author: 2"),
              "%s", p);
    /* The unique isbn (1 holder) beats Ann's two children */
    cr_assert(starts(p = PLAN(Book, STORE_V_REF("author", author(1)), STORE_V_STR("isbn", "111")),
                     "index Book.isbn (1 value): 1 to look at"),
              "%s", p);
    /* A parent by its id: its children, like the parent itself; the same objects as a scan
     * would find (an id no parent has, and a deleted one, give none) */
    cr_assert(starts(p = PLAN(Book, STORE_V_INT("author__id", 1), STORE_V_INT("pages__gt", 0)),
                     "children of 1 Author by id through Book.author: 2 to look at, 1 "
                     "condition to check"),
              "%s", p);
    cr_assert(starts(p = PLAN(Book, STORE_V_LIST("author__id__in", LIST(STORE_V_INT(NULL, 2),
                                                                         STORE_V_INT(NULL, 1)))),
                     "children of 2 Author by id through Book.author"),
              "%s", p);
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__id", 1)),
                     WHERE(Book, STORE_V_REF("author", author(1))));
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__id", 1), STORE_V_INT("pages__gt", 150)),
                     WHERE(Book, STORE_V_REF("author", author(1)), STORE_V_INT("pages__gt", 150)));
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__id", 99)), "");
    cr_assert_str_eq(WHERE(Book, STORE_V_INT("author__id", -1)), "");
    /* Nothing to start from: a range, a null, a lookup through a reverse relation */
    cr_assert(starts(p = PLAN(Book, STORE_V_INT("pages__gte", 300)), "scan Book"), "%s", p);
    cr_assert(starts(p = PLAN(Book, STORE_V_NULL("isbn")), "scan Book"), "%s", p);
    cr_assert(starts(p = PLAN(Author, STORE_V_STR("books__title", "Zebra")), "scan Author"),
              "%s", p);
}

Test(query, a_large_index_group_loses_to_an_id_and_explain_cuts_its_text)
{
    store_obj *solo = make_author("Solo");
    for (int i = 0; i < 50; i++)
        make_author("Common");
    make_book("Only", solo);
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    /* authors named Common with id 6: the id wins over the 50 holders */
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_STR("name", "Common"),
                                                       STORE_V_INT("id", 6), {0}}),
                 STORE_OK);
    char buf[256];
    cr_assert_eq(store_query_explain(q, NULL, buf, sizeof buf), STORE_OK);
    cr_assert(starts(buf, "ids of Author (1)"), "%s", buf);
    cr_assert_str_eq(found(q, NULL), "6");
    store_query_free(q);
    /* a short buffer is cut, NUL-ended */
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    cr_assert_eq(store_query_explain(q, NULL, buf, 5), STORE_OK);
    cr_assert_str_eq(buf, "scan");
    store_query_free(q);
}

/* ---- Groups -------------------------------------------------------------------------------- */

Test(query, group_count_by_a_field_a_foreign_key_and_a_chain)
{
    store_query *q;
    store_groups g;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_group_count(q, NULL, "pages", &g), STORE_OK);
    cr_assert_eq(g.count, 3);
    cr_assert_eq(g.groups[0].key.u.i, 10);
    cr_assert_eq(g.groups[1].key.u.i, 300);
    cr_assert_eq(g.groups[1].count, 2);
    store_groups_free(&g);
    cr_assert_null(g.groups);

    cr_assert_eq(store_query_group_count(q, NULL, "author", &g), STORE_OK);
    cr_assert_eq(g.count, 3);
    cr_assert_eq(g.groups[0].key.kind, STORE_KIND_REF);
    cr_assert_eq(g.groups[0].key.u.ref, author(1));
    cr_assert_eq(g.groups[0].count, 2);
    cr_assert_eq(g.groups[2].key.u.ref, author(4));
    store_groups_free(&g);

    cr_assert_eq(store_query_group_count(q, NULL, "editor__name", &g), STORE_OK);
    cr_assert_eq(g.count, 2);
    cr_assert_eq(g.groups[0].key.kind, STORE_KIND_NULL); /* null first */
    cr_assert_eq(g.groups[0].count, 3);
    cr_assert_str_eq(g.groups[1].key.u.s, "Ann");
    store_groups_free(&g);

    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_STR("title", "none"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_group_count(q, NULL, "pages", &g), STORE_OK);
    cr_assert_eq(g.count, 0);
    cr_assert_eq(store_query_group_count(q, NULL, "reviews__body", &g), STORE_EINVAL);
    cr_assert_eq(store_query_group_count(q, NULL, NULL, &g), STORE_EINVAL);
    store_query_free(q);
}

/* ---- Scans --------------------------------------------------------------------------------- */

Test(query, a_scan_steps_through_matches_while_the_store_changes)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_INT("pages__gte", 300), {0}}),
                 STORE_OK);
    uint64_t pos = 0;
    store_obj *o;
    char seen[64] = "";
    while (store_query_scan(q, NULL, &pos, &o) == STORE_OK && o) {
        size_t n = strlen(seen);
        snprintf(seen + n, sizeof seen - n, "%s%llu", n ? "," : "",
                 (unsigned long long)store_id(o));
        if (store_id(o) == 1) { /* changes between steps: delete the next match, add one */
            store_obj *b2;
            cr_assert_eq(store_get(db, Book, 2, &b2), STORE_OK);
            cr_assert_eq(store_delete(db, b2), STORE_OK);
            cr_assert_eq(store_create(db, Book,
                                      (store_value[]){STORE_V_STR("title", "New"),
                                                      STORE_V_REF("author", author(3)),
                                                      STORE_V_INT("pages", 999), {0}},
                                      NULL),
                         STORE_OK);
        }
    }
    cr_assert_str_eq(seen, "1,4,5");
    cr_assert_eq(store_query_order_by(q, KEYS("pages")), STORE_OK);
    pos = 0;
    cr_assert_eq(store_query_scan(q, NULL, &pos, &o), STORE_EINVAL);
    cr_assert_null(o);
    store_query_free(q);
}

/* ---- Every lookup on every kind of path --------------------------------------------------- */

Test(query, every_lookup_on_every_kind_of_path_fits_or_is_refused)
{
    store_obj *ann = author(1);
    struct {
        store_model **m;
        const char *path;
        store_value one, two; /* values of the path's kind, in order */
        bool ordered, string;
    } paths[] = {
        {&Book, "title", STORE_V_STR(NULL, "A"), STORE_V_STR(NULL, "Z"), true, true},
        {&Review, "body", STORE_V_STR(NULL, "a"), STORE_V_STR(NULL, "z"), true, true},
        {&Book, "pages", STORE_V_INT(NULL, 1), STORE_V_INT(NULL, 500), true, false},
        {&Author, "rating", STORE_V_FLOAT(NULL, 0.1), STORE_V_FLOAT(NULL, 9.5), true, false},
        {&Author, "active", STORE_V_BOOL(NULL, false), STORE_V_BOOL(NULL, true), false, false},
        {&Book, "author", STORE_V_REF(NULL, NULL), STORE_V_REF(NULL, NULL), false, false},
        {&Book, "id", STORE_V_INT(NULL, 1), STORE_V_INT(NULL, 3), true, false},
        {&Author, "books__count", STORE_V_INT(NULL, 0), STORE_V_INT(NULL, 2), true, false},
        {&Book, "author__name", STORE_V_STR(NULL, "A"), STORE_V_STR(NULL, "Z"), true, true},
        {&Author, "books__pages", STORE_V_INT(NULL, 1), STORE_V_INT(NULL, 500), true, false},
    };
    static const char *const lookups[] = {
        "",         "not",         "in",       "not_in",     "gt",      "gte",
        "lt",       "lte",         "range",    "isnull",     "not_isnull",
        "contains", "icontains",   "startswith", "istartswith", "endswith", "iendswith",
        "iexact"};
    int checked = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        if (paths[p].one.kind == STORE_KIND_REF)
            paths[p].one.u.ref = paths[p].two.u.ref = ann;
        for (size_t k = 0; k < sizeof lookups / sizeof lookups[0]; k++) {
            const char *lk = lookups[k];
            bool is_list = !strcmp(lk, "in") || !strcmp(lk, "not_in") || !strcmp(lk, "range");
            bool is_null_test = strstr(lk, "isnull") != NULL;
            bool is_order = !strcmp(lk, "gt") || !strcmp(lk, "gte") || !strcmp(lk, "lt") ||
                            !strcmp(lk, "lte") || !strcmp(lk, "range");
            bool is_string = strstr(lk, "with") || strstr(lk, "contains") ||
                             !strcmp(lk, "iexact");
            bool fits = (!is_order || paths[p].ordered) && (!is_string || paths[p].string);
            char name[64];
            snprintf(name, sizeof name, "%s%s%s", paths[p].path, *lk ? "__" : "", lk);
            store_value items[] = {paths[p].one, paths[p].two, {0}};
            store_value v = paths[p].one;
            if (is_list)
                v = (store_value)STORE_V_LIST(NULL, items);
            else if (is_null_test)
                v = (store_value)STORE_V_BOOL(NULL, true);
            v.name = name;
            store_query *q;
            cr_assert_eq(store_query_new(db, *paths[p].m, &q), STORE_OK);
            int rc = store_query_filter(q, (store_value[]){v, {0}});
            cr_assert_eq(rc, fits ? STORE_OK : STORE_EINVAL, "%s: %s", name, store_errmsg(db));
            if (!fits)
                cr_assert(strstr(store_errmsg(db), name), "%s: %s", name, store_errmsg(db));
            store_result r;
            cr_assert_eq(store_query_find(q, NULL, &r), rc, "%s", name);
            store_result_free(&r);
            store_query_free(q);
            checked++;
        }
    }
    cr_assert_eq(checked, 180);
}

/* ---- On a file ----------------------------------------------------------------------------- */

/* The ids Q finds in D, as found() does for the in-memory store. */
static const char *found_in(store *d, const store_query *q)
{
    static char buf[256];
    store_result r;
    int rc = store_query_find(q, NULL, &r);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(d));
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < r.count; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", k ? "," : "",
                              (unsigned long long)store_id(r.objs[k]));
    store_result_free(&r);
    return buf;
}

/* A query over D's books: pages >= 100 by -pages then title. */
static store_query *long_books(store *d)
{
    store_query *q;
    cr_assert_eq(store_query_new(d, store_model_find(d, "Book"), &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_INT("pages__gte", 100), {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_order_by(q, (const char *[]){"-pages", "title", NULL}), STORE_OK);
    return q;
}

Test(query_file, changes_by_query_reach_the_file_and_queries_answer_the_same_after_reopen,
     .init = library_files_setup, .fini = library_files_teardown)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *ann, *bob;
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, &ann),
                 STORE_OK);
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "Bob"), {0}}, &bob),
                 STORE_OK);
    const char *titles[] = {"Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", titles[i]),
                                                  STORE_V_REF("author", i % 2 ? bob : ann),
                                                  STORE_V_INT("pages", 50 * (i + 1)), {0}},
                                  NULL),
                     STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));

    /* Ann's books get 500 pages; the books titled *ta (Beta, Delta, Zeta) are deleted. */
    store_query *u, *del;
    cr_assert_eq(store_query_new(d, B, &u), STORE_OK);
    cr_assert_eq(store_query_filter(u, (store_value[]){STORE_V_STR("author__name", "Ann"), {0}}),
                 STORE_OK);
    size_t n;
    cr_assert_eq(store_query_update(u, NULL, (store_value[]){STORE_V_INT("pages", 500), {0}}, &n),
                 STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(n, 3);
    cr_assert_eq(store_query_new(d, B, &del), STORE_OK);
    cr_assert_eq(store_query_filter(del, (store_value[]){STORE_V_STR("title__endswith", "ta"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_delete(del, NULL, &n), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(n, 3);
    store_query_free(u);
    store_query_free(del);
    store_query *q = long_books(d);
    char before[256];
    snprintf(before, sizeof before, "%s", found_in(d, q));
    cr_assert_str_eq(before, "1,5,3"); /* Alpha, Epsilon, Gamma: 500 pages each, by title */
    store_query_free(q);
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    check_invariants(d);
    store_close(d);

    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    q = long_books(d);
    cr_assert_str_eq(found_in(d, q), before);
    store_agg a[] = {{.op = STORE_AGG_SUM, .path = "pages"},
                     {.op = STORE_AGG_COUNT, .path = "author"},
                     {0}};
    cr_assert_eq(store_query_aggregate(q, NULL, a), STORE_OK);
    cr_assert_eq(a[0].out.u.i, 1500);
    cr_assert_eq(a[1].out.u.i, 3);
    store_query_free(q);
    check_invariants(d);
    store_close(d);
}
