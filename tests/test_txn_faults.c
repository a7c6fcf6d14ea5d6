/*
 * tests/test_txn_faults.c - R2, R3 and R4 for transactions: every I/O call of the snapshot an
 * outermost store_commit() takes under STORE_DURABLE_EACH_WRITE (and, in one scenario, of the
 * store_snapshot() made after a commit under STORE_DURABLE_MANUAL) as a kill point, as an I/O
 * error, and as the instant of a power loss. The file must hold all of the transaction or
 * none of it; after an error, memory holds all of it, still pending, and the next snapshot
 * writes all of it.
 *
 * A scenario builds a base file: the ledger of tests/txn_ledger.h, some transactions, one
 * snapshot. The transaction under test is the next ledger transaction n (with the ledger's
 * creation too, on an empty base): a receipt of many books, moves, a cascading delete,
 * savepoints. A reference run counts the I/O calls on the file (tests/iofault.c) from
 * store_begin() on, checks that none comes before store_commit(), and finds the one that writes
 * LMDB's meta page: the commit point.
 *
 * R2: for k = 1 .. N, a forked child starts from a copy of the base file, runs the
 * transaction and is killed (SIGKILL) just before call k. The reopened file must pass
 * store_check() and ledger_check(), and be at transaction n (its generation and dump) if and
 * only if the meta-page write was made, else at n - 1 exactly.
 *
 * R4: for k = 1 .. N and each fault (EIO, ENOSPC, a short write; in the long run also EIO
 * and ENOSPC from k on), the transaction runs in this process and call k fails.
 * store_commit() (under MANUAL, the store_snapshot() after it) must return STORE_EIO or
 * STORE_ENOSPC, or STORE_OK when the call was not needed; memory must hold the whole
 * transaction, its changes all still pending (the dirty and deleted counts of just before the
 * commit). Then, the fault cleared, one of three endings: store_snapshot(); a transaction over
 * the same objects rolled back (nothing changes, nothing stops being pending), then
 * store_snapshot(); the next transaction committed, whose snapshot writes both. A reopen must
 * give exactly what memory held. By default the endings take turns with k; in the long run
 * every k gets all three.
 *
 * R3: the commit's writes and syncs are recorded; crash states are rebuilt offline as in
 * tests/test_faults.c (writes not yet synced lost, kept or torn by 512-byte sectors), 5 per
 * cut (50 in the long run); each must open at transaction n - 1 or n exactly, by the cut's
 * place before or after the meta-page write.
 *
 * RELSTORE_FAULT_SCALE (1) multiplies the scenarios' sizes; RELSTORE_FAULT_FOREVER=1 adds the
 * persistent faults and every ending at every call. RELSTORE_SEED replays R3's crash states.
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

#include "store/check.h"
#include "tests/helpers.h"
#include "tests/iofault.h"
#include "tests/txn_ledger.h"

/* ---- Scenarios ------------------------------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    int before;           /* ledger transactions in the base file (0: an empty file) */
    int before_size;      /* their books, at most */
    int size;             /* the transaction under test's books, at most */
    store_durability dur; /* of every open but the base file's */
    size_t map_size;      /* store_options.map_size; 0: the default */
} scenario;

/* The base of "a cascade over a large receipt" holds receipts of 150 .. 300 books: the
 * transaction under test deletes one, with its reviews, and unsets the next one's editors. */
static const scenario scenarios[] = {
    {"the first transaction, with the ledger's creation", 0, 0, 20, STORE_DURABLE_EACH_WRITE, 0},
    {"a small transaction", 10, 12, 12, STORE_DURABLE_EACH_WRITE, 0},
    {"a large transaction", 10, 12, 1500, STORE_DURABLE_EACH_WRITE, 0},
    {"a cascade over a large receipt", 10, 300, 12, STORE_DURABLE_EACH_WRITE, 0},
    {"a transaction that grows the map", 3, 12, 2000, STORE_DURABLE_EACH_WRITE, 64 << 10},
    {"MANUAL: store_snapshot() after the commit", 10, 12, 200, STORE_DURABLE_MANUAL, 0},
};
enum { NSCENARIOS = sizeof scenarios / sizeof *scenarios };

static int scale = 1;
static bool forever; /* the long run: persistent faults, every ending at every call */

enum { BASE_SEED = 0x1ed9e4, TXN_SEED = 0x7a5c0ffee, NEXT_SEED = 0xbadcab1e };

/* ---- Files ----------------------------------------------------------------------------------- */

static char dir[64], path[128], base[128], lock[136];

/* Copies FROM to TO (not synced: only this process reads it, and no power loss is real). */
static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
    char buf[1 << 16];
    for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* The store file is the base file again (and no lock file is left over). */
static void restore_base(void)
{
    unlink(lock);
    copy_file(base, path);
}

static store_options options(const scenario *sc, store_durability dur, unsigned flags)
{
    return (store_options){
        .flags = flags, .map_size = sc->map_size * (size_t)scale, .durability = dur};
}

/* Opens the file under SC's durability (or read-only); the store must pass store_check(). */
static store *open_checked(const scenario *sc, bool readonly)
{
    store *s;
    store_options o =
        readonly ? options(sc, STORE_DURABLE_MANUAL, STORE_OPEN_READONLY) : options(sc, sc->dur, 0);
    int rc = store_open(&s, schema, path, &o);
    cr_assert_eq(rc, STORE_OK, "%s: open: %s (%s)", sc->name, store_strerror(rc),
                 store_errmsg(NULL));
    check_invariants(s);
    return s;
}

/* What a reopen finds: the ledger's transaction, the generation and the dump's hash. */
typedef struct state {
    uint64_t n, gen, hash;
} state;

static state state_of(store *s)
{
    store_stats st;
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    state r = {.gen = st.generation, .hash = ledger_hash(s)};
    char why[256];
    if (store_model_count(store_model_find(s, "Author")))
        cr_assert(ledger_check(s, &r.n, why, sizeof why), "ledger_check: %s", why);
    return r;
}

/* ---- The transaction under test -------------------------------------------------------------- */

/* Ledger transaction N of SC (and the ledger's creation, on an empty base) in an open write
 * transaction of S; NULL if a change failed (rolled back then). Asserts nothing: a child
 * runs it. */
static store_txn *changes(store *s, const scenario *sc, uint64_t n, uint64_t seed, int size)
{
    uint64_t x = seed;
    store_txn *t;
    if (store_begin(s, 0, &t))
        return NULL;
    int rc = n == 1 && sc->before == 0 ? ledger_init(s) : STORE_OK;
    if (!rc)
        rc = ledger_changes(s, n, &x, size);
    if (rc)
        store_rollback(t);
    return rc ? NULL : t;
}

/* Commits T; under MANUAL, then snapshots. The first failing code, or STORE_OK. */
static int commit(store *s, const scenario *sc, store_txn *t)
{
    int rc = store_commit(t);
    return rc || sc->dur != STORE_DURABLE_MANUAL ? rc : store_snapshot(s);
}

static store_txn *changes_ok(store *s, const scenario *sc, uint64_t n, uint64_t seed, int size)
{
    store_txn *t = changes(s, sc, n, seed, size);
    cr_assert_not_null(t, "%s: transaction %" PRIu64 ": %s", sc->name, n, store_errmsg(s));
    return t;
}

typedef struct plan {
    state old, fresh; /* the file before and after the transaction under test */
    uint64_t n;       /* its number */
    long calls;       /* its I/O calls on the file */
    long meta;        /* the number of the meta-page write */
} plan;

/* The base file of SC in BASE (and PATH): the ledger and SC's transactions before. */
static void base_file(const scenario *sc)
{
    strcpy(dir, "/tmp/relstore-txn-faults-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.db", dir);
    snprintf(base, sizeof base, "%s/base.db", dir);
    snprintf(lock, sizeof lock, "%s-lock", path);
    store *s;
    store_options o = options(sc, STORE_DURABLE_MANUAL, 0);
    cr_assert_eq(store_open(&s, schema, path, &o), STORE_OK, "%s", store_errmsg(NULL));
    if (sc->before)
        cr_assert_eq(ledger_init(s), STORE_OK, "%s", store_errmsg(s));
    for (int t = 1; t <= sc->before; t++)
        cr_assert_eq(commit(s, sc,
                            changes_ok(s, sc, (uint64_t)t, BASE_SEED + (uint64_t)t,
                                       sc->before_size * scale)),
                     STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    copy_file(path, base);
}

/* Builds the base file of SC and runs the reference transaction; returns its plan. */
static plan prepare(const scenario *sc)
{
    base_file(sc);
    plan p = {.n = (uint64_t)sc->before + 1};
    store *s = open_checked(sc, true);
    p.old = state_of(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(sc, false);
    iofault_watch(path);
    iofault_arm(IOF_NONE, 0, 0, false);
    store_txn *t = changes_ok(s, sc, p.n, TXN_SEED, sc->size * scale);
    cr_assert_eq(iof->calls, 0, "%s: %ld I/O calls inside the transaction", sc->name, iof->calls);
    cr_assert_eq(commit(s, sc, t), STORE_OK, "%s: %s", sc->name, store_errmsg(s));
    p.calls = iof->calls;
    p.meta = iofault_meta_call(sysconf(_SC_PAGESIZE));
    iofault_watch(NULL);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(sc, true);
    p.fresh = state_of(s);
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_gt(p.meta, 0, "%s: no meta-page write seen", sc->name);
    cr_assert_eq(p.fresh.n, p.n, "%s", sc->name);
    cr_assert_eq(p.fresh.gen, p.old.gen + 1, "%s: %" PRIu64 " snapshots for one transaction",
                 sc->name, p.fresh.gen - p.old.gen);
    return p;
}

static void finish(void)
{
    test_dir_remove(dir);
}

/* ---- R2: kill points ------------------------------------------------------------------------- */

static long kill_points(const scenario *sc)
{
    plan p = prepare(sc);
    for (long k = 1; k <= p.calls; k++) {
        restore_base();
        fflush(NULL);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            store *s;
            store_options o = options(sc, sc->dur, 0);
            if (store_open(&s, schema, path, &o))
                _exit(2);
            iofault_watch(path);
            iofault_arm(IOF_KILL, k, 0, false);
            store_txn *t = changes(s, sc, p.n, TXN_SEED, sc->size * scale);
            if (t)
                commit(s, sc, t);
            _exit(3); /* not killed: the commit made fewer calls than the reference */
        }
        int status;
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "%s, call %ld of %ld: the child was not killed (status 0x%x)", sc->name, k,
                  p.calls, status);
        store *s = open_checked(sc, true);
        state got = state_of(s), want = k > p.meta ? p.fresh : p.old;
        cr_assert(got.n == want.n && got.gen == want.gen && got.hash == want.hash,
                  "%s, killed before call %ld of %ld (meta write %ld): transaction %" PRIu64
                  " at generation %" PRIu64 ", expected %" PRIu64 " at %" PRIu64 ", content %s",
                  sc->name, k, p.calls, p.meta, got.n, got.gen, want.n, want.gen,
                  got.hash == want.hash ? "right" : "wrong");
        cr_assert_eq(store_close(s), STORE_OK);
    }
    finish();
    return p.calls;
}

/* ---- R4: I/O errors -------------------------------------------------------------------------- */

typedef struct fault {
    const char *name;
    iof_action action;
    int err;
    bool forever;
    int expect; /* the code the commit returns when it fails */
} fault;

static const fault faults_all[] = {
    {"EIO once", IOF_FAIL, EIO, false, STORE_EIO},
    {"ENOSPC once", IOF_FAIL, ENOSPC, false, STORE_ENOSPC},
    {"a short write", IOF_SHORT, 0, false, STORE_EIO},
    {"EIO from then on", IOF_FAIL, EIO, true, STORE_EIO},
    {"ENOSPC from then on", IOF_FAIL, ENOSPC, true, STORE_ENOSPC},
};

enum { END_SNAPSHOT, END_ROLLBACK, END_NEXT, NENDS };
static const char *const end_names[] = {"store_snapshot()", "a rollback, then store_snapshot()",
                                        "the next transaction"};

/* Where a fault happened, for the messages. */
typedef struct where {
    const scenario *sc;
    const fault *ft;
    long k;
} where;

/* After the commit met fault W at its call K and returned RC: memory holds the transaction
 * (dump INSIDE), and unless the snapshot was made, all its changes are pending (ST0, the counts
 * of just before the commit). Returns whether the snapshot was made. */
static bool check_failed_commit(store *s, const where *w, int rc, const char *inside,
                                const store_stats *st0)
{
    store_stats st1;
    cr_assert(rc == STORE_OK || rc == w->ft->expect, "%s, %s at call %ld: %s (%s)", w->sc->name,
              w->ft->name, w->k, store_strerror(rc), store_errmsg(s));
    cr_assert_eq(store_stat(s, &st1), STORE_OK);
    bool made = st1.generation != st0->generation;
    cr_assert(same_store(s, inside), "%s, %s at call %ld: memory lost the transaction", w->sc->name,
              w->ft->name, w->k);
    if (rc != STORE_OK && made) /* the one exception: the extension after the commit failed */
        cr_assert(strstr(store_errmsg(s), "is committed") && st1.dirty + st1.deleted == 0,
                  "%s, %s at call %ld: a snapshot made yet failed: %s", w->sc->name, w->ft->name,
                  w->k, store_errmsg(s));
    if (rc != STORE_OK && !made)
        cr_assert(st1.dirty == st0->dirty && st1.deleted == st0->deleted,
                  "%s, %s at call %ld: %zu dirty and %zu deleted, %zu and %zu before the commit",
                  w->sc->name, w->ft->name, w->k, st1.dirty, st1.deleted, st0->dirty, st0->deleted);
    return made;
}

/* Ends a store S whose commit of transaction N met fault W, the fault cleared, by ENDING;
 * a reopen must give what memory holds then. */
static void end_and_check(store *s, const where *w, uint64_t n, int ending)
{
    const char *how = end_names[ending];
    store_stats st0, st1;
    cr_assert_eq(store_stat(s, &st0), STORE_OK);
    if (ending == END_ROLLBACK) {
        char *before;
        cr_assert_eq(rs_dump_store(s, &before), STORE_OK);
        store_txn *t = changes_ok(s, w->sc, n + 1, NEXT_SEED, 12);
        cr_assert_eq(store_rollback(t), STORE_OK);
        cr_assert_eq(store_stat(s, &st1), STORE_OK);
        cr_assert(same_store(s, before) && st1.dirty == st0.dirty && st1.deleted == st0.deleted,
                  "%s, %s at call %ld: a rollback changed the pending transaction", w->sc->name,
                  w->ft->name, w->k);
        free(before);
    }
    int rc = ending == END_NEXT ? commit(s, w->sc, changes_ok(s, w->sc, n + 1, NEXT_SEED, 12))
                                : store_snapshot(s);
    cr_assert_eq(rc, STORE_OK, "%s, %s at call %ld, then %s: %s (%s)", w->sc->name, w->ft->name,
                 w->k, how, store_strerror(rc), store_errmsg(s));
    cr_assert_eq(store_stat(s, &st1), STORE_OK);
    cr_assert_eq(st1.dirty + st1.deleted, 0, "%s, %s at call %ld, then %s: still pending",
                 w->sc->name, w->ft->name, w->k, how);
    char *want;
    cr_assert_eq(rs_dump_store(s, &want), STORE_OK);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    s = open_checked(w->sc, true);
    cr_assert(same_store(s, want), "%s, %s at call %ld, then %s: the reopened store differs",
              w->sc->name, w->ft->name, w->k, how);
    state got = state_of(s);
    cr_assert_eq(got.n, n + (ending == END_NEXT), "%s, %s at call %ld, then %s", w->sc->name,
                 w->ft->name, w->k, how);
    cr_assert_eq(store_close(s), STORE_OK);
    free(want);
}

/* One fault W on the commit of transaction N, from the base file, then ENDING. Returns
 * whether the commit failed. */
static bool one_fault(const where *w, uint64_t n, int ending)
{
    restore_base();
    store *s = open_checked(w->sc, false);
    store_txn *t = changes_ok(s, w->sc, n, TXN_SEED, w->sc->size * scale);
    char *inside;
    store_stats st0;
    cr_assert_eq(rs_dump_store(s, &inside), STORE_OK);
    cr_assert_eq(store_stat(s, &st0), STORE_OK);
    iofault_watch(path);
    iofault_arm(w->ft->action, w->k, w->ft->err, w->ft->forever);
    int rc = commit(s, w->sc, t);
    iofault_disarm();
    iofault_watch(NULL);
    check_failed_commit(s, w, rc, inside, &st0);
    free(inside);
    end_and_check(s, w, n, ending);
    return rc != STORE_OK;
}

/* R4 for one scenario and the NFAULTS first faults; returns the faults injected. */
static long io_errors(const scenario *sc, int nfaults)
{
    plan p = prepare(sc);
    long injected = 0;
    for (const fault *ft = faults_all; ft < faults_all + nfaults; ft++) {
        long failed = 0;
        for (long k = 1; k <= p.calls; k++) {
            where w = {sc, ft, k};
            for (int e = 0; e < NENDS; e++)
                if (forever || e == k % NENDS)
                    failed += one_fault(&w, p.n, e), injected++;
        }
        cr_assert_gt(failed, 0, "R4 %s, %s: no snapshot failed", sc->name, ft->name);
        cr_log_info("R4 %s, %s: %ld calls, %ld snapshots failed, 0 failures", sc->name, ft->name,
                    p.calls, failed);
    }
    finish();
    return injected;
}

/* ---- R3: power loss -------------------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

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

/* Writes into PATH what a power loss just before event CUT of EV could leave of the base file
 * (BYTES, LEN): as crash_state() of tests/test_faults.c. */
static void crash_state(const unsigned char *bytes, size_t len, const iof_rec *ev, size_t cut,
                        uint64_t *x)
{
    size_t barrier = 0; /* events before it are durable */
    for (size_t i = 0; i < cut; i++)
        if (ev[i].kind == IOF_SYNC)
            barrier = i + 1;
    unlink(lock);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, bytes, len, 0), (ssize_t)len);
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

/* R3 for one scenario: VARIANTS crash states at each cut; returns the states checked. */
static long power_losses(const scenario *sc, int variants, uint64_t *x)
{
    plan p = prepare(sc);
    size_t len;
    unsigned char *bytes = file_bytes(base, &len);
    restore_base();
    store *s = open_checked(sc, false);
    store_txn *t = changes_ok(s, sc, p.n, TXN_SEED, sc->size * scale);
    iofault_watch(path);
    iofault_record(true);
    cr_assert_eq(commit(s, sc, t), STORE_OK, "%s", store_errmsg(s));
    iofault_record(false);
    iofault_watch(NULL);
    cr_assert_eq(store_close(s), STORE_OK);
    const iof_rec *ev;
    size_t nev = iofault_records(&ev), at_commit = 0;
    for (size_t i = 0; i < nev; i++)
        if (ev[i].kind == IOF_WRITE && ev[i].off < 2 * sysconf(_SC_PAGESIZE))
            at_commit = i + 1;
    cr_assert_gt(at_commit, 0, "%s: no meta-page write recorded", sc->name);
    long states = 0;
    for (size_t cut = 0; cut <= nev; cut++)
        for (int v = 0; v < variants; v++, states++) {
            crash_state(bytes, len, ev, cut, x);
            s = open_checked(sc, true);
            state got = state_of(s), want = cut >= at_commit ? p.fresh : p.old;
            cr_assert(got.n == want.n && got.gen == want.gen && got.hash == want.hash,
                      "%s, power lost before event %zu of %zu (commit at %zu): transaction %" PRIu64
                      " at generation %" PRIu64 ", expected %" PRIu64 " at %" PRIu64 ", content %s",
                      sc->name, cut, nev, at_commit, got.n, got.gen, want.n, want.gen,
                      got.hash == want.hash ? "right" : "wrong");
            cr_assert_eq(store_close(s), STORE_OK);
        }
    free(bytes);
    finish();
    return states;
}

/* ---- The tests ------------------------------------------------------------------------------- */

static void setup(void)
{
    const char *env = getenv("RELSTORE_FAULT_SCALE");
    scale = env && atoi(env) > 0 ? atoi(env) : 1;
    env = getenv("RELSTORE_FAULT_FOREVER");
    forever = env && atoi(env) == 1;
    iofault_init();
    library_setup();
}

TestSuite(txn_faults, .init = setup, .fini = library_teardown, .timeout = 1800);

Test(txn_faults, a_kill_at_any_io_call_of_a_commit_leaves_all_of_the_transaction_or_none)
{
    long points = 0;
    for (int i = 0; i < NSCENARIOS; i++) {
        long n = kill_points(&scenarios[i]);
        cr_log_info("R2 %s: %ld kill points, 0 failures", scenarios[i].name, n);
        points += n;
    }
    cr_log_info("R2: %ld kill points over %d transactions, 0 failures", points, NSCENARIOS);
}

Test(txn_faults, an_io_error_in_a_commit_keeps_the_transaction_pending_and_the_next_snapshot_whole)
{
    long faults = 0;
    for (int i = 0; i < NSCENARIOS; i++)
        faults += io_errors(&scenarios[i], forever ? 5 : 3);
    cr_log_info("R4: %ld faults injected in commits, 0 failures", faults);
}

Test(txn_faults, a_power_loss_at_any_instant_of_a_commit_leaves_all_of_the_transaction_or_none)
{
    const char *env = getenv("RELSTORE_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u | 1;
    uint64_t x = seed;
    int variants = scale > 1 ? 50 : 5;
    long states = 0;
    for (int i = 0; i < NSCENARIOS; i++) {
        long n = power_losses(&scenarios[i], variants, &x);
        cr_log_info("R3 %s: %ld crash states, 0 inconsistent", scenarios[i].name, n);
        states += n;
    }
    cr_log_info("R3: %ld crash states, 0 inconsistent (seed 0x%" PRIx64 ")", states, seed);
}
