/*
 * bench/workload.c - the strings of the benchmark's workload, made once per scale and shared
 * by every system, so that each inserts the same bytes and none pays for making them.
 *
 * Realistic (the default): a book's title is 20 to 60 bytes, an author's name 10 to 30, each
 * length uniform, the text words of a fixed list, all drawn from a generator seeded by the
 * object's id (the same strings at every run and every scale). Real metadata looks like this:
 * the median package name is 16 bytes, and nearly every one-line description passes 14.
 * Short: "Book <id>" and "Author <id>", the strings the suite began with, which fit inside a
 * slot; kept as a second workload to show what the realistic one costs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "bench/systems.h"

static char *text;          /* every string, NUL-ended, back to back */
static uint64_t *at;        /* at[k]: where string k starts (k < n); at[n]: the end */
static long nauthors;
static int short_strings;

/* Words of one realistic string of MIN..MAX bytes into BUF, from the generator *S. */
static size_t realistic(uint64_t *s, char *buf, size_t min, size_t max)
{
    static const char *const words[] = {
        "the", "silent", "river", "of", "night", "garden", "a", "memory", "stone", "winter",
        "kingdom", "light", "and", "shadow", "journey", "last", "house", "ocean", "poetry",
        "crime", "history", "french", "travel", "science", "war", "classic", "modern", "love",
        "island", "fiction", "letters", "from", "northern", "city", "summer", "children",
        "secret", "empire", "mountain", "songs", "in", "dark", "golden", "age", "our", "time",
        "red", "book", "small", "world", "great", "lost", "voices", "sea", "old", "new",
        "year", "forest", "quiet", "storm", "paper", "glass", "bridge", "blue",
    };
    enum { NWORDS = sizeof words / sizeof *words };
    size_t want = min + bench_rnd(s) % (max - min + 1), n = 0;
    while (n < want) {
        const char *w = words[bench_rnd(s) % NWORDS];
        size_t wl = strlen(w);
        if (n)
            buf[n++] = ' ';
        if (n + wl > want)
            wl = want - n; /* the last word cut to the length drawn */
        memcpy(buf + n, w, wl);
        n += wl;
    }
    buf[n] = 0;
    return n;
}

/* String K (0: author 1's name, then its 10 books' titles, then author 2's name, ...) into
 * BUF; its length. */
static size_t make_one(long k, char *buf)
{
    long a = k / 11 + 1, b = k % 11; /* b 0: the author; else its b-th book */
    uint64_t id = b ? (uint64_t)(a - 1) * 10 + (uint64_t)b : (uint64_t)a;
    if (short_strings)
        return (size_t)snprintf(buf, BENCH_TITLE_MAX + 1, b ? "Book %llu" : "Author %llu",
                                (unsigned long long)id);
    uint64_t s = (id * 0x9e3779b97f4a7c15u) ^ (b ? 0x5bd1e995u : 0xc2b2ae35u);
    s = s ? s : 1;
    bench_rnd(&s);
    return b ? realistic(&s, buf, 20, 60) : realistic(&s, buf, 10, 30);
}

int bench_strings_make(long authors, int short_ones)
{
    bench_strings_free();
    size_t n = (size_t)authors * 11, cap = n * 24 + 64, used = 0;
    text = malloc(cap);
    at = malloc((n + 1) * sizeof *at);
    if (!text || !at) {
        bench_strings_free();
        return -1;
    }
    nauthors = authors;
    short_strings = short_ones;
    for (size_t k = 0; k < n; k++) {
        if (cap - used < BENCH_TITLE_MAX + 1) {
            char *more = realloc(text, cap *= 2);
            if (!more) {
                bench_strings_free();
                return -1;
            }
            text = more;
        }
        at[k] = used;
        used += make_one((long)k, text + used) + 1;
    }
    at[n] = used;
    return 0;
}

void bench_strings_free(void)
{
    free(text);
    free(at);
    text = NULL;
    at = NULL;
    nauthors = 0;
}

const char *bench_title(uint64_t id, size_t *len)
{
    size_t k = (size_t)((id - 1) / 10 * 11 + (id - 1) % 10 + 1);
    *len = (size_t)(at[k + 1] - at[k] - 1);
    return text + at[k];
}

const char *bench_name(uint64_t a, size_t *len)
{
    size_t k = (size_t)(a - 1) * 11;
    *len = (size_t)(at[k + 1] - at[k] - 1);
    return text + at[k];
}

double bench_strings_mean(int books)
{
    size_t n = (size_t)nauthors * 11, sum = 0, count = 0;
    for (size_t k = 0; k < n; k++)
        if ((k % 11 != 0) == (books != 0)) {
            sum += at[k + 1] - at[k] - 1;
            count++;
        }
    return count ? (double)sum / (double)count : 0;
}
