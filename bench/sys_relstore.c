/*
 * bench/sys_relstore.c - relstore, and the floor: plain C arrays.
 *
 * relstore: the objects live in memory and go to a file only when snapshot, so "persist"
 * is a full store_snapshot() and "update" is the updates followed by an incremental one.
 * Get and walk use the calls the README shows, by name (store_reverse(a, "books"),
 * store_str(b, "title")); get_fld and walk_fld the same through handles found once.
 *
 * arrays: what no store can beat. Authors and books are arrays indexed by id, an author's
 * books contiguous, titles inline; persist writes the arrays to a file and syncs; an update
 * rewrites the changed books in place and syncs; reopen reads the file back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <unistd.h>

#include "bench/common.h"
#include "bench/systems.h"

/* ---- relstore ----------------------------------------------------------------------------- */

typedef struct rel {
    store_schema *schema;
    store *db;
    char path[512];
    store_model *Author, *Book;
    const store_fld *title, *books;
} rel;

static int rel_fail(const rel *r, const char *what, int rc)
{
    fprintf(stderr, "relstore: %s: %s (%s)\n", what, store_strerror(rc),
            store_errmsg(r ? r->db : NULL));
    return -1;
}

static int rel_open(rel *r)
{
    int rc = store_open(&r->db, r->schema, r->path, NULL);
    if (rc)
        return rel_fail(NULL, "open", rc);
    r->Author = store_model_find(r->db, "Author");
    r->Book = store_model_find(r->db, "Book");
    r->title = store_field_find(r->Book, "title");
    r->books = store_relation_find(r->Author, "books");
    return 0;
}

static void *rel_create(const char *dir)
{
    rel *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->path, sizeof r->path, "%s/bench.relstore", dir);
    r->schema = bench_schema();
    if (rel_open(r)) {
        store_schema_free(r->schema);
        free(r);
        return NULL;
    }
    return r;
}

static int rel_insert(void *ctx, long authors)
{
    rel *r = ctx;
    long book = 1;
    size_t len;
    for (long a = 1; a <= authors; a++) {
        store_obj *author;
        const char *name = bench_name((uint64_t)a, &len);
        int rc = store_create(r->db, r->Author, (store_value[]){STORE_V_STR("name", name), {0}},
                              &author);
        for (int b = 0; !rc && b < 10; b++, book++) {
            const char *title = bench_title((uint64_t)book, &len);
            rc = store_create(r->db, r->Book,
                              (store_value[]){STORE_V_STR("title", title),
                                              STORE_V_REF("author", author), {0}},
                              NULL);
        }
        if (rc)
            return rel_fail(r, "create", rc);
    }
    return 0;
}

static size_t rel_get(void *ctx, uint64_t id)
{
    rel *r = ctx;
    store_obj *b;
    return store_get(r->db, r->Book, id, &b) ? 0 : strlen(store_str(b, "title"));
}

static size_t rel_walk(void *ctx, uint64_t id)
{
    rel *r = ctx;
    store_obj *a;
    if (store_get(r->db, r->Author, id, &a))
        return 0;
    size_t sum = 0;
    store_iter it = store_reverse(a, "books");
    for (store_obj *b; (b = store_next(&it));)
        sum += strlen(store_str(b, "title"));
    return sum;
}

static size_t rel_get_fld(void *ctx, uint64_t id)
{
    rel *r = ctx;
    store_obj *b;
    return store_get(r->db, r->Book, id, &b) ? 0 : strlen(store_field_str(b, r->title));
}

static size_t rel_walk_fld(void *ctx, uint64_t id)
{
    rel *r = ctx;
    store_obj *a;
    if (store_get(r->db, r->Author, id, &a))
        return 0;
    size_t sum = 0;
    store_iter it = store_reverse_fld(a, r->books);
    for (store_obj *b; (b = store_next(&it));)
        sum += strlen(store_field_str(b, r->title));
    return sum;
}

static int rel_update(void *ctx, const uint64_t *ids, size_t n, int64_t value)
{
    rel *r = ctx;
    for (size_t i = 0; i < n; i++) {
        store_obj *b;
        int rc = store_get(r->db, r->Book, ids[i], &b);
        if (!rc)
            rc = store_update(r->db, b, (store_value[]){STORE_V_INT("pages", value), {0}});
        if (rc)
            return rel_fail(r, "update", rc);
    }
    int rc = store_snapshot(r->db);
    return rc ? rel_fail(r, "snapshot", rc) : 0;
}

static int rel_persist(void *ctx)
{
    rel *r = ctx;
    int rc = store_snapshot(r->db);
    return rc ? rel_fail(r, "snapshot", rc) : 0;
}

static int rel_reopen(void *ctx)
{
    rel *r = ctx;
    int rc = store_close(r->db);
    r->db = NULL;
    if (rc)
        return rel_fail(NULL, "close", rc);
    return rel_open(r) || rel_walk(r, 1) == 0 ? -1 : 0;
}

static double rel_load(void *ctx)
{
    rel *r = ctx;
    int rc = store_close(r->db);
    r->db = NULL;
    if (rc)
        return rel_fail(NULL, "close", rc);
    double t = bench_now_ms();
    if (rel_open(r))
        return -1;
    return (bench_now_ms() - t) * 1e6;
}

static void rel_destroy(void *ctx)
{
    rel *r = ctx;
    store_close(r->db);
    store_schema_free(r->schema);
    free(r);
}

const bench_sys bench_relstore = {
    .name = "relstore", .create = rel_create, .insert = rel_insert, .get = rel_get,
    .walk = rel_walk, .get_fld = rel_get_fld, .walk_fld = rel_walk_fld, .update = rel_update,
    .persist = rel_persist, .reopen = rel_reopen, .load = rel_load, .destroy = rel_destroy,
};

/* ---- arrays: the floor -------------------------------------------------------------------- */

typedef struct abook {
    int64_t pages;
    uint32_t author;
    char title[BENCH_TITLE_MAX + 1]; /* inline: no pointer to follow */
} abook;

typedef struct aauthor {
    uint32_t first; /* index of its first book; its 10 books follow */
    uint32_t count;
    char name[BENCH_NAME_MAX + 1];
} aauthor;

typedef struct arr {
    char path[512];
    long authors;
    aauthor *a; /* a[id - 1] */
    abook *b;   /* b[id - 1] */
} arr;

static void *arr_create(const char *dir)
{
    arr *x = calloc(1, sizeof *x);
    if (x)
        snprintf(x->path, sizeof x->path, "%s/bench.arrays", dir);
    return x;
}

static int arr_insert(void *ctx, long authors)
{
    arr *x = ctx;
    x->authors = authors;
    x->a = calloc((size_t)authors, sizeof *x->a);
    x->b = calloc((size_t)authors * 10, sizeof *x->b);
    if (!x->a || !x->b)
        return -1;
    for (long i = 0; i < authors; i++) {
        x->a[i].first = (uint32_t)(i * 10);
        x->a[i].count = 10;
        size_t len;
        const char *s = bench_name((uint64_t)i + 1, &len);
        memcpy(x->a[i].name, s, len + 1);
        for (long k = i * 10; k < i * 10 + 10; k++) {
            x->b[k].author = (uint32_t)(i + 1);
            s = bench_title((uint64_t)k + 1, &len);
            memcpy(x->b[k].title, s, len + 1);
        }
    }
    return 0;
}

static size_t arr_get(void *ctx, uint64_t id)
{
    arr *x = ctx;
    return id && id <= (uint64_t)x->authors * 10 ? strlen(x->b[id - 1].title) : 0;
}

static size_t arr_walk(void *ctx, uint64_t id)
{
    arr *x = ctx;
    if (!id || id > (uint64_t)x->authors)
        return 0;
    const aauthor *a = &x->a[id - 1];
    size_t sum = 0;
    for (uint32_t k = a->first; k < a->first + a->count; k++)
        sum += strlen(x->b[k].title);
    return sum;
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, off);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int arr_persist(void *ctx)
{
    arr *x = ctx;
    int fd = open(x->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t na = (size_t)x->authors * sizeof *x->a, nb = (size_t)x->authors * 10 * sizeof *x->b;
    int rc = write_all(fd, &x->authors, sizeof x->authors, 0) ||
             write_all(fd, x->a, na, sizeof x->authors) ||
             write_all(fd, x->b, nb, (off_t)(sizeof x->authors + na)) || fdatasync(fd);
    close(fd);
    return rc ? -1 : 0;
}

static int arr_update(void *ctx, const uint64_t *ids, size_t n, int64_t value)
{
    arr *x = ctx;
    int fd = open(x->path, O_WRONLY);
    if (fd < 0)
        return -1;
    off_t base = (off_t)(sizeof x->authors + (size_t)x->authors * sizeof *x->a);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        abook *b = &x->b[ids[i] - 1];
        b->pages = value;
        rc = write_all(fd, b, sizeof *b, base + (off_t)((ids[i] - 1) * sizeof *b));
    }
    rc = rc || fdatasync(fd);
    close(fd);
    return rc ? -1 : 0;
}

static int arr_reopen(void *ctx)
{
    arr *x = ctx;
    free(x->a);
    free(x->b);
    x->a = NULL;
    x->b = NULL;
    int fd = open(x->path, O_RDONLY);
    if (fd < 0 || pread(fd, &x->authors, sizeof x->authors, 0) != sizeof x->authors) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t na = (size_t)x->authors * sizeof *x->a, nb = (size_t)x->authors * 10 * sizeof *x->b;
    x->a = malloc(na);
    x->b = malloc(nb);
    int rc = !x->a || !x->b || pread(fd, x->a, na, sizeof x->authors) != (ssize_t)na ||
             pread(fd, x->b, nb, (off_t)(sizeof x->authors + na)) != (ssize_t)nb;
    close(fd);
    return rc || arr_walk(x, 1) == 0 ? -1 : 0;
}

static void arr_destroy(void *ctx)
{
    arr *x = ctx;
    free(x->a);
    free(x->b);
    free(x);
}

const bench_sys bench_arrays = {
    .name = "arrays", .create = arr_create, .insert = arr_insert, .get = arr_get,
    .walk = arr_walk, .update = arr_update, .persist = arr_persist, .reopen = arr_reopen,
    .destroy = arr_destroy,
};
