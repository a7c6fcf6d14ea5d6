/*
 * tests/test_delete.c - deleting objects under CASCADE, RESTRICT and SET_NULL.
 */
#include <string.h>

#include "tests/helpers.h"

TestSuite(delete, .init = library_setup, .fini = library_teardown);

Test(delete, removes_the_object_and_keeps_its_id_unused)
{
    store_obj *a = make_author("A");
    make_author("B");
    cr_assert_eq(store_delete(db, a), STORE_OK);
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 1, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_model_count(Author), 1);
    cr_assert_eq(store_id(make_author("C")), 3, "ids are never reused");
    check_invariants(db);
}

Test(delete, the_highest_id_is_not_reused_either)
{
    make_author("A");
    store_obj *b = make_author("B");
    cr_assert_eq(store_delete(db, b), STORE_OK);
    cr_assert_eq(store_id(make_author("C")), 3);
    check_invariants(db);
}

Test(delete, cascades_through_every_level)
{
    store_obj *a = make_author("A"), *other = make_author("O");
    store_obj *b1 = make_book("1", a), *b2 = make_book("2", a), *keep = make_book("k", other);
    make_review(b1, "r1");
    make_review(b1, "r2");
    make_review(b2, "r3");
    make_review(keep, "r4");
    cr_assert_eq(store_delete(db, a), STORE_OK);
    cr_assert_eq(store_model_count(Author), 1);
    cr_assert_eq(store_model_count(Book), 1);
    cr_assert_eq(store_model_count(Review), 1);
    cr_assert_str_eq(child_ids(keep, "reviews"), "4");
    check_invariants(db);
}

Test(delete, restrict_refuses_and_deletes_nothing)
{
    store_obj *a = make_author("A");
    store_obj *b = make_book("T", a);
    make_loan(b, "reader");
    const char *before = dump_store(db);
    cr_assert_eq(store_delete(db, b), STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(db), "Loan 1"), "errmsg: %s", store_errmsg(db));
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(delete, a_cascade_that_meets_a_restrict_further_down_deletes_nothing)
{
    store_obj *a = make_author("A");
    make_book("free", a);
    store_obj *lent = make_book("lent", a);
    make_review(lent, "r");
    make_loan(lent, "reader");
    const char *before = dump_store(db);
    cr_assert_eq(store_delete(db, a), STORE_ECONSTRAINT);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(delete, restrict_allows_once_the_children_are_gone)
{
    store_obj *a = make_author("A");
    store_obj *b = make_book("T", a);
    store_obj *loan = make_loan(b, "reader");
    cr_assert_eq(store_delete(db, loan), STORE_OK);
    cr_assert_eq(store_delete(db, a), STORE_OK);
    cr_assert_eq(store_model_count(Book), 0);
    check_invariants(db);
}

Test(delete, set_null_clears_the_fk_and_keeps_the_child)
{
    store_obj *a = make_author("A"), *e = make_author("E");
    store_obj *b;
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "T"), STORE_V_REF("author", a),
                                              STORE_V_REF("editor", e), {0}},
                              &b),
                 STORE_OK);
    cr_assert_eq(store_delete(db, e), STORE_OK);
    cr_assert_null(store_ref(b, "editor"));
    cr_assert_eq(store_ref(b, "author"), a);
    cr_assert_eq(store_model_count(Book), 1);
    check_invariants(db);
}

Test(delete, a_child_reached_by_cascade_and_set_null_is_deleted)
{
    /* The author is both the book's author (CASCADE) and its editor (SET_NULL). */
    store_obj *a = make_author("A");
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "T"), STORE_V_REF("author", a),
                                              STORE_V_REF("editor", a), {0}},
                              NULL),
                 STORE_OK);
    cr_assert_eq(store_delete(db, a), STORE_OK);
    cr_assert_eq(store_model_count(Book), 0);
    check_invariants(db);
}

Test(delete, a_deleted_object_cannot_be_deleted_again)
{
    store_obj *a = make_author("A");
    make_author("B");
    cr_assert_eq(store_delete(db, a), STORE_OK);
    const char *before = dump_store(db);
    cr_assert_eq(store_delete(db, a), STORE_EINVAL);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(delete, a_reference_to_a_deleted_object_is_econstraint)
{
    store_obj *a = make_author("A");
    make_author("B");
    cr_assert_eq(store_delete(db, a), STORE_OK);
    const char *before = dump_store(db);
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "T"), STORE_V_REF("author", a),
                                              {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

static store_schema *chain_schema(store_on_delete rule)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    store_field f[] = {{.name = "prev", .type = STORE_FK, .to = "Link", .null = true,
                        .related_name = "nexts", .on_delete = rule},
                       {0}};
    cr_assert_eq(store_schema_add(s, "Link", f), STORE_OK);
    return s;
}

Test(delete, a_cascade_through_a_million_links_needs_no_deep_stack)
{
    store_schema *s = chain_schema(STORE_CASCADE);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_model *Link = store_model_find(d, "Link");
    store_obj *first = NULL, *prev = NULL;
    for (int i = 0; i < 1000000; i++) {
        store_obj *o;
        cr_assert_eq(store_create(d, Link, (store_value[]){STORE_V_REF("prev", prev), {0}}, &o),
                     STORE_OK);
        if (!first)
            first = o;
        prev = o;
    }
    cr_assert_eq(store_delete(d, first), STORE_OK);
    cr_assert_eq(store_model_count(Link), 0);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

Test(delete, a_cascade_around_a_cycle_ends)
{
    store_schema *s = chain_schema(STORE_CASCADE);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_model *Link = store_model_find(d, "Link");
    store_obj *a, *b, *c, *outside;
    cr_assert_eq(store_create(d, Link, (store_value[]){{0}}, &a), STORE_OK);
    cr_assert_eq(store_create(d, Link, (store_value[]){STORE_V_REF("prev", a), {0}}, &b),
                 STORE_OK);
    cr_assert_eq(store_create(d, Link, (store_value[]){STORE_V_REF("prev", b), {0}}, &c),
                 STORE_OK);
    cr_assert_eq(store_create(d, Link, (store_value[]){{0}}, &outside), STORE_OK);
    cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_REF("prev", c), {0}}), STORE_OK);
    check_invariants(d);
    cr_assert_eq(store_delete(d, b), STORE_OK);
    cr_assert_eq(store_model_count(Link), 1);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

Test(delete, cascade_survives_every_allocation_failure)
{
    store_obj *a = make_author("A");
    for (int i = 0; i < 50; i++) {
        store_obj *b = make_book("T", a);
        make_review(b, "r");
    }
    const char *before = dump_store(db);
    int rc = -1;
    for (long n = 0; rc != STORE_OK; n++) {
        fail_alloc_at(n);
        rc = store_delete(db, a);
        fail_alloc_at(-1);
        if (rc != STORE_OK) {
            cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld", n);
            cr_assert(same_store(db, before));
        }
    }
    cr_assert_eq(store_model_count(Review), 0);
    check_invariants(db);
}
