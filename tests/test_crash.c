/*
 * tests/test_crash.c - R1: a process killed at any instant leaves its file at the last snapshot it
 * acknowledged, or at the one it was taking.
 *
 * The test forks a child per point. The child opens the same file each time (so the state builds up
 * across points), runs a random workload (creates, updates that move foreign keys, deletes that
 * cascade) and takes a snapshot every few changes. Before each snapshot it writes to a pipe a
 * "starting" message with the hash of the store's canonical dump; after store_snapshot() returns
 * STORE_OK, an "ack" with the generation store_stat() reports and the same hash. The parent kills
 * the child with SIGKILL: on even points a few hundred microseconds after a "starting" message
 * (aimed inside store_snapshot()), on odd points at a uniformly random instant of its first 30 ms
 * (load included). Then the parent reopens the file: the open must succeed, store_check() must
 * pass, and the generation and dump hash must be those of the last ack, or those of the snapshot
 * that was being taken.
 *
 * Outcomes: "torn" (the right generation with the wrong content, or store_check() failing), "lost"
 * (a generation older than the last ack), "phantom" (a generation newer than any the child could
 * have committed), "open failure". All must be 0.
 *
 * RELSTORE_SEED replays the workload and the kill delays (the instants themselves depend on the
 * machine); RELSTORE_CRASH_POINTS sets the number of points (300).
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
#include <xxhash.h>

#include "store/check.h"
#include "tests/helpers.h"

enum {
    DEFAULT_POINTS = 300,
    UNIFORM_WINDOW_US = 30000,   /* odd points: the kill falls in the child's first 30 ms */
    AIMED_DEADLINE_US = 3000000, /* an aimed kill that never sees its snapshot: kill anyway */
    MAX_OBJECTS = 1200,          /* above this the workload mostly deletes */
};

/* What the child tells the parent. Each message is one write(2) of 24 bytes: atomic. */
enum { MSG_START = 1, MSG_ACK, MSG_OPEN_FAILED, MSG_SNAPSHOT_FAILED };
typedef struct msg {
    uint64_t kind;
    uint64_t gen;  /* the generation before (START) or after (ACK) the snapshot; rc (FAILED) */
    uint64_t hash; /* XXH3 of the dump */
} msg;

static store_schema *crash_schema;

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

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

static uint64_t dump_hash(store *s)
{
    char *text;
    if (rs_dump_store(s, &text))
        return 0;
    uint64_t h = XXH3_64bits(text, strlen(text));
    free(text);
    return h;
}

/* ---- The child's workload -------------------------------------------------------------------- */

typedef struct work {
    store *db;
    store_model *author, *book, *review, *loan;
    uint64_t seed;
    char text[8192];
} work;

static uint64_t rnd(work *w, uint64_t n)
{
    return n ? next_rand(&w->seed) % n : 0;
}

/* A random string of LEN letters and spaces in w->text. */
static const char *words(work *w, size_t len)
{
    for (size_t i = 0; i < len; i++)
        w->text[i] = (char)(rnd(w, 6) ? 'a' + rnd(w, 26) : ' ');
    w->text[len] = 0;
    return w->text;
}

/* A live object of M picked at random, or NULL after a few misses. */
static store_obj *pick(work *w, store_model *m)
{
    for (int tries = 0; tries < 6 && m->next_id > 1; tries++) {
        store_obj *o;
        if (store_get(w->db, m, 1 + rnd(w, m->next_id - 1), &o) == STORE_OK)
            return o;
    }
    return NULL;
}

/* Values are added one statement at a time, so the draws come in a fixed order. */
#define ADD(list, n, value) ((list)[(n)++] = (store_value)value)

static void create_author(work *w)
{
    char name[64], email[32];
    store_value v[8];
    int n = 0;
    snprintf(name, sizeof name, "author %" PRIu64, rnd(w, 1000000));
    ADD(v, n, STORE_V_STR("name", name));
    snprintf(email, sizeof email, "e%" PRIu64 "@x", rnd(w, 5000)); /* may repeat: refused */
    if (rnd(w, 2))
        ADD(v, n, STORE_V_STR("email", email));
    if (rnd(w, 2))
        ADD(v, n, STORE_V_INT("age", (int64_t)rnd(w, 100)));
    ADD(v, n, STORE_V_FLOAT("rating", (double)rnd(w, 1000) / 7.0));
    ADD(v, n, STORE_V_BOOL("active", rnd(w, 2)));
    v[n] = (store_value){0};
    store_create(w->db, w->author, v, NULL);
}

static void create_book(work *w, store_obj *author)
{
    char isbn[32];
    store_value v[8];
    int n = 0;
    ADD(v, n, STORE_V_STR("title", words(w, 1 + rnd(w, 200))));
    ADD(v, n, STORE_V_REF("author", author));
    store_obj *editor = rnd(w, 3) ? NULL : pick(w, w->author);
    if (editor)
        ADD(v, n, STORE_V_REF("editor", editor));
    ADD(v, n, STORE_V_INT("pages", (int64_t)rnd(w, 2000)));
    snprintf(isbn, sizeof isbn, "%" PRIu64, rnd(w, 10000000));
    if (!rnd(w, 3))
        ADD(v, n, STORE_V_STR("isbn", isbn));
    v[n] = (store_value){0};
    store_create(w->db, w->book, v, NULL);
}

static void create_one(work *w)
{
    uint64_t r = rnd(w, 100);
    store_obj *a = pick(w, w->author);
    store_obj *b = pick(w, w->book);
    if (r < 20 || !a) {
        create_author(w);
    } else if (r < 55 || !b) {
        create_book(w, a);
    } else if (r < 90) {
        size_t len = rnd(w, 20) ? rnd(w, 600) : 2000 + rnd(w, 6000); /* some overflow pages */
        store_value v[] = {STORE_V_REF("book", b), STORE_V_STR("body", words(w, len)), {0}};
        store_create(w->db, w->review, v, NULL);
    } else {
        size_t len = 1 + rnd(w, 31);
        store_value v[] = {STORE_V_REF("book", b), STORE_V_STR("who", words(w, len)), {0}};
        store_create(w->db, w->loan, v, NULL);
    }
}

/* Moves a book to another author (and editor), renaming it. */
static void update_book(work *w, store_obj *book)
{
    store_value v[4];
    int n = 0;
    store_obj *author = pick(w, w->author);
    store_obj *editor = pick(w, w->author);
    if (author)
        ADD(v, n, STORE_V_REF("author", author));
    if (rnd(w, 2) && editor)
        ADD(v, n, STORE_V_REF("editor", editor));
    else
        ADD(v, n, STORE_V_NULL("editor"));
    ADD(v, n, STORE_V_STR("title", words(w, 1 + rnd(w, 100))));
    v[n] = (store_value){0};
    store_update(w->db, book, v);
}

static void update_one(work *w)
{
    uint64_t r = rnd(w, 100);
    store_value v[4];
    int n = 0;
    store_obj *o;
    if (r < 40 && (o = pick(w, w->book))) {
        update_book(w, o);
        return;
    }
    if (r < 60 && (o = pick(w, w->author))) {
        if (rnd(w, 2))
            ADD(v, n, STORE_V_INT("age", (int64_t)rnd(w, 120)));
        else
            ADD(v, n, STORE_V_NULL("age"));
        ADD(v, n, STORE_V_FLOAT("rating", (double)rnd(w, 1000) / 3.0));
    } else if (r < 90 && (o = pick(w, w->review))) {
        store_obj *b = pick(w, w->book);
        if (b)
            ADD(v, n, STORE_V_REF("book", b));
        ADD(v, n, STORE_V_STR("body", words(w, rnd(w, 300))));
    } else if ((o = pick(w, w->loan))) {
        store_obj *b = pick(w, w->book);
        if (b)
            ADD(v, n, STORE_V_REF("book", b));
    } else {
        return;
    }
    v[n] = (store_value){0};
    if (n)
        store_update(w->db, o, v);
}

static void delete_one(work *w)
{
    uint64_t r = rnd(w, 100);
    store_model *m = r < 15 ? w->author : r < 45 ? w->book : r < 80 ? w->review : w->loan;
    store_obj *o = pick(w, m);
    if (o)
        store_delete(w->db, o); /* RESTRICT may refuse: all or nothing */
}

static void one_change(work *w)
{
    store_stats st;
    store_stat(w->db, &st);
    bool big = st.objects > MAX_OBJECTS;
    uint64_t r = rnd(w, 100);
    if (r < (big ? 15u : 45u))
        create_one(w);
    else if (r < (big ? 40u : 75u))
        update_one(w);
    else
        delete_one(w);
}

static void send_msg(int fd, uint64_t kind, uint64_t gen, uint64_t hash)
{
    msg m = {.kind = kind, .gen = gen, .hash = hash};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m)
        _exit(5);
}

/* The child: never returns into Criterion; ends by SIGKILL (or _exit on a failure). */
static _Noreturn void child_main(const char *path, uint64_t seed, int fd)
{
    static work w;
    w.seed = seed;
    int rc = store_open(&w.db, crash_schema, path, NULL);
    if (rc) {
        send_msg(fd, MSG_OPEN_FAILED, (uint64_t)(int64_t)rc, 0);
        _exit(3);
    }
    w.author = store_model_find(w.db, "Author");
    w.book = store_model_find(w.db, "Book");
    w.review = store_model_find(w.db, "Review");
    w.loan = store_model_find(w.db, "Loan");
    for (;;) {
        for (uint64_t k = 1 + rnd(&w, 24); k; k--)
            one_change(&w);
        store_stats st;
        uint64_t h = dump_hash(w.db);
        store_stat(w.db, &st);
        send_msg(fd, MSG_START, st.generation, h);
        rc = store_snapshot(w.db);
        if (rc) {
            send_msg(fd, MSG_SNAPSHOT_FAILED, (uint64_t)(int64_t)rc, 0);
            _exit(4);
        }
        store_stat(w.db, &st);
        send_msg(fd, MSG_ACK, st.generation, h);
    }
}

/* ---- The parent ------------------------------------------------------------------------------ */

/* What the parent knows of the file: the last acked state, and a snapshot under way. */
typedef struct expect {
    uint64_t gen, hash;
    bool pending;
    uint64_t pending_hash;
    uint64_t start_us; /* when the pending START was read */
} expect;

typedef struct tally {
    int torn, lost, phantom, open_failed, child_failed;
    int in_snapshot;      /* kills that fell between a START and its ACK */
    int took_new;         /* of those, how many reopened at the new snapshot */
    int acks;             /* snapshots acknowledged, all points */
    uint64_t snap_us_sum; /* START to ACK as the parent saw it, for aiming */
    int snap_n;
} tally;

/* Applies one message; returns true for a START. */
static bool take_msg(const msg *m, expect *e, tally *t, int point)
{
    switch (m->kind) {
    case MSG_START:
        e->pending = true;
        e->pending_hash = m->hash;
        e->start_us = now_us();
        if (m->gen != e->gen)
            cr_log_error("point %d: the child snapshots from generation %" PRIu64
                         ", the file was at %" PRIu64,
                         point, m->gen, e->gen);
        return true;
    case MSG_ACK:
        if (e->pending && e->start_us) {
            t->snap_us_sum += now_us() - e->start_us;
            t->snap_n++;
        }
        e->gen = m->gen;
        e->hash = m->hash;
        e->pending = false;
        t->acks++;
        return false;
    default:
        cr_log_error("point %d: the child's %s failed: %s", point,
                     m->kind == MSG_OPEN_FAILED ? "store_open" : "store_snapshot",
                     store_strerror((int)(int64_t)m->gen));
        return false;
    }
}

typedef struct reader {
    unsigned char buf[sizeof(msg)];
    size_t have;
} reader;

/* Reads what the pipe holds; returns how many STARTs came, or -1 at end of file. */
static int drain(int fd, reader *r, expect *e, tally *t, int point)
{
    int starts = 0;
    for (;;) {
        ssize_t n = read(fd, r->buf + r->have, sizeof r->buf - r->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return starts;
        if (n <= 0)
            return starts ? starts : -1;
        r->have += (size_t)n;
        if (r->have == sizeof r->buf) {
            msg m;
            memcpy(&m, r->buf, sizeof m);
            r->have = 0;
            starts += take_msg(&m, e, t, point);
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

/* Waits for the moment to kill: the START numbered TARGET plus DELAY, or the deadline. */
static void wait_for_kill(int fd, reader *r, expect *e, tally *t, int point, int target,
                          uint64_t delay, uint64_t deadline)
{
    int starts = 0;
    for (;;) {
        uint64_t now = now_us();
        if (now >= deadline)
            return;
        uint64_t left = deadline - now;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000u),
                              .tv_nsec = (long)(left % 1000000u) * 1000};
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = ppoll(&pfd, 1, &ts, NULL);
        if (n <= 0)
            continue;
        int got = drain(fd, r, e, t, point);
        if (got < 0)
            return; /* the child is gone */
        starts += got;
        if (target && starts >= target) {
            sleep_us(delay);
            return;
        }
    }
}

/* Writes the dump of D beside PATH, for the post-mortem of a failed point. */
static void keep_dump(const char *path, store *d)
{
    char name[600], *text;
    snprintf(name, sizeof name, "%s.reopened.txt", path);
    FILE *f = fopen(name, "w");
    if (f && rs_dump_store(d, &text) == STORE_OK) {
        fputs(text, f);
        free(text);
    }
    if (f)
        fclose(f);
}

/* What the reopened file holds, against E: NULL if it is one of the allowed states. */
static const char *classify(int check_rc, const store_stats *st, uint64_t h, const expect *e,
                            tally *t)
{
    if (check_rc) {
        t->torn++;
        return "torn (store_check failed)";
    }
    if (st->generation == e->gen && h == e->hash)
        return NULL;
    if (st->generation == e->gen + 1 && e->pending && h == e->pending_hash) {
        t->took_new++;
        return NULL;
    }
    if (st->generation < e->gen) {
        t->lost++;
        return "lost";
    }
    if (st->generation > e->gen + (e->pending ? 1 : 0)) {
        t->phantom++;
        return "phantom";
    }
    t->torn++;
    return "torn (the right generation, the wrong content)";
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
    store_stats st;
    store_stat(d, &st);
    uint64_t h = dump_hash(d);
    const char *what = classify(store_check(d), &st, h, e, t);
    if (what) {
        cr_log_error("point %d: %s: generation %" PRIu64 " hash %016" PRIx64 "; acked %" PRIu64
                     " %016" PRIx64 ", %s %016" PRIx64 "; %s",
                     point, what, st.generation, h, e->gen, e->hash,
                     e->pending ? "taking" : "not taking", e->pending_hash, store_errmsg(d));
        keep_dump(path, d);
        *stop = true;
    }
    /* A file with no catalog yet gets one here, so the next child starts from a known state. */
    if (st.generation == 0 && store_snapshot(d) == STORE_OK)
        store_stat(d, &st);
    e->gen = st.generation;
    e->hash = h;
    e->pending = false;
    check_invariants(d); /* what classify() counted as torn also fails here, after the log */
    store_close(d);
}

/* One point: fork, work, kill, reopen. */
static void run_point(const char *path, uint64_t *seed, int point, expect *e, tally *t, bool *stop)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    uint64_t child_seed = next_rand(seed);
    bool aimed = point % 2 == 0;
    int target = aimed ? 1 + (int)(next_rand(seed) % 3) : 0;
    uint64_t avg = t->snap_n ? t->snap_us_sum / (uint64_t)t->snap_n : 300;
    uint64_t delay = aimed ? next_rand(seed) % (avg + avg / 4 + 50) : 0;
    uint64_t window = aimed ? AIMED_DEADLINE_US : next_rand(seed) % UNIFORM_WINDOW_US;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        child_main(path, child_seed, fds[1]);
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
    }
    t->in_snapshot += e->pending;
    verify(path, e, t, point, stop);
}

static void remove_dir(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/store", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/store-lock", dir);
    unlink(path);
    rmdir(dir);
}

Test(crash, a_killed_process_leaves_the_last_acknowledged_snapshot_or_the_one_it_was_taking)
{
    uint64_t seed0 = pick_seed(), seed = seed0;
    const char *env = getenv("RELSTORE_CRASH_POINTS");
    int points = env && *env ? atoi(env) : DEFAULT_POINTS;
    cr_log_info("crash: RELSTORE_SEED=0x%016" PRIx64 " RELSTORE_CRASH_POINTS=%d", seed0, points);
    char dir[] = "/tmp/relstore-crash-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    char path[512];
    snprintf(path, sizeof path, "%s/store", dir);
    crash_schema = library_schema();

    /* Before the first snapshot, the file holds an empty store. */
    store *empty;
    cr_assert_eq(store_open(&empty, crash_schema, NULL, NULL), STORE_OK);
    expect e = {.gen = 0, .hash = dump_hash(empty)};
    store_close(empty);

    tally t = {0};
    bool stop = false;
    uint64_t began = now_us();
    int done = 0;
    for (; done < points && !stop; done++)
        run_point(path, &seed, done, &e, &t, &stop);
    uint64_t snap_us = t.snap_n ? t.snap_us_sum / (uint64_t)t.snap_n : 0;
    cr_log_info("crash: %d points in %.1f s, %d snapshots acked, final generation %" PRIu64
                "; %d kills inside a snapshot (%d reopened at the new one), snapshots took"
                " ~%" PRIu64 " us",
                done, (double)(now_us() - began) / 1e6, t.acks, e.gen, t.in_snapshot, t.took_new,
                snap_us);
    cr_log_info("crash: torn %d, lost %d, phantom %d, open failures %d, child failures %d", t.torn,
                t.lost, t.phantom, t.open_failed, t.child_failed);
    cr_expect_eq(t.torn, 0, "torn: %d (seed 0x%016" PRIx64 ")", t.torn, seed0);
    cr_expect_eq(t.lost, 0, "lost: %d (seed 0x%016" PRIx64 ")", t.lost, seed0);
    cr_expect_eq(t.phantom, 0, "phantom: %d (seed 0x%016" PRIx64 ")", t.phantom, seed0);
    cr_expect_eq(t.open_failed, 0, "open failures: %d (seed 0x%016" PRIx64 ")", t.open_failed,
                 seed0);
    cr_expect_eq(t.child_failed, 0, "child failures: %d (seed 0x%016" PRIx64 ")", t.child_failed,
                 seed0);
    store_schema_free(crash_schema);
    if (!stop)
        remove_dir(dir);
    else
        cr_log_error("crash: the file is kept in %s", dir);
}
