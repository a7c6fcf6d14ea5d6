/*
 * tests/test_threads.c - every call is atomic: four threads change and read one store.
 *
 * Each thread owns its authors (it alone creates, updates and deletes them and their books)
 * and reads everybody's: gets, reverse walks of its own authors (whose counts it knows
 * exactly), and counts of the others'. At the end the store must pass store_check() and
 * hold exactly what the threads say they left.
 */
#include <pthread.h>
#include <stdio.h>

#include "tests/helpers.h"

TestSuite(threads, .init = library_setup, .fini = library_teardown, .timeout = 120);

enum { THREADS = 4, AUTHORS = 50, ROUNDS = 4000 };

typedef struct worker {
    int index;
    store_obj *authors[AUTHORS];
    size_t books[AUTHORS];
    size_t left; /* books alive at the end */
    int errors;
} worker;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void round_of(worker *w, uint64_t *seed)
{
    int a = (int)(next_rand(seed) % AUTHORS);
    store_obj *author = w->authors[a];
    switch (next_rand(seed) % 5) {
    case 0:
    case 1:
        w->errors += store_create(db, Book,
                                  (store_value[]){STORE_V_STR("title", "t"),
                                                  STORE_V_REF("author", author), {0}},
                                  NULL) != STORE_OK;
        w->books[a]++;
        break;
    case 2: {
        store_iter it = store_reverse(author, "books");
        store_obj *first = store_next(&it);
        w->errors += store_count(&it) != w->books[a];
        if (first) {
            w->errors += store_delete(db, first) != STORE_OK;
            w->books[a]--;
        }
        break;
    }
    case 3:
        w->errors += store_update(db, author, (store_value[]){STORE_V_INT("age", a), {0}}) != 0;
        break;
    default: {
        store_obj *o;
        uint64_t id = next_rand(seed) % (THREADS * AUTHORS) + 1;
        w->errors += store_get(db, Author, id, &o) != STORE_OK || store_id(o) != id;
        store_iter it = store_reverse(o, "books");
        (void)store_count(&it);
        break;
    }
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    uint64_t seed = 0x9e3779b97f4a7c15u * (uint64_t)(w->index + 1);
    for (int i = 0; i < ROUNDS; i++)
        round_of(w, &seed);
    for (int a = 0; a < AUTHORS; a++)
        w->left += w->books[a];
    return NULL;
}

Test(threads, four_writers_and_readers_leave_a_consistent_store)
{
    static worker workers[THREADS];
    /* Authors first, so that ids 1..THREADS*AUTHORS all exist while the threads run. */
    for (int t = 0; t < THREADS; t++) {
        workers[t].index = t;
        for (int a = 0; a < AUTHORS; a++)
            workers[t].authors[a] = make_author("a");
    }
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&threads[t], NULL, work, &workers[t]), 0);
    size_t left = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        cr_assert_eq(workers[t].errors, 0, "thread %d saw %d errors", t, workers[t].errors);
        left += workers[t].left;
        for (int a = 0; a < AUTHORS; a++) {
            store_iter it = store_reverse(workers[t].authors[a], "books");
            cr_assert_eq(store_count(&it), workers[t].books[a]);
        }
    }
    cr_assert_eq(store_model_count(Book), left);
    check_invariants(db);
}
