/*
 * bench/common.h - what the benchmark programs share: the workload's schema, a clock, the
 * median of repeats, and stopping on a failed call.
 */
#ifndef RS_BENCH_COMMON_H
#define RS_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <time.h>

/* The workload's models: authors, and books with a title, a page count and an author. */
static const store_field bench_author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 255},
    {0},
};
static const store_field bench_book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 255},
    {.name = "pages", .type = STORE_INT, STORE_DEFAULT_INT(0)},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books"},
    {0},
};

/* A new schema of the workload's models; the caller frees it. */
static inline store_schema *bench_schema(void)
{
    store_schema *s = NULL;
    if (store_schema_new(&s) || store_schema_add(s, "Author", bench_author_fields) ||
        store_schema_add(s, "Book", bench_book_fields)) {
        fprintf(stderr, "bench: cannot declare the schema: %s\n", store_errmsg(NULL));
        exit(1);
    }
    return s;
}

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench_by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the N (at most 64) values at V; V is left as it was. */
static inline double bench_median(const double *v, int n)
{
    double s[64];
    n = n > 64 ? 64 : n;
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, bench_by_value);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The next number of the xorshift generator whose state is *S. */
static inline uint64_t bench_rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Text of words (the first NWORDS, at most 30, of a fixed list) into BUF, between MIN and MAX
 * bytes (a short last word padded with 'x'), drawn from the generator *SEED. */
static inline const char *bench_text(uint64_t *seed, char *buf, size_t min, size_t max,
                                     size_t nwords)
{
    static const char *const words[30] = {
        "the", "silent", "river", "of", "night", "garden", "a", "memory", "stone", "winter",
        "kingdom", "light", "and", "shadow", "journey", "last", "house", "ocean", "poetry",
        "crime", "history", "french", "travel", "science", "war", "classic", "modern", "love",
        "island", "fiction"};
    size_t n = 0, want = min + bench_rnd(seed) % (max - min + 1);
    buf[0] = 0;
    while (n < want) {
        const char *w = words[bench_rnd(seed) % (nwords < 30 ? nwords : 30)];
        n += (size_t)snprintf(buf + n, max + 1 - n, "%s%s", n ? " " : "", w);
        if (n >= max)
            break;
    }
    if (n < min) /* pad the last word */
        for (; n < min; n++)
            buf[n] = 'x';
    buf[n > max ? max : n] = 0;
    return buf;
}

/* Stops the program on a failed call, saying which and why. */
static inline void bench_must(int rc, store *db, const char *what)
{
    if (rc) {
        fprintf(stderr, "bench: %s: %s (%s)\n", what, store_strerror(rc), store_errmsg(db));
        exit(1);
    }
}

#endif
