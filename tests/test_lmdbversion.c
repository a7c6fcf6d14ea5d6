/*
 * tests/test_lmdbversion.c - store_open() refuses an LMDB library whose file format relstore
 * does not know (persist/lmdb_format.h describes the 0.9 series), before touching any file.
 *
 * The executable is linked with --wrap=mdb_version, so every call the library makes to
 * mdb_version() comes here: a test sets the version it reports, or leaves the real one. A
 * refusal must be STORE_ENOTSUP, name both the library's version and the one relstore knows, and
 * leave the directory as it was: no data file, no PATH-lock.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/helpers.h"

char *__real_mdb_version(int *major, int *minor, int *patch);
char *__wrap_mdb_version(int *major, int *minor, int *patch);

/* The version mdb_version() reports; a major of -1 reports the real library's. Each test
 * runs in its own process, so a test's setting ends with it. */
static int fake[3] = {-1, 0, 0};
static int calls; /* how often relstore asked */

char *__wrap_mdb_version(int *major, int *minor, int *patch)
{
    calls++;
    if (fake[0] < 0)
        return __real_mdb_version(major, minor, patch);
    if (major)
        *major = fake[0];
    if (minor)
        *minor = fake[1];
    if (patch)
        *patch = fake[2];
    return "a library under test";
}

static char dir[64], path[128];

static void version_setup(void)
{
    library_setup();
    test_dir_new(dir, path, "lmdbversion");
}

static void version_teardown(void)
{
    library_teardown();
    test_dir_remove(dir);
}

TestSuite(lmdbversion, .init = version_setup, .fini = version_teardown, .timeout = 60);

static void pretend(int major, int minor, int patch)
{
    fake[0] = major;
    fake[1] = minor;
    fake[2] = patch;
}

/* Sets the access and modification times of P to a moment long past: any write to P (or, for
 * the directory, any file made or removed in it) then shows in its modification time. */
static void age(const char *p)
{
    const struct timespec past[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    cr_assert_eq(utimensat(AT_FDCWD, p, past, 0), 0, "utimensat %s", p);
}

/* What the directory holds, into BUF of SIZE bytes: its own modification time, then each
 * entry's name, size and modification time, sorted by name. With AGED, every time is first
 * set to the past (age()). Returns the number of entries. */
static int dir_state(char *buf, size_t size, bool aged)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), entries = 0;
    cr_assert_geq(n, 0, "scandir %s", dir);
    struct stat st;
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        char p[sizeof dir + sizeof names[i]->d_name + 1];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            if (aged)
                age(p);
            cr_assert_eq(stat(p, &st), 0, "stat %s", p);
            snprintf(buf + strlen(buf), size - strlen(buf), "%s:%lld:%lld.%09ld ", names[i]->d_name,
                     (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
            entries++;
        }
        free(names[i]);
    }
    free(names);
    if (aged)
        age(dir);
    cr_assert_eq(stat(dir, &st), 0, "stat %s", dir);
    snprintf(buf + strlen(buf), size - strlen(buf), "dir:%lld.%09ld", (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec);
    return entries;
}

/* A store file at PATH, written under the real library: one author, snapshot, closed. */
static void make_store_file(void)
{
    store *d = NULL;
    int rc = store_open(&d, schema, path, NULL);
    cr_assert_eq(rc, STORE_OK, "%s (%s)", store_strerror(rc), store_errmsg(NULL));
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "Ann"), {0}}, NULL),
                 STORE_OK, "%s", store_errmsg(d));
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
}

/* Opens PATH (with the schema, or read-only with the file's when WITH_SCHEMA is false) under
 * the pretended VERSION, and asserts the refusal: the code, the message, *OUT untouched, and
 * the directory as it was: no file made (and removed again), none written. Returns the number
 * of files in the directory. */
static int assert_refused(bool with_schema, const char *version)
{
    char before[1024], after[1024];
    dir_state(before, sizeof before, true);
    store *d = (store *)&calls; /* any non-NULL value: it must stay as it is */
    store_options ro = {.flags = STORE_OPEN_READONLY};
    calls = 0;
    int rc = store_open(&d, with_schema ? schema : NULL, path, with_schema ? NULL : &ro);
    cr_assert_eq(rc, STORE_ENOTSUP, "LMDB %s: %s (%s)", version, store_strerror(rc),
                 store_errmsg(NULL));
    cr_assert_eq(d, (store *)&calls, "*OUT was changed by a failed open");
    cr_assert_geq(calls, 1, "relstore never asked the library's version");
    const char *msg = store_errmsg(NULL);
    cr_log_info("%s", msg);
    char want[64];
    snprintf(want, sizeof want, "LMDB %s is not supported", version);
    cr_assert(strstr(msg, want), "the message does not say \"%s\": %s", want, msg);
    cr_assert(strstr(msg, "LMDB 0.9"), "the message does not name LMDB 0.9: %s", msg);
    cr_assert(strstr(msg, path), "the message does not name the file: %s", msg);
    int entries = dir_state(after, sizeof after, false);
    cr_assert_str_eq(after, before, "the directory or a file in it changed");
    return entries;
}

Test(lmdbversion, refuses_lmdb_1_0_0_before_making_any_file)
{
    pretend(1, 0, 0);
    cr_assert_eq(assert_refused(true, "1.0.0"), 0);
}

Test(lmdbversion, refuses_lmdb_0_8_before_making_any_file)
{
    pretend(0, 8, 6);
    cr_assert_eq(assert_refused(true, "0.8.6"), 0);
}

Test(lmdbversion, refuses_another_minor_or_major_series)
{
    pretend(0, 10, 0);
    assert_refused(true, "0.10.0");
    pretend(1, 9, 0);
    assert_refused(true, "1.9.0");
}

Test(lmdbversion, refuses_an_existing_file_and_leaves_it_untouched)
{
    make_store_file();
    pretend(1, 0, 0);
    cr_assert_eq(assert_refused(true, "1.0.0"), 2, "the data file and PATH-lock");
    /* The schema read from the file (store_open with no schema) is refused the same way. */
    assert_refused(false, "1.0.0");
}

Test(lmdbversion, opens_with_the_real_library)
{
    int major = -1, minor = -1, patch = -1;
    __real_mdb_version(&major, &minor, &patch);
    cr_assert(major == 0 && minor == 9, "the tests run on LMDB %d.%d.%d", major, minor, patch);
    make_store_file();
    store *d = NULL;
    calls = 0;
    int rc = store_open(&d, schema, path, NULL);
    cr_assert_eq(rc, STORE_OK, "%s (%s)", store_strerror(rc), store_errmsg(NULL));
    cr_assert_geq(calls, 1, "relstore never asked the library's version");
    store_stats st;
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_eq(st.objects, 1);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
}

/* LMDB keeps one data format across 0.9: any patch level opens a file of another. */
Test(lmdbversion, accepts_any_patch_level_of_0_9)
{
    make_store_file();
    const int patches[] = {0, 24, 99};
    for (size_t i = 0; i < sizeof patches / sizeof *patches; i++) {
        pretend(0, 9, patches[i]);
        store *d = NULL;
        int rc = store_open(&d, schema, path, NULL);
        cr_assert_eq(rc, STORE_OK, "LMDB 0.9.%d: %s (%s)", patches[i], store_strerror(rc),
                     store_errmsg(NULL));
        check_invariants(d);
        cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
    }
}

/* A store without a file never reaches LMDB, whatever its version. */
Test(lmdbversion, a_store_in_memory_does_not_ask)
{
    pretend(1, 0, 0);
    store *d = NULL;
    calls = 0;
    cr_assert_eq(store_open(&d, schema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(calls, 0);
    cr_assert_eq(store_close(d), STORE_OK);
}
