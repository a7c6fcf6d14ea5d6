/*
 * tests/async_close.c - requests in flight at close, cancelled by the thousand (R10).
 *
 *   async_close [SEED]
 *
 * Phase 1: every thread of libuv's pool is held busy; 1,000 requests of every kind are
 * queued behind them and all cancelled; store_close() says STORE_EBUSY at once; the pool is
 * released and the loop drained: every callback runs exactly once, with STORE_ECANCELED,
 * and the store is as it was. Phase 2: 1,000 requests run for real, snapshots included;
 * every callback runs once. Throughout, the I/O calls that write the store's file (pwrite,
 * pwritev, writev, fsync, fdatasync, msync, ftruncate) are counted by thread: the loop's
 * thread must make none. Then the store closes cleanly.
 */
/* Interposing both pwrite and pwrite64 needs their plain names, not the 64-bit aliases. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store_async.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "store/check.h"
#include "tests/tap.h"

/* ---- Who writes: interposed I/O calls, counted by thread ---------------------------------- */

static pthread_t loop_thread;
static int watching;
static long loop_io, pool_io;

static void note_io(void)
{
    if (!__atomic_load_n(&watching, __ATOMIC_ACQUIRE))
        return;
    if (pthread_equal(pthread_self(), loop_thread))
        __atomic_add_fetch(&loop_io, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&pool_io, 1, __ATOMIC_RELAXED);
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* The project builds with hidden visibility; these must be seen by liblmdb. */
#define INTERPOSE __attribute__((visibility("default")))

INTERPOSE ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    note_io();
    return NEXT(pwrite)(fd, buf, n, off);
}

INTERPOSE ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    note_io();
    return NEXT(pwrite64)(fd, buf, n, off);
}

INTERPOSE ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    note_io();
    return NEXT(pwritev)(fd, iov, n, off);
}

INTERPOSE ssize_t writev(int fd, const struct iovec *iov, int n)
{
    note_io();
    return NEXT(writev)(fd, iov, n);
}

INTERPOSE int fsync(int fd)
{
    note_io();
    return NEXT(fsync)(fd);
}

INTERPOSE int fdatasync(int fd)
{
    note_io();
    return NEXT(fdatasync)(fd);
}

INTERPOSE int msync(void *addr, size_t len, int flags)
{
    note_io();
    return NEXT(msync)(addr, len, flags);
}

INTERPOSE int ftruncate(int fd, off_t len)
{
    note_io();
    return NEXT(ftruncate)(fd, len);
}

/* ---- The requests ----------------------------------------------------------------------- */

enum { N = 1000, POOL = 4 };

static store *db;
static store_model *Author, *Book;
static uv_loop_t loop;
static store_req reqs[N];
static int calls[N];
static int results[N];
static uv_sem_t hold;

static void on_done(store_req *req)
{
    size_t i = (size_t)(req - reqs);
    calls[i]++;
    results[i] = req->result;
    store_req_cleanup(req);
}

static void block_work(uv_work_t *w)
{
    (void)w;
    uv_sem_wait(&hold);
}

static void block_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Queues request I, of a kind chosen by the seed. */
static int submit(int i, uint64_t *seed, store_obj *author)
{
    switch (next_rand(seed) % 6) {
    case 0:
        return store_create_async(&loop, &reqs[i], db, Author,
                                  (store_value[]){STORE_V_STR("name", "async"), {0}}, on_done);
    case 1:
        return store_get_async(&loop, &reqs[i], db, Book, next_rand(seed) % 50 + 1, on_done);
    case 2:
        return store_reverse_async(&loop, &reqs[i], db, author, "books", on_done);
    case 3:
        return store_update_async(&loop, &reqs[i], db, author,
                                  (store_value[]){STORE_V_STR("name", "renamed"), {0}}, on_done);
    case 4:
        return store_create_async(&loop, &reqs[i], db, Book,
                                  (store_value[]){STORE_V_STR("title", "t"),
                                                  STORE_V_REF("author", author), {0}},
                                  on_done);
    default:
        return store_snapshot_async(&loop, &reqs[i], db, on_done);
    }
}

static int count_calls(int want)
{
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += calls[i] == want;
    return ok;
}

static char *dump_of(void)
{
    char *text = NULL;
    return rs_dump_store(db, &text) == STORE_OK ? text : NULL;
}

static void phase_cancel(uint64_t *seed, store_obj *author)
{
    static uv_work_t blockers[POOL];
    uv_sem_init(&hold, 0);
    for (int i = 0; i < POOL; i++)
        uv_queue_work(&loop, &blockers[i], block_work, block_done);
    char *before = dump_of();
    int submitted = 0, cancelled = 0;
    for (int i = 0; i < N; i++)
        submitted += submit(i, seed, author) == STORE_OK;
    tap_ok(submitted == N, "1,000 requests queued behind a busy pool (%d)", submitted);
    tap_ok(store_close(db) == STORE_EBUSY, "store_close says STORE_EBUSY while they are out");
    for (int i = 0; i < N; i++)
        cancelled += store_cancel(&reqs[i]) == STORE_OK;
    tap_ok(cancelled == N, "every one cancelled before it started (%d)", cancelled);
    for (int i = 0; i < POOL; i++)
        uv_sem_post(&hold);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_sem_destroy(&hold);
    tap_ok(count_calls(1) == N, "every callback ran exactly once");
    int ecanceled = 0;
    for (int i = 0; i < N; i++)
        ecanceled += results[i] == STORE_ECANCELED;
    tap_ok(ecanceled == N, "every result is STORE_ECANCELED (%d)", ecanceled);
    char *after = dump_of();
    tap_ok(before && after && !strcmp(before, after), "cancelled requests changed nothing");
    free(before);
    free(after);
}

static void phase_run(uint64_t *seed, store_obj *author)
{
    memset(calls, 0, sizeof calls);
    int submitted = 0, failed = 0;
    for (int i = 0; i < N; i++)
        submitted += submit(i, seed, author) == STORE_OK;
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++)
        failed += results[i] != STORE_OK && results[i] != STORE_ENOTFOUND;
    tap_ok(submitted == N && count_calls(1) == N, "1,000 requests ran, each called back once");
    tap_ok(failed == 0, "none failed (%d)", failed);
    tap_ok(store_check(db) == STORE_OK, "store_check after them");
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)getpid() * 0x9e3779b9u;
    setenv("UV_THREADPOOL_SIZE", "4", 1); /* POOL blockers fill the pool exactly */
    printf("# async_close: seed %#" PRIx64 " (replay: async_close %#" PRIx64 ")\n", seed, seed);
    static const store_field af[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    static const store_field bf[] = {{.name = "title", .type = STORE_TEXT},
                                     {.name = "author", .type = STORE_FK, .to = "Author",
                                      .related_name = "books"},
                                     {0}};
    store_schema *schema;
    store_schema_new(&schema);
    store_schema_add(schema, "Author", af);
    store_schema_add(schema, "Book", bf);
    char dir[] = "/tmp/relstore-r10-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/r10.db", dir);
    tap_ok(store_open(&db, schema, path, NULL) == STORE_OK, "open");
    Author = store_model_find(db, "Author");
    Book = store_model_find(db, "Book");
    store_obj *author;
    store_create(db, Author, (store_value[]){STORE_V_STR("name", "kept"), {0}}, &author);
    store_snapshot(db);
    uv_loop_init(&loop);
    loop_thread = pthread_self();
    __atomic_store_n(&watching, 1, __ATOMIC_RELEASE);
    phase_cancel(&seed, author);
    phase_run(&seed, author);
    __atomic_store_n(&watching, 0, __ATOMIC_RELEASE);
    tap_ok(loop_io == 0, "the loop's thread made no write or sync call (%ld; the pool made %ld)",
           loop_io, pool_io);
    tap_ok(pool_io > 0, "the snapshots did write, on the pool's threads");
    tap_ok(uv_loop_close(&loop) == 0, "the loop closes: nothing left in it");
    tap_ok(store_close(db) == STORE_OK, "the store closes once every callback has come");
    store_schema_free(schema);
    unlink(path);
    char lock[80];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    rmdir(dir);
    return tap_done();
}
