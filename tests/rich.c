/*
 * tests/rich.c - a store of every field kind and relation, for the export tests
 * (tests/test_export.c, tests/pg_export.sh): see tests/rich.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/rich.h"

/* Exits with a message unless RC is STORE_OK. */
static void need(int rc, store *db, const char *what)
{
    if (rc == STORE_OK)
        return;
    fprintf(stderr, "rich_store: %s: %s (%s)\n", what, store_strerror(rc), store_errmsg(db));
    exit(1);
}

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 30, .unique = true},
    {.name = "bio", .type = STORE_TEXT, .null = true},
    {.name = "born", .type = STORE_INT, .null = true, .index = true},
    {.name = "rating", .type = STORE_FLOAT, .ordered = true, STORE_DEFAULT_FLOAT(0.5)},
    {.name = "active", .type = STORE_BOOL, STORE_DEFAULT_BOOL(true)},
    {.name = "mentor", .type = STORE_FK, .to = "Author", .related_name = "mentees", .null = true,
     .on_delete = STORE_SET_NULL},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 60, .index = true},
    {.name = "price", .type = STORE_FLOAT},
    {.name = "pages", .type = STORE_INT, STORE_DEFAULT_INT(-1)},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books"},
    {.name = "tags", .type = STORE_M2M, .to = "Tag", .related_name = "books"},
    {0},
};
static const store_field cover_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "cover", .unique = true,
     .on_delete = STORE_RESTRICT},
    {.name = "color", .type = STORE_CHAR, .max_length = 10, STORE_DEFAULT_STR("rouge ♦")},
    {0},
};
static const store_field tag_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 20, .unique = true},
    {0},
};

enum { AUTHORS = 230 }; /* more than two INSERTs of 100 rows */

static const double ratings[] = {0.1, 1.0 / 3, 9.99, 1e300, -0.0, 5e-324, 2.5, INFINITY};

static store_obj *make(store *db, const char *model, const store_value *v)
{
    store_obj *o;
    need(store_create(db, store_model_find(db, model), v, &o), db, model);
    return o;
}

void rich_store_write(const char *path)
{
    store_schema *s;
    need(store_schema_new(&s), NULL, "schema");
    need(store_schema_add(s, "Author", author_fields), NULL, "declare Author");
    need(store_schema_add(s, "Book", book_fields), NULL, "declare Book");
    need(store_schema_add(s, "Cover", cover_fields), NULL, "declare Cover");
    need(store_schema_add(s, "Tag", tag_fields), NULL, "declare Tag");
    store *db;
    need(store_open(&db, s, path, NULL), NULL, "open");
    store_obj *tags[3];
    const char *tag_names[] = {"poésie", "it's", "back\\slash"};
    for (int t = 0; t < 3; t++)
        tags[t] = make(db, "Tag", (store_value[]){STORE_V_STR("name", tag_names[t]), {0}});
    store_obj *prev = NULL;
    for (int i = 0; i < AUTHORS; i++) {
        char name[40], bio[80];
        static const char *const names[] = {"Zoë %d", "李白 %d", "O'Brien %d", "\"Q\" %d"};
        snprintf(name, sizeof name, names[i % 4], i);
        snprintf(bio, sizeof bio, "line one\nline\ttwo of %d, 'quoted' \\ end", i);
        store_value v[8] = {STORE_V_STR("name", name), {0}};
        int n = 1;
        if (i % 3)
            v[n++] = (store_value)STORE_V_STR("bio", bio);
        if (i % 5)
            v[n++] = (store_value)STORE_V_INT("born", 1900 + i);
        if (i % 2)
            v[n++] = (store_value)STORE_V_FLOAT("rating", ratings[i % 8]);
        if (i % 7 == 0)
            v[n++] = (store_value)STORE_V_BOOL("active", false);
        if (prev && i % 4)
            v[n++] = (store_value)STORE_V_REF("mentor", prev);
        store_obj *a = make(db, "Author", v);
        for (int b = 0; b < 2; b++) {
            char title[60];
            snprintf(title, sizeof title, "Title %d.%d — “quoted”", i, b);
            store_value bv[5] = {STORE_V_STR("title", title),
                                 STORE_V_FLOAT("price", 9.99 + i * 0.01 + b),
                                 STORE_V_REF("author", a), {0}};
            if (b)
                bv[3] = (store_value)STORE_V_INT("pages", INT64_MIN + i);
            store_obj *book = make(db, "Book", bv);
            if (i % 3 == 0)
                make(db, "Cover", (store_value[]){STORE_V_REF("book", book), {0}});
            need(store_m2m_add(db, book, "tags", tags[(i + b) % 3], NULL, NULL), db, "link");
        }
        prev = a;
    }
    /* A deleted author (no covers on his books): a gap in the ids, his mentee's mentor null. */
    store_obj *gone;
    need(store_get(db, store_model_find(db, "Author"), 6, &gone), db, "get");
    need(store_delete(db, gone), db, "delete");
    need(store_close(db), NULL, "close");
    store_schema_free(s);
}


#ifdef RICH_MAIN
/* rich_store FILE: writes the store to FILE (tests/pg_export.sh). */
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rich_store FILE\n");
        return 2;
    }
    rich_store_write(argv[1]);
    return 0;
}
#endif
