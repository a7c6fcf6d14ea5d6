/*
 * tests/test_faults.c - every I/O call of a snapshot as a kill point (R2), and as an I/O
 * error (R4), over several scenarios.
 *
 * A scenario builds a base file (a store, its setup, one snapshot), then makes the changes
 * the snapshot under test writes. A reference run counts that snapshot's I/O calls on the
 * file (tests/iofault.c) and finds the one that writes LMDB's meta page: the commit point.
 *
 * R2: for k = 1 .. N, a forked child starts from a copy of the base file, makes the changes
 * and is killed (SIGKILL) just before the snapshot's I/O call k. The parent reopens the file:
 * the open must succeed, store_check() pass, and the file be at exactly the right snapshot:
 * the new one (its generation and dump) if and only if the meta-page write was made.
 *
 * R4: for k = 1 .. N and each fault (EIO, ENOSPC, a short write; once, or from k on), the
 * changes are made in this process and call k fails. store_snapshot() must return
 * STORE_EIO or STORE_ENOSPC (or STORE_OK, when the failed call was not needed for the
 * commit, with the new snapshot whole), leave the store's dump and its dirty and deleted
 * counts as they were, and, once the fault is cleared, the next snapshot must succeed and a
 * reopen give exactly the changed store. Leaks fail the sanitizer build.
 *
 * RELSTORE_FAULT_SCALE (1) multiplies the scenarios' sizes; RELSTORE_FAULT_FOREVER=1 adds the
 * persistent faults to R4 and starts every fault from the base file (by default the faults of
 * one kind follow one another on one store). Each test prints its counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "store/check.h"
#include "tests/helpers.h"
#include "tests/iofault.h"

/* ---- Scenarios ---------------------------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    void (*setup)(store *s);        /* the base state, snapshot by the harness */
    void (*change)(store *s);       /* what the snapshot under test writes */
    store_options opts;             /* for every open */
    bool migrate;                   /* the change is opening with the extended schema */
} scenario;

static int scale = 1;

static store_model *model(store *s, const char *name)
{
    store_model *m = store_model_find(s, name);
    cr_assert_not_null(m, "no model %s", name);
    return m;
}

static store_obj *get(store *s, const char *name, uint64_t id)
{
    store_obj *o;
    cr_assert_eq(store_get(s, model(s, name), id, &o), STORE_OK, "%s %" PRIu64, name, id);
    return o;
}

/* AUTHORS authors with BOOKS books each; author a's books are (a-1)*BOOKS+1 .. a*BOOKS. */
static void authors_with_books(store *s, int authors, int books)
{
    char text[48];
    for (int a = 0; a < authors; a++) {
        store_obj *au;
        snprintf(text, sizeof text, "author %d", a);
        cr_assert_eq(store_create(s, model(s, "Author"),
                                  (store_value[]){STORE_V_STR("name", text), {0}}, &au),
                     STORE_OK);
        for (int b = 0; b < books; b++) {
            snprintf(text, sizeof text, "a book with a long title, number %d", b);
            cr_assert_eq(store_create(s, model(s, "Book"),
                                      (store_value[]){STORE_V_STR("title", text),
                                                      STORE_V_REF("author", au), {0}},
                                      NULL),
                         STORE_OK);
        }
    }
}

static void nothing(store *s)
{
    (void)s;
}

static void small_library(store *s)
{
    authors_with_books(s, 200 * scale, 3);
}

static void first_content(store *s)
{
    authors_with_books(s, 50 * scale, 4);
}

/* Sets pages on N books spread over the store's 600 * scale books. */
static void update_books(store *s, int n)
{
    int books = 600 * scale;
    for (int i = 0; i < n; i++) {
        uint64_t id = (uint64_t)((long)i * 7919 % books) + 1;
        store_obj *b = get(s, "Book", id);
        cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_INT("pages", i + 1), {0}}),
                     STORE_OK);
    }
}

static void one_change(store *s)
{
    update_books(s, 1);
}

static void hundred_changes(store *s)
{
    update_books(s, 100);
}

static void big_library(store *s)
{
    authors_with_books(s, 2000 * scale, 5);
}

static void ten_thousand_changes(store *s)
{
    store_model *Bk = model(s, "Book");
    for (uint64_t id = 1; id <= (uint64_t)10000 * scale; id++) {
        store_obj *b;
        cr_assert_eq(store_get(s, Bk, id, &b), STORE_OK);
        cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_INT("pages", 7), {0}}),
                     STORE_OK);
    }
}

/* Long new titles for 10,000 books: more than one change-log entry holds, so the snapshot
 * folds the log into the models' databases and rewrites pages all over the file. */
static void ten_thousand_folded(store *s)
{
    store_model *Bk = model(s, "Book");
    char title[96];
    for (uint64_t id = 1; id <= (uint64_t)10000 * scale; id++) {
        store_obj *b;
        snprintf(title, sizeof title, "a new and much longer title for the book with id %"
                 PRIu64 ", to fill pages", id);
        cr_assert_eq(store_get(s, Bk, id, &b), STORE_OK);
        cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_STR("title", title), {0}}),
                     STORE_OK);
    }
}

static void delete_most(store *s)
{
    for (uint64_t id = 1; id <= (uint64_t)150 * scale; id++)
        cr_assert_eq(store_delete(s, get(s, "Author", id)), STORE_OK);
}

static void one_author_many_books(store *s)
{
    authors_with_books(s, 2, 5000 * scale);
}

static void cascade_ten_thousand(store *s)
{
    /* Author 1's 5,000 books, and a review of each, go with it. */
    store_model *Rv = model(s, "Review");
    for (uint64_t id = 1; id <= (uint64_t)5000 * scale; id++)
        cr_assert_eq(store_create(s, Rv,
                                  (store_value[]){STORE_V_REF("book", get(s, "Book", id)),
                                                  STORE_V_STR("body", "fine"), {0}},
                                  NULL),
                     STORE_OK);
    cr_assert_eq(store_delete(s, get(s, "Author", 1)), STORE_OK);
}

static void grow_the_map(store *s)
{
    authors_with_books(s, 400 * scale, 10); /* far past the 64 KiB map it starts with */
}

/* The schema of the migration scenario before (Author, Book) and after (Author gains a
 * nullable field, so every Author is rewritten by the next snapshot). */
static store_schema *migration_schema(bool after)
{
    static const store_field author_v1[] = {
        {.name = "name", .type = STORE_CHAR, .max_length = 255},
        {0},
    };
    static const store_field author_v2[] = {
        {.name = "name", .type = STORE_CHAR, .max_length = 255},
        {.name = "born", .type = STORE_INT, .null = true},
        {0},
    };
    static const store_field book[] = {
        {.name = "title", .type = STORE_CHAR, .max_length = 255},
        {.name = "pages", .type = STORE_INT, STORE_DEFAULT_INT(0)},
        {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
         .on_delete = STORE_CASCADE},
        {0},
    };
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Author", after ? author_v2 : author_v1), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Book", book), STORE_OK);
    return s;
}

static uint64_t next_rand(uint64_t *x);

/* The random workload of the long run: SIZE changes, mixed (updates that move books,
 * renames to long titles, creates, cascading deletes), drawn from WORKLOAD_SEED. The
 * same seed gives the same changes in the reference run and in every child. */
static uint64_t workload_seed;

static void random_workload(store *s)
{
    uint64_t x = workload_seed | 1;
    store_model *A = model(s, "Author"), *Bk = model(s, "Book");
    long size = (long)(workload_seed % 20000) + 1;
    char title[64];
    for (long i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        store_obj *a, *b;
        uint64_t bid = x % store_model_next_id(Bk) + 1, aid = (x >> 20) % store_model_next_id(A) + 1;
        bool have_b = store_get(s, Bk, bid, &b) == STORE_OK;
        bool have_a = store_get(s, A, aid, &a) == STORE_OK;
        switch ((x >> 40) % 8) {
        case 0:
        case 1:
        case 2:
            if (have_b)
                cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_INT("pages", (int64_t)i),
                                                                {0}}),
                             STORE_OK);
            break;
        case 3:
            if (have_b && have_a)
                cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_REF("author", a), {0}}),
                             STORE_OK);
            break;
        case 4:
            snprintf(title, sizeof title, "a renamed title, long enough to live apart %ld", i);
            if (have_b)
                cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_STR("title", title),
                                                                {0}}),
                             STORE_OK);
            break;
        case 5:
        case 6:
            authors_with_books(s, 1, (int)(x >> 50) % 4);
            break;
        default:
            if (have_a && (x >> 30) % 4 == 0)
                cr_assert_eq(store_delete(s, a), STORE_OK);
            break;
        }
    }
}

static const scenario random_scenario = {"random workload", big_library, random_workload, {0},
                                         false};

/* Snapshots that free pages, for the next one to reuse. */
static void freed_pages(store *s)
{
    small_library(s);
    cr_assert_eq(store_snapshot(s), STORE_OK);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(store_update(s, get(s, "Author", 1),
                                  (store_value[]){STORE_V_INT("age", round), {0}}),
                     STORE_OK);
        cr_assert_eq(store_snapshot(s), STORE_OK);
    }
}

static char path[96]; /* the store file of the harness (see "Files" below) */
static uint64_t newest_last_page(int fd, long page, off_t *at);

/* The file made to end before LMDB's last page, as a transaction leaves it whose last pages
 * were allocated and freed again (never written): the newest meta page names three pages more
 * than the file holds. One change reusing freed pages: its snapshot must extend the file
 * after its commit. */
static void short_commit(store *s)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t at;
    uint64_t last = newest_last_page(fd, sysconf(_SC_PAGESIZE), &at) + 3;
    cr_assert_eq(pwrite(fd, &last, 8, at), 8);
    close(fd);
    cr_assert_eq(store_update(s, get(s, "Author", 1),
                              (store_value[]){STORE_V_STR("name", "renamed"), {0}}),
                 STORE_OK);
}

/* Not among the scenarios of R3: the change writes the file behind the recording's back. */
static const scenario short_scenario = {"a commit that extends the file", freed_pages,
                                        short_commit, {0}, false};

static const scenario scenarios[] = {
    {"first snapshot", nothing, first_content, {0}, false},
    {"1 change", small_library, one_change, {0}, false},
    {"100 changes", small_library, hundred_changes, {0}, false},
    {"10,000 changes", big_library, ten_thousand_changes, {0}, false},
    {"10,000 changes, folded", big_library, ten_thousand_folded, {0}, false},
    {"delete-heavy", small_library, delete_most, {0}, false},
    {"cascade of 10,000", one_author_many_books, cascade_ten_thousand, {0}, false},
    {"map growth", nothing, grow_the_map, {.map_size = 64 << 10}, false},
    {"after map growth", grow_the_map, hundred_changes, {.map_size = 64 << 10}, false},
    {"schema migration", small_library, nothing, {0}, true},
};
enum { NSCENARIOS = sizeof scenarios / sizeof *scenarios };

/* ---- Files -------------------------------------------------------------------------------- */

static char dir[64], base[112], lock[112]; /* and path, above */

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
    char buf[1 << 16];
    for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in);
    cr_assert_eq(fsync(out), 0);
    close(out);
}

/* The store file is the base file again (and no lock file is left over). */
static void restore_base(void)
{
    unlink(lock);
    copy_file(base, path);
}

static store_schema *schema_for(const scenario *sc, bool after)
{
    return sc->migrate ? migration_schema(after) : library_schema();
}

/* What a reopen finds: the generation and the dump's hash. */
typedef struct state {
    uint64_t gen, hash;
} state;

static state state_of(store *s)
{
    store_stats st;
    char *text;
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(rs_dump_store(s, &text), STORE_OK);
    state r = {st.generation, XXH3_64bits(text, strlen(text))};
    free(text);
    return r;
}

/* Opens the file with SCHEMA (READONLY: without ever writing it, a migration made in memory
 * only); the store must pass store_check(). */
static store *open_checked(store_schema *schema, const scenario *sc, bool readonly)
{
    store *s;
    store_options opts = sc->opts;
    if (readonly)
        opts.flags |= STORE_OPEN_READONLY;
    int rc = store_open(&s, schema, path, &opts);
    cr_assert_eq(rc, STORE_OK, "%s: open: %s (%s)", sc->name, store_strerror(rc),
                 store_errmsg(NULL));
    check_invariants(s);
    return s;
}

/* ---- The harness -------------------------------------------------------------------------- */

typedef struct plan {
    state old, fresh; /* the file before and after the snapshot under test */
    long calls;       /* its I/O calls on the file */
    long meta;        /* the number of the meta-page write */
    long extend;      /* the number of the call that extends the file after it, or 0 */
} plan;

/* Builds the base file of SC and runs the reference snapshot; returns its plan. */
static plan prepare(const scenario *sc)
{
    strcpy(dir, "/tmp/relstore-faults-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.db", dir);
    snprintf(base, sizeof base, "%s/base.db", dir);
    snprintf(lock, sizeof lock, "%s-lock", path);
    plan p = {.calls = 0};
    store_schema *schema = schema_for(sc, false), *after = schema_for(sc, true);
    store *s = open_checked(schema, sc, false);
    sc->setup(s);
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s: base snapshot: %s", sc->name,
                 store_errmsg(s));
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    copy_file(path, base);
    restore_base();
    s = open_checked(after, sc, true);
    p.old = state_of(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(after, sc, false);
    sc->change(s);
    iofault_watch(path);
    iofault_arm(IOF_NONE, 0, 0, false);
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s: %s", sc->name, store_errmsg(s));
    p.calls = iof->calls;
    p.meta = iofault_meta_call(sysconf(_SC_PAGESIZE));
    for (long i = p.meta; i < iof->logged && !p.extend; i++)
        if (iof->log[i].kind == IOF_TRUNCATE)
            p.extend = i + 1;
    iofault_watch(NULL);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(after, sc, true);
    p.fresh = state_of(s);
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_gt(p.calls, 0, "%s: the snapshot made no I/O call", sc->name);
    cr_assert_gt(p.meta, 0, "%s: no meta-page write seen", sc->name);
    cr_assert_neq(p.old.gen, p.fresh.gen);
    store_schema_free(schema);
    store_schema_free(after);
    return p;
}

static void finish(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* The kill points and the faults met at the extension of the file after a commit. */
static long extension_kills, extension_faults;

/* R2 for one scenario: every call a kill point. Returns the points run. */
static long kill_points(const scenario *sc)
{
    plan p = prepare(sc);
    store_schema *after = schema_for(sc, true);
    for (long k = 1; k <= p.calls; k++) {
        restore_base();
        fflush(NULL);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            store *s;
            if (store_open(&s, after, path, &sc->opts))
                _exit(2);
            sc->change(s);
            iofault_watch(path);
            iofault_arm(IOF_KILL, k, 0, false);
            store_snapshot(s);
            _exit(3); /* not killed: the snapshot made fewer calls than the reference */
        }
        int status;
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "%s, call %ld of %ld: the child was not killed (status 0x%x)", sc->name, k,
                  p.calls, status);
        store *s = open_checked(after, sc, true);
        state got = state_of(s), want = k > p.meta ? p.fresh : p.old;
        cr_assert_eq(got.gen, want.gen,
                     "%s, killed before call %ld of %ld (meta write %ld): generation %" PRIu64
                     ", expected %" PRIu64,
                     sc->name, k, p.calls, p.meta, got.gen, want.gen);
        cr_assert_eq(got.hash, want.hash, "%s, killed before call %ld: torn content", sc->name,
                     k);
        cr_assert_eq(store_close(s), STORE_OK);
        extension_kills += k == p.extend;
    }
    store_schema_free(after);
    finish();
    return p.calls;
}

typedef struct fault {
    const char *name;
    iof_action action;
    int err;
    bool forever;
    int expect; /* the code store_snapshot() returns when it fails */
} fault;

/* Opens the base file and makes SC's changes; their dump in *BEFORE (the caller frees it). */
static store *changed_store(const scenario *sc, store_schema *schema, char **before)
{
    restore_base();
    store *s = open_checked(schema, sc, false);
    sc->change(s);
    cr_assert_eq(rs_dump_store(s, before), STORE_OK);
    return s;
}

/* A snapshot of S (changed, with dump BEFORE) that met fault FT at call K, returning RC, was
 * made all the same (generation ST0 then ST1): the one exception store_snapshot() documents,
 * the extension of the file after the commit failed. Nothing of it may be pending. */
static void check_committed(store *s, const scenario *sc, const fault *ft, long k, int rc,
                            const store_stats *st0, const store_stats *st1)
{
    const char *msg = store_errmsg(s);
    cr_assert(k <= iof->logged && iof->log[k - 1].kind == IOF_TRUNCATE,
              "%s, %s at call %ld: the snapshot was made, yet failed: %s (%s)", sc->name,
              ft->name, k, store_strerror(rc), msg);
    cr_assert(strstr(msg, path) && strstr(msg, "is committed"),
              "%s, %s at the extension: the detail is \"%s\"", sc->name, ft->name, msg);
    cr_assert(st1->generation == st0->generation + 1 && st1->dirty == 0 && st1->deleted == 0,
              "%s, %s at the extension: changes are still pending", sc->name, ft->name);
    extension_faults++;
}

/* A snapshot of S (changed, with dump BEFORE) that meets fault FT at call K: it fails with
 * FT's code and changes nothing, or (the call was not needed) succeeds, or fails with FT's code
 * at the extension after its commit (check_committed()). Returns whether it was made. */
static bool one_fault(store *s, const scenario *sc, const fault *ft, long k, const char *before)
{
    store_stats st0, st1;
    cr_assert_eq(store_stat(s, &st0), STORE_OK);
    iofault_watch(path);
    iofault_arm(ft->action, k, ft->err, ft->forever);
    int rc = store_snapshot(s);
    iofault_disarm();
    iofault_watch(NULL);
    cr_assert(rc == STORE_OK || rc == ft->expect, "%s, %s at call %ld: %s (%s)", sc->name,
              ft->name, k, store_strerror(rc), store_errmsg(s));
    cr_assert_eq(store_stat(s, &st1), STORE_OK);
    bool made = st1.generation != st0.generation;
    if (rc != STORE_OK && made)
        check_committed(s, sc, ft, k, rc, &st0, &st1);
    cr_assert(same_store(s, before), "%s, %s at call %ld: memory changed", sc->name, ft->name,
              k);
    if (rc != STORE_OK && !made)
        cr_assert(st1.dirty == st0.dirty && st1.deleted == st0.deleted,
                  "%s, %s at call %ld: the changes are no longer all dirty", sc->name, ft->name,
                  k);
    return made;
}

/* Takes the snapshot S still owes (the fault cleared), closes S, and checks that a reopen
 * gives exactly BEFORE. */
static void settle_and_check(store *s, store_schema *schema, const scenario *sc,
                             const fault *ft, long k, char *before)
{
    int rc = store_snapshot(s);
    cr_assert_eq(rc, STORE_OK, "%s, %s at call %ld, then cleared: %s (%s)", sc->name, ft->name,
                 k, store_strerror(rc), store_errmsg(s));
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(schema, sc, true);
    cr_assert(same_store(s, before), "%s, %s at call %ld: the reopened store differs", sc->name,
              ft->name, k);
    cr_assert_eq(store_close(s), STORE_OK);
    free(before);
}

/*
 * R4 for one scenario and each of the NFAULTS faults FTS at every call. FRESH: each call k
 * starts again from the base file; otherwise the faults of one kind follow one another on
 * one store (each failed snapshot leaves it as it was, so the next starts from the same
 * state), which is much faster. Returns the faults injected.
 */
static long io_errors(const scenario *sc, const fault *fts, int nfaults, bool fresh)
{
    plan p = prepare(sc);
    store_schema *after = schema_for(sc, true);
    for (const fault *ft = fts; ft < fts + nfaults; ft++) {
        char *before;
        store *s = changed_store(sc, after, &before);
        for (long k = 1; k <= p.calls; k++) {
            if (!one_fault(s, sc, ft, k, before) && !fresh)
                continue;
            settle_and_check(s, after, sc, ft, k, before);
            s = changed_store(sc, after, &before);
        }
        settle_and_check(s, after, sc, ft, p.calls, before);
        cr_log_info("R4 %s, %s: %ld faults, 0 failures", sc->name, ft->name, p.calls);
    }
    store_schema_free(after);
    finish();
    return p.calls * nfaults;
}

static void setup(void)
{
    const char *env = getenv("RELSTORE_FAULT_SCALE");
    scale = env && atoi(env) > 0 ? atoi(env) : 1;
    iofault_init();
    library_setup();
}

TestSuite(faults, .init = setup, .fini = library_teardown, .timeout = 1800);

/* The seed: RELSTORE_SEED if set, else the clock. */
static uint64_t pick_seed(void)
{
    const char *env = getenv("RELSTORE_SEED");
    return env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u | 1;
}

Test(faults, a_kill_at_any_io_call_of_a_snapshot_leaves_the_old_or_the_new_snapshot)
{
    long points = 0;
    for (int i = 0; i < NSCENARIOS; i++) {
        long n = kill_points(&scenarios[i]);
        cr_log_info("R2 %s: %ld kill points, 0 failures", scenarios[i].name, n);
        points += n;
    }
    /* The long run adds random workloads of up to 20,000 changes, one seed after another. */
    uint64_t seed = pick_seed(), x = seed;
    int workloads = scale > 1 ? 40 : 0;
    for (int w = 0; w < workloads; w++) {
        workload_seed = next_rand(&x);
        long n = kill_points(&random_scenario);
        cr_log_info("R2 random workload 0x%" PRIx64 ": %ld kill points, 0 failures",
                    workload_seed, n);
        points += n;
    }
    cr_log_info("R2: %ld kill points over %d scenarios and %d random workloads (seed 0x%" PRIx64
                "), 0 failures", points, NSCENARIOS, workloads, seed);
}

/* The faults of R4: the first three always, the persistent ones in the long run. */
static const fault faults_all[] = {
    {"EIO once", IOF_FAIL, EIO, false, STORE_EIO},
    {"ENOSPC once", IOF_FAIL, ENOSPC, false, STORE_ENOSPC},
    {"a short write", IOF_SHORT, 0, false, STORE_EIO},
    {"EIO from then on", IOF_FAIL, EIO, true, STORE_EIO},
    {"ENOSPC from then on", IOF_FAIL, ENOSPC, true, STORE_ENOSPC},
};

Test(faults, an_io_error_at_any_call_changes_nothing_and_the_next_snapshot_is_whole)
{
    const char *env = getenv("RELSTORE_FAULT_FOREVER");
    bool both = env && atoi(env) == 1; /* the long run: fresh starts, persistent faults */
    long faults = 0;
    for (int i = 0; i < NSCENARIOS; i++)
        faults += io_errors(&scenarios[i], faults_all, both ? 5 : 3, both);
    cr_log_info("R4: %ld faults injected, 0 failures", faults);
}

Test(faults, the_extension_after_a_commit_is_a_kill_point_and_an_io_error_point_too)
{
    /* R2 and R4 on a snapshot that extends the file after its commit: the campaign counts
     * that call; a kill there leaves the new snapshot, and a failure there (a short write
     * does not apply: the call writes no bytes) is the exception store_snapshot() documents,
     * after which the next snapshot extends the file and a reopen gives the changed store. */
    const char *env = getenv("RELSTORE_FAULT_FOREVER");
    bool both = env && atoi(env) == 1;
    int nfaults = both ? 5 : 3, failing = 0;
    for (int i = 0; i < nfaults; i++)
        failing += faults_all[i].action == IOF_FAIL;
    extension_kills = extension_faults = 0;
    long points = kill_points(&short_scenario);
    cr_assert_eq(extension_kills, 1, "R2 %s: %ld kill points, none at the extension",
                 short_scenario.name, points);
    long faults = io_errors(&short_scenario, faults_all, nfaults, both);
    cr_assert_eq(extension_faults, failing, "R4 %s: %ld faults, %ld at the extension",
                 short_scenario.name, faults, extension_faults);
    cr_log_info("R2 and R4 %s: %ld kill points and %ld faults, %ld at the extension, 0 failures",
                short_scenario.name, points, faults, extension_kills + extension_faults);
}

/* The number of the last page the newest meta page of the file at P names, and where that
 * number is kept (LMDB 0.9 on 64-bit Linux: meta pages 0 and 1, last page at 136, txn at
 * 144). */
static uint64_t newest_last_page(int fd, long page, off_t *at)
{
    uint64_t last[2], txn[2];
    for (int m = 0; m < 2; m++) {
        cr_assert_eq(pread(fd, &last[m], 8, m * page + 136), 8);
        cr_assert_eq(pread(fd, &txn[m], 8, m * page + 144), 8);
    }
    int newest = txn[1] > txn[0];
    *at = newest * page + 136;
    return last[newest];
}

Test(faults, a_file_short_only_of_pages_nothing_reaches_opens_and_is_padded)
{
    /* What a process killed between a commit and the extension after it leaves: the meta
     * page names pages past the file's end, which no tree reaches. */
    const scenario *sc = &scenarios[1];
    plan p = prepare(sc);
    store_schema *after = schema_for(sc, true);
    long page = sysconf(_SC_PAGESIZE);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t at;
    uint64_t last = newest_last_page(fd, page, &at) + 3;
    cr_assert_eq(pwrite(fd, &last, 8, at), 8);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_lt(st.st_size, (off_t)((last + 1) * (uint64_t)page), "the file is not short");
    off_t short_size = st.st_size;

    store *s = open_checked(after, sc, true); /* read-only: opens, leaves the file alone */
    state got = state_of(s);
    cr_assert(got.gen == p.fresh.gen && got.hash == p.fresh.hash);
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_size, short_size, "a read-only open wrote the file");

    s = open_checked(after, sc, false); /* read-write: pads the file to its last page */
    got = state_of(s);
    cr_assert(got.gen == p.fresh.gen && got.hash == p.fresh.hash);
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_size, (off_t)((last + 1) * (uint64_t)page));
    update_books(s, 5);
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
    const char *before = dump_store(s);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(after, sc, true);
    cr_assert(same_store(s, before));
    cr_assert_eq(store_close(s), STORE_OK);
    close(fd);
    store_schema_free(after);
    finish();
}

/* The bytes of the file at P, in *LEN (malloc'd). */
static unsigned char *file_bytes(const char *p, size_t *len)
{
    int fd = open(p, O_RDONLY);
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    unsigned char *b = malloc((size_t)st.st_size + 1);
    cr_assert_not_null(b);
    cr_assert_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

Test(faults, a_kill_during_load_leaves_the_file_as_it_was)
{
    /* R12: the child opens (loads) a store of 66,000 objects; it is killed at a random
     * instant of the load; the file must be byte-identical and open whole. */
    const scenario *sc = &scenarios[3]; /* 2,000 authors with 5 books each, and changes */
    plan p = prepare(sc);
    store_schema *after = schema_for(sc, true);
    restore_base();
    store *s = open_checked(after, sc, false);
    authors_with_books(s, 10000 * scale, 5);
    cr_assert_eq(store_snapshot(s), STORE_OK);
    state want = state_of(s);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    size_t len;
    unsigned char *bytes = file_bytes(path, &len);
    /* How long a load takes here, to aim the kills inside it. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = open_checked(after, sc, false);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(store_close(s), STORE_OK);
    long load_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    uint64_t seed = (uint64_t)t1.tv_nsec;
    int kills = 0;
    for (int i = 0; i < 20; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        long delay = (long)((seed >> 33) % (uint64_t)(load_us + 1));
        fflush(NULL);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            store *c;
            _exit(store_open(&c, after, path, &sc->opts) ? 2 : 0);
        }
        usleep((useconds_t)delay);
        kill(child, SIGKILL);
        int status;
        cr_assert_eq(waitpid(child, &status, 0), child);
        kills += WIFSIGNALED(status);
        cr_assert(!WIFEXITED(status) || WEXITSTATUS(status) == 0, "the child's open failed");
        size_t now_len;
        unsigned char *now = file_bytes(path, &now_len);
        cr_assert(now_len == len && !memcmp(now, bytes, len),
                  "a kill %ld us into the load changed the file", delay);
        free(now);
        s = open_checked(after, sc, true);
        state got = state_of(s);
        cr_assert(got.gen == want.gen && got.hash == want.hash);
        cr_assert_eq(store_close(s), STORE_OK);
    }
    cr_log_info("R12: 20 kills during a %ld us load (%d landed inside it): the file unchanged",
                load_us, kills);
    free(bytes);
    store_schema_free(after);
    (void)p;
    finish();
}

Test(faults, a_steady_workload_keeps_the_file_within_two_and_a_half_times_its_first_size)
{
    /* R12: a store of 6,600 objects, then snapshots of a steady workload (100 updates, 10
     * creates, 10 deletes each): the file must not keep growing. 1,000 snapshots in the long
     * run (RELSTORE_FAULT_SCALE > 1), 100 here. */
    const scenario *sc = &scenarios[1];
    plan p = prepare(sc);
    (void)p;
    store_schema *after = schema_for(sc, true);
    restore_base();
    store_options opts = {.flags = STORE_OPEN_NOSYNC}; /* growth does not depend on syncing */
    store *s;
    cr_assert_eq(store_open(&s, after, path, &opts), STORE_OK, "%s", store_errmsg(NULL));
    authors_with_books(s, 1000, 5);
    cr_assert_eq(store_snapshot(s), STORE_OK);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    off_t first = st.st_size, largest = first;
    int rounds = scale > 1 ? 1000 : 100;
    store_model *A = model(s, "Author"), *Bk = model(s, "Book");
    uint64_t x = 88172645463325252u, oldest = 1;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 100; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            store_obj *b;
            if (store_get(s, Bk, x % store_model_next_id(Bk) + 1, &b) == STORE_OK)
                cr_assert_eq(store_update(s, b, (store_value[]){STORE_V_INT("pages", r), {0}}),
                             STORE_OK);
        }
        for (int i = 0; i < 10; i++) {
            store_obj *a;
            while (store_get(s, A, oldest, &a) != STORE_OK)
                oldest++;
            cr_assert_eq(store_delete(s, a), STORE_OK); /* with its books */
        }
        authors_with_books(s, 10, 5);
        cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
        cr_assert_eq(stat(path, &st), 0);
        if (st.st_size > largest)
            largest = st.st_size;
    }
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    cr_log_info("R12: %d snapshots of a steady workload: the file went from %lld to at most "
                "%lld bytes (%.2fx)", rounds, (long long)first, (long long)largest,
                (double)largest / (double)first);
    cr_assert_leq((double)largest, 2.5 * (double)first, "the file keeps growing");
    store_schema_free(after);
    finish();
}

/* ---- R3: simulated power loss --------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void apply_event(int fd, const iof_rec *e, uint64_t *x, bool torn)
{
    if (e->kind == IOF_TRUNCATE) {
        cr_assert_eq(ftruncate(fd, e->off), 0);
        return;
    }
    if (e->kind != IOF_WRITE)
        return;
    for (int64_t at = 0; at < e->len; at += 512) {
        int64_t n = e->len - at < 512 ? e->len - at : 512;
        if (torn && next_rand(x) % 2)
            continue; /* this sector never reached the disk */
        cr_assert_eq(pwrite(fd, e->data + at, (size_t)n, e->off + at), n);
    }
}

/*
 * Writes into PATH what a power loss just before event CUT of EV could leave of the base file
 * BASE (LEN bytes): every event up to the last sync before CUT, and every write made durable
 * by its own call (O_DSYNC), are on the disk; each other write before CUT is lost, whole, or
 * torn (some of its 512-byte sectors written), as the generator X decides.
 */
static void crash_state(const unsigned char *base, size_t len, const iof_rec *ev, size_t cut,
                        uint64_t *x)
{
    size_t barrier = 0; /* events before it are durable */
    for (size_t i = 0; i < cut; i++)
        if (ev[i].kind == IOF_SYNC)
            barrier = i + 1;
    unlink(lock);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, base, len, 0), (ssize_t)len);
    for (size_t i = 0; i < cut; i++) {
        if (i < barrier || ev[i].sync) {
            apply_event(fd, &ev[i], x, false);
            continue;
        }
        uint64_t fate = next_rand(x) % 3; /* 0 lost, 1 whole, 2 torn */
        if (fate)
            apply_event(fd, &ev[i], x, fate == 2);
    }
    close(fd);
}

/*
 * Proves the recording complete: replaying its events in order over the base file BASE (LEN
 * bytes), each write's pre-image is exactly what the replay holds there (no write to the
 * file went unrecorded), and the replay ends as the file did (PATH).
 */
static void check_recording(const unsigned char *base, size_t len, const iof_rec *ev,
                            size_t nev)
{
    size_t size = len, cap = len;
    unsigned char *img = malloc(cap ? cap : 1);
    cr_assert_not_null(img);
    memcpy(img, base, len);
    for (size_t i = 0; i < nev; i++) {
        size_t end = ev[i].kind == IOF_WRITE ? (size_t)(ev[i].off + ev[i].len)
                     : ev[i].kind == IOF_TRUNCATE ? (size_t)ev[i].off
                                                  : size;
        if (end > cap) {
            img = realloc(img, end);
            cr_assert_not_null(img);
            memset(img + cap, 0, end - cap);
            cap = end;
        }
        if (ev[i].kind == IOF_TRUNCATE) {
            if (end > size)
                memset(img + size, 0, end - size);
            size = end;
        }
        if (ev[i].kind != IOF_WRITE)
            continue;
        if (size < end) {
            memset(img + size, 0, end - size);
            size = end;
        }
        size_t d = 0;
        while (d < (size_t)ev[i].len && img[ev[i].off + d] == ev[i].pre[d])
            d++;
        cr_assert(d == (size_t)ev[i].len,
                  "event %zu (a write of %lld bytes at %lld): the file held other bytes than the "
                  "replay at +%zu (an unrecorded write)",
                  i, (long long)ev[i].len, (long long)ev[i].off, d);
        memcpy(img + ev[i].off, ev[i].data, (size_t)ev[i].len);
    }
    size_t flen;
    unsigned char *file = file_bytes(path, &flen);
    cr_assert(flen == size && !memcmp(file, img, size), "the replay does not end as the file");
    free(file);
    free(img);
}

/* R3 for one scenario: VARIANTS crash states at each cut; returns the states checked. */
static long power_losses(const scenario *sc, int variants, uint64_t *x)
{
    plan p = prepare(sc);
    store_schema *after = schema_for(sc, true);
    size_t len;
    unsigned char *base_bytes = file_bytes(base, &len);
    restore_base();
    store *s = open_checked(after, sc, false);
    sc->change(s);
    iofault_watch(path);
    iofault_record(true);
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
    iofault_record(false);
    iofault_watch(NULL);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    const iof_rec *ev;
    size_t nev = iofault_records(&ev);
    check_recording(base_bytes, len, ev, nev);
    size_t commit = 0; /* the events up to the meta-page write: after it, the new snapshot */
    for (size_t i = 0; i < nev; i++)
        if (ev[i].kind == IOF_WRITE && ev[i].off < 2 * sysconf(_SC_PAGESIZE))
            commit = i + 1;
    cr_assert_gt(commit, 0, "%s: no meta-page write recorded", sc->name);
    long states = 0;
    for (size_t cut = 0; cut <= nev; cut++)
        for (int v = 0; v < variants; v++, states++) {
            crash_state(base_bytes, len, ev, cut, x);
            store_options opts = sc->opts;
            opts.flags |= STORE_OPEN_READONLY;
            int rc = store_open(&s, after, path, &opts);
            cr_assert_eq(rc, STORE_OK, "%s, power lost before event %zu of %zu: open: %s (%s)",
                         sc->name, cut, nev, store_strerror(rc), store_errmsg(NULL));
            if (store_check(s) != STORE_OK)
                cr_log_error("%s, power lost before event %zu of %zu", sc->name, cut, nev);
            check_invariants(s);
            state got = state_of(s), want = cut >= commit ? p.fresh : p.old;
            cr_assert(got.gen == want.gen && got.hash == want.hash,
                      "%s, power lost before event %zu of %zu (commit at %zu): generation %"
                      PRIu64 ", expected %" PRIu64 ", content %s",
                      sc->name, cut, nev, commit, got.gen, want.gen,
                      got.hash == want.hash ? "right" : "wrong");
            cr_assert_eq(store_close(s), STORE_OK);
        }
    free(base_bytes);
    store_schema_free(after);
    finish();
    return states;
}

Test(faults, a_power_loss_at_any_instant_of_a_snapshot_leaves_the_old_or_the_new_snapshot)
{
    /* R3: 5 crash states per cut (50 in the long run), each a different choice of which
     * unsynced writes reached the disk, whole or torn. */
    uint64_t seed = pick_seed(), x = seed;
    int variants = scale > 1 ? 50 : 5;
    long states = 0;
    for (int i = 0; i < NSCENARIOS; i++) {
        long n = power_losses(&scenarios[i], variants, &x);
        cr_log_info("R3 %s: %ld crash states, 0 inconsistent", scenarios[i].name, n);
        states += n;
    }
    cr_log_info("R3: %ld crash states, 0 inconsistent (seed 0x%" PRIx64 ")", states, seed);
}
