/*
 * tests/live_writer.c - the writer beside which tests/live.sh runs the inspector.
 *
 *     live_writer FILE STOPFILE [reopen]
 *
 * Opens FILE read-write (the seed's Author/Book schema; NOSYNC, to commit as often as it
 * can) and, until STOPFILE exists, changes the store and snapshots it, in a loop: each round
 * creates an author with exactly three books in one transaction, deletes the oldest author
 * (his books go with him) once more than 50 live, and renames a book; then a snapshot. So
 * every snapshot holds three books per author, and each round rewrites part of the file.
 * With "reopen", each round closes the store (its last snapshot) and opens it again.
 * FILE.ready appears once the first snapshot is written. Prints "live_writer: N snapshots"
 * and exits 0 if every call succeeded; otherwise names the call that failed and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <unistd.h>

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 60},
    {0},
};

static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 60},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {0},
};

static void check(int rc, store *db, const char *what)
{
    if (rc == STORE_OK)
        return;
    fprintf(stderr, "live_writer: %s: %s (%s)\n", what, store_strerror(rc), store_errmsg(db));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "reopen"))) {
        fprintf(stderr, "usage: live_writer FILE STOPFILE [reopen]\n");
        return 2;
    }
    store_schema *schema;
    check(store_schema_new(&schema), NULL, "schema");
    check(store_schema_add(schema, "Author", author_fields), NULL, "Author");
    check(store_schema_add(schema, "Book", book_fields), NULL, "Book");
    store *db;
    store_options opts = {.flags = STORE_OPEN_NOSYNC};
    check(store_open(&db, schema, argv[1], &opts), NULL, "open");
    store_model *Author = store_model_find(db, "Author"), *Book = store_model_find(db, "Book");
    long snapshots = 0;
    char ready[512];
    snprintf(ready, sizeof ready, "%s.ready", argv[1]);
    for (long round = 0; access(argv[2], F_OK) != 0; round++) {
        char text[64];
        store_txn *txn;
        check(store_begin(db, 0, &txn), db, "begin");
        store_obj *a;
        snprintf(text, sizeof text, "Author %ld, ünïcode", round);
        check(store_create(db, Author, (store_value[]){STORE_V_STR("name", text), {0}}, &a), db,
              "create author");
        for (int b = 0; b < 3; b++) {
            snprintf(text, sizeof text, "Book %d of author %ld: a title of some length", b,
                     round);
            check(store_create(db, Book,
                               (store_value[]){STORE_V_STR("title", text),
                                               STORE_V_REF("author", a), {0}},
                               NULL),
                  db, "create book");
        }
        check(store_commit(txn), db, "commit");
        if (store_model_count(Author) > 50) {
            uint64_t pos = 0;
            store_obj *old = store_model_scan(Author, &pos);
            check(old ? STORE_OK : STORE_ENOTFOUND, db, "find the oldest author");
            check(store_delete(db, old), db, "delete");
        }
        store_iter books = store_reverse(a, "books");
        store_obj *first = store_next(&books);
        check(store_update(db, first, (store_value[]){STORE_V_STR("title", "renamed"), {0}}), db,
              "update");
        check(store_snapshot(db), db, "snapshot");
        if (argc == 4) {
            check(store_close(db), NULL, "close");
            check(store_open(&db, schema, argv[1], &opts), NULL, "reopen");
            Author = store_model_find(db, "Author");
            Book = store_model_find(db, "Book");
        }
        if (snapshots++ == 0) {
            FILE *f = fopen(ready, "w");
            if (f)
                fclose(f);
        }
    }
    check(store_close(db), NULL, "close");
    store_schema_free(schema);
    printf("live_writer: %ld snapshots\n", snapshots);
    return 0;
}
