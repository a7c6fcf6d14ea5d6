/*
 * tests/test_update.c - partial updates, moving foreign keys, and their all-or-nothing rule.
 */
#include <string.h>

#include "tests/helpers.h"

TestSuite(update, .init = library_setup, .fini = library_teardown);

Test(update, changes_only_the_fields_given)
{
    store_obj *a = make_author("Ann");
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_INT("age", 30), {0}}), STORE_OK);
    cr_assert_str_eq(store_str(a, "name"), "Ann");
    cr_assert_eq(store_int(a, "age"), 30);
    cr_assert_eq(store_update(db, a,
                              (store_value[]){STORE_V_STR("name", "Anne"),
                                              STORE_V_BOOL("active", false),
                                              STORE_V_FLOAT("rating", 4.25), {0}}),
                 STORE_OK);
    cr_assert_str_eq(store_str(a, "name"), "Anne");
    cr_assert_eq(store_int(a, "age"), 30);
    cr_assert_not(store_bool(a, "active"));
    cr_assert_eq(store_float(a, "rating"), 4.25);
    check_invariants(db);
}

Test(update, an_empty_list_changes_nothing)
{
    store_obj *a = make_author("Ann");
    const char *before = dump_store(db);
    cr_assert_eq(store_update(db, a, (store_value[]){{0}}), STORE_OK);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(update, null_can_be_set_and_cleared)
{
    store_obj *a = make_author("Ann");
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_INT("age", 5), {0}}), STORE_OK);
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_NULL("age"), {0}}), STORE_OK);
    cr_assert(store_is_null(a, "age"));
    cr_assert_eq(store_int(a, "age"), 0);
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_STR("email", "a@b"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_NULL("email"), {0}}), STORE_OK);
    cr_assert_null(store_str(a, "email"));
    check_invariants(db);
}

Test(update, moving_a_fk_moves_the_child_to_the_end_of_the_new_parent)
{
    store_obj *a = make_author("A"), *b = make_author("B");
    store_obj *b1 = make_book("1", a);
    make_book("2", a);
    make_book("3", b);
    cr_assert_eq(store_update(db, b1, (store_value[]){STORE_V_REF("author", b), {0}}), STORE_OK);
    cr_assert_str_eq(child_ids(a, "books"), "2");
    cr_assert_str_eq(child_ids(b, "books"), "3,1");
    cr_assert_eq(store_ref(b1, "author"), b);
    store_iter it = store_reverse(b, "books");
    cr_assert_eq(store_count(&it), 2);
    check_invariants(db);
}

Test(update, setting_the_same_parent_keeps_the_childs_place)
{
    store_obj *a = make_author("A");
    store_obj *b1 = make_book("1", a);
    make_book("2", a);
    cr_assert_eq(store_update(db, b1, (store_value[]){STORE_V_REF("author", a), {0}}), STORE_OK);
    cr_assert_str_eq(child_ids(a, "books"), "1,2");
    check_invariants(db);
}

Test(update, a_nullable_fk_can_be_set_moved_and_cleared)
{
    store_obj *a = make_author("A"), *e1 = make_author("E1"), *e2 = make_author("E2");
    store_obj *b = make_book("T", a);
    cr_assert_eq(store_update(db, b, (store_value[]){STORE_V_REF("editor", e1), {0}}), STORE_OK);
    cr_assert_str_eq(child_ids(e1, "edited"), "1");
    cr_assert_eq(store_update(db, b, (store_value[]){STORE_V_REF("editor", e2), {0}}), STORE_OK);
    cr_assert_str_eq(child_ids(e1, "edited"), "");
    cr_assert_str_eq(child_ids(e2, "edited"), "1");
    cr_assert_eq(store_update(db, b, (store_value[]){STORE_V_REF("editor", NULL), {0}}),
                 STORE_OK);
    cr_assert_str_eq(child_ids(e2, "edited"), "");
    cr_assert_null(store_ref(b, "editor"));
    check_invariants(db);
}

Test(update, a_failing_value_late_in_the_list_changes_nothing)
{
    store_obj *a = make_author("Ann"), *b = make_author("Bob");
    store_obj *book = make_book("T", a);
    const char *before = dump_store(db);
    int rc = store_update(db, book,
                          (store_value[]){STORE_V_STR("title", "New"),
                                          STORE_V_REF("author", b),
                                          STORE_V_STR("isbn", "12345678901234"), {0}});
    cr_assert_eq(rc, STORE_EINVAL);
    cr_assert(strstr(store_errmsg(db), "Book.isbn"));
    cr_assert(same_store(db, before));
    cr_assert_str_eq(store_str(book, "title"), "T");
    check_invariants(db);
}

Test(update, of_a_deleted_object_is_einval)
{
    store_obj *a = make_author("Ann");
    make_author("Keep");
    cr_assert_eq(store_delete(db, a), STORE_OK);
    const char *before = dump_store(db);
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_INT("age", 1), {0}}), STORE_EINVAL);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(update, strings_of_untouched_fields_stay_valid)
{
    store_obj *a = make_author("Ann");
    const char *name = store_str(a, "name");
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_INT("age", 3), {0}}), STORE_OK);
    cr_assert_eq(store_str(a, "name"), name);
    cr_assert_str_eq(name, "Ann");
    check_invariants(db);
}

Test(update, survives_every_allocation_failure)
{
    store_obj *a = make_author("Ann"), *b = make_author("Bob");
    store_obj *book = make_book("T", a);
    store_value change[] = {STORE_V_STR("title", "New title"), STORE_V_REF("author", b),
                            STORE_V_STR("isbn", "978-3-16"), STORE_V_REF("editor", a), {0}};
    const char *before = dump_store(db);
    int rc = -1;
    for (long n = 0; rc != STORE_OK; n++) {
        fail_alloc_at(n);
        rc = store_update(db, book, change);
        fail_alloc_at(-1);
        if (rc != STORE_OK) {
            cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld", n);
            cr_assert(same_store(db, before));
        }
    }
    cr_assert_str_eq(store_str(book, "title"), "New title");
    cr_assert_str_eq(child_ids(b, "books"), "1");
    check_invariants(db);
}
