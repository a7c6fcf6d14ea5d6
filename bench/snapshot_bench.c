/*
 * bench/snapshot_bench.c - what a file costs: full snapshot, incremental snapshot, open, and
 * the price of each durability policy per write.
 *
 *   snapshot_bench [AUTHORS] [REPEATS] [DIR]
 *
 * Builds AUTHORS authors x 10 books (default 100,000: 1.1 million objects) in a store on a
 * file in DIR (default: a temporary folder), then measures, REPEATS times (default 3), and
 * prints the median of each:
 *   - the first snapshot of everything (ms, and ns per object),
 *   - a snapshot after 1% of the books changed (ms),
 *   - a snapshot after 1,000 books changed (ms),
 *   - closing and reopening until the first reverse walk answers (ms, ns per object),
 *   - one create under each durability policy (us per write).
 * Times are wall-clock (CLOCK_MONOTONIC) on whatever else the machine is doing: compare
 * figures from one run, not across machines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"

static uint64_t rand_state = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
    rand_state ^= rand_state << 13;
    rand_state ^= rand_state >> 7;
    rand_state ^= rand_state << 17;
    return rand_state;
}

static store *fill(store_schema *s, const char *path, long authors)
{
    store *db;
    bench_must(store_open(&db, s, path, NULL), NULL, "open");
    store_model *A = store_model_find(db, "Author"), *B = store_model_find(db, "Book");
    for (long a = 0; a < authors; a++) {
        store_obj *author;
        bench_must(store_create(db, A, (store_value[]){STORE_V_STR("name", "An Author"), {0}}, &author),
             db, "create");
        for (int b = 0; b < 10; b++)
            bench_must(store_create(db, B, (store_value[]){STORE_V_STR("title", "A Book Title"),
                                                     STORE_V_REF("author", author), {0}},
                              NULL),
                 db, "create");
    }
    return db;
}

/* Changes N random books; returns the snapshot's time in ms. */
static double change_and_snapshot(store *db, long books, long n)
{
    store_model *B = store_model_find(db, "Book");
    for (long i = 0; i < n; i++) {
        store_obj *b;
        uint64_t id = next_rand() % (uint64_t)books + 1;
        bench_must(store_get(db, B, id, &b), db, "get");
        bench_must(store_update(db, b, (store_value[]){STORE_V_INT("pages", (int64_t)i), {0}}), db,
             "update");
    }
    double t = bench_now_ms();
    bench_must(store_snapshot(db), db, "snapshot");
    return bench_now_ms() - t;
}

/* Microseconds per create under POLICY, over N creates on a fresh file. */
static double per_write(store_schema *s, const char *path, store_durability policy, int n)
{
    unlink(path);
    store *db;
    store_options o = {.durability = policy, .interval_ms = 100};
    bench_must(store_open(&db, s, path, &o), NULL, "open");
    store_model *A = store_model_find(db, "Author");
    double t = bench_now_ms();
    for (int i = 0; i < n; i++)
        bench_must(store_create(db, A, (store_value[]){STORE_V_STR("name", "x"), {0}}, NULL), db,
             "create");
    double us = (bench_now_ms() - t) * 1e3 / n;
    bench_must(store_close(db), db, "close");
    return us;
}

int main(int argc, char **argv)
{
    long authors = argc > 1 ? atol(argv[1]) : 100000;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    char dir[] = "/tmp/relstore-bench-XXXXXX", path[256];
    if (argc > 3)
        snprintf(path, sizeof path, "%s/bench.db", argv[3]);
    else if (mkdtemp(dir))
        snprintf(path, sizeof path, "%s/bench.db", dir);
    else
        return 1;
    store_schema *s = bench_schema();
    long books = authors * 10, objects = authors * 11;
    enum { MAXR = 15 };
    double full[MAXR], pct[MAXR], k1[MAXR], open_ms[MAXR], each[MAXR], manual[MAXR],
        interval[MAXR];
    repeats = repeats < 1 ? 1 : repeats > MAXR ? MAXR : repeats;
    for (int r = 0; r < repeats; r++) {
        unlink(path);
        store *db = fill(s, path, authors);
        double t = bench_now_ms();
        bench_must(store_snapshot(db), db, "snapshot");
        full[r] = bench_now_ms() - t;
        pct[r] = change_and_snapshot(db, books, books / 100);
        k1[r] = change_and_snapshot(db, books, 1000);
        bench_must(store_close(db), db, "close");
        t = bench_now_ms();
        bench_must(store_open(&db, s, path, NULL), NULL, "reopen");
        store_obj *a;
        bench_must(store_get(db, store_model_find(db, "Author"), 1, &a), db, "get");
        store_iter it = store_reverse(a, "books");
        if (!store_next(&it))
            return 1;
        open_ms[r] = bench_now_ms() - t;
        bench_must(store_close(db), db, "close");
        manual[r] = per_write(s, path, STORE_DURABLE_MANUAL, 20000);
        interval[r] = per_write(s, path, STORE_DURABLE_INTERVAL, 20000);
        each[r] = per_write(s, path, STORE_DURABLE_EACH_WRITE, 200);
    }
    printf("objects: %ld (%ld authors x 10 books), median of %d\n", objects, authors, repeats);
    double f = bench_median(full, repeats), o = bench_median(open_ms, repeats);
    printf("| figure | value |\n| --- | --- |\n");
    printf("| full snapshot | %.0f ms (%.0f ns/object) |\n", f, f * 1e6 / objects);
    printf("| snapshot after 1%% of books changed (%ld) | %.1f ms |\n", books / 100,
           bench_median(pct, repeats));
    printf("| snapshot after 1,000 books changed | %.1f ms |\n", bench_median(k1, repeats));
    printf("| open until the first reverse walk | %.0f ms (%.0f ns/object) |\n", o,
           o * 1e6 / objects);
    printf("| create, STORE_DURABLE_MANUAL | %.2f us/write |\n", bench_median(manual, repeats));
    printf("| create, STORE_DURABLE_INTERVAL (100 ms) | %.2f us/write |\n",
           bench_median(interval, repeats));
    printf("| create, STORE_DURABLE_EACH_WRITE | %.0f us/write |\n", bench_median(each, repeats));
    unlink(path);
    char lock[300];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    if (argc <= 3)
        rmdir(dir);
    store_schema_free(s);
    return 0;
}
