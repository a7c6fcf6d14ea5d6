/*
 * tests/test_scale.c - a million books under a hundred thousand authors.
 */
#include <stdlib.h>

#include "tests/helpers.h"

TestSuite(scale, .init = library_setup, .fini = library_teardown, .timeout = 240);

enum { AUTHORS = 100000, BOOKS = 1000000 };

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(scale, a_million_books_under_a_hundred_thousand_authors_count_right)
{
    store_obj **authors = malloc(AUTHORS * sizeof *authors);
    uint32_t *expect = calloc(AUTHORS, sizeof *expect);
    for (int i = 0; i < AUTHORS; i++)
        authors[i] = make_author("author");
    uint64_t seed = 0x5eed;
    const store_fld *title = store_field_find(Book, "title");
    for (int i = 0; i < BOOKS; i++) {
        uint64_t a = next_rand(&seed) % AUTHORS;
        make_book("title", authors[a]);
        expect[a]++;
    }
    for (int i = 0; i < AUTHORS; i++) {
        store_iter it = store_reverse(authors[i], "books");
        cr_assert_eq(store_count(&it), expect[i], "author %d", i + 1);
    }
    /* Walk a sample fully: every child points back and the walk length is the count. */
    for (int i = 0; i < AUTHORS; i += 997) {
        store_iter it = store_reverse(authors[i], "books");
        size_t n = 0;
        uint64_t last = 0;
        for (store_obj *b; (b = store_next(&it)); n++) {
            cr_assert_eq(store_ref(b, "author"), authors[i]);
            cr_assert_gt(store_id(b), last, "creation order");
            cr_assert_str_eq(store_field_str(b, title), "title");
            last = store_id(b);
        }
        cr_assert_eq(n, expect[i]);
    }
    cr_assert_eq(store_model_count(Book), BOOKS);
    check_invariants(db);
    free(expect);
    free(authors);
}
