/*
 * bench/query_bench.c - the query benchmark: relstore against SQLite ":memory:", the same
 * queries over the same data, in one process.
 *
 *   query_bench [--scales A,A,...] [--repeats N] [--budget MS] [--queries L,L,...] [--out DIR]
 *
 * For each scale A (default 10,000 and 100,000 authors; 10 books each on average, see
 * bench/query.h), both systems load the same generated data, then each query of bench/query.h
 * is run N times (default 5) on each system, a measurement being many runs of the query with
 * a different parameter each time (the author, the range, the name, the prefix: drawn from
 * one seeded list, the same for both). Every run reads its results in full, and both systems
 * must read the same checksum, or the program stops. The number of runs is set once per
 * query and scale, from the slower system's time on a few runs, so that a measurement takes
 * about MS milliseconds (default 100) on that system, at least 5 runs and at most 20,000 (a
 * reference makes as many runs as its query, with the same parameters).
 *
 * --queries keeps the queries labelled L ("1", "2b", ...), to profile one.
 *
 * Printed: per scale, a markdown table of the median time per query of each system, the
 * ratio and whether relstore is at least 5x faster (the goal); with --out, the tables also go
 * to DIR/QUERIES.md and every measurement to DIR/queries.csv.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"
#include "bench/query.h"

enum { NSYS = 2, MAX_REPEATS = 15, MAX_SCALES = 8, MAX_RUNS = 20000, MIN_RUNS = 5 };

#define GOAL 5.0

static const qb_sys *const systems[NSYS] = {&qb_relstore, &qb_sqlite};

static bool chosen[QB_NQUERIES]; /* the queries to run */

static const char *const query_names[QB_NQUERIES] = {
    [QB_FK_TOP] = "1. books of one author with pages >= X, by -pages, limit 5",
    [QB_RANGE_COUNT] = "2. count of books with pages in [X, Y]",
    [QB_TOP_PRICE] = "3. top 10 books by price",
    [QB_CROSS_PREFIX] = "4. books with author__name = N and title__startswith = P",
    [QB_MANY_BOOKS] = "5. authors with books__count__gte = K",
    [QB_CROSS_AGG] = "6. SUM(pages), AVG(price) of books with author__name = N",
    [QB_UPDATE] = "7. update by query: price = V on books with pages in [X, Y] (1%)",
    [QB_RANGE_SCAN] = "2b. reference: query 2, SQLite without its index (NOT INDEXED)",
    [QB_PRICE_SCAN] = "3b. reference: query 3, SQLite without its index (NOT INDEXED)",
};

typedef struct measure {
    size_t runs;      /* runs per measurement */
    double rows;      /* rows read per run (a count: the objects counted) */
    double med[NSYS]; /* microseconds per run, the median */
    double us[NSYS][MAX_REPEATS];
} measure;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs QUERY on system S (context CTX) with each of the N parameters; the time in ns. The
 * checksum and the rows read go to *SUM and *ROWS. */
static double timed(int s, void *ctx, int query, const qb_param *p, size_t n, uint64_t *sum,
                    size_t *rows)
{
    uint64_t cs = 0;
    size_t r = 0;
    double t = now_ns();
    for (size_t i = 0; i < n; i++)
        cs += systems[s]->run(ctx, query, &p[i], &r);
    t = now_ns() - t;
    *sum = cs;
    *rows = r;
    return t;
}

/* How many runs make a measurement of QUERY take about BUDGET_MS on the slower system. */
static size_t calibrate(void *ctx[NSYS], int query, const qb_param *p, double budget_ms)
{
    double worst = 0;
    for (int s = 0; s < NSYS; s++) {
        uint64_t sum;
        size_t rows;
        timed(s, ctx[s], query, p, MIN_RUNS, &sum, &rows); /* warm up */
        double ns = timed(s, ctx[s], query, p, MIN_RUNS, &sum, &rows) / MIN_RUNS;
        worst = ns > worst ? ns : worst;
    }
    double runs = budget_ms * 1e6 / (worst > 1 ? worst : 1);
    return runs < MIN_RUNS ? MIN_RUNS : runs > MAX_RUNS ? MAX_RUNS : (size_t)runs;
}

/* Measures QUERY on both systems REPEATS times into *M, with M->runs runs a measurement (0:
 * calibrate); stops the program if their results differ. */
static void measure_query(void *ctx[NSYS], const qb_data *d, int query, int repeats,
                          double budget_ms, measure *m)
{
    qb_param *p = qb_params(d, query, MAX_RUNS, 0x51ed270b27a6cafeu ^ (uint64_t)d->authors);
    if (!p) {
        fprintf(stderr, "query_bench: out of memory\n");
        exit(1);
    }
    if (!m->runs) {
        m->runs = calibrate(ctx, query, p, budget_ms);
    } else { /* a reference: its query's runs, unless they would take far past the budget */
        size_t own = calibrate(ctx, query, p, budget_ms);
        m->runs = own < m->runs ? own : m->runs;
    }
    for (int rep = 0; rep < repeats; rep++) {
        uint64_t sum[NSYS];
        size_t rows[NSYS];
        for (int s = 0; s < NSYS; s++)
            m->us[s][rep] =
                timed(s, ctx[s], query, p, m->runs, &sum[s], &rows[s]) / 1e3 / (double)m->runs;
        if (sum[0] != sum[1] || rows[0] != rows[1]) {
            fprintf(stderr,
                    "query_bench: %s: relstore and SQLite read different results "
                    "(%zu and %zu rows)\n",
                    query_names[query], rows[0], rows[1]);
            exit(1);
        }
        m->rows = (double)rows[0] / (double)m->runs;
    }
    for (int s = 0; s < NSYS; s++)
        m->med[s] = bench_median(m->us[s], repeats);
    free(p);
}

static void machine(FILE *out)
{
    char cpu[256] = "unknown CPU", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    struct utsname u;
    uname(&u);
    fprintf(out, "Machine: %s, %ld cores, %s %s, compiler %s.\n\n", cpu,
            sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, __VERSION__);
}

static void print_us(FILE *out, double us)
{
    fprintf(out, us < 10 ? " %.2f |" : us < 100 ? " %.1f |" : " %.0f |", us);
}

static void print_table(FILE *out, const qb_data *d, const measure *m, int repeats)
{
    fprintf(out, "### Queries: %ld authors, %zu books, median of %d (µs per query)\n\n", d->authors,
            d->books, repeats);
    machine(out);
    fprintf(out,
            "| query | rows | runs | relstore | sqlite-mem | sqlite / relstore | goal "
            ">= %.0fx |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
            GOAL);
    for (int q = 0; q < QB_NQUERIES; q++) {
        if (!chosen[q])
            continue;
        double ratio = m[q].med[1] / m[q].med[0];
        fprintf(out, "| %s | %.1f | %zu |", query_names[q], m[q].rows, m[q].runs);
        print_us(out, m[q].med[0]);
        print_us(out, m[q].med[1]);
        fprintf(out, " %.2fx | %s |\n", ratio,
                QB_IS_REFERENCE(q) ? "-"
                : ratio >= GOAL    ? "met"
                                   : "MISSED");
    }
    fprintf(out, "\n");
}

static void write_csv(FILE *csv, const qb_data *d, const measure *m, int repeats)
{
    for (int q = 0; q < QB_NQUERIES; q++)
        for (int s = 0; chosen[q] && s < NSYS; s++)
            for (int rep = 0; rep < repeats; rep++)
                fprintf(csv, "%ld,%d,%s,%d,%zu,%.3f\n", d->authors, q + 1, systems[s]->name,
                        rep + 1, m[q].runs, m[q].us[s][rep]);
}

/* Loads scale A into both systems, measures every query and prints the table. */
static void run_scale(long a, int repeats, double budget_ms, FILE *md, FILE *csv)
{
    qb_data *d = qb_data_new(a, 0x2545f4914f6cdd1du ^ (uint64_t)a);
    if (!d) {
        fprintf(stderr, "query_bench: out of memory generating the data\n");
        exit(1);
    }
    void *ctx[NSYS];
    for (int s = 0; s < NSYS; s++) {
        double t = bench_now_ms();
        if (!(ctx[s] = systems[s]->create(d)))
            exit(1);
        fprintf(stderr, "query_bench: %ld authors, %s: loaded in %.0f ms\n", a, systems[s]->name,
                bench_now_ms() - t);
    }
    static measure m[QB_NQUERIES];
    for (int q = 0; q < QB_NQUERIES; q++) {
        /* a reference makes as many runs as its query (so that they read the same rows), or
         * fewer when its own budget says so (SQLite told to scan, beside a fast query) */
        m[q].runs = qb_base(q) != q && chosen[qb_base(q)] ? m[qb_base(q)].runs : 0;
        if (chosen[q])
            measure_query(ctx, d, q, repeats, budget_ms, &m[q]);
    }
    for (int s = 0; s < NSYS; s++)
        systems[s]->destroy(ctx[s]);
    print_table(stdout, d, m, repeats);
    if (md)
        print_table(md, d, m, repeats);
    if (csv)
        write_csv(csv, d, m, repeats);
    qb_data_free(d);
}

static int parse_scales(const char *s, long *scales)
{
    int n = 0;
    for (char *end; *s && n < MAX_SCALES; s = *end ? end + 1 : end) {
        scales[n] = strtol(s, &end, 10);
        if (scales[n] <= 0 || (*end && *end != ','))
            return -1;
        n++;
    }
    return n;
}

/* Marks the queries whose labels (the names' text before the ".") LIST holds; -1 if one is
 * unknown. */
static int choose_queries(const char *list)
{
    memset(chosen, 0, sizeof chosen);
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ","), q = 0;
        while (q < QB_NQUERIES &&
               (strcspn(query_names[q], ".") != len || strncmp(query_names[q], s, len)))
            q++;
        if (q == QB_NQUERIES)
            return -1;
        chosen[q] = true;
        s += len + (s[len] == ',');
    }
    return 0;
}

/* Opens DIR/NAME for writing, making DIR if needed; stops the program on failure. */
static FILE *out_file(const char *dir, const char *name)
{
    char path[600];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "query_bench: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"scales", required_argument, NULL, 's'},  {"repeats", required_argument, NULL, 'r'},
        {"budget", required_argument, NULL, 'b'},  {"out", required_argument, NULL, 'o'},
        {"queries", required_argument, NULL, 'q'}, {NULL, 0, NULL, 0},
    };
    long scales[MAX_SCALES] = {10000, 100000};
    int nscales = 2, repeats = 5;
    double budget_ms = 100;
    const char *out_dir = NULL;
    for (int q = 0; q < QB_NQUERIES; q++)
        chosen[q] = true;
    for (int c; (c = getopt_long(argc, argv, "s:r:b:o:q:", opts, NULL)) != -1;) {
        if (c == 's' && (nscales = parse_scales(optarg, scales)) > 0)
            continue;
        if (c == 'r' && (repeats = atoi(optarg)) >= 1 && repeats <= MAX_REPEATS)
            continue;
        if (c == 'b' && (budget_ms = atof(optarg)) > 0)
            continue;
        if (c == 'o' && (out_dir = optarg))
            continue;
        if (c == 'q' && choose_queries(optarg) == 0)
            continue;
        fprintf(stderr, "usage: query_bench [--scales A,A,...] [--repeats N (1-15)] "
                        "[--budget MS] [--queries 1,2b,...] [--out DIR]\n");
        return 2;
    }
    FILE *md = out_dir ? out_file(out_dir, "QUERIES.md") : NULL;
    FILE *csv = out_dir ? out_file(out_dir, "queries.csv") : NULL;
    if (csv)
        fprintf(csv, "authors,query,system,repeat,runs,us_per_query\n");
    for (int i = 0; i < nscales; i++)
        run_scale(scales[i], repeats, budget_ms, md, csv);
    if (md)
        fclose(md);
    if (csv)
        fclose(csv);
    return 0;
}
