/*
 * tests/test_values.c - values the store must refuse or keep honestly: a new .unique field
 * whose default would repeat, a default related_name too long to be a name, NaN and the
 * infinities in FLOAT fields (and how the inspector prints them), and the smallest holder of
 * an .index value found in O(1) however large its group.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"

TestSuite(values, .init = library_files_setup, .fini = library_files_teardown,
          .timeout = 240);

/* ---- Small helpers ------------------------------------------------------------------------ */

/* A schema of one model NAME with FIELDS. */
static store_schema *one_model(const char *name, const store_field *fields)
{
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, name, fields), STORE_OK, "%s", store_errmsg(NULL));
    return s;
}

/* The whole file at P, in *LEN bytes; the caller frees it. */
static char *file_bytes(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_geq(n, 0);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- A new .unique field with a default --------------------------------------------------- */

static const store_field tag_v1[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 16},
    {0},
};

static const store_field tag_v2[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 16},
    {.name = "code", .type = STORE_INT, .unique = true, STORE_DEFAULT_INT(7)},
    {0},
};

/* Writes a file of N tags with the first schema. */
static void tags_file(int n)
{
    store_schema *s = one_model("Tag", tag_v1);
    store *d;
    cr_assert_eq(store_open(&d, s, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *tag = store_model_find(d, "Tag");
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(store_create(d, tag, (store_value[]){STORE_V_STR("name", name), {0}}, NULL),
                     STORE_OK);
    }
    cr_assert_eq(store_close(d), STORE_OK);
    store_schema_free(s);
}

Test(values, a_new_unique_field_with_a_default_on_two_objects_is_eschema)
{
    tags_file(2);
    size_t len_before, len_after;
    char *before = file_bytes(test_path, &len_before);
    store_schema *s = one_model("Tag", tag_v2);
    store *d;
    int rc = store_open(&d, s, test_path, NULL);
    const char *msg = store_errmsg(NULL);
    cr_assert_eq(rc, STORE_ESCHEMA, "%s: %s", store_strerror(rc), msg);
    cr_assert(strstr(msg, "Tag.code") && strstr(msg, "unique") && strstr(msg, "2 objects"),
              "%s", msg);
    char *after = file_bytes(test_path, &len_after);
    cr_assert(len_before == len_after && !memcmp(before, after, len_before), "file changed");
    free(before);
    free(after);
    store_schema_free(s);
    /* The file still opens with its own schema, both objects in it. */
    s = one_model("Tag", tag_v1);
    cr_assert_eq(store_open(&d, s, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_model_count(store_model_find(d, "Tag")), 2);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

Test(values, a_new_unique_field_with_a_default_on_one_object_is_added)
{
    tags_file(1);
    store_schema *s = one_model("Tag", tag_v2);
    store *d;
    cr_assert_eq(store_open(&d, s, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *o;
    cr_assert_eq(store_get_by(d, store_model_find(d, "Tag"), "code",
                              &(store_value)STORE_V_INT("code", 7), &o),
                 STORE_OK);
    cr_assert_eq(store_id(o), 1);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

/* ---- The default related_name of a long model name ---------------------------------------- */

/* Opens, in memory, a schema where a model whose name is N bytes has a FK without
 * related_name to Parent; returns the code. */
static int long_child(size_t n)
{
    char name[STORE_NAME_MAX + 1];
    memset(name, 'x', n);
    name[0] = 'C';
    name[n] = 0;
    store_schema *s = one_model("Parent", tag_v1);
    const store_field child[] = {
        {.name = "parent", .type = STORE_FK, .to = "Parent"},
        {0},
    };
    cr_assert_eq(store_schema_add(s, name, child), STORE_OK, "%s", store_errmsg(NULL));
    store *d = NULL;
    int rc = store_open(&d, s, NULL, NULL);
    if (!rc) {
        char rel[STORE_NAME_MAX + 2];
        memcpy(rel, name, n);
        rel[0] = 'c';
        memcpy(rel + n, "s", 2);
        cr_assert_not_null(store_relation_find(store_model_find(d, "Parent"), rel));
    }
    store_close(d);
    store_schema_free(s);
    return rc;
}

Test(values, a_255_byte_model_without_related_name_is_refused_in_a_whole_message)
{
    int rc = long_child(STORE_NAME_MAX);
    const char *msg = store_errmsg(NULL);
    cr_assert_eq(rc, STORE_ESCHEMA, "%s: %s", store_strerror(rc), msg);
    /* The detail buffer holds 255 bytes: a message that long was cut off. */
    cr_assert_lt(strlen(msg), 200, "%zu bytes: %s", strlen(msg), msg);
    cr_assert(strstr(msg, "255 bytes") && strstr(msg, ".parent:") &&
                  strstr(msg, "give the FK a related_name"),
              "%s", msg);
    cr_assert_eq(long_child(STORE_NAME_MAX - 1), STORE_OK, "%s", store_errmsg(NULL));
}

/* ---- FLOAT: NaN refused, infinities kept -------------------------------------------------- */

Test(values, nan_is_einval_on_create_and_update)
{
    const char *before = dump_store(db);
    int rc = store_create(db, Author,
                          (store_value[]){STORE_V_STR("name", "A"),
                                          STORE_V_FLOAT("rating", NAN), {0}},
                          NULL);
    cr_assert_eq(rc, STORE_EINVAL, "%s", store_strerror(rc));
    cr_assert(strstr(store_errmsg(db), "Author.rating") && strstr(store_errmsg(db), "NaN"),
              "%s", store_errmsg(db));
    cr_assert(same_store(db, before));
    store_obj *a = make_author("A");
    before = dump_store(db);
    rc = store_update(db, a, (store_value[]){STORE_V_FLOAT("rating", -NAN), {0}});
    cr_assert_eq(rc, STORE_EINVAL, "%s", store_strerror(rc));
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(values, a_nan_default_is_eschema)
{
    const store_field f[] = {
        {.name = "x", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(NAN)},
        {0},
    };
    store_schema *s = one_model("Gauge", f);
    store *d;
    int rc = store_open(&d, s, NULL, NULL);
    cr_assert_eq(rc, STORE_ESCHEMA, "%s", store_strerror(rc));
    cr_assert(strstr(store_errmsg(NULL), "Gauge.x"), "%s", store_errmsg(NULL));
    store_schema_free(s);
}

static const store_field gauge_fields[] = {
    {.name = "model", .type = STORE_CHAR, .max_length = 8},
    {.name = "x", .type = STORE_FLOAT},
    {.name = "y", .type = STORE_FLOAT, .null = true},
    {0},
};

/* Writes a file of gauges: (m, inf, -inf), (n, 1.5, null). */
static void gauges_file(void)
{
    store_schema *s = one_model("Gauge", gauge_fields);
    store *d;
    cr_assert_eq(store_open(&d, s, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *g = store_model_find(d, "Gauge");
    cr_assert_eq(store_create(d, g,
                              (store_value[]){STORE_V_STR("model", "m"),
                                              STORE_V_FLOAT("x", INFINITY),
                                              STORE_V_FLOAT("y", -INFINITY), {0}},
                              NULL),
                 STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_create(d, g,
                              (store_value[]){STORE_V_STR("model", "n"),
                                              STORE_V_FLOAT("x", 1.5), {0}},
                              NULL),
                 STORE_OK, "%s", store_errmsg(d));
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    store_schema_free(s);
}

Test(values, infinities_are_stored_and_read_back)
{
    gauges_file();
    store_schema *s = one_model("Gauge", gauge_fields);
    store *d;
    cr_assert_eq(store_open(&d, s, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *o;
    cr_assert_eq(store_get(d, store_model_find(d, "Gauge"), 1, &o), STORE_OK);
    cr_assert(isinf(store_float(o, "x")) && store_float(o, "x") > 0);
    cr_assert(isinf(store_float(o, "y")) && store_float(o, "y") < 0);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}

/* Runs the inspector (beside this test in the build tree) as `relstore CMD [OPT] path`; its
 * exit code, or -1 if a signal ended it (it has 20 seconds). Its output goes to OUT. */
static int run_inspector(const char *cmd, const char *opt, char *out, size_t size)
{
    char self[512], tool[600], file[160];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(tool, sizeof tool, "%s/../tools/relstore", self);
    cr_assert_eq(access(tool, X_OK), 0, "no inspector at %s", tool);
    snprintf(file, sizeof file, "%s/out.txt", test_dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(127);
        alarm(20); /* kept across exec */
        if (opt)
            execl(tool, "relstore", cmd, opt, test_path, (char *)NULL);
        else
            execl(tool, "relstore", cmd, test_path, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f);
    size_t got = fread(out, 1, size - 1, f);
    out[got] = 0;
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(values, dump_json_keeps_every_field_apart_from_its_own_keys)
{
    gauges_file();
    char out[1024];
    cr_assert_eq(run_inspector("dump", "--json", out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out,
                     "{\"model\":\"Gauge\",\"id\":1,\"fields\":"
                     "{\"model\":\"m\",\"x\":\"inf\",\"y\":\"-inf\"}}\n"
                     "{\"model\":\"Gauge\",\"id\":2,\"fields\":"
                     "{\"model\":\"n\",\"x\":1.5,\"y\":null}}\n");
    cr_assert_eq(run_inspector("dump", NULL, out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "Gauge 1 model=\"m\" x=\"inf\" y=\"-inf\"\n"
                          "Gauge 2 model=\"n\" x=1.5 y=null\n");
}

/* ---- get_by on a large .index group ------------------------------------------------------- */

/* The smallest id of an Author named NAME, by walking them all. */
static uint64_t smallest_named(const char *name)
{
    uint64_t pos = 0;
    for (store_obj *o; (o = store_model_scan(Author, &pos));)
        if (!strcmp(store_str(o, "name"), name))
            return store_id(o);
    return 0;
}

static uint64_t get_by_name(const char *name)
{
    store_obj *o = NULL;
    int rc = store_get_by(db, Author, "name", &(store_value)STORE_V_STR("name", name), &o);
    cr_assert(rc == STORE_OK || rc == STORE_ENOTFOUND, "%s", store_strerror(rc));
    return store_id(o);
}

static void rename_author(uint64_t id, const char *name)
{
    store_obj *o;
    cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
    cr_assert_eq(store_update(db, o, (store_value[]){STORE_V_STR("name", name), {0}}), STORE_OK,
                 "%s", store_errmsg(db));
}

/*
 * A million holders of one value. The smallest is deleted or renamed away, objects with
 * small ids move back in, and each time get_by agrees with a walk over every author. Then
 * 200,000 rounds of "delete the smallest, look it up again": at O(group) a lookup costs
 * milliseconds here and the rounds outrun the suite's timeout; at O(1) they take a moment.
 */
Test(values, get_by_on_a_million_holders_gives_the_smallest_live_id)
{
    enum { N = 1000000, ROUNDS = 200000 };
    for (int i = 0; i < N; i++) {
        cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", "same"), {0}},
                                  NULL),
                     STORE_OK);
    }
    cr_assert_eq(get_by_name("same"), 1);
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 1, &o), STORE_OK);
    cr_assert_eq(store_delete(db, o), STORE_OK);
    cr_assert_eq(get_by_name("same"), smallest_named("same"));
    cr_assert_eq(get_by_name("same"), 2);
    rename_author(2, "other");
    rename_author(500000, "other");
    cr_assert_eq(get_by_name("same"), smallest_named("same"));
    cr_assert_eq(get_by_name("same"), 3);
    cr_assert_eq(get_by_name("other"), 2);
    rename_author(500000, "same"); /* back into the middle of the group */
    rename_author(2, "same");      /* back in at its head */
    cr_assert_eq(get_by_name("same"), smallest_named("same"));
    cr_assert_eq(get_by_name("same"), 2);
    cr_assert_eq(get_by_name("other"), 0);
    rename_author(2, "same"); /* the same value again: stays where it is */
    cr_assert_eq(get_by_name("same"), 2);
    check_invariants(db);
    for (uint64_t want = 2; want < 2 + ROUNDS; want++) {
        cr_assert_eq(store_get(db, Author, want, &o), STORE_OK);
        cr_assert_eq(get_by_name("same"), want);
        cr_assert_eq(store_delete(db, o), STORE_OK);
    }
    cr_assert_eq(get_by_name("same"), smallest_named("same"));
    check_invariants(db);
}

/* A group rebuilt on load keeps its smallest id first, objects from the change log included. */
Test(values, a_reloaded_group_gives_the_smallest_live_id)
{
    store_close(db);
    cr_assert_eq(store_open(&db, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    Author = store_model_find(db, "Author");
    for (int i = 0; i < 20; i++)
        make_author(i % 2 ? "odd" : "even");
    cr_assert_eq(store_snapshot(db), STORE_OK);
    for (int i = 0; i < 20; i++) {
        make_author(i % 2 ? "odd" : "even");
        cr_assert_eq(store_snapshot(db), STORE_OK); /* small: into the change log */
    }
    rename_author(1, "odd");
    rename_author(2, "gone");
    cr_assert_eq(store_close(db), STORE_OK);
    cr_assert_eq(store_open(&db, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    Author = store_model_find(db, "Author");
    check_invariants(db);
    cr_assert_eq(get_by_name("odd"), 1);
    cr_assert_eq(get_by_name("even"), 3);
    cr_assert_eq(get_by_name("even"), smallest_named("even"));
    cr_assert_eq(get_by_name("gone"), 2);
}
