/*
 * tests/txn_threads.c - transactions under threads: what other threads may see of them.
 *
 *   txn_threads [SECONDS] [SEED]   defaults: 2 seconds (or RELSTORE_TXN_SECONDS), a seed from
 *                                  the pid (or RELSTORE_SEED); the first line says how to replay
 *
 * The contract is the "Transactions" section of api/store.h. Eight Accounts hold a balance and
 * 64 Items point at them; the sum of the balances and the number of objects of each model are
 * the invariants, true at every commit boundary. Writer threads run transactions that move a
 * fixed amount between two accounts, create an item and delete another, with savepoints
 * inside (kept; or rolled back after an unbalanced change, or after deleting an account with
 * its items) and store_atomic() levels, then commit or roll back. A transaction doomed to roll
 * back marks what it makes (a "doomed" name, a DOOMED tag), so that a reader seeing any of it
 * knows. Inside, each writer checks that its own calls see its changes and that each level
 * rolled back put back exactly what it found: the same objects at the same addresses.
 *
 * The other threads:
 *   - locked readers (an aggregate, counts, store_model_count(), store_stat(), get_by, and
 *     read-only transactions whose reads must agree with each other and hold still) must see
 *     every invariant exactly and never a mark;
 *   - lock-free readers (store_get(), field reads) may see a transaction midway, but never a
 *     torn value: a balance or a tag is a count of UNIT, which has a 1 in each 16-bit lane, so
 *     a value made of the halves of two shows; they count what midway states they saw;
 *   - a quitter thread at a time begins a transaction (write or read-only, some with a
 *     savepoint open), changes things and exits without ending it: the others must go on, and
 *     what it did must be gone;
 *   - a libuv loop sends query counts and finds, gets, and store_atomic_async() transfers (a
 *     get is store_get() on the pool, with no lock: one that meets an open delete is counted);
 *   - a backup thread copies the last snapshot (background ones of STORE_DURABLE_INTERVAL,
 *     and its own) with store_backup() and opens the copy: no snapshot may hold part of a
 *     transaction;
 *   - a watchdog fails the run if no thread makes progress for STALL seconds (a deadlock).
 * At the end: store_check(), the invariants by locked and lock-free reads, then a reopen.
 * A plain executable, so that it also runs under ThreadSanitizer (Criterion cannot start).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store_async.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"

/* One unit of money: a 1 in each 16-bit lane, so a whole count of units below 0x8000 has four
 * equal lanes, and a word torn between two such values does not. */
#define UNIT UINT64_C(0x0001000100010001)

enum {
    NACC = 8,             /* accounts, ids 1 .. NACC, never deleted for good */
    NITEMS = 64,          /* items, at every commit boundary */
    START = 500,          /* units per account at the start */
    TOTAL = NACC * START, /* the sum of the balances, at every commit boundary */
    AMOUNT = 3,           /* what a transfer moves */
    BUMP = 7,             /* an unbalanced change, always rolled back */
    BIG = 10000,          /* a quitter's unbalanced change, rolled back at its exit */
    DOOMED_TAG = 30001,   /* the tag of items made by levels that will roll back */
    QUIT_TAG = 30002,     /* the tag of items made by quitters */
    WRITERS = 3,
    LOCKED = 2,           /* locked readers */
    PEEKERS = 2,          /* lock-free readers */
    MIN_TXNS = 30,        /* rounds every thread makes, however short the run */
    STALL = 30,           /* seconds without progress that mean a deadlock */
};

static const store_field account_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 16, .unique = true},
    {.name = "balance", .type = STORE_INT},
    {0},
};
static const store_field item_fields[] = {
    {.name = "owner", .type = STORE_FK, .to = "Account", .related_name = "items",
     .on_delete = STORE_CASCADE},
    {.name = "tag", .type = STORE_INT, .index = true},
    {0},
};

static store *db;
static store_model *Account, *Item;
static const store_fld *balance_fld, *owner_fld;
static store_obj *accounts[NACC]; /* ids 1 .. NACC, written before the threads start */
static store_query *all_accounts, *all_items, *marked_items;

static int stopping;  /* set by main once the time is up */
static long progress; /* rounds done by every thread together, for the watchdog */

/* ---- Threads' bookkeeping -------------------------------------------------------------------- */

/* What a lock-free reader counts of the midway states it saw (allowed, not errors). */
enum { SEEN_GONE, SEEN_MIDWAY, SEEN_MARK, NSEEN };

typedef struct worker {
    int index;
    uint64_t seed;
    long rounds, min_rounds;
    long commits, rollbacks, kept, undone; /* writers: transactions and savepoints */
    long seen[NSEEN];
    int errors;
    char first_error[320];
} worker;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned rnd(worker *w, unsigned n)
{
    return (unsigned)(next_rand(&w->seed) % n);
}

static __attribute__((format(printf, 2, 3))) void fail(worker *w, const char *fmt, ...)
{
    if (w->errors++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof w->first_error, fmt, ap);
    va_end(ap);
    fprintf(stderr, "# violation: %s\n", w->first_error);
}

/* Whether W goes on: until the time is up, and at least its minimum of rounds; a thread that
 * found a violation stops (the first one is what matters). */
static bool going(worker *w)
{
    __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
    return !w->errors &&
           (w->rounds++ < w->min_rounds || !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE));
}

static int64_t money(int64_t units)
{
    return (int64_t)((uint64_t)units * UNIT);
}

/* The units of V, or -1 if V is no whole count of UNIT: a torn read. */
static int64_t units_of(int64_t v)
{
    uint64_t u = (uint64_t)v, n = u & 0xffff;
    return n < 0x8000 && n * UNIT == u ? (int64_t)n : -1;
}

static bool is_account(const store_obj *o)
{
    for (int i = 0; i < NACC; i++)
        if (o == accounts[i])
            return true;
    return false;
}

/* ---- Locked reads: never part of a transaction ----------------------------------------------- */

/* The sum of the balances (units) and the number of accounts, by one locked aggregate. */
static int sum_of(worker *w, int64_t *units, int64_t *n, const char *where)
{
    store_agg aggs[] = {{.op = STORE_AGG_SUM, .path = "balance"}, {.op = STORE_AGG_COUNT}, {0}};
    int rc = store_query_aggregate(all_accounts, NULL, aggs);
    if (rc || aggs[0].out.kind != STORE_KIND_INT || units_of(aggs[0].out.u.i) < 0) {
        fail(w, "%s: aggregate: %s, sum kind %d value %#" PRIx64, where, store_strerror(rc),
             aggs[0].out.kind, (uint64_t)aggs[0].out.u.i);
        return -1;
    }
    *units = units_of(aggs[0].out.u.i);
    *n = aggs[1].out.u.i;
    return 0;
}

/* No name or tag that only an unfinished (or doomed) level makes; every account by its name. */
static void check_marks(worker *w, const char *where)
{
    static const char *const names[] = {"moving", "doomed", "quitter"};
    store_obj *o;
    for (int i = 0; i < 3; i++)
        if (store_get_by(db, Account, "name", &(store_value)STORE_V_STR(NULL, names[i]), &o) !=
            STORE_ENOTFOUND)
            return fail(w, "%s: get_by sees the account named \"%s\"", where, names[i]);
    for (int64_t tag = DOOMED_TAG; tag <= QUIT_TAG; tag++)
        if (store_get_by(db, Item, "tag", &(store_value)STORE_V_INT(NULL, money(tag)), &o) !=
            STORE_ENOTFOUND)
            return fail(w, "%s: get_by sees an item tagged %" PRId64, where, tag);
    for (int i = 0; i < NACC; i++) {
        char name[16];
        snprintf(name, sizeof name, "acc%d", i);
        int rc = store_get_by(db, Account, "name", &(store_value)STORE_V_STR(NULL, name), &o);
        if (rc || o != accounts[i])
            return fail(w, "%s: get_by %s: %s, %p (the account is at %p)", where, name,
                        store_strerror(rc), (void *)o, (void *)accounts[i]);
    }
}

/* The invariants, by every kind of locked read. */
static void check_locked(worker *w, const char *where)
{
    int64_t units, n;
    if (sum_of(w, &units, &n, where))
        return;
    if (units != TOTAL || n != NACC)
        return fail(w, "%s: the aggregate sees %" PRId64 " units in %" PRId64
                    " accounts, not %d in %d", where, units, n, TOTAL, NACC);
    size_t items = 0, marked = 1;
    int rc = store_query_count(all_items, NULL, &items);
    if (!rc)
        rc = store_query_count(marked_items, NULL, &marked);
    if (rc || items != NITEMS || marked)
        return fail(w, "%s: query counts: %s, %zu items (not %d), %zu marked", where,
                    store_strerror(rc), items, NITEMS, marked);
    if ((items = store_model_count(Item)) != NITEMS)
        return fail(w, "%s: store_model_count says %zu items, not %d", where, items, NITEMS);
    store_stats st;
    rc = store_stat(db, &st);
    if (rc || st.objects != NACC + NITEMS)
        return fail(w, "%s: store_stat: %s, %zu objects, not %d", where, store_strerror(rc),
                    st.objects, NACC + NITEMS);
    check_marks(w, where);
}

/* ---- Writers --------------------------------------------------------------------------------- */

/* What the store holds now as the writer's own level sees it: the checks inside. */
typedef struct level {
    int64_t units;
    int64_t items;
} level;

static void expect(worker *w, const level *lv, int64_t accounts_n, const char *where)
{
    int64_t units, n;
    if (sum_of(w, &units, &n, where))
        return;
    int64_t items = (int64_t)store_model_count(Item);
    if (units != lv->units || n != accounts_n || items != lv->items)
        fail(w, "%s, seen by its own transaction: %" PRId64 " units, %" PRId64
             " accounts, %" PRId64 " items; expected %" PRId64 ", %" PRId64 ", %" PRId64,
             where, units, n, items, lv->units, accounts_n, lv->items);
}

static int set_balance(worker *w, int i, int64_t units)
{
    int rc = store_update(db, accounts[i], (store_value[]){STORE_V_INT("balance", money(units)),
                                                          {0}});
    if (rc)
        fail(w, "update the balance of acc%d: %s (%s)", i, store_strerror(rc), store_errmsg(db));
    return rc;
}

static int64_t units_at(int i)
{
    return units_of(store_int(accounts[i], "balance"));
}

/* Moves AMOUNT from one account to another, checking the sum halfway and after. */
static void transfer(worker *w, const level *lv)
{
    int from = (int)rnd(w, NACC), to = (from + 1 + (int)rnd(w, NACC - 1)) % NACC;
    for (int i = 0; units_at(from) < AMOUNT && i < NACC; i++)
        from = i; /* someone has at least AMOUNT: the sum is TOTAL */
    if (from == to)
        to = (to + 1) % NACC;
    if (set_balance(w, from, units_at(from) - AMOUNT))
        return;
    level half = {lv->units - AMOUNT, lv->items};
    expect(w, &half, NACC, "a transfer halfway");
    if (!set_balance(w, to, units_at(to) + AMOUNT))
        expect(w, lv, NACC, "a transfer done");
}

/* Any item: the first at or after a random id. */
static store_obj *some_item(worker *w)
{
    uint64_t pos = rnd(w, (unsigned)store_model_next_id(Item));
    store_obj *o = store_model_scan(Item, &pos);
    if (!o) {
        pos = 0;
        o = store_model_scan(Item, &pos);
    }
    return o;
}

/* Creates an item tagged TAG and deletes another: the count stays. */
static void churn(worker *w, const level *lv, int64_t tag)
{
    store_obj *owner = accounts[rnd(w, NACC)], *victim;
    int rc = store_create(db, Item, (store_value[]){STORE_V_REF("owner", owner),
                                                   STORE_V_INT("tag", money(tag)), {0}},
                          NULL);
    if (rc)
        return fail(w, "create an item: %s (%s)", store_strerror(rc), store_errmsg(db));
    if (!(victim = some_item(w)))
        return fail(w, "no item to delete");
    if ((rc = store_delete(db, victim)))
        return fail(w, "delete an item: %s (%s)", store_strerror(rc), store_errmsg(db));
    expect(w, lv, NACC, "a create and a delete");
}

static void rename_account(worker *w, int i, const char *name)
{
    int rc = store_update(db, accounts[i], (store_value[]){STORE_V_STR("name", name), {0}});
    if (rc)
        fail(w, "rename acc%d to %s: %s (%s)", i, name, store_strerror(rc), store_errmsg(db));
}

/* A savepoint that changes the sum and the count, rolled back: all of it must be undone. */
static void undo_bump(worker *w, const level *lv)
{
    int i = (int)rnd(w, NACC);
    int64_t before = units_at(i);
    store_txn *sp;
    int rc = store_begin(db, 0, &sp);
    if (rc)
        return fail(w, "begin a savepoint: %s", store_strerror(rc));
    churn(w, lv, DOOMED_TAG);
    set_balance(w, i, before + BUMP);
    rc = store_create(db, Item, (store_value[]){STORE_V_REF("owner", accounts[i]),
                                               STORE_V_INT("tag", money(DOOMED_TAG)), {0}},
                      NULL);
    if (rc)
        fail(w, "create an item: %s (%s)", store_strerror(rc), store_errmsg(db));
    level bumped = {lv->units + BUMP, lv->items + 1};
    expect(w, &bumped, NACC, "a savepoint with a bump");
    if ((rc = store_rollback(sp)))
        return fail(w, "roll back a savepoint: %s", store_strerror(rc));
    if (units_at(i) != before)
        fail(w, "a savepoint rolled back leaves acc%d at %" PRId64 " units, not %" PRId64, i,
             units_at(i), before);
    expect(w, lv, NACC, "a bump rolled back");
}

/* A savepoint that deletes an account and its items, rolled back: all back where they were. */
static void undo_delete(worker *w, const level *lv)
{
    int i = (int)rnd(w, NACC);
    store_obj *acc = accounts[i], *o, *kid[2 * NITEMS];
    int64_t before = units_at(i);
    size_t kids = 0;
    for (store_iter it = store_reverse(acc, "items"); kids < 2 * NITEMS && (o = store_next(&it));)
        kid[kids++] = o;
    store_txn *sp;
    int rc = store_begin(db, 0, &sp);
    if (rc)
        return fail(w, "begin a savepoint: %s", store_strerror(rc));
    if ((rc = store_delete(db, acc)))
        return fail(w, "delete acc%d: %s (%s)", i, store_strerror(rc), store_errmsg(db));
    level gone = {lv->units - before, lv->items - (int64_t)kids};
    expect(w, &gone, NACC - 1, "an account deleted in a savepoint");
    if (store_get(db, Account, (uint64_t)i + 1, &o) != STORE_ENOTFOUND)
        fail(w, "acc%d is found after its delete", i);
    if ((rc = store_rollback(sp)))
        return fail(w, "roll back a savepoint: %s", store_strerror(rc));
    store_iter it = store_reverse(acc, "items");
    size_t same = 0;
    while (same < kids && store_next(&it) == kid[same])
        same++;
    rc = store_get(db, Account, (uint64_t)i + 1, &o);
    if (rc || o != acc || units_at(i) != before || store_count(&it) != kids || same != kids)
        fail(w, "acc%d after a rolled back delete: %s, at %p (was %p), %" PRId64
             " units (was %" PRId64 "), %zu items (was %zu), the first %zu in place", i,
             store_strerror(rc), (void *)o, (void *)acc, units_at(i), before,
             store_count(&it), kids, same);
    expect(w, lv, NACC, "a delete rolled back");
}

typedef struct atomic_arg {
    worker *w;
    const level *lv;
    int code; /* what the function returns: STORE_OK commits */
} atomic_arg;

/* A store_atomic() level: a transfer and a churn, then a bump if it is to roll back. */
static int atomic_fn(store *d, void *arg)
{
    atomic_arg *a = arg;
    (void)d;
    transfer(a->w, a->lv);
    churn(a->w, a->lv, a->code ? DOOMED_TAG : 1 + rnd(a->w, 1000));
    if (a->code)
        set_balance(a->w, 0, units_at(0) + BUMP);
    return a->code;
}

static void savepoint(worker *w, const level *lv, int64_t tag)
{
    store_txn *sp;
    int rc;
    switch (rnd(w, 4)) {
    case 0:
        if ((rc = store_begin(db, 0, &sp)))
            return fail(w, "begin a savepoint: %s", store_strerror(rc));
        transfer(w, lv);
        churn(w, lv, tag);
        if ((rc = store_commit(sp)))
            return fail(w, "commit a savepoint: %s", store_strerror(rc));
        expect(w, lv, NACC, "a savepoint kept");
        w->kept++;
        return;
    case 1:
        undo_bump(w, lv);
        break;
    case 2:
        undo_delete(w, lv);
        break;
    default: {
        atomic_arg a = {w, lv, rnd(w, 2) ? STORE_OK : STORE_ECONSTRAINT};
        if ((rc = store_atomic(db, atomic_fn, &a)) != a.code)
            return fail(w, "store_atomic returned %s, not %s", store_strerror(rc),
                        store_strerror(a.code));
        expect(w, lv, NACC, "after a store_atomic level");
        if (!a.code) {
            w->kept++;
            return;
        }
    }
    }
    w->undone++;
}

/* One transaction: at its begin the store is at a commit boundary, and this thread alone. */
static void writer_txn(worker *w)
{
    bool doomed = rnd(w, 3) == 0;
    int64_t tag = doomed ? DOOMED_TAG : 1 + rnd(w, 1000);
    store_txn *t;
    int rc = store_begin(db, 0, &t);
    if (rc)
        return fail(w, "begin: %s", store_strerror(rc));
    check_locked(w, "a writer's begin");
    level lv = {TOTAL, NITEMS};
    int r = (int)rnd(w, NACC);
    rename_account(w, r, doomed ? "doomed" : "moving");
    for (int steps = 1 + (int)rnd(w, 4); steps-- && !w->errors;) {
        transfer(w, &lv);
        churn(w, &lv, tag);
        if (rnd(w, 2))
            savepoint(w, &lv, tag);
    }
    if (rnd(w, 8) == 0 && (rc = store_snapshot(db)) != STORE_EBUSY)
        fail(w, "a snapshot from inside a transaction: %s, not STORE_EBUSY", store_strerror(rc));
    char name[16];
    snprintf(name, sizeof name, "acc%d", r);
    if (!doomed)
        rename_account(w, r, name);
    rc = doomed ? store_rollback(t) : store_commit(t);
    if (rc)
        fail(w, "%s: %s", doomed ? "rollback" : "commit", store_strerror(rc));
    if (doomed)
        w->rollbacks++;
    else
        w->commits++;
}

static void *writer_main(void *arg)
{
    worker *w = arg;
    while (going(w)) {
        writer_txn(w);
        /* A waiting writer holds off new readers: a pause between transactions lets the
         * locked readers in, which writers back to back would starve. */
        nanosleep(&(struct timespec){.tv_nsec = 50000}, NULL);
    }
    return NULL;
}

/* ---- Locked readers -------------------------------------------------------------------------- */

/* A read-only transaction: its reads agree with each other and hold still; changes refused. */
static void readonly_round(worker *w)
{
    store_txn *t, *in;
    int rc = store_begin(db, STORE_TXN_READONLY, &t);
    if (rc)
        return fail(w, "begin read-only: %s", store_strerror(rc));
    int64_t first[NACC] = {0}, units = 0, n = 0, kids = 0;
    uint64_t pos = 0;
    for (store_obj *o; (o = store_model_scan(Account, &pos)) && n < NACC; n++) {
        units += first[n] = units_of(store_field_int(o, balance_fld));
        store_iter it = store_reverse(o, "items");
        size_t walked = 0;
        while (store_next(&it))
            walked++;
        kids += (int64_t)walked;
        if (walked != store_count(&it) || o != accounts[n])
            fail(w, "read-only: account %" PRId64 " walks %zu items, counts %zu", n, walked,
                 store_count(&it));
    }
    if (units != TOTAL || n != NACC || kids != NITEMS)
        fail(w, "read-only: a walk sees %" PRId64 " units in %" PRId64 " accounts, %" PRId64
             " items", units, n, kids);
    check_locked(w, "inside a read-only transaction");
    sched_yield();
    for (int i = 0; i < NACC; i++)
        if (units_at(i) != first[i])
            fail(w, "read-only: acc%d went from %" PRId64 " to %" PRId64 " units", i, first[i],
                 units_at(i));
    if ((rc = store_update(db, accounts[0], (store_value[]){STORE_V_INT("balance", 0), {0}})) !=
            STORE_EINVAL ||
        (rc = store_begin(db, 0, &in)) != STORE_EINVAL)
        fail(w, "read-only: a change or a write level gives %s, not STORE_EINVAL",
             store_strerror(rc));
    if ((rc = store_begin(db, STORE_TXN_READONLY, &in)) || (rc = store_commit(in)))
        fail(w, "read-only: a nested read-only level: %s", store_strerror(rc));
    if ((rc = rnd(w, 2) ? store_commit(t) : store_rollback(t)))
        fail(w, "read-only: end: %s", store_strerror(rc));
}

static void *locked_main(void *arg)
{
    worker *w = arg;
    while (going(w)) {
        check_locked(w, "a locked reader");
        readonly_round(w);
    }
    return NULL;
}

/* ---- Lock-free readers ----------------------------------------------------------------------- */

/* Reads an item by a random id below BOUND: whole or gone, with a whole tag and an owner. */
static void peek_item(worker *w, uint64_t bound)
{
    uint64_t id = 1 + rnd(w, (unsigned)bound);
    store_obj *o;
    int rc = store_get(db, Item, id, &o);
    if (rc == STORE_ENOTFOUND)
        return;
    uint64_t got = store_id(o);
    int64_t tag = units_of(store_int(o, "tag"));
    store_obj *owner = store_field_ref(o, owner_fld);
    if (rc || (got && got != id) || tag < 0 || (owner && !is_account(owner)))
        return fail(w, "lock-free: item %" PRIu64 ": %s, id %" PRIu64 ", tag %#" PRIx64
                    ", owner %p", id, store_strerror(rc), got,
                    (uint64_t)store_int(o, "tag"), (void *)owner);
    if (tag == DOOMED_TAG || tag == QUIT_TAG)
        w->seen[SEEN_MARK]++;
}

static void peek_round(worker *w, uint64_t bound)
{
    int i = (int)rnd(w, NACC);
    store_obj *o;
    int rc = store_get(db, Account, (uint64_t)i + 1, &o);
    if (rc == STORE_ENOTFOUND)
        w->seen[SEEN_GONE]++; /* deleted by a level not ended yet */
    else if (rc || o != accounts[i])
        return fail(w, "lock-free: get acc%d: %s, %p (the account is at %p)", i,
                    store_strerror(rc), (void *)o, (void *)accounts[i]);
    int64_t units = 0;
    for (int k = 0; k < NACC; k++) {
        int64_t word = store_field_int(accounts[k], balance_fld), u = units_of(word);
        if (u < 0)
            return fail(w, "lock-free: acc%d's balance is torn: %#" PRIx64, k, (uint64_t)word);
        units += u;
    }
    if (units != TOTAL)
        w->seen[SEEN_MIDWAY]++;
    peek_item(w, bound);
}

static void *peeker_main(void *arg)
{
    worker *w = arg;
    uint64_t bound = NITEMS;
    while (going(w)) {
        if (w->rounds % 64 == 1)
            bound = store_model_next_id(Item); /* a locked call, now and then */
        for (int k = 0; k < 16; k++)
            peek_round(w, bound);
    }
    return NULL;
}

/* ---- Quitters: threads that exit with a transaction open ------------------------------------- */

static void *quitter_main(void *arg)
{
    worker *w = arg;
    store_txn *t, *in;
    bool readonly = w->rounds % 4 >= 2, nested = w->rounds % 2;
    int rc = store_begin(db, readonly ? STORE_TXN_READONLY : 0, &t);
    if (rc)
        return fail(w, "quitter: begin: %s", store_strerror(rc)), NULL;
    if (readonly) {
        check_locked(w, "a quitter's read-only transaction");
        if (nested && (rc = store_begin(db, STORE_TXN_READONLY, &in)))
            fail(w, "quitter: a nested read-only level: %s", store_strerror(rc));
        return NULL;
    }
    set_balance(w, 0, units_at(0) + BIG);
    rename_account(w, 1, "quitter");
    level lv = {TOTAL + BIG, NITEMS};
    churn(w, &lv, QUIT_TAG);
    if (nested && !(rc = store_begin(db, 0, &in))) {
        churn(w, &lv, QUIT_TAG);
        if ((rc = store_delete(db, accounts[2])))
            fail(w, "quitter: delete acc2: %s", store_strerror(rc));
    } else if (nested) {
        fail(w, "quitter: begin a savepoint: %s", store_strerror(rc));
    }
    return NULL; /* the transaction is left open: the thread's exit rolls it back */
}

/* Runs quitters one after another; after each, its changes must be gone and the lock free. */
static void *quit_main(void *arg)
{
    worker *w = arg;
    while (going(w)) {
        worker q = {.rounds = w->rounds, .seed = next_rand(&w->seed) | 1};
        pthread_t tid;
        if (pthread_create(&tid, NULL, quitter_main, &q))
            return fail(w, "quitter: no thread"), NULL;
        pthread_join(tid, NULL);
        if (q.errors)
            return fail(w, "%s", q.first_error), NULL;
        store_txn *t;
        int rc = store_begin(db, 0, &t); /* waits for nobody the quitter left */
        if (rc)
            return fail(w, "begin after a quitter: %s", store_strerror(rc)), NULL;
        check_locked(w, "after a quitter");
        store_rollback(t);
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    return NULL;
}

/* ---- The async side: a loop on its own thread ------------------------------------------------ */

typedef struct async_side {
    uv_loop_t loop;
    store_req req;
    worker w;
    unsigned kind;
    level lv;
    atomic_arg arg;
} async_side;

static void async_next(async_side *s);

static void async_cb(store_req *req)
{
    async_side *s = req->data;
    worker *w = &s->w;
    int want = s->kind == 3 ? s->arg.code : STORE_OK;
    /* A get is store_get() on the pool (store_async.h): it takes no lock, so, as the
     * "Transactions" section of store.h says, it may meet an account a savepoint has deleted
     * and not yet put back. Counted and reported. */
    if (s->kind == 2 && req->result == STORE_ENOTFOUND)
        w->seen[SEEN_GONE]++;
    else if (req->result != want)
        fail(w, "async request %u: %s, not %s", s->kind, store_strerror(req->result),
             store_strerror(want));
    else if (s->kind == 0 && req->count != NITEMS)
        fail(w, "async query count: %zu items, not %d", req->count, NITEMS);
    else if (s->kind == 1 && (req->count != NACC || req->objs[0] != accounts[0]))
        fail(w, "async query find: %zu accounts, not %d", req->count, NACC);
    else if (s->kind == 2 && req->obj != accounts[0])
        fail(w, "async get of acc0: %p, not %p", (void *)req->obj, (void *)accounts[0]);
    store_req_cleanup(req);
    if (going(w))
        async_next(s);
}

static void async_next(async_side *s)
{
    worker *w = &s->w;
    s->req.data = s;
    int rc;
    switch ((s->kind = rnd(w, 4))) {
    case 0:
        rc = store_query_count_async(&s->loop, &s->req, all_items, NULL, async_cb);
        break;
    case 1:
        rc = store_query_find_async(&s->loop, &s->req, all_accounts, NULL, async_cb);
        break;
    case 2:
        rc = store_get_async(&s->loop, &s->req, db, Account, 1, async_cb);
        break;
    default:
        s->lv = (level){TOTAL, NITEMS};
        s->arg = (atomic_arg){w, &s->lv, rnd(w, 2) ? STORE_OK : STORE_ECONSTRAINT};
        rc = store_atomic_async(&s->loop, &s->req, db, atomic_fn, &s->arg, async_cb);
        break;
    }
    if (rc)
        fail(w, "async request %u not sent: %s", s->kind, store_strerror(rc));
}

static void *async_main(void *arg)
{
    async_side *s = arg;
    async_next(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- Snapshots: a backup of the last one holds whole transactions only ----------------------- */

static store_schema *make_schema(void)
{
    store_schema *s = NULL;
    if (store_schema_new(&s) || store_schema_add(s, "Account", account_fields) ||
        store_schema_add(s, "Item", item_fields)) {
        store_schema_free(s);
        return NULL;
    }
    return s;
}

static store *open_at(worker *w, const store_schema *schema, const char *path, unsigned flags)
{
    store *d = NULL;
    store_options opts = {.flags = flags, .durability = STORE_DURABLE_INTERVAL,
                          .interval_ms = 20};
    if (flags & STORE_OPEN_READONLY)
        opts.durability = STORE_DURABLE_MANUAL;
    int rc = store_open(&d, schema, path, &opts);
    if (rc)
        fail(w, "open %s: %s (%s)", path, store_strerror(rc), store_errmsg(NULL));
    return d;
}

/* The invariants of a store no thread changes, opened from a file: D's own reads only. */
static void check_copy(worker *w, store *d, const char *what)
{
    store_model *acc = store_model_find(d, "Account"), *item = store_model_find(d, "Item");
    int64_t units = 0, n = 0, marked = 0;
    uint64_t pos = 0;
    for (store_obj *o; (o = store_model_scan(acc, &pos)); n++) {
        units += units_of(store_int(o, "balance"));
        marked += strncmp(store_str(o, "name"), "acc", 3) != 0;
    }
    pos = 0;
    for (store_obj *o; (o = store_model_scan(item, &pos));)
        marked += units_of(store_int(o, "tag")) >= DOOMED_TAG;
    int rc = store_check(d);
    if (rc || units != TOTAL || n != NACC || store_model_count(item) != NITEMS || marked)
        fail(w, "%s: %s, %" PRId64 " units in %" PRId64 " accounts, %zu items, %" PRId64
             " marked", what, rc ? store_errmsg(d) : "checks", units, n,
             store_model_count(item), marked);
}

static void backup_round(worker *w, const store_schema *schema, const char *dir)
{
    char path[256], lock[272];
    snprintf(path, sizeof path, "%s/copy-%ld.db", dir, w->rounds);
    snprintf(lock, sizeof lock, "%s-lock", path);
    int rc = w->rounds % 2 ? store_snapshot(db) : STORE_OK; /* else: a background one */
    if (!rc)
        rc = store_backup(db, path);
    if (rc)
        return fail(w, "snapshot and backup: %s (%s)", store_strerror(rc), store_errmsg(db));
    store *copy = open_at(w, schema, path, STORE_OPEN_READONLY);
    if (copy) {
        check_copy(w, copy, "a backup of the last snapshot");
        store_close(copy);
    }
    unlink(path);
    unlink(lock);
}

typedef struct backup_side {
    worker w;
    const store_schema *schema;
    const char *dir;
} backup_side;

static void *backup_main(void *arg)
{
    backup_side *b = arg;
    while (going(&b->w)) {
        backup_round(&b->w, b->schema, b->dir);
        nanosleep(&(struct timespec){.tv_nsec = 30000000}, NULL);
    }
    return NULL;
}

/* ---- The watchdog ---------------------------------------------------------------------------- */

static int finished;

static void *watch_main(void *arg)
{
    (void)arg;
    long last = -1;
    for (int still = 0; !__atomic_load_n(&finished, __ATOMIC_ACQUIRE);) {
        nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
        long now = __atomic_load_n(&progress, __ATOMIC_RELAXED);
        still = now == last ? still + 1 : 0; /* tenths of a second */
        last = now;
        if (still >= 10 * STALL) {
            printf("not ok - no thread made progress for %d s: a deadlock\n", STALL);
            fflush(stdout);
            abort();
        }
    }
    return NULL;
}

/* ---- Main ------------------------------------------------------------------------------------ */

static bool setup(const char *path, const store_schema *schema)
{
    worker w = {0};
    if (!(db = open_at(&w, schema, path, STORE_OPEN_NOSYNC)))
        return tap_ok(false, "open: %s", w.first_error);
    Account = store_model_find(db, "Account");
    Item = store_model_find(db, "Item");
    balance_fld = store_field_find(Account, "balance");
    owner_fld = store_field_find(Item, "owner");
    int rc = 0;
    for (int i = 0; i < NACC && !rc; i++) {
        char name[16];
        snprintf(name, sizeof name, "acc%d", i);
        rc = store_create(db, Account, (store_value[]){STORE_V_STR("name", name),
                                                      STORE_V_INT("balance", money(START)), {0}},
                          &accounts[i]);
    }
    for (int i = 0; i < NITEMS && !rc; i++)
        rc = store_create(db, Item, (store_value[]){STORE_V_REF("owner", accounts[i % NACC]),
                                                   STORE_V_INT("tag", money(1 + i)), {0}},
                          NULL);
    store_value marks[] = {STORE_V_LIST("tag__in", (store_value[]){
                               STORE_V_INT(NULL, money(DOOMED_TAG)),
                               STORE_V_INT(NULL, money(QUIT_TAG)), {0}}),
                           {0}};
    if (!rc)
        rc = store_query_new(db, Account, &all_accounts) || store_query_new(db, Item, &all_items) ||
             store_query_new(db, Item, &marked_items) || store_query_filter(marked_items, marks);
    return tap_ok(!rc && store_id(accounts[NACC - 1]) == NACC, "%d accounts and %d items",
                  NACC, NITEMS);
}

/* One line per thread: its rounds, what it counted, its first violation. */
static void report(const worker *ws, int n, const worker *async_w, const worker *backup_w)
{
    static const char *const roles[] = {"writer", "locked reader", "lock-free reader", "quits"};
    for (int t = 0; t < n + 2; t++) {
        const worker *w = t < n ? &ws[t] : t == n ? async_w : backup_w;
        int role = t < WRITERS ? 0 : t < WRITERS + LOCKED ? 1 : t < n - 1 ? 2 : 3;
        const char *name = t < n ? roles[role] : t == n ? "async loop" : "backups";
        char what[128] = "";
        if (t < n && role == 0)
            snprintf(what, sizeof what, ": %ld commits, %ld rollbacks, savepoints %ld kept "
                     "and %ld undone", w->commits, w->rollbacks, w->kept, w->undone);
        else if (t == n)
            snprintf(what, sizeof what, ": a get saw acc0 deleted by an open level %ld times",
                     w->seen[SEEN_GONE]);
        else if (t < n && role == 2)
            snprintf(what, sizeof what, ": saw an account gone %ld, a sum midway %ld, a mark "
                     "%ld times", w->seen[SEEN_GONE], w->seen[SEEN_MIDWAY], w->seen[SEEN_MARK]);
        tap_ok(!w->errors, "%s %d: %ld rounds%s; %d violations%s%s", name, t, w->rounds,
               what, w->errors, w->errors ? ", first: " : "", w->first_error);
    }
}

/* Runs every thread for SECONDS, then reports what each saw. */
static void run(double seconds, uint64_t seed, const store_schema *schema, const char *dir)
{
    enum { NW = WRITERS + LOCKED + PEEKERS + 1 };
    void *(*mains[NW])(void *);
    static worker workers[NW];
    pthread_t tids[NW], async_tid, backup_tid, watch_tid;
    for (int t = 0; t < NW; t++) {
        mains[t] = t < WRITERS            ? writer_main
                   : t < WRITERS + LOCKED ? locked_main
                   : t < NW - 1           ? peeker_main
                                          : quit_main;
        workers[t] = (worker){.index = t, .seed = (seed + (uint64_t)t * 7919) | 1,
                              .min_rounds = mains[t] == quit_main ? 8 : MIN_TXNS};
    }
    static async_side side;
    side.w = (worker){.index = NW, .seed = seed ^ 0xa5a5a5a5u, .min_rounds = MIN_TXNS};
    uv_loop_init(&side.loop);
    backup_side bside = {.w = {.index = NW + 1, .min_rounds = 4}, schema, dir};
    pthread_create(&watch_tid, NULL, watch_main, NULL);
    for (int t = 0; t < NW; t++)
        pthread_create(&tids[t], NULL, mains[t], &workers[t]);
    pthread_create(&async_tid, NULL, async_main, &side);
    pthread_create(&backup_tid, NULL, backup_main, &bside);
    nanosleep(&(struct timespec){.tv_sec = (time_t)seconds,
                                 .tv_nsec = (long)((seconds - (time_t)seconds) * 1e9)},
              NULL);
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    for (int t = 0; t < NW; t++)
        pthread_join(tids[t], NULL);
    pthread_join(async_tid, NULL);
    pthread_join(backup_tid, NULL);
    __atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
    pthread_join(watch_tid, NULL);
    uv_loop_close(&side.loop);
    report(workers, NW, &side.w, &bside.w);
}

/* The store once every thread is gone: by locked and lock-free reads, the same invariants. */
static void check_end(worker *w)
{
    int rc = store_check(db);
    tap_ok(rc == STORE_OK, "store_check: %s", rc ? store_errmsg(db) : "ok");
    check_locked(w, "at the end");
    int64_t units = 0;
    for (int i = 0; i < NACC; i++) {
        store_obj *o = NULL;
        if (store_get(db, Account, (uint64_t)i + 1, &o) || o != accounts[i])
            fail(w, "at the end: acc%d is not at its address", i);
        units += units_at(i);
    }
    if (units != TOTAL)
        fail(w, "at the end: the balances hold %" PRId64 " units, not %d", units, TOTAL);
    tap_ok(!w->errors, "at the end, every read sees %d units in %d accounts and %d items%s%s",
           TOTAL, NACC, NITEMS, w->errors ? ": " : "", w->first_error);
}

/* ARG if given, else the environment's NAME, else NULL. */
static const char *arg_or_env(int argc, char **argv, int i, const char *name)
{
    const char *v = argc > i ? argv[i] : getenv(name);
    return v && *v ? v : NULL;
}

int main(int argc, char **argv)
{
    const char *secs = arg_or_env(argc, argv, 1, "RELSTORE_TXN_SECONDS"),
               *seed_text = arg_or_env(argc, argv, 2, "RELSTORE_SEED");
    double seconds = secs ? atof(secs) : 2;
    uint64_t seed = seed_text ? strtoull(seed_text, NULL, 0) : 0;
    if (!seed)
        seed = (uint64_t)getpid() * 2654435761u;
    printf("# txn_threads: %.1f s, seed %" PRIu64 " (replay: txn_threads %.1f %" PRIu64 ")\n",
           seconds, seed, seconds, seed);
    char dir[] = "/tmp/relstore-txn-XXXXXX", path[64], lock[80];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/txn.db", dir);
    snprintf(lock, sizeof lock, "%s-lock", path);
    store_schema *schema = make_schema();
    if (!schema || !setup(path, schema))
        return tap_done();
    run(seconds, seed, schema, dir);
    worker end = {0};
    check_end(&end);
    store_query_free(all_accounts);
    store_query_free(all_items);
    store_query_free(marked_items);
    tap_ok(store_close(db) == STORE_OK, "close (with its snapshot)");
    worker again = {0};
    store *d = open_at(&again, schema, path, STORE_OPEN_READONLY);
    if (d) {
        check_copy(&again, d, "reopened");
        store_close(d);
    }
    tap_ok(d && !again.errors, "reopened, the file holds the invariants%s%s",
           again.errors ? ": " : "", again.first_error);
    store_schema_free(schema);
    unlink(path);
    unlink(lock);
    rmdir(dir);
    return tap_done();
}
