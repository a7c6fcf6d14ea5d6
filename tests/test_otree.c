/*
 * tests/test_otree.c - index/otree.c on its own: the ordered index against a reference (a
 * sorted array) over random inserts and deletes with many repeated keys, ranks, seeks and
 * cursors both ways, bulk builds, strings ordered past their 8-byte key by the tie function,
 * millions of entries, the room a reserve promises, and every allocation failed in turn.
 *
 * Links index/ and tests/failalloc.c only, never store/. rs_otree_check() verifies the
 * tree's invariants after every test that changes it.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/otree.h"
#include "tests/failalloc.h"
#include "tests/xorshift.h"

static int cmp_ent(const void *a, const void *b)
{
    const rs_oent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void check(const rs_otree *t)
{
    const char *bad = rs_otree_check(t);
    cr_assert_null(bad, "%s", bad);
}

/* The reference: a sorted array. */
typedef struct ref {
    rs_oent *e;
    size_t n;
} ref;

static size_t ref_lower(const ref *r, rs_oent x)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_ent(&r->e[mid], &x) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool ref_insert(ref *r, rs_oent x)
{
    size_t at = ref_lower(r, x);
    if (at < r->n && !cmp_ent(&r->e[at], &x))
        return false;
    memmove(&r->e[at + 1], &r->e[at], (r->n - at) * sizeof x);
    r->e[at] = x;
    r->n++;
    return true;
}

static bool ref_delete(ref *r, rs_oent x)
{
    size_t at = ref_lower(r, x);
    if (at == r->n || cmp_ent(&r->e[at], &x))
        return false;
    memmove(&r->e[at], &r->e[at + 1], (r->n - at - 1) * sizeof x);
    r->n--;
    return true;
}

static void insert(rs_otree *t, rs_oent x)
{
    cr_assert_eq(rs_otree_reserve(t, 1), 0);
    rs_otree_insert(t, &(rs_oprobe){x.key, NULL, x.id});
}

/* The tree holds exactly the reference's entries, walked forward and back, and every rank
 * and seek agrees. */
static void same(const rs_otree *t, const ref *r, uint64_t *seed)
{
    check(t);
    cr_assert_eq(t->count, r->n);
    rs_ocursor c = rs_otree_at(t, 0);
    for (size_t i = 0; i < r->n; i++, c = rs_otree_next(c)) {
        cr_assert_not_null(c.leaf, "the walk ends at %zu of %zu", i, r->n);
        cr_assert_eq(cmp_ent(rs_otree_entry(c), &r->e[i]), 0, "entry %zu differs", i);
    }
    cr_assert_null(c.leaf);
    c = rs_otree_last(t);
    for (size_t i = r->n; i-- > 0; c = rs_otree_prev(c))
        cr_assert_eq(cmp_ent(rs_otree_entry(c), &r->e[i]), 0, "entry %zu differs backwards", i);
    cr_assert_null(c.leaf);
    for (int k = 0; k < 64 && r->n; k++) {
        size_t i = rnd(seed) % r->n;
        rs_ocursor a = rs_otree_at(t, i);
        cr_assert_eq(cmp_ent(rs_otree_entry(a), &r->e[i]), 0);
        /* The first of the value, the first after it, and the entry itself. */
        rs_oent x = r->e[i];
        size_t rank, lo = ref_lower(r, (rs_oent){x.key, 0});
        size_t hi = ref_lower(r, (rs_oent){x.key, UINT64_MAX});
        rs_ocursor s = rs_otree_seek(t, &(rs_oprobe){x.key, NULL, RS_OTREE_LOW}, &rank);
        cr_assert_eq(rank, lo);
        cr_assert_eq(cmp_ent(rs_otree_entry(s), &r->e[lo]), 0);
        s = rs_otree_seek(t, &(rs_oprobe){x.key, NULL, RS_OTREE_HIGH}, &rank);
        cr_assert_eq(rank, hi);
        cr_assert(hi == r->n ? s.leaf == NULL : !cmp_ent(rs_otree_entry(s), &r->e[hi]));
        rs_otree_seek(t, &(rs_oprobe){x.key, NULL, x.id}, &rank);
        cr_assert_eq(rank, i);
    }
}

/* Random inserts and deletes over keys drawn from KEYS values (few: many repeats), compared
 * with the reference every CHECK_EVERY operations. */
static void random_ops(uint64_t keys, size_t ops, size_t check_every, uint64_t seed)
{
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    ref r = {malloc(ops * sizeof(rs_oent)), 0};
    for (size_t k = 1; k <= ops; k++) {
        rs_oent x = {rnd(&seed) % keys, 1 + rnd(&seed) % (ops / 2 + 1)};
        bool del = r.n && rnd(&seed) % 100 < 45;
        if (del) {
            x = rnd(&seed) % 4 ? r.e[rnd(&seed) % r.n] : x; /* mostly present, some absent */
            bool there = ref_delete(&r, x);
            cr_assert_eq(rs_otree_delete(&t, &(rs_oprobe){x.key, NULL, x.id}), there);
        } else if (ref_insert(&r, x)) {
            insert(&t, x);
        }
        if (k % check_every == 0)
            same(&t, &r, &seed);
    }
    same(&t, &r, &seed);
    /* Everything out again, in random order: the tree ends empty. */
    while (r.n) {
        rs_oent x = r.e[rnd(&seed) % r.n];
        ref_delete(&r, x);
        cr_assert(rs_otree_delete(&t, &(rs_oprobe){x.key, NULL, x.id}));
        if (r.n % 997 == 0)
            check(&t);
    }
    check(&t);
    cr_assert_null(t.root);
    rs_otree_free(&t);
    free(r.e);
}

Test(otree, random_inserts_and_deletes_agree_with_a_sorted_array)
{
    random_ops(1u << 30, 20000, 500, 0x9e3779b97f4a7c15u);
}

Test(otree, many_repeated_keys_sit_in_id_order)
{
    random_ops(3, 20000, 500, 0x2545f4914f6cdd1du);
    random_ops(40, 20000, 1000, 0x1234567u);
}

Test(otree, appends_fill_their_leaves)
{
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    enum { N = 200000 };
    for (uint64_t i = 1; i <= N; i++)
        insert(&t, (rs_oent){i * 7, i});
    check(&t);
    rs_otree_trim(&t);
    double per = (double)rs_otree_bytes(&t) / N;
    cr_assert_lt(per, 19.0, "%.1f bytes an entry after ascending inserts", per);
    for (uint64_t i = 1; i <= N; i++) {
        size_t rank;
        rs_ocursor c = rs_otree_seek(&t, &(rs_oprobe){i * 7, NULL, RS_OTREE_LOW}, &rank);
        cr_assert_eq(rank, i - 1);
        cr_assert_eq(rs_otree_entry(c)->id, i);
    }
    rs_otree_free(&t);
}

Test(otree, a_bulk_build_holds_its_input_and_takes_changes)
{
    enum { N = 1000003 };
    rs_oent *e = malloc(N * sizeof *e);
    for (uint64_t i = 0; i < N; i++)
        e[i] = (rs_oent){i / 3, i + 1}; /* each key three times */
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    cr_assert_eq(rs_otree_build(&t, e, N), 0);
    check(&t);
    cr_assert_eq(t.count, N);
    double per = (double)rs_otree_bytes(&t) / N;
    cr_assert_lt(per, 18.0, "%.1f bytes an entry after a build", per);
    size_t rank;
    rs_otree_seek(&t, &(rs_oprobe){1000, NULL, RS_OTREE_LOW}, &rank);
    cr_assert_eq(rank, 3000);
    rs_otree_seek(&t, &(rs_oprobe){1000, NULL, RS_OTREE_HIGH}, &rank);
    cr_assert_eq(rank, 3003);
    cr_assert_eq(rs_otree_entry(rs_otree_at(&t, 500000))->id, 500001);
    /* Inserts into a tree of full leaves, and deletes. */
    uint64_t seed = 77;
    for (int k = 0; k < 20000; k++) {
        uint64_t key = rnd(&seed) % (N / 3);
        insert(&t, (rs_oent){key, N + 1 + (uint64_t)k});
    }
    check(&t);
    for (uint64_t i = 0; i < N; i += 2)
        cr_assert(rs_otree_delete(&t, &(rs_oprobe){e[i].key, NULL, e[i].id}));
    check(&t);
    cr_assert_eq(t.count, N - (N + 1) / 2 + 20000);
    rs_otree_free(&t);
    free(e);
}

Test(otree, two_million_random_keys)
{
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    uint64_t seed = 99;
    enum { N = 2000000 };
    for (uint64_t i = 1; i <= N; i++)
        insert(&t, (rs_oent){rnd(&seed), i});
    check(&t);
    rs_otree_trim(&t);
    double per = (double)rs_otree_bytes(&t) / N;
    cr_log_info("random inserts: %.1f bytes an entry", per);
    cr_assert_lt(per, 26.0, "%.1f bytes an entry after random inserts", per);
    uint64_t prev = 0;
    size_t n = 0;
    for (rs_ocursor c = rs_otree_at(&t, 0); c.leaf; c = rs_otree_next(c), n++) {
        cr_assert_geq(rs_otree_entry(c)->key, prev);
        prev = rs_otree_entry(c)->key;
    }
    cr_assert_eq(n, N);
    rs_otree_free(&t);
}

/* ---- Strings: an 8-byte key and the tie function ---------------------------------------- */

static const char *const words[] = {
    "apple", "applesauce", "applesauces", "application", "applicable", "apply", "b",
    "banana split", "banana splits", "bananas", "", "zzzzzzzzzzzz", "zzzzzzzz", "zzzzzzzy",
};
enum { NWORDS = sizeof words / sizeof words[0] };

/* The first 8 bytes of S, big-endian, zero-padded: their order is the bytes' order. */
static uint64_t prefix_key(const char *s)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | (unsigned char)(*s ? *s++ : 0);
    return k;
}

/* Ids 1 .. 2 * NWORDS: each word twice. */
static int tie(const void *ctx, const void *full, uint64_t id)
{
    (void)ctx;
    return strcmp(full, words[(id - 1) % NWORDS]);
}

Test(otree, strings_past_their_key_are_ordered_by_the_tie)
{
    rs_otree t;
    rs_otree_init(&t, tie, NULL);
    for (uint64_t id = 2 * NWORDS; id >= 1; id--) {
        const char *w = words[(id - 1) % NWORDS];
        cr_assert_eq(rs_otree_reserve(&t, 1), 0);
        rs_otree_insert(&t, &(rs_oprobe){prefix_key(w), w, id});
    }
    check(&t);
    const char *last = NULL;
    uint64_t last_id = 0;
    for (rs_ocursor c = rs_otree_at(&t, 0); c.leaf; c = rs_otree_next(c)) {
        const char *w = words[(rs_otree_entry(c)->id - 1) % NWORDS];
        if (last) {
            int r = strcmp(last, w);
            cr_assert(r < 0 || (r == 0 && last_id < rs_otree_entry(c)->id), "%s after %s", w,
                      last);
        }
        last = w;
        last_id = rs_otree_entry(c)->id;
    }
    /* The applesauce range: from the first "applesauce" to the first after "applesauces". */
    size_t lo, hi;
    rs_otree_seek(&t, &(rs_oprobe){prefix_key("applesauce"), "applesauce", RS_OTREE_LOW}, &lo);
    rs_otree_seek(&t, &(rs_oprobe){prefix_key("applesauces"), "applesauces", RS_OTREE_HIGH},
                  &hi);
    cr_assert_eq(hi - lo, 4);
    for (uint64_t id = 1; id <= 2 * NWORDS; id++) {
        const char *w = words[(id - 1) % NWORDS];
        cr_assert(rs_otree_delete(&t, &(rs_oprobe){prefix_key(w), w, id}), "%s", w);
    }
    check(&t);
    rs_otree_free(&t);
}

/* ---- Room and allocation failures -------------------------------------------------------- */

/* After a reserve of N, N inserts allocate nothing, whatever leaves they land in: into a
 * bulk-built tree of full leaves, at random and at its end. */
Test(otree, a_reserve_covers_its_inserts)
{
    enum { N = 200000 };
    rs_oent *e = malloc(N * sizeof *e);
    for (uint64_t i = 0; i < N; i++)
        e[i] = (rs_oent){2 * i, i + 1};
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    cr_assert_eq(rs_otree_build(&t, e, N), 0);
    uint64_t seed = 5, id = N + 1;
    for (size_t batch = 1; batch <= 4096; batch *= 4) {
        cr_assert_eq(rs_otree_reserve(&t, batch), 0);
        fail_alloc_from(0);
        for (size_t k = 0; k < batch; k++) {
            uint64_t key = batch % 2 ? rnd(&seed) % (2 * N) : 2 * N + id; /* random, or appends */
            rs_otree_insert(&t, &(rs_oprobe){key, NULL, id++});
        }
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        cr_assert_not(hit, "inserts after a reserve allocated");
        check(&t);
    }
    rs_otree_trim(&t);
    rs_otree_free(&t);
    free(e);
}

Test(otree, allocation_failures_leave_the_tree_as_it_was)
{
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    for (uint64_t i = 1; i <= 5000; i++)
        insert(&t, (rs_oent){i * 3 % 1000, i});
    rs_otree_trim(&t);
    size_t count = t.count, spares = t.nspare;
    for (long n = 0;; n++) {
        fail_alloc_at(n);
        int rc = rs_otree_reserve(&t, 3000);
        fail_alloc_at(-1);
        check(&t);
        cr_assert_eq(t.count, count);
        if (rc == 0)
            break;
        cr_assert_geq(t.nspare, spares); /* what it made is kept, nothing else changed */
    }
    rs_otree_free(&t);
    /* A build failing at each allocation leaves the tree empty, and frees what it made. */
    enum { N = 10000 };
    rs_oent *e = malloc(N * sizeof *e);
    for (uint64_t i = 0; i < N; i++)
        e[i] = (rs_oent){i, i + 1};
    for (long n = 0;; n++) {
        rs_otree b;
        rs_otree_init(&b, NULL, NULL);
        fail_alloc_at(n);
        int rc = rs_otree_build(&b, e, N);
        fail_alloc_at(-1);
        check(&b);
        if (rc == 0) {
            cr_assert_eq(b.count, N);
            rs_otree_free(&b);
            break;
        }
        cr_assert_eq(rc, -1);
        cr_assert_null(b.root);
        cr_assert_eq(b.count, 0);
    }
    free(e);
}

Test(otree, an_empty_tree)
{
    rs_otree t;
    rs_otree_init(&t, NULL, NULL);
    size_t rank = 99;
    rs_ocursor c = rs_otree_seek(&t, &(rs_oprobe){5, NULL, RS_OTREE_LOW}, &rank);
    cr_assert_null(c.leaf);
    cr_assert_eq(rank, 0);
    cr_assert_null(rs_otree_at(&t, 0).leaf);
    cr_assert_null(rs_otree_last(&t).leaf);
    cr_assert_not(rs_otree_delete(&t, &(rs_oprobe){5, NULL, 1}));
    cr_assert_eq(rs_otree_build(&t, NULL, 0), 0);
    check(&t);
    rs_otree_free(&t);
}

/* ---- The undo hooks ------------------------------------------------------------------------ */

/* A log of saved bytes and made nodes, put back newest first as a rollback would. */
typedef struct undo_log {
    struct {
        void *addr, *copy;
        size_t size;
    } *e;
    size_t n, cap, saves;
} undo_log;

static void log_push(undo_log *l, void *addr, void *copy, size_t size)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        cr_assert_not_null(l->e);
    }
    l->e[l->n].addr = addr;
    l->e[l->n].copy = copy;
    l->e[l->n].size = size;
    l->n++;
}

static void log_save(void *ctx, void *addr, size_t size)
{
    undo_log *l = ctx;
    void *copy = malloc(size);
    cr_assert_not_null(copy);
    memcpy(copy, addr, size);
    log_push(l, addr, copy, size);
    l->saves++;
}

static void log_made(void *ctx, void *node)
{
    log_push(ctx, node, NULL, 0);
}

/* Puts back the log's entries from the last down to AT. */
static void log_undo(undo_log *l, size_t at)
{
    while (l->n > at) {
        l->n--;
        if (l->e[l->n].copy) {
            memcpy(l->e[l->n].addr, l->e[l->n].copy, l->e[l->n].size);
            free(l->e[l->n].copy);
        } else {
            free(l->e[l->n].addr);
        }
    }
}

static void log_forget(undo_log *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->e[k].copy);
    l->n = 0;
}

Test(otree, saved_bytes_put_back_newest_first_restore_the_tree)
{
    rs_otree t;
    undo_log l = {0};
    uint64_t epoch = 0, next_epoch = 1, seed = 0x51ed;
    rs_otree_init(&t, NULL, NULL);
    t.undo = (rs_otree_undo){log_save, log_made, &l, &epoch};
    ref r = {malloc(400000 * sizeof(rs_oent)), 0};
    for (int round = 0; round < 24; round++) {
        /* A stretch of changes kept, then one (with a savepoint inside) rolled back. */
        for (int k = 0; k < 2000; k++) {
            rs_oent x = {rnd(&seed) % 3000, rnd(&seed) % 50 + 1};
            if (rnd(&seed) % 3 && ref_insert(&r, x))
                insert(&t, x);
            else if (ref_delete(&r, x))
                cr_assert(rs_otree_delete(&t, &(rs_oprobe){x.key, NULL, x.id}));
        }
        ref before = {malloc((r.n + 1) * sizeof(rs_oent)), r.n};
        memcpy(before.e, r.e, r.n * sizeof(rs_oent));
        size_t count = t.count;
        epoch = next_epoch++;
        size_t at_outer = l.n, at_inner = 0;
        int changes = (int)(rnd(&seed) % 3000);
        for (int k = 0; k < changes; k++) {
            if (k == changes / 2) {
                epoch = next_epoch++; /* a savepoint: a new point to return to */
                at_inner = l.n;
            }
            size_t saves = l.saves;
            rs_oent x = {rnd(&seed) % 3000, rnd(&seed) % 50 + 1};
            size_t bound = rs_otree_undo_bound(&t);
            if (rnd(&seed) % 2 && ref_insert(&r, x))
                insert(&t, x);
            else if (ref_delete(&r, x))
                cr_assert(rs_otree_delete(&t, &(rs_oprobe){x.key, NULL, x.id}));
            cr_assert_leq(l.saves - saves, bound + 1, "one change saved %zu times",
                          l.saves - saves);
        }
        if (round % 2) { /* the savepoint rolled back, then everything */
            log_undo(&l, at_inner);
            epoch = next_epoch++;
            check(&t);
        }
        log_undo(&l, at_outer);
        epoch = 0;
        check(&t);
        cr_assert_eq(t.count, count);
        same(&t, &before, &seed);
        free(r.e);
        r = before;
        r.e = realloc(r.e, 400000 * sizeof(rs_oent));
        log_forget(&l);
    }
    free(l.e);
    free(r.e);
    rs_otree_trim(&t);
    rs_otree_free(&t);
}
