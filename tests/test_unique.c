/*
 * tests/test_unique.c - unique and indexed fields: enforcement and lookup by value.
 */
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

TestSuite(unique, .init = library_setup, .fini = library_teardown);

static store_obj *author_with_email(const char *name, const char *email)
{
    store_obj *o;
    int rc = store_create(db, Author,
                          (store_value[]){STORE_V_STR("name", name), STORE_V_STR("email", email),
                                          {0}},
                          &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

Test(unique, a_repeated_value_on_create_is_econstraint)
{
    author_with_email("A", "a@x");
    const char *before = dump_store(db);
    int rc = store_create(db, Author,
                          (store_value[]){STORE_V_STR("name", "B"), STORE_V_STR("email", "a@x"),
                                          {0}},
                          NULL);
    cr_assert_eq(rc, STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(db), "Author.email"));
    cr_assert(same_store(db, before));
    cr_assert_eq(store_id(author_with_email("B", "b@x")), 2, "the failed create used no id");
    check_invariants(db);
}

Test(unique, a_repeated_value_on_update_is_econstraint)
{
    author_with_email("A", "a@x");
    store_obj *b = author_with_email("B", "b@x");
    const char *before = dump_store(db);
    cr_assert_eq(store_update(db, b, (store_value[]){STORE_V_STR("email", "a@x"), {0}}),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(unique, an_object_may_keep_or_reset_its_own_value)
{
    store_obj *a = author_with_email("A", "a@x");
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_STR("email", "a@x"), {0}}),
                 STORE_OK);
    check_invariants(db);
}

Test(unique, nulls_do_not_collide)
{
    make_author("A");
    make_author("B");
    check_invariants(db);
}

Test(unique, a_freed_value_can_be_taken_again)
{
    store_obj *a = author_with_email("A", "a@x");
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_STR("email", "new@x"), {0}}),
                 STORE_OK);
    store_obj *b = author_with_email("B", "a@x");
    cr_assert_eq(store_delete(db, b), STORE_OK);
    author_with_email("C", "a@x");
    check_invariants(db);
}

Test(unique, get_by_finds_the_holder)
{
    for (int i = 0; i < 1000; i++) {
        char name[16], email[32];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(email, sizeof email, "user%d@x", i);
        author_with_email(name, email);
    }
    store_obj *o;
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_STR(NULL, "user417@x"),
                              &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 418);
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_STR(NULL, "nobody"), &o),
                 STORE_ENOTFOUND);
    cr_assert_null(o);
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_NULL(NULL), &o),
                 STORE_ENOTFOUND);
    check_invariants(db);
}

Test(unique, get_by_on_an_index_gives_the_smallest_id)
{
    make_author("dup");
    make_author("other");
    make_author("dup");
    store_obj *o;
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR(NULL, "dup"), &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 1);
    cr_assert_eq(store_delete(db, o), STORE_OK);
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR(NULL, "dup"), &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 3);
    check_invariants(db);
}

Test(unique, get_by_rejects_fields_without_an_index_and_wrong_kinds)
{
    store_obj *a = make_author("A"), *o;
    cr_assert_eq(store_get_by(db, Author, "age", &(store_value)STORE_V_INT(NULL, 1), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(db, Author, "nope", &(store_value)STORE_V_INT(NULL, 1), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_INT(NULL, 1), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_REF(NULL, a), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(NULL, Author, "email", &(store_value)STORE_V_STR(NULL, "x"), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(db, Author, NULL, &(store_value)STORE_V_STR(NULL, "x"), &o),
                 STORE_EINVAL);
    cr_assert_eq(store_get_by(db, Author, "email", NULL, &o), STORE_EINVAL);
    check_invariants(db);
}

Test(unique, an_indexed_fk_finds_a_child_by_parent)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    store_field user[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field profile[] = {{.name = "user", .type = STORE_FK, .to = "User", .unique = true,
                              .related_name = "profiles"},
                             {0}};
    cr_assert_eq(store_schema_add(s, "User", user), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Profile", profile), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_model *User = store_model_find(d, "User"), *Profile = store_model_find(d, "Profile");
    store_obj *u, *p, *found;
    cr_assert_eq(store_create(d, User, (store_value[]){STORE_V_STR("name", "u"), {0}}, &u),
                 STORE_OK);
    cr_assert_eq(store_create(d, Profile, (store_value[]){STORE_V_REF("user", u), {0}}, &p),
                 STORE_OK);
    /* A unique FK makes the relation one-to-one. */
    cr_assert_eq(store_create(d, Profile, (store_value[]){STORE_V_REF("user", u), {0}}, NULL),
                 STORE_ECONSTRAINT);
    cr_assert_eq(store_get_by(d, Profile, "user", &(store_value)STORE_V_REF(NULL, u), &found),
                 STORE_OK);
    cr_assert_eq(found, p);
    cr_assert_eq(store_delete(d, u), STORE_OK);
    cr_assert_eq(store_model_count(Profile), 0);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

Test(unique, thousands_of_values_stay_consistent_through_churn)
{
    store_obj *objs[2000];
    char email[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(email, sizeof email, "e%d", i);
        objs[i] = author_with_email("x", email);
    }
    for (int i = 0; i < 2000; i += 2) {
        snprintf(email, sizeof email, "moved%d", i);
        cr_assert_eq(store_update(db, objs[i], (store_value[]){STORE_V_STR("email", email), {0}}),
                     STORE_OK);
    }
    for (int i = 1; i < 2000; i += 4)
        cr_assert_eq(store_delete(db, objs[i]), STORE_OK);
    check_invariants(db);
    store_obj *o;
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_STR(NULL, "e3"), &o),
                 STORE_OK);
    cr_assert_eq(o, objs[3]);
    cr_assert_eq(store_get_by(db, Author, "email", &(store_value)STORE_V_STR(NULL, "e2"), &o),
                 STORE_ENOTFOUND);
    check_invariants(db);
}
