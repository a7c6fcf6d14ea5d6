/*
 * tests/test_async.c - the libuv requests: each call, copied arguments, errors, cancel,
 * close while requests are out, and a loop that keeps running during a large snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store_async.h>

#include "tests/helpers.h"

static uv_loop_t loop;
static bool loop_open;
static int called;

static void async_setup(void)
{
    library_setup();
    cr_assert_eq(uv_loop_init(&loop), 0);
    loop_open = true;
    called = 0;
}

/* Ends a test: runs the loop dry and asserts that it closes (no handle or request left). In
 * the body, since a failed assertion in .fini does not fail the test. */
static void close_loop(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0, "the loop still had work");
    loop_open = false;
}

/* Frees only: a test that stopped early may leave the loop open. */
static void async_teardown(void)
{
    if (loop_open) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    library_teardown();
}

TestSuite(async, .init = async_setup, .fini = async_teardown, .timeout = 240);

static void count_cb(store_req *req)
{
    (void)req;
    called++;
}

/* Runs the loop until every request has called back. */
static void drain(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
}

Test(async, create_get_update_and_delete_call_back_once_each)
{
    store_req req;
    cr_assert_eq(store_create_async(&loop, &req, db, Author,
                                    (store_value[]){STORE_V_STR("name", "Ann"), {0}}, count_cb),
                 STORE_OK);
    drain();
    cr_assert_eq(called, 1);
    cr_assert_eq(req.result, STORE_OK);
    store_obj *ann = req.obj;
    cr_assert_str_eq(store_str(ann, "name"), "Ann");
    store_req_cleanup(&req);

    cr_assert_eq(store_get_async(&loop, &req, db, Author, 1, count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.obj, ann);
    store_req_cleanup(&req);

    cr_assert_eq(store_update_async(&loop, &req, db, ann,
                                    (store_value[]){STORE_V_INT("age", 33), {0}}, count_cb),
                 STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_OK);
    cr_assert_eq(store_int(ann, "age"), 33);
    store_req_cleanup(&req);

    cr_assert_eq(store_delete_async(&loop, &req, db, ann, count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_OK);
    cr_assert_eq(store_model_count(Author), 0);
    store_req_cleanup(&req);
    cr_assert_eq(called, 4);
    check_invariants(db);
    close_loop();
}

Test(async, reverse_copies_the_children_in_walk_order)
{
    store_obj *a = make_author("A"), *other = make_author("O");
    for (int i = 0; i < 5; i++)
        make_book("t", i == 2 ? other : a);
    store_req req;
    req.data = &req;
    cr_assert_eq(store_reverse_async(&loop, &req, db, a, "books", count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_OK);
    cr_assert_eq(req.data, &req, "the caller's data is kept");
    cr_assert_eq(req.count, 4);
    uint64_t want[] = {1, 2, 4, 5};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(store_id(req.objs[i]), want[i]);
    store_req_cleanup(&req);
    cr_assert_null(req.objs);

    cr_assert_eq(store_reverse_async(&loop, &req, db, a, "bookz", count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_EINVAL);
    cr_assert(strstr(store_errmsg(db), "bookz"), "the detail reaches the loop's thread");
    store_req_cleanup(&req);
    check_invariants(db);
    close_loop();
}

Test(async, a_reverse_walk_of_a_deleted_object_is_einval)
{
    store_obj *a = make_author("A");
    make_author("B");
    store_req req;
    /* Deleted before the request runs (and its slot not reused): the worker finds it dead. */
    cr_assert_eq(store_delete(db, a), STORE_OK);
    cr_assert_eq(store_reverse_async(&loop, &req, db, a, "books", count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_EINVAL);
    cr_assert_eq(req.count, 0);
    store_req_cleanup(&req);
    check_invariants(db);
    close_loop();
}

Test(async, arguments_are_copied_at_the_call)
{
    char name[] = "Original", field[] = "name";
    store_value values[] = {STORE_V_STR(field, name), {0}};
    store_req req;
    cr_assert_eq(store_create_async(&loop, &req, db, Author, values, count_cb), STORE_OK);
    memcpy(name, "Changed!", sizeof name);
    memcpy(field, "nope", sizeof field);
    values[0].kind = STORE_KIND_INT;
    drain();
    cr_assert_eq(req.result, STORE_OK, "%s", store_errmsg(db));
    cr_assert_str_eq(store_str(req.obj, "name"), "Original");
    store_req_cleanup(&req);

    char rel[] = "books";
    store_obj *a = make_author("A");
    make_book("t", a);
    cr_assert_eq(store_reverse_async(&loop, &req, db, a, rel, count_cb), STORE_OK);
    memcpy(rel, "xxxxx", sizeof rel);
    drain();
    cr_assert_eq(req.count, 1);
    store_req_cleanup(&req);
    check_invariants(db);
    close_loop();
}

Test(async, a_failing_request_reports_the_sync_code_and_detail)
{
    store_req req;
    cr_assert_eq(store_create_async(&loop, &req, db, Author,
                                    (store_value[]){STORE_V_INT("name", 5), {0}}, count_cb),
                 STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_EINVAL);
    cr_assert_null(req.obj);
    cr_assert(strstr(store_errmsg(db), "Author.name"), "got \"%s\"", store_errmsg(db));
    store_req_cleanup(&req);
    cr_assert_eq(store_get_async(&loop, &req, db, Author, 99, count_cb), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_ENOTFOUND);
    store_req_cleanup(&req);
    cr_assert_eq(store_model_count(Author), 0);
    check_invariants(db);
    close_loop();
}

Test(async, a_call_that_fails_never_calls_back)
{
    store_req req;
    store_obj *a = make_author("A");
    cr_assert_eq(store_create_async(NULL, &req, db, Author, (store_value[]){{0}}, count_cb),
                 STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, NULL, db, Author, (store_value[]){{0}}, count_cb),
                 STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, &req, NULL, Author, (store_value[]){{0}}, count_cb),
                 STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, &req, db, Author, (store_value[]){{0}}, NULL),
                 STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, &req, db, NULL, (store_value[]){{0}}, count_cb),
                 STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, &req, db, Author, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_create_async(&loop, &req, db, Author,
                                    (store_value[]){{.name = "name", .kind = (store_kind)42}, {0}},
                                    count_cb),
                 STORE_EINVAL);
    cr_assert_eq(store_get_async(&loop, &req, db, NULL, 1, count_cb), STORE_EINVAL);
    cr_assert_eq(store_reverse_async(&loop, &req, db, a, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_reverse_async(&loop, &req, db, NULL, "books", count_cb), STORE_EINVAL);
    cr_assert_eq(store_update_async(&loop, &req, db, a, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_delete_async(&loop, &req, db, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_snapshot_async(&loop, &req, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_cancel(NULL), STORE_EINVAL);
    store_req_cleanup(NULL);
    drain();
    cr_assert_eq(called, 0);
    check_invariants(db);
    close_loop();
}

/* ---- Cancel and close ------------------------------------------------------------------- */

static uv_sem_t hold;
static void block_work(uv_work_t *w)
{
    (void)w;
    uv_sem_wait(&hold);
}

static void block_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

Test(async, cancelled_requests_change_nothing_and_call_back_with_ecanceled)
{
    /* Occupy every pool thread, so that the store's requests wait in the queue. */
    enum { POOL = 4, N = 50 };
    static uv_work_t blockers[POOL];
    cr_assert_eq(uv_sem_init(&hold, 0), 0);
    for (int i = 0; i < POOL; i++)
        cr_assert_eq(uv_queue_work(&loop, &blockers[i], block_work, block_done), 0);
    const char *before = dump_store(db);
    static store_req reqs[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(store_create_async(&loop, &reqs[i], db, Author,
                                        (store_value[]){STORE_V_STR("name", "x"), {0}}, count_cb),
                     STORE_OK);
    cr_assert_eq(store_close(db), STORE_EBUSY, "close while requests are out");
    cr_assert(strstr(store_errmsg(db), "async requests"));
    for (int i = 0; i < N; i++)
        cr_assert_eq(store_cancel(&reqs[i]), STORE_OK);
    for (int i = 0; i < POOL; i++)
        uv_sem_post(&hold);
    drain();
    cr_assert_eq(called, N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(reqs[i].result, STORE_ECANCELED);
        cr_assert_eq(store_cancel(&reqs[i]), STORE_EBUSY, "a finished request cannot be cancelled");
        store_req_cleanup(&reqs[i]);
    }
    cr_assert(same_store(db, before));
    uv_sem_destroy(&hold);
    check_invariants(db);
    close_loop();
}

/* ---- The loop keeps running during a snapshot --------------------------------------------- */

static uint64_t ticks, ticks_at_done;
static uv_timer_t timer;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static void snapshot_done(store_req *req)
{
    called++;
    ticks_at_done = ticks;
    (void)req;
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
}

Test(async, the_loop_keeps_turning_while_a_million_objects_are_snapshot)
{
    char dir[] = "/tmp/relstore-async-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/big.db", dir);
    store *d;
    cr_assert_eq(store_open(&d, schema, path, NULL), STORE_OK);
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    for (int a = 0; a < 100000; a++) {
        store_obj *author;
        cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "n"), {0}}, &author),
                     STORE_OK);
        for (int b = 0; b < 9; b++)
            cr_assert_eq(store_create(d, B, (store_value[]){STORE_V_STR("title", "t"),
                                                            STORE_V_REF("author", author), {0}},
                                      NULL),
                         STORE_OK);
    }
    cr_assert_eq(uv_timer_init(&loop, &timer), 0);
    cr_assert_eq(uv_timer_start(&timer, on_tick, 1, 1), 0);
    store_req req;
    cr_assert_eq(store_snapshot_async(&loop, &req, d, snapshot_done), STORE_OK);
    drain();
    cr_assert_eq(req.result, STORE_OK, "%s", store_errmsg(d));
    cr_assert_eq(called, 1);
    cr_log_info("timer ticks during an async snapshot of 1,000,000 objects: %llu",
                (unsigned long long)ticks_at_done);
    /* A loop blocked by the snapshot would tick at most once before the callback. */
    cr_assert_geq(ticks_at_done, 2, "the loop was blocked: %llu ticks",
                  (unsigned long long)ticks_at_done);
    store_req_cleanup(&req);
    store_stats st;
    store_stat(d, &st);
    cr_assert_eq(st.last_written, 1000000);
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    close_loop();
}

/* ---- Queries ------------------------------------------------------------------------------- */

Test(async, queries_find_count_update_and_delete_on_the_pool)
{
    store_obj *ann = make_author("Ann"), *bob = make_author("Bob");
    for (int i = 0; i < 30; i++)
        make_book(i % 2 ? "Odd one out" : "Even so", i % 3 ? ann : bob);
    store_query *q;
    cr_assert_eq(store_query_new(db, Book, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_PARAM("title__startswith", "p"),
                                                       STORE_V_PARAM("author__in", "who"),
                                                       {0}}),
                 STORE_OK);
    cr_assert_eq(store_query_order_by(q, (const char *const[]){"-id", NULL}), STORE_OK);

    /* The binds, their strings and their list are copied at the call: spoil them at once. */
    char prefix[8] = "Odd";
    store_value who[] = {STORE_V_REF(NULL, ann), {0}};
    store_value binds[] = {STORE_V_STR("p", prefix), STORE_V_LIST("who", who), {0}};
    store_req find, count;
    cr_assert_eq(store_query_find_async(&loop, &find, q, binds, count_cb), STORE_OK);
    cr_assert_eq(store_query_count_async(&loop, &count, q, binds, count_cb), STORE_OK);
    strcpy(prefix, "Even");
    who[0].u.ref = bob;
    binds[0].name = "x";
    drain();
    cr_assert_eq(called, 2);
    cr_assert_eq(find.result, STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(find.count, 10); /* odd i, i % 3 != 0 */
    cr_assert_eq(store_id(find.objs[0]), 30);
    cr_assert_eq(count.count, 10);
    store_req_cleanup(&find);
    store_req_cleanup(&count);

    store_value ann_odd[] = {STORE_V_STR("p", "Odd"), STORE_V_LIST("who", (store_value[]){
                                                          STORE_V_REF(NULL, ann), {0}}),
                             {0}};
    store_req upd, del;
    cr_assert_eq(store_query_update_async(&loop, &upd, q, ann_odd,
                                          (store_value[]){STORE_V_INT("pages", 5), {0}},
                                          count_cb),
                 STORE_OK);
    drain();
    cr_assert_eq(upd.result, STORE_OK);
    cr_assert_eq(upd.count, 10);
    store_req_cleanup(&upd);
    cr_assert_eq(store_query_delete_async(&loop, &del, q, ann_odd, count_cb), STORE_OK);
    drain();
    cr_assert_eq(del.result, STORE_OK);
    cr_assert_eq(del.count, 10);
    cr_assert_eq(store_model_count(Book), 20);
    store_req_cleanup(&del);

    /* A missing bind is the sync code in the callback; a NULL query never calls back. */
    cr_assert_eq(store_query_find_async(&loop, &find, q, NULL, count_cb), STORE_OK);
    drain();
    cr_assert_eq(find.result, STORE_EINVAL);
    cr_assert(strstr(store_errmsg(db), "who") || strstr(store_errmsg(db), "\"p\""), "%s",
              store_errmsg(db));
    store_req_cleanup(&find);
    int before = called;
    cr_assert_eq(store_query_find_async(&loop, &find, NULL, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(store_query_update_async(&loop, &upd, q, NULL, NULL, count_cb), STORE_EINVAL);
    drain();
    cr_assert_eq(called, before);
    store_query_free(q);
    check_invariants(db);
    close_loop();
}

/* Creates ARG's count of authors, then fails if asked to. */
typedef struct batch {
    int n;
    int fail_with;
} batch;

static int create_batch(store *d, void *arg)
{
    const batch *b = arg;
    for (int i = 0; i < b->n; i++) {
        int rc = store_create(d, Author, (store_value[]){STORE_V_STR("name", "Pooled"), {0}},
                              NULL);
        if (rc)
            return rc;
    }
    return b->fail_with;
}

Test(async, atomic_runs_the_function_in_a_transaction_on_the_pool)
{
    const char *before = dump_store(db);
    batch ok = {.n = 50}, bad = {.n = 50, .fail_with = STORE_ECONSTRAINT};
    store_req good, failed;
    cr_assert_eq(store_atomic_async(&loop, &failed, db, create_batch, &bad, count_cb), STORE_OK);
    drain();
    cr_assert_eq(called, 1);
    cr_assert_eq(failed.result, STORE_ECONSTRAINT);
    cr_assert(same_store(db, before));
    cr_assert_eq(store_atomic_async(&loop, &good, db, create_batch, &ok, count_cb), STORE_OK);
    drain();
    cr_assert_eq(good.result, STORE_OK, "%s", store_errmsg(db));
    cr_assert_eq(store_model_count(Author), 50);
    cr_assert_eq(store_model_next_id(Author), 51, "the failed batch used no id");
    store_req_cleanup(&good);
    store_req_cleanup(&failed);
    cr_assert_eq(store_atomic_async(&loop, &good, db, NULL, NULL, count_cb), STORE_EINVAL);
    cr_assert_eq(called, 2);
    check_invariants(db);
    close_loop();
}
