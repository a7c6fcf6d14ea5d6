/*
 * tests/test_load.c - reopening a store file: relation orders whatever the join order, at a
 * cost that follows the objects; strings too long for a record refused at the call; next ids
 * past the id limit refused, large legal ones walked at the cost of the objects.
 *
 * The quadratic case (children that joined their parent in reverse id order) uses enough
 * children that a load worse than O(n log n) runs past the suite's timeout: the timeout, not a
 * timed assertion, is the guard. Strings of gigabytes cost a few megabytes: one small memory
 * file mapped again and again, end to end (huge_string()).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "tests/helpers.h"

/* 100,000 children joined in reverse order take minutes to load with a quadratic loader,
 * about a second with a good one. */
TestSuite(load, .init = library_files_setup, .fini = library_files_teardown, .timeout = 60);

static store *open_file(void)
{
    store *d;
    int rc = store_open(&d, schema, test_path, NULL);
    cr_assert_eq(rc, STORE_OK, "open %s: %s: %s", test_path, store_strerror(rc),
                 store_errmsg(NULL));
    return d;
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- Relation orders ------------------------------------------------------------------- */

enum order { REVERSE, RANDOM, ID_ORDER };
enum { MAX_PARENTS = 8 };

/* The walk of each parent's "books": ids in walk order, and how many. */
typedef struct walks {
    uint64_t *ids[MAX_PARENTS];
    size_t n[MAX_PARENTS];
} walks;

static void walks_take(walks *w, store_obj *const *parents, int np)
{
    for (int p = 0; p < np; p++) {
        store_iter it = store_reverse(parents[p], "books");
        w->n[p] = store_count(&it);
        w->ids[p] = malloc((w->n[p] ? w->n[p] : 1) * sizeof *w->ids[p]);
        cr_assert_not_null(w->ids[p]);
        size_t k = 0;
        for (store_obj *c; (c = store_next(&it));) {
            cr_assert_lt(k, w->n[p]);
            w->ids[p][k++] = store_id(c);
        }
        cr_assert_eq(k, w->n[p]);
    }
}

static void walks_free(walks *w, int np)
{
    for (int p = 0; p < np; p++)
        free(w->ids[p]);
}

/* Asserts that parents P (looked up by id in D) walk their books as W says. */
static void walks_expect(store *d, const walks *w, const uint64_t *pids, int np)
{
    store_model *A = store_model_find(d, "Author");
    for (int p = 0; p < np; p++) {
        store_obj *parent;
        cr_assert_eq(store_get(d, A, pids[p], &parent), STORE_OK);
        store_iter it = store_reverse(parent, "books");
        cr_assert_eq(store_count(&it), w->n[p], "Author %" PRIu64 ": %zu books, expected %zu",
                     pids[p], store_count(&it), w->n[p]);
        size_t k = 0;
        for (store_obj *c; (c = store_next(&it)); k++)
            cr_assert_eq(store_id(c), w->ids[p][k],
                         "Author %" PRIu64 ": book %zu of the walk is %" PRIu64 ", was %" PRIu64,
                         pids[p], k, store_id(c), w->ids[p][k]);
        cr_assert_eq(k, w->n[p]);
    }
}

/* The order in which the N children are moved: indexes into the children, each once. */
static size_t *move_order(size_t n, enum order order, uint64_t *seed)
{
    size_t *idx = malloc(n * sizeof *idx);
    cr_assert_not_null(idx);
    for (size_t k = 0; k < n; k++)
        idx[k] = order == REVERSE ? n - 1 - k : k;
    for (size_t k = n; order == RANDOM && k > 1; k--) {
        size_t j = (size_t)(next_rand(seed) % k), t = idx[k - 1];
        idx[k - 1] = idx[j];
        idx[j] = t;
    }
    return idx;
}

/* Reopens PATH (closing D), timing the open; asserts that every parent walks as W says. */
static store *reopen_same(store *d, const walks *w, const uint64_t *pids, int np, const char *what)
{
    cr_assert_eq(store_close(d), STORE_OK);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    d = open_file();
    cr_log_info("%s: reopened in %.3f s", what, seconds_since(&t0));
    walks_expect(d, w, pids, np);
    check_invariants(d);
    return d;
}

/*
 * N books of one author are moved, in ORDER, to NP - 1 other authors (NP 2: all to one; more:
 * each to one drawn at random, the first author included), then snapshot and reopened. Then a
 * few are moved again in reverse order, in a small snapshot (the change log), and reopened
 * again. Every walk must be what it was before each reopen.
 */
static void moved_and_reopened(size_t n, enum order order, int np, const char *what)
{
    uint64_t seed = 42;
    store *d = open_file();
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *parents[MAX_PARENTS], **books = malloc(n * sizeof *books);
    uint64_t pids[MAX_PARENTS];
    cr_assert_not_null(books);
    for (int p = 0; p < np; p++) {
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "a"), {0}},
                                  &parents[p]),
                     STORE_OK);
        pids[p] = store_id(parents[p]);
    }
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", "t"),
                                                  STORE_V_REF("author", parents[0]), {0}},
                                  &books[k]),
                     STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    size_t *idx = move_order(n, order, &seed);
    for (size_t k = 0; k < n; k++) {
        int to = np == 2 ? 1 : (int)(next_rand(&seed) % (uint64_t)np);
        cr_assert_eq(store_update(d, books[idx[k]],
                                  (store_value[]){STORE_V_REF("author", parents[to]), {0}}),
                     STORE_OK, "%s", store_errmsg(d));
    }
    free(idx);
    free(books);
    walks w;
    walks_take(&w, parents, np);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    d = reopen_same(d, &w, pids, np, what);

    /* A few of the last author's books move back to the first, last one first. */
    A = store_model_find(d, "Author");
    B = store_model_find(d, "Book");
    for (int p = 0; p < np; p++)
        cr_assert_eq(store_get(d, A, pids[p], &parents[p]), STORE_OK);
    size_t few = w.n[np - 1] < 20 ? w.n[np - 1] : 20;
    for (size_t k = 0; k < few; k++) {
        store_obj *b;
        uint64_t id = w.ids[np - 1][w.n[np - 1] - 1 - k];
        cr_assert_eq(store_get(d, B, id, &b), STORE_OK);
        cr_assert_eq(store_update(d, b, (store_value[]){STORE_V_REF("author", parents[0]), {0}}),
                     STORE_OK);
    }
    walks_free(&w, np);
    walks_take(&w, parents, np);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    store_stats st;
    cr_assert_eq(store_stat(d, &st), STORE_OK);
    cr_assert_gt(st.log_entries, 0, "the small snapshot was not kept in the change log");
    d = reopen_same(d, &w, pids, np, "and again, after a logged change");
    walks_free(&w, np);
    cr_assert_eq(store_close(d), STORE_OK);
}

Test(load, children_that_joined_in_reverse_id_order_reload_in_that_order_fast)
{
    moved_and_reopened(100000, REVERSE, 2, "100,000 moved in reverse id order");
}

Test(load, children_that_joined_in_random_order_reload_in_that_order)
{
    moved_and_reopened(20000, RANDOM, 2, "20,000 moved in random order");
}

Test(load, children_that_joined_in_id_order_reload_in_that_order)
{
    moved_and_reopened(20000, ID_ORDER, 2, "20,000 moved in id order");
}

Test(load, children_moved_among_several_parents_reload_in_each_parents_order)
{
    moved_and_reopened(20000, RANDOM, 7, "20,000 moved among 7 authors");
}

Test(load, children_moved_among_several_parents_in_reverse_reload_in_each_parents_order)
{
    moved_and_reopened(20000, REVERSE, 5, "20,000 moved among 5 authors, in reverse");
}

/* ---- Next ids --------------------------------------------------------------------------- */

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Sets the next id of Author (the first model) in the catalog of PATH, a file of one snapshot,
 * to NEXT, with a right checksum. The catalog (persist/catalog.c) is the value of the key
 * "catalog" in an LMDB leaf node (8 bytes of head: the value's size in two u16, flags, the
 * key's size); the first model's name is at offset 80, its next id right after it.
 */
static void set_next_id(uint64_t next)
{
    FILE *f = fopen(test_path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(len);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, len, f), len);
    size_t at = 0;
    int found = 0;
    for (size_t off = 15; off + 8 <= len; off++)
        if (!memcmp(b + off, "RELSTORE", 8) && !memcmp(b + off - 7, "catalog", 7)) {
            at = off;
            found++;
        }
    cr_assert_eq(found, 1, "the catalog occurs %d times in the file", found);
    const uint8_t *node = b + at - 7 - 8;
    size_t clen = (size_t)(get_le(node, 2) | get_le(node + 2, 2) << 16);
    cr_assert(get_le(node + 6, 2) == 7 && clen > 100 && at + clen <= len);
    uint8_t *cat = b + at;
    cr_assert_eq(XXH3_64bits(cat + 20, clen - 20), get_le(cat + 12, 8), "the layout changed?");
    cr_assert(!memcmp(cat + 80, "\x07\x00" "Author", 9), "Author is not the first model");
    put_le(cat + 89, next, 8);
    put_le(cat + 12, XXH3_64bits(cat + 20, clen - 20), 8);
    rewind(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    free(b);
}

/* A file of three authors (ids 1 to 3) whose catalog says the next id is NEXT. */
static void authors_with_next_id(uint64_t next)
{
    store *d = open_file();
    store_model *A = store_model_find(d, "Author");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "n"), {0}}, NULL),
                     STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK);
    set_next_id(next);
}

Test(load, a_next_id_past_the_id_limit_is_damage)
{
    authors_with_next_id(UINT64_C(1) << 62);
    store *d;
    int rc = store_open(&d, schema, test_path, NULL);
    cr_assert_eq(rc, STORE_ECORRUPT, "open: %s: %s", store_strerror(rc), store_errmsg(NULL));
    cr_assert(strstr(store_errmsg(NULL), "Author"), "%s", store_errmsg(NULL));
    store_options ro = {.flags = STORE_OPEN_READONLY};
    rc = store_open(&d, NULL, test_path, &ro);
    cr_assert_eq(rc, STORE_ECORRUPT, "read-only open: %s", store_strerror(rc));
}

/* Runs the inspector (beside this test in the build tree) on PATH: its exit code, or -1 if a
 * signal ended it (it has 20 seconds). *LINES: the lines it printed. */
static int run_inspector(const char *cmd, int *lines)
{
    char self[512], tool[600], out[160];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(tool, sizeof tool, "%s/../tools/relstore", self);
    cr_assert_eq(access(tool, X_OK), 0, "no inspector at %s", tool);
    snprintf(out, sizeof out, "%s/out.txt", test_dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(127);
        alarm(20); /* kept across exec: the inspector gets 20 seconds */
        execl(tool, "relstore", cmd, test_path, (char *)NULL);
        _exit(127);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(out, "r");
    cr_assert_not_null(f);
    *lines = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        *lines += c == '\n';
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(load, a_large_legal_next_id_is_walked_at_the_cost_of_the_objects)
{
    uint64_t next = UINT64_C(1) << 39;
    authors_with_next_id(next);
    store *d = open_file();
    store_model *A = store_model_find(d, "Author");
    cr_assert_eq(store_model_next_id(A), next);
    uint64_t pos = 0, want = 1;
    for (store_obj *o; (o = store_model_scan(A, &pos)); want++) {
        cr_assert_eq(store_id(o), want);
        cr_assert_eq(pos, want + 1);
    }
    cr_assert_eq(want, 4, "the walk gave %" PRIu64 " authors", want - 1);
    cr_assert_eq(pos, 4, "a walk's end leaves *POS where it was");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    int lines;
    cr_assert_eq(run_inspector("verify", &lines), 0);
    int rc = run_inspector("dump", &lines);
    cr_assert_eq(rc, 0, "relstore dump: %s %d", rc < 0 ? "killed, exit" : "exit", rc);
    cr_assert_eq(lines, 3, "relstore dump printed %d lines", lines);
}

Test(load, a_walk_by_id_sees_creates_and_deletes_made_during_it)
{
    store_obj *a[5];
    for (int i = 0; i < 5; i++)
        a[i] = make_author("w");
    uint64_t pos = 0;
    cr_assert_eq(store_model_scan(Author, &pos), a[0]);
    cr_assert_eq(store_delete(db, a[0]), STORE_OK); /* the one just returned */
    cr_assert_eq(store_delete(db, a[2]), STORE_OK); /* one not reached yet */
    cr_assert_eq(store_model_scan(Author, &pos), a[1]);
    cr_assert_eq(store_model_scan(Author, &pos), a[3]);
    store_obj *late = make_author("late");
    cr_assert_eq(store_model_scan(Author, &pos), a[4]);
    cr_assert_eq(store_model_scan(Author, &pos), late);
    cr_assert_null(store_model_scan(Author, &pos));
    cr_assert_eq(pos, store_id(late) + 1);
    cr_assert_null(store_model_scan(NULL, &pos));
    cr_assert_null(store_model_scan(Author, NULL));
    pos = UINT64_MAX;
    cr_assert_null(store_model_scan(Author, &pos));
    cr_assert_eq(pos, UINT64_MAX);
    check_invariants(db);
}

/* ---- Strings too long for a record ------------------------------------------------------ */

/* A test may copy a string of 2 GiB, and count its characters. */
TestSuite(strings, .init = library_files_setup, .fini = library_files_teardown,
          .timeout = 240);

enum { PIECE = 2 << 20 };

/* A string of gigabytes mapped from PIECE bytes of memory, and the range to unmap. */
typedef struct huge {
    char *base;
    size_t size;
} huge;

/*
 * A read-only string of LEN bytes 'a', NUL-ended, costing PIECE bytes: one memory file of
 * PIECE 'a's mapped again and again end to end over a reserved range, then a page of zeros
 * (the NUL). The string starts where it must so as to end right before that page.
 */
static const char *huge_string(huge *h, size_t len)
{
    size_t pieces = (len + PIECE - 1) / PIECE, page = (size_t)sysconf(_SC_PAGESIZE);
    h->size = pieces * PIECE + page;
    h->base = mmap(NULL, h->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(h->base, MAP_FAILED);
    int fd = memfd_create("piece", 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, PIECE), 0);
    char *one = mmap(NULL, PIECE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_neq(one, MAP_FAILED);
    memset(one, 'a', PIECE);
    munmap(one, PIECE);
    for (size_t k = 0; k < pieces; k++)
        cr_assert_eq(mmap(h->base + k * PIECE, PIECE, PROT_READ,
                          MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0),
                     h->base + k * PIECE);
    close(fd);
    char *end = h->base + pieces * PIECE;
    cr_assert_eq(mmap(end, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), end);
    return end - len;
}

static void huge_free(huge *h)
{
    munmap(h->base, h->size);
}

/* Makes D's error detail for this thread exist, so that a later failure allocates nothing. */
static void prime_errmsg(store *d, store_model *m)
{
    store_obj *none;
    cr_assert_eq(store_get(d, m, 999999, &none), STORE_ENOTFOUND);
}

/* Asserts that the call that returned RC was refused with STORE_EINVAL naming WHAT, and that
 * it allocated nothing (fail_alloc_at(-1) was called right before it). */
static void refused_without_copy(store *d, int rc, const char *what)
{
    long allocations = fail_alloc_count();
    cr_assert_eq(rc, STORE_EINVAL, "%s: %s", store_strerror(rc), store_errmsg(d));
    cr_assert(strstr(store_errmsg(d), what), "the detail does not name %s: %s", what,
              store_errmsg(d));
    cr_assert_eq(allocations, 0, "the refused call made %ld allocations", allocations);
}

Test(strings, a_string_past_the_limit_is_refused_at_the_call_and_the_rest_is_saved)
{
    store *d = open_file();
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_model *R = store_model_find(d, "Review");
    store_obj *a, *b, *r;
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "kept"), {0}}, &a),
                 STORE_OK);
    cr_assert_eq(store_create(d, B,
                              (store_value[]){STORE_V_STR("title", "t"),
                                              STORE_V_REF("author", a), {0}},
                              &b),
                 STORE_OK);
    cr_assert_eq(store_create(d, R,
                              (store_value[]){STORE_V_REF("book", b),
                                              STORE_V_STR("body", "short"), {0}},
                              &r),
                 STORE_OK);
    huge h;
    const char *big = huge_string(&h, (size_t)STORE_STR_MAX + 1);
    prime_errmsg(d, R);

    fail_alloc_at(-1);
    int rc = store_create(d, R,
                          (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", big), {0}},
                          NULL);
    refused_without_copy(d, rc, "Review.body");
    fail_alloc_at(-1);
    rc = store_update(d, r, (store_value[]){STORE_V_STR("body", big), {0}});
    refused_without_copy(d, rc, "Review.body");
    fail_alloc_at(-1);
    rc = store_update(d, a, (store_value[]){STORE_V_STR("name", big), {0}});
    refused_without_copy(d, rc, "Author.name");
    huge_free(&h);
    cr_assert_str_eq(store_str(r, "body"), "short");
    cr_assert_eq(store_model_count(R), 1);
    check_invariants(d);

    /* The changes made before are saved, by a snapshot and by the close. */
    cr_assert_eq(store_snapshot(d), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_update(d, r, (store_value[]){STORE_V_STR("body", "later"), {0}}),
                 STORE_OK);
    uint64_t rid = store_id(r);
    cr_assert_eq(store_close(d), STORE_OK, "%s", store_errmsg(NULL));
    d = open_file();
    R = store_model_find(d, "Review");
    cr_assert_eq(store_get(d, R, rid, &r), STORE_OK);
    cr_assert_str_eq(store_str(r, "body"), "later");
    cr_assert_eq(store_model_count(R), 1);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
}

Test(strings, strings_that_together_pass_the_limit_are_refused_at_the_call)
{
    static const store_field doc_fields[] = {
        {.name = "a", .type = STORE_TEXT},
        {.name = "b", .type = STORE_TEXT, .null = true},
        {.name = "n", .type = STORE_INT, STORE_DEFAULT_INT(0)},
        {0},
    };
    store_schema *s;
    store *d = one_model_store(&s, "Doc", doc_fields);
    store_model *Doc = store_model_find(d, "Doc");
    huge h;
    size_t half = (size_t)STORE_STR_MAX / 2 + 1; /* each fits; two do not */
    cr_assert(half <= STORE_STR_MAX && 2 * (uint64_t)half > STORE_STR_MAX);
    const char *big = huge_string(&h, half);
    prime_errmsg(d, Doc);

    fail_alloc_at(-1);
    int rc = store_create(d, Doc, (store_value[]){STORE_V_STR("a", big), STORE_V_STR("b", big),
                                                  {0}},
                          NULL);
    refused_without_copy(d, rc, "Doc.b");
    cr_assert_eq(store_model_count(Doc), 0);

    store_obj *o;
    rc = store_create(d, Doc, (store_value[]){STORE_V_STR("a", big), {0}}, &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(d));
    fail_alloc_at(-1);
    rc = store_update(d, o, (store_value[]){STORE_V_STR("b", big), {0}});
    refused_without_copy(d, rc, "Doc.b");
    cr_assert(store_is_null(o, "b"));
    /* What does not make the strings longer is never refused. */
    cr_assert_eq(store_update(d, o, (store_value[]){STORE_V_INT("n", 7), {0}}), STORE_OK);
    cr_assert_eq(store_update(d, o, (store_value[]){STORE_V_STR("b", "short"), {0}}), STORE_OK);
    cr_assert_str_eq(store_str(o, "b"), "short");
    huge_free(&h);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    store_schema_free(s);
}
