/*
 * tests/test_object.c - creating objects, getting them back, reading their fields.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "tests/helpers.h"

TestSuite(object, .init = library_setup, .fini = library_teardown);

Test(object, create_gives_ids_from_one_up_per_model)
{
    store_obj *a = make_author("A"), *b = make_author("B");
    store_obj *book = make_book("T", a);
    cr_assert_eq(store_id(a), 1);
    cr_assert_eq(store_id(b), 2);
    cr_assert_eq(store_id(book), 1);
    cr_assert_eq(store_model_count(Author), 2);
    cr_assert_eq(store_model_count(Book), 1);
    cr_assert_eq(store_obj_model(book), Book);
    check_invariants(db);
}

Test(object, get_finds_each_object_by_id)
{
    store_obj *made[100];
    for (int i = 0; i < 100; i++)
        made[i] = make_author("someone");
    for (uint64_t id = 1; id <= 100; id++) {
        store_obj *o;
        cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
        cr_assert_eq(o, made[id - 1]);
        cr_assert_eq(store_id(o), id);
    }
    check_invariants(db);
}

Test(object, get_of_a_missing_id_is_enotfound_and_names_it)
{
    store_obj *o = (store_obj *)1;
    make_author("A");
    cr_assert_eq(store_get(db, Author, 2, &o), STORE_ENOTFOUND);
    cr_assert_null(o);
    cr_assert(strstr(store_errmsg(db), "Author 2"));
    cr_assert_eq(store_get(db, Author, 0, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_get(db, Book, 1, &o), STORE_ENOTFOUND);
    check_invariants(db);
}

Test(object, fields_read_back_as_given_and_defaults_fill_the_rest)
{
    store_obj *a;
    cr_assert_eq(store_create(db, Author,
                              (store_value[]){STORE_V_STR("name", "Ann"),
                                              STORE_V_STR("email", "ann@example.org"),
                                              STORE_V_INT("age", -42), {0}},
                              &a),
                 STORE_OK);
    cr_assert_str_eq(store_str(a, "name"), "Ann");
    cr_assert_str_eq(store_str(a, "email"), "ann@example.org");
    cr_assert_eq(store_int(a, "age"), -42);
    cr_assert_eq(store_float(a, "rating"), 0.5);
    cr_assert_eq(store_bool(a, "active"), true);
    cr_assert_not(store_is_null(a, "age"));
    store_obj *b = make_author("Bob");
    cr_assert(store_is_null(b, "email"));
    cr_assert_null(store_str(b, "email"));
    cr_assert(store_is_null(b, "age"));
    cr_assert_eq(store_int(b, "age"), 0);
    cr_assert_not(store_is_null(b, "rating"));
    check_invariants(db);
}

Test(object, numeric_edges_round_trip)
{
    static const int64_t ints[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        store_obj *a;
        cr_assert_eq(store_create(db, Author,
                                  (store_value[]){STORE_V_STR("name", "n"),
                                                  STORE_V_INT("age", ints[i]), {0}},
                                  &a),
                     STORE_OK);
        cr_assert_eq(store_int(a, "age"), ints[i]);
    }
    static const double floats[] = {-0.0, 1e-308, 1.7976931348623157e308, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
        store_obj *a;
        cr_assert_eq(store_create(db, Author,
                                  (store_value[]){STORE_V_STR("name", "n"),
                                                  STORE_V_FLOAT("rating", floats[i]), {0}},
                                  &a),
                     STORE_OK);
        double back = store_float(a, "rating");
        cr_assert(!memcmp(&back, &floats[i], sizeof back));
    }
    /* NaN equals nothing, not even itself: queries could not compare it. */
    store_obj *a = NULL;
    cr_assert_eq(store_create(db, Author,
                              (store_value[]){STORE_V_STR("name", "n"),
                                              STORE_V_FLOAT("rating", NAN), {0}},
                              &a),
                 STORE_EINVAL);
    cr_assert_null(a);
    check_invariants(db);
}

Test(object, strings_are_copied)
{
    char name[] = "Original";
    store_obj *a = make_author(name);
    memcpy(name, "Changed!", sizeof name);
    cr_assert_str_eq(store_str(a, "name"), "Original");
    check_invariants(db);
}

Test(object, utf8_strings_count_characters_not_bytes)
{
    /* 255 two-byte characters fit CHAR(255); 256 do not. */
    char s[2 * 256 + 1];
    for (int i = 0; i < 256; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[2 * 255] = 0;
    store_obj *a = make_author(s);
    cr_assert_eq(strlen(store_str(a, "name")), 510);
    s[2 * 255] = (char)0xc3;
    s[2 * 256] = 0;
    cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", s), {0}}, NULL),
                 STORE_EINVAL);
    check_invariants(db);
}

Test(object, text_has_no_length_limit)
{
    size_t n = 1 << 20;
    char *body = malloc(n + 1);
    memset(body, 'z', n);
    body[n] = 0;
    store_obj *r = make_review(make_book("T", make_author("A")), body);
    cr_assert_eq(strlen(store_str(r, "body")), n);
    free(body);
    check_invariants(db);
}

Test(object, store_ref_gives_the_parent_and_null_when_unset)
{
    store_obj *a = make_author("A");
    store_obj *b = make_book("T", a);
    cr_assert_eq(store_ref(b, "author"), a);
    cr_assert_null(store_ref(b, "editor"));
    cr_assert(store_is_null(b, "editor"));
    cr_assert_null(store_ref(b, "title"), "a non-FK field reads as NULL");
    check_invariants(db);
}

Test(object, accessors_of_unknown_fields_or_other_types_read_as_zero)
{
    store_obj *a = make_author("A");
    cr_assert_null(store_str(a, "nope"));
    cr_assert_eq(store_int(a, "nope"), 0);
    cr_assert_eq(store_float(a, "name"), 0.0);
    cr_assert_eq(store_bool(a, "name"), false);
    cr_assert_null(store_str(a, "age"));
    cr_assert(store_is_null(a, "nope"));
    cr_assert_null(store_str(NULL, "name"));
    cr_assert_null(store_str(a, NULL));
    cr_assert_eq(store_id(NULL), 0);
    cr_assert_null(store_obj_model(NULL));
    check_invariants(db);
}

Test(object, field_handles_read_the_same_values_as_names)
{
    store_obj *a = make_author("Ann");
    store_obj *b = make_book("T", a);
    const store_fld *title = store_field_find(Book, "title");
    const store_fld *author = store_field_find(Book, "author");
    const store_fld *pages = store_field_find(Book, "pages");
    const store_fld *rating = store_field_find(Author, "rating");
    const store_fld *active = store_field_find(Author, "active");
    cr_assert(title && author && pages && rating && active);
    cr_assert_str_eq(store_field_str(b, title), "T");
    cr_assert_eq(store_field_ref(b, author), a);
    cr_assert_eq(store_field_int(b, pages), 0);
    cr_assert_eq(store_field_float(a, rating), 0.5);
    cr_assert(store_field_bool(a, active));
    cr_assert_not(store_field_is_null(b, title));
    cr_assert_null(store_field_find(Book, "nope"));
    cr_assert_null(store_field_find(NULL, "title"));
    cr_assert_null(store_field_find(Book, NULL));
    check_invariants(db);
}

Test(object, a_failed_create_consumes_no_id)
{
    cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_INT("name", 1), {0}}, NULL),
                 STORE_EINVAL);
    cr_assert_eq(store_id(make_author("A")), 1);
    check_invariants(db);
}

Test(object, strerror_names_every_code)
{
    cr_assert_str_eq(store_strerror(STORE_OK), "success");
    cr_assert_str_eq(store_strerror(STORE_ENOTFOUND), "no such object");
    for (int rc = STORE_EINVAL; rc >= STORE_ENOTSUP; rc--)
        cr_assert_str_neq(store_strerror(rc), "unknown error", "code %d has no name", rc);
    cr_assert_str_eq(store_strerror(-1000), "unknown error");
    cr_assert_str_eq(store_strerror(1), "unknown error");
}

Test(object, error_codes_never_change)
{
    cr_assert_eq(STORE_EINVAL, -1);
    cr_assert_eq(STORE_ENOTFOUND, -2);
    cr_assert_eq(STORE_ECONSTRAINT, -3);
    cr_assert_eq(STORE_ENOMEM, -4);
    cr_assert_eq(STORE_EIO, -5);
    cr_assert_eq(STORE_ENOSPC, -6);
    cr_assert_eq(STORE_EFULL, -7);
    cr_assert_eq(STORE_ESCHEMA, -8);
    cr_assert_eq(STORE_ECORRUPT, -9);
    cr_assert_eq(STORE_EBUSY, -10);
    cr_assert_eq(STORE_ECANCELED, -11);
    cr_assert_eq(STORE_EFORK, -12);
    cr_assert_eq(STORE_EMULTIPLE, -13);
    cr_assert_eq(STORE_ENOTSUP, -14);
}

static void *fail_on_other_thread(void *arg)
{
    (void)arg;
    store_obj *o;
    store_get(db, Author, 777, &o);
    return NULL;
}

Test(object, errmsg_is_the_calling_threads_own)
{
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 5, &o), STORE_ENOTFOUND);
    pthread_t t;
    pthread_create(&t, NULL, fail_on_other_thread, NULL);
    pthread_join(t, NULL);
    cr_assert(strstr(store_errmsg(db), "Author 5"), "got \"%s\"", store_errmsg(db));
}

Test(object, errmsg_of_one_store_is_not_another_s)
{
    store *other;
    cr_assert_eq(store_open(&other, schema, NULL, NULL), STORE_OK);
    store_obj *o;
    cr_assert_eq(store_get(other, store_model_find(other, "Book"), 9, &o), STORE_ENOTFOUND);
    cr_assert_str_eq(store_errmsg(db), "");
    cr_assert(strstr(store_errmsg(other), "Book 9"));
    store_close(other);
}

Test(object, models_and_objects_of_another_store_are_einval)
{
    store *other;
    cr_assert_eq(store_open(&other, schema, NULL, NULL), STORE_OK);
    store_model *OtherAuthor = store_model_find(other, "Author");
    store_obj *foreign;
    cr_assert_eq(store_create(other, OtherAuthor, (store_value[]){STORE_V_STR("name", "x"), {0}},
                              &foreign),
                 STORE_OK);
    const char *before = dump_store(db);
    store_obj *o;
    cr_assert_eq(store_get(db, OtherAuthor, 1, &o), STORE_EINVAL);
    cr_assert_eq(store_create(db, OtherAuthor, (store_value[]){STORE_V_STR("name", "x"), {0}},
                              NULL),
                 STORE_EINVAL);
    cr_assert_eq(store_update(db, foreign, (store_value[]){STORE_V_STR("name", "y"), {0}}),
                 STORE_EINVAL);
    cr_assert_eq(store_delete(db, foreign), STORE_EINVAL);
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "t"),
                                              STORE_V_REF("author", foreign), {0}},
                              NULL),
                 STORE_EINVAL);
    cr_assert(same_store(db, before));
    check_invariants(db);
    check_invariants(other);
    store_close(other);
}
