/*
 * tests/test_lock.c - the store's lock prefers writers: a change waits for the lookups already
 * in, not for every lookup that arrives after it.
 *
 * The first test holds the read lock in one thread, starts a create in another, and then asks
 * for the read lock without waiting until it is refused: a refusal shows the create queued
 * ahead of new readers. Nothing is timed; the ten seconds only bound the wait for a refusal
 * that a reader-preferring lock never gives. The second has eight readers walk relations
 * without a pause while one writer makes a thousand creates; the suite's timeout is its only
 * clock. The last tests show that a read asked under the lock nests, that a change asked
 * under it is STORE_EBUSY, and that, in builds with assertions, store/lock.h stops a thread
 * that asks for the write lock under its read lock or gives back a lock it does not hold:
 * each would be a deadlock or a broken lock without the check.
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "store/model.h"
#include "tests/helpers.h"

/* With a lock that lets readers in ahead of a waiting writer, the 1,000 creates below took
 * 42 s behind eight readers on 2 cores; with writers first, well under a second. The suite's
 * timeout turns that difference into a failure without a timed assertion. */
TestSuite(lock, .init = library_setup, .fini = library_teardown, .timeout = 30);

/* ---- A waiting writer goes before new readers ------------------------------------------- */

typedef struct holder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool held;    /* the read lock is taken */
    bool release; /* give it back */
} holder;

static void *hold_read_lock(void *arg)
{
    holder *h = arg;
    rs_lock_read(&db->lock);
    pthread_mutex_lock(&h->mu);
    h->held = true;
    pthread_cond_broadcast(&h->cv);
    while (!h->release)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    rs_lock_unlock(&db->lock);
    return NULL;
}

static void *create_one(void *arg)
{
    int *rc = arg;
    *rc = store_create(db, Author, (store_value[]){STORE_V_STR("name", "Writer"), {0}}, NULL);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls for a refused read lock, up to BOUND_S seconds; whether one came. */
static bool reader_refused(double bound_s)
{
    const struct timespec pause = {.tv_nsec = 1000000};
    double until = now_s() + bound_s;
    while (now_s() < until) {
        /* Beside store/lock.h, which has no try: this thread takes nothing else. */
        int rc = pthread_rwlock_tryrdlock(&db->lock.rw);
        if (rc == EBUSY)
            return true;
        if (rc == 0)
            pthread_rwlock_unlock(&db->lock.rw);
        nanosleep(&pause, NULL);
    }
    return false;
}

Test(lock, a_waiting_writer_goes_before_new_readers)
{
    holder h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t r1, w;
    int wrc = -1;
    cr_assert_eq(pthread_create(&r1, NULL, hold_read_lock, &h), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.held)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    cr_assert_eq(pthread_create(&w, NULL, create_one, &wrc), 0);

    bool refused = reader_refused(10.0);

    pthread_mutex_lock(&h.mu);
    h.release = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(r1, NULL);
    pthread_join(w, NULL);
    cr_assert(refused, "a new reader got in ahead of a waiting writer");
    cr_assert_eq(wrc, STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(store_model_count(Author), 1);
    check_invariants(db);
}

/* ---- Eight busy readers do not starve one writer ---------------------------------------- */

enum { READERS = 8, CREATES = 1000, AUTHORS = 16 };

typedef struct shared {
    store_obj *authors[AUTHORS];
    int done; /* atomic: the writer has finished */
} shared;

static void *read_loop(void *arg)
{
    shared *s = arg;
    size_t walks = 0;
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
        store_iter it = store_reverse(s->authors[walks % AUTHORS], "books");
        (void)store_count(&it);
        (void)store_model_count(Book);
        walks++;
    }
    return NULL;
}

static void *write_loop(void *arg)
{
    shared *s = arg;
    int errors = 0;
    for (int i = 0; i < CREATES; i++) {
        store_value v[] = {
            STORE_V_STR("title", "t"), STORE_V_REF("author", s->authors[i % AUTHORS]), {0}};
        errors += store_create(db, Book, v, NULL) != STORE_OK;
    }
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return (void *)(intptr_t)errors;
}

Test(lock, eight_busy_readers_do_not_starve_a_writer)
{
    shared s = {.done = 0};
    for (int a = 0; a < AUTHORS; a++)
        s.authors[a] = make_author("Reader");
    pthread_t readers[READERS], writer;
    for (int i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&readers[i], NULL, read_loop, &s), 0);
    cr_assert_eq(pthread_create(&writer, NULL, write_loop, &s), 0);
    void *errors;
    pthread_join(writer, &errors);
    for (int i = 0; i < READERS; i++)
        pthread_join(readers[i], NULL);
    cr_assert_eq((intptr_t)errors, 0);
    cr_assert_eq(store_model_count(Book), CREATES);
    for (int a = 0; a < AUTHORS; a++) {
        store_iter it = store_reverse(s.authors[a], "books");
        cr_assert_eq(store_count(&it), CREATES / AUTHORS + (a < CREATES % AUTHORS));
    }
    check_invariants(db);
}

/* ---- Ownership ------------------------------------------------------------------------- */

Test(lock, a_second_read_in_one_thread_nests_and_the_last_unlock_gives_the_lock_back)
{
    rs_lock_read(&db->lock);
    rs_lock_read(&db->lock); /* a real second rdlock could wait behind a waiting writer */
    cr_assert_eq(store_model_count(Author), 0); /* a read call from under the lock nests too */
    rs_lock_unlock(&db->lock);
    cr_assert(rs_lock_held(&db->lock));
    rs_lock_unlock(&db->lock);
    cr_assert(!rs_lock_held(&db->lock));
    /* Given back for real: a writer on another thread gets in. */
    pthread_t w;
    int wrc = -1;
    cr_assert_eq(pthread_create(&w, NULL, create_one, &wrc), 0);
    pthread_join(w, NULL);
    cr_assert_eq(wrc, STORE_OK, "%s", store_errmsg(db));
}

Test(lock, a_change_asked_under_the_read_lock_is_busy_not_a_deadlock)
{
    store_obj *a = make_author("Held");
    rs_lock_read(&db->lock);
    int c = store_create(db, Author, (store_value[]){STORE_V_STR("name", "W"), {0}}, NULL);
    int u = store_update(db, a, (store_value[]){STORE_V_STR("name", "V"), {0}});
    int d = store_delete(db, a);
    int s = store_snapshot(db);
    int x = store_close(db);
    rs_lock_unlock(&db->lock);
    cr_assert_eq(c, STORE_EBUSY);
    cr_assert_eq(u, STORE_EBUSY);
    cr_assert_eq(d, STORE_EBUSY);
    cr_assert_eq(s, STORE_EBUSY);
    cr_assert_eq(x, STORE_EBUSY);
    cr_assert_str_eq(store_str(a, "name"), "Held");
    cr_assert_eq(store_model_count(Author), 1);
}

#ifndef NDEBUG
Test(lock, a_write_lock_under_a_read_lock_aborts, .signal = SIGABRT)
{
    rs_lock_read(&db->lock);
    rs_lock_write(&db->lock); /* would deadlock at once */
}

Test(lock, giving_back_a_lock_not_held_aborts, .signal = SIGABRT)
{
    rs_lock_unlock(&db->lock);
}

static void *take_read_lock(void *arg)
{
    (void)arg;
    rs_lock_read(&db->lock);
    return NULL;
}

Test(lock, giving_back_another_threads_lock_aborts, .signal = SIGABRT)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, take_read_lock, NULL), 0);
    pthread_join(t, NULL);
    rs_lock_unlock(&db->lock);
}
#endif

Test(lock, the_record_of_the_holder_follows_lock_and_unlock)
{
    cr_assert(!rs_lock_held(&db->lock));
    rs_lock_read(&db->lock);
    cr_assert(rs_lock_held(&db->lock) && !rs_lock_held_write(&db->lock));
    rs_lock_unlock(&db->lock);
    rs_lock_write(&db->lock);
    cr_assert(rs_lock_held_write(&db->lock));
    rs_lock_unlock(&db->lock);
    cr_assert(!rs_lock_held(&db->lock));
    cr_assert_eq(store_model_count(Author), 0); /* the calls lock again as before */
}
