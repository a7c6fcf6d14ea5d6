/*
 * tests/test_schema.c - declaring models, and store_open()'s checks of a schema.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"

static store_schema *s;

static void fresh(void)
{
    fail_alloc_at(-1);
    cr_assert_eq(store_schema_new(&s), STORE_OK);
}

static void done(void)
{
    store_schema_free(s);
}

TestSuite(schema, .init = fresh, .fini = done);

/* Declares MODEL with FIELDS, then expects store_open() to fail with RC naming CULPRIT. */
static void expect_open_fails(int rc, const char *culprit)
{
    store *d = NULL;
    cr_assert_eq(store_open(&d, s, NULL, NULL), rc);
    cr_assert_null(d, "store_open set *OUT on failure");
    cr_assert(strstr(store_errmsg(NULL), culprit), "errmsg \"%s\" does not name \"%s\"",
              store_errmsg(NULL), culprit);
}

Test(schema, opens_the_seed_schema_and_finds_its_models)
{
    store_schema_free(s);
    s = library_schema();
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    cr_assert_not_null(store_model_find(d, "Author"));
    cr_assert_not_null(store_model_find(d, "Book"));
    cr_assert_null(store_model_find(d, "Publisher"));
    cr_assert_null(store_model_find(d, NULL));
    cr_assert_null(store_model_find(NULL, "Author"));
    cr_assert_str_eq(store_model_name(store_model_find(d, "Book")), "Book");
    store_close(d);
}

Test(schema, the_store_keeps_its_own_copy_of_the_schema)
{
    char name[] = "Thing", field[] = "label";
    store_field fields[] = {{.name = field, .type = STORE_CHAR, .max_length = 8}, {0}};
    cr_assert_eq(store_schema_add(s, name, fields), STORE_OK);
    memset(field, 'x', sizeof field - 1);
    memset(name, 'y', sizeof name - 1);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_schema_free(s);
    s = NULL;
    store_model *m = store_model_find(d, "Thing");
    cr_assert_not_null(m);
    cr_assert_not_null(store_field_find(m, "label"));
    store_close(d);
}

Test(schema, models_may_refer_to_each_other_in_any_order)
{
    store_field book[] = {{.name = "author", .type = STORE_FK, .to = "Author"}, {0}};
    store_field author[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    cr_assert_eq(store_schema_add(s, "Book", book), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Author", author), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    /* Like Tortoise, a FK without related_name gets the model's name lowercased + "s". */
    cr_assert_not_null(store_relation_find(store_model_find(d, "Author"), "books"));
    store_close(d);
}

Test(schema, rejects_a_model_declared_twice)
{
    store_field f[] = {{.name = "x", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    cr_assert_eq(store_schema_add(s, "M", f), STORE_ESCHEMA);
    cr_assert(strstr(store_errmsg(NULL), "M"));
}

Test(schema, rejects_a_field_declared_twice_or_named_id)
{
    store_field twice[] = {{.name = "x", .type = STORE_INT}, {.name = "x", .type = STORE_INT}, {0}};
    store_field id[] = {{.name = "id", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "M", twice), STORE_ESCHEMA);
    cr_assert(strstr(store_errmsg(NULL), "M.x"));
    cr_assert_eq(store_schema_add(s, "M", id), STORE_ESCHEMA);
    cr_assert(strstr(store_errmsg(NULL), "M.id"));
}

Test(schema, rejects_names_that_are_not_identifiers)
{
    store_field ok[] = {{.name = "x", .type = STORE_INT}, {0}};
    store_field bad[] = {{.name = "two words", .type = STORE_INT}, {0}};
    store_field empty[] = {{.name = "", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "", ok), STORE_ESCHEMA);
    cr_assert_eq(store_schema_add(s, "9lives", ok), STORE_ESCHEMA);
    cr_assert_eq(store_schema_add(s, "M", bad), STORE_ESCHEMA);
    cr_assert_eq(store_schema_add(s, "M", empty), STORE_ESCHEMA);
}

Test(schema, null_arguments_are_einval)
{
    store_field f[] = {{.name = "x", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_new(NULL), STORE_EINVAL);
    cr_assert_eq(store_schema_add(NULL, "M", f), STORE_EINVAL);
    cr_assert_eq(store_schema_add(s, NULL, f), STORE_EINVAL);
    cr_assert_eq(store_schema_add(s, "M", NULL), STORE_EINVAL);
    store *d;
    cr_assert_eq(store_open(NULL, s, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_open(&d, NULL, NULL, NULL), STORE_EINVAL);
    store_schema_free(NULL);
    cr_assert_eq(store_close(NULL), STORE_OK);
}

Test(schema, a_failed_add_leaves_the_schema_as_it_was)
{
    store_field f[] = {{.name = "x", .type = STORE_INT}, {0}};
    store_field twice[] = {{.name = "y", .type = STORE_INT}, {.name = "y", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    cr_assert_eq(store_schema_add(s, "N", twice), STORE_ESCHEMA);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    cr_assert_not_null(store_model_find(d, "M"));
    cr_assert_null(store_model_find(d, "N"));
    store_close(d);
}

Test(schema, open_rejects_a_fk_to_an_unknown_model)
{
    store_field f[] = {{.name = "owner", .type = STORE_FK, .to = "Nobody"}, {0}};
    cr_assert_eq(store_schema_add(s, "Pet", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.owner");
}

Test(schema, open_rejects_a_fk_without_a_target)
{
    store_field f[] = {{.name = "owner", .type = STORE_FK}, {0}};
    cr_assert_eq(store_schema_add(s, "Pet", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.owner");
}

Test(schema, open_rejects_char_without_max_length)
{
    store_field f[] = {{.name = "name", .type = STORE_CHAR}, {0}};
    cr_assert_eq(store_schema_add(s, "Pet", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.name");
}

Test(schema, open_rejects_set_null_on_a_non_null_fk)
{
    store_field owner[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field pet[] = {{.name = "owner", .type = STORE_FK, .to = "Owner",
                          .on_delete = STORE_SET_NULL}, {0}};
    cr_assert_eq(store_schema_add(s, "Owner", owner), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pet", pet), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.owner");
}

Test(schema, open_rejects_two_relations_with_one_related_name)
{
    store_field owner[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field pet[] = {{.name = "owner", .type = STORE_FK, .to = "Owner", .related_name = "pets"},
                         {.name = "vet", .type = STORE_FK, .to = "Owner", .related_name = "pets"},
                         {0}};
    cr_assert_eq(store_schema_add(s, "Owner", owner), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pet", pet), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.vet");
}

Test(schema, open_rejects_a_related_name_that_is_a_field_of_the_parent)
{
    store_field owner[] = {{.name = "pets", .type = STORE_INT}, {0}};
    store_field pet[] = {{.name = "owner", .type = STORE_FK, .to = "Owner", .related_name = "pets"},
                         {0}};
    cr_assert_eq(store_schema_add(s, "Owner", owner), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pet", pet), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.owner");
}

Test(schema, open_rejects_two_default_related_names_that_clash)
{
    /* Both get "pets" by default. */
    store_field owner[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field pet[] = {{.name = "owner", .type = STORE_FK, .to = "Owner"},
                         {.name = "sitter", .type = STORE_FK, .to = "Owner"}, {0}};
    cr_assert_eq(store_schema_add(s, "Owner", owner), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pet", pet), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.sitter");
}

Test(schema, open_rejects_a_default_that_does_not_fit)
{
    store_field f[] = {{.name = "code", .type = STORE_CHAR, .max_length = 2,
                        STORE_DEFAULT_STR("abc")}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "M.code");
}

Test(schema, open_rejects_a_default_of_the_wrong_kind)
{
    store_field f[] = {{.name = "n", .type = STORE_INT, STORE_DEFAULT_STR("1")}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "M.n");
}

Test(schema, open_rejects_unique_or_index_on_a_float)
{
    store_field f[] = {{.name = "x", .type = STORE_FLOAT, .unique = true}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "M.x");
}

Test(schema, open_rejects_an_unknown_type_or_rule)
{
    store_field t[] = {{.name = "x", .type = (store_type)99}, {0}};
    cr_assert_eq(store_schema_add(s, "M", t), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "M.x");
}

Test(schema, open_rejects_an_unknown_on_delete_rule)
{
    store_field owner[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field pet[] = {{.name = "owner", .type = STORE_FK, .to = "Owner",
                          .on_delete = (store_on_delete)7}, {0}};
    cr_assert_eq(store_schema_add(s, "Owner", owner), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pet", pet), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Pet.owner");
}

Test(schema, open_rejects_to_or_related_name_on_a_plain_field)
{
    store_field f[] = {{.name = "x", .type = STORE_INT, .to = "M"}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "M.x");
}

Test(schema, open_rejects_unknown_flags)
{
    store *d = NULL;
    store_field f[] = {{.name = "x", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    store_options bad = {.flags = 1u << 7};
    cr_assert_eq(store_open(&d, s, NULL, &bad), STORE_EINVAL);
    cr_assert_null(d);
}

Test(schema, a_model_with_no_fields_works)
{
    store_field none[] = {{0}};
    cr_assert_eq(store_schema_add(s, "Tag", none), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_obj *o;
    cr_assert_eq(store_create(d, store_model_find(d, "Tag"), (store_value[]){{0}}, &o), STORE_OK);
    cr_assert_eq(store_id(o), 1);
    cr_assert_eq(store_delete(d, o), STORE_OK);
    check_invariants(d);
    store_close(d);
}

Test(schema, open_and_close_survive_every_allocation_failure)
{
    store_schema_free(s);
    s = library_schema();
    for (long n = 0;; n++) {
        store *d = NULL;
        fail_alloc_at(n);
        int rc = store_open(&d, s, NULL, NULL);
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not_null(d);
            store_close(d);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s", n, store_strerror(rc));
        cr_assert_null(d);
    }
}

Test(schema, add_survives_every_allocation_failure)
{
    store_field f[] = {{.name = "name", .type = STORE_CHAR, .max_length = 9,
                        STORE_DEFAULT_STR("x")},
                       {.name = "o", .type = STORE_FK, .to = "M", .related_name = "os",
                        .null = true},
                       {0}};
    for (long n = 0;; n++) {
        fail_alloc_at(n);
        int rc = store_schema_add(s, "M", f);
        fail_alloc_at(-1);
        if (rc == STORE_OK)
            break;
        cr_assert_eq(rc, STORE_ENOMEM);
    }
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_close(d);
}

Test(schema, names_longer_than_the_limit_and_too_many_fields_are_eschema)
{
    char name[STORE_NAME_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    store_field ok[] = {{.name = "x", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, name, ok), STORE_ESCHEMA);
    store_field long_field[] = {{.name = name, .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_add(s, "M", long_field), STORE_ESCHEMA);
    name[STORE_NAME_MAX] = 0; /* exactly the limit */
    cr_assert_eq(store_schema_add(s, name, ok), STORE_OK);
    store_field *many = calloc(STORE_FIELDS_MAX + 2, sizeof *many);
    static char names[STORE_FIELDS_MAX + 1][8];
    for (int i = 0; i <= STORE_FIELDS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = (store_field){.name = names[i], .type = STORE_INT};
    }
    cr_assert_eq(store_schema_add(s, "Wide", many), STORE_ESCHEMA);
    many[STORE_FIELDS_MAX] = (store_field){0};
    cr_assert_eq(store_schema_add(s, "Wide", many), STORE_OK);
    free(many);
    store_field rel[] = {{.name = "m", .type = STORE_FK, .to = "Wide", .related_name = name},
                         {0}};
    name[STORE_NAME_MAX] = 'a'; /* one over again */
    cr_assert_eq(store_schema_add(s, "Child", rel), STORE_OK);
    expect_open_fails(STORE_ESCHEMA, "Child.m");
}

Test(schema, a_read_only_store_in_memory_refuses_changes)
{
    store_field f[] = {{.name = "x", .type = STORE_INT, .null = true}, {0}};
    cr_assert_eq(store_schema_add(s, "M", f), STORE_OK);
    store_options ro = {.flags = STORE_OPEN_READONLY};
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, &ro), STORE_OK);
    cr_assert_eq(store_create(d, store_model_find(d, "M"), (store_value[]){{0}}, NULL),
                 STORE_EINVAL);
    check_invariants(d);
    store_close(d);
}

/* Names of every length, more short ones than the model keeps as words (store/model.h), and
 * names that begin other names: each call by name finds its own field, and only it. */
Test(schema, every_field_is_found_by_its_name_and_no_other)
{
    static const char *const names[] = {
        "a", "ab", "abc", "abcdefg", "abcdefgh", "abcdefghi", "b", "ba", "c", "d", "e",
        "f", "g", "h", "a_much_longer_name", "a_much_longer_names", "z",
    };
    enum { N = sizeof names / sizeof *names };
    store_field fields[N + 1] = {{0}};
    for (int i = 0; i < N; i++)
        fields[i] = (store_field){.name = names[i], .type = STORE_INT, .null = true};
    cr_assert_eq(store_schema_add(s, "Wide", fields), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *m = store_model_find(d, "Wide");
    store_value v[N + 1] = {{0}};
    for (int i = 0; i < N; i++)
        v[i] = (store_value)STORE_V_INT(names[i], 100 + i);
    store_obj *o;
    cr_assert_eq(store_create(d, m, v, &o), STORE_OK, "%s", store_errmsg(d));
    char buf[32];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(store_field_find(m, names[i]), store_field_find(m, strcpy(buf, names[i])));
        cr_assert_eq(store_int(o, buf), 100 + i, "%s", names[i]);
        cr_assert_str_eq(store_field_name(store_field_find(m, buf)), names[i]);
    }
    static const char *const none[] = {"", "abcd", "abcdefgj", "abcdefghij", "bb", "y",
                                       "a_much_longer_nam", "id"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        cr_assert_null(store_field_find(m, none[i]), "\"%s\"", none[i]);
        cr_assert_eq(store_int(o, none[i]), 0);
    }
    store_close(d);
}
