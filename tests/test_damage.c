/*
 * tests/test_damage.c - R5: a damaged, truncated or foreign file is refused with an error code,
 * never a signal and never a wrong store, and is left byte-identical.
 *
 * Every open of a damaged file runs in a forked child (probe_open()), so that a crash inside the
 * library or liblmdb is counted, not fatal. The child reports store_open()'s code and message
 * and, when the open succeeded, whether store_check() passed and the dump equals the original's.
 * The parent then compares the file's bytes with what it wrote.
 *
 *   (a) truncation at every 4 KiB boundary of a store built by several snapshots;
 *   (b) foreign files: empty (a new store), random bytes, an SQLite header, LMDB files of
 *       another program, a catalog of a future format version;
 *   (c) one byte flipped at each offset of a record (in the change log and in a model's
 *       database), of the catalog, and of the first 152 bytes of both LMDB meta pages; records
 *       and the catalog are found by a marker string and checked against the layouts of
 *       persist/codec.c, persist/log.c and persist/catalog.c;
 *   (d) single-byte flips at random offsets of the whole file (suite damage_flips).
 *
 * Each test that draws random numbers prints its seed; RELSTORE_SEED replays it, and RELSTORE_FLIPS
 * sets the number of flips of (d) (500).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
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

enum { PAGE = 4096, DEFAULT_FLIPS = 500, PROBE_ALARM_S = 30 };

static const char MARKER[] = "MARKER-7f3a9c-TITLE";

static store_schema *dschema;
static char dir[64];

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The seed: RELSTORE_SEED if set, else the clock; printed either way. */
static uint64_t pick_seed(const char *what)
{
    const char *env = getenv("RELSTORE_SEED");
    uint64_t seed;
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 48;
    }
    cr_log_info("%s: RELSTORE_SEED=0x%016" PRIx64, what, seed);
    return seed;
}

static void damage_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/relstore-damage-XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    dschema = library_schema();
}

static void remove_store(const char *path)
{
    char lock[160];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
}

static void damage_teardown(void)
{
    char path[128];
    const char *names[] = {"orig", "copy", "foreign"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove_store(path);
    }
    rmdir(dir);
    store_schema_free(dschema);
}

TestSuite(damage, .init = damage_setup, .fini = damage_teardown);
TestSuite(damage_flips, .init = damage_setup, .fini = damage_teardown);

static void path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* ---- Files ----------------------------------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fileno(f), &st), 0);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    cr_assert(b);
    *len = fread(b, 1, (size_t)st.st_size, f);
    cr_assert_eq(*len, (size_t)st.st_size);
    fclose(f);
    return b;
}

/* Writes LEN bytes of B as a fresh file PATH (its old lock file removed). */
static void write_all(const char *path, const uint8_t *b, size_t len)
{
    remove_store(path);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    cr_assert(len == 0 || fwrite(b, 1, len, f) == len);
    cr_assert_eq(fclose(f), 0);
}

static bool same_bytes(const char *path, const uint8_t *b, size_t len)
{
    size_t n;
    uint8_t *now = read_all(path, &n);
    bool same = n == len && !memcmp(now, b, len);
    free(now);
    return same;
}

/* Where NEEDLE occurs in B: the first offset, and how many times in *COUNT. */
static long find_bytes(const uint8_t *b, size_t len, const void *needle, size_t n, int *count)
{
    long first = -1;
    *count = 0;
    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(b + i, needle, n)) {
            if (first < 0)
                first = (long)i;
            ++*count;
        }
    }
    return first;
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- Building a store ------------------------------------------------------------------------ */

static store_obj *create(store *d, const char *model, const store_value *v)
{
    store_obj *o;
    int rc = store_create(d, store_model_find(d, model), v, &o);
    cr_assert_eq(rc, STORE_OK, "%s: %s", model, store_errmsg(d));
    return o;
}

/* One round of ROUND: authors, books (some edited), reviews, loans; then deletes. */
static void fill_round(store *d, int round, store_obj **authors, int nauthors)
{
    char s[64];
    for (int i = 0; i < nauthors; i++) {
        snprintf(s, sizeof s, "author %d.%d", round, i);
        authors[i] = create(
            d, "Author", (store_value[]){STORE_V_STR("name", s), STORE_V_INT("age", 20 + i), {0}});
    }
    for (int i = 0; i < 2 * nauthors; i++) {
        snprintf(s, sizeof s, "book %d.%d", round, i);
        store_obj *b = create(d, "Book",
                              (store_value[]){STORE_V_STR("title", s),
                                              STORE_V_REF("author", authors[i % nauthors]),
                                              STORE_V_REF("editor", authors[(i * 7) % nauthors]),
                                              STORE_V_INT("pages", i * 13),
                                              {0}});
        snprintf(s, sizeof s, "review of book %d.%d, which was %s", round, i,
                 i % 3 ? "fine" : "long");
        create(d, "Review", (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", s), {0}});
        if (i % 9 == 0)
            create(d, "Loan",
                   (store_value[]){STORE_V_REF("book", b), STORE_V_STR("who", s + 10), {0}});
    }
}

/* Adds BULK_REVIEWS reviews of 900 characters: a snapshot past the change log's entry limit
 * (1 MiB), written to the models' databases (a B-tree of several levels for Review). */
static void add_bulk(store *d, store_obj *book)
{
    enum { BULK_REVIEWS = 1300, BULK_LEN = 900 };
    static char body[BULK_LEN + 1];
    for (int i = 0; i < BULK_REVIEWS; i++) {
        for (int k = 0; k < BULK_LEN; k++)
            body[k] = (char)('a' + (i * 7 + k * 13) % 26);
        create(d, "Review",
               (store_value[]){STORE_V_REF("book", book), STORE_V_STR("body", body), {0}});
    }
}

/*
 * Builds PATH with ROUNDS snapshots of a library (moved keys and cascading deletes from the second
 * on); with BULK, the first snapshot is a large one (add_bulk()); with MARKER_ID, the last round
 * adds a book titled MARKER and sets *MARKER_ID to its id. Returns the dump at the last snapshot
 * (the caller frees it).
 */
static char *build_store(const char *path, int rounds, bool bulk, uint64_t *marker_id)
{
    enum { AUTHORS = 12 };
    store *d;
    store_obj *authors[AUTHORS], *prev[AUTHORS] = {0};
    cr_assert_eq(store_open(&d, dschema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    for (int r = 0; r < rounds; r++) {
        fill_round(d, r, authors, AUTHORS);
        if (r == 0 && bulk) {
            store_iter it = store_reverse(authors[4], "books");
            add_bulk(d, store_next(&it));
        }
        if (r > 0) {
            /* Move an edited book, then delete two authors of the last round (cascade). */
            store_iter it = store_reverse(prev[1], "books");
            store_obj *b = store_next(&it);
            cr_assert_eq(
                store_update(d, b, (store_value[]){STORE_V_REF("author", authors[0]), {0}}),
                STORE_OK, "%s", store_errmsg(d));
            cr_assert_eq(store_delete(d, prev[2]), STORE_OK, "%s", store_errmsg(d));
            cr_assert_eq(store_delete(d, prev[3]), STORE_OK, "%s", store_errmsg(d));
        }
        if (marker_id && r == rounds - 1)
            *marker_id = store_id(create(d, "Book",
                                         (store_value[]){STORE_V_STR("title", MARKER),
                                                         STORE_V_REF("author", authors[5]),
                                                         STORE_V_INT("pages", 77),
                                                         {0}}));
        cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
        memcpy(prev, authors, sizeof prev);
    }
    check_invariants(d);
    char *text;
    cr_assert_eq(rs_dump_store(d, &text), STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
    return text;
}

/* ---- Opening in a child ---------------------------------------------------------------------- */

typedef struct probe {
    bool reported; /* the child got to the end of its open; false: it crashed or
                      hung */
    int rc;        /* store_open()'s code */
    int check;     /* store_check()'s, when it opened */
    uint64_t gen;  /* when it opened: the generation it loaded */
    bool same;     /* when it opened: the dump equals the expected one */
    int status;    /* waitpid()'s */
    char msg[512]; /* store_errmsg(NULL) */
} probe;

static void child_probe(const char *path, const char *expect, int fd)
{
    probe p = {.reported = true};
    alarm(PROBE_ALARM_S);
    store *d;
    p.rc = store_open(&d, dschema, path, NULL);
    snprintf(p.msg, sizeof p.msg, "%s", store_errmsg(NULL));
    if (p.rc == STORE_OK) {
        char *text = NULL;
        store_stats st;
        p.check = store_check(d);
        p.gen = store_stat(d, &st) == STORE_OK ? st.generation : 0;
        p.same = rs_dump_store(d, &text) == STORE_OK && expect && !strcmp(text, expect);
        /* No store_close(): it might write a snapshot, and the file must stay as it is. */
    }
    _exit(write(fd, &p, sizeof p) == (ssize_t)sizeof p ? 0 : 1);
}

/* Opens PATH in a forked child and reports how that went; EXPECT is the dump an OK needs. */
static probe probe_open(const char *path, const char *expect)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        child_probe(path, expect, fds[1]);
    }
    close(fds[1]);
    probe p = {.reported = false};
    size_t got = 0;
    for (ssize_t n; got < sizeof p; got += (size_t)n) {
        n = read(fds[0], (char *)&p + got, sizeof p - got);
        if (n < 0 && errno == EINTR)
            n = 0;
        else if (n <= 0)
            break;
    }
    close(fds[0]);
    if (got != sizeof p)
        p = (probe){.reported = false};
    while (waitpid(pid, &p.status, 0) < 0 && errno == EINTR)
        ;
    return p;
}

static const char *describe(const probe *p)
{
    static char buf[700];
    if (!p->reported && WIFSIGNALED(p->status))
        snprintf(buf, sizeof buf, "killed by signal %d (%s)", WTERMSIG(p->status),
                 strsignal(WTERMSIG(p->status)));
    else if (!p->reported)
        snprintf(buf, sizeof buf, "died with status %d (a sanitizer report?)",
                 WEXITSTATUS(p->status));
    else if (p->rc == STORE_OK)
        snprintf(buf, sizeof buf, "opened at generation %" PRIu64 ": check %d, %s", p->gen,
                 p->check, p->same ? "the original store" : "a DIFFERENT store");
    else
        snprintf(buf, sizeof buf, "%s: %s", store_strerror(p->rc), p->msg);
    return buf;
}

/* Whether P is a refusal: STORE_ECORRUPT or STORE_EIO, reported without crashing. */
static bool refused(const probe *p)
{
    return p->reported && (p->rc == STORE_ECORRUPT || p->rc == STORE_EIO);
}

/* Writes B as the copy, opens it in a child, and asserts it is refused and left alone. */
static probe expect_refused(const char *what, const uint8_t *b, size_t len)
{
    char path[128];
    path_of(path, sizeof path, "foreign");
    write_all(path, b, len);
    probe p = probe_open(path, NULL);
    cr_expect(refused(&p) && p.rc == STORE_ECORRUPT, "%s: %s", what, describe(&p));
    cr_expect(same_bytes(path, b, len), "%s: the file was changed by the open", what);
    cr_log_info("%s: %s", what, describe(&p));
    remove_store(path);
    return p;
}

/* ---- (a) Truncation -------------------------------------------------------------------------- */

Test(damage, truncation_at_every_4k_boundary_is_reported_as_damage)
{
    char orig[128], copy[128];
    path_of(orig, sizeof orig, "orig");
    path_of(copy, sizeof copy, "copy");
    char *expect = build_store(orig, 6, true, NULL);
    size_t len;
    uint8_t *bytes = read_all(orig, &len);
    int points = 0, refusals = 0, whole = 0;

    /* The untruncated copy opens as the same store: no false alarm. */
    write_all(copy, bytes, len);
    probe p = probe_open(copy, expect);
    cr_assert(p.reported && p.rc == STORE_OK && p.same && p.check == STORE_OK, "the whole file: %s",
              describe(&p));

    /* Size 0 is an empty file, a new store (see an_empty_file_opens_as_a_new_empty_store). */
    for (size_t cut = PAGE; cut < len; cut += PAGE, points++) {
        write_all(copy, bytes, cut);
        p = probe_open(copy, expect);
        if (refused(&p))
            refusals++;
        else if (p.reported && p.rc == STORE_OK && p.same && p.check == STORE_OK)
            whole++; /* pages past the last one in use: nothing lost */
        else
            cr_expect_fail("cut at %zu of %zu bytes: %s", cut, len, describe(&p));
        cr_expect(same_bytes(copy, bytes, cut), "cut at %zu: the open changed the file", cut);
    }
    cr_log_info("truncation: %zu bytes, %d cuts: %d refused, %d opened whole", len, points,
                refusals, whole);
    cr_expect_gt(points, 10, "the file is too small to mean much: %zu bytes", len);
    free(bytes);
    free(expect);
}

/* ---- (b) Foreign files ----------------------------------------------------------------------- */

Test(damage, an_empty_file_opens_as_a_new_empty_store)
{
    char path[128];
    path_of(path, sizeof path, "foreign");
    write_all(path, NULL, 0);
    store *d, *mem;
    char *empty;
    cr_assert_eq(store_open(&d, dschema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_open(&mem, dschema, NULL, NULL), STORE_OK);
    cr_assert_eq(rs_dump_store(mem, &empty), STORE_OK);
    cr_assert(same_store(d, empty));
    store_stats st;
    store_stat(d, &st);
    cr_assert_eq(st.generation, 0);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    store_close(mem);
    free(empty);
}

static void random_bytes(uint8_t *b, size_t len, uint64_t *seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)next_rand(seed);
}

Test(damage, random_bytes_are_refused_and_left_untouched)
{
    uint64_t seed = pick_seed("random bytes");
    static uint8_t b[80 * 1024];
    const size_t sizes[] = {1, 100, PAGE - 1, PAGE, 2 * PAGE, 16 * PAGE + 5, 64 * 1024};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char what[64];
        random_bytes(b, sizes[i], &seed);
        snprintf(what, sizeof what, "%zu random bytes", sizes[i]);
        expect_refused(what, b, sizes[i]);
    }
}

Test(damage, an_sqlite_file_is_refused_and_left_untouched)
{
    uint64_t seed = pick_seed("sqlite");
    static uint8_t b[8 * PAGE];
    random_bytes(b, sizeof b, &seed);
    memcpy(b, "SQLite format 3", 16); /* with its NUL */
    expect_refused("an SQLite header and random bytes", b, sizeof b);
}

/* Makes an LMDB file at PATH whose main database holds KEY = "value" (MDB_NOSUBDIR). */
static void make_lmdb(const char *path, const char *key)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_open(env, path, MDB_NOSUBDIR, 0644), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val v = {.mv_size = 5, .mv_data = "value"};
    cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

Test(damage, an_lmdb_file_of_another_program_is_refused_and_left_untouched)
{
    /* Another program's keys; and a plain key that happens to be named like our catalog. */
    const char *keys[] = {"hello", "catalog"};
    char path[128];
    path_of(path, sizeof path, "orig");
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char what[64];
        remove_store(path);
        make_lmdb(path, keys[i]);
        size_t len;
        uint8_t *b = read_all(path, &len);
        snprintf(what, sizeof what, "an LMDB file with the key \"%s\"", keys[i]);
        expect_refused(what, b, len);
        free(b);
    }
}

/* ---- The records and the catalog in the file ------------------------------------------------- */

/* LMDB's leaf node: u16 data size low, u16 high, u16 flags, u16 key size; key; data. */
enum { NODE_HEAD = 8 };

typedef struct span {
    size_t key; /* offset of what names the value: the node's key, or the log's id
                   and length */
    size_t off; /* offset of the value */
    size_t len; /* its length */
} span;

/* Whether a leaf node with a key of KSIZE bytes ends at OFF (its value starting there). */
static bool node_at(const uint8_t *b, size_t off, size_t ksize, span *out)
{
    if (off < NODE_HEAD + ksize)
        return false;
    const uint8_t *node = b + off - ksize - NODE_HEAD;
    if (get_le(node + 6, 2) != ksize || get_le(node + 4, 2) != 0)
        return false; /* another key size, or flags (an overflow value, a
                         sub-database) */
    *out =
        (span){.key = off - ksize, .off = off, .len = get_le(node, 2) | get_le(node + 2, 2) << 16};
    return true;
}

/*
 * Finds the record of Book ID, which holds MARKER, by its checksum (persist/codec.c: XXH3 of bytes
 * 8..end seeded with the id, in its first 8 bytes). It is either the value of a leaf node keyed by
 * the id (a model's database) or a change of a log entry, after the id (8) and its length (4)
 * (persist/log.c).
 */
static span find_record(const uint8_t *b, size_t len, uint64_t id)
{
    int count;
    long found = find_bytes(b, len, MARKER, strlen(MARKER), &count);
    cr_assert_eq(count, 1, "the marker occurs %d times in the file", count);
    size_t m = (size_t)found, end = m + strlen(MARKER);
    /* Before the marker: checksum (8), field count (2), the title's fid (2), tag (1) and
     * length (4). */
    for (size_t off = m - 17; off + 128 > m && off >= 12; off--) {
        for (size_t n = end - off; n < 1024 && off + n <= len; n++) {
            if (XXH3_64bits_withSeed(b + off + 8, n - 8, id) != get_le(b + off, 8))
                continue;
            span s;
            if (node_at(b, off, 8, &s) && s.len == n && get_le(b + s.key, 8) == id)
                return s;
            if (get_le(b + off - 12, 8) == id && get_le(b + off - 4, 4) == n)
                return (span){.key = off - 12, .off = off, .len = n};
            cr_assert_fail("the record at %zu has a valid checksum but no known container", off);
        }
    }
    cr_assert_fail("no record with a valid checksum holds the marker");
    return (span){0};
}

/* Finds the catalog record (the only one in a file of one snapshot) and checks its checksum. */
static span find_catalog(const uint8_t *b, size_t len)
{
    int count;
    long m = find_bytes(b, len, "RELSTORE", 8, &count);
    cr_assert_eq(count, 1, "the catalog magic occurs %d times in the file", count);
    span s;
    cr_assert(node_at(b, (size_t)m, 7, &s) && !memcmp(b + s.key, "catalog", 7),
              "the catalog is not a leaf node's value under the key \"catalog\"");
    cr_assert(s.len > 48 && s.off + s.len <= len);
    cr_assert_eq(XXH3_64bits(b + s.off + 20, s.len - 20), get_le(b + s.off + 12, 8),
                 "the catalog's checksum does not match: the layout changed?");
    return s;
}

/* Flips one byte at each offset of [FROM, TO) in turn; each copy must be refused. */
static void flip_each(const char *what, const uint8_t *b, size_t len, size_t from, size_t to,
                      uint64_t *seed)
{
    char copy[128];
    path_of(copy, sizeof copy, "copy");
    uint8_t *damaged = malloc(len);
    cr_assert(damaged);
    int refusals = 0;
    for (size_t off = from; off < to; off++) {
        memcpy(damaged, b, len);
        damaged[off] ^= (uint8_t)(1 + next_rand(seed) % 255);
        write_all(copy, damaged, len);
        probe p = probe_open(copy, NULL);
        if (refused(&p) && p.rc == STORE_ECORRUPT)
            refusals++;
        else
            cr_expect_fail("%s: byte %zu (of %zu..%zu) flipped: %s", what, off, from, to,
                           describe(&p));
        cr_expect(same_bytes(copy, damaged, len), "%s: byte %zu: the open changed the file", what,
                  off);
    }
    cr_log_info("%s: %zu flips, %d refused as damage", what, to - from, refusals);
    free(damaged);
}

/* Flips each byte of the marker's record (and its key), in a file of one snapshot. */
static void flip_record(bool bulk, uint64_t *seed)
{
    char orig[128];
    path_of(orig, sizeof orig, "orig");
    remove_store(orig);
    uint64_t id = 0;
    free(build_store(orig, 1, bulk, &id)); /* one snapshot: one copy of each record */
    size_t len;
    uint8_t *b = read_all(orig, &len);
    span rec = find_record(b, len, id);
    cr_log_info("the marker's record: %zu bytes at %zu, in %s", rec.len, rec.off,
                rec.off - rec.key == 8 ? "a model's database" : "a change log entry");
    flip_each("the record's key", b, len, rec.key, rec.off, seed);
    flip_each("the record", b, len, rec.off, rec.off + rec.len, seed);
    free(b);
}

Test(damage, a_flipped_byte_in_a_record_is_reported_as_damage)
{
    uint64_t seed = pick_seed("record flips");
    flip_record(false, &seed); /* a small snapshot: the record is in the change log */
    flip_record(true, &seed);  /* a large one: in the Book database */
}

/* The bytes of a file of one snapshot (malloc'd, *LEN of them), its catalog at *CAT. */
static uint8_t *one_snapshot_file(size_t *len, span *cat)
{
    char orig[128];
    path_of(orig, sizeof orig, "orig");
    free(build_store(orig, 1, false, NULL));
    uint8_t *b = read_all(orig, len);
    *cat = find_catalog(b, *len);
    return b;
}

Test(damage, a_flipped_byte_in_the_catalog_is_reported_as_damage)
{
    uint64_t seed = pick_seed("catalog flips");
    size_t len;
    span cat;
    uint8_t *b = one_snapshot_file(&len, &cat);
    cr_log_info("the catalog: %zu bytes at %zu", cat.len, cat.off);
    flip_each("the catalog", b, len, cat.off, cat.off + cat.len, &seed);
    free(b);
}

/* Sets the version of the catalog at CAT in B to VERSION, and its checksum to match. */
static void set_catalog_version(uint8_t *b, span cat, uint32_t version)
{
    for (int i = 0; i < 4; i++)
        b[cat.off + 8 + i] = (uint8_t)(version >> (8 * i));
    uint64_t h = XXH3_64bits(b + cat.off + 20, cat.len - 20);
    for (int i = 0; i < 8; i++)
        b[cat.off + 12 + i] = (uint8_t)(h >> (8 * i));
}

Test(damage, a_future_format_version_is_refused_and_named)
{
    size_t len;
    span cat;
    uint8_t *b = one_snapshot_file(&len, &cat);
    uint32_t version = (uint32_t)get_le(b + cat.off + 8, 4);
    cr_assert_eq(version, 2, "the file's format version is %u", version);
    set_catalog_version(b, cat, version + 1);
    probe p = expect_refused("a catalog of format version 3", b, len);
    cr_expect(strstr(p.msg, "version 3"), "the message does not name the version: %s", p.msg);
    free(b);
}

/* Format 1 had no defaults: a catalog that says 1 but records defaults (this schema has
 * some) is damage, not a file to read as format 2. */
Test(damage, a_format_1_catalog_holding_defaults_is_refused)
{
    size_t len;
    span cat;
    uint8_t *b = one_snapshot_file(&len, &cat);
    set_catalog_version(b, cat, 1);
    probe p = expect_refused("a format 1 catalog with defaults", b, len);
    cr_expect(strstr(p.msg, "catalog is damaged"), "%s", p.msg);
    free(b);
}

/* A file of format 1 (a schema without defaults: the same bytes as format 2) still opens, and
 * its next snapshot writes format 2. */
Test(damage, a_format_1_file_opens_and_its_next_snapshot_writes_format_2)
{
    static const store_field fields[] = {{.name = "name", .type = STORE_CHAR, .max_length = 30},
                                         {0}};
    char path[128];
    path_of(path, sizeof path, "format1");
    remove_store(path);
    store_schema *s;
    store_schema_new(&s);
    cr_assert_eq(store_schema_add(s, "Author", fields), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "John Doe"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK);
    size_t len;
    uint8_t *b = read_all(path, &len);
    set_catalog_version(b, find_catalog(b, len), 1);
    write_all(path, b, len);
    free(b);

    store_stats st;
    cr_assert_eq(store_open(&d, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_stat(d, &st);
    cr_expect_eq(st.format_version, 1);
    store_obj *john;
    cr_expect_eq(store_get(d, store_model_find(d, "Author"), 1, &john), STORE_OK);
    cr_expect_str_eq(store_str(john, "name"), "John Doe");
    cr_assert_eq(store_create(d, store_model_find(d, "Author"),
                              (store_value[]){STORE_V_STR("name", "Jane Roe"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    store_stat(d, &st);
    cr_expect_eq(st.format_version, 2);
    cr_assert_eq(store_close(d), STORE_OK);
    store_schema_free(s);
    remove_store(path);
}

/*
 * The newest meta page's transaction id damaged to just below the other's: LMDB would open
 * the older snapshot, whose tree ends before pages the newest one uses. The other meta's
 * catalog must still be found (it once was not: its pages lay past the chosen meta's last
 * page), so the file is refused. Seed 0x608575f9d09a61f4 of the random flips found it.
 */
Test(damage, a_newest_meta_page_whose_id_drops_below_the_other_is_refused)
{
    enum { META_TXNID = 144 };
    char orig[128];
    path_of(orig, sizeof orig, "orig");
    free(build_store(orig, 6, false, NULL));
    size_t len;
    uint8_t *b = read_all(orig, &len);
    uint64_t tx[2];
    for (int m = 0; m < 2; m++)
        tx[m] = get_le(b + m * PAGE + META_TXNID, 8);
    int newest = tx[1] > tx[0];
    uint64_t lowered = tx[!newest] - 1;
    for (int i = 0; i < 8; i++)
        b[newest * PAGE + META_TXNID + i] = (uint8_t)(lowered >> (8 * i));
    expect_refused("the newest meta page's id below the other's", b, len);
    free(b);
}

/* The newest meta page's last page pushed far past the map (a flipped high byte): damage,
 * not a file to pad to exabytes (which once failed as a full disk). */
Test(damage, a_newest_meta_page_whose_last_page_lies_past_the_map_is_refused)
{
    enum { META_LAST_PG = 136, META_TXNID = 144 };
    char orig[128];
    path_of(orig, sizeof orig, "orig");
    free(build_store(orig, 6, false, NULL));
    size_t len;
    uint8_t *b = read_all(orig, &len);
    int newest = get_le(b + PAGE + META_TXNID, 8) > get_le(b + META_TXNID, 8);
    b[newest * PAGE + META_LAST_PG + 5] ^= 0x40;
    expect_refused("the newest meta page's last page past the map", b, len);
    free(b);
}

/*
 * Flips each byte of the first 152 bytes of both LMDB meta pages (page header, magic, version, the
 * free and main databases' roots, last page, transaction id). LMDB has no checksum there: a flip
 * may make it pick the older meta. Each open must be refused, or give exactly the last snapshot (a
 * byte LMDB does not use, or a change that keeps the newest meta the newest); never another store
 * and never a signal.
 */
Test(damage, a_flipped_byte_in_a_meta_page_never_loads_another_snapshot)
{
    enum { META_END = 152 };
    uint64_t seed = pick_seed("meta flips");
    char orig[128], copy[128];
    path_of(orig, sizeof orig, "orig");
    path_of(copy, sizeof copy, "copy");
    char *expect = build_store(orig, 6, false, NULL);
    size_t len;
    uint8_t *b = read_all(orig, &len), *damaged = malloc(len);
    cr_assert(damaged);
    int refusals = 0, same = 0;
    for (size_t page = 0; page < 2; page++) {
        for (size_t off = page * PAGE; off < page * PAGE + META_END; off++) {
            memcpy(damaged, b, len);
            damaged[off] ^= (uint8_t)(1 + next_rand(&seed) % 255);
            write_all(copy, damaged, len);
            probe p = probe_open(copy, expect);
            if (refused(&p))
                refusals++;
            else if (p.reported && p.rc == STORE_OK && p.same && p.check == STORE_OK)
                same++;
            else
                cr_expect_fail("meta page %zu, byte %zu flipped: %s", page, off % PAGE,
                               describe(&p));
            cr_expect(p.rc == STORE_OK || same_bytes(copy, damaged, len),
                      "meta byte %zu: the failed open changed the file", off);
        }
    }
    cr_log_info("meta flips: %d, %d refused, %d opened the last snapshot", 2 * META_END, refusals,
                same);
    free(damaged);
    free(b);
    free(expect);
}

/*
 * The key of the leaf node of object ID of a model's database whose record holds TEXT: the only
 * node keyed ID whose value is a record of ID (its checksum seeded with ID) holding TEXT.
 */
static size_t find_record_key(const uint8_t *b, size_t len, uint64_t id, const char *text)
{
    size_t found = 0;
    int count = 0;
    for (size_t k = NODE_HEAD; k + 8 <= len; k++) {
        span s;
        if (get_le(b + k, 8) != id || !node_at(b, k + 8, 8, &s) || s.len < 8 ||
            s.off + s.len > len)
            continue;
        if (XXH3_64bits_withSeed(b + s.off + 8, s.len - 8, id) != get_le(b + s.off, 8) ||
            !memmem(b + s.off, s.len, text, strlen(text)))
            continue;
        found = k;
        count++;
    }
    cr_assert_eq(count, 1, "%d records of id %" PRIu64 " hold \"%s\"", count, id, text);
    return found;
}

/*
 * A record's key in a model's database renamed to the id of an object that a later snapshot's
 * change log created or deleted: the log's change must not be taken in the record's place (the
 * record would vanish, its checksum still counted in the digest, and a deleted object would
 * come back). Snapshot 1 (large) writes the models' databases, Reviews 1-1324 among them (the
 * bulk ones review Book 5); snapshots 2 and 3 (small) are change log entries: 2 creates Reviews
 * from 1325 on, 3 deletes Review 1310. Seed 0x0bfa7d6db9cfe9c3 of the random flips found the
 * first case.
 */
Test(damage, a_record_key_renamed_to_an_id_the_log_changed_is_refused)
{
    enum { RENAMED = 1301, CREATED = 1325, DELETED = 1310 };
    const struct {
        uint64_t to;
        const char *what;
    } cases[] = {
        {CREATED, "Review 1301's key renamed to 1325, which the log created"},
        {DELETED, "Review 1301's key renamed to 1310, which the log deleted"},
    };
    char orig[128], copy[128];
    path_of(orig, sizeof orig, "orig");
    path_of(copy, sizeof copy, "copy");
    free(build_store(orig, 2, true, NULL));
    store *d;
    store_obj *gone;
    char *expect;
    cr_assert_eq(store_open(&d, dschema, orig, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_get(d, store_model_find(d, "Review"), DELETED, &gone), STORE_OK);
    cr_assert_eq(store_delete(d, gone), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(rs_dump_store(d, &expect), STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
    size_t len;
    uint8_t *b = read_all(orig, &len), *damaged = malloc(len);
    cr_assert(damaged);
    size_t key = find_record_key(b, len, RENAMED, "obob");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(damaged, b, len);
        for (int k = 0; k < 8; k++)
            damaged[key + k] = (uint8_t)(cases[i].to >> (8 * k));
        write_all(copy, damaged, len);
        probe p = probe_open(copy, expect);
        cr_expect(refused(&p) && p.rc == STORE_ECORRUPT, "%s: %s", cases[i].what, describe(&p));
        cr_expect(same_bytes(copy, damaged, len), "%s: the open changed the file", cases[i].what);
        cr_log_info("%s: %s", cases[i].what, describe(&p));
    }
    free(damaged);
    free(b);
    free(expect);
}

/* ---- (d) Random flips ------------------------------------------------------------------------ */

/* What page PGNO of the file B is, from its LMDB header (flags at 10, its number at 0). */
static const char *page_kind(const uint8_t *b, size_t pgno)
{
    const uint8_t *pg = b + pgno * PAGE;
    if (get_le(pg, 8) != pgno)
        return "no header: the rest of an overflow value, or never written";
    switch (get_le(pg + 10, 2) & 0x0f) {
    case 0x01:
        return "branch";
    case 0x02:
        return "leaf";
    case 0x04:
        return "overflow";
    case 0x08:
        return "meta";
    default:
        return "unknown flags";
    }
}

typedef struct flip_tally {
    int refused, benign, signals, deaths, silent, changed_file;
} flip_tally;

Test(damage_flips, random_byte_flips_never_crash_and_never_load_wrong_data)
{
    uint64_t seed = pick_seed("random flips");
    const char *env = getenv("RELSTORE_FLIPS");
    int flips = env && *env ? atoi(env) : DEFAULT_FLIPS;
    char orig[128], copy[128];
    path_of(orig, sizeof orig, "orig");
    path_of(copy, sizeof copy, "copy");
    char *expect = build_store(orig, 6, true, NULL);
    size_t len;
    uint8_t *b = read_all(orig, &len);
    uint8_t *damaged = malloc(len);
    cr_assert(damaged);
    flip_tally t = {0};
    for (int i = 0; i < flips; i++) {
        size_t off = next_rand(&seed) % len;
        uint8_t mask = (uint8_t)(1 + next_rand(&seed) % 255);
        memcpy(damaged, b, len);
        damaged[off] ^= mask;
        write_all(copy, damaged, len);
        probe p = probe_open(copy, expect);
        if (refused(&p)) {
            t.refused++;
        } else if (p.reported && p.rc == STORE_OK && p.same && p.check == STORE_OK) {
            t.benign++; /* a byte LMDB does not read: free space or a page no longer
                           used */
        } else {
            if (!p.reported && WIFSIGNALED(p.status))
                t.signals++;
            else if (!p.reported)
                t.deaths++;
            else
                t.silent++;
            cr_log_error("flip %d: byte %zu ^ 0x%02x, at %zu of page %zu (%s): %s", i, off, mask,
                         off % PAGE, off / PAGE, page_kind(b, off / PAGE), describe(&p));
        }
        if (p.rc != STORE_OK && !same_bytes(copy, damaged, len)) {
            t.changed_file++;
            cr_log_error("flip %d: byte %zu: the failed open changed the file", i, off);
        }
    }
    cr_log_info("random flips: %zu-byte file, %d flips: %d refused, %d harmless, "
                "%d signals, "
                "%d other deaths, %d silent wrong loads, %d files changed",
                len, flips, t.refused, t.benign, t.signals, t.deaths, t.silent, t.changed_file);
    cr_expect_eq(t.signals + t.deaths, 0, "%d crashes", t.signals + t.deaths);
    cr_expect_eq(t.silent, 0, "%d silent wrong loads", t.silent);
    cr_expect_eq(t.changed_file, 0, "%d files changed by a failed open", t.changed_file);
    free(damaged);
    free(b);
    free(expect);
}
