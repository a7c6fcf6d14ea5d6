/*
 * bench/profile.c - one phase of the benchmark's workload on relstore alone, to run under a
 * profiler (perf record, valgrind --tool=callgrind) without the other systems around it:
 *
 *   profile insert|get|walk|load AUTHORS [FILE]
 *
 * insert: creates AUTHORS authors with 10 books each (realistic strings, bench/workload.c).
 * get, walk: the same, then 200,000 random gets of a book reading its title, or walks of an
 * author's books reading each title, by name, as the README's calls do.
 * load: the same into FILE, a snapshot, a close; then only the timed part, a store_open()
 * that loads it all (the profile of the load is what follows the line it prints first).
 * Prints ns per call (per object for insert and load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "bench/common.h"
#include "bench/systems.h"

static store *fill(store_schema *s, long authors, const char *path)
{
    store *db;
    bench_must(store_open(&db, s, path, NULL), NULL, "open");
    store_model *author = store_model_find(db, "Author"), *book = store_model_find(db, "Book");
    uint64_t id = 1;
    size_t len;
    for (long a = 1; a <= authors; a++) {
        store_obj *o;
        bench_must(store_create(db, author,
                                (store_value[]){STORE_V_STR("name", bench_name((uint64_t)a, &len)),
                                                {0}},
                                &o),
                   db, "create");
        for (int b = 0; b < 10; b++, id++)
            bench_must(store_create(db, book,
                                    (store_value[]){STORE_V_STR("title", bench_title(id, &len)),
                                                    STORE_V_REF("author", o), {0}},
                                    NULL),
                       db, "create");
    }
    return db;
}

int main(int argc, char **argv)
{
    long authors = argc > 2 ? atol(argv[2]) : 0;
    const char *phase = argc > 1 ? argv[1] : "", *path = argc > 3 ? argv[3] : NULL;
    bool load = !strcmp(phase, "load");
    if (authors <= 0 || (strcmp(phase, "insert") && strcmp(phase, "get") &&
                         strcmp(phase, "walk") && !load) || (load && !path)) {
        fprintf(stderr, "usage: profile insert|get|walk|load AUTHORS [FILE (load)]\n");
        return 2;
    }
    if (bench_strings_make(authors, 0)) {
        fprintf(stderr, "profile: out of memory\n");
        return 1;
    }
    store_schema *s = bench_schema();
    if (load) {
        remove(path);
        store *db = fill(s, authors, path);
        bench_must(store_close(db), NULL, "close");
        double t = bench_now_ms();
        bench_must(store_open(&db, s, path, NULL), NULL, "open");
        printf("load: %.1f ns/object\n", (bench_now_ms() - t) * 1e6 / (11.0 * authors));
        store_close(db);
        store_schema_free(s);
        bench_strings_free();
        return 0;
    }
    double t = bench_now_ms();
    store *db = fill(s, authors, NULL);
    if (!strcmp(phase, "insert")) {
        printf("insert: %.1f ns/object\n", (bench_now_ms() - t) * 1e6 / (11.0 * authors));
    } else {
        store_model *author = store_model_find(db, "Author"), *book = store_model_find(db, "Book");
        enum { CALLS = 200000 };
        uint64_t seed = 0x9e3779b97f4a7c15u;
        size_t sum = 0;
        t = bench_now_ms();
        for (int i = 0; i < CALLS; i++) {
            store_obj *o;
            if (!strcmp(phase, "get")) {
                uint64_t id = bench_rnd(&seed) % ((uint64_t)authors * 10) + 1;
                if (!store_get(db, book, id, &o))
                    sum += strlen(store_str(o, "title"));
                continue;
            }
            if (store_get(db, author, bench_rnd(&seed) % (uint64_t)authors + 1, &o))
                continue;
            store_iter it = store_reverse(o, "books");
            for (store_obj *b; (b = store_next(&it));)
                sum += strlen(store_str(b, "title"));
        }
        printf("%s: %.1f ns/call (%zu bytes read)\n", phase, (bench_now_ms() - t) * 1e6 / CALLS,
               sum);
    }
    store_close(db);
    store_schema_free(s);
    bench_strings_free();
    return 0;
}
