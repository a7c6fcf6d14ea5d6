/*
 * tests/test_errors.c - honest errors: each failure of opening, snapshotting and backing up
 * a file gives the code that says what went wrong, a detail that names the file, and leaves
 * behind no file that the failed call made.
 *
 * A full disk is met twice: as a file size limit (RLIMIT_FSIZE, in a forked child), which,
 * like a disk that fills up, first cuts a write short and then refuses the next one; and as
 * an I/O call that fails with ENOSPC, through the interposer of tests/iofault.c.
 */
#include <errno.h>
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
#include "tests/iofault.h"

static char dir[64], path[128], lock[160];

static void files_setup(void)
{
    iofault_init();
    library_setup();
    test_dir_new(dir, path, "errors");
    snprintf(lock, sizeof lock, "%s-lock", path);
}

static void files_teardown(void)
{
    iofault_watch(NULL);
    library_teardown();
    test_dir_remove(dir);
}

TestSuite(errors, .init = files_setup, .fini = files_teardown, .timeout = 300);

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static store *open_file(const char *p, const store_options *opts)
{
    store *d = NULL;
    int rc = store_open(&d, schema, p, opts);
    cr_assert_eq(rc, STORE_OK, "open %s: %s (%s)", p, store_strerror(rc), store_errmsg(NULL));
    return d;
}

static store_obj *author(store *d, const char *name)
{
    store_obj *a;
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", name), {0}}, &a),
                 STORE_OK, "%s", store_errmsg(d));
    return a;
}

/* N reviews of BODY_LEN bytes each, under one new author's one book. */
static void reviews(store *d, int n, size_t body_len)
{
    store_obj *b;
    cr_assert_eq(store_create(d, store_model_find(d, "Book"),
                              (store_value[]){STORE_V_STR("title", "reviewed"),
                                              STORE_V_REF("author", author(d, "critic")), {0}},
                              &b),
                 STORE_OK);
    char *body = malloc(body_len + 1);
    cr_assert_not_null(body);
    memset(body, 'r', body_len);
    body[body_len] = 0;
    for (int i = 0; i < n; i++)
        cr_assert_eq(store_create(d, store_model_find(d, "Review"),
                                  (store_value[]){STORE_V_REF("book", b),
                                                  STORE_V_STR("body", body), {0}},
                                  NULL),
                     STORE_OK);
    free(body);
}

static char *dump_of(store *d)
{
    char *text;
    cr_assert_eq(rs_dump_store(d, &text), STORE_OK);
    return text;
}

/* A store file at PATH holding a snapshot of a few objects, closed. */
static void make_store_file(const char *p)
{
    store *d = open_file(p, NULL);
    author(d, "Ann");
    author(d, "Bob");
    cr_assert_eq(store_snapshot(d), STORE_OK);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* Runs FN in a forked child (it may change limits and signals); its exit code must be 0. */
static void in_child(int (*fn)(void), const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(fn());
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "%s: the child died of signal %d", what, WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "%s: step %d failed", what, WEXITSTATUS(status));
}

/* A file size limit of LIMIT bytes (RLIM_INFINITY lifts it); SIGXFSZ is ignored. */
static void size_limit(rlim_t limit)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim;
    getrlimit(RLIMIT_FSIZE, &lim);
    lim.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &lim);
}

/* ---- A failed open ------------------------------------------------------------------------ */

Test(errors, every_failed_open_of_a_new_file_names_it_and_leaves_no_file_behind)
{
    long failures = 0;
    int rc = -1;
    store *d = NULL;
    for (long n = 0; rc != STORE_OK; n++) {
        fail_alloc_at(n);
        rc = store_open(&d, schema, path, NULL);
        fail_alloc_at(-1);
        if (rc == STORE_OK)
            break;
        failures++;
        const char *msg = store_errmsg(NULL);
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc), msg);
        cr_assert(strstr(msg, path), "allocation %ld: the detail names no path: \"%s\"", n, msg);
        cr_assert(!exists(path), "allocation %ld: the failed open left %s", n, path);
        cr_assert(!exists(lock), "allocation %ld: the failed open left %s", n, lock);
    }
    cr_assert_gt(failures, 5);
    author(d, "after the failures");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert(exists(path) && exists(lock));
}

Test(errors, a_failed_open_of_an_existing_file_leaves_no_lock_file_it_made)
{
    make_store_file(path);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    static const store_field other[] = {{.name = "title", .type = STORE_INT}, {0}};
    store_schema *changed;
    cr_assert_eq(store_schema_new(&changed), STORE_OK);
    cr_assert_eq(store_schema_add(changed, "Author", other), STORE_OK);
    store_options ro = {.flags = STORE_OPEN_READONLY};
    cr_assert_eq(unlink(lock), 0);
    for (int how = 0; how < 2; how++) {
        cr_assert(!exists(lock));
        store *d = NULL;
        int rc = store_open(&d, changed, path, how ? &ro : NULL);
        const char *msg = store_errmsg(NULL);
        cr_assert_eq(rc, STORE_ESCHEMA, "%s (%s)", store_strerror(rc), msg);
        cr_assert_null(d);
        cr_assert(strstr(msg, path), "the detail names no path: \"%s\"", msg);
        cr_assert(!exists(lock), "a failed %s open left the lock file it made",
                  how ? "read-only" : "read-write");
        cr_assert_eq(stat(path, &after), 0);
        cr_assert(after.st_size == before.st_size && after.st_mtime == before.st_mtime,
                  "the file was changed");
    }
    store_schema_free(changed);
    /* A lock file that was there stays. */
    store *d = open_file(path, &ro);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert(exists(lock));
    store *bad = NULL;
    cr_assert_eq(store_open(&bad, NULL, path, NULL), STORE_EINVAL);
    static const store_field one[] = {{.name = "name", .type = STORE_INT}, {0}};
    cr_assert_eq(store_schema_new(&changed), STORE_OK);
    cr_assert_eq(store_schema_add(changed, "Author", one), STORE_OK);
    cr_assert_eq(store_open(&bad, changed, path, NULL), STORE_ESCHEMA);
    store_schema_free(changed);
    cr_assert(exists(lock), "a lock file that was there was removed");
    d = open_file(path, NULL);
    check_invariants(d);
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 2);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* ---- A missing directory, a directory ------------------------------------------------------ */

Test(errors, a_missing_directory_and_a_directory_are_einval_and_say_so)
{
    char missing[192], folder[192];
    snprintf(missing, sizeof missing, "%s/nodir/books.db", dir);
    snprintf(folder, sizeof folder, "%s/folder.db", dir);
    cr_assert_eq(mkdir(folder, 0755), 0);
    store_options ro = {.flags = STORE_OPEN_READONLY};
    for (int how = 0; how < 2; how++) {
        store *d = NULL;
        int rc = store_open(&d, schema, missing, how ? &ro : NULL);
        const char *msg = store_errmsg(NULL);
        cr_assert_eq(rc, STORE_EINVAL, "%s (%s)", store_strerror(rc), msg);
        cr_assert_null(d);
        cr_assert(strstr(msg, missing) && strstr(msg, "directory") &&
                  strstr(msg, "does not exist"), "the detail is \"%s\"", msg);
        rc = store_open(&d, schema, folder, how ? &ro : NULL);
        msg = store_errmsg(NULL);
        cr_assert_eq(rc, STORE_EINVAL, "%s (%s)", store_strerror(rc), msg);
        cr_assert(strstr(msg, folder) && strstr(msg, "is a directory"), "the detail is \"%s\"",
                  msg);
    }
    char nodir[128];
    snprintf(nodir, sizeof nodir, "%s/nodir", dir);
    cr_assert(!exists(nodir));
    /* A missing file, read-only, in a folder that exists: the file, not the folder. */
    store *d = NULL;
    cr_assert_eq(store_open(&d, schema, path, &ro), STORE_EINVAL);
    cr_assert(strstr(store_errmsg(NULL), path) && !strstr(store_errmsg(NULL), "directory"),
              "the detail is \"%s\"", store_errmsg(NULL));
    cr_assert(!exists(path) && !exists(lock));
}

/* ---- A full disk ------------------------------------------------------------------------- */

/* In a child: a file size limit half a page past the file's end cuts the snapshot's first
 * write there short, as a disk that fills up does; the snapshot must say the disk is full. */
static int snapshot_on_a_full_disk(void)
{
    store *d;
    if (store_open(&d, schema, path, NULL))
        return 10;
    reviews(d, 10, 100);
    if (store_snapshot(d))
        return 11;
    char *before;
    reviews(d, 300, 3000); /* about a megabyte past the file's end */
    rs_dump_store(d, &before);
    struct stat st;
    stat(path, &st);
    size_limit((rlim_t)st.st_size + 2048);
    int rc = store_snapshot(d);
    if (rc != STORE_ENOSPC) {
        fprintf(stderr, "the first failure: %s (%s)\n", store_strerror(rc), store_errmsg(d));
        return 12;
    }
    if (!strstr(store_errmsg(d), path))
        return 13;
    rc = store_snapshot(d);
    if (rc != STORE_ENOSPC) {
        fprintf(stderr, "the second failure: %s (%s)\n", store_strerror(rc), store_errmsg(d));
        return 14;
    }
    size_limit(RLIM_INFINITY);
    if (store_snapshot(d) || store_check(d) || store_close(d))
        return 15;
    char *after;
    if (store_open(&d, schema, path, NULL))
        return 16;
    rs_dump_store(d, &after);
    if (strcmp(before, after))
        return 17;
    store_close(d);
    free(before);
    free(after);
    return 0;
}

Test(errors, a_full_disk_is_enospc_from_the_first_failure)
{
    in_child(snapshot_on_a_full_disk, "a snapshot on a full disk");
}

Test(errors, a_full_disk_while_opening_is_enospc_naming_the_file)
{
    /* A new (empty) file: LMDB writes its first meta pages, and the disk is full. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    cr_assert_geq(fd, 0);
    close(fd);
    iofault_watch(path);
    iofault_arm(IOF_FAIL, 1, ENOSPC, true);
    store *d = NULL;
    int rc = store_open(&d, schema, path, NULL);
    iofault_disarm();
    iofault_watch(NULL);
    const char *msg = store_errmsg(NULL);
    cr_assert_eq(rc, STORE_ENOSPC, "%s (%s)", store_strerror(rc), msg);
    cr_assert(strstr(msg, path), "the detail names no path: \"%s\"", msg);
    cr_assert(exists(path), "a file that was there was removed");
    cr_assert(!exists(lock), "the lock file the failed open made was left");
    d = open_file(path, NULL);
    cr_assert_eq(store_close(d), STORE_OK);

    /* A file short of pages nothing reaches is padded on a read-write open: no room. */
    make_store_file(path);
    fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    long page = sysconf(_SC_PAGESIZE);
    uint64_t last[2], txn[2];
    for (int m = 0; m < 2; m++) { /* LMDB 0.9 on 64-bit Linux: last page at 136, txn at 144 */
        cr_assert_eq(pread(fd, &last[m], 8, m * page + 136), 8);
        cr_assert_eq(pread(fd, &txn[m], 8, m * page + 144), 8);
    }
    int newest = txn[1] > txn[0];
    uint64_t further = last[newest] + 3;
    cr_assert_eq(pwrite(fd, &further, 8, newest * page + 136), 8);
    close(fd);
    iofault_watch(path);
    iofault_arm(IOF_FAIL, 1, ENOSPC, true);
    rc = store_open(&d, schema, path, NULL);
    iofault_disarm();
    iofault_watch(NULL);
    msg = store_errmsg(NULL);
    cr_assert_eq(rc, STORE_ENOSPC, "%s (%s)", store_strerror(rc), msg);
    cr_assert(strstr(msg, path), "the detail names no path: \"%s\"", msg);
    d = open_file(path, NULL);
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 2);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* ---- Options ----------------------------------------------------------------------------- */

Test(errors, an_unknown_durability_or_a_contradictory_option_is_einval)
{
    static const struct {
        store_options o;
        const char *culprit;
    } bad[] = {
        {{.durability = (store_durability)3}, "durability"},
        {{.durability = (store_durability)-1}, "durability"},
        {{.flags = STORE_OPEN_READONLY, .durability = STORE_DURABLE_EACH_WRITE}, "read-only"},
        {{.flags = STORE_OPEN_READONLY, .durability = STORE_DURABLE_INTERVAL}, "read-only"},
        {{.flags = STORE_OPEN_READONLY | STORE_OPEN_NOSYNC}, "read-only"},
    };
    make_store_file(path);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int where = 0; where < 3; where++) {
            char fresh[160];
            snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
            const char *p = where == 0 ? path : where == 1 ? fresh : NULL;
            store *d = NULL;
            int rc = store_open(&d, schema, p, &bad[i].o);
            const char *msg = store_errmsg(NULL);
            cr_assert_eq(rc, STORE_EINVAL, "options %zu, %s: %s (%s)", i,
                         p ? p : "in memory", store_strerror(rc), msg);
            cr_assert_null(d);
            cr_assert(strstr(msg, bad[i].culprit), "options %zu: the detail is \"%s\"", i, msg);
            cr_assert(!exists(fresh), "options %zu: a refused open made a file", i);
        }
    }
    cr_assert_eq(stat(path, &after), 0);
    cr_assert(after.st_size == before.st_size && after.st_mtime == before.st_mtime);
    /* What is allowed: read-only with the defaults, or with MANUAL said outright. */
    store_options ro = {.flags = STORE_OPEN_READONLY, .durability = STORE_DURABLE_MANUAL};
    store *d = open_file(path, &ro);
    cr_assert_eq(store_close(d), STORE_OK);
    store_options nosync_interval = {.flags = STORE_OPEN_NOSYNC,
                                     .durability = STORE_DURABLE_INTERVAL, .interval_ms = 50};
    d = open_file(path, &nosync_interval);
    author(d, "Cy");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* ---- The extension of the file after a commit --------------------------------------------- */

/*
 * A store at PATH, open, whose next snapshot leaves the file short of LMDB's last page, as
 * a transaction does whose last pages were allocated and freed again (never written): the
 * newest meta page is made to name three pages more than the file holds (LMDB 0.9 on 64-bit
 * Linux: the last page at 136, the transaction at 144), and the change to snapshot reuses
 * freed pages. That snapshot must extend the file after its commit.
 */
static store *before_a_short_commit(void)
{
    store *d = open_file(path, NULL);
    for (int i = 0; i < 20; i++)
        author(d, "Ann");
    cr_assert_eq(store_snapshot(d), STORE_OK);
    store_obj *a;
    cr_assert_eq(store_get(d, store_model_find(d, "Author"), 1, &a), STORE_OK);
    for (int round = 0; round < 3; round++) { /* pages freed, to be reused */
        cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_INT("age", round), {0}}),
                     STORE_OK);
        cr_assert_eq(store_snapshot(d), STORE_OK);
    }
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    long page = sysconf(_SC_PAGESIZE);
    uint64_t last[2], txn[2];
    for (int m = 0; m < 2; m++) {
        cr_assert_eq(pread(fd, &last[m], 8, m * page + 136), 8);
        cr_assert_eq(pread(fd, &txn[m], 8, m * page + 144), 8);
    }
    int newest = txn[1] > txn[0];
    uint64_t further = last[newest] + 3;
    cr_assert_eq(pwrite(fd, &further, 8, newest * page + 136), 8);
    close(fd);
    cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_STR("name", "Anne"), {0}}),
                 STORE_OK);
    return d;
}

/* The number of the I/O call with which the snapshot of before_a_short_commit() extends
 * the file. */
static long extension_call(void)
{
    store *d = before_a_short_commit();
    iofault_watch(path);
    iofault_arm(IOF_NONE, 0, 0, false);
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    long call = 0;
    for (long i = 0; i < iof->logged && !call; i++)
        if (iof->log[i].kind == IOF_TRUNCATE)
            call = i + 1;
    iofault_watch(NULL);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert_gt(call, 0, "the snapshot did not extend the file");
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(unlink(lock), 0);
    return call;
}

Test(errors, a_failed_extension_after_a_commit_says_the_snapshot_is_made)
{
    long call = extension_call();
    for (int forever = 0; forever < 2; forever++) {
        store *d = before_a_short_commit();
        char *changed = dump_of(d);
        store_stats st0, st1;
        cr_assert_eq(store_stat(d, &st0), STORE_OK);
        iofault_watch(path);
        iofault_arm(IOF_FAIL, call, ENOSPC, forever);
        int rc = store_snapshot(d);
        iofault_disarm();
        const char *msg = store_errmsg(d);
        cr_assert_eq(rc, STORE_ENOSPC, "%s (%s)", store_strerror(rc), msg);
        cr_assert_eq(iof->log[call - 1].kind, IOF_TRUNCATE, "the failed call was no extension");
        /* What the header promises: the snapshot is made, nothing of it is pending, and the
         * detail says so. */
        cr_assert(strstr(msg, path) && strstr(msg, "is committed"), "the detail is \"%s\"", msg);
        cr_assert_eq(store_stat(d, &st1), STORE_OK);
        cr_assert_eq(st1.generation, st0.generation + 1, "the snapshot was not made");
        cr_assert(st1.dirty == 0 && st1.deleted == 0, "changes are still pending");
        cr_assert(same_store(d, changed));
        check_invariants(d);
        if (forever) {
            /* The disk stays full: the next snapshot fails before it writes anything. */
            iofault_arm(IOF_FAIL, 1, ENOSPC, true);
            author(d, "pending");
            rc = store_snapshot(d);
            cr_assert_eq(rc, STORE_ENOSPC, "%s (%s)", store_strerror(rc), store_errmsg(d));
            cr_assert(strstr(store_errmsg(d), "left short"), "the detail is \"%s\"",
                      store_errmsg(d));
            cr_assert_eq(store_stat(d, &st1), STORE_OK);
            cr_assert_eq(st1.generation, st0.generation + 1);
            cr_assert_eq(st1.dirty, 1, "the new change is not pending");
            cr_assert_eq(iof->calls, 1, "the next snapshot wrote before it extended the file");
            iofault_disarm();
            free(changed);
            changed = dump_of(d);
        }
        iofault_watch(NULL);
        /* Once there is room, the next snapshot (here the close's) extends the file first. */
        cr_assert_eq(store_close(d), STORE_OK);
        store_options ro = {.flags = STORE_OPEN_READONLY};
        d = open_file(path, &ro);
        cr_assert(same_store(d, changed), "the reopened store differs");
        check_invariants(d);
        cr_assert_eq(store_close(d), STORE_OK);
        free(changed);
        cr_assert_eq(unlink(path), 0);
        cr_assert_eq(unlink(lock), 0);
    }
}

/* ---- Backups ----------------------------------------------------------------------------- */

Test(errors, every_failed_backup_leaves_no_file_and_a_retry_succeeds)
{
    store *d = open_file(path, NULL);
    reviews(d, 50, 500);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    char copy[160];
    snprintf(copy, sizeof copy, "%s/backup.db", dir);
    long failures = 0;
    int rc = -1;
    for (long n = 0; rc != STORE_OK; n++) {
        fail_alloc_at(n);
        rc = store_backup(d, copy);
        fail_alloc_at(-1);
        if (rc == STORE_OK)
            break;
        failures++;
        const char *msg = store_errmsg(d);
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc), msg);
        cr_assert(strstr(msg, copy), "allocation %ld: the detail is \"%s\"", n, msg);
        cr_assert(!exists(copy), "allocation %ld: the failed backup left %s", n, copy);
    }
    cr_assert_gt(failures, 0);
    char *live = dump_of(d);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    d = open_file(copy, NULL);
    cr_assert(same_store(d, live), "the backup differs");
    cr_assert_eq(store_close(d), STORE_OK);
    free(live);
}

/* In a child: a backup larger than the file size limit fails as a full disk, leaves no file,
 * and once the limit is lifted the same call succeeds. */
static int backup_on_a_full_disk(void)
{
    store *d;
    if (store_open(&d, schema, path, NULL))
        return 10;
    reviews(d, 300, 3000);
    if (store_snapshot(d))
        return 11;
    char copy[160];
    snprintf(copy, sizeof copy, "%s/backup.db", dir);
    size_limit(64 << 10);
    int rc = store_backup(d, copy);
    size_limit(RLIM_INFINITY);
    if (rc != STORE_ENOSPC) {
        fprintf(stderr, "backup: %s (%s)\n", store_strerror(rc), store_errmsg(d));
        return 12;
    }
    if (!strstr(store_errmsg(d), copy))
        return 13;
    if (exists(copy))
        return 14;
    if (store_backup(d, copy)) {
        fprintf(stderr, "the retry: %s\n", store_errmsg(d));
        return 15;
    }
    if (store_close(d))
        return 16;
    if (store_open(&d, schema, copy, NULL) || store_check(d) ||
        store_model_count(store_model_find(d, "Review")) != 300 || store_close(d))
        return 17;
    return 0;
}

Test(errors, a_backup_on_a_full_disk_is_enospc_and_leaves_no_file)
{
    in_child(backup_on_a_full_disk, "a backup on a full disk");
}

Test(errors, a_backup_never_removes_a_file_that_was_there)
{
    store *d = open_file(path, NULL);
    author(d, "Ann");
    cr_assert_eq(store_snapshot(d), STORE_OK);
    char copy[160], nodir[192];
    snprintf(copy, sizeof copy, "%s/precious.txt", dir);
    snprintf(nodir, sizeof nodir, "%s/nodir/backup.db", dir);
    FILE *f = fopen(copy, "w");
    cr_assert_not_null(f);
    fputs("keep me\n", f);
    fclose(f);
    cr_assert_eq(store_backup(d, copy), STORE_EINVAL);
    cr_assert(strstr(store_errmsg(d), copy), "the detail is \"%s\"", store_errmsg(d));
    char text[32] = {0};
    f = fopen(copy, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(text, sizeof text, f));
    fclose(f);
    cr_assert_str_eq(text, "keep me\n", "the existing file was changed");
    int rc = store_backup(d, nodir);
    cr_assert_eq(rc, STORE_EINVAL, "%s (%s)", store_strerror(rc), store_errmsg(d));
    cr_assert(strstr(store_errmsg(d), nodir) && strstr(store_errmsg(d), "does not exist"),
              "the detail is \"%s\"", store_errmsg(d));
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}
