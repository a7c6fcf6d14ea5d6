/*
 * tests/test_txn_crash.c - R1 for transactions: a process killed at any instant leaves its file
 * with all of each transaction or none of it, and with every one whose durability was
 * acknowledged.
 *
 * As in tests/test_crash.c, a child per point opens the same file (so the state builds up across
 * points) and is killed by SIGKILL; its work here is the ledger of tests/txn_ledger.h: one
 * transaction after another, each many changes (a receipt with its books and reviews, moves
 * between accounts, a cascading delete, savepoints committed and rolled back), and about one in
 * five rolled back whole instead of committed. Through a pipe the child reports each commit
 * before it is made (the transaction's number and the hash of the store's canonical dump, taken
 * inside the transaction), and whatever it learns is durable. Three durabilities:
 *
 *   EACH_WRITE  store_commit() takes the snapshot: once it returns, the transaction is in the
 *               file; the one being committed may be or not;
 *   MANUAL      store_snapshot() after every 1-3 commits: the file holds the transactions of
 *               the last snapshot that returned, or of the one being taken;
 *   INTERVAL    a background snapshot every 1-5 ms: the file holds a state after some
 *               committed transaction, never older than what a generation the child saw
 *               implies (a snapshot two generations after one seen once transaction n had
 *               committed gathered after n), nor newer than the last commit begun.
 *
 * The parent kills the child: on even points of EACH_WRITE and MANUAL a few hundred
 * microseconds after a commit or snapshot begins (aimed inside it), otherwise at a uniformly
 * random instant of its first 30 ms (60 ms under INTERVAL; load included). Then it reopens the
 * file: the open must succeed, store_check() and ledger_check() pass (transactions 1 .. c whole,
 * nothing of a rolled-back one or of c + 1), c be one of the allowed transactions and the dump's
 * hash the one the child reported for c.
 *
 * Outcomes: "torn" (a check fails, or the right transaction with the wrong content), "lost"
 * (older than allowed), "phantom" (newer than allowed), "open failure", "child failure" (the
 * child's own calls failed: a rollback that did not restore the store, a commit's error). All
 * must be 0. RELSTORE_SEED replays the workload and the kill delays; RELSTORE_CRASH_POINTS sets
 * the points of each durability (EACH_WRITE 100, MANUAL 60, INTERVAL 60).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/txn_ledger.h"

enum {
    BOOKS_PER_TXN = 12,          /* a transaction's receipt has 6 .. 12 books */
    UNIFORM_WINDOW_US = 30000,   /* uniform kills fall in the child's first 30 ms */
    AIMED_DEADLINE_US = 3000000, /* an aimed kill that never sees its message: kill anyway */
};

/* What the child tells the parent. Each message is one write(2) of 32 bytes: atomic. */
enum {
    MSG_OPENED = 1, /* N: the counter loaded; HASH, GEN: the store's */
    MSG_COMMIT,     /* store_commit() of transaction N begins; HASH: the store it leaves */
    MSG_ROLLED,     /* transaction N was rolled back whole, and the store is as before */
    MSG_SNAPSHOT,   /* MANUAL: store_snapshot() begins, after transaction N */
    MSG_DURABLE,    /* the file holds transaction N, at generation GEN */
    MSG_GEN,        /* INTERVAL: after transaction N committed, the file was at GEN */
    MSG_FAILED,     /* the child's call WHERE (in GEN) failed with HASH, at transaction N */
};
typedef struct msg {
    uint64_t kind, n, hash, gen;
} msg;

enum { AT_OPEN = 1, AT_CHANGES, AT_ROLLBACK, AT_COMMIT, AT_SNAPSHOT, AT_BACKGROUND };
static const char *const at_names[] = {"?",
                                       "store_open",
                                       "a change",
                                       "a rollback",
                                       "store_commit",
                                       "store_snapshot",
                                       "a background snapshot"};

static store_schema *crash_schema;

/* The seed: RELSTORE_SEED if set, else the clock. */
static uint64_t pick_seed(void)
{
    const char *env = getenv("RELSTORE_SEED");
    if (env && *env)
        return strtoull(env, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 48;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- The child ------------------------------------------------------------------------------- */

static void send_msg(int fd, uint64_t kind, uint64_t n, uint64_t hash, uint64_t gen)
{
    msg m = {.kind = kind, .n = n, .hash = hash, .gen = gen};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m)
        _exit(5);
}

static _Noreturn void child_fail(int fd, uint64_t n, int rc, int where)
{
    send_msg(fd, MSG_FAILED, n, (uint64_t)(int64_t)rc, (uint64_t)where);
    _exit(4);
}

static uint64_t generation(store *s)
{
    store_stats st;
    store_stat(s, &st);
    return st.generation;
}

/* Transaction N + 1, committed or (one in five) rolled back whole. Returns the last committed
 * transaction; *HASH is the store's hash after it. */
static uint64_t one_txn(store *s, store_durability dur, uint64_t n, uint64_t *hash, uint64_t *x,
                        int fd)
{
    bool doomed = ledger_rand(x) % 5 == 0;
    store_txn *t;
    int rc = store_begin(s, 0, &t);
    if (!rc && (rc = ledger_changes(s, n + 1, x, BOOKS_PER_TXN)))
        store_rollback(t);
    if (rc)
        child_fail(fd, n + 1, rc, AT_CHANGES);
    if (doomed) {
        store_rollback(t);
        if (ledger_hash(s) != *hash)
            child_fail(fd, n + 1, 0, AT_ROLLBACK);
        send_msg(fd, MSG_ROLLED, n + 1, 0, 0);
        return n;
    }
    uint64_t h = ledger_hash(s);
    send_msg(fd, MSG_COMMIT, n + 1, h, 0);
    if ((rc = store_commit(t)))
        child_fail(fd, n + 1, rc, AT_COMMIT);
    *hash = h;
    if (dur == STORE_DURABLE_EACH_WRITE)
        send_msg(fd, MSG_DURABLE, n + 1, h, generation(s));
    if (dur == STORE_DURABLE_INTERVAL) {
        store_stats st;
        store_stat(s, &st);
        if (st.last_error)
            child_fail(fd, n + 1, st.last_error, AT_BACKGROUND);
        send_msg(fd, MSG_GEN, n + 1, h, st.generation);
    }
    return n + 1;
}

/* The child: never returns into Criterion; ends by SIGKILL (or _exit on a failure). */
static _Noreturn void child_main(const char *path, store_durability dur, uint64_t seed, int fd)
{
    uint64_t x = seed;
    store_options opts = {.durability = dur, .interval_ms = 1 + (unsigned)(ledger_rand(&x) % 5)};
    store *s;
    int rc = store_open(&s, crash_schema, path, &opts);
    if (rc)
        child_fail(fd, 0, rc, AT_OPEN);
    store_obj *counter;
    store_get(s, store_model_find(s, "Author"), 1, &counter);
    uint64_t n = (uint64_t)store_int(counter, "age"), h = ledger_hash(s);
    send_msg(fd, MSG_OPENED, n, h, generation(s));
    for (;;) {
        for (uint64_t k = dur == STORE_DURABLE_MANUAL ? 1 + ledger_rand(&x) % 3 : 1; k; k--)
            n = one_txn(s, dur, n, &h, &x, fd);
        if (dur != STORE_DURABLE_MANUAL)
            continue;
        send_msg(fd, MSG_SNAPSHOT, n, h, 0);
        if ((rc = store_snapshot(s)))
            child_fail(fd, n, rc, AT_SNAPSHOT);
        send_msg(fd, MSG_DURABLE, n, h, generation(s));
    }
}

/* ---- The parent ------------------------------------------------------------------------------ */

/* What the parent knows of the file, and of the transactions the child committed. */
typedef struct expect {
    store_durability dur;
    uint64_t n, gen, hash; /* the file's last state known durable */
    bool pending;          /* a commit (EACH_WRITE) or a snapshot (MANUAL) is under way, */
    uint64_t pending_n;    /* which would leave transaction pending_n */
    uint64_t base, top;    /* the child opened at transaction base; top: its last commit */
    uint64_t *hash_of;     /* hash_of[i]: the store after transaction base + i */
    uint64_t *gen_after;   /* INTERVAL: the generation seen once base + i committed */
    size_t cap;
    uint64_t start_us; /* when the pending message was read */
} expect;

typedef struct tally {
    int torn, lost, phantom, open_failed, child_failed;
    int in_flight, took_new; /* kills while a commit or snapshot was under way; reopened after it */
    int commits, rollbacks, durable;
    uint64_t generations;   /* snapshots the file gained over all points */
    uint64_t flight_us_sum; /* COMMIT or SNAPSHOT to DURABLE, for aiming */
    int flight_n;
} tally;

/* Makes room for the hash of transaction N. */
static void remember(expect *e, uint64_t n, uint64_t hash, uint64_t gen)
{
    size_t i = (size_t)(n - e->base);
    if (i >= e->cap) {
        e->cap = e->cap ? 2 * e->cap : 64;
        while (e->cap <= i)
            e->cap *= 2;
        e->hash_of = realloc(e->hash_of, e->cap * sizeof *e->hash_of);
        e->gen_after = realloc(e->gen_after, e->cap * sizeof *e->gen_after);
        cr_assert(e->hash_of && e->gen_after);
    }
    e->hash_of[i] = hash;
    e->gen_after[i] = gen;
}

static void take_durable(const msg *m, expect *e, tally *t)
{
    if (e->pending && e->start_us) {
        t->flight_us_sum += now_us() - e->start_us;
        t->flight_n++;
    }
    e->n = m->n;
    e->hash = m->hash;
    e->gen = m->gen;
    e->pending = false;
    t->durable++;
}

/* Applies one message; returns true for the kind the kills aim at. */
static bool take_msg(const msg *m, expect *e, tally *t, int point)
{
    switch (m->kind) {
    case MSG_OPENED:
        if (m->n != e->n || m->hash != e->hash || m->gen != e->gen) {
            t->child_failed++;
            cr_log_error("point %d: the child opened transaction %" PRIu64 " at generation %" PRIu64
                         ", the file holds %" PRIu64 " at %" PRIu64,
                         point, m->n, m->gen, e->n, e->gen);
        }
        return false;
    case MSG_COMMIT:
        t->commits++;
        remember(e, m->n, m->hash, 0);
        e->top = m->n;
        if (e->dur != STORE_DURABLE_EACH_WRITE)
            return false;
        e->pending = true;
        e->pending_n = m->n;
        e->start_us = now_us();
        return true;
    case MSG_ROLLED:
        t->rollbacks++;
        return false;
    case MSG_SNAPSHOT:
        e->pending = true;
        e->pending_n = m->n;
        e->start_us = now_us();
        return true;
    case MSG_DURABLE:
        take_durable(m, e, t);
        return false;
    case MSG_GEN:
        e->gen_after[m->n - e->base] = m->gen;
        return false;
    default:
        t->child_failed++;
        cr_log_error("point %d: the child's %s failed at transaction %" PRIu64 ": %s", point,
                     at_names[m->gen < 7 ? m->gen : 0], m->n,
                     m->hash ? store_strerror((int)(int64_t)m->hash) : "the store changed");
        return false;
    }
}

typedef struct reader {
    unsigned char buf[sizeof(msg)];
    size_t have;
} reader;

/* Reads what the pipe holds; returns how many aimed-at messages came, or -1 at end of file. */
static int drain(int fd, reader *r, expect *e, tally *t, int point)
{
    int aims = 0;
    for (;;) {
        ssize_t n = read(fd, r->buf + r->have, sizeof r->buf - r->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return aims;
        if (n <= 0)
            return aims ? aims : -1;
        r->have += (size_t)n;
        if (r->have == sizeof r->buf) {
            msg m;
            memcpy(&m, r->buf, sizeof m);
            r->have = 0;
            aims += take_msg(&m, e, t, point);
        }
    }
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Waits for the moment to kill: the aimed-at message numbered TARGET plus DELAY, or the
 * deadline. */
static void wait_for_kill(int fd, reader *r, expect *e, tally *t, int point, int target,
                          uint64_t delay, uint64_t deadline)
{
    int aims = 0;
    for (;;) {
        uint64_t now = now_us();
        if (now >= deadline)
            return;
        uint64_t left = deadline - now;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000u),
                              .tv_nsec = (long)(left % 1000000u) * 1000};
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (ppoll(&pfd, 1, &ts, NULL) <= 0)
            continue;
        int got = drain(fd, r, e, t, point);
        if (got < 0)
            return; /* the child is gone */
        aims += got;
        if (target && aims >= target) {
            sleep_us(delay);
            return;
        }
    }
}

/* The allowed transactions of the file at generation G, against E: [*LOW, *HIGH]; under
 * EACH_WRITE and MANUAL only the two ends, at generations E->gen and E->gen + 1. */
static void allowed(const expect *e, uint64_t g, uint64_t *low, uint64_t *high)
{
    *low = e->n;
    *high = e->pending ? e->pending_n : e->n;
    if (e->dur != STORE_DURABLE_INTERVAL)
        return;
    *high = e->top;
    for (uint64_t n = e->base + 1; n <= e->top; n++)
        if (e->gen_after[n - e->base] && e->gen_after[n - e->base] + 2 <= g)
            *low = n;
}

/* What the reopened file holds (transaction C, generation G, hash H), against E: NULL if it is
 * one of the allowed states. */
static const char *classify(uint64_t c, uint64_t g, uint64_t h, const expect *e, tally *t)
{
    uint64_t low, high, max_gen = e->gen;
    allowed(e, g, &low, &high);
    for (uint64_t n = e->base + 1; e->dur == STORE_DURABLE_INTERVAL && n <= e->top; n++)
        if (e->gen_after[n - e->base] > max_gen)
            max_gen = e->gen_after[n - e->base];
    if (c < low || g < max_gen) {
        t->lost++;
        return "lost";
    }
    if (c > high) {
        t->phantom++;
        return "phantom";
    }
    bool gen_ok = e->dur == STORE_DURABLE_INTERVAL || g == e->gen + (c != e->n);
    if (c != e->n && c != high && e->dur != STORE_DURABLE_INTERVAL) {
        t->torn++;
        return "torn (a transaction between the allowed ones)";
    }
    if (!gen_ok || h != (c == e->n ? e->hash : e->hash_of[c - e->base])) {
        t->torn++;
        return "torn (the right transaction, the wrong content or generation)";
    }
    t->took_new += c != e->n;
    return NULL;
}

/* Reopens the file and classifies what it holds against E; then E is what it holds. */
static void verify(const char *path, expect *e, tally *t, int point, bool *stop)
{
    store *d;
    int rc = store_open(&d, crash_schema, path, NULL);
    if (rc) {
        t->open_failed++;
        cr_log_error("point %d: reopening: %s: %s", point, store_strerror(rc), store_errmsg(NULL));
        *stop = true;
        return;
    }
    char why[256] = "";
    uint64_t c = 0, g = generation(d), h = ledger_hash(d);
    const char *what = NULL;
    if (store_check(d) != STORE_OK || !ledger_check(d, &c, why, sizeof why)) {
        t->torn++;
        what = "torn (a check failed)";
    } else {
        what = classify(c, g, h, e, t);
    }
    if (what) {
        uint64_t low, high;
        allowed(e, g, &low, &high);
        cr_log_error("point %d: %s: transaction %" PRIu64 " at generation %" PRIu64
                     "; allowed %" PRIu64 " .. %" PRIu64 ", durable %" PRIu64 " at %" PRIu64
                     "; %s %s",
                     point, what, c, g, low, high, e->n, e->gen, why, store_errmsg(d));
        *stop = true;
    }
    e->n = c;
    e->gen = g;
    e->hash = h;
    e->pending = false;
    check_invariants(d); /* what verify counted as torn also fails here, after the log */
    store_close(d);
}

/* One point: fork, work, kill, reopen. */
static void run_point(const char *path, uint64_t *seed, int point, expect *e, tally *t, bool *stop)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    uint64_t child_seed = ledger_rand(seed);
    bool aimed = point % 2 == 0 && e->dur != STORE_DURABLE_INTERVAL;
    int target = aimed ? 1 + (int)(ledger_rand(seed) % 3) : 0;
    uint64_t avg = t->flight_n ? t->flight_us_sum / (uint64_t)t->flight_n : 300;
    uint64_t delay = aimed ? ledger_rand(seed) % (avg + avg / 4 + 50) : 0;
    uint64_t span = e->dur == STORE_DURABLE_INTERVAL ? 2 * UNIFORM_WINDOW_US : UNIFORM_WINDOW_US;
    uint64_t window = aimed ? AIMED_DEADLINE_US : ledger_rand(seed) % span;
    uint64_t gen0 = e->gen;
    e->base = e->top = e->n;
    remember(e, e->n, e->hash, e->gen);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        child_main(path, e->dur, child_seed, fds[1]);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    reader r = {.have = 0};
    wait_for_kill(fds[0], &r, e, t, point, target, delay, now_us() + window);
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    while (drain(fds[0], &r, e, t, point) >= 0)
        ;
    close(fds[0]);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        t->child_failed++;
        cr_log_error("point %d: the child ended by itself (status 0x%x)", point, status);
        *stop = true;
    }
    t->in_flight += e->pending;
    verify(path, e, t, point, stop);
    t->generations += e->gen - gen0;
}

/* The file at PATH with the counter and the accounts, snapshot; E is what it holds. */
static void first_file(const char *path, expect *e)
{
    store *s;
    cr_assert_eq(store_open(&s, crash_schema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(ledger_init(s), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
    e->n = 0;
    e->gen = generation(s);
    e->hash = ledger_hash(s);
    cr_assert_eq(store_close(s), STORE_OK);
}

static void campaign(store_durability dur, const char *name, int default_points)
{
    uint64_t seed0 = pick_seed(), seed = seed0;
    const char *env = getenv("RELSTORE_CRASH_POINTS");
    int points = env && *env ? atoi(env) : default_points;
    cr_log_info("txn_crash %s: RELSTORE_SEED=0x%016" PRIx64 " RELSTORE_CRASH_POINTS=%d", name,
                seed0, points);
    char dir[64], path[128];
    test_dir_new(dir, path, "txn-crash");
    crash_schema = library_schema();
    expect e = {.dur = dur};
    first_file(path, &e);
    tally t = {0};
    bool stop = false;
    uint64_t began = now_us();
    int done = 0;
    for (; done < points && !stop; done++)
        run_point(path, &seed, done, &e, &t, &stop);
    cr_log_info("txn_crash %s: %d points in %.1f s: %d commits begun, %d rolled back, %" PRIu64
                " snapshots made, file at transaction %" PRIu64,
                name, done, (double)(now_us() - began) / 1e6, t.commits, t.rollbacks, t.generations,
                e.n);
    if (dur == STORE_DURABLE_INTERVAL)
        cr_log_info("txn_crash %s: %d reopens at a later transaction than the child opened at",
                    name, t.took_new);
    else
        cr_log_info("txn_crash %s: %d acknowledged durable; %d kills during a commit or "
                    "snapshot (%d reopened after it), which took ~%" PRIu64 " us",
                    name, t.durable, t.in_flight, t.took_new,
                    t.flight_n ? t.flight_us_sum / (uint64_t)t.flight_n : 0);
    cr_log_info("txn_crash %s: torn %d, lost %d, phantom %d, open failures %d, child failures %d",
                name, t.torn, t.lost, t.phantom, t.open_failed, t.child_failed);
    cr_expect_eq(t.torn + t.lost + t.phantom + t.open_failed + t.child_failed, 0,
                 "%s: failures (seed 0x%016" PRIx64 ")", name, seed0);
    free(e.hash_of);
    free(e.gen_after);
    store_schema_free(crash_schema);
    if (!stop)
        test_dir_remove(dir);
    else
        cr_log_error("txn_crash %s: the file is kept in %s", name, dir);
}

Test(txn_crash, under_each_write_a_kill_keeps_every_acknowledged_commit_and_all_or_none_of_the_next)
{
    campaign(STORE_DURABLE_EACH_WRITE, "EACH_WRITE", 100);
}

Test(txn_crash, under_manual_a_kill_keeps_whole_transactions_of_the_last_or_the_next_snapshot)
{
    campaign(STORE_DURABLE_MANUAL, "MANUAL", 60);
}

Test(txn_crash, under_interval_a_background_snapshot_never_holds_part_of_a_transaction)
{
    campaign(STORE_DURABLE_INTERVAL, "INTERVAL", 60);
}
