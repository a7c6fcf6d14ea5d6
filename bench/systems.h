/*
 * bench/systems.h - the systems the benchmark suite runs the same workload on.
 *
 * The workload: A authors with 10 books each. Author a (1..A) has books (a-1)*10+1 .. a*10.
 * An author's name is "Author <a>", a book's title "Book <id>", its pages start at 0.
 * Every system is driven through this table by bench/bench.c, in one process, so their
 * figures come from the same run on the same machine.
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

extern const bench_sys bench_relstore, bench_arrays;
extern const bench_sys bench_sqlite_mem, bench_sqlite_wal;
extern const bench_sys bench_lmdb_plain, bench_lmdb_expert;

#endif
