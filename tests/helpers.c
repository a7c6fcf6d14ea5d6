/*
 * tests/helpers.c - the shared fixture (see helpers.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/check.h"
#include "tests/helpers.h"

store_schema *schema;
store *db;
store_model *Author, *Book, *Review, *Loan;
char test_dir[64], test_path[128];

enum { MAX_DUMPS = 64 };
static char *dumps[MAX_DUMPS];
static int ndumps;

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 255, .index = true},
    {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
    {.name = "age", .type = STORE_INT, .null = true},
    {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
    {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
    {0},
};

static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 255},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited",
     .on_delete = STORE_SET_NULL, .null = true},
    {.name = "pages", .type = STORE_INT, STORE_DEFAULT_INT(0)},
    {.name = "isbn", .type = STORE_CHAR, .max_length = 13, .null = true, .unique = true},
    {0},
};

static const store_field review_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "reviews",
     .on_delete = STORE_CASCADE},
    {.name = "body", .type = STORE_TEXT},
    {0},
};

static const store_field loan_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "loans",
     .on_delete = STORE_RESTRICT},
    {.name = "who", .type = STORE_CHAR, .max_length = 32},
    {0},
};

store_schema *library_schema(void)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Author", author_fields), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Book", book_fields), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Review", review_fields), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Loan", loan_fields), STORE_OK);
    return s;
}

void library_setup(void)
{
    fail_alloc_at(-1);
    schema = library_schema();
    cr_assert_eq(store_open(&db, schema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    Author = store_model_find(db, "Author");
    Book = store_model_find(db, "Book");
    Review = store_model_find(db, "Review");
    Loan = store_model_find(db, "Loan");
    cr_assert(Author && Book && Review && Loan);
}

void library_teardown(void)
{
    fail_alloc_at(-1);
    store_close(db);
    store_schema_free(schema);
    db = NULL;
    schema = NULL;
    for (int i = 0; i < ndumps; i++)
        free(dumps[i]);
    ndumps = 0;
}

const char *dump_store(store *s)
{
    char *text;
    cr_assert_eq(rs_dump_store(s, &text), STORE_OK);
    cr_assert_lt(ndumps, MAX_DUMPS);
    dumps[ndumps++] = text;
    return text;
}

bool same_store(store *s, const char *before)
{
    char *now;
    cr_assert_eq(rs_dump_store(s, &now), STORE_OK);
    bool same = !strcmp(now, before);
    if (!same)
        cr_log_error("store changed:\n--- before\n%s--- now\n%s", before, now);
    free(now);
    return same;
}

void check_invariants(store *s)
{
    int rc = store_check(s);
    cr_assert_eq(rc, STORE_OK, "store_check: %s: %s", store_strerror(rc), store_errmsg(s));
}

store *one_model_store(store_schema **schema, const char *name, const store_field *fields)
{
    store *d;
    cr_assert_eq(store_schema_new(schema), STORE_OK);
    cr_assert_eq(store_schema_add(*schema, name, fields), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_open(&d, *schema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    return d;
}

store_obj *make_author(const char *name)
{
    store_obj *o;
    int rc = store_create(db, Author, (store_value[]){STORE_V_STR("name", name), {0}}, &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

store_obj *make_book(const char *title, store_obj *author)
{
    store_obj *o;
    int rc = store_create(db, Book,
                          (store_value[]){STORE_V_STR("title", title),
                                          STORE_V_REF("author", author), {0}},
                          &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

store_obj *make_review(store_obj *book, const char *body)
{
    store_obj *o;
    int rc = store_create(db, Review,
                          (store_value[]){STORE_V_REF("book", book), STORE_V_STR("body", body),
                                          {0}},
                          &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

store_obj *make_loan(store_obj *book, const char *who)
{
    store_obj *o;
    int rc = store_create(db, Loan,
                          (store_value[]){STORE_V_REF("book", book), STORE_V_STR("who", who),
                                          {0}},
                          &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

const char *child_ids(const store_obj *obj, const char *related_name)
{
    static char buf[4096];
    size_t len = 0;
    buf[0] = 0;
    store_iter it = store_reverse(obj, related_name);
    for (store_obj *c; (c = store_next(&it)) && len < sizeof buf - 32;)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%" PRIu64, len ? "," : "",
                                store_id(c));
    return buf;
}

void test_dir_new(char *dir, char *path, const char *tag)
{
    snprintf(dir, 64, "/tmp/relstore-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", dir);
    snprintf(path, 128, "%s/books.db", dir);
}

bool test_dir_remove(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    bool ok = system(cmd) == 0;
    if (!ok)
        cr_log_warn("could not remove %s", dir);
    return ok;
}

void library_files_setup(void)
{
    library_setup();
    const struct criterion_suite *suite = criterion_current_suite;
    test_dir_new(test_dir, test_path, suite && suite->name ? suite->name : "files");
}

void library_files_teardown(void)
{
    library_teardown();
    test_dir_remove(test_dir);
}
