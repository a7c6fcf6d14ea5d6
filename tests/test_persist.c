/*
 * tests/test_persist.c - stores on files: reload, incremental snapshots, ownership, schema
 * changes, backups, read-only opens, failures that leave memory dirty.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/check.h"
#include "tests/helpers.h"

static char dir[64], path[128];

static void files_setup(void)
{
    library_setup();
    test_dir_new(dir, path, "test");
}

/* Ends each test: removes the test's folder, asserting it went (in the body, since a failed
 * assertion in .fini does not fail the test). */
static void remove_files(void)
{
    cr_assert(test_dir_remove(dir));
    dir[0] = 0;
}

/* Frees only: a test that stopped early leaves its folder to be removed here. */
static void files_teardown(void)
{
    library_teardown();
    if (dir[0])
        test_dir_remove(dir);
}

TestSuite(persist, .init = files_setup, .fini = files_teardown, .timeout = 120);

/* Opens PATH with the library schema; asserts success. */
static store *open_file(const char *p, const store_options *opts)
{
    store *d;
    int rc = store_open(&d, schema, p, opts);
    cr_assert_eq(rc, STORE_OK, "open %s: %s: %s", p, store_strerror(rc), store_errmsg(NULL));
    return d;
}

static char *dump_of(store *d)
{
    char *text;
    cr_assert_eq(rs_dump_store(d, &text), STORE_OK);
    return text;
}

/* The whole file's bytes, malloc'd; *LEN set. */
static unsigned char *file_bytes(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len + 1);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static bool same_file(const char *p, const unsigned char *bytes, size_t len)
{
    size_t n;
    unsigned char *now = file_bytes(p, &n);
    bool same = n == len && !memcmp(now, bytes, len);
    free(now);
    return same;
}

/* Fills the fixture's store DB (in memory) or D with a bit of everything. */
static void populate(store *d)
{
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_model *R = store_model_find(d, "Review");
    store_obj *a[5], *b;
    for (int i = 0; i < 5; i++) {
        char email[32];
        snprintf(email, sizeof email, "a%d@x", i);
        cr_assert_eq(store_create(d, A,
                                  (store_value[]){STORE_V_STR("name", i % 2 ? "odd" : "even"),
                                                  STORE_V_STR("email", email),
                                                  STORE_V_INT("age", i * 10),
                                                  STORE_V_FLOAT("rating", i / 3.0),
                                                  STORE_V_BOOL("active", i % 2), {0}},
                                  &a[i]),
                     STORE_OK);
    }
    for (int i = 0; i < 20; i++) {
        char title[32];
        snprintf(title, sizeof title, "Book \"%d\" \xc3\xa9", i);
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", title),
                                                  STORE_V_REF("author", a[i % 5]),
                                                  STORE_V_REF("editor", i % 3 ? a[(i + 1) % 5]
                                                                              : NULL),
                                                  {0}},
                                  &b),
                     STORE_OK);
        cr_assert_eq(store_create(d, R,
                                  (store_value[]){STORE_V_REF("book", b),
                                                  STORE_V_STR("body", "a\nmultiline\treview"),
                                                  {0}},
                                  NULL),
                     STORE_OK);
    }
}

Test(persist, a_reopened_store_holds_exactly_what_was_snapshot)
{
    store *d = open_file(path, NULL);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    char *before = dump_of(d);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    d = open_file(path, NULL);
    char *after = dump_of(d);
    cr_assert_str_eq(after, before);
    check_invariants(d);
    store_close(d);
    free(before);
    free(after);
    remove_files();
}

Test(persist, close_snapshots_unsaved_changes)
{
    store *d = open_file(path, NULL);
    populate(d);
    char *before = dump_of(d);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    d = open_file(path, NULL);
    char *after = dump_of(d);
    cr_assert_str_eq(after, before);
    check_invariants(d);
    store_close(d);
    free(before);
    free(after);
    remove_files();
}

Test(persist, ids_are_never_reused_across_reopen)
{
    store *d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author");
    store_obj *o;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, &o),
                     STORE_OK);
    cr_assert_eq(store_delete(d, o), STORE_OK); /* the highest, id 3 */
    check_invariants(d);
    store_close(d);
    d = open_file(path, NULL);
    A = store_model_find(d, "Author");
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "y"), {0}}, &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 4);
    cr_assert_eq(store_get(d, A, 3, &o), STORE_ENOTFOUND);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, relation_order_survives_moves_and_reopen)
{
    store *d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *x, *y, *b[4];
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, &x), 0);
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "y"), {0}}, &y), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", "t"),
                                                  STORE_V_REF("author", i < 2 ? x : y), {0}},
                                  &b[i]),
                     STORE_OK);
    /* Book 1 moves to the end of y's books: y walks 3, 4, 1 (not in id order). */
    cr_assert_eq(store_update(d, b[0], (store_value[]){STORE_V_REF("author", y), {0}}), 0);
    check_invariants(d);
    store_close(d);
    d = open_file(path, NULL);
    store_obj *yy;
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 2, &yy), STORE_OK);
    store_iter it = store_reverse(yy, "books");
    uint64_t want[] = {3, 4, 1};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_id(store_next(&it)), want[i]);
    cr_assert_null(store_next(&it));
    /* And new children still join at the end. */
    store_obj *nb;
    cr_assert_eq(store_create(d, store_model_find(d, "Book"),
                              (store_value[]){STORE_V_STR("title", "n"),
                                              STORE_V_REF("author", yy), {0}},
                              &nb),
                 STORE_OK);
    it = store_reverse(yy, "books");
    for (int i = 0; i < 3; i++)
        store_next(&it);
    cr_assert_eq(store_next(&it), nb);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, unique_and_index_lookups_work_after_reopen)
{
    store *d = open_file(path, NULL);
    populate(d);
    check_invariants(d);
    store_close(d);
    d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author");
    store_obj *o;
    cr_assert_eq(store_get_by(d, A, "email", &(store_value)STORE_V_STR(NULL, "a3@x"), &o), 0);
    cr_assert_eq(store_id(o), 4);
    cr_assert_eq(store_get_by(d, A, "name", &(store_value)STORE_V_STR(NULL, "odd"), &o), 0);
    cr_assert_eq(store_id(o), 2);
    cr_assert_eq(store_create(d, A,
                              (store_value[]){STORE_V_STR("name", "n"),
                                              STORE_V_STR("email", "a3@x"), {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, a_snapshot_writes_only_what_changed)
{
    store *d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author");
    store_obj *objs[1000];
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, &objs[i]),
                     STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    store_stats st;
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_eq(st.last_written, 1000);
    cr_assert_eq(st.generation, 1);
    cr_assert_eq(st.dirty, 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(store_update(d, objs[i * 97], (store_value[]){STORE_V_INT("age", i), {0}}),
                     STORE_OK);
    cr_assert_eq(store_delete(d, objs[999]), STORE_OK);
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_eq(st.dirty, 10);
    cr_assert_eq(st.deleted, 1);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_eq(st.last_written, 10);
    cr_assert_eq(st.last_deleted, 1);
    cr_assert_eq(st.generation, 2);
    cr_assert_eq(st.objects, 999);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, an_empty_change_set_writes_nothing)
{
    store *d = open_file(path, NULL);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    store_stats st;
    cr_assert_eq(store_snapshot(d), STORE_OK);
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_eq(st.generation, 1, "no new generation without a change");
    cr_assert(same_file(path, bytes, len));
    check_invariants(d);
    store_close(d);
    cr_assert(same_file(path, bytes, len), "closing a clean store writes nothing");
    free(bytes);
    remove_files();
}

/* Bytes this process has passed to write(2)-like calls so far (/proc/self/io wchar). */
static long long written_so_far(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    cr_assert_not_null(f);
    char line[128];
    long long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

Test(persist, ten_changes_among_a_hundred_thousand_write_at_most_64_kib)
{
    store *d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author");
    static store_obj *objs[100000];
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "author"), {0}},
                                  &objs[i]),
                     STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(store_update(d, objs[i * 9973], (store_value[]){STORE_V_INT("age", i), {0}}),
                     STORE_OK);
    long long before = written_so_far();
    cr_assert_eq(store_snapshot(d), STORE_OK);
    long long bytes = written_so_far() - before;
    store_stats st;
    store_stat(d, &st);
    cr_log_info("10 changes of 100,000: %lld bytes written, %zu records", bytes, st.last_written);
    cr_assert_eq(st.last_written, 10);
    cr_assert_leq(bytes, 64 * 1024, "%lld bytes written for 10 changes", bytes);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, a_second_open_of_the_same_file_is_ebusy_by_any_name)
{
    store *d = open_file(path, NULL);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    char link_path[160], hard_path[160];
    snprintf(link_path, sizeof link_path, "%s/symlink.db", dir);
    snprintf(hard_path, sizeof hard_path, "%s/hardlink.db", dir);
    cr_assert_eq(symlink(path, link_path), 0);
    cr_assert_eq(link(path, hard_path), 0);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    const char *names[] = {path, link_path, hard_path};
    for (int i = 0; i < 3; i++) {
        store *again = NULL;
        cr_assert_eq(store_open(&again, schema, names[i], NULL), STORE_EBUSY, "%s", names[i]);
        cr_assert_null(again);
        cr_assert(strstr(store_errmsg(NULL), "open elsewhere"));
    }
    pid_t pid = fork();
    if (pid == 0) {
        store *other = NULL;
        int rc = store_open(&other, schema, path, NULL);
        _exit(rc == STORE_EBUSY ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process got in");
    cr_assert(same_file(path, bytes, len));
    check_invariants(d);
    store_close(d);
    /* Once closed, it opens again. */
    d = open_file(link_path, NULL);
    check_invariants(d);
    store_close(d);
    free(bytes);
    remove_files();
}

Test(persist, a_forked_child_cannot_snapshot_the_parents_file)
{
    store *d = open_file(path, NULL);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    pid_t pid = fork();
    if (pid == 0) {
        store_model *A = store_model_find(d, "Author");
        store_create(d, A, (store_value[]){STORE_V_STR("name", "child"), {0}}, NULL);
        int a = store_snapshot(d), b = store_close(d);
        _exit(a == STORE_EFORK && b == STORE_EFORK ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert(same_file(path, bytes, len), "the child changed the parent's file");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    free(bytes);
    remove_files();
}

Test(persist, ids_handed_out_after_the_last_snapshot_may_come_again_after_a_crash)
{
    store *d = open_file(path, NULL);
    store_model *A = store_model_find(d, "Author");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, NULL), 0);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    pid_t pid = fork();
    if (pid == 0) {
        store_create(d, A, (store_value[]){STORE_V_STR("name", "lost"), {0}}, NULL);
        _exit(0); /* a crash: no snapshot, no close */
    }
    waitpid(pid, NULL, 0);
    check_invariants(d);
    store_close(d);
    d = open_file(path, NULL);
    store_obj *o;
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "again"), {0}}, &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 4, "the lost id 4 is handed out again");
    check_invariants(d);
    store_close(d);
    remove_files();
}

/* A schema like the library's, with one field of Author changed. */
static store_schema *changed_schema(const store_field *author)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Author", author), STORE_OK);
    store_field book[] = {
        {.name = "title", .type = STORE_CHAR, .max_length = 255},
        {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books"},
        {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited",
         .on_delete = STORE_SET_NULL, .null = true},
        {.name = "pages", .type = STORE_INT, STORE_DEFAULT_INT(0)},
        {.name = "isbn", .type = STORE_CHAR, .max_length = 13, .null = true, .unique = true},
        {0},
    };
    store_field review[] = {{.name = "book", .type = STORE_FK, .to = "Book",
                             .related_name = "reviews"},
                            {.name = "body", .type = STORE_TEXT}, {0}};
    store_field loan[] = {{.name = "book", .type = STORE_FK, .to = "Book",
                           .related_name = "loans", .on_delete = STORE_RESTRICT},
                          {.name = "who", .type = STORE_CHAR, .max_length = 32}, {0}};
    cr_assert_eq(store_schema_add(s, "Book", book), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Review", review), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Loan", loan), STORE_OK);
    return s;
}

static void expect_schema_refused(const store_field *author, const char *culprit)
{
    store *d = open_file(path, NULL);
    populate(d);
    check_invariants(d);
    store_close(d);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    store_schema *s = changed_schema(author);
    store *again = NULL;
    cr_assert_eq(store_open(&again, s, path, NULL), STORE_ESCHEMA);
    cr_assert_null(again);
    cr_assert(strstr(store_errmsg(NULL), culprit), "errmsg \"%s\"", store_errmsg(NULL));
    cr_assert(same_file(path, bytes, len), "a refused schema changed the file");
    store_schema_free(s);
    free(bytes);
}

Test(persist, a_changed_field_type_is_eschema_and_the_file_is_untouched)
{
    store_field author[] = {
        {.name = "name", .type = STORE_TEXT, .index = true},
        {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
        {.name = "age", .type = STORE_INT, .null = true},
        {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
        {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {0},
    };
    expect_schema_refused(author, "Author.name");
    remove_files();
}

Test(persist, a_removed_field_is_eschema_and_the_file_is_untouched)
{
    store_field author[] = {
        {.name = "name", .type = STORE_CHAR, .max_length = 255, .index = true},
        {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
        {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
        {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {0},
    };
    expect_schema_refused(author, "Author.age");
    remove_files();
}

Test(persist, a_new_required_field_is_eschema)
{
    store_field author[] = {
        {.name = "name", .type = STORE_CHAR, .max_length = 255, .index = true},
        {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
        {.name = "age", .type = STORE_INT, .null = true},
        {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
        {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {.name = "country", .type = STORE_CHAR, .max_length = 2},
        {0},
    };
    expect_schema_refused(author, "Author.country");
    remove_files();
}

Test(persist, a_new_nullable_field_and_a_new_model_are_migrated)
{
    store *d = open_file(path, NULL);
    populate(d);
    char *before = dump_of(d);
    check_invariants(d);
    store_close(d);
    store_field author[] = {
        {.name = "country", .type = STORE_CHAR, .max_length = 2, .null = true},
        {.name = "name", .type = STORE_CHAR, .max_length = 255, .index = true},
        {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
        {.name = "age", .type = STORE_INT, .null = true},
        {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
        {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {.name = "books_sold", .type = STORE_INT, STORE_DEFAULT_INT(7)},
        {0},
    };
    store_schema *s = changed_schema(author);
    store_field shelf[] = {{.name = "label", .type = STORE_TEXT}, {0}};
    cr_assert_eq(store_schema_add(s, "Shelf", shelf), STORE_OK);
    cr_assert_eq(store_open(&d, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *a;
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 2, &a), STORE_OK);
    cr_assert(store_is_null(a, "country"));
    cr_assert_eq(store_int(a, "books_sold"), 7);
    cr_assert_str_eq(store_str(a, "email"), "a1@x");
    cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_STR("country", "NZ"), {0}}), 0);
    cr_assert_eq(store_create(d, store_model_find(d, "Shelf"),
                              (store_value[]){STORE_V_STR("label", "new"), {0}}, NULL),
                 STORE_OK);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    /* The migrated file reopens with the new schema, values intact. */
    cr_assert_eq(store_open(&d, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 2, &a), STORE_OK);
    cr_assert_str_eq(store_str(a, "country"), "NZ");
    cr_assert_eq(store_model_count(store_model_find(d, "Shelf")), 1);
    cr_assert_eq(store_model_count(store_model_find(d, "Book")), 20);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
    free(before);
    remove_files();
}

Test(persist, a_read_only_open_refuses_changes_and_shares_the_file)
{
    store *d = open_file(path, NULL);
    populate(d);
    check_invariants(d);
    store_close(d);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    store_options ro = {.flags = STORE_OPEN_READONLY};
    store *r1 = open_file(path, &ro), *r2 = open_file(path, &ro);
    store_model *A = store_model_find(r1, "Author");
    store_obj *a;
    cr_assert_eq(store_get(r1, A, 1, &a), STORE_OK);
    cr_assert_eq(store_create(r1, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, NULL),
                 STORE_EINVAL);
    cr_assert_eq(store_update(r1, a, (store_value[]){STORE_V_INT("age", 1), {0}}), STORE_EINVAL);
    cr_assert_eq(store_delete(r1, a), STORE_EINVAL);
    cr_assert_eq(store_snapshot(r1), STORE_EINVAL);
    store *w = NULL;
    cr_assert_eq(store_open(&w, schema, path, NULL), STORE_EBUSY, "no writer while reading");
    check_invariants(r1);
    cr_assert_eq(store_close(r1), STORE_OK);
    check_invariants(r2);
    cr_assert_eq(store_close(r2), STORE_OK);
    cr_assert(same_file(path, bytes, len));
    free(bytes);
    remove_files();
}

Test(persist, a_read_only_open_of_a_missing_file_is_einval)
{
    store_options ro = {.flags = STORE_OPEN_READONLY};
    store *d = NULL;
    cr_assert_eq(store_open(&d, schema, path, &ro), STORE_EINVAL);
    cr_assert_null(d);
    remove_files();
}

Test(persist, a_backup_opens_as_the_same_store)
{
    store *d = open_file(path, NULL);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    char copy[160];
    snprintf(copy, sizeof copy, "%s/backup.db", dir);
    cr_assert_eq(store_backup(d, copy), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_backup(d, copy), STORE_EINVAL, "an existing file is not overwritten");
    char *live = dump_of(d);
    store *b = open_file(copy, NULL);
    char *backed = dump_of(b);
    cr_assert_str_eq(backed, live);
    check_invariants(b);
    store_close(b);
    check_invariants(d);
    store_close(d);
    store *mem;
    cr_assert_eq(store_open(&mem, schema, NULL, NULL), STORE_OK);
    cr_assert_eq(store_backup(mem, copy), STORE_EINVAL);
    check_invariants(mem);
    store_close(mem);
    /* The copy lives on: changed, snapshot and reopened (its LMDB transaction ids restart). */
    b = open_file(copy, NULL);
    cr_assert_eq(store_create(b, store_model_find(b, "Author"),
                              (store_value[]){STORE_V_STR("name", "after the copy"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_snapshot(b), STORE_OK);
    char *grown = dump_of(b);
    check_invariants(b);
    cr_assert_eq(store_close(b), STORE_OK);
    b = open_file(copy, NULL);
    char *again = dump_of(b);
    cr_assert_str_eq(again, grown);
    check_invariants(b);
    store_close(b);
    free(grown);
    free(again);
    free(live);
    free(backed);
    remove_files();
}

/* In a child: a file size limit makes the snapshot fail; memory must stay dirty and whole. */
static int snapshot_under_size_limit(void)
{
    store *d;
    if (store_open(&d, schema, path, NULL))
        return 10;
    populate(d);
    if (store_snapshot(d))
        return 11;
    store_obj *b;
    store_get(d, store_model_find(d, "Book"), 1, &b);
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (int i = 0; i < 400; i++) /* 1.6 MB more than the file holds */
        if (store_create(d, store_model_find(d, "Review"),
                         (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", big), {0}},
                         NULL))
            return 12;
    struct stat st;
    stat(path, &st);
    store_stats before, after;
    store_stat(d, &before);
    char *dump_before, *dump_after, *dump_reopened;
    rs_dump_store(d, &dump_before);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = (rlim_t)st.st_size, .rlim_max = RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &lim);
    if (store_snapshot(d) != STORE_ENOSPC)
        return 13;
    store_stat(d, &after);
    rs_dump_store(d, &dump_after);
    if (after.dirty != before.dirty || after.generation != before.generation ||
        strcmp(dump_before, dump_after))
        return 14;
    lim.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &lim);
    if (store_snapshot(d) || store_close(d))
        return 15;
    if (store_open(&d, schema, path, NULL))
        return 16;
    rs_dump_store(d, &dump_reopened);
    if (strcmp(dump_reopened, dump_before))
        return 17;
    store_close(d);
    free(dump_before);
    free(dump_after);
    free(dump_reopened);
    return 0;
}

Test(persist, a_full_disk_fails_the_snapshot_and_the_next_one_saves_everything)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(snapshot_under_size_limit());
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status), "the child died of signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "step %d failed", WEXITSTATUS(status));
    store *d = open_file(path, NULL);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, the_map_grows_by_itself_until_its_cap)
{
    store_options small = {.map_size = 1 << 20};
    store *d = open_file(path, &small);
    store_model *R = store_model_find(d, "Review");
    store_obj *b = NULL;
    populate(d);
    cr_assert_eq(store_get(d, store_model_find(d, "Book"), 1, &b), STORE_OK);
    char body[2000];
    memset(body, 'r', sizeof body - 1);
    body[sizeof body - 1] = 0;
    for (int i = 0; i < 4000; i++) /* about 8 MB of reviews */
        cr_assert_eq(store_create(d, R, (store_value[]){STORE_V_REF("book", b),
                                                        STORE_V_STR("body", body), {0}},
                                  NULL),
                     STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    store_stats st;
    store_stat(d, &st);
    cr_assert_geq(st.map_size, 8 << 20, "the map grew to %zu", st.map_size);
    check_invariants(d);
    store_close(d);

    /* With a cap below what is needed: STORE_EFULL, memory unchanged and still dirty. */
    char capped[160];
    snprintf(capped, sizeof capped, "%s/capped.db", dir);
    store_options cap = {.map_size = 1 << 20, .map_max = 2 << 20};
    d = open_file(capped, &cap);
    R = store_model_find(d, "Review");
    populate(d);
    cr_assert_eq(store_get(d, store_model_find(d, "Book"), 1, &b), STORE_OK);
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(store_create(d, R, (store_value[]){STORE_V_REF("book", b),
                                                        STORE_V_STR("body", body), {0}},
                                  NULL),
                     STORE_OK);
    char *before = dump_of(d);
    store_stat(d, &st);
    size_t dirty = st.dirty;
    cr_assert_eq(store_snapshot(d), STORE_EFULL);
    char *after = dump_of(d);
    cr_assert_str_eq(after, before);
    store_stat(d, &st);
    cr_assert_eq(st.dirty, dirty);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_EFULL, "close reports the failed snapshot");
    /* Raised, the same file takes it all. */
    cap.map_max = 64 << 20;
    d = open_file(capped, &cap);
    populate(d);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    check_invariants(d);
    store_close(d);
    free(before);
    free(after);
    remove_files();
}

Test(persist, an_in_memory_store_snapshots_as_a_no_op)
{
    cr_assert_eq(store_snapshot(db), STORE_OK);
    cr_assert_eq(store_snapshot(NULL), STORE_EINVAL);
    store_stats st;
    cr_assert_eq(store_stat(db, &st), STORE_OK);
    cr_assert_eq(st.generation, 0);
    cr_assert_eq(store_stat(NULL, &st), STORE_EINVAL);
    cr_assert_eq(store_stat(db, NULL), STORE_EINVAL);
    check_invariants(db);
    remove_files();
}

/* Reopens D's file and checks it holds exactly what D holds now; returns the reopened store. */
static store *reopen_same(store *d)
{
    char *before = dump_of(d);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(d));
    d = open_file(path, NULL);
    char *after = dump_of(d);
    cr_assert_str_eq(after, before);
    check_invariants(d);
    free(before);
    free(after);
    return d;
}

Test(persist, small_snapshots_go_to_the_log_and_a_large_one_folds_it)
{
    store *d = open_file(path, NULL);
    populate(d);
    store_obj *a, *b, *r;
    for (int round = 0; round < 6; round++) {
        store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
        store_model *R = store_model_find(d, "Review");
        cr_assert_eq(store_get(d, A, 1 + (uint64_t)round % 5, &a), STORE_OK);
        cr_assert_eq(store_create(d, B, (store_value[]){STORE_V_STR("title", "logged"),
                                                        STORE_V_REF("author", a), {0}},
                                  &b),
                     STORE_OK);
        cr_assert_eq(store_get(d, B, 1 + (uint64_t)round, &r), STORE_OK);
        cr_assert_eq(store_update(d, r, (store_value[]){STORE_V_REF("author", a),
                                                        STORE_V_INT("pages", round), {0}}),
                     STORE_OK);
        cr_assert_eq(store_get(d, R, 1 + (uint64_t)round, &r), STORE_OK);
        cr_assert_eq(store_delete(d, r), STORE_OK);
        if (round == 3) {
            /* More than the log takes in one entry: this snapshot folds the log. */
            static char body[100000];
            memset(body, 'b', sizeof body - 1);
            for (int i = 0; i < 20; i++)
                cr_assert_eq(store_create(d, R, (store_value[]){STORE_V_REF("book", b),
                                                                STORE_V_STR("body", body), {0}},
                                          NULL),
                             STORE_OK);
        }
        cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
        store_stats st;
        store_stat(d, &st);
        /* Rounds 0-2 go to the log, 3 folds it, 4-5 go to the log again. */
        size_t want[] = {1, 2, 3, 0, 1, 2};
        cr_assert_eq(st.log_entries, want[round], "round %d: %zu log entries", round,
                     st.log_entries);
        d = reopen_same(d);
    }
    check_invariants(d);
    store_close(d);
    remove_files();
}

/* In a child: makes one change under OPTS, waits for WAIT (a policy's promise), dies. */
static void change_then_crash(const store_options *opts, bool wait_for_generation)
{
    pid_t pid = fork();
    if (pid == 0) {
        store *d;
        if (store_open(&d, schema, path, opts))
            _exit(1);
        if (store_create(d, store_model_find(d, "Author"),
                         (store_value[]){STORE_V_STR("name", "durable"), {0}}, NULL))
            _exit(2);
        for (int i = 0; wait_for_generation && i < 5000; i++) {
            store_stats st;
            store_stat(d, &st);
            if (st.generation > 0 && st.dirty == 0)
                break;
            usleep(1000);
        }
        _exit(0); /* no snapshot, no close */
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(persist, each_write_makes_every_change_durable_before_it_returns)
{
    store_options each = {.durability = STORE_DURABLE_EACH_WRITE};
    change_then_crash(&each, false);
    store *d = open_file(path, NULL);
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 1);
    check_invariants(d);
    store_close(d);
    d = open_file(path, &each);
    store_obj *a;
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 1, &a), STORE_OK);
    cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_INT("age", 9), {0}}), STORE_OK);
    store_stats st;
    store_stat(d, &st);
    cr_assert_eq(st.dirty, 0);
    cr_assert_eq(st.generation, 2);
    cr_assert_eq(store_delete(d, a), STORE_OK);
    store_stat(d, &st);
    cr_assert_eq(st.deleted, 0);
    cr_assert_eq(st.generation, 3);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, interval_snapshots_in_the_background)
{
    store_options every = {.durability = STORE_DURABLE_INTERVAL, .interval_ms = 10};
    change_then_crash(&every, true);
    store *d = open_file(path, NULL);
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 1,
                 "the background snapshot saved the change before the crash");
    check_invariants(d);
    store_close(d);
    /* A clean close stops the thread and saves what is left. */
    d = open_file(path, &every);
    populate(d);
    char *before = dump_of(d);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    d = open_file(path, NULL);
    char *after = dump_of(d);
    cr_assert_str_eq(after, before);
    store_stats st;
    store_stat(d, &st);
    cr_assert_eq(st.last_error, STORE_OK);
    check_invariants(d);
    store_close(d);
    free(before);
    free(after);
    remove_files();
}

Test(persist, manual_loses_what_was_not_snapshot)
{
    change_then_crash(NULL, false);
    store *d = open_file(path, NULL);
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 0);
    check_invariants(d);
    store_close(d);
    remove_files();
}

/* In a child with descriptors 0-2 closed: open, write junk to fd 2, snapshot, close. */
static int open_with_std_fds_closed(void)
{
    close(0);
    close(1);
    close(2);
    store *d;
    if (store_open(&d, schema, path, NULL))
        return 10;
    /* Whatever now holds fd 2 (nothing of ours), a stray diagnostic must not reach the file. */
    for (int i = 0; i < 100; i++)
        if (write(2, "STRAY DIAGNOSTIC ", 17) < 0)
            break;
    populate(d);
    if (store_snapshot(d) || store_close(d))
        return 11;
    return 0;
}

Test(persist, closed_standard_descriptors_never_receive_the_data_file)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(open_with_std_fds_closed());
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d", WEXITSTATUS(status));
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    cr_assert_null(memmem(bytes, len, "STRAY", 5), "a write to fd 2 landed in the data file");
    free(bytes);
    store *d = open_file(path, NULL);
    cr_assert_eq(store_model_count(store_model_find(d, "Book")), 20);
    check_invariants(d);
    store_close(d);
    remove_files();
}

Test(persist, a_nosync_store_still_snapshots_and_reloads)
{
    store_options fast = {.flags = STORE_OPEN_NOSYNC};
    store *d = open_file(path, &fast);
    populate(d);
    d = reopen_same(d);
    check_invariants(d);
    store_close(d);
    store_options bad = {.flags = STORE_OPEN_NOSYNC | (1u << 9)};
    cr_assert_eq(store_open(&d, schema, path, &bad), STORE_EINVAL);
    remove_files();
}

Test(persist, a_migrated_field_keeps_the_default_it_was_given)
{
    store *d = open_file(path, NULL);
    populate(d);
    check_invariants(d);
    store_close(d);
    store_field v2[] = {
        {.name = "name", .type = STORE_CHAR, .max_length = 255, .index = true},
        {.name = "email", .type = STORE_CHAR, .max_length = 64, .null = true, .unique = true},
        {.name = "age", .type = STORE_INT, .null = true},
        {.name = "rating", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(0.5)},
        {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {.name = "stars", .type = STORE_INT, STORE_DEFAULT_INT(5)},
        {0},
    };
    store_schema *s2 = changed_schema(v2);
    cr_assert_eq(store_open(&d, s2, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    check_invariants(d);
    store_close(d); /* nothing touched; the migration itself is saved */
    v2[5] = (store_field){.name = "stars", .type = STORE_INT, STORE_DEFAULT_INT(7)};
    store_schema *s3 = changed_schema(v2);
    cr_assert_eq(store_open(&d, s3, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *a;
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 1, &a), STORE_OK);
    cr_assert_eq(store_int(a, "stars"), 5, "an untouched object changed with the default");
    check_invariants(d);
    store_close(d);
    store_schema_free(s2);
    store_schema_free(s3);
    remove_files();
}

Test(persist, each_write_reports_a_failed_snapshot_with_the_change_made)
{
    store_options o = {.durability = STORE_DURABLE_EACH_WRITE, .map_size = 1 << 20,
                       .map_max = 1 << 20};
    store *d = open_file(path, &o);
    static char body[60000];
    memset(body, 'x', sizeof body - 1);
    store_obj *b = NULL, *r = NULL;
    populate(d);
    store_get(d, store_model_find(d, "Book"), 1, &b);
    int rc = STORE_OK;
    for (int i = 0; i < 100 && rc == STORE_OK; i++)
        rc = store_create(d, store_model_find(d, "Review"),
                          (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", body), {0}},
                          &r);
    cr_assert_eq(rc, STORE_EFULL);
    cr_assert_not_null(r);
    store_obj *found;
    cr_assert_eq(store_get(d, store_model_find(d, "Review"), store_id(r), &found), STORE_OK,
                 "the change is made in memory, as documented");
    store_stats st;
    store_stat(d, &st);
    cr_assert_geq(st.dirty, 1, "and still pending");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_EFULL);
    remove_files();
}

/* The schema read back from a file (store_open() with a NULL schema) holds every attribute
 * of every field: types, max_length, null, unique, index, ordered, and a default of each kind
 * (recorded since format 2), as the accessors a tool uses return them. */
Test(persist, a_file_opened_without_a_schema_gives_back_every_attribute_and_default)
{
    static const store_field kinds[] = {
        {.name = "code", .type = STORE_CHAR, .max_length = 12, .unique = true},
        {.name = "label", .type = STORE_CHAR, .max_length = 40, STORE_DEFAULT_STR("née ☃")},
        {.name = "note", .type = STORE_TEXT, .null = true},
        {.name = "count", .type = STORE_INT, .index = true, STORE_DEFAULT_INT(-7)},
        {.name = "price", .type = STORE_FLOAT, .ordered = true, STORE_DEFAULT_FLOAT(9.99)},
        {.name = "on", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
        {.name = "off", .type = STORE_BOOL, .null = true, STORE_DEFAULT_BOOL(false)},
        {0},
    };
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Kind", kinds), STORE_OK, "%s", store_errmsg(NULL));
    store *d;
    cr_assert_eq(store_open(&d, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_close(d), STORE_OK);
    store_schema_free(s);

    store_options ro = {.flags = STORE_OPEN_READONLY};
    cr_assert_eq(store_open(&d, NULL, path, &ro), STORE_OK, "%s", store_errmsg(NULL));
    store_model *m = store_model_find(d, "Kind");
    cr_assert_not_null(m);
    for (size_t i = 0; kinds[i].name; i++) {
        const store_fld *f = store_field_at(m, i);
        const store_field *k = &kinds[i];
        cr_assert_str_eq(store_field_name(f), k->name);
        cr_expect_eq(store_field_type(f), k->type, "%s", k->name);
        cr_expect_eq(store_field_max_length(f), k->max_length, "%s", k->name);
        cr_expect_eq(store_field_null(f), k->null, "%s", k->name);
        cr_expect_eq(store_field_unique(f), k->unique, "%s", k->name);
        cr_expect_eq(store_field_indexed(f), k->index, "%s", k->name);
        cr_expect_eq(store_field_ordered(f), k->ordered, "%s", k->name);
        store_value v;
        bool has = store_field_default(f, &v);
        cr_expect_eq(has, k->default_value.kind != STORE_KIND_NONE, "%s", k->name);
        if (!has)
            continue;
        cr_expect_eq(v.kind, k->default_value.kind, "%s", k->name);
        cr_expect_str_eq(v.name, k->name);
        switch (v.kind) {
        case STORE_KIND_STR:
            cr_expect_str_eq(v.u.s, k->default_value.u.s);
            break;
        case STORE_KIND_INT:
            cr_expect_eq(v.u.i, k->default_value.u.i);
            break;
        case STORE_KIND_FLOAT:
            cr_expect_eq(v.u.f, k->default_value.u.f);
            break;
        default:
            cr_expect_eq(v.u.b, k->default_value.u.b, "%s", k->name);
        }
    }
    store_value v;
    cr_expect_not(store_field_default(NULL, &v));
    cr_expect_not(store_field_default(store_field_at(m, 0), NULL));
    cr_expect_not(store_field_null(NULL));
    cr_expect_eq(store_field_max_length(store_field_at(m, 2)), 0, "TEXT has no max_length");
    store_stats st;
    store_stat(d, &st);
    cr_expect_eq(st.format_version, 2);
    cr_assert_eq(store_close(d), STORE_OK);
}
