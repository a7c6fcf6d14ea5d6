/*
 * tests/test_misuse.c - opening a store file in ways a caller may but should not have to think
 * about: several read-only stores of one file in one process (one thread or many, by any name),
 * read-write against read-only in one process, a child made by fork() without exec, and paths
 * that are not regular files (a FIFO, a directory, a FIFO in place of LMDB's lock file).
 *
 * Whatever could crash or block runs in a forked child with an alarm: a hang is then SIGALRM,
 * a failed test rather than a stuck run. Children report with their exit code (0: all well;
 * other values name the step that went wrong), never with Criterion's assertions.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/check.h"
#include "tests/helpers.h"

static char expected_dump[1 << 16];

static const store_options ro = {.flags = STORE_OPEN_READONLY};

/* Writes a small library store to P: 5 authors, 20 books. */
static void write_store(const char *p)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, p, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *a[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "author %d", i);
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", name), {0}}, &a[i]),
                     STORE_OK);
    }
    for (int i = 0; i < 20; i++) {
        char title[32];
        snprintf(title, sizeof title, "book %d", i);
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", title),
                                                  STORE_V_REF("author", a[i % 5]), {0}},
                                  NULL),
                     STORE_OK);
    }
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* Whether D holds exactly what write_store() wrote (its dump is EXPECTED_DUMP). */
static bool holds_the_store(store *d)
{
    char *text;
    if (rs_dump_store(d, &text))
        return false;
    bool same = !strcmp(text, expected_dump);
    free(text);
    return same && store_check(d) == STORE_OK;
}

static void files_setup(void)
{
    library_files_setup();
    write_store(test_path);
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, &ro), STORE_OK, "%s", store_errmsg(NULL));
    char *text;
    cr_assert_eq(rs_dump_store(d, &text), STORE_OK);
    cr_assert_lt(strlen(text), sizeof expected_dump);
    strcpy(expected_dump, text);
    free(text);
    cr_assert_eq(store_close(d), STORE_OK);
}

TestSuite(misuse, .init = files_setup, .fini = library_files_teardown, .timeout = 180);

/*
 * Runs FN(ARG) in a forked child that SECONDS of alarm end, and asserts that it exited with 0.
 * WHAT names the test's step in the failure message.
 */
static void in_child(int (*fn)(void *), void *arg, unsigned seconds, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        alarm(seconds);
        _exit(fn(arg));
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        cr_assert_fail("%s: the child died of signal %d (%s)%s", what, WTERMSIG(status),
                       strsignal(WTERMSIG(status)),
                       WTERMSIG(status) == SIGALRM ? ": it hung" : "");
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "%s: the child failed at step %d", what,
                 WEXITSTATUS(status));
}

/* Opens P read-only with the library schema; NULL on failure (the code in *RC). */
static store *open_ro(const char *p, int *rc)
{
    store *d = NULL;
    *rc = store_open(&d, schema, p, &ro);
    return *rc ? NULL : d;
}

/* ---- Two read-only stores in one thread ---------------------------------------------------- */

/* In a child: A by PATH, B by NAME, both read, closed in ORDER (0: A first). */
struct pair {
    const char *name;
    int order;
};

static int two_readers(void *arg)
{
    const struct pair *t = arg;
    int rc;
    store *a = open_ro(test_path, &rc);
    if (!a)
        return 10;
    store *b = open_ro(t->name, &rc);
    if (!b) {
        fprintf(stderr, "second open: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
        return 11;
    }
    store_obj *x, *y;
    if (store_get(a, store_model_find(a, "Author"), 3, &x) ||
        store_get(b, store_model_find(b, "Author"), 3, &y))
        return 12;
    if (strcmp(store_str(x, "name"), "author 2") || strcmp(store_str(y, "name"), "author 2"))
        return 13;
    if (!holds_the_store(a) || !holds_the_store(b))
        return 14;
    store *first = t->order ? b : a, *second = t->order ? a : b;
    if (store_close(first))
        return 15;
    if (!holds_the_store(second))
        return 16;
    if (store_close(second))
        return 17;
    /* Nothing is left behind: a writer gets in, then readers again. */
    store *w;
    if ((rc = store_open(&w, schema, test_path, NULL))) {
        fprintf(stderr, "writer after: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
        return 18;
    }
    if (!holds_the_store(w) || store_close(w))
        return 19;
    a = open_ro(t->name, &rc);
    if (!a || !holds_the_store(a) || store_close(a))
        return 20;
    return 0;
}

Test(misuse, two_read_only_stores_of_one_file_share_it_by_any_name)
{
    char link_path[160], hard_path[160];
    snprintf(link_path, sizeof link_path, "%s/symlink.db", test_dir);
    snprintf(hard_path, sizeof hard_path, "%s/hardlink.db", test_dir);
    cr_assert_eq(symlink(test_path, link_path), 0);
    cr_assert_eq(link(test_path, hard_path), 0);
    const char *names[] = {test_path, link_path, hard_path};
    for (int i = 0; i < 3; i++) {
        for (int order = 0; order < 2; order++) {
            struct pair t = {names[i], order};
            char what[256];
            snprintf(what, sizeof what, "%s, closed %s", names[i],
                     order ? "second first" : "first first");
            in_child(two_readers, &t, 20, what);
        }
    }
}

/* ---- Many threads ------------------------------------------------------------------------- */

enum { THREADS = 8, ROUNDS = 150 };

/* Each round starts in every thread at once, so that the opens overlap. */
static pthread_barrier_t round_start;

static void *reader_rounds(void *arg)
{
    int *bad = arg;
    for (int r = 0; r < ROUNDS; r++) {
        int rc;
        pthread_barrier_wait(&round_start);
        store *d = open_ro(test_path, &rc);
        if (!d) {
            fprintf(stderr, "round %d: %s: %s\n", r, store_strerror(rc), store_errmsg(NULL));
            (*bad)++;
            continue;
        }
        if (!holds_the_store(d)) {
            fprintf(stderr, "round %d: the store loaded wrong\n", r);
            (*bad)++;
        }
        if ((rc = store_close(d))) {
            fprintf(stderr, "round %d: close: %s\n", r, store_strerror(rc));
            (*bad)++;
        }
    }
    return NULL;
}

/* In a grandchild: the file opens read-write from another process. */
static int writer_elsewhere(void *arg)
{
    (void)arg;
    store *w;
    int rc = store_open(&w, schema, test_path, NULL);
    if (rc) {
        fprintf(stderr, "other process: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
        return 40;
    }
    return holds_the_store(w) && store_close(w) == STORE_OK ? 0 : 41;
}

static int many_readers(void *arg)
{
    (void)arg;
    pthread_t th[THREADS];
    int bad[THREADS] = {0};
    pthread_barrier_init(&round_start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, reader_rounds, &bad[i]))
            return 30;
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += bad[i];
    }
    pthread_barrier_destroy(&round_start);
    if (total) {
        fprintf(stderr, "%d of %d opens went wrong\n", total, THREADS * ROUNDS);
        return 31;
    }
    store *w;
    int rc = store_open(&w, schema, test_path, NULL);
    if (rc) {
        fprintf(stderr, "writer after: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
        return 32;
    }
    if (!holds_the_store(w) || store_close(w))
        return 33;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        _exit(writer_elsewhere(NULL));
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 34;
    if (!WIFEXITED(status))
        return 35; /* the other process crashed or hung on a lock file left broken */
    return WEXITSTATUS(status);
}

Test(misuse, eight_threads_open_and_close_one_file_read_only_at_once)
{
    in_child(many_readers, NULL, 120, "8 threads");
}

/* ---- Read-write against read-only in one process ------------------------------------------ */

Test(misuse, read_write_and_read_only_opens_in_one_process_exclude_each_other)
{
    char link_path[160];
    snprintf(link_path, sizeof link_path, "%s/symlink.db", test_dir);
    cr_assert_eq(symlink(test_path, link_path), 0);
    int rc;
    store *r = open_ro(test_path, &rc), *w = NULL;
    cr_assert_not_null(r);
    cr_assert_eq(store_open(&w, schema, link_path, NULL), STORE_EBUSY);
    cr_assert_null(w);
    cr_assert(strstr(store_errmsg(NULL), "this process"), "%s", store_errmsg(NULL));
    cr_assert(strstr(store_errmsg(NULL), "read-only"), "%s", store_errmsg(NULL));
    cr_assert(holds_the_store(r));
    cr_assert_eq(store_close(r), STORE_OK);

    cr_assert_eq(store_open(&w, schema, test_path, NULL), STORE_OK);
    store *r2 = open_ro(link_path, &rc);
    cr_assert_null(r2);
    cr_assert_eq(rc, STORE_EBUSY);
    cr_assert(strstr(store_errmsg(NULL), "this process"), "%s", store_errmsg(NULL));
    cr_assert(strstr(store_errmsg(NULL), "read-write"), "%s", store_errmsg(NULL));
    store *none = NULL;
    cr_assert_eq(store_open(&none, NULL, test_path, &ro), STORE_EBUSY);
    cr_assert_null(none);
    check_invariants(w);
    cr_assert_eq(store_close(w), STORE_OK);
    r = open_ro(test_path, &rc);
    cr_assert_not_null(r, "%s", store_errmsg(NULL));
    cr_assert_eq(store_close(r), STORE_OK);
}

/* ---- The schema recorded in the file ------------------------------------------------------ */

static int schema_less_beside_reader(void *arg)
{
    (void)arg;
    for (int order = 0; order < 2; order++) {
        int rc;
        store *full = NULL, *bare = NULL;
        if (order == 0 && !(full = open_ro(test_path, &rc)))
            return 50;
        if ((rc = store_open(&bare, NULL, test_path, &ro))) {
            fprintf(stderr, "schema-less: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
            return 51;
        }
        if (order == 1 && !(full = open_ro(test_path, &rc))) {
            fprintf(stderr, "after schema-less: %s: %s\n", store_strerror(rc),
                    store_errmsg(NULL));
            return 52;
        }
        if (!holds_the_store(full) || !holds_the_store(bare))
            return 53;
        if (store_close(order ? full : bare) || store_close(order ? bare : full))
            return 54;
    }
    store *w;
    if (store_open(&w, schema, test_path, NULL) || store_close(w))
        return 55;
    return 0;
}

Test(misuse, a_schema_less_open_shares_the_file_with_a_read_only_store)
{
    in_child(schema_less_beside_reader, NULL, 20, "schema-less open");
}

/* ---- fork() without exec ------------------------------------------------------------------ */

/*
 * Opens the file (read-only if RO), forks a child that waits on a pipe without exec, closes
 * the store and reopens the file read-write while the child lives.
 */
static void reopen_beside_a_forked_child(bool read_only)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, read_only ? &ro : NULL), STORE_OK);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char c;
        close(fds[1]);
        alarm(30); /* never outlives a failed parent for long */
        _exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
    }
    close(fds[0]);
    cr_assert_eq(store_close(d), STORE_OK);
    int rc = store_open(&d, schema, test_path, NULL);
    cr_assert_eq(rc, STORE_OK, "reopen beside the child: %s: %s", store_strerror(rc),
                 store_errmsg(NULL));
    cr_assert(holds_the_store(d));
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "after fork"), {0}}, NULL),
                 STORE_OK);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    close(fds[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(misuse, a_forked_child_does_not_keep_a_read_write_file_locked)
{
    reopen_beside_a_forked_child(false);
}

Test(misuse, a_forked_child_does_not_keep_a_read_only_file_locked)
{
    reopen_beside_a_forked_child(true);
}

/*
 * The child's copy of the lock descriptor is closed at fork; closing the parent's store in the
 * child must not close whatever descriptor took that number since, and the parent's store is
 * untouched by the child.
 */
static int close_in_child(void *arg)
{
    store *d = arg;
    int fds[2];
    if (pipe(fds))
        return 60;
    if (store_close(d) != STORE_EFORK)
        return 61;
    if (fcntl(fds[0], F_GETFD) == -1 || fcntl(fds[1], F_GETFD) == -1)
        return 62; /* the store closed a descriptor that was not its own */
    store *w = NULL;
    if (store_open(&w, schema, test_path, NULL) != STORE_EBUSY)
        return 63; /* the parent still holds the file */
    return 0;
}

Test(misuse, closing_the_parents_store_in_a_child_closes_nothing_of_the_childs)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK);
    in_child(close_in_child, d, 20, "close in the child");
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "parent"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

/* ---- Paths that are not regular files ----------------------------------------------------- */

struct refusal {
    const char *path;    /* what is opened */
    const char *culprit; /* the path the message must name */
    const char *kind;    /* and what it must say it is */
};

/* In a child: read-only, read-write and schema-less opens are each STORE_EINVAL, promptly. */
static int refused(void *arg)
{
    const struct refusal *t = arg;
    for (int how = 0; how < 3; how++) {
        store *d = NULL;
        int rc = store_open(&d, how == 2 ? NULL : schema, t->path, how == 1 ? NULL : &ro);
        const char *msg = store_errmsg(NULL);
        if (rc != STORE_EINVAL || d) {
            fprintf(stderr, "open %d: %s: %s\n", how, store_strerror(rc), msg);
            return 70 + how;
        }
        if (!strstr(msg, t->culprit) || !strstr(msg, t->kind)) {
            fprintf(stderr, "open %d: the message is \"%s\"\n", how, msg);
            return 75 + how;
        }
    }
    return 0;
}

Test(misuse, a_fifo_is_refused_before_it_is_opened)
{
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo.db", test_dir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    struct refusal t = {fifo, fifo, "is a FIFO"};
    in_child(refused, &t, 10, "a FIFO");
    char link_path[160];
    snprintf(link_path, sizeof link_path, "%s/to-fifo.db", test_dir);
    cr_assert_eq(symlink(fifo, link_path), 0);
    struct refusal l = {link_path, link_path, "is a FIFO"};
    in_child(refused, &l, 10, "a symlink to a FIFO");
}

Test(misuse, a_directory_is_refused)
{
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub.db", test_dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    struct refusal t = {sub, sub, "is a directory"};
    in_child(refused, &t, 10, "a directory");
}

Test(misuse, a_fifo_in_place_of_the_lock_file_is_refused)
{
    char lock[160];
    snprintf(lock, sizeof lock, "%s-lock", test_path);
    unlink(lock); /* the file's own lock file, left by the fixture's opens */
    cr_assert_eq(mkfifo(lock, 0644), 0);
    struct refusal t = {test_path, lock, "is a FIFO"};
    in_child(refused, &t, 10, "a FIFO as the lock file");
    /* Once it is gone, the file opens. */
    cr_assert_eq(unlink(lock), 0);
    int rc;
    store *d = open_ro(test_path, &rc);
    cr_assert_not_null(d, "%s", store_errmsg(NULL));
    cr_assert(holds_the_store(d));
    cr_assert_eq(store_close(d), STORE_OK);
}

/* ---- fork() from another thread while a store is being opened ---------------------------- */

typedef struct forker {
    pthread_mutex_t check; /* held while the opener tests the flock: no fork then */
    int done;              /* atomic: the opener has finished */
    int forks;
} forker;

/* Forks children that sleep a while, as fast as it may, until the opener is done. */
static void *fork_loop(void *arg)
{
    forker *f = arg;
    while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE) && f->forks < 300) {
        pthread_mutex_lock(&f->check);
        pid_t pid = fork();
        if (pid == 0) {
            usleep(300 * 1000);
            _exit(0);
        }
        pthread_mutex_unlock(&f->check);
        if (pid > 0)
            f->forks++;
        usleep(500);
    }
    return NULL;
}

Test(misuse, a_fork_while_another_thread_opens_never_leaves_the_file_locked)
{
    forker f = {.done = 0};
    pthread_mutex_init(&f.check, NULL);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fork_loop, &f), 0);
    int locked = 0, round;
    for (round = 0; round < 200 && !locked; round++) {
        store *d;
        cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "round %d: %s", round,
                     store_errmsg(NULL));
        cr_assert_eq(store_close(d), STORE_OK);
        /* Closed: nobody may hold the file now, not even a child forked during the open. */
        pthread_mutex_lock(&f.check);
        int fd = open(test_path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        locked = flock(fd, LOCK_EX | LOCK_NB) != 0;
        close(fd);
        pthread_mutex_unlock(&f.check);
    }
    __atomic_store_n(&f.done, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    pthread_mutex_destroy(&f.check);
    cr_assert_not(locked, "round %d: a child forked during an open kept the file locked "
                          "(%d forks)", round, f.forks);
    cr_assert_gt(f.forks, 0);
}
