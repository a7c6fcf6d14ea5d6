/*
 * bench/otree_bench.c - the ordered index alone (index/otree.c) beside libjudy's JudyL, the
 * reference structure the ordered-index issue names, on this machine.
 *
 *   otree_bench [--n N] [--repeats R]     defaults: 1,000,000 entries, 3 repeats
 *
 * N distinct random 64-bit keys (splitmix64 of 1..N), each with its id. Timed, per repeat,
 * the median printed in ns per operation: inserting them in random order (the tree reserving
 * before each insert, as the store will), looking each up again, counting the entries of
 * 100,000 random ranges (the tree: two seeks and their ranks; JudyL: JudyLCount), walking
 * every entry in order, and deleting them all; and the bytes an entry takes once loaded
 * (the tree: its nodes; JudyL: JudyLMemUsed()). Also the tree built in bulk from sorted input
 * (what a load will do), per entry. JudyL maps a key to one word, so it holds no repeats;
 * the tree's entries are (key, id) pairs, which it needs for repeated values.
 */
#include <Judy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "index/otree.h"

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static int cmp_ent(const void *a, const void *b)
{
    const rs_oent *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

enum { RANGES = 100000, REPEATS_MAX = 15, NMEAS = 7 };

static const char *const names[NMEAS] = {
    "insert, random order", "look up each key", "count a random range",
    "walk every entry in order", "delete, random order", "build from sorted input",
    "bytes an entry",
};

/* Repeat R of one structure into T, in ns per operation, from the clock readings TS (ms)
 * taken around each measurement (TS[6] .. TS[7]: the build). */
static void record(double t[NMEAS][REPEATS_MAX], int r, size_t n, const double *ts)
{
    for (int k = 0; k < 5; k++)
        t[k][r] = (ts[k + 1] - ts[k]) * 1e6 / (k == 2 ? (double)RANGES : (double)n);
    t[5][r] = (ts[7] - ts[6]) * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int repeats = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = (size_t)strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: otree_bench [--n N] [--repeats R]\n");
            return 2;
        }
    }
    if (repeats < 1 || repeats > REPEATS_MAX || n < 2) {
        fprintf(stderr, "otree_bench: --repeats 1..%d, --n 2 or more\n", REPEATS_MAX);
        return 2;
    }
    rs_oent *e = malloc(n * sizeof *e), *sorted = malloc(n * sizeof *e);
    uint64_t (*range)[2] = malloc(RANGES * sizeof *range);
    if (!e || !sorted || !range)
        return 1;
    for (size_t i = 0; i < n; i++)
        e[i] = (rs_oent){splitmix(i + 1), i + 1};
    memcpy(sorted, e, n * sizeof *e);
    qsort(sorted, n, sizeof *sorted, cmp_ent);
    for (size_t k = 0; k < RANGES; k++) {
        uint64_t a = splitmix(k + n + 7), b = splitmix(k + 2 * n + 7);
        range[k][0] = a < b ? a : b;
        range[k][1] = a < b ? b : a;
    }
    double t[2][NMEAS][REPEATS_MAX];
    uint64_t check[2] = {0, 0};
    for (int r = 0; r < repeats; r++) {
        /* The tree. */
        rs_otree o;
        rs_otree_init(&o, NULL, NULL);
        double t0 = bench_now_ms();
        for (size_t i = 0; i < n; i++) {
            if (rs_otree_reserve(&o, 1))
                return 1;
            rs_otree_insert(&o, &(rs_oprobe){e[i].key, NULL, e[i].id});
        }
        double t1 = bench_now_ms();
        for (size_t i = 0; i < n; i++)
            check[0] += rs_otree_entry(rs_otree_seek(&o, &(rs_oprobe){e[i].key, NULL,
                                                                     RS_OTREE_LOW}, NULL))->id;
        double t2 = bench_now_ms();
        for (size_t k = 0; k < RANGES; k++) {
            size_t lo, hi;
            rs_otree_seek(&o, &(rs_oprobe){range[k][0], NULL, RS_OTREE_LOW}, &lo);
            rs_otree_seek(&o, &(rs_oprobe){range[k][1], NULL, RS_OTREE_HIGH}, &hi);
            check[0] += hi - lo;
        }
        double t3 = bench_now_ms();
        for (rs_ocursor c = rs_otree_at(&o, 0); c.leaf; c = rs_otree_next(c))
            check[0] += rs_otree_entry(c)->key & 1;
        double t4 = bench_now_ms();
        rs_otree_trim(&o);
        t[0][6][r] = (double)rs_otree_bytes(&o) / (double)n;
        for (size_t i = 0; i < n; i++)
            rs_otree_delete(&o, &(rs_oprobe){e[i].key, NULL, e[i].id});
        double t5 = bench_now_ms();
        rs_otree_free(&o);
        double t6 = bench_now_ms();
        if (rs_otree_build(&o, sorted, n))
            return 1;
        double t7 = bench_now_ms();
        rs_otree_free(&o);
        record(t[0], r, n, (double[]){t0, t1, t2, t3, t4, t5, t6, t7});
        /* JudyL. */
        Pvoid_t j = NULL;
        Word_t *pv;
        t0 = bench_now_ms();
        for (size_t i = 0; i < n; i++) {
            JLI(pv, j, (Word_t)e[i].key);
            *pv = e[i].id;
        }
        t1 = bench_now_ms();
        for (size_t i = 0; i < n; i++) {
            JLG(pv, j, (Word_t)e[i].key);
            check[1] += *pv;
        }
        t2 = bench_now_ms();
        for (size_t k = 0; k < RANGES; k++) {
            Word_t c;
            JLC(c, j, (Word_t)range[k][0], (Word_t)range[k][1]);
            check[1] += c;
        }
        t3 = bench_now_ms();
        Word_t key = 0;
        JLF(pv, j, key);
        while (pv) {
            check[1] += key & 1;
            JLN(pv, j, key);
        }
        t4 = bench_now_ms();
        Word_t used;
        JLMU(used, j);
        t[1][6][r] = (double)used / (double)n;
        for (size_t i = 0; i < n; i++) {
            int gone;
            JLD(gone, j, (Word_t)e[i].key);
            (void)gone;
        }
        t5 = bench_now_ms();
        t6 = bench_now_ms();
        for (size_t i = 0; i < n; i++) { /* no bulk load in Judy: inserts in key order */
            JLI(pv, j, (Word_t)sorted[i].key);
            *pv = sorted[i].id;
        }
        t7 = bench_now_ms();
        Word_t freed;
        JLFA(freed, j);
        (void)freed;
        record(t[1], r, n, (double[]){t0, t1, t2, t3, t4, t5, t6, t7});
    }
    if (check[0] != check[1]) {
        fprintf(stderr, "otree_bench: the two structures disagree (%llu, %llu)\n",
                (unsigned long long)check[0], (unsigned long long)check[1]);
        return 1;
    }
    printf("### The ordered index alone: %zu random keys, median of %d\n\n", n, repeats);
    printf("| measurement | unit | index/otree | JudyL | otree / JudyL |\n");
    printf("| --- | --- | ---: | ---: | ---: |\n");
    for (int k = 0; k < NMEAS; k++) {
        double a = bench_median(t[0][k], repeats), b = bench_median(t[1][k], repeats);
        printf("| %s | %s | %.1f | %.1f | %.2fx |\n", names[k],
               k == 6 ? "bytes" : "ns/op", a, b, a / b);
    }
    printf("\nJudyL has no bulk load: its row is inserts in key order. The tree's entries are "
           "(key, id) pairs, so that it can hold repeated values; JudyL's are keys with one "
           "word each.\n");
    free(e);
    free(sorted);
    free(range);
    return 0;
}
