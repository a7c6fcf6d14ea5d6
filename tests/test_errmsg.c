/*
 * tests/test_errmsg.c - store_errmsg(): a store's last failure on a thread stays readable, at
 * the same address, whatever other stores and other threads fail meanwhile, and out of memory.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

TestSuite(errmsg, .init = library_setup, .fini = library_teardown);

/* Makes store_get() on S fail for Author ID; asserts the detail names it. */
static void fail_get(store *s, uint64_t id)
{
    char want[32];
    store_obj *o;
    cr_assert_eq(store_get(s, store_model_find(s, "Author"), id, &o), STORE_ENOTFOUND);
    snprintf(want, sizeof want, "Author %" PRIu64, id);
    cr_assert(strstr(store_errmsg(s), want), "got \"%s\", want \"%s\"", store_errmsg(s), want);
}

/* Opens N stores in memory, makes each fail once, closes them. */
static void fail_on_other_stores(int n)
{
    for (int i = 0; i < n; i++) {
        store *other;
        cr_assert_eq(store_open(&other, schema, NULL, NULL), STORE_OK);
        fail_get(other, 1000 + (uint64_t)i);
        store_close(other);
    }
}

/* Like fail_on_other_stores(), with all N stores open at once. */
static void fail_on_open_stores(int n)
{
    store *others[100];
    cr_assert_leq(n, 100);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(store_open(&others[i], schema, NULL, NULL), STORE_OK);
        fail_get(others[i], 2000 + (uint64_t)i);
    }
    for (int i = 0; i < n; i++) {
        cr_assert(strstr(store_errmsg(others[i]), "Author 2"), "store %d lost its detail", i);
        store_close(others[i]);
    }
}

Test(errmsg, survives_failures_on_any_number_of_other_stores)
{
    fail_get(db, 4242);
    const char *p = store_errmsg(db);
    const int counts[] = {8, 20, 100};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        fail_on_other_stores(counts[i]);
        fail_on_open_stores(counts[i]);
        cr_assert(strstr(store_errmsg(db), "Author 4242"), "after %d other stores: \"%s\"",
                  counts[i], store_errmsg(db));
        cr_assert_str_eq(p, store_errmsg(db), "after %d other stores, the saved pointer shows "
                         "\"%s\"", counts[i], p);
    }
}

Test(errmsg, of_a_store_and_of_no_store_are_apart)
{
    store_schema *bad;
    fail_get(db, 31);
    const char *p = store_errmsg(db);
    cr_assert_eq(store_schema_new(&bad), STORE_OK);
    cr_assert_eq(store_schema_add(bad, "9bad", (store_field[]){{0}}), STORE_ESCHEMA);
    store_schema_free(bad);
    cr_assert(strstr(store_errmsg(NULL), "9bad"), "got \"%s\"", store_errmsg(NULL));
    cr_assert_str_eq(p, store_errmsg(db));
    cr_assert(strstr(p, "Author 31"));
}

struct other_thread {
    store *s;
    char seen[64]; /* its own store_errmsg() after its failure */
};

static void *fail_on_a_thread(void *arg)
{
    struct other_thread *t = arg;
    store_obj *o;
    store_get(t->s, store_model_find(t->s, "Author"), 777, &o);
    snprintf(t->seen, sizeof t->seen, "%s", store_errmsg(t->s));
    return NULL;
}

Test(errmsg, another_threads_failure_on_the_store_leaves_ours)
{
    fail_get(db, 5);
    const char *p = store_errmsg(db);
    struct other_thread t = {.s = db};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fail_on_a_thread, &t), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert(strstr(t.seen, "Author 777"), "the other thread saw \"%s\"", t.seen);
    cr_assert(strstr(store_errmsg(db), "Author 5"), "got \"%s\"", store_errmsg(db));
    cr_assert_str_eq(p, store_errmsg(db));
}

/* Reads store_errmsg() of the store ARG on a thread that never failed on it. */
static void *read_on_a_thread(void *arg)
{
    struct other_thread *t = arg;
    snprintf(t->seen, sizeof t->seen, "%s", store_errmsg(t->s));
    return NULL;
}

Test(errmsg, a_thread_that_never_failed_on_the_store_reads_nothing)
{
    fail_get(db, 6); /* this thread failed on db; the new one never did */
    struct other_thread t = {.s = db, .seen = "unset"};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, read_on_a_thread, &t), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_str_eq(t.seen, "", "a thread that never failed on the store read \"%s\"", t.seen);
    cr_assert(strstr(store_errmsg(db), "Author 6"), "got \"%s\"", store_errmsg(db));
}

Test(errmsg, is_recorded_even_when_no_allocation_succeeds)
{
    store_obj *o;
    fail_alloc_from(0);
    int rc = store_get(db, Author, 12, &o);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_ENOTFOUND);
    cr_assert(strstr(store_errmsg(db), "Author 12"), "got \"%s\"", store_errmsg(db));

    fail_alloc_from(0);
    rc = store_create(db, Author, (store_value[]){STORE_V_STR("name", "Ann"), {0}}, NULL);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_ENOMEM);
    cr_assert(strstr(store_errmsg(db), "out of memory"), "got \"%s\"", store_errmsg(db));
}

Test(errmsg, is_recorded_whichever_allocation_fails)
{
    store *other;
    cr_assert_eq(store_open(&other, schema, NULL, NULL), STORE_OK);
    for (long n = 0; n < 4; n++) {
        store_obj *o;
        fail_alloc_at(n);
        int rc = store_get(db, Author, 100 + (uint64_t)n, &o);
        fail_alloc_at(-1);
        cr_assert_eq(rc, STORE_ENOTFOUND);
        char want[32];
        snprintf(want, sizeof want, "Author %ld", 100 + n);
        cr_assert(strstr(store_errmsg(db), want), "allocation %ld failed: got \"%s\"", n,
                  store_errmsg(db));
        fail_get(other, 200 + (uint64_t)n);
    }
    store_close(other);
}
