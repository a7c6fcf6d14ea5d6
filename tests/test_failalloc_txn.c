/*
 * tests/test_failalloc_txn.c - R7 for a transaction's own calls: store_begin() with each
 * allocation failed in turn, store_commit() and store_rollback() with every allocation
 * failing, and the snapshot of an outermost commit under STORE_DURABLE_EACH_WRITE failed
 * for memory.
 *
 * A store_begin() that fails (write or read-only, outermost or savepoint) must return
 * STORE_ENOMEM, set *OUT NULL and leave no transaction open, nor a level inside the one
 * that was: the lock is free for another thread's write, and the store closes. A commit or
 * a rollback must not need memory at all: each is made with every allocation failing, must
 * succeed, try no allocation, and leave the documented state, on a file its snapshot marks
 * included. The one exception is the snapshot an outermost commit takes under
 * STORE_DURABLE_EACH_WRITE: when it fails for memory, the commit returns STORE_ENOMEM, the
 * transaction is over, its changes stay in memory and pending, and the next store_snapshot()
 * writes them.
 *
 * The calls made inside a transaction and the atomic helpers are in
 * tests/test_failalloc_txn_calls.c, whose fixture and state checks these mirror. The ASan
 * build's LeakSanitizer checks that no failure leaks.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/check.h"
#include "store/lock.h"
#include "store/model.h"
#include "store/txn.h"
#include "tests/helpers.h"

/* How many failures a call may take before it must have got through. */
enum { MAX_FAILURES = 100000 };

/* Authors Ann, Bob and a second Ann (cy); Ann writes forty books with two reviews each
 * besides the Hobbit (id 1) and the Silmarillion (id 2), and edits Bob's Zebra (on loan), so
 * that her delete cascades through dozens of objects and sets Zebra's editor null. */
static store_obj *ann, *bob, *cy, *hobbit, *silm, *zebra;

static void data_setup(void)
{
    library_setup();
    ann = make_author("Ann");
    bob = make_author("Bob");
    cy = make_author("Ann");
    hobbit = make_book("The Hobbit, or There and Back Again", ann);
    silm = make_book("Silmarillion", ann);
    zebra = make_book("Zebra", bob);
    cr_assert_eq(
        store_update(db, zebra,
                     (store_value[]){STORE_V_REF("editor", ann), STORE_V_STR("isbn", "111"), {0}}),
        STORE_OK);
    make_review(hobbit, "a long review, longer than the slot keeps inside itself");
    make_review(hobbit, "short");
    make_review(silm, "dense");
    make_loan(zebra, "Dan");
    char title[64];
    for (int i = 0; i < 40; i++) {
        snprintf(title, sizeof title, "Ann's book number %d, past the inline room", i);
        store_obj *b = make_book(title, ann);
        make_review(b, "a review of one of Ann's many books, long");
        make_review(b, "r");
    }
}

TestSuite(failalloc_txn, .init = data_setup, .fini = library_teardown);

static store_txn *begin(unsigned flags)
{
    store_txn *t = NULL;
    int rc = store_begin(db, flags, &t);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    cr_assert_not_null(t);
    return t;
}

/* Arms the failure of allocation N: it alone, or it and every one after it. */
static void arm(long n, bool for_good)
{
    if (for_good)
        fail_alloc_from(n);
    else
        fail_alloc_at(n);
}

/* ---- The state a call leaves ----------------------------------------------------------------- */

typedef struct other_write {
    int rc;
    bool done;
} other_write;

/* Another thread's write transaction: it gets the lock only if nobody holds it. */
static void *write_elsewhere(void *arg)
{
    other_write *w = arg;
    store_txn *t;
    int rc = store_begin(db, 0, &t);
    if (!rc) {
        rc = store_create(db, Author, (store_value[]){STORE_V_STR("name", "Other"), {0}}, NULL);
        int end = store_rollback(t);
        rc = rc ? rc : end;
    }
    w->rc = rc;
    __atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* The lock of db is free: another thread's write gets in (within ten seconds). */
static void lock_is_free(void)
{
    other_write w = {0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_elsewhere, &w), 0);
    for (int ms = 0; ms < 10000 && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE); ms++)
        usleep(1000);
    cr_assert(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
              "another thread's write still waits: the lock was kept");
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, STORE_OK, "another thread's write: %s", store_strerror(w.rc));
}

/* No transaction of the calling thread is open on db, of either kind, and its lock is free. */
static void no_transaction_open(void)
{
    cr_assert_null(db->txn, "a write transaction is left open");
    cr_assert_null(rs_txn_mine(db), "the thread still holds a transaction");
    cr_assert_not(rs_lock_held(&db->lock), "the thread still holds the lock");
    cr_assert_eq(__atomic_load_n(&db->txn_readers, __ATOMIC_ACQUIRE), 0,
                 "a read-only transaction is still counted");
    cr_assert_eq(store_snapshot(db), STORE_OK, "%s", store_errmsg(db)); /* EBUSY in one */
    lock_is_free();
}

/* T is open and the innermost level of the calling thread's write transaction OUTER. */
static void still_open(store_txn *t, store_txn *outer)
{
    cr_assert_eq(db->txn, t, "the innermost write level changed");
    cr_assert_null(t->inner, "a level was left open inside");
    cr_assert_eq(rs_txn_mine(db), outer, "the thread's transaction changed");
    cr_assert(rs_lock_held_write(&db->lock), "the write lock was given back");
    cr_assert_eq(store_snapshot(db), STORE_EBUSY, "no transaction open");
}

/* ---- store_begin() ------------------------------------------------------------------------- */

/* The n-th allocation of an outermost store_begin(FLAGS) failed, each in turn; then the
 * transaction got works and ends with every allocation failing, and the store closes. */
static void begin_outermost(unsigned flags, bool for_good)
{
    const char *before = dump_store(db);
    store_txn *t = NULL;
    long n = 0;
    for (;; n++) {
        t = (store_txn *)&t; /* store_begin() must set it NULL on failure */
        arm(n, for_good);
        int rc = store_begin(db, flags, &t);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not(hit, "allocation %ld failed, yet store_begin() succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(db));
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        cr_assert_null(t, "allocation %ld: *OUT not NULL after a failure", n);
        no_transaction_open();
        cr_assert(same_store(db, before));
        cr_assert_lt(n, MAX_FAILURES);
    }
    cr_assert_gt(n, 0, "store_begin() made no allocation that could fail");
    cr_log_info("store_begin(%s) got through after %ld failures",
                flags ? "STORE_TXN_READONLY" : "0", n);
    cr_assert_eq(rs_txn_mine(db), t);
    if (flags == STORE_TXN_READONLY) {
        cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", "X"), {0}}, NULL),
                     STORE_EINVAL, "a change inside a read-only transaction");
    } else {
        make_author("Inside");
        cr_assert_eq(db->txn, t);
    }
    fail_alloc_from(0);
    int rc = flags ? store_commit(t) : store_rollback(t);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    cr_assert(same_store(db, before));
    no_transaction_open();
    cr_assert_eq(store_close(db), STORE_OK, "%s", store_errmsg(db));
    db = NULL;
}

Test(failalloc_txn, beginning_a_write_transaction_at_each_allocation)
{
    begin_outermost(0, false);
}

Test(failalloc_txn, beginning_a_write_transaction_when_allocations_fail_for_good)
{
    begin_outermost(0, true);
}

Test(failalloc_txn, beginning_a_read_only_transaction_at_each_allocation)
{
    begin_outermost(STORE_TXN_READONLY, false);
}

Test(failalloc_txn, beginning_a_read_only_transaction_when_allocations_fail_for_good)
{
    begin_outermost(STORE_TXN_READONLY, true);
}

/* The n-th allocation of a savepoint's store_begin(FLAGS) failed, each in turn, inside an
 * outer level of the same kind: the outer level stays the innermost, open and whole. */
static void begin_savepoint(unsigned flags, bool for_good)
{
    const char *before = dump_store(db);
    store_txn *outer = begin(flags);
    if (!flags)
        make_author("Outer");
    const char *inside = dump_store(db);
    store_txn *t = NULL;
    long n = 0;
    for (;; n++) {
        t = (store_txn *)&t;
        arm(n, for_good);
        int rc = store_begin(db, flags, &t);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not(hit, "allocation %ld failed, yet store_begin() succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(db));
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        cr_assert_null(t, "allocation %ld: *OUT not NULL after a failure", n);
        cr_assert_null(outer->inner, "allocation %ld: a level was left inside", n);
        cr_assert_eq(rs_txn_mine(db), outer);
        if (flags)
            cr_assert_eq(__atomic_load_n(&db->txn_readers, __ATOMIC_ACQUIRE), 1);
        else
            still_open(outer, outer);
        cr_assert(same_store(db, inside));
        cr_assert_lt(n, MAX_FAILURES);
    }
    cr_assert_gt(n, 0, "store_begin() made no allocation that could fail");
    cr_log_info("a savepoint's store_begin(%s) got through after %ld failures",
                flags ? "STORE_TXN_READONLY" : "0", n);
    cr_assert_eq(outer->inner, t);
    if (!flags) {
        make_author("Inner");
        cr_assert_eq(db->txn, t);
    }
    fail_alloc_from(0);
    int rc = store_rollback(t);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    cr_assert(same_store(db, inside));
    fail_alloc_from(0);
    rc = store_rollback(outer);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    cr_assert(same_store(db, before));
    no_transaction_open();
    cr_assert_eq(store_close(db), STORE_OK, "%s", store_errmsg(db));
    db = NULL;
}

Test(failalloc_txn, beginning_a_write_savepoint_at_each_allocation)
{
    begin_savepoint(0, false);
}

Test(failalloc_txn, beginning_a_write_savepoint_when_allocations_fail_for_good)
{
    begin_savepoint(0, true);
}

Test(failalloc_txn, beginning_a_read_only_savepoint_at_each_allocation)
{
    begin_savepoint(STORE_TXN_READONLY, false);
}

Test(failalloc_txn, beginning_a_read_only_savepoint_when_allocations_fail_for_good)
{
    begin_savepoint(STORE_TXN_READONLY, true);
}

/* ---- Commit and rollback with every allocation failing ------------------------------------- */

/* Every kind of change on store S, whose models are A, B and R: creates (one into the "Ann"
 * index group, one with children), updates (long and short strings, an FK move, an index
 * move, a unique value), deletes (a cascade, a SET_NULL). */
static void change_everything(store *s, store_model *A, store_model *B, store_model *R)
{
    store_obj *d, *b, *a1, *h, *sm;
    cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", "Dan"), {0}}, &d),
                 STORE_OK);
    cr_assert_eq(store_create(s, B,
                              (store_value[]){STORE_V_STR("title", "Dan's, a title past the "
                                                                   "inline room"),
                                              STORE_V_REF("author", d),
                                              {0}},
                              &b),
                 STORE_OK);
    cr_assert_eq(
        store_create(s, R, (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", "new"), {0}},
                     NULL),
        STORE_OK);
    cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_get(s, A, 1, &a1), STORE_OK);
    cr_assert_eq(store_get(s, B, 1, &h), STORE_OK);
    cr_assert_eq(store_get(s, B, 2, &sm), STORE_OK);
    cr_assert_eq(store_update(s, h,
                              (store_value[]){STORE_V_STR("title", "Another long title, "
                                                                   "not inline"),
                                              STORE_V_REF("author", d),
                                              STORE_V_INT("pages", 310),
                                              {0}}),
                 STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(
        store_update(
            s, sm, (store_value[]){STORE_V_STR("title", "Short"), STORE_V_STR("isbn", "222"), {0}}),
        STORE_OK);
    cr_assert_eq(store_update(s, a1,
                              (store_value[]){STORE_V_STR("name", "Anne, renamed long"),
                                              STORE_V_STR("email", "a@x"),
                                              {0}}),
                 STORE_OK);
    cr_assert_eq(store_delete(s, sm), STORE_OK); /* its review goes with it */
    cr_assert_eq(store_delete(s, a1), STORE_OK); /* her books go, Zebra's editor is nulled */
}

static void every_change(void)
{
    change_everything(db, Author, Book, Review);
}

/* Ends T by COMMIT or a rollback with every allocation failing; it must succeed. */
static void end_failing(store_txn *t, bool commit)
{
    fail_alloc_from(0);
    int rc = commit ? store_commit(t) : store_rollback(t);
    long tried = fail_alloc_count();
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s with every allocation failing: %s (%s)",
                 commit ? "store_commit" : "store_rollback", store_strerror(rc), store_errmsg(db));
    cr_assert_eq(tried, 0, "%s tried %ld allocations", commit ? "store_commit" : "store_rollback",
                 tried);
}

Test(failalloc_txn, a_commit_succeeds_with_every_allocation_failing)
{
    store_txn *t = begin(0);
    every_change();
    const char *inside = dump_store(db);
    end_failing(t, true);
    cr_assert(same_store(db, inside));
    check_invariants(db);
    no_transaction_open();
    make_author("After"); /* the store goes on working */
    check_invariants(db);
}

Test(failalloc_txn, a_rollback_succeeds_with_every_allocation_failing)
{
    const char *before = dump_store(db);
    store_txn *t = begin(0);
    every_change();
    end_failing(t, false);
    cr_assert(same_store(db, before));
    check_invariants(db);
    no_transaction_open();
    cr_assert_str_eq(store_str(hobbit, "title"), "The Hobbit, or There and Back Again");
    cr_assert_eq(store_ref(zebra, "editor"), ann);
}

Test(failalloc_txn, savepoints_end_with_every_allocation_failing)
{
    const char *before = dump_store(db);
    store_txn *outer = begin(0);
    make_author("Outer");
    store_txn *inner = begin(0);
    every_change();
    const char *after_inner = dump_store(db);
    end_failing(inner, true);
    cr_assert(same_store(db, after_inner));
    still_open(outer, outer);
    inner = begin(0);
    make_book("Rolled back", bob);
    cr_assert_eq(store_delete(db, bob), STORE_ECONSTRAINT); /* Zebra's loan restricts */
    cr_assert_eq(store_delete(db, cy), STORE_OK);
    end_failing(inner, false);
    cr_assert(same_store(db, after_inner));
    check_invariants(db);
    end_failing(outer, false);
    cr_assert(same_store(db, before));
    check_invariants(db);
    no_transaction_open();
}

Test(failalloc_txn, a_read_only_transaction_ends_with_every_allocation_failing)
{
    store_txn *outer = begin(STORE_TXN_READONLY);
    store_txn *inner = begin(STORE_TXN_READONLY);
    end_failing(inner, false);
    end_failing(outer, true);
    no_transaction_open();
}

/* ---- On a file ------------------------------------------------------------------------------ */

static store *fdb;

static void files_fini(void)
{
    fail_alloc_at(-1);
    store_close(fdb);
    fdb = NULL;
    library_files_teardown();
}

TestSuite(failalloc_txn_file, .init = library_files_setup, .fini = files_fini);

/* A store with TEST_PATH under DURABILITY, holding a few authors and books. */
static void open_file(store_durability durability)
{
    store_options o = {.flags = STORE_OPEN_NOSYNC, .durability = durability};
    cr_assert_eq(store_open(&fdb, schema, test_path, &o), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(fdb, "Author"), *B = store_model_find(fdb, "Book");
    store_obj *a, *z;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(store_create(fdb, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, &a),
                     STORE_OK);
        cr_assert_eq(store_create(fdb, B,
                                  (store_value[]){STORE_V_STR("title", "A long title of "
                                                                       "an early book"),
                                                  STORE_V_REF("author", a),
                                                  {0}},
                                  NULL),
                     STORE_OK);
    }
    cr_assert_eq(store_create(fdb, B,
                              (store_value[]){STORE_V_STR("title", "Zebra"),
                                              STORE_V_REF("author", a),
                                              STORE_V_REF("editor", a),
                                              {0}},
                              &z),
                 STORE_OK);
    cr_assert_eq(store_snapshot(fdb), STORE_OK, "%s", store_errmsg(fdb));
}

static store_stats stats_of(store *s)
{
    store_stats st;
    cr_assert_eq(store_stat(s, &st), STORE_OK, "%s", store_errmsg(s));
    return st;
}

/* The file holds what S holds: closed and opened again, S's dump NOW. */
static store *reopened_holds(store *s, const char *now)
{
    cr_assert_eq(store_close(s), STORE_OK, "%s", store_errmsg(s));
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert(same_store(d, now), "the file does not hold the store");
    check_invariants(d);
    return d;
}

/* On a file a change also marks what the next snapshot writes: a rollback made with every
 * allocation failing puts the marks back too, and a commit keeps them. */
Test(failalloc_txn_file, ends_with_every_allocation_failing_keep_the_snapshot_marks)
{
    open_file(STORE_DURABLE_MANUAL);
    store_model *A = store_model_find(fdb, "Author"), *B = store_model_find(fdb, "Book");
    store_model *R = store_model_find(fdb, "Review");
    const char *before = dump_store(fdb);
    store_stats s0 = stats_of(fdb);
    cr_assert_eq(s0.dirty + s0.deleted, 0);
    store_txn *t;
    cr_assert_eq(store_begin(fdb, 0, &t), STORE_OK);
    change_everything(fdb, A, B, R);
    fail_alloc_from(0);
    int rc = store_rollback(t);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK);
    cr_assert(same_store(fdb, before));
    store_stats s1 = stats_of(fdb);
    cr_assert_eq(s1.dirty + s1.deleted, 0, "the rollback left %zu objects marked",
                 s1.dirty + s1.deleted);
    cr_assert_eq(store_begin(fdb, 0, &t), STORE_OK);
    change_everything(fdb, A, B, R);
    const char *inside = dump_store(fdb);
    fail_alloc_from(0);
    rc = store_commit(t);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK);
    cr_assert(same_store(fdb, inside));
    s1 = stats_of(fdb);
    cr_assert_gt(s1.dirty, 0);
    cr_assert_gt(s1.deleted, 0);
    cr_assert_eq(store_snapshot(fdb), STORE_OK, "%s", store_errmsg(fdb));
    fdb = reopened_holds(fdb, inside);
}

/* Changes made by transaction number N on fdb: a create, an update, a delete. */
static void change_file(int n)
{
    store_model *A = store_model_find(fdb, "Author"), *B = store_model_find(fdb, "Book");
    char name[64];
    snprintf(name, sizeof name, "Author of transaction %d, a long name", n);
    store_obj *a, *b;
    cr_assert_eq(store_create(fdb, A, (store_value[]){STORE_V_STR("name", name), {0}}, &a),
                 STORE_OK);
    cr_assert_eq(store_get(fdb, B, 1, &b), STORE_OK);
    cr_assert_eq(
        store_update(fdb, b,
                     (store_value[]){STORE_V_STR("title", name), STORE_V_REF("author", a), {0}}),
        STORE_OK);
    if (n > 0) { /* the author of the transaction before, with nothing left of hers */
        cr_assert_eq(store_get(fdb, A, store_model_next_id(A) - 2, &a), STORE_OK);
        cr_assert_eq(store_delete(fdb, a), STORE_OK);
    }
}

/* Under STORE_DURABLE_EACH_WRITE, the outermost commit's snapshot with its n-th allocation
 * failing: STORE_ENOMEM, the transaction ended with its changes kept in memory and pending,
 * and the next store_snapshot() writes them. */
static void each_write_commit(bool for_good)
{
    open_file(STORE_DURABLE_EACH_WRITE);
    long n = 0;
    char *inside = NULL;
    for (;; n++) {
        store_txn *t;
        cr_assert_eq(store_begin(fdb, 0, &t), STORE_OK);
        change_file((int)n);
        free(inside);
        cr_assert_eq(rs_dump_store(fdb, &inside), STORE_OK);
        store_stats s0 = stats_of(fdb);
        cr_assert_gt(s0.dirty + s0.deleted, 0);
        arm(n, for_good);
        int rc = store_commit(t);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not(hit, "allocation %ld failed, yet the commit succeeded", n);
            store_stats s1 = stats_of(fdb);
            cr_assert_eq(s1.dirty + s1.deleted, 0);
            cr_assert_eq(s1.generation, s0.generation + 1);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(fdb));
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        cr_assert(same_store(fdb, inside), "allocation %ld: the commit changed the store", n);
        cr_assert_null(fdb->txn, "allocation %ld: the transaction is still open", n);
        cr_assert_null(rs_txn_mine(fdb));
        cr_assert_not(rs_lock_held(&fdb->lock));
        store_stats s1 = stats_of(fdb);
        cr_assert(s1.dirty == s0.dirty && s1.deleted == s0.deleted,
                  "allocation %ld: the changes are no longer pending (%zu+%zu, were %zu+%zu)", n,
                  s1.dirty, s1.deleted, s0.dirty, s0.deleted);
        cr_assert_eq(s1.generation, s0.generation, "allocation %ld: a snapshot was made", n);
        check_invariants(fdb);
        rc = store_snapshot(fdb);
        cr_assert_eq(rc, STORE_OK, "allocation %ld: the next snapshot: %s (%s)", n,
                     store_strerror(rc), store_errmsg(fdb));
        s1 = stats_of(fdb);
        cr_assert_eq(s1.dirty + s1.deleted, 0);
        cr_assert_eq(s1.generation, s0.generation + 1);
        cr_assert_lt(n, MAX_FAILURES, "the commit never gets through");
    }
    cr_assert_gt(n, 0, "the commit's snapshot made no allocation that could fail");
    cr_log_info("the EACH_WRITE commit got through after %ld failures", n);
    check_invariants(fdb);
    fdb = reopened_holds(fdb, inside);
    free(inside);
}

Test(failalloc_txn_file, an_each_write_commit_whose_snapshot_fails_keeps_its_changes_pending)
{
    each_write_commit(false);
}

Test(failalloc_txn_file, an_each_write_commit_failing_for_good_keeps_its_changes_pending)
{
    each_write_commit(true);
}
