/*
 * bench/systems.h - the systems the benchmark suite runs the same workload on.
 *
 * The workload: A authors with 10 books each. Author a (1..A) has books (a-1)*10+1 .. a*10.
 * Names and titles come from bench/workload.c (realistic lengths unless the run asks for the
 * short strings), pages start at 0. Every system is driven through this table by
 * bench/bench.c, in one process, so their figures come from the same run on the same machine.
 */
#ifndef RS_BENCH_SYSTEMS_H
#define RS_BENCH_SYSTEMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_sys {
    const char *name; /* as printed in the tables: "relstore", "sqlite-mem", ... */
    /* A new, empty system keeping its files (if any) in the empty folder DIR; NULL on error. */
    void *(*create)(const char *dir);
    /* Inserts the A authors and their books, author by author; 0 or -1. */
    int (*insert)(void *ctx, long authors);
    /* Reads book ID; returns its title's length (so the read cannot be optimized away). */
    size_t (*get)(void *ctx, uint64_t book_id);
    /* Walks the books of author ID through the relation, reading each title; returns the sum
     * of their lengths. */
    size_t (*walk)(void *ctx, uint64_t author_id);
    /* The same two through handles found once (a store with calls by name; else NULL). */
    size_t (*get_fld)(void *ctx, uint64_t book_id);
    size_t (*walk_fld)(void *ctx, uint64_t author_id);
    /* Sets pages = VALUE on the N books of IDS and makes that durable, as one transaction
     * (or one snapshot); 0 or -1. */
    int (*update)(void *ctx, const uint64_t *ids, size_t n, int64_t value);
    /* Makes the whole content durable in DIR from scratch (for a system that keeps it in
     * memory: writes it all out; for one that is durable already: a no-op returning 0). */
    int (*persist)(void *ctx);
    /* Closes and reopens the system from what is durable in DIR, then answers one reverse
     * walk (of author 1) so that the store is really usable; 0 or -1. */
    int (*reopen)(void *ctx);
    /* Reads everything durable into a usable form, timing only that, and returns the
     * nanoseconds it took (negative on error): relstore closes the store, then times a
     * store_open() that loads every object; raw LMDB times a full cursor scan of every
     * record, touching its bytes. NULL for a system where it means nothing. */
    double (*load)(void *ctx);
    /* Closes and frees everything (the folder is removed by the driver). */
    void (*destroy)(void *ctx);
} bench_sys;

/* ---- The workload's strings (bench/workload.c) ----------------------------------------- */

enum { BENCH_TITLE_MAX = 60, BENCH_NAME_MAX = 30 };

/* Makes the names and titles of AUTHORS authors (short ones: "Author <a>", "Book <id>");
 * 0, or -1 when out of memory. */
int bench_strings_make(long authors, int short_ones);
void bench_strings_free(void);

/* Book ID's title, author A's name: NUL-ended, the length in *LEN. */
const char *bench_title(uint64_t id, size_t *len);
const char *bench_name(uint64_t a, size_t *len);

/* The mean length of the titles (BOOKS) or of the names. */
double bench_strings_mean(int books);

extern const bench_sys bench_relstore, bench_arrays;
extern const bench_sys bench_sqlite_mem, bench_sqlite_wal;
extern const bench_sys bench_lmdb_plain, bench_lmdb_expert;

#endif
