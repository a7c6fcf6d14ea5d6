/*
 * tests/test_failalloc_txn_calls.c - R7 for the calls made inside a transaction and for the
 * atomic helpers outside one, with each allocation failed in turn.
 *
 * As in tests/test_failalloc.c, a call is run again and again with the n-th allocation
 * failing (n = 0, 1, 2, ...), then in its own test with every allocation from the n-th on
 * failing ("for good"), until it gets through. Each failure must be STORE_ENOMEM and leave
 * the store byte-identical by its canonical dump (which holds every model's next id, so no
 * id was used) with store_check() clean, and:
 *
 *   - inside a transaction (a create, an update with long strings, a delete with a cascade
 *     and a SET_NULL, an update by query, store_create_many(), store_atomic() as a
 *     savepoint): the transaction still open, as the innermost level. Once the call gets
 *     through, the transaction ends with every allocation failing, by a commit (which keeps
 *     what was made inside) or by a rollback (which gives back the store from before the
 *     begin), in a test each;
 *   - outside one (store_atomic(), store_get_or_create() and store_update_or_create() both
 *     finding and creating, store_create_many()): no transaction left behind, the lock free
 *     for another thread's write; on a file, a failed store_create_many() leaves no object
 *     marked for the next snapshot.
 *
 * store_begin(), store_commit() and store_rollback() themselves are in
 * tests/test_failalloc_txn.c, whose fixture and state checks these mirror. The ASan build's
 * LeakSanitizer checks that no failure leaks.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/lock.h"
#include "store/model.h"
#include "store/txn.h"
#include "tests/helpers.h"

/* How many failures a call may take before it must have got through. */
enum { MAX_FAILURES = 100000 };

/* Authors Ann, Bob and a second Ann (cy); Ann writes forty books with two reviews each
 * besides the Hobbit and the Silmarillion, and edits Bob's Zebra (on loan), so that her
 * delete cascades through 42 books and 83 reviews and sets Zebra's editor null. */
static store_obj *ann, *bob, *cy, *hobbit, *silm, *zebra, *made;

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
    made = NULL;
}

TestSuite(failalloc_txn_calls, .init = data_setup, .fini = library_teardown);

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

/* Each model's next id, to compare. */
typedef struct next_ids {
    uint64_t id[4];
} next_ids;

static next_ids next_ids_now(void)
{
    return (next_ids){{store_model_next_id(Author), store_model_next_id(Book),
                       store_model_next_id(Review), store_model_next_id(Loan)}};
}

static void same_next_ids(const next_ids *before, long n)
{
    next_ids now = next_ids_now();
    for (int i = 0; i < 4; i++)
        cr_assert_eq(now.id[i], before->id[i],
                     "allocation %ld: model %d's next id went from %llu to %llu", n, i,
                     (unsigned long long)before->id[i], (unsigned long long)now.id[i]);
}

/* ---- The runner ------------------------------------------------------------------------------ */

typedef struct scenario {
    void (*inside)(void); /* in a transaction: the changes made before the call, or NULL */
    int (*call)(void);    /* the call under test */
    void (*verify)(void); /* checks the result once the call got through */
} scenario;

/* Runs SC's call until it gets through, checking each failure: T is the transaction it is
 * made in, or NULL. */
static void fail_until_through(const scenario *sc, bool for_good, const char *inside, store_txn *t)
{
    next_ids ids = next_ids_now();
    long n = 0;
    for (;; n++) {
        arm(n, for_good);
        int rc = sc->call();
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            /* Got through with an allocation failed: the points after it went untried. */
            cr_assert_not(hit, "allocation %ld failed, yet the call succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(db));
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        cr_assert(same_store(db, inside), "allocation %ld: the failed call changed the store", n);
        same_next_ids(&ids, n);
        check_invariants(db);
        if (t)
            still_open(t, t);
        else
            no_transaction_open();
        cr_assert_lt(n, MAX_FAILURES, "the call never gets through");
    }
    /* A call that allocates nothing would make this test prove nothing. */
    cr_assert_gt(n, 0, "the call made no allocation that could fail");
    cr_log_info("got through after %ld failures", n);
}

/* SC outside any transaction. */
static void run_outside(const scenario *sc, bool for_good)
{
    const char *before = dump_store(db);
    fail_until_through(sc, for_good, before, NULL);
    sc->verify();
    check_invariants(db);
    no_transaction_open();
}

/* SC inside a write transaction, which then ends by a commit (COMMIT) or a rollback, itself
 * made with every allocation failing. */
static void run_inside(const scenario *sc, bool for_good, bool commit)
{
    const char *before = dump_store(db);
    store_txn *t = begin(0);
    if (sc->inside)
        sc->inside();
    const char *inside = dump_store(db);
    size_t room = db->capundo;
    fail_until_through(sc, for_good, inside, t);
    if (db->capundo != room)
        cr_log_info("the call grew the undo log from %zu to %zu entries", room, db->capundo);
    if (!sc->inside) /* the transaction's first change: the log's first allocation failed too */
        cr_assert(!room && db->capundo, "the call made no undo log (%zu, %zu)", room, db->capundo);
    sc->verify();
    check_invariants(db);
    const char *after = dump_store(db);
    fail_alloc_from(0);
    int rc = commit ? store_commit(t) : store_rollback(t);
    long tried = fail_alloc_count();
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s with every allocation failing: %s (%s)",
                 commit ? "store_commit" : "store_rollback", store_strerror(rc), store_errmsg(db));
    cr_assert_eq(tried, 0, "%s tried %ld allocations", commit ? "store_commit" : "store_rollback",
                 tried);
    cr_assert(same_store(db, commit ? after : before), "the %s left another store",
              commit ? "commit" : "rollback");
    check_invariants(db);
    no_transaction_open();
}

/* Declares the tests of scenario NAME: failures one at a time, then for good, each ended
 * (inside a transaction) by a commit and by a rollback. */
#define INSIDE(name, ...)                                                                          \
    static const scenario name = {__VA_ARGS__};                                                    \
    Test(failalloc_txn_calls, name##_at_each_allocation_then_commits)                              \
    {                                                                                              \
        run_inside(&name, false, true);                                                            \
    }                                                                                              \
    Test(failalloc_txn_calls, name##_at_each_allocation_then_rolls_back)                           \
    {                                                                                              \
        run_inside(&name, false, false);                                                           \
    }                                                                                              \
    Test(failalloc_txn_calls, name##_when_allocations_fail_for_good_then_commits)                  \
    {                                                                                              \
        run_inside(&name, true, true);                                                             \
    }                                                                                              \
    Test(failalloc_txn_calls, name##_when_allocations_fail_for_good_then_rolls_back)               \
    {                                                                                              \
        run_inside(&name, true, false);                                                            \
    }

#define OUTSIDE(name, ...)                                                                         \
    static const scenario name = {__VA_ARGS__};                                                    \
    Test(failalloc_txn_calls, name##_at_each_allocation)                                           \
    {                                                                                              \
        run_outside(&name, false);                                                                 \
    }                                                                                              \
    Test(failalloc_txn_calls, name##_when_allocations_fail_for_good)                               \
    {                                                                                              \
        run_outside(&name, true);                                                                  \
    }

static store_obj *find_by(store_model *m, const char *field, const char *value)
{
    store_obj *o = NULL;
    int rc = store_get_by(db, m, field, &(store_value)STORE_V_STR("", value), &o);
    cr_assert(rc == STORE_OK || rc == STORE_ENOTFOUND, "%s", store_errmsg(db));
    return o;
}

static size_t rel_count(const store_obj *o, const char *related_name)
{
    store_iter it = store_reverse(o, related_name);
    return store_count(&it);
}

static size_t count_where(store_model *m, const store_value *terms)
{
    store_query *q;
    size_t n = 0;
    cr_assert_eq(store_query_new(db, m, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, terms), STORE_OK);
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    store_query_free(q);
    return n;
}

/* ---- Inside a transaction -------------------------------------------------------------------- */

static store_obj *dan;
static uint64_t expected_id;

/* A change made inside the transaction before the call: a new author, Dan. */
static void add_dan(void)
{
    dan = make_author("Dan");
    expected_id = store_model_next_id(Book);
}

/* The first change of the transaction: its undo log is made, and can fail, in the call. */
static int create_book(void)
{
    store_value v[] = {STORE_V_STR("title", "A book of cy's with a title past the inline room"),
                       STORE_V_REF("author", cy),
                       STORE_V_REF("editor", bob),
                       STORE_V_STR("isbn", "9780441013593"),
                       STORE_V_INT("pages", 12),
                       {0}};
    expected_id = store_model_next_id(Book);
    return store_create(db, Book, v, &made);
}

static void created_book_is_right(void)
{
    cr_assert_eq(store_id(made), expected_id, "failed creates used ids");
    cr_assert_str_eq(store_str(made, "title"), "A book of cy's with a title past the inline room");
    cr_assert_eq(store_ref(made, "author"), cy);
    cr_assert_eq(find_by(Book, "isbn", "9780441013593"), made);
    cr_assert_eq(rel_count(cy, "books"), 1);
    cr_assert_eq(rel_count(bob, "edited"), 1);
}

INSIDE(creating_a_book_as_a_transactions_first_change, .call = create_book,
       .verify = created_book_is_right)

/* A change inside before the call: cy's age, a word of an object. */
static void age_cy(void)
{
    cr_assert_eq(store_update(db, cy, (store_value[]){STORE_V_INT("age", 3), {0}}), STORE_OK);
}

static int update_hobbit(void)
{
    store_value v[] = {STORE_V_STR("title", "There and Back Again, a hobbit's holiday, retold"),
                       STORE_V_REF("author", bob),
                       STORE_V_REF("editor", cy),
                       STORE_V_STR("isbn", "2222222222222"),
                       STORE_V_INT("pages", 310),
                       {0}};
    return store_update(db, hobbit, v); /* the transaction's first change, as the create's */
}

static void updated_hobbit_is_right(void)
{
    cr_assert_str_eq(store_str(hobbit, "title"),
                     "There and Back Again, a hobbit's holiday, retold");
    cr_assert_eq(store_ref(hobbit, "author"), bob);
    cr_assert_eq(store_ref(hobbit, "editor"), cy);
    cr_assert_str_eq(child_ids(bob, "books"), "3,1");
    cr_assert_eq(find_by(Book, "isbn", "2222222222222"), hobbit);
    cr_assert_eq(store_int(hobbit, "pages"), 310);
}

INSIDE(updating_a_book_with_long_strings_as_a_transactions_first_change, .call = update_hobbit,
       .verify = updated_hobbit_is_right)

/* Inside before the delete: a book of Ann's made in the transaction, so that the cascade
 * also takes an object that did not exist at the begin. */
static void book_for_ann(void)
{
    make_review(make_book("Written inside the transaction, long title", ann), "inside");
}

static int delete_ann(void)
{
    return store_delete(db, ann);
}

static void ann_is_gone(void)
{
    cr_assert_eq(store_model_count(Author), 2);
    cr_assert_eq(store_model_count(Book), 1, "the cascade left books");
    cr_assert_eq(store_model_count(Review), 0, "the cascade left reviews");
    cr_assert_eq(store_model_count(Loan), 1);
    cr_assert_null(store_ref(zebra, "editor"), "Zebra's editor was not set null");
    cr_assert_eq(store_id(ann), 0);
}

INSIDE(deleting_with_a_cascade_and_set_null_inside_a_transaction, .inside = book_for_ann,
       .call = delete_ann, .verify = ann_is_gone)

static int retitle_anns_books(void)
{
    store_query *q;
    int rc = store_query_new(db, Book, &q);
    if (rc)
        return rc;
    size_t n = 0;
    rc =
        store_query_filter(q, (store_value[]){STORE_V_STR("title__startswith", "Ann's book"), {0}});
    if (!rc)
        rc = store_query_update(q, NULL,
                                (store_value[]){STORE_V_STR("title", "A new title, long enough "
                                                                     "for its own allocation"),
                                                STORE_V_INT("pages", 7),
                                                STORE_V_REF("editor", cy),
                                                {0}},
                                &n);
    store_query_free(q);
    if (!rc)
        cr_assert_eq(n, 40);
    return rc;
}

static void anns_books_retitled(void)
{
    cr_assert_eq(count_where(Book, (store_value[]){STORE_V_INT("pages", 7), {0}}), 40);
    cr_assert_eq(count_where(Book, (store_value[]){STORE_V_STR("title__startswith", "A new"), {0}}),
                 40);
    cr_assert_eq(rel_count(cy, "edited"), 40);
}

INSIDE(updating_by_query_inside_a_transaction, .inside = age_cy, .call = retitle_anns_books,
       .verify = anns_books_retitled)

static const store_value *const *book_rows(void)
{
    static store_value r0[] = {STORE_V_STR("title", "The first of many, with a long title"),
                               STORE_V_REF("author", NULL),
                               STORE_V_STR("isbn", "3333333333333"),
                               {0}};
    static store_value r1[] = {STORE_V_STR("title", "The second of many"),
                               STORE_V_REF("author", NULL),
                               STORE_V_REF("editor", NULL),
                               {0}};
    static store_value r2[] = {STORE_V_STR("title", "The third, long enough to be copied"),
                               STORE_V_REF("author", NULL),
                               STORE_V_INT("pages", 99),
                               {0}};
    static const store_value *rows[] = {r0, r1, r2};
    r0[1].u.ref = bob;
    r1[1].u.ref = ann;
    r1[2].u.ref = cy;
    r2[1].u.ref = dan ? dan : bob;
    return rows;
}

static store_obj *many[3];

/* store_create_many() of the 3 ROWS into M, into MANY; its first id must be EXPECTED_ID. */
static int create_three(store_model *m, const store_value *const *rows)
{
    uint64_t first = 0;
    int rc = store_create_many(db, m, rows, 3, many, &first);
    if (!rc)
        cr_assert_eq(first, expected_id);
    return rc;
}

/* The 3 objects of MANY have the ids from EXPECTED_ID on: failed batches used none. */
static void three_have_their_ids(void)
{
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_id(many[i]), expected_id + (uint64_t)i, "failed rows used ids");
}

static int create_three_books(void)
{
    return create_three(Book, book_rows());
}

static void three_books_are_right(void)
{
    three_have_their_ids();
    cr_assert_eq(find_by(Book, "isbn", "3333333333333"), many[0]);
    cr_assert_eq(store_ref(many[1], "editor"), cy);
    cr_assert_str_eq(store_str(many[2], "title"), "The third, long enough to be copied");
    cr_assert_eq(store_model_next_id(Book), expected_id + 3);
}

/* Inside a transaction the batch opens a level of its own first: its first allocations are
 * that level's, and their failure must leave the transaction as it was, like any other. */
INSIDE(creating_many_inside_a_transaction, .inside = add_dan, .call = create_three_books,
       .verify = three_books_are_right)

/* What an atomic function does: a create, an update with a long string, a cascade. */
static int atomic_changes(store *d, void *arg)
{
    (void)arg;
    int rc = store_create(d, Author,
                          (store_value[]){STORE_V_STR("name", "Made atomically, with a long name"),
                                          STORE_V_STR("email", "atomic@example.org"),
                                          {0}},
                          &made);
    if (!rc)
        rc = store_update(d, hobbit,
                          (store_value[]){STORE_V_STR("title", "Retitled atomically, and long"),
                                          STORE_V_REF("author", made),
                                          {0}});
    if (!rc)
        rc = store_delete(d, silm);
    return rc;
}

static int run_atomic(void)
{
    expected_id = store_model_next_id(Author);
    return store_atomic(db, atomic_changes, NULL);
}

static void atomic_changes_are_right(void)
{
    cr_assert_eq(store_id(made), expected_id, "failed creates used ids");
    cr_assert_eq(find_by(Author, "email", "atomic@example.org"), made);
    cr_assert_str_eq(store_str(hobbit, "title"), "Retitled atomically, and long");
    cr_assert_str_eq(child_ids(made, "books"), "1");
    cr_assert_eq(store_id(silm), 0, "the Silmarillion was not deleted");
    cr_assert_str_eq(child_ids(hobbit, "reviews"), "1,2");
}

INSIDE(running_store_atomic_as_a_savepoint, .inside = age_cy, .call = run_atomic,
       .verify = atomic_changes_are_right)

/* ---- Outside a transaction ------------------------------------------------------------------- */

OUTSIDE(running_store_atomic, .call = run_atomic, .verify = atomic_changes_are_right)

static bool created;

static int get_or_create_eve(void)
{
    expected_id = store_model_next_id(Author);
    return store_get_or_create(
        db, Author,
        (store_value[]){STORE_V_STR("name", "Eve, a name past the inline room"),
                        STORE_V_STR("email", "eve@example.org"),
                        {0}},
        (store_value[]){STORE_V_INT("age", 30), {0}}, &made, &created);
}

static void eve_was_created(void)
{
    cr_assert(created);
    cr_assert_eq(store_id(made), expected_id, "failed creates used ids");
    cr_assert_eq(store_int(made, "age"), 30);
    cr_assert_eq(find_by(Author, "email", "eve@example.org"), made);
}

OUTSIDE(get_or_create_creating, .call = get_or_create_eve, .verify = eve_was_created)

static int get_or_create_bob(void)
{
    return store_get_or_create(db, Author, (store_value[]){STORE_V_STR("name", "Bob"), {0}},
                               (store_value[]){STORE_V_INT("age", 30), {0}}, &made, &created);
}

static void bob_was_found(void)
{
    cr_assert_not(created);
    cr_assert_eq(made, bob);
    cr_assert(store_is_null(bob, "age"), "get_or_create updated what it found");
}

OUTSIDE(get_or_create_finding, .call = get_or_create_bob, .verify = bob_was_found)

static int update_or_create_bob(void)
{
    return store_update_or_create(
        db, Author, (store_value[]){STORE_V_STR("name", "Bob"), {0}},
        (store_value[]){STORE_V_STR("name", "Robert, called Bob by his friends"),
                        STORE_V_STR("email", "bob.the.writer@example.org"),
                        STORE_V_INT("age", 50),
                        {0}},
        &made, &created);
}

static void bob_was_updated(void)
{
    cr_assert_not(created);
    cr_assert_eq(made, bob);
    cr_assert_str_eq(store_str(bob, "name"), "Robert, called Bob by his friends");
    cr_assert_eq(find_by(Author, "email", "bob.the.writer@example.org"), bob);
    cr_assert_null(find_by(Author, "name", "Bob"));
    cr_assert_eq(store_int(bob, "age"), 50);
}

OUTSIDE(update_or_create_updating, .call = update_or_create_bob, .verify = bob_was_updated)

static int update_or_create_fay(void)
{
    expected_id = store_model_next_id(Author);
    return store_update_or_create(
        db, Author, (store_value[]){STORE_V_STR("name", "Fay"), {0}},
        (store_value[]){STORE_V_STR("email", "fay@example.org"), STORE_V_INT("age", 33), {0}},
        &made, &created);
}

static void fay_was_created(void)
{
    cr_assert(created);
    cr_assert_eq(store_id(made), expected_id, "failed creates used ids");
    cr_assert_eq(find_by(Author, "name", "Fay"), made);
    cr_assert_eq(store_int(made, "age"), 33);
}

OUTSIDE(update_or_create_creating, .call = update_or_create_fay, .verify = fay_was_created)

/* Outside a transaction: three reviews of the hobbit, the last with a body longer than a page
 * of strings holds (store/strings.h), so an allocation of its own: the batch allocates even
 * when the model's page in use has room for the others. */
static char long_body[1200];

static int create_three_reviews_outside(void)
{
    if (!long_body[0])
        memset(long_body, 'r', sizeof long_body - 1);
    store_model *Review = store_model_find(db, "Review");
    store_value r0[] = {STORE_V_REF("book", hobbit), STORE_V_STR("body", "Short"), {0}};
    store_value r1[] = {STORE_V_REF("book", hobbit),
                        STORE_V_STR("body", "Longer than a slot keeps inside it"), {0}};
    store_value r2[] = {STORE_V_REF("book", hobbit), STORE_V_STR("body", long_body), {0}};
    const store_value *rows[] = {r0, r1, r2};
    expected_id = store_model_next_id(Review);
    return create_three(Review, rows);
}

static void three_reviews_are_right(void)
{
    three_have_their_ids();
    cr_assert_str_eq(store_str(many[1], "body"), "Longer than a slot keeps inside it");
    cr_assert_str_eq(store_str(many[2], "body"), long_body);
    cr_assert_eq(store_model_next_id(store_model_find(db, "Review")), expected_id + 3);
}

OUTSIDE(creating_many, .call = create_three_reviews_outside, .verify = three_reviews_are_right)

/* ---- On a file ------------------------------------------------------------------------------ */

TestSuite(failalloc_txn_calls_file, .init = library_files_setup, .fini = library_files_teardown);

/* Outside a transaction a failed batch takes its rows out again without an undo log: on a
 * file, the snapshot marks of the rows made before the failing one must go with them. */
Test(failalloc_txn_calls_file, a_failed_create_many_leaves_no_snapshot_marks)
{
    store *s;
    cr_assert_eq(store_open(&s, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(s, "Author"), *B = store_model_find(s, "Book");
    store_obj *a;
    cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, &a),
                 STORE_OK);
    cr_assert_eq(store_snapshot(s), STORE_OK, "%s", store_errmsg(s));
    const store_value *rows[] = {
        (store_value[]){STORE_V_STR("title", "The first of many, with a long title"),
                        STORE_V_REF("author", a),
                        STORE_V_STR("isbn", "3333333333333"),
                        {0}},
        (store_value[]){STORE_V_STR("title", "The second of many, long as well"),
                        STORE_V_REF("author", a),
                        {0}},
        (store_value[]){STORE_V_STR("title", "The third, long enough to be copied"),
                        STORE_V_REF("author", a),
                        STORE_V_REF("editor", a),
                        {0}},
    };
    const char *before = dump_store(s);
    long n = 0;
    for (;; n++) {
        fail_alloc_at(n);
        int rc = store_create_many(s, B, rows, 3, NULL, NULL);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not(hit, "allocation %ld failed, yet the call succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(s));
        cr_assert(same_store(s, before), "allocation %ld: the failed call changed the store", n);
        store_stats st;
        cr_assert_eq(store_stat(s, &st), STORE_OK);
        cr_assert_eq(st.dirty + st.deleted, 0, "allocation %ld: %zu objects left marked", n,
                     st.dirty + st.deleted);
        check_invariants(s);
        cr_assert_lt(n, MAX_FAILURES);
    }
    cr_assert_gt(n, 1, "no row but the first could fail");
    cr_log_info("create_many on a file got through after %ld failures", n);
    const char *after = dump_store(s);
    cr_assert_eq(store_close(s), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_open(&s, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert(same_store(s, after));
    check_invariants(s);
    store_close(s);
}
