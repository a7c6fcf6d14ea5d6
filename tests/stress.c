/*
 * tests/stress.c - many threads on one store, then proof that nothing broke.
 *
 *   stress [THREADS] [ROUNDS] [SEED] [SECONDS]   defaults: 4 threads, 3,000 rounds each
 *
 * With SECONDS, each thread goes on past ROUNDS until that much time has passed.
 *
 * Each thread owns its authors: it alone creates them and their books and reviews, moves
 * books between them, updates them and deletes them (cascading to books and reviews), so it
 * knows exactly how many books each of its authors has. Every thread also reads the whole
 * store: gets of random ids of every model, reverse counts of anybody's authors, and runs of
 * two queries built once before the threads start and shared by all of them (a count of an
 * owned author's books, which must be the owner's count, and an indexed find, ordered and
 * sliced), and updates its own authors by query. Threads 0 and 1 snapshot every 250 rounds,
 * and a libuv loop on its own thread runs async creates, gets, reverse copies, query counts
 * and snapshots at the same time. At the end: store_check(), every owned author's reverse
 * count as its owner counted it, ids unique per model, then a snapshot, a reopen and the same
 * dump. It runs plain, under ASan and under TSan (the
 * latter reports any data race).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store_async.h>
#include <time.h>
#include <unistd.h>

#include "store/check.h"
#include "tests/tap.h"

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 64, .index = true},
    {.name = "age", .type = STORE_INT, .null = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 64},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {0},
};
static const store_field review_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "reviews",
     .on_delete = STORE_CASCADE},
    {.name = "body", .type = STORE_TEXT},
    {0},
};

enum { OWN = 16, MAX_THREADS = 16 };

static store *db;
static store_model *Author, *Book, *Review;

static double deadline; /* CLOCK_MONOTONIC seconds; 0: rounds only */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct worker {
    int index;
    uint64_t seed;
    int rounds;
    store_obj *authors[OWN];
    size_t books[OWN]; /* how many books each owned author has */
    int errors;
    char first_error[160];
} worker;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void fail(worker *w, const char *what, int rc)
{
    if (!w->errors++)
        snprintf(w->first_error, sizeof w->first_error, "%s: %s (%s)", what,
                 store_strerror(rc), store_errmsg(db));
}

static store_obj *new_author(worker *w)
{
    store_obj *a = NULL;
    int rc = store_create(db, Author, (store_value[]){STORE_V_STR("name", "owned"), {0}}, &a);
    if (rc)
        fail(w, "create author", rc);
    return a;
}

static void add_book(worker *w, int a)
{
    store_obj *b;
    int rc = store_create(db, Book, (store_value[]){STORE_V_STR("title", "t"),
                                                    STORE_V_REF("author", w->authors[a]), {0}},
                          &b);
    if (rc)
        return fail(w, "create book", rc);
    w->books[a]++;
    if (next_rand(&w->seed) % 2 &&
        (rc = store_create(db, Review, (store_value[]){STORE_V_REF("book", b),
                                                       STORE_V_STR("body", "r"), {0}},
                           NULL)))
        fail(w, "create review", rc);
}

/* Moves the first book of owned author A to owned author B. */
static void move_book(worker *w, int a, int b)
{
    store_iter it = store_reverse(w->authors[a], "books");
    store_obj *book = store_next(&it); /* our own relation: nobody else changes it */
    if (!book || a == b)
        return;
    int rc = store_update(db, book, (store_value[]){STORE_V_REF("author", w->authors[b]), {0}});
    if (rc)
        return fail(w, "move book", rc);
    w->books[a]--;
    w->books[b]++;
}

static void replace_author(worker *w, int a)
{
    int rc = store_delete(db, w->authors[a]); /* cascades to its books and their reviews */
    if (rc)
        return fail(w, "delete author", rc);
    w->authors[a] = new_author(w);
    w->books[a] = 0;
}

/* Reads anybody's data: only calls whose results do not depend on another thread's timing
 * beyond what they return (no walks of relations other threads change). */
static void read_anything(worker *w)
{
    store_model *models[] = {Author, Book, Review};
    store_model *m = models[next_rand(&w->seed) % 3];
    uint64_t next = store_model_next_id(m);
    store_obj *o;
    int rc = store_get(db, m, next_rand(&w->seed) % next + 1, &o);
    if (rc != STORE_OK && rc != STORE_ENOTFOUND)
        fail(w, "get", rc);
    if (rc == STORE_OK && m == Author) {
        store_iter it = store_reverse(o, "books");
        (void)store_count(&it);
    }
}

/* Built before the threads start, run by all of them at once. */
static store_query *books_of, *named, *own_author;

/* Queries: the count of owned author A's books, a find of anybody's, an update by query. */
static void query_round(worker *w, int a, int round)
{
    size_t n = 0;
    int rc = store_query_count(books_of, (store_value[]){STORE_V_REF("a", w->authors[a]), {0}},
                               &n);
    if (rc || n != w->books[a])
        return fail(w, "query count of an owned author", rc);
    store_result r;
    rc = store_query_find(named, (store_value[]){STORE_V_STR("n", round % 2 ? "owned" : "seed"),
                                                 {0}},
                          &r);
    if (rc || r.count > 5)
        return fail(w, "indexed find", rc);
    store_result_free(&r);
    rc = store_query_update(own_author,
                            (store_value[]){STORE_V_INT("id", (int64_t)store_id(w->authors[a])),
                                            {0}},
                            (store_value[]){STORE_V_INT("age", round), {0}}, &n);
    if (rc || n != 1)
        fail(w, "update by query", rc);
}

static void round_of(worker *w, int round)
{
    int a = (int)(next_rand(&w->seed) % OWN), b = (int)(next_rand(&w->seed) % OWN);
    switch (next_rand(&w->seed) % 10) {
    case 0:
    case 1:
    case 2:
        add_book(w, a);
        break;
    case 3:
        move_book(w, a, b);
        break;
    case 4: {
        int rc = store_update(db, w->authors[a], (store_value[]){STORE_V_INT("age", round), {0}});
        if (rc)
            fail(w, "update author", rc);
        break;
    }
    case 5:
        if (next_rand(&w->seed) % 8 == 0)
            replace_author(w, a);
        break;
    case 6:
        query_round(w, a, round);
        break;
    default: {
        read_anything(w);
        store_iter it = store_reverse(w->authors[a], "books");
        if (store_count(&it) != w->books[a])
            fail(w, "reverse count of an owned author", 0);
        break;
    }
    }
    if (w->index < 2 && round % 250 == 0) {
        int rc = store_snapshot(db);
        if (rc)
            fail(w, "snapshot", rc);
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < OWN; i++)
        w->authors[i] = new_author(w);
    for (int r = 0; r < w->rounds || (deadline && now_s() < deadline); r++)
        round_of(w, r);
    return NULL;
}

/* ---- The async side: a loop on its own thread ---------------------------------------------- */

typedef struct async_side {
    uv_loop_t loop;
    store_req req;
    int left, errors, done;
    uint64_t seed;
} async_side;

static void async_next(async_side *s);

static void async_cb(store_req *req)
{
    async_side *s = req->data;
    if (req->result && req->result != STORE_ENOTFOUND)
        s->errors++;
    store_req_cleanup(req);
    s->done++;
    if (--s->left > 0)
        async_next(s);
}

static void async_next(async_side *s)
{
    s->req.data = s;
    int rc;
    switch (next_rand(&s->seed) % 5) {
    case 0:
        rc = store_create_async(&s->loop, &s->req, db, Author,
                                (store_value[]){STORE_V_STR("name", "async"), {0}}, async_cb);
        break;
    case 1:
        rc = store_get_async(&s->loop, &s->req, db, Book,
                             next_rand(&s->seed) % store_model_next_id(Book) + 1, async_cb);
        break;
    case 2:
        rc = store_snapshot_async(&s->loop, &s->req, db, async_cb);
        break;
    case 3: {
        store_obj *a;
        rc = store_get(db, Author, 1, &a);
        if (!rc)
            rc = store_query_count_async(&s->loop, &s->req, books_of,
                                         (store_value[]){STORE_V_REF("a", a), {0}}, async_cb);
        break;
    }
    default: {
        /* Author 1 is created before the threads start and never deleted. */
        store_obj *a;
        rc = store_get(db, Author, 1, &a);
        if (!rc)
            rc = store_reverse_async(&s->loop, &s->req, db, a, "books", async_cb);
        break;
    }
    }
    if (rc)
        s->errors++;
}

static void *async_main(void *arg)
{
    async_side *s = arg;
    async_next(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- Checking ------------------------------------------------------------------------------ */

static char *dump_of(store *d)
{
    char *text = NULL;
    return rs_dump_store(d, &text) == STORE_OK ? text : NULL;
}

static store_schema *make_schema(void)
{
    store_schema *s;
    store_schema_new(&s);
    store_schema_add(s, "Author", author_fields);
    store_schema_add(s, "Book", book_fields);
    store_schema_add(s, "Review", review_fields);
    return s;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    int rounds = argc > 2 ? atoi(argv[2]) : 3000;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0; /* 0: pick one */
    if (!seed)
        seed = (uint64_t)getpid() * 2654435761u;
    double seconds = argc > 4 ? atof(argv[4]) : 0;
    if (threads < 1 || threads > MAX_THREADS)
        threads = 4;
    printf("# stress: %d threads, %d rounds, %.0f s, seed %#" PRIx64
           " (replay: stress %d %d %#" PRIx64 " %.0f)\n",
           threads, rounds, seconds, seed, threads, rounds, seed, seconds);
    char dir[] = "/tmp/relstore-stress-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/stress.db", dir);
    store_schema *schema = make_schema();
    tap_ok(store_open(&db, schema, path, NULL) == STORE_OK, "open %s", path);
    Author = store_model_find(db, "Author");
    Book = store_model_find(db, "Book");
    Review = store_model_find(db, "Review");
    /* A few authors first, so that every read has something to find. */
    for (int i = 0; i < 8; i++)
        store_create(db, Author, (store_value[]){STORE_V_STR("name", "seed"), {0}}, NULL);

    tap_ok(store_query_new(db, Book, &books_of) == STORE_OK &&
               store_query_filter(books_of, (store_value[]){STORE_V_PARAM("author", "a"), {0}}) ==
                   STORE_OK &&
               store_query_new(db, Author, &named) == STORE_OK &&
               store_query_filter(named, (store_value[]){STORE_V_PARAM("name", "n"), {0}}) ==
                   STORE_OK &&
               store_query_order_by(named, (const char *const[]){"-age", NULL}) == STORE_OK &&
               store_query_slice(named, 1, 5) == STORE_OK &&
               store_query_new(db, Author, &own_author) == STORE_OK &&
               store_query_filter(own_author, (store_value[]){STORE_V_PARAM("id", "id"), {0}}) ==
                   STORE_OK,
           "queries built");
    deadline = seconds > 0 ? now_s() + seconds : 0;
    static worker workers[MAX_THREADS];
    pthread_t tids[MAX_THREADS], async_tid;
    async_side side = {.left = rounds / 4 + 1, .seed = seed ^ 0xa5a5};
    uv_loop_init(&side.loop);
    for (int t = 0; t < threads; t++) {
        workers[t] = (worker){.index = t, .rounds = rounds,
                              .seed = (seed + (uint64_t)t * 7919) | 1}; /* xorshift: never 0 */
        pthread_create(&tids[t], NULL, work, &workers[t]);
    }
    pthread_create(&async_tid, NULL, async_main, &side);
    for (int t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    pthread_join(async_tid, NULL);
    uv_loop_close(&side.loop);

    for (int t = 0; t < threads; t++)
        tap_ok(workers[t].errors == 0, "thread %d: %d errors%s%s", t, workers[t].errors,
               workers[t].errors ? ", first: " : "", workers[t].first_error);
    tap_ok(side.errors == 0, "the async side: %d requests, %d errors", side.done, side.errors);
    int rc = store_check(db);
    tap_ok(rc == STORE_OK, "store_check: %s", rc ? store_errmsg(db) : "ok");
    int wrong = 0;
    for (int t = 0; t < threads; t++)
        for (int a = 0; a < OWN; a++) {
            store_iter it = store_reverse(workers[t].authors[a], "books");
            wrong += store_count(&it) != workers[t].books[a];
        }
    tap_ok(wrong == 0, "every owned author has the books its owner counted (%d wrong)", wrong);
    store_query_free(books_of);
    store_query_free(named);
    store_query_free(own_author);
    char *before = dump_of(db);
    tap_ok(store_close(db) == STORE_OK, "close (with its snapshot)");
    rc = store_open(&db, schema, path, NULL);
    tap_ok(rc == STORE_OK, "reopen: %s", rc ? store_errmsg(NULL) : "ok");
    char *after = rc ? NULL : dump_of(db);
    tap_ok(before && after && !strcmp(before, after), "the reopened store is the same");
    tap_ok(!rc && store_check(db) == STORE_OK, "store_check after reopen");
    if (!rc)
        store_close(db);
    free(before);
    free(after);
    store_schema_free(schema);
    unlink(path);
    char lock[80];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    rmdir(dir);
    return tap_done();
}
