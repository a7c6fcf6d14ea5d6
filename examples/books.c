/*
 * examples/books.c - the Tortoise one-to-many example, in C.
 *
 * An Author has many Books through the foreign key Book.author, whose reverse relation on
 * Author is "books". The program creates John Doe and three books, then gets the author
 * back by id and walks his books, as the Tortoise post does with `author.books`.
 *
 *     books           a store in memory
 *     books FILE      a store kept in FILE: the first run creates the objects and saves
 *                     them on close; later runs find them there
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>

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

static void check(int rc, store *db, const char *what)
{
    if (rc == STORE_OK)
        return;
    fprintf(stderr, "books: %s: %s (%s)\n", what, store_strerror(rc), store_errmsg(db));
    exit(1);
}

static void create_author_with_books(store *db, uint64_t *author_id)
{
    store_model *Author = store_model_find(db, "Author");
    store_model *Book = store_model_find(db, "Book");
    store_obj *author;
    check(store_create(db, Author, (store_value[]){STORE_V_STR("name", "John Doe"), {0}},
                       &author),
          db, "create author");
    const char *titles[] = {"Book 1", "Book 2", "Book 3"};
    for (int i = 0; i < 3; i++)
        check(store_create(db, Book,
                           (store_value[]){STORE_V_STR("title", titles[i]),
                                           STORE_V_REF("author", author), {0}},
                           NULL),
              db, "create book");
    *author_id = store_id(author);
}

static void get_books_of_author(store *db, uint64_t author_id)
{
    store_obj *author;
    check(store_get(db, store_model_find(db, "Author"), author_id, &author), db, "get author");
    store_iter books = store_reverse(author, "books");
    printf("%s (id %" PRIu64 ") has %zu books:\n", store_str(author, "name"), author_id,
           store_count(&books));
    for (store_obj *book; (book = store_next(&books));)
        printf("%s\n", store_str(book, "title"));
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : NULL;
    store_schema *schema;
    check(store_schema_new(&schema), NULL, "schema");
    check(store_schema_add(schema, "Author", author_fields), NULL, "declare Author");
    check(store_schema_add(schema, "Book", book_fields), NULL, "declare Book");

    store *db;
    check(store_open(&db, schema, path, NULL), NULL, "open");
    uint64_t author_id = 1;
    if (store_model_count(store_model_find(db, "Author")) == 0)
        create_author_with_books(db, &author_id);
    get_books_of_author(db, author_id);

    check(store_close(db), NULL, "close");
    store_schema_free(schema);
    return 0;
}
