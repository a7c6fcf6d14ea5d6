/*
 * bench/async_bench.c - what the async API and the lock cost: loop lag during a snapshot,
 * and reverse walks on one and two threads.
 *
 *   async_bench [AUTHORS] [REPEATS]       defaults: 100,000 authors x 10 books, 3 repeats
 *
 * Loop lag: a 1 ms uv_timer runs while 1.1 million changed objects are snapshot, once with
 * store_snapshot_async() and once with store_snapshot() called on the loop's thread; the
 * worst lateness of a tick is printed for each. Readers: THREADS threads each walk the books
 * of random authors (reading every title) for a fixed count; walks per second with 1 and 2
 * threads, and the speed-up. Medians over REPEATS; wall-clock on a shared machine, so
 * compare figures of one run.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store_async.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"

static store *db;
static store_model *Author, *Book;
static long authors;

/* Marks every book changed, so that the next snapshot writes them all. */
static void touch_all(void)
{
    const store_fld *pages = store_field_find(Book, "pages");
    for (uint64_t id = 1; id < store_model_next_id(Book); id++) {
        store_obj *b;
        if (store_get(db, Book, id, &b) == STORE_OK)
            bench_must(store_update(db, b, (store_value[]){
                                          STORE_V_INT("pages", store_field_int(b, pages) + 1),
                                          {0}}),
                 db, "update");
    }
}

/* ---- Loop lag ----------------------------------------------------------------------------- */

typedef struct lag {
    uv_timer_t timer;
    double last, worst;
    bool done;
    store_req req;
} lag;

static void on_tick(uv_timer_t *t)
{
    lag *l = t->data;
    double now = bench_now_ms(), late = now - l->last - 1.0;
    if (late > l->worst)
        l->worst = late;
    l->last = now;
}

static void on_snapshot(store_req *req)
{
    lag *l = req->data;
    bench_must(req->result, db, "snapshot_async");
    l->done = true;
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, NULL);
}

/* The worst lateness of a 1 ms tick while everything is snapshot, async or not. */
static double worst_lag(bool async)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    lag l = {.last = bench_now_ms()};
    l.timer.data = &l;
    l.req.data = &l;
    touch_all();
    uv_timer_init(&loop, &l.timer);
    uv_timer_start(&l.timer, on_tick, 1, 1);
    l.last = bench_now_ms();
    if (async) {
        bench_must(store_snapshot_async(&loop, &l.req, db, on_snapshot), db, "submit");
    } else {
        uv_run(&loop, UV_RUN_NOWAIT);
        double t = bench_now_ms();
        bench_must(store_snapshot(db), db, "snapshot"); /* the loop's thread blocks here */
        l.worst = bench_now_ms() - t;
        uv_timer_stop(&l.timer);
        uv_close((uv_handle_t *)&l.timer, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return l.worst;
}

/* ---- Readers ------------------------------------------------------------------------------ */

enum { WALKS = 400000 };

typedef struct reader {
    uint64_t seed;
    size_t chars;
} reader;

static void *walk_books(void *arg)
{
    reader *r = arg;
    const store_fld *books = store_relation_find(Author, "books");
    const store_fld *title = store_field_find(Book, "title");
    for (int i = 0; i < WALKS; i++) {
        r->seed ^= r->seed << 13;
        r->seed ^= r->seed >> 7;
        r->seed ^= r->seed << 17;
        store_obj *a;
        if (store_get(db, Author, r->seed % (uint64_t)authors + 1, &a))
            continue;
        store_iter it = store_reverse_fld(a, books);
        for (store_obj *b; (b = store_next(&it));)
            r->chars += (size_t)store_field_str(b, title)[0];
    }
    return NULL;
}

/* Walks per second with THREADS threads walking at once. */
static double walks_per_second(int threads)
{
    pthread_t t[2];
    reader r[2] = {{.seed = 0x1234567}, {.seed = 0x7654321}};
    double start = bench_now_ms();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, walk_books, &r[i]);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return threads * (double)WALKS / ((bench_now_ms() - start) / 1e3);
}

int main(int argc, char **argv)
{
    authors = argc > 1 ? atol(argv[1]) : 100000;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    repeats = repeats < 1 ? 1 : repeats > 9 ? 9 : repeats;
    char dir[] = "/tmp/relstore-abench-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/bench.db", dir);
    store_schema *s = bench_schema();
    bench_must(store_open(&db, s, path, NULL), NULL, "open");
    Author = store_model_find(db, "Author");
    Book = store_model_find(db, "Book");
    for (long i = 0; i < authors; i++) {
        store_obj *a;
        bench_must(store_create(db, Author, (store_value[]){STORE_V_STR("name", "An Author"), {0}}, &a),
             db, "create");
        for (int b = 0; b < 10; b++)
            bench_must(store_create(db, Book, (store_value[]){STORE_V_STR("title", "A Book Title"),
                                                        STORE_V_REF("author", a), {0}},
                              NULL),
                 db, "create");
    }
    bench_must(store_snapshot(db), db, "snapshot");
    double lag_async[9], lag_sync[9], one[9], two[9];
    for (int r = 0; r < repeats; r++) {
        lag_async[r] = worst_lag(true);
        lag_sync[r] = worst_lag(false);
        one[r] = walks_per_second(1);
        two[r] = walks_per_second(2);
    }
    double w1 = bench_median(one, repeats), w2 = bench_median(two, repeats);
    printf("objects: %ld (%ld authors x 10 books), median of %d\n", authors * 11, authors,
           repeats);
    printf("| figure | value |\n| --- | --- |\n");
    printf("| worst 1 ms timer lag, store_snapshot_async of every book | %.2f ms |\n",
           bench_median(lag_async, repeats));
    printf("| worst 1 ms timer lag, store_snapshot on the loop's thread | %.0f ms |\n",
           bench_median(lag_sync, repeats));
    printf("| reverse walks (10 books, titles read), 1 thread | %.2f M/s |\n", w1 / 1e6);
    printf("| reverse walks, 2 threads | %.2f M/s (speed-up %.2fx) |\n", w2 / 1e6, w2 / w1);
    store_close(db);
    store_schema_free(s);
    unlink(path);
    char lock[80];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    rmdir(dir);
    return 0;
}
