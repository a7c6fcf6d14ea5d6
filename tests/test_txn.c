/*
 * tests/test_txn.c - transactions: commit, exact rollback of creates, updates and deletes
 * (cascades, SET_NULL, relations in their order, index groups, strings long and short),
 * savepoints, read-only transactions, the lock held across calls, a thread that exits with
 * a transaction open, close and snapshot refused, the atomic helpers, and EACH_WRITE on a
 * file (one snapshot for the whole transaction).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/lock.h"
#include "store/model.h"
#include "tests/helpers.h"

/* Authors Ann, Bob (both "Same" index group members too), books with reviews, a loan and an
 * editor, so that deletes cascade, set null and meet a RESTRICT. */
static store_obj *ann, *bob, *cy, *hobbit, *silm, *zebra;

static void data_setup(void)
{
    library_setup();
    ann = make_author("Ann");
    bob = make_author("Bob");
    cy = make_author("Ann"); /* a second holder of "Ann" in the name index */
    hobbit = make_book("The Hobbit, or There and Back Again", ann);
    silm = make_book("Silmarillion", ann);
    zebra = make_book("Zebra", bob);
    cr_assert_eq(store_update(db, zebra, (store_value[]){STORE_V_REF("editor", ann),
                                                         STORE_V_STR("isbn", "111"), {0}}),
                 STORE_OK);
    make_review(hobbit, "a long review, longer than the slot keeps inside itself");
    make_review(hobbit, "short");
    make_review(silm, "dense");
    make_loan(zebra, "Dan");
}

TestSuite(txn, .init = data_setup, .fini = library_teardown);

static store_txn *begin(unsigned flags)
{
    store_txn *t;
    int rc = store_begin(db, flags, &t);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    cr_assert_not_null(t);
    return t;
}

/* Every kind of change, on every kind of link: creates (one into an index group, one with
 * children), updates (a long string, a short one, an FK move, an index move, a unique
 * value), deletes (a cascade through reviews, a SET_NULL of an editor). */
static void change_everything(void)
{
    store_obj *dan = make_author("Dan");
    store_obj *b = make_book("A book of Dan's with a title past the inline room", dan);
    make_review(b, "new");
    make_author("Ann"); /* joins the "Ann" group at its tail */
    cr_assert_eq(store_update(db, hobbit,
                              (store_value[]){STORE_V_STR("title", "Another long title, not inline"),
                                              STORE_V_REF("author", bob),
                                              STORE_V_INT("pages", 310), {0}}),
                 STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(store_update(db, silm, (store_value[]){STORE_V_STR("title", "Short"),
                                                        STORE_V_STR("isbn", "222"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_update(db, ann, (store_value[]){STORE_V_STR("name", "Anne"),
                                                       STORE_V_STR("email", "a@x"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_update(db, cy, (store_value[]){STORE_V_STR("name", "Bob"), {0}}),
                 STORE_OK);
    cr_assert_eq(store_delete(db, silm), STORE_OK); /* its review goes with it */
    cr_assert_eq(store_delete(db, ann), STORE_OK);  /* zebra's editor becomes null */
    cr_assert_null(store_ref(zebra, "editor"));
}

Test(txn, a_rollback_puts_back_exactly_the_store_before_the_begin)
{
    const char *before = dump_store(db);
    uint64_t next_author = store_model_next_id(Author);
    store_txn *t = begin(0);
    change_everything();
    check_invariants(db);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(db, before));
    check_invariants(db);
    /* the pointers kept from before read their objects again */
    cr_assert_eq(store_id(ann), 1);
    cr_assert_str_eq(store_str(ann, "name"), "Ann");
    cr_assert_str_eq(store_str(hobbit, "title"), "The Hobbit, or There and Back Again");
    cr_assert_eq(store_ref(zebra, "editor"), ann);
    cr_assert_str_eq(child_ids(ann, "books"), "1,2");
    cr_assert_str_eq(child_ids(hobbit, "reviews"), "1,2");
    store_obj *found;
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR(NULL, "Ann"), &found),
                 STORE_OK);
    cr_assert_eq(found, ann);
    /* ids are handed out again */
    cr_assert_eq(store_model_next_id(Author), next_author);
    store_obj *e = make_author("Eve");
    cr_assert_eq(store_id(e), next_author);
    check_invariants(db);
}

Test(txn, a_commit_keeps_every_change_and_frees_what_it_replaced)
{
    store_txn *t = begin(0);
    change_everything();
    const char *inside = dump_store(db);
    cr_assert_eq(store_commit(t), STORE_OK);
    cr_assert(same_store(db, inside));
    check_invariants(db);
    cr_assert_str_eq(store_str(hobbit, "title"), "Another long title, not inline");
    cr_assert_eq(store_id(ann), 0);
    /* the store works as before: no transaction left behind */
    store_obj *e = make_author("Eve");
    cr_assert_eq(store_delete(db, e), STORE_OK);
    cr_assert(!rs_lock_held(&db->lock));
}

Test(txn, a_savepoint_rolls_back_alone_and_its_commit_stays_in_the_outer_level)
{
    const char *before = dump_store(db);
    store_txn *outer = begin(0);
    make_author("Outer");
    const char *after_outer = dump_store(db);
    store_txn *inner = begin(0);
    change_everything();
    cr_assert_eq(store_rollback(inner), STORE_OK);
    cr_assert(same_store(db, after_outer));
    check_invariants(db);
    inner = begin(0);
    change_everything();
    store_txn *innermost = begin(0);
    make_author("Deepest");
    cr_assert_eq(store_commit(outer), STORE_EINVAL, "the outer level ended before its inner");
    cr_assert_eq(store_commit(innermost), STORE_OK);
    cr_assert_eq(store_commit(inner), STORE_OK);
    cr_assert_eq(store_rollback(outer), STORE_OK);
    cr_assert(same_store(db, before));
    check_invariants(db);
}

Test(txn, a_failed_call_inside_changes_nothing_and_leaves_the_transaction_open)
{
    store_txn *t = begin(0);
    make_author("Kept");
    const char *inside = dump_store(db);
    cr_assert_eq(store_delete(db, zebra), STORE_ECONSTRAINT); /* the loan RESTRICTs */
    cr_assert_eq(store_update(db, silm, (store_value[]){STORE_V_STR("isbn", "111"), {0}}),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(db, inside));
    cr_assert_eq(store_commit(t), STORE_OK);
    cr_assert(same_store(db, inside));
}

Test(txn, queries_inside_see_the_transaction_and_change_by_query_rolls_back)
{
    const char *before = dump_store(db);
    store_txn *t = begin(0);
    make_book("New", bob);
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_REF("author", bob), {0}}),
                 STORE_OK);
    size_t n;
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_INT("pages", 7), {0}}, &n),
                 STORE_OK);
    cr_assert_eq(n, 2);
    store_query *all;
    cr_assert_eq(store_query_new(db, Review, &all), STORE_OK);
    cr_assert_eq(store_query_delete(all, NULL, &n), STORE_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(db, before));
    store_query_free(q);
    store_query_free(all);
    check_invariants(db);
}

/* ---- The lock and other threads ------------------------------------------------------------ */

typedef struct waiter {
    int rc;
    size_t count;
    bool done;
} waiter;

static void *count_books(void *arg)
{
    waiter *w = arg;
    store_query *q;
    w->rc = store_query_new(db, Book, &q);
    if (!w->rc)
        w->rc = store_query_count(q, NULL, &w->count);
    store_query_free(q);
    __atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void *create_book(void *arg)
{
    waiter *w = arg;
    w->rc = store_create(db, Book, (store_value[]){STORE_V_STR("title", "T"),
                                                   STORE_V_REF("author", bob), {0}},
                         NULL);
    __atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
    return NULL;
}

Test(txn, locked_readers_and_writers_of_other_threads_wait_for_the_end)
{
    store_txn *t = begin(0);
    make_book("Inside", bob);
    waiter r = {0}, w = {0};
    pthread_t rt, wt;
    cr_assert_eq(pthread_create(&rt, NULL, count_books, &r), 0);
    cr_assert_eq(pthread_create(&wt, NULL, create_book, &w), 0);
    usleep(50 * 1000);
    cr_assert(!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE), "a query ran inside the transaction");
    cr_assert(!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), "a create ran inside the transaction");
    make_book("Inside too", bob);
    cr_assert_eq(store_commit(t), STORE_OK);
    pthread_join(rt, NULL);
    pthread_join(wt, NULL);
    cr_assert_eq(r.rc, STORE_OK);
    cr_assert(r.count == 5 || r.count == 6, "the query saw %zu books: part of the transaction",
              r.count);
    cr_assert_eq(w.rc, STORE_OK);
    cr_assert_eq(store_model_count(Book), 6);
    check_invariants(db);
}

Test(txn, a_read_only_transaction_shares_the_lock_and_refuses_changes)
{
    store_txn *t = begin(STORE_TXN_READONLY);
    waiter r = {0}, w = {0};
    pthread_t rt, wt;
    cr_assert_eq(pthread_create(&rt, NULL, count_books, &r), 0);
    pthread_join(rt, NULL); /* another reader gets in */
    cr_assert_eq(r.rc, STORE_OK);
    cr_assert_eq(r.count, 3);
    cr_assert_eq(pthread_create(&wt, NULL, create_book, &w), 0);
    usleep(50 * 1000);
    cr_assert(!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), "a writer ran under a read-only txn");
    cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", "X"), {0}}, NULL),
                 STORE_EINVAL);
    cr_assert(strstr(store_errmsg(db), "read-only"), "%s", store_errmsg(db));
    cr_assert_eq(store_update(db, ann, (store_value[]){STORE_V_INT("age", 3), {0}}),
                 STORE_EINVAL);
    store_txn *nested;
    cr_assert_eq(store_begin(db, 0, &nested), STORE_EINVAL);
    cr_assert_eq(store_begin(db, STORE_TXN_READONLY, &nested), STORE_OK);
    cr_assert_eq(store_model_count(Book), 3);
    cr_assert_eq(store_commit(nested), STORE_OK);
    cr_assert_eq(store_commit(t), STORE_OK);
    pthread_join(wt, NULL);
    cr_assert_eq(w.rc, STORE_OK);
    cr_assert_eq(store_model_count(Book), 4);
}

static void *abandon(void *arg)
{
    (void)arg;
    store_txn *t;
    if (store_begin(db, 0, &t))
        return (void *)1;
    store_create(db, Author, (store_value[]){STORE_V_STR("name", "Ghost"), {0}}, NULL);
    store_update(db, ann, (store_value[]){STORE_V_STR("name", "Haunted"), {0}});
    store_delete(db, silm);
    store_txn *inner;
    if (store_begin(db, 0, &inner))
        return (void *)2;
    store_create(db, Author, (store_value[]){STORE_V_STR("name", "Ghost 2"), {0}}, NULL);
    store_txn *ro;
    return store_begin(db, STORE_TXN_READONLY, &ro) == STORE_EINVAL ? NULL : (void *)3;
}

Test(txn, a_thread_that_exits_with_a_transaction_open_has_it_rolled_back)
{
    const char *before = dump_store(db);
    pthread_t t;
    void *res;
    cr_assert_eq(pthread_create(&t, NULL, abandon, NULL), 0);
    pthread_join(t, &res);
    cr_assert_null(res);
    cr_assert(same_store(db, before));
    make_author("After"); /* the write lock was given back */
    check_invariants(db);
    cr_assert_eq(store_close(db), STORE_OK); /* and nothing is left open */
    db = NULL;
}

static void *close_store(void *arg)
{
    *(int *)arg = store_close(db);
    return NULL;
}

Test(txn, close_and_snapshot_are_busy_while_a_transaction_is_open)
{
    store_txn *t = begin(0);
    cr_assert_eq(store_close(db), STORE_EBUSY);
    cr_assert_eq(store_snapshot(db), STORE_EBUSY);
    int rc = 0;
    pthread_t c;
    cr_assert_eq(pthread_create(&c, NULL, close_store, &rc), 0);
    pthread_join(c, NULL);
    cr_assert_eq(rc, STORE_EBUSY, "a close from another thread: %d", rc);
    cr_assert_eq(store_rollback(t), STORE_OK);
    t = begin(STORE_TXN_READONLY);
    cr_assert_eq(pthread_create(&c, NULL, close_store, &rc), 0);
    pthread_join(c, NULL);
    cr_assert_eq(rc, STORE_EBUSY);
    cr_assert_eq(store_commit(t), STORE_OK);
}

static bool begin_inside(store_obj *o, void *arg)
{
    (void)o;
    store_txn *t;
    *(int *)arg = store_begin(db, 0, &t);
    return false;
}

static void *commit_other(void *arg)
{
    return (void *)(intptr_t)store_commit(arg);
}

Test(txn, begin_from_a_visit_and_handles_of_other_threads_are_refused)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, Author, &q), STORE_OK);
    int rc = 0;
    cr_assert_eq(store_query_visit(q, NULL, begin_inside, &rc), STORE_OK);
    cr_assert_eq(rc, STORE_EBUSY);
    /* inside a transaction, a visit callback may not change the store either */
    store_txn *t = begin(0);
    cr_assert_eq(store_query_visit(q, NULL, begin_inside, &rc), STORE_OK);
    cr_assert_eq(rc, STORE_EBUSY);
    pthread_t o;
    void *res;
    cr_assert_eq(pthread_create(&o, NULL, commit_other, t), 0);
    pthread_join(o, &res);
    cr_assert_eq((intptr_t)res, STORE_EINVAL);
    cr_assert_eq(store_commit(NULL), STORE_EINVAL);
    store_txn *bad = t;
    cr_assert_eq(store_begin(db, 4, &bad), STORE_EINVAL);
    cr_assert_null(bad);
    cr_assert_eq(store_commit(t), STORE_OK);
    store_query_free(q);
}

/* ---- Atomic helpers ------------------------------------------------------------------------ */

static int make_two_then(store *d, void *arg)
{
    store_create(d, Author, (store_value[]){STORE_V_STR("name", "One"), {0}}, NULL);
    store_create(d, Author, (store_value[]){STORE_V_STR("name", "Two"), {0}}, NULL);
    return *(int *)arg;
}

Test(txn, atomic_commits_on_ok_and_rolls_back_with_the_function_s_code)
{
    const char *before = dump_store(db);
    int want = STORE_ECONSTRAINT;
    cr_assert_eq(store_atomic(db, make_two_then, &want), STORE_ECONSTRAINT);
    cr_assert(same_store(db, before));
    want = STORE_OK;
    cr_assert_eq(store_atomic(db, make_two_then, &want), STORE_OK);
    cr_assert_eq(store_model_count(Author), 5);
    cr_assert_eq(store_atomic(db, NULL, NULL), STORE_EINVAL);
}

Test(txn, get_or_create_and_update_or_create)
{
    store_obj *o;
    bool created = true;
    cr_assert_eq(store_get_or_create(db, Author, (store_value[]){STORE_V_STR("name", "Bob"), {0}},
                                     (store_value[]){STORE_V_INT("age", 9), {0}}, &o, &created),
                 STORE_OK);
    cr_assert_eq(o, bob);
    cr_assert(!created);
    cr_assert(store_is_null(bob, "age"));
    cr_assert_eq(store_get_or_create(db, Author, (store_value[]){STORE_V_STR("name", "Ann"), {0}},
                                     NULL, &o, &created),
                 STORE_EMULTIPLE);
    cr_assert_null(o);
    cr_assert_eq(store_get_or_create(db, Author, (store_value[]){STORE_V_STR("name", "Dee"), {0}},
                                     (store_value[]){STORE_V_INT("age", 9), {0}}, &o, &created),
                 STORE_OK);
    cr_assert(created);
    cr_assert_eq(store_int(o, "age"), 9);
    cr_assert_str_eq(store_str(o, "name"), "Dee");
    cr_assert_eq(store_update_or_create(db, Author,
                                        (store_value[]){STORE_V_STR("name", "Bob"), {0}},
                                        (store_value[]){STORE_V_INT("age", 41), {0}}, &o,
                                        &created),
                 STORE_OK);
    cr_assert_eq(o, bob);
    cr_assert(!created);
    cr_assert_eq(store_int(bob, "age"), 41);
    cr_assert_eq(store_get_or_create(db, Author,
                                     (store_value[]){STORE_V_STR("name__startswith", "B"), {0}},
                                     NULL, &o, NULL),
                 STORE_EINVAL);
    /* a create that fails creates nothing */
    size_t n = store_model_count(Book);
    cr_assert_eq(store_get_or_create(db, Book, (store_value[]){STORE_V_STR("title", "None"), {0}},
                                     NULL, &o, &created),
                 STORE_EINVAL, "a book without an author");
    cr_assert_eq(store_model_count(Book), n);
    check_invariants(db);
}

Test(txn, create_many_is_all_or_nothing_with_consecutive_ids)
{
    const store_value *rows[] = {
        (store_value[]){STORE_V_STR("title", "First"), STORE_V_REF("author", bob), {0}},
        (store_value[]){STORE_V_STR("title", "Second"), STORE_V_REF("author", ann),
                        STORE_V_STR("isbn", "999"), {0}},
        (store_value[]){STORE_V_STR("title", "Third"), STORE_V_REF("author", ann),
                        STORE_V_STR("isbn", "999"), {0}}, /* repeats the row before */
    };
    const char *before = dump_store(db);
    store_obj *out[3] = {NULL, NULL, NULL};
    uint64_t first = 0;
    cr_assert_eq(store_create_many(db, Book, rows, 3, out, &first), STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(db), "row 2"), "%s", store_errmsg(db));
    cr_assert(same_store(db, before));
    cr_assert_eq(store_create_many(db, Book, rows, 2, out, &first), STORE_OK);
    cr_assert_eq(first, 4);
    cr_assert_eq(store_id(out[0]), 4);
    cr_assert_eq(store_id(out[1]), 5);
    cr_assert_str_eq(child_ids(ann, "books"), "1,2,5");
    cr_assert_eq(store_create_many(db, Book, rows, 0, NULL, NULL), STORE_OK);
    cr_assert_eq(store_create_many(db, Book, NULL, 1, NULL, NULL), STORE_EINVAL);
    check_invariants(db);
}

/* ---- On a file ----------------------------------------------------------------------------- */

TestSuite(txn_file, .init = library_files_setup, .fini = library_files_teardown);

static store *open_each_write(void)
{
    store *d;
    store_options o = {.durability = STORE_DURABLE_EACH_WRITE};
    cr_assert_eq(store_open(&d, schema, test_path, &o), STORE_OK, "%s", store_errmsg(NULL));
    return d;
}

static int create_authors(store *d, void *arg)
{
    store_model *A = store_model_find(d, "Author");
    for (int i = 0; i < *(int *)arg; i++) {
        char name[16];
        snprintf(name, sizeof name, "A%d", i);
        int rc = store_create(d, A, (store_value[]){STORE_V_STR("name", name), {0}}, NULL);
        if (rc)
            return rc;
    }
    return STORE_OK;
}

Test(txn_file, each_write_takes_one_snapshot_for_the_whole_transaction)
{
    store *d = open_each_write();
    store_stats s0, s1;
    cr_assert_eq(store_stat(d, &s0), STORE_OK);
    int n = 100;
    cr_assert_eq(store_atomic(d, create_authors, &n), STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(store_stat(d, &s1), STORE_OK);
    cr_assert_eq(s1.generation - s0.generation, 1, "%llu snapshots for one transaction",
                 (unsigned long long)(s1.generation - s0.generation));
    cr_assert_eq(s1.dirty, 0);
    /* a rolled-back one leaves no trace in memory nor in the file */
    store_txn *t;
    cr_assert_eq(store_begin(d, 0, &t), STORE_OK);
    cr_assert_eq(create_authors(d, &n), STORE_OK);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert_eq(store_stat(d, &s1), STORE_OK);
    cr_assert_eq(s1.dirty, 0, "the rollback left %zu objects marked", (size_t)s1.dirty);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    d = open_each_write();
    cr_assert_eq(store_model_count(store_model_find(d, "Author")), 100);
    cr_assert_eq(store_model_next_id(store_model_find(d, "Author")), 101);
    check_invariants(d);
    store_close(d);
}

Test(txn_file, a_rolled_back_delete_is_not_written_and_the_file_keeps_the_objects)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *a;
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, &a),
                 STORE_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_create(d, B, (store_value[]){STORE_V_STR("title", "T"),
                                                        STORE_V_REF("author", a), {0}},
                                  NULL),
                     STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    store_txn *t;
    cr_assert_eq(store_begin(d, 0, &t), STORE_OK);
    cr_assert_eq(store_delete(d, a), STORE_OK);
    cr_assert_eq(store_rollback(t), STORE_OK);
    store_stats s;
    cr_assert_eq(store_stat(d, &s), STORE_OK);
    cr_assert_eq(s.dirty + s.deleted, 0);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_model_count(store_model_find(d, "Book")), 3);
    check_invariants(d);
    store_close(d);
}

Test(txn_file, a_failed_create_many_leaves_no_mark_and_no_id)
{
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_obj *a;
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, &a),
                 STORE_OK);
    cr_assert_eq(store_snapshot(d), STORE_OK);
    const store_value *rows[] = {
        (store_value[]){STORE_V_STR("title", "A title longer than the slot keeps"),
                        STORE_V_REF("author", a), STORE_V_STR("isbn", "1"), {0}},
        (store_value[]){STORE_V_STR("title", "B"), STORE_V_REF("author", a), {0}},
        (store_value[]){STORE_V_STR("title", "C"), STORE_V_REF("author", a),
                        STORE_V_STR("isbn", "1"), {0}},
    };
    cr_assert_eq(store_create_many(d, B, rows, 3, NULL, NULL), STORE_ECONSTRAINT);
    store_stats s;
    cr_assert_eq(store_stat(d, &s), STORE_OK);
    cr_assert_eq(s.dirty + s.deleted, 0, "%zu dirty, %zu deleted", s.dirty, s.deleted);
    cr_assert_eq(store_model_next_id(B), 1);
    cr_assert_str_eq(child_ids(a, "books"), "");
    check_invariants(d);
    cr_assert_eq(store_create_many(d, B, rows, 2, NULL, NULL), STORE_OK);
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_eq(store_model_count(store_model_find(d, "Book")), 2);
    check_invariants(d);
    store_close(d);
}
