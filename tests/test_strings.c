/*
 * tests/test_strings.c - the pages a model's long strings live in (store/strings.h): every
 * length reads back whole, at an even address, with its length; strings too long for a page
 * get an allocation of their own; pages go back when their strings die, so that a churn of
 * updates does not pile pages up, nor do a few survivors among many deaths; a rollback and a
 * reopen leave the strings whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/model.h" /* the pages are counted in the model's heap */
#include "store/object.h"
#include "tests/helpers.h"
#include "tests/xorshift.h"

TestSuite(strings, .init = library_setup, .fini = library_teardown);

/* LEN bytes of text into BUF (NUL-ended), a pattern that depends on SEED. */
static char *text(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + (i * 7 + seed) % 26);
    buf[len] = 0;
    return buf;
}

Test(strings, every_length_reads_back_whole_at_an_even_address)
{
    rs_strheap h = {0};
    enum { N = 1100 };
    static char *s[N + 1];
    static char buf[N + 1];
    for (size_t len = 0; len <= N; len++) {
        s[len] = rs_strings_new(&h, text(buf, len, (unsigned)len), len);
        cr_assert_not_null(s[len]);
        cr_assert_eq((uintptr_t)s[len] & 1, 0, "length %zu at an odd address", len);
    }
    for (size_t len = 0; len <= N; len++) {
        cr_assert_eq(rs_str_len(s[len]), len);
        cr_assert_str_eq(s[len], text(buf, len, (unsigned)len));
    }
    cr_assert_eq(h.nown, N - RS_STRPAGE_MAX, "the strings past RS_STRPAGE_MAX are their own");
    cr_assert_gt(h.npages, 1);
    for (size_t len = 0; len <= N; len += 2) /* every other one, then the rest */
        rs_strings_free(s[len]);
    for (size_t len = 1; len <= N; len += 2)
        rs_strings_free(s[len]);
    cr_assert_eq(h.nown, 0);
    cr_assert_leq(h.npages, 1, "only the page in use stays");
    cr_assert_eq(h.bytes, h.npages * RS_STRPAGE_SIZE);
    char *again = rs_strings_new(&h, "written again from the page's start", 35);
    cr_assert_str_eq(again, "written again from the page's start");
    rs_strings_free(again);
    rs_strings_free_all(&h);
    cr_assert_eq(h.npages, 0);
    cr_assert_eq(h.bytes, 0);
}

/* The pages of Book's strings now. */
static size_t book_pages(void)
{
    return Book->strs.npages;
}

Test(strings, a_churn_of_updates_gives_its_pages_back)
{
    enum { N = 2000, ROUNDS = 30 };
    static store_obj *books[N];
    static unsigned order[N];
    char buf[80];
    store_obj *ann = make_author("Ann");
    for (unsigned i = 0; i < N; i++) {
        books[i] = make_book(text(buf, 20 + i % 41, i), ann);
        order[i] = i;
    }
    size_t first = book_pages();
    cr_assert_gt(first, 2);
    uint64_t seed = 42;
    for (unsigned r = 1; r <= ROUNDS; r++) {
        for (unsigned i = N - 1; i > 0; i--) { /* a new order each round */
            unsigned j = (unsigned)(rnd(&seed) % (i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (unsigned i = 0; i < N; i++) {
            unsigned k = order[i];
            store_value v[] = {STORE_V_STR("title", text(buf, 20 + (k + r) % 41, k + r)), {0}};
            cr_assert_eq(store_update(db, books[k], v), STORE_OK, "%s", store_errmsg(db));
        }
        /* Every string from before the round died in it: the pages it filled are all that
         * can hold a living string, and the ones before went back. */
        cr_assert_leq(book_pages(), 2 * first + 2, "round %u: %zu pages (%zu at first)", r,
                      book_pages(), first);
    }
    for (unsigned k = 0; k < N; k++)
        cr_assert_str_eq(store_str(books[k], "title"), text(buf, 20 + (k + ROUNDS) % 41,
                                                            k + ROUNDS));
    check_invariants(db);
}

Test(strings, a_few_survivors_among_many_deaths_do_not_pile_pages_up)
{
    enum { ROUNDS = 20, PER = 3000, KEEP = 100 };
    static store_obj *made[PER];
    char buf[80];
    store_obj *ann = make_author("Ann");
    size_t most = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        for (unsigned i = 0; i < PER; i++)
            made[i] = make_book(text(buf, 50, r * PER + i), ann);
        most = Book->strs.live > most ? Book->strs.live : most;
        for (unsigned i = 0; i < PER; i++) /* one in KEEP lives on */
            if (i % KEEP)
                cr_assert_eq(store_delete(db, made[i]), STORE_OK);
    }
    /* Each round's survivors pin the pages it filled (a page a round, at least, without the
     * bound); the pages stay within RS_STRPAGE_DEAD times the most living bytes. */
    size_t pages = Book->strs.npages;
    cr_assert_leq(pages * RS_STRPAGE_SIZE, RS_STRPAGE_DEAD * most +
                                               (RS_STRPAGE_SLACK + 1) * RS_STRPAGE_SIZE,
                  "%zu pages for at most %zu living bytes", pages, most);
    cr_assert_lt(pages, (size_t)ROUNDS * PER * 55 / RS_STRPAGE_SIZE / 2,
                 "%zu pages: as many as without the bound", pages);
    for (unsigned i = 0; i < PER; i += KEEP)
        cr_assert_str_eq(store_str(made[i], "title"), text(buf, 50, (ROUNDS - 1) * PER + i));
    cr_assert_eq(store_model_count(Book), ROUNDS * PER / KEEP);
    check_invariants(db);
}

Test(strings, deleting_every_object_gives_every_page_but_one_back)
{
    char buf[80];
    store_obj *ann = make_author("Ann");
    for (unsigned i = 0; i < 3000; i++)
        make_book(text(buf, 30 + i % 20, i), ann);
    cr_assert_gt(book_pages(), 3);
    cr_assert_eq(store_delete(db, ann), STORE_OK); /* CASCADE: every book */
    cr_assert_eq(store_model_count(Book), 0);
    cr_assert_leq(book_pages(), 1);
}

Test(strings, a_rollback_frees_the_strings_it_made_and_keeps_the_old_ones)
{
    char buf[80];
    store_obj *ann = make_author("Ann");
    store_obj *kept = make_book(text(buf, 50, 1), ann);
    const char *before = dump_store(db);
    store_txn *t;
    cr_assert_eq(store_begin(db, 0, &t), STORE_OK);
    for (unsigned i = 0; i < 2000; i++)
        make_book(text(buf, 40, i), ann);
    store_value v[] = {STORE_V_STR("title", "a new title, long enough for a page"), {0}};
    cr_assert_eq(store_update(db, kept, v), STORE_OK);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(db, before));
    cr_assert_str_eq(store_str(kept, "title"), text(buf, 50, 1));
    cr_assert_leq(book_pages(), 2, "the pages of the rolled back books went back");
    check_invariants(db);
}

TestSuite(strings_file, .init = library_files_setup, .fini = library_files_teardown);

Test(strings_file, a_reopen_reads_every_string_back)
{
    static char buf[1200];
    store *d;
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(d, "Author"), *B = store_model_find(d, "Book");
    store_model *R = store_model_find(d, "Review");
    store_obj *ann, *book = NULL;
    cr_assert_eq(store_create(d, A, (store_value[]){STORE_V_STR("name", "Ann, whose name is "
                                                                        "longer than a slot"),
                                                    {0}},
                              &ann),
                 STORE_OK);
    for (unsigned i = 0; i < 500; i++) /* inline, page and longer strings */
        cr_assert_eq(store_create(d, B,
                                  (store_value[]){STORE_V_STR("title", text(buf, i % 3 == 2 ? 200
                                                                            : 5 + i % 50, i)),
                                                  STORE_V_REF("author", ann), {0}},
                                  &book),
                     STORE_OK);
    cr_assert_eq(store_create(d, R, (store_value[]){STORE_V_REF("book", book),
                                                    STORE_V_STR("body", text(buf, 1100, 9)),
                                                    {0}},
                              NULL),
                 STORE_OK);
    char *before = strdup(dump_store(d));
    cr_assert_eq(store_close(d), STORE_OK);
    cr_assert_eq(store_open(&d, schema, test_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert(same_store(d, before));
    cr_assert_eq(store_model_find(d, "Review")->strs.nown, 1,
                 "the long body is an allocation of its own");
    check_invariants(d);
    cr_assert_eq(store_close(d), STORE_OK);
    free(before);
}

/* store_str() by a short name reads the string's word straight from the model's words of
 * short names: it must answer as the call by handle does, for every kind of field. */
Test(strings, store_str_by_name_answers_as_the_handle_does)
{
    static const store_field fields[] = {
        {.name = "t", .type = STORE_CHAR, .max_length = 80},
        {.name = "n", .type = STORE_INT},
        {.name = "maybe", .type = STORE_CHAR, .max_length = 80, .null = true},
        {.name = "a_long_string_name", .type = STORE_TEXT},
        {.name = "i", .type = STORE_CHAR, .max_length = 8},
        {0},
    };
    store_schema *sc;
    store *d = one_model_store(&sc, "Note", fields);
    store_model *m = store_model_find(d, "Note");
    store_obj *o;
    cr_assert_eq(store_create(d, m, (store_value[]){STORE_V_STR("t", "a title past the slot"),
                                                    STORE_V_INT("n", 7),
                                                    STORE_V_STR("a_long_string_name", "body"),
                                                    STORE_V_STR("i", "short"), {0}},
                              &o),
                 STORE_OK);
    static const char *const names[] = {"t", "n", "maybe", "a_long_string_name", "i", "x",
                                        "tt", "", "a_long_string_nam"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        const store_fld *f = store_field_find(m, names[k]);
        const char *want = f ? store_field_str(o, f) : NULL;
        cr_assert_eq(store_str(o, names[k]), want, "\"%s\"", names[k]);
    }
    cr_assert_str_eq(store_str(o, "t"), "a title past the slot");
    cr_assert_str_eq(store_str(o, "i"), "short"); /* inside the slot */
    cr_assert_null(store_str(o, "n"), "an INT is no string");
    cr_assert_null(store_str(o, "maybe"), "a null string");
    cr_assert_null(store_str(NULL, "t"));
    cr_assert_null(store_str(o, NULL));
    store_close(d);
    store_schema_free(sc);
}
