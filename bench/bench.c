/*
 * bench/bench.c - the benchmark suite: one workload, every system, side by side, one run.
 *
 *   bench [--scales A,A,...] [--repeats N] [--out DIR] [--systems name,name,...]
 *         [--strings realistic,short] [--summary]
 *
 * For each workload of strings (realistic: titles of 20-60 bytes, names of 10-30; short:
 * "Book <id>"; bench/workload.c), each scale A (authors; 10 books each: 11*A objects) and
 * each system of bench/systems.h, N times (default 3): insert everything (ns/object, and
 * resident bytes per object), get random books by id reading the title (ns), walk random
 * authors' books reading each title (ns per author), the same two through handles (relstore
 * only: its get and walk use the calls by name), update 1% of the books then persist (ms),
 * update 1,000 books then persist (ms), persist everything (ns/object), reopen until the
 * first reverse walk answers (ms), and read everything durable (relstore: a full load by
 * store_open(); raw LMDB: a full cursor scan; ns/object).
 * Random ids come from one seeded generator, the same for every system. The medians go to a
 * markdown table per scale, with the machine above it and each target's ratio below it; the
 * raw runs to DIR/runs.csv; the walk times by store size to DIR/walk.dat for the plot.
 * --summary (make demo) prints, instead of the tables and the progress lines, what each figure
 * is in words, and each goal as a sentence, met or missed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"
#include "bench/systems.h"

enum {
    F_INSERT, F_GET, F_WALK, F_GET_FLD, F_WALK_FLD, F_UPDATE, F_UPDATE1K, F_PERSIST, F_REOPEN,
    F_LOAD, F_MEM, NFIG
};

static const char *const fig_names[NFIG] = {
    "insert (ns/object)",          "get book by id (ns)",
    "reverse walk, 10 titles (ns)", "get by id, field handle (ns)",
    "reverse walk, handles (ns)",  "update 1% + persist (ms)",
    "update 1,000 + persist (ms)", "full persist (ns/object)",
    "reopen to first walk (ms)",   "full load or scan (ns/object)",
    "resident memory (bytes/object)",
};

static const bench_sys *const all_systems[] = {
    &bench_relstore,   &bench_arrays,     &bench_sqlite_mem,
    &bench_sqlite_wal, &bench_lmdb_plain, &bench_lmdb_expert,
};
enum { NSYS = sizeof all_systems / sizeof *all_systems, MAX_REPEATS = 15, MAX_SCALES = 8 };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static uint64_t rand_state;

static uint64_t next_rand(void)
{
    rand_state ^= rand_state << 13;
    rand_state ^= rand_state >> 7;
    rand_state ^= rand_state << 17;
    return rand_state;
}

static volatile size_t sink; /* keeps the reads from being optimized away */

/* Random ids 1..MAX, N of them, from the shared generator (seeded per scale). */
static uint64_t *random_ids(size_t n, uint64_t max)
{
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = next_rand() % max + 1;
    return ids;
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        fprintf(stderr, "bench: could not remove %s\n", dir);
}

enum { BLOCKS = 8 };

/* Times ONE (and TWO, when not NULL) on the N ids at IDS, in BLOCKS blocks each, in turns:
 * block b of ONE on the ids of block b, and TWO on the ids of block b in the other half of
 * the list (so each reads ids the other has not just read), ONE first in even blocks and TWO
 * first in odd ones (so neither always follows the other). ns per call into *T1 and *T2 (-1
 * when TWO is NULL). Nothing is run if FAILED. */
static void timed_pair(size_t (*one)(void *, uint64_t), size_t (*two)(void *, uint64_t),
                       void *ctx, const uint64_t *ids, size_t n, int failed, double *t1,
                       double *t2)
{
    double s1 = 0, s2 = 0;
    size_t per = n / BLOCKS, half = n / 2;
    for (int b = 0; !failed && b < BLOCKS; b++) {
        size_t lo = (size_t)b * per, hi = b == BLOCKS - 1 ? n : lo + per;
        for (int turn = 0; turn < 2; turn++) {
            bool first = (turn == 0) == (b % 2 == 0); /* ONE's turn */
            if (!first && !two)
                continue;
            double t = now_ns();
            for (size_t i = lo; i < hi; i++)
                sink += first ? one(ctx, ids[i]) : two(ctx, ids[(i + half) % n]);
            (first ? &s1 : &s2)[0] += now_ns() - t;
        }
    }
    *t1 = s1 / (double)n;
    *t2 = two ? s2 / (double)n : -1;
}

/* One run of every phase on SYS at scale A; figures into FIG. -1 if a phase failed. */
static int run_once(const bench_sys *sys, long a, double fig[NFIG])
{
    char dir[] = "/tmp/relstore-bench-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    double objects = 11.0 * (double)a;
    size_t nget = a * 10 < 200000 ? (size_t)a * 10 : 200000, nwalk = a < 100000 ? (size_t)a : 100000;
    uint64_t *gets = random_ids(nget, (uint64_t)a * 10), *walks = random_ids(nwalk, (uint64_t)a);
    uint64_t *upd = random_ids((size_t)a / 10, (uint64_t)a * 10);
    uint64_t *upd1k = random_ids(1000, (uint64_t)a * 10);
    malloc_trim(0);
    long rss0 = rss_bytes();
    void *ctx = sys->create(dir);
    int rc = ctx && gets && walks && upd && upd1k ? 0 : -1;
    double t = now_ns();
    rc = rc || sys->insert(ctx, a);
    fig[F_INSERT] = (now_ns() - t) / objects;
    fig[F_MEM] = (double)(rss_bytes() - rss0) / objects;
    /* A system with calls by name and by handle runs the two in turns, a block of ids each,
     * so that neither finds the caches the other warmed; the others run the same blocks. */
    timed_pair(sys->get, sys->get_fld, ctx, gets, nget, rc, &fig[F_GET], &fig[F_GET_FLD]);
    timed_pair(sys->walk, sys->walk_fld, ctx, walks, nwalk, rc, &fig[F_WALK], &fig[F_WALK_FLD]);
    t = now_ns();
    rc = rc || sys->persist(ctx);
    fig[F_PERSIST] = (now_ns() - t) / objects;
    t = now_ns();
    rc = rc || sys->update(ctx, upd, (size_t)a / 10, 1);
    fig[F_UPDATE] = (now_ns() - t) / 1e6;
    t = now_ns();
    rc = rc || sys->update(ctx, upd1k, 1000, 2);
    fig[F_UPDATE1K] = (now_ns() - t) / 1e6;
    t = now_ns();
    rc = rc || sys->reopen(ctx);
    fig[F_REOPEN] = (now_ns() - t) / 1e6;
    fig[F_LOAD] = -1; /* not measured for this system */
    if (!rc && sys->load) {
        double ns = sys->load(ctx);
        rc = ns < 0;
        fig[F_LOAD] = ns / objects;
    }
    if (ctx)
        sys->destroy(ctx);
    remove_dir(dir);
    free(gets);
    free(walks);
    free(upd);
    free(upd1k);
    return rc ? -1 : 0;
}

typedef struct results {
    long scale;
    bool short_strings;
    double title_mean, name_mean;
    int nsys;
    const bench_sys *sys[NSYS];
    double med[NSYS][NFIG];
    bool ok[NSYS];
} results;

static int sys_index(const results *r, const char *name)
{
    for (int i = 0; i < r->nsys; i++)
        if (!strcmp(r->sys[i]->name, name) && r->ok[i])
            return i;
    return -1;
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

static void print_table(FILE *out, const results *r, int repeats)
{
    fprintf(out, "### %ld authors x 10 books (%ld objects), %s strings, median of %d\n\n",
            r->scale, r->scale * 11, r->short_strings ? "short" : "realistic", repeats);
    fprintf(out, "Titles %.1f bytes on average, names %.1f%s.\n", r->title_mean, r->name_mean,
            r->short_strings ? " (\"Book <id>\", \"Author <id>\")" : " (20-60 and 10-30)");
    machine(out);
    fprintf(out, "| figure |");
    for (int s = 0; s < r->nsys; s++)
        fprintf(out, " %s |", r->sys[s]->name);
    fprintf(out, "\n| --- |");
    for (int s = 0; s < r->nsys; s++)
        fprintf(out, " ---: |");
    fprintf(out, "\n");
    for (int f = 0; f < NFIG; f++) {
        fprintf(out, "| %s |", fig_names[f]);
        for (int s = 0; s < r->nsys; s++)
            if (!r->ok[s])
                fprintf(out, " failed |");
            else if (r->med[s][f] < 0)
                fprintf(out, " - |");
            else
                fprintf(out, r->med[s][f] < 10 ? " %.2f |" : " %.0f |", r->med[s][f]);
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
}

/* One goal of the benchmark: its ratio as measured, and its line in the table and in words. */
typedef struct goal {
    char what[96];   /* the table's name of the ratio */
    char words[160]; /* the summary's sentence: what must hold */
    double ratio;
    bool at_most;
    double limit;
} goal;

enum { MAX_GOALS = 12 };

static int add_goal(goal *g, int n, const char *what, const char *words, double ratio,
                    bool at_most, double limit)
{
    g[n] = (goal){.ratio = ratio, .at_most = at_most, .limit = limit};
    snprintf(g[n].what, sizeof g[n].what, "%s", what);
    snprintf(g[n].words, sizeof g[n].words, "%s", words);
    return n + 1;
}

static bool goal_met(const goal *g)
{
    return g->at_most ? g->ratio <= g->limit : g->ratio >= g->limit;
}

/* The goals of the performance issues that R's systems can show, into G; how many. A goal
 * whose systems did not run (or failed) is left out. */
static int collect_goals(const results *r, goal *g)
{
    int rel = sys_index(r, "relstore"), arr = sys_index(r, "arrays");
    int sqm = sys_index(r, "sqlite-mem"), lmp = sys_index(r, "lmdb-plain"), n = 0;
    if (rel < 0)
        return 0;
    const double *R = r->med[rel];
    if (arr >= 0) {
        n = add_goal(g, n, "reverse walk: relstore / arrays",
                     "a reverse walk takes at most 2x as long as over plain C arrays",
                     R[F_WALK] / r->med[arr][F_WALK], true, 2);
        n = add_goal(g, n, "get by id: relstore / arrays",
                     "a get by id takes at most 2x as long as from plain C arrays",
                     R[F_GET] / r->med[arr][F_GET], true, 2);
    }
    if (R[F_WALK_FLD] > 0) {
        n = add_goal(g, n, "reverse walk: by name / by handle",
                     "a walk by names (\"books\", \"title\") is within 1.2x of one by handles",
                     R[F_WALK] / R[F_WALK_FLD], true, 1.2);
        n = add_goal(g, n, "get by id: by name / by handle",
                     "a get reading \"title\" by name is within 1.2x of one by handle",
                     R[F_GET] / R[F_GET_FLD], true, 1.2);
    }
    if (sqm >= 0) {
        n = add_goal(g, n, "reverse walk: sqlite-mem / relstore",
                     "a reverse walk is at least 10x faster than SQLite in memory",
                     r->med[sqm][F_WALK] / R[F_WALK], false, 10);
        n = add_goal(g, n, "insert: sqlite-mem / relstore",
                     "an insert is at least 5x faster than SQLite in memory",
                     r->med[sqm][F_INSERT] / R[F_INSERT], false, 5);
        n = add_goal(g, n, "memory: relstore / sqlite-mem",
                     "an object takes no more memory than in SQLite in memory",
                     R[F_MEM] / r->med[sqm][F_MEM], true, 1);
    }
    double best = 0;
    const char *best_name = NULL;
    for (int s = 0; s < r->nsys; s++)
        if (r->ok[s] && s != rel && s != arr && (!best_name || r->med[s][F_WALK] < best)) {
            best = r->med[s][F_WALK];
            best_name = r->sys[s]->name;
        }
    if (best_name) {
        char what[96], words[160];
        snprintf(what, sizeof what, "reverse walk: best peer (%s) / relstore", best_name);
        snprintf(words, sizeof words, "a reverse walk is at least 3x faster than the fastest "
                 "other store (%s)", best_name);
        n = add_goal(g, n, what, words, best / R[F_WALK], false, 3);
    }
    if (lmp >= 0) {
        n = add_goal(g, n, "update 1% + persist: relstore / lmdb-plain",
                     "saving a change of 1% of the books takes at most half LMDB's time",
                     R[F_UPDATE] / r->med[lmp][F_UPDATE], true, 0.5);
        n = add_goal(g, n, "full load on open: relstore / lmdb-plain cursor scan",
                     "loading the file on open takes at most 3x LMDB's scan of the same records",
                     R[F_LOAD] / r->med[lmp][F_LOAD], true, 3);
    }
    return n;
}

static void print_targets(FILE *out, const results *r)
{
    goal g[MAX_GOALS];
    int n = collect_goals(r, g);
    if (!n)
        return;
    fprintf(out, "| target | measured | goal | |\n| --- | ---: | --- | --- |\n");
    for (int i = 0; i < n; i++)
        fprintf(out, "| %s | %.2fx | %s %.1fx | %s |\n", g[i].what, g[i].ratio,
                g[i].at_most ? "<=" : ">=", g[i].limit, goal_met(&g[i]) ? "met" : "MISSED");
    const double *R = r->med[sys_index(r, "relstore")];
    if (r->scale >= 1000000)
        fprintf(out, "| reopen of %ld objects to the first answer | %.0f ms | < 1000 ms | %s |\n",
                r->scale * 11, R[F_REOPEN], R[F_REOPEN] < 1000 ? "met" : "MISSED");
    fprintf(out, "\n");
}

/* "relstore 83 ns; plain C arrays 23 ns, ..." for figure F: each system that has it. */
static void summary_line(FILE *out, const results *r, const char *what, int f, const char *unit)
{
    static const struct { const char *sys, *words; } names[] = {
        {"relstore", "relstore"},           {"arrays", "plain C arrays"},
        {"sqlite-mem", "SQLite in memory"}, {"sqlite-wal", "SQLite on disk"},
        {"lmdb-plain", "LMDB"},             {"lmdb-expert", "LMDB, expert layout"},
    };
    fprintf(out, "  %s:\n     ", what);
    const char *sep = "";
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int s = sys_index(r, names[i].sys);
        if (s < 0 || r->med[s][f] < 0 || (f == F_LOAD && r->med[s][f] == 0))
            continue;
        double v = r->med[s][f];
        fprintf(out, "%s%s %.*f %s", sep, names[i].words, v < 10 ? 2 : 0, v, unit);
        sep = i ? ", " : "; ";
    }
    fprintf(out, "\n");
}

/* R in words: what each figure is, then each goal, met or missed on this machine. */
static void print_summary(FILE *out, const results *r, int repeats)
{
    fprintf(out, "\nThe benchmark in short: %ld authors with 10 books each (%ld objects), titles "
            "of %s, medians of %d runs.\n", r->scale, r->scale * 11,
            r->short_strings ? "\"Book <id>\"" : "20-60 bytes, names of 10-30", repeats);
    fprintf(out, "Each line: relstore first, then the same work in the others; less is "
            "better.\n\n");
    summary_line(out, r, "get a book by id and read its title", F_GET, "ns");
    summary_line(out, r, "walk an author's 10 books (author.books), reading each title", F_WALK,
                 "ns");
    summary_line(out, r, "insert, per object", F_INSERT, "ns");
    summary_line(out, r, "save a change of 1% of the books to the file", F_UPDATE, "ms");
    summary_line(out, r, "read the whole file back (relstore: open and load; LMDB: a cursor "
                 "scan), per object", F_LOAD, "ns");
    summary_line(out, r, "memory the process holds, per object", F_MEM, "bytes");
    goal g[MAX_GOALS];
    int n = collect_goals(r, g), met = 0;
    for (int i = 0; i < n; i++)
        met += goal_met(&g[i]);
    fprintf(out, "\nThe goals the project set itself (README, \"Benchmarks\"), on this machine at "
            "this size: %d of %d met.\n", met, n);
    for (int i = 0; i < n; i++) /* more digits where two would round onto the limit */
        fprintf(out, "  %-6s %s: %.*fx\n", goal_met(&g[i]) ? "met" : "missed", g[i].words,
                g[i].ratio - g[i].limit < 0.005 && g[i].limit - g[i].ratio < 0.005 ? 4 : 2, g[i].ratio);
    fprintf(out, "(Small stores fit in the cache, so the ratios move with the size: `make bench`\n"
            "measures 110,000 to 11 million objects; the README has its tables.)\n");
}

static int parse_scales(const char *s, long *scales)
{
    int n = 0;
    for (char *end; *s && n < MAX_SCALES; s = *end ? end + 1 : end) {
        scales[n] = strtol(s, &end, 10);
        if (scales[n] <= 0)
            return -1;
        n++;
    }
    return n;
}

static void write_walk_dat(const char *dir, const results *res, int nres)
{
    char path[600];
    snprintf(path, sizeof path, "%s/walk.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "objects"); /* a header line: gnuplot titles the lines with it */
    for (int s = 0; s < res[0].nsys; s++)
        fprintf(f, " %s", res[0].sys[s]->name);
    fprintf(f, "\n");
    for (int i = 0; i < nres; i++) {
        fprintf(f, "%ld", res[i].scale * 11);
        for (int s = 0; s < res[i].nsys; s++)
            fprintf(f, " %.1f", res[i].ok[s] ? res[i].med[s][F_WALK] : 0.0);
        fprintf(f, "\n");
    }
    fclose(f);
}

/* The workloads named in S ("realistic", "short", comma-separated) into W (1: short
 * strings), in that order; how many, or -1. */
static int parse_strings(const char *s, bool *w)
{
    int n = 0;
    for (const char *p = s; *p && n < 2;) {
        size_t len = strcspn(p, ",");
        if (len == 9 && !strncmp(p, "realistic", len))
            w[n++] = false;
        else if (len == 5 && !strncmp(p, "short", len))
            w[n++] = true;
        else
            return -1;
        p += len + (p[len] == ',');
    }
    return n ? n : -1;
}

static bool progress = true; /* a line on stderr as each system finishes */

/* Runs every system on workload R (its scale and strings set), filling R. */
static void run_scale(results *r, const char *only, int repeats, FILE *csv)
{
    if (bench_strings_make(r->scale, r->short_strings)) {
        fprintf(stderr, "bench: out of memory making the strings\n");
        exit(1);
    }
    r->title_mean = bench_strings_mean(1);
    r->name_mean = bench_strings_mean(0);
    for (int s = 0; s < NSYS; s++) {
        const bench_sys *sys = all_systems[s];
        if (only && !strstr(only, sys->name))
            continue;
        int k = r->nsys++;
        r->sys[k] = sys;
        r->ok[k] = true;
        double runs[NFIG][MAX_REPEATS];
        for (int rep = 0; rep < repeats && r->ok[k]; rep++) {
            rand_state = 0x9e3779b97f4a7c15u ^ (uint64_t)r->scale; /* same ids for all */
            double fig[NFIG] = {0};
            r->ok[k] = run_once(sys, r->scale, fig) == 0;
            for (int f = 0; f < NFIG; f++)
                runs[f][rep] = fig[f];
            if (csv && r->ok[k])
                fprintf(csv, "%s,%ld,%s,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f,%.3f,%.1f,%.3f,%.1f,"
                        "%.1f\n", r->short_strings ? "short" : "realistic", r->scale,
                        sys->name, rep + 1, fig[F_INSERT], fig[F_GET], fig[F_WALK],
                        fig[F_GET_FLD], fig[F_WALK_FLD], fig[F_UPDATE], fig[F_UPDATE1K],
                        fig[F_PERSIST], fig[F_REOPEN], fig[F_LOAD], fig[F_MEM]);
        }
        for (int f = 0; r->ok[k] && f < NFIG; f++)
            r->med[k][f] = bench_median(runs[f], repeats);
        if (progress || !r->ok[k])
            fprintf(stderr, "bench: %ld authors, %s strings, %s: %s\n", r->scale,
                    r->short_strings ? "short" : "realistic", sys->name,
                    r->ok[k] ? "done" : "FAILED");
    }
    bench_strings_free();
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"scales", required_argument, NULL, 's'}, {"repeats", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},    {"systems", required_argument, NULL, 'y'},
        {"strings", required_argument, NULL, 'w'}, {"summary", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    long scales[MAX_SCALES] = {10000, 100000, 1000000};
    int nscales = 3, repeats = 3, nwork = 1;
    bool work[2] = {false, true};
    const char *out_dir = NULL, *only = NULL;
    bool summary = false;
    for (int c; (c = getopt_long(argc, argv, "s:r:o:y:w:", opts, NULL)) != -1;) {
        if (c == 'S' && (summary = true) && !(progress = false))
            continue;
        if (c == 's' && (nscales = parse_scales(optarg, scales)) > 0)
            continue;
        if (c == 'r' && (repeats = atoi(optarg)) >= 1 && repeats <= MAX_REPEATS)
            continue;
        if (c == 'o' && (out_dir = optarg))
            continue;
        if (c == 'y' && (only = optarg))
            continue;
        if (c == 'w' && (nwork = parse_strings(optarg, work)) > 0)
            continue;
        fprintf(stderr, "usage: bench [--scales A,A,...] [--repeats N (1-15)] [--out DIR] "
                        "[--systems name,...] [--strings realistic,short] [--summary]\n");
        return 2;
    }
    FILE *csv = NULL, *md = NULL;
    char path[600];
    if (out_dir) {
        mkdir(out_dir, 0755);
        snprintf(path, sizeof path, "%s/runs.csv", out_dir);
        csv = fopen(path, "w");
        snprintf(path, sizeof path, "%s/RESULTS.md", out_dir);
        md = fopen(path, "w");
        if (!csv || !md) {
            fprintf(stderr, "bench: cannot write into %s: %s\n", out_dir, strerror(errno));
            return 1;
        }
        fprintf(csv, "strings,scale,system,repeat,insert_ns,get_ns,walk_ns,get_fld_ns,"
                     "walk_fld_ns,update_1pct_ms,update_1000_ms,persist_ns,reopen_ms,load_ns,"
                     "memory_bytes\n");
    }
    static results res[2][MAX_SCALES];
    for (int w = 0; w < nwork; w++)
        for (int i = 0; i < nscales; i++) {
            results *r = &res[w][i];
            r->scale = scales[i];
            r->short_strings = work[w];
            run_scale(r, only, repeats, csv);
            if (summary) {
                print_summary(stdout, r, repeats);
            } else {
                print_table(stdout, r, repeats);
                print_targets(stdout, r);
            }
            fflush(stdout);
            if (md) {
                print_table(md, r, repeats);
                print_targets(md, r);
            }
        }
    if (nscales > 1) {
        int rel = sys_index(&res[0][0], "relstore");
        if (rel >= 0 && res[0][nscales - 1].ok[rel]) {
            double ratio =
                res[0][nscales - 1].med[rel][F_UPDATE1K] / res[0][0].med[rel][F_UPDATE1K];
            char line[200];
            snprintf(line, sizeof line,
                     "Cost follows changes: relstore's 1,000-change snapshot at %ld objects is "
                     "%.2fx its time at %ld objects, %s strings (goal <= 2x: %s).\n\n",
                     res[0][nscales - 1].scale * 11, ratio, res[0][0].scale * 11,
                     work[0] ? "short" : "realistic", ratio <= 2 ? "met" : "MISSED");
            fputs(line, stdout);
            if (md)
                fputs(line, md);
        }
    }
    if (out_dir)
        write_walk_dat(out_dir, res[0], nscales);
    if (csv)
        fclose(csv);
    if (md)
        fclose(md);
    return 0;
}
