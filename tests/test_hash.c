/*
 * tests/test_hash.c - index/hash.c on its own: lookups, repeated keys, backward-shift deletion,
 * growth, reservation and allocation failure.
 *
 * Links index/hash.c and tests/failalloc.c only, never store/. Values are small integers
 * disguised as pointers (id + 1, so never NULL); check_table() verifies the table's invariants
 * from its raw slots after every test that changes it.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "index/hash.h"
#include "tests/failalloc.h"
#include "tests/xorshift.h"

static void *val_of(uint64_t id)
{
    return (void *)(uintptr_t)(id + 1);
}

static uint64_t id_of(const void *val)
{
    return (uint64_t)(uintptr_t)val - 1;
}

/* The splitmix64 finalizer: a bijection, so distinct ids give distinct random-looking keys. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static size_t home_of(size_t mask, uint64_t key)
{
    return (size_t)XXH3_64bits(&key, sizeof key) & mask;
}

/*
 * Checks the table's invariants from its slots: the capacity is a power of two of at least 16,
 * the count matches the occupied slots and stays within three quarters of the capacity, and
 * every entry lies closer to its home slot than to the last empty slot before it, i.e. it is
 * reached from home without crossing an empty slot.
 */
static void check_table(const rs_hash *h)
{
    if (!h->slots) {
        cr_assert_eq(h->count, 0);
        return;
    }
    size_t cap = h->mask + 1;
    cr_assert(cap >= 16 && (cap & h->mask) == 0, "capacity %zu", cap);
    cr_assert_leq(h->count, cap - cap / 4);
    size_t start = 0;
    while (h->slots[start].val)
        start++;
    size_t empty = start, used = 0;
    for (size_t n = 1; n < cap; n++) {
        size_t i = (start + n) & h->mask;
        if (!h->slots[i].val) {
            empty = i;
            continue;
        }
        used++;
        size_t from_home = (i - home_of(h->mask, h->slots[i].key)) & h->mask;
        size_t from_empty = (i - empty) & h->mask;
        cr_assert_lt(from_home, from_empty, "slot %zu is cut off from its home", i);
    }
    cr_assert_eq(used, h->count);
}

/* Whether the pair KEY -> VAL is in the table, found by walking KEY's values. */
static bool has_pair(const rs_hash *h, uint64_t key, const void *val)
{
    size_t pos = 0;
    for (void *v; (v = rs_hash_next(h, key, &pos));) {
        if (v == val)
            return true;
    }
    return false;
}

static size_t count_under(const rs_hash *h, uint64_t key)
{
    size_t n = 0, pos = 0;
    while (rs_hash_next(h, key, &pos))
        n++;
    return n;
}

/* Fills OUT with the first N keys (from 1 up) whose home slot in a table of MASK + 1 is SLOT. */
static void keys_homed_at(size_t mask, size_t slot, uint64_t *out, int n)
{
    for (uint64_t k = 1; n > 0; k++) {
        if (home_of(mask, k) == slot) {
            *out++ = k;
            n--;
        }
    }
}

Test(hash, an_empty_table_finds_nothing_and_allocates_nothing)
{
    rs_hash h;
    rs_hash_init(&h);
    fail_alloc_from(0);
    void *got = rs_hash_get(&h, 42);
    size_t next_pos = 0;
    void *next1 = rs_hash_next(&h, 42, &next_pos);
    void *next2 = rs_hash_next(&h, 42, &next_pos);
    bool deleted = rs_hash_del(&h, 42, val_of(1));
    bool replaced = rs_hash_replace(&h, 42, val_of(1), val_of(2));
    size_t scan_pos = 0;
    const rs_hash_entry *scanned = rs_hash_scan(&h, &scan_pos);
    int reserved = rs_hash_reserve(&h, 0);
    long allocs = fail_alloc_count();
    fail_alloc_at(-1);

    cr_assert_null(got);
    cr_assert_null(next1);
    cr_assert_null(next2);
    cr_assert(!deleted);
    cr_assert(!replaced);
    cr_assert_null(scanned);
    cr_assert_eq(reserved, 0);
    cr_assert_eq(allocs, 0);
    cr_assert_null(h.slots);
    cr_assert_eq(rs_hash_count(&h), 0);
    rs_hash_free(&h);
    check_table(&h);
}

Test(hash, a_table_emptied_by_deletes_finds_nothing)
{
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < 100; i++)
        cr_assert_eq(rs_hash_put(&h, i, val_of(i)), 0);
    for (uint64_t i = 0; i < 100; i++)
        cr_assert(rs_hash_del(&h, i, val_of(i)));
    check_table(&h);
    cr_assert_eq(rs_hash_count(&h), 0);
    size_t pos = 0;
    cr_assert_null(rs_hash_scan(&h, &pos));
    for (uint64_t i = 0; i < 100; i++) {
        pos = 0;
        cr_assert_null(rs_hash_get(&h, i));
        cr_assert_null(rs_hash_next(&h, i, &pos));
        cr_assert(!rs_hash_del(&h, i, val_of(i)));
    }
    rs_hash_free(&h);
}

Test(hash, a_freed_table_can_be_filled_again)
{
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < 100; i++)
        cr_assert_eq(rs_hash_put(&h, i, val_of(i)), 0);
    rs_hash_free(&h);
    cr_assert_null(h.slots);
    cr_assert_eq(rs_hash_count(&h), 0);
    cr_assert_null(rs_hash_get(&h, 5));
    for (uint64_t i = 0; i < 10; i++)
        cr_assert_eq(rs_hash_put(&h, i, val_of(i + 1000)), 0);
    for (uint64_t i = 0; i < 10; i++)
        cr_assert_eq(rs_hash_get(&h, i), val_of(i + 1000));
    check_table(&h);
    rs_hash_free(&h);
}

/* Puts N keys made by KEY_OF(i), then finds each once by get and once by a full scan. */
static void fill_and_find(uint64_t (*key_of)(uint64_t), uint64_t n)
{
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < n; i++) {
        if (rs_hash_put(&h, key_of(i), val_of(i)))
            cr_assert_fail("put %" PRIu64 " failed", i);
    }
    cr_assert_eq(rs_hash_count(&h), n);
    check_table(&h);
    for (uint64_t i = 0; i < n; i++) {
        if (rs_hash_get(&h, key_of(i)) != val_of(i))
            cr_assert_fail("key of %" PRIu64 " not found", i);
    }
    for (uint64_t i = n; i < n + 10000; i++)
        cr_assert_null(rs_hash_get(&h, key_of(i)));
    size_t pos = 0, seen = 0;
    for (const rs_hash_entry *e; (e = rs_hash_scan(&h, &pos));) {
        uint64_t id = id_of(e->val);
        cr_assert(id < n && e->key == key_of(id));
        seen++;
    }
    cr_assert_eq(seen, n);
    rs_hash_free(&h);
}

static uint64_t same(uint64_t i)
{
    return i;
}

Test(hash, finds_every_key_of_two_million_sequential_ones)
{
    fill_and_find(same, 2000000);
}

Test(hash, finds_every_key_of_two_million_random_ones)
{
    fill_and_find(mix, 2000000);
}

Test(hash, walks_every_value_of_a_repeated_key_exactly_once)
{
    enum { N = 1000, KEY = 7 };
    static unsigned seen[N];
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < N; i++) {
        cr_assert_eq(rs_hash_put(&h, KEY, val_of(i)), 0);
        cr_assert_eq(rs_hash_put(&h, mix(i), val_of(N + i)), 0); /* neighbours in between */
    }
    check_table(&h);
    size_t pos = 0, walked = 0;
    for (void *v; (v = rs_hash_next(&h, KEY, &pos));) {
        cr_assert_lt(id_of(v), N);
        seen[id_of(v)]++;
        walked++;
    }
    cr_assert_eq(walked, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(seen[i], 1, "value %d met %u times", i, seen[i]);
    cr_assert_null(rs_hash_next(&h, KEY, &pos), "a finished walk stays finished");
    cr_assert_lt(id_of(rs_hash_get(&h, KEY)), N);

    cr_assert(!rs_hash_del(&h, KEY, val_of(N + 3)), "a value of another key");
    cr_assert(!rs_hash_del(&h, KEY + 1, val_of(500)), "a value under another key");
    cr_assert(rs_hash_del(&h, KEY, val_of(500)));
    cr_assert(!rs_hash_del(&h, KEY, val_of(500)), "deleted twice");
    check_table(&h);
    cr_assert_eq(count_under(&h, KEY), N - 1);
    cr_assert(!has_pair(&h, KEY, val_of(500)));
    for (uint64_t i = 0; i < N; i++) {
        cr_assert_eq(has_pair(&h, KEY, val_of(i)), i != 500);
        cr_assert_eq(rs_hash_get(&h, mix(i)), val_of(N + i));
    }

    for (uint64_t n = 0; n < N; n++) {
        uint64_t i = n * 7919 % N; /* every value once, in a scattered order */
        cr_assert_eq(rs_hash_del(&h, KEY, val_of(i)), i != 500);
    }
    cr_assert_null(rs_hash_get(&h, KEY));
    cr_assert_eq(rs_hash_count(&h), N);
    check_table(&h);
    rs_hash_free(&h);
}

Test(hash, replace_changes_only_the_named_pair)
{
    rs_hash h;
    rs_hash_init(&h);
    cr_assert_eq(rs_hash_put(&h, 1, val_of(10)), 0);
    cr_assert_eq(rs_hash_put(&h, 1, val_of(11)), 0);
    cr_assert_eq(rs_hash_put(&h, 1, val_of(12)), 0);
    cr_assert_eq(rs_hash_put(&h, 2, val_of(11)), 0);

    cr_assert(rs_hash_replace(&h, 1, val_of(11), val_of(13)));
    cr_assert(!rs_hash_replace(&h, 1, val_of(11), val_of(14)), "the old pair is gone");
    cr_assert(!rs_hash_replace(&h, 3, val_of(10), val_of(14)), "no such key");
    cr_assert_eq(count_under(&h, 1), 3);
    cr_assert(has_pair(&h, 1, val_of(10)) && has_pair(&h, 1, val_of(12)));
    cr_assert(has_pair(&h, 1, val_of(13)) && !has_pair(&h, 1, val_of(11)));
    cr_assert_eq(rs_hash_get(&h, 2), val_of(11));

    size_t pos = 0, walked = 0; /* replacing during a walk moves nothing */
    for (void *v; (v = rs_hash_next(&h, 1, &pos)); walked++) {
        cr_assert_lt(id_of(v), 100, "met a replaced value again");
        cr_assert(rs_hash_replace(&h, 1, v, val_of(id_of(v) + 100)));
    }
    cr_assert_eq(walked, 3);
    cr_assert(has_pair(&h, 1, val_of(110)) && has_pair(&h, 1, val_of(112)));
    cr_assert(has_pair(&h, 1, val_of(113)) && !has_pair(&h, 1, val_of(10)));
    cr_assert_eq(rs_hash_count(&h), 4);
    check_table(&h);
    rs_hash_free(&h);
}

Test(hash, keeps_the_other_half_after_deleting_half_of_a_million_keys)
{
    enum { N = 1000000 };
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < N; i++) {
        if (rs_hash_put(&h, mix(i), val_of(i)))
            cr_assert_fail("put %" PRIu64 " failed", i);
    }
    for (uint64_t i = 0; i < N; i += 2) {
        if (!rs_hash_del(&h, mix(i), val_of(i)))
            cr_assert_fail("delete %" PRIu64 " failed", i);
    }
    cr_assert_eq(rs_hash_count(&h), N / 2);
    check_table(&h);
    for (uint64_t i = 0; i < N; i++) {
        void *want = i % 2 ? val_of(i) : NULL;
        if (rs_hash_get(&h, mix(i)) != want)
            cr_assert_fail("key of %" PRIu64 " wrong after deletes", i);
    }
    size_t pos = 0;
    cr_assert_null(rs_hash_next(&h, mix(0), &pos));
    cr_assert(!rs_hash_del(&h, mix(0), val_of(0)));
    rs_hash_free(&h);
}

/*
 * One million operations keep about ten thousand keys alive: each one puts a new key or
 * deletes a random live one. Without tombstones the table never needs more than the 16384
 * slots that 10000 keys take under the 3/4 load limit.
 */
Test(hash, stays_small_through_a_million_puts_and_deletes_over_ten_thousand_keys)
{
    enum { WINDOW = 10000, OPS = 1000000, MAX_SLOTS = 16384 };
    static uint64_t live[WINDOW]; /* ids of live keys */
    static bool alive[OPS];
    size_t n = 0, most_slots = 0;
    uint64_t next = 0, rng = 12345;
    rs_hash h;
    rs_hash_init(&h);
    for (int op = 0; op < OPS; op++) {
        uint64_t r = rnd(&rng);
        if (n == 0 || (n < WINDOW && r % 2)) {
            cr_assert_eq(rs_hash_put(&h, mix(next), val_of(next)), 0);
            alive[next] = true;
            live[n++] = next++;
        } else {
            size_t i = (r >> 1) % n;
            if (!rs_hash_del(&h, mix(live[i]), val_of(live[i])))
                cr_assert_fail("live key %" PRIu64 " not deleted", live[i]);
            alive[live[i]] = false;
            live[i] = live[--n];
        }
        if (h.mask + 1 > most_slots)
            most_slots = h.mask + 1;
    }
    cr_assert_leq(most_slots, MAX_SLOTS);
    cr_assert_eq(rs_hash_count(&h), n);
    check_table(&h);
    for (uint64_t id = 0; id < next; id++) {
        if (rs_hash_get(&h, mix(id)) != (alive[id] ? val_of(id) : NULL))
            cr_assert_fail("key of %" PRIu64 " wrong after churn", id);
    }
    rs_hash_free(&h);
}

/*
 * A small key space makes every key repeat many times; after each step the table must hold
 * exactly the pairs of a plain list, walked per key and by scan.
 */
Test(hash, agrees_with_a_list_of_pairs_under_random_puts_and_deletes)
{
    enum { OPS = 20000, KEYS = 32, MAX_LIVE = 2000, CHECK_EVERY = 500 };
    static uint64_t live[MAX_LIVE]; /* ids; the key of id is id % KEYS */
    static unsigned seen[OPS];
    size_t n = 0;
    uint64_t next = 0, rng = 99;
    rs_hash h;
    rs_hash_init(&h);
    for (int op = 1; op <= OPS; op++) {
        uint64_t r = rnd(&rng);
        if (n == 0 || (n < MAX_LIVE && r % 3)) {
            cr_assert_eq(rs_hash_put(&h, next % KEYS, val_of(next)), 0);
            live[n++] = next++;
        } else {
            size_t i = (r >> 2) % n;
            cr_assert(rs_hash_del(&h, live[i] % KEYS, val_of(live[i])));
            cr_assert(!rs_hash_del(&h, live[i] % KEYS, val_of(live[i])));
            live[i] = live[--n];
        }
        if (op % CHECK_EVERY)
            continue;
        check_table(&h);
        memset(seen, 0, sizeof seen);
        size_t walked = 0, scanned = 0, pos = 0;
        for (uint64_t k = 0; k < KEYS; k++) {
            pos = 0;
            for (void *v; (v = rs_hash_next(&h, k, &pos)); walked++) {
                cr_assert_eq(id_of(v) % KEYS, k);
                seen[id_of(v)]++;
            }
        }
        pos = 0;
        for (const rs_hash_entry *e; (e = rs_hash_scan(&h, &pos)); scanned++)
            cr_assert_eq(id_of(e->val) % KEYS, e->key);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(seen[live[i]], 1, "id %" PRIu64 " met %u times", live[i], seen[live[i]]);
        cr_assert(walked == n && scanned == n && rs_hash_count(&h) == n);
    }
    rs_hash_free(&h);
}

/*
 * Keys found by brute force on their home slot in a 16-slot table build one cluster that wraps
 * around the end: a0 a1 a2 (home 14) b0 (15) c0 c1 (0) d0 (1) sit in slots 14 15 0 1 2 3 4.
 * Deleting a1 pulls every later entry back one slot; deleting c0 then pulls c1 and d0.
 */
Test(hash, deletes_from_the_middle_of_a_wrapping_cluster_of_colliding_keys)
{
    uint64_t a[3], b[1], c[2], d[1];
    keys_homed_at(15, 14, a, 3);
    keys_homed_at(15, 15, b, 1);
    keys_homed_at(15, 0, c, 2);
    keys_homed_at(15, 1, d, 1);
    const uint64_t keys[] = {a[0], a[1], a[2], b[0], c[0], c[1], d[0]};
    rs_hash h;
    rs_hash_init(&h);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(rs_hash_put(&h, keys[i], val_of(i)), 0);
    cr_assert_eq(h.mask, 15);
    const size_t before[] = {14, 15, 0, 1, 2, 3, 4};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(h.slots[before[i]].key, keys[i]);

    cr_assert(rs_hash_del(&h, a[1], val_of(1)));
    check_table(&h);
    const uint64_t after_a1[16] = {
        [14] = a[0], [15] = a[2], [0] = b[0], [1] = c[0], [2] = c[1], [3] = d[0]};
    for (int s = 0; s < 16; s++) {
        if (after_a1[s])
            cr_assert_eq(h.slots[s].key, after_a1[s], "slot %d", s);
    }
    cr_assert_null(h.slots[4].val);

    cr_assert(rs_hash_del(&h, c[0], val_of(4)));
    check_table(&h);
    cr_assert(h.slots[1].key == c[1] && h.slots[2].key == d[0] && !h.slots[3].val);
    cr_assert_null(rs_hash_get(&h, a[1]));
    cr_assert_null(rs_hash_get(&h, c[0]));
    const int kept[] = {0, 2, 3, 5, 6};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rs_hash_get(&h, keys[kept[i]]), val_of(kept[i]));
    cr_assert_eq(rs_hash_count(&h), 5);
    rs_hash_free(&h);
}

/*
 * p0 (home 5) q0 q1 (home 6) in slots 5 6 7: deleting p0 moves nothing, since q0 and q1 would
 * then sit before their home. r0 (home 10) s0 (11) r1 (10) in slots 10 11 12: deleting r0 moves
 * r1 over s0, which stays.
 */
Test(hash, moves_back_only_the_entries_whose_home_allows_it)
{
    uint64_t p[1], q[2], r[2], s[1];
    keys_homed_at(15, 5, p, 1);
    keys_homed_at(15, 6, q, 2);
    keys_homed_at(15, 10, r, 2);
    keys_homed_at(15, 11, s, 1);
    rs_hash h;
    rs_hash_init(&h);
    const uint64_t keys[] = {p[0], q[0], q[1], r[0], s[0], r[1]};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(rs_hash_put(&h, keys[i], val_of(i)), 0);

    cr_assert(rs_hash_del(&h, p[0], val_of(0)));
    check_table(&h);
    cr_assert(!h.slots[5].val && h.slots[6].key == q[0] && h.slots[7].key == q[1]);

    cr_assert(rs_hash_del(&h, r[0], val_of(3)));
    check_table(&h);
    cr_assert(h.slots[10].key == r[1] && h.slots[11].key == s[0] && !h.slots[12].val);
    for (int i = 1; i < 6; i++)
        cr_assert_eq(rs_hash_get(&h, keys[i]), i == 3 ? NULL : val_of(i));
    rs_hash_free(&h);
}

/*
 * Twelve entries (the most a 16-slot table holds) whose homes crowd slots 14, 15, 0 and 1,
 * some keys repeated: deleting any one of them, or all of them in several orders, keeps every
 * other pair reachable.
 */
Test(hash, deletes_any_entry_of_a_full_colliding_cluster_with_repeated_keys)
{
    enum { N = 12 };
    uint64_t k14[2], k15[2], k0[2], k1[1];
    keys_homed_at(15, 14, k14, 2);
    keys_homed_at(15, 15, k15, 2);
    keys_homed_at(15, 0, k0, 2);
    keys_homed_at(15, 1, k1, 1);
    const uint64_t keys[N] = {k14[0], k15[0], k14[0], k0[0], k1[0],  k14[1],
                              k0[0],  k15[1], k0[1],  k1[0], k14[0], k15[0]};
    for (int order = 0; order <= N; order++) {
        rs_hash h;
        rs_hash_init(&h);
        for (int i = 0; i < N; i++)
            cr_assert_eq(rs_hash_put(&h, keys[i], val_of(i)), 0);
        cr_assert_eq(h.mask, 15);
        bool gone[N] = {false};
        for (int step = 0; step < N; step++) {
            /* Orders 0..N-1 start at that entry and go on cyclically; order N goes backwards. */
            int i = order < N ? (order + step) % N : N - 1 - step;
            cr_assert(rs_hash_del(&h, keys[i], val_of(i)));
            gone[i] = true;
            check_table(&h);
            for (int j = 0; j < N; j++)
                cr_assert_eq(has_pair(&h, keys[j], val_of(j)), !gone[j], "order %d", order);
        }
        cr_assert_eq(rs_hash_count(&h), 0);
        rs_hash_free(&h);
    }
}

/* Starting from several fills, reserving EXTRA makes exactly EXTRA puts allocation-free. */
Test(hash, puts_after_a_reserve_never_allocate)
{
    static const size_t starts[] = {0, 5, 12, 13, 100};
    static const size_t extras[] = {0, 1, 11, 12, 13, 24, 25, 1000, 100000};
    uint64_t id = 0;
    for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
        for (size_t x = 0; x < sizeof extras / sizeof *extras; x++) {
            rs_hash h;
            rs_hash_init(&h);
            for (size_t i = 0; i < starts[s]; i++, id++)
                cr_assert_eq(rs_hash_put(&h, mix(id), val_of(id)), 0);
            cr_assert_eq(rs_hash_reserve(&h, extras[x]), 0);
            const rs_hash_entry *slots = h.slots;
            size_t mask = h.mask, failed = 0;
            uint64_t first = id;
            fail_alloc_from(0);
            for (size_t i = 0; i < extras[x]; i++, id++)
                failed += rs_hash_put(&h, mix(id), val_of(id)) != 0;
            long allocs = fail_alloc_count();
            fail_alloc_at(-1);
            cr_assert(failed == 0 && allocs == 0, "%zu + %zu: %zu puts failed, %ld allocations",
                      starts[s], extras[x], failed, allocs);
            cr_assert(h.slots == slots && h.mask == mask);
            cr_assert_eq(rs_hash_count(&h), starts[s] + extras[x]);
            for (uint64_t i = first; i < id; i++)
                cr_assert_eq(rs_hash_get(&h, mix(i)), val_of(i));
            check_table(&h);
            rs_hash_free(&h);
        }
    }
}

Test(hash, deletes_between_reserved_puts_only_make_room)
{
    rs_hash h;
    rs_hash_init(&h);
    cr_assert_eq(rs_hash_reserve(&h, 24), 0);
    fail_alloc_from(0);
    int failed = 0;
    for (uint64_t i = 0; i < 12; i++)
        failed += rs_hash_put(&h, i, val_of(i));
    for (uint64_t i = 0; i < 6; i++)
        failed += !rs_hash_del(&h, i, val_of(i));
    for (uint64_t i = 12; i < 24; i++)
        failed += rs_hash_put(&h, i, val_of(i));
    long allocs = fail_alloc_count();
    fail_alloc_at(-1);
    cr_assert(failed == 0 && allocs == 0);
    cr_assert_eq(rs_hash_count(&h), 18);
    check_table(&h);
    rs_hash_free(&h);
}

/* Asserts that H still has SLOTS, MASK, COUNT and the slot contents saved in COPY. */
static void assert_unchanged(const rs_hash *h, const rs_hash_entry *slots, size_t mask,
                             size_t count, const rs_hash_entry *copy)
{
    cr_assert(h->slots == slots && h->mask == mask && h->count == count);
    cr_assert(!memcmp(h->slots, copy, (mask + 1) * sizeof *copy));
}

Test(hash, a_failed_growth_leaves_the_table_unchanged)
{
    rs_hash h;
    rs_hash_init(&h);
    fail_alloc_at(0);
    int rc = rs_hash_put(&h, 100, val_of(100));
    bool hit = fail_alloc_hit();
    fail_alloc_at(-1);
    cr_assert(rc == -1 && hit);
    cr_assert(!h.slots && h.count == 0, "the first allocation failed: still empty");

    for (uint64_t i = 0; i < 12; i++) /* 12 of 16 slots: the next put must grow */
        cr_assert_eq(rs_hash_put(&h, i, val_of(i)), 0);
    rs_hash_entry copy[16];
    memcpy(copy, h.slots, sizeof copy);
    const rs_hash_entry *slots = h.slots;
    cr_assert_eq(h.mask, 15);

    fail_alloc_at(0);
    int put_rc = rs_hash_put(&h, 12, val_of(12));
    bool put_hit = fail_alloc_hit();
    fail_alloc_at(0);
    int reserve_rc = rs_hash_reserve(&h, 1000);
    bool reserve_hit = fail_alloc_hit();
    fail_alloc_at(-1);
    cr_assert(put_rc == -1 && put_hit && reserve_rc == -1 && reserve_hit);
    assert_unchanged(&h, slots, 15, 12, copy);
    cr_assert_null(rs_hash_get(&h, 12));

    /* Each allocation in turn fails until the put goes through. */
    rc = -1;
    for (long n = 0; rc; n++) {
        fail_alloc_at(n);
        rc = rs_hash_put(&h, 12, val_of(12));
        fail_alloc_at(-1);
        if (rc) {
            cr_assert_eq(rc, -1);
            assert_unchanged(&h, slots, 15, 12, copy);
        }
    }
    cr_assert_eq(h.mask, 31);
    for (uint64_t i = 0; i < 13; i++)
        cr_assert_eq(rs_hash_get(&h, i), val_of(i));
    check_table(&h);
    rs_hash_free(&h);
}

/* Sizes whose slot count or byte count overflows size_t fail before calling calloc. */
Test(hash, a_reserve_too_large_for_size_t_fails_without_allocating)
{
    rs_hash h;
    rs_hash_init(&h);
    for (uint64_t i = 0; i < 3; i++)
        cr_assert_eq(rs_hash_put(&h, i, val_of(i)), 0);
    rs_hash_entry copy[16];
    memcpy(copy, h.slots, sizeof copy);
    const rs_hash_entry *slots = h.slots;

    fail_alloc_at(-1); /* counts without failing */
    int count_overflows = rs_hash_reserve(&h, SIZE_MAX);
    int need_is_max = rs_hash_reserve(&h, SIZE_MAX - 3);
    int slots_overflow = rs_hash_reserve(&h, SIZE_MAX / 2);
    int bytes_overflow = rs_hash_reserve(&h, SIZE_MAX / 32);
    long allocs = fail_alloc_count();
    cr_assert_eq(count_overflows, -1);
    cr_assert_eq(need_is_max, -1);
    cr_assert_eq(slots_overflow, -1);
    cr_assert_eq(bytes_overflow, -1);
    cr_assert_eq(allocs, 0);
    assert_unchanged(&h, slots, 15, 3, copy);
    rs_hash_free(&h);
}
