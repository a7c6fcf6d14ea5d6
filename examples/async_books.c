/*
 * examples/async_books.c - the authors and books of the seed, on a libuv loop.
 *
 *     async_books FILE
 *
 * An event-loop program never waits for the store: it creates John Doe and his three books
 * with async requests, walks his books with an async reverse walk, and snapshots to FILE
 * asynchronously, each step started from the callback of the one before. A 1 ms timer keeps
 * ticking the whole time, to show the loop was never blocked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <store_async.h>

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 255},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 255},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {0},
};

/* The program's state, reached from every callback through req->data. */
typedef struct app {
    uv_loop_t *loop;
    uv_timer_t ticker;
    unsigned long ticks;
    store *db;
    store_model *Author, *Book;
    store_obj *john;
    int books_made;
    store_req req;
} app;

static const char *const titles[] = {"Book 1", "Book 2", "Book 3"};

static void fail(app *a, const char *what)
{
    fprintf(stderr, "async_books: %s: %s (%s)\n", what, store_strerror(a->req.result),
            store_errmsg(a->db));
    exit(1);
}

static void on_snapshot(store_req *req)
{
    app *a = req->data;
    if (req->result)
        fail(a, "snapshot");
    store_stats st;
    store_stat(a->db, &st);
    printf("snapshot %" PRIu64 " written (%zu records), asynchronously\n", st.generation,
           st.last_written);
    store_req_cleanup(req);
    uv_timer_stop(&a->ticker);
    uv_close((uv_handle_t *)&a->ticker, NULL);
}

static void on_books(store_req *req)
{
    app *a = req->data;
    if (req->result)
        fail(a, "reverse walk");
    printf("%s has %zu books:\n", store_str(a->john, "name"), req->count);
    for (size_t i = 0; i < req->count; i++)
        printf("%s\n", store_str(req->objs[i], "title"));
    store_req_cleanup(req); /* frees the copied list; the books stay the store's */
    if (store_snapshot_async(a->loop, &a->req, a->db, on_snapshot))
        fail(a, "snapshot_async");
}

static void on_book(store_req *req)
{
    app *a = req->data;
    if (req->result)
        fail(a, "create book");
    store_req_cleanup(req);
    if (++a->books_made < 3) {
        if (store_create_async(a->loop, &a->req, a->db, a->Book,
                               (store_value[]){STORE_V_STR("title", titles[a->books_made]),
                                               STORE_V_REF("author", a->john), {0}},
                               on_book))
            fail(a, "create_async");
        return;
    }
    if (store_reverse_async(a->loop, &a->req, a->db, a->john, "books", on_books))
        fail(a, "reverse_async");
}

static void on_author(store_req *req)
{
    app *a = req->data;
    if (req->result)
        fail(a, "create author");
    a->john = req->obj;
    printf("created %s (id %" PRIu64 ")\n", store_str(a->john, "name"), store_id(a->john));
    store_req_cleanup(req);
    if (store_create_async(a->loop, &a->req, a->db, a->Book,
                           (store_value[]){STORE_V_STR("title", titles[0]),
                                           STORE_V_REF("author", a->john), {0}},
                           on_book))
        fail(a, "create_async");
}

static void on_tick(uv_timer_t *t)
{
    ((app *)t->data)->ticks++;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: async_books FILE\n");
        return 2;
    }
    store_schema *schema;
    store_schema_new(&schema);
    store_schema_add(schema, "Author", author_fields);
    store_schema_add(schema, "Book", book_fields);
    app a = {.loop = uv_default_loop()};
    int rc = store_open(&a.db, schema, argv[1], NULL);
    if (rc) {
        fprintf(stderr, "async_books: open: %s (%s)\n", store_strerror(rc), store_errmsg(NULL));
        return 1;
    }
    a.Author = store_model_find(a.db, "Author");
    a.Book = store_model_find(a.db, "Book");
    a.req.data = &a;
    a.ticker.data = &a;
    uv_timer_init(a.loop, &a.ticker);
    uv_timer_start(&a.ticker, on_tick, 1, 1);
    if (store_create_async(a.loop, &a.req, a.db, a.Author,
                           (store_value[]){STORE_V_STR("name", "John Doe"), {0}}, on_author))
        fail(&a, "create_async");
    uv_run(a.loop, UV_RUN_DEFAULT); /* returns once every request and the timer are done */
    printf("the loop stayed free: %lu timer ticks while the store worked\n", a.ticks);
    rc = store_close(a.db);
    store_schema_free(schema);
    uv_loop_close(a.loop);
    return rc ? 1 : 0;
}
