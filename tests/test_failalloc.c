/*
 * tests/test_failalloc.c - R7: the core calls, loading a file, taking a snapshot and submitting
 * an async request, with each allocation failed in turn.
 *
 * Every scenario is one call made on a prepared store, run again and again: first with the
 * n-th allocation failing (n = 0, 1, 2, ...), then, in its own test, with every allocation
 * from the n-th on failing ("for good"). Until the call gets through, each failure must be
 * STORE_ENOMEM and leave the store byte-identical by its canonical dump (which holds every
 * model's next id, so a failed create cannot have used one) with store_check() clean; once
 * it gets through, the result is checked. The ASan build's LeakSanitizer checks that no
 * failure leaks (under `make test`, whose abort_on_error=1 turns a worker's leak report into
 * a failed run; Criterion alone ignores it). The counters are per thread and each Criterion
 * test is its own process, so the failures land on the calls and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <store_async.h>
#include <string.h>

#include "store/check.h"
#include "store/model.h" /* fresh_string_pages() */
#include "tests/helpers.h"

typedef struct scenario {
    void (*setup)(void);     /* prepares the store (the fixture opened an empty one) */
    int (*call)(void);       /* the call under test */
    void (*unchanged)(void); /* asserts a failed call changed nothing; NULL: compare dumps */
    void (*verify)(void);    /* checks the result once the call got through */
    store **s;               /* the store the call works on; NULL: db */
} scenario;

/* How many failures a scenario may take before it must have got through. */
enum { MAX_FAILURES = 100000 };

static store *sdb; /* a store with a string default, for one scenario */
static store_schema *sschema;
static store_obj *ann, *bob, *book, *made;

/* Runs SC's call until it gets through; see the file comment. */
/* Makes the next long string of each of S's models start a new page of strings, as when the
 * page in use is full (store/strings.h): a call that stores one then allocates, whatever
 * strings the fixture made before it. */
static void fresh_string_pages(store *s)
{
    for (uint32_t i = 0; i < s->nmodels; i++)
        s->models[i].strs.cur = NULL;
}

static void run_scenario(const scenario *sc, bool for_good)
{
    sc->setup();
    store *s = sc->s ? *sc->s : db;
    fresh_string_pages(s);
    const char *before = sc->unchanged ? NULL : dump_store(s);
    long n = 0;
    for (;; n++) {
        if (for_good)
            fail_alloc_from(n);
        else
            fail_alloc_at(n);
        int rc = sc->call();
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            /* Got through with an allocation failed: the points after it went untried. */
            cr_assert_not(hit, "allocation %ld failed, yet the call succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s%s)", n, store_strerror(rc),
                     store_errmsg(s), store_errmsg(NULL)); /* opens report on no store */
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        if (sc->unchanged) {
            sc->unchanged();
        } else {
            cr_assert(same_store(s, before), "allocation %ld: the failed call changed the store",
                      n);
            check_invariants(s);
        }
        cr_assert_lt(n, MAX_FAILURES, "the call never gets through");
    }
    /* A call that allocates nothing would make this test prove nothing. */
    cr_assert_gt(n, 0, "the call made no allocation that could fail");
    cr_log_info("got through after %ld failures", n);
    sc->verify();
    if (!sc->unchanged)
        check_invariants(s);
}

static void fini(void)
{
    fail_alloc_at(-1);
    store_close(sdb);
    store_schema_free(sschema);
    sdb = NULL;
    sschema = NULL;
    library_teardown();
}

TestSuite(failalloc, .init = library_setup, .fini = fini);

/* Declares both tests of scenario NAME: failures one at a time, then for good. */
#define BOTH_WAYS(name, ...)                                                                       \
    static const scenario name = {__VA_ARGS__};                                                    \
    Test(failalloc, name##_fails_cleanly_at_each_allocation)                                       \
    {                                                                                              \
        run_scenario(&name, false);                                                                \
    }                                                                                              \
    Test(failalloc, name##_fails_cleanly_when_allocations_fail_for_good)                           \
    {                                                                                              \
        run_scenario(&name, true);                                                                 \
    }

static void nothing(void)
{
}

/* A create on db that must succeed. */
static store_obj *make(store_model *m, const store_value *v)
{
    store_obj *o = NULL;
    int rc = store_create(db, m, v, &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(db));
    return o;
}

static store_obj *find_by(store_model *m, const char *field, const char *value)
{
    store_obj *o = NULL;
    int rc = store_get_by(db, m, field, &(store_value)STORE_V_STR("", value), &o);
    cr_assert(rc == STORE_OK || rc == STORE_ENOTFOUND, "%s", store_errmsg(db));
    return o;
}

/* ---- Creating ------------------------------------------------------------------------------ */

static int create_full_author(void)
{
    store_value v[] = {STORE_V_STR("name", "Ann Author"),
                       STORE_V_STR("email", "ann@example.org"),
                       STORE_V_INT("age", 40),
                       STORE_V_FLOAT("rating", 4.5),
                       STORE_V_BOOL("active", false),
                       {0}};
    return store_create(db, Author, v, &made);
}

static void full_author_is_right(void)
{
    cr_assert_eq(store_id(made), 1, "failed creates used ids");
    cr_assert_str_eq(store_str(made, "name"), "Ann Author");
    cr_assert_str_eq(store_str(made, "email"), "ann@example.org");
    cr_assert_eq(store_int(made, "age"), 40);
    cr_assert_eq(store_float(made, "rating"), 4.5);
    cr_assert_not(store_bool(made, "active"));
    cr_assert_eq(find_by(Author, "email", "ann@example.org"), made);
    cr_assert_eq(find_by(Author, "name", "Ann Author"), made);
    cr_assert_eq(store_model_count(Author), 1);
}

BOTH_WAYS(creating_an_author_with_every_field_set, .setup = nothing, .call = create_full_author,
          .verify = full_author_is_right)

static void two_authors_and_a_book(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    book = make_book("First", ann);
}

static int create_book_with_fks_and_isbn(void)
{
    store_value v[] = {STORE_V_STR("title", "Second"),
                       STORE_V_REF("author", ann),
                       STORE_V_REF("editor", bob),
                       STORE_V_STR("isbn", "9780441013593"),
                       {0}};
    return store_create(db, Book, v, &made);
}

static void book_with_fks_is_right(void)
{
    cr_assert_eq(store_id(made), 2, "failed creates used ids");
    cr_assert_eq(store_ref(made, "author"), ann);
    cr_assert_eq(store_ref(made, "editor"), bob);
    cr_assert_str_eq(child_ids(ann, "books"), "1,2");
    cr_assert_str_eq(child_ids(bob, "edited"), "2");
    cr_assert_eq(find_by(Book, "isbn", "9780441013593"), made);
    cr_assert_eq(store_int(made, "pages"), 0, "the default of pages");
}

BOTH_WAYS(creating_a_book_with_two_fks_and_a_unique_isbn, .setup = two_authors_and_a_book,
          .call = create_book_with_fks_and_isbn, .verify = book_with_fks_is_right)

/* The library schema plus Shelf, whose strings have defaults, in sdb. The note's default is
 * longer than what an object keeps inside its slot, so it is copied to the model's string
 * pages; the shelf made here has a short note, so the create under test allocates the first
 * page. */
static void shelf_store(void)
{
    static const store_field shelf[] = {
        {.name = "label", .type = STORE_CHAR, .max_length = 16, STORE_DEFAULT_STR("unsorted")},
        {.name = "note",
         .type = STORE_TEXT,
         STORE_DEFAULT_STR("caf\xc3\xa9 \xe2\x98\x95 on the top shelf")},
        {.name = "book",
         .type = STORE_FK,
         .to = "Book",
         .related_name = "shelves",
         .null = true,
         .on_delete = STORE_SET_NULL},
        {0},
    };
    sschema = library_schema();
    cr_assert_eq(store_schema_add(sschema, "Shelf", shelf), STORE_OK);
    cr_assert_eq(store_open(&sdb, sschema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *shelf_model = store_model_find(sdb, "Shelf");
    cr_assert_eq(
        store_create(sdb, shelf_model,
                     (store_value[]){STORE_V_STR("label", "a"), STORE_V_STR("note", "b"), {0}},
                     NULL),
        STORE_OK);
}

static int create_with_defaults(void)
{
    return store_create(sdb, store_model_find(sdb, "Shelf"), (store_value[]){{0}}, &made);
}

static void defaults_are_right(void)
{
    cr_assert_eq(store_id(made), 2, "failed creates used ids");
    cr_assert_str_eq(store_str(made, "label"), "unsorted");
    cr_assert_str_eq(store_str(made, "note"), "caf\xc3\xa9 \xe2\x98\x95 on the top shelf");
    cr_assert_null(store_ref(made, "book"));
    /* The default was copied: the object's string is its own. */
    store_obj *first, *next;
    cr_assert_eq(store_get(sdb, store_model_find(sdb, "Shelf"), 1, &first), STORE_OK);
    cr_assert_str_eq(store_str(first, "note"), "b");
    cr_assert_eq(store_create(sdb, store_model_find(sdb, "Shelf"), (store_value[]){{0}}, &next),
                 STORE_OK);
    cr_assert_str_eq(store_str(next, "note"), "caf\xc3\xa9 \xe2\x98\x95 on the top shelf");
    cr_assert_neq(store_str(next, "note"), store_str(made, "note"));
    check_invariants(sdb);
}

BOTH_WAYS(creating_from_string_defaults, .setup = shelf_store, .call = create_with_defaults,
          .verify = defaults_are_right, .s = &sdb)

/* ---- Updating ------------------------------------------------------------------------------ */

static void books_of_two_authors(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    book = make(Book, (store_value[]){STORE_V_STR("title", "Old"),
                                      STORE_V_REF("author", ann),
                                      STORE_V_STR("isbn", "1111111111111"),
                                      {0}});
    make_book("Ann's other", ann);
    make_book("Bob's", bob);
}

static int move_book(void)
{
    store_value v[] = {STORE_V_STR("title", "New and longer title"),
                       STORE_V_REF("author", bob),
                       STORE_V_STR("isbn", "2222222222222"),
                       STORE_V_REF("editor", ann),
                       {0}};
    return store_update(db, book, v);
}

static void moved_book_is_right(void)
{
    cr_assert_str_eq(store_str(book, "title"), "New and longer title");
    cr_assert_str_eq(child_ids(ann, "books"), "2");
    cr_assert_str_eq(child_ids(bob, "books"), "3,1");
    cr_assert_str_eq(child_ids(ann, "edited"), "1");
    cr_assert_eq(find_by(Book, "isbn", "2222222222222"), book);
    cr_assert_null(find_by(Book, "isbn", "1111111111111"));
}

BOTH_WAYS(updating_a_book_to_move_its_fk_and_change_its_isbn, .setup = books_of_two_authors,
          .call = move_book, .verify = moved_book_is_right)

static void authors_sharing_a_name(void)
{
    ann =
        make(Author,
             (store_value[]){STORE_V_STR("name", "Ann"), STORE_V_STR("email", "ann@old.org"), {0}});
    bob = make_author("Ann");
    make_author("Anne");
}

static int rename_author(void)
{
    store_value v[] = {STORE_V_STR("name", "Anne"),
                       STORE_V_STR("email", "ann@new.org"),
                       STORE_V_INT("age", 41),
                       {0}};
    return store_update(db, ann, v);
}

static void renamed_author_is_right(void)
{
    cr_assert_str_eq(store_str(ann, "name"), "Anne");
    cr_assert_eq(find_by(Author, "name", "Ann"), bob, "Ann is now only the second author");
    cr_assert_eq(store_id(find_by(Author, "name", "Anne")), 1, "smallest id of the Annes");
    cr_assert_eq(find_by(Author, "email", "ann@new.org"), ann);
    cr_assert_null(find_by(Author, "email", "ann@old.org"));
    cr_assert_eq(store_int(ann, "age"), 41);
}

BOTH_WAYS(updating_an_authors_indexed_name_and_unique_email, .setup = authors_sharing_a_name,
          .call = rename_author, .verify = renamed_author_is_right)

static void book_with_editor_and_isbn(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    book = make(Book, (store_value[]){STORE_V_STR("title", "T"),
                                      STORE_V_REF("author", ann),
                                      STORE_V_REF("editor", bob),
                                      STORE_V_STR("isbn", "1111111111111"),
                                      {0}});
}

static int null_book_fields(void)
{
    store_value v[] = {
        STORE_V_NULL("editor"), STORE_V_STR("isbn", NULL), STORE_V_STR("title", "Untitled"), {0}};
    return store_update(db, book, v);
}

static void nulled_book_is_right(void)
{
    cr_assert(store_is_null(book, "editor"));
    cr_assert(store_is_null(book, "isbn"));
    cr_assert_str_eq(child_ids(bob, "edited"), "");
    cr_assert_null(find_by(Book, "isbn", "1111111111111"));
    cr_assert_str_eq(store_str(book, "title"), "Untitled");
}

BOTH_WAYS(updating_fields_to_null, .setup = book_with_editor_and_isbn, .call = null_book_fields,
          .verify = nulled_book_is_right)

/* ---- Deleting ------------------------------------------------------------------------------ */

static void author_with_a_thousand_descendants(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    for (int b = 0; b < 100; b++) {
        store_obj *x = make_book("B", ann);
        for (int r = 0; r < 9; r++)
            make_review(x, "R");
    }
    book = make_book("Bob's", bob);
    make_review(book, "kept");
    /* Bob's book is edited by Ann: the cascade also sets a SET_NULL child. */
    cr_assert_eq(store_update(db, book, (store_value[]){STORE_V_REF("editor", ann), {0}}),
                 STORE_OK);
}

static int delete_ann(void)
{
    return store_delete(db, ann);
}

static void cascade_is_right(void)
{
    cr_assert_eq(store_model_count(Author), 1);
    cr_assert_eq(store_model_count(Book), 1);
    cr_assert_eq(store_model_count(Review), 1);
    cr_assert_null(store_ref(book, "editor"));
    cr_assert_str_eq(child_ids(book, "reviews"), "901");
}

BOTH_WAYS(deleting_an_author_with_a_cascade_of_a_thousand,
          .setup = author_with_a_thousand_descendants, .call = delete_ann,
          .verify = cascade_is_right)

static void editor_of_three_books(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    for (int i = 0; i < 3; i++)
        make(Book, (store_value[]){STORE_V_STR("title", "T"),
                                   STORE_V_REF("author", ann),
                                   STORE_V_REF("editor", bob),
                                   {0}});
}

static int delete_bob(void)
{
    return store_delete(db, bob);
}

static void set_null_is_right(void)
{
    cr_assert_eq(store_model_count(Author), 1);
    cr_assert_eq(store_model_count(Book), 3);
    cr_assert_str_eq(child_ids(ann, "books"), "1,2,3");
    for (uint64_t id = 1; id <= 3; id++) {
        store_obj *b;
        cr_assert_eq(store_get(db, Book, id, &b), STORE_OK);
        cr_assert(store_is_null(b, "editor"));
    }
}

BOTH_WAYS(deleting_an_editor_whose_books_are_set_null, .setup = editor_of_three_books,
          .call = delete_bob, .verify = set_null_is_right)

/* ---- Queries ------------------------------------------------------------------------------- */

static void shelves_of_books(void)
{
    ann = make_author("Ann");
    bob = make_author("Bob");
    for (int i = 0; i < 40; i++) {
        char title[48];
        snprintf(title, sizeof title, "%s volume %02d of the long series", i % 3 ? "Tale" : "Epic",
                 i);
        store_obj *b = make(Book, (store_value[]){STORE_V_STR("title", title),
                                                  STORE_V_REF("author", i % 4 ? ann : bob),
                                                  STORE_V_INT("pages", 100 + i),
                                                  {0}});
        if (i % 5 == 0)
            make_review(b, "a review long enough to have its own allocation");
    }
}

static store_result found;
static store_agg sums[3];

/* Builds a query (terms, a parameter, a group, an order), runs it, frees it. */
static int build_and_find(void)
{
    store_query *q;
    int rc = store_query_new(db, Book, &q);
    if (rc)
        return rc;
    store_cond c[2];
    c[0] = store_cond_terms(q, (store_value[]){STORE_V_STR("title__istartswith", "tale"), {0}});
    c[1] = store_cond_terms(q, (store_value[]){STORE_V_INT("pages__gte", 130), {0}});
    if (!(rc = store_query_filter(q, (store_value[]){STORE_V_PARAM("author__name", "who"),
                                                     STORE_V_LIST("pages__not_in",
                                                                  (store_value[]){
                                                                      STORE_V_INT(NULL, 101),
                                                                      STORE_V_INT(NULL, 102),
                                                                      {0}}),
                                                     {0}})) &&
        !(rc = store_query_where(q, store_cond_any(q, c, 2))) &&
        !(rc = store_query_order_by(q, (const char *const[]){"-pages", NULL})) &&
        !(rc = store_query_slice(q, 1, 5)))
        rc = store_query_find(q, (store_value[]){STORE_V_STR("who", "Ann"), {0}}, &found);
    if (!rc) {
        sums[0] = (store_agg){.op = STORE_AGG_SUM, .path = "pages"};
        sums[1] = (store_agg){.op = STORE_AGG_MAX, .path = "title"};
        sums[2] = (store_agg){0};
        rc = store_query_aggregate(q, (store_value[]){STORE_V_STR("who", "Ann"), {0}}, sums);
        if (rc)
            store_result_free(&found);
    }
    store_query_free(q);
    return rc;
}

static void found_is_right(void)
{
    cr_assert_eq(found.count, 5);
    cr_assert_eq(store_int(found.objs[0], "pages"), 138);
    store_result_free(&found);
    cr_assert_eq(sums[0].out.kind, STORE_KIND_INT);
    cr_assert_eq(sums[0].out.u.i, 138 + 137 + 135 + 134 + 133);
}

BOTH_WAYS(building_and_running_a_query, .setup = shelves_of_books, .call = build_and_find,
          .verify = found_is_right)

static store_query *query_of(store_model *m, const store_value *terms)
{
    store_query *q;
    cr_assert_eq(store_query_new(db, m, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, terms), STORE_OK);
    return q;
}

static int retitle_tales(void)
{
    store_query *q;
    int rc = store_query_new(db, Book, &q);
    if (rc)
        return rc;
    size_t n;
    if (!(rc = store_query_filter(q, (store_value[]){STORE_V_STR("title__startswith", "Tale"),
                                                     {0}})))
        rc = store_query_update(q, NULL,
                                (store_value[]){STORE_V_STR("title", "A new title, long enough "
                                                                     "for its own allocation"),
                                                STORE_V_INT("pages", 7),
                                                {0}},
                                &n);
    store_query_free(q);
    return rc;
}

static void retitled_is_right(void)
{
    store_query *q = query_of(Book, (store_value[]){STORE_V_INT("pages", 7), {0}});
    size_t n;
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 26);
    store_query_free(q);
}

BOTH_WAYS(updating_by_query, .setup = shelves_of_books, .call = retitle_tales,
          .verify = retitled_is_right)

static int delete_epics(void)
{
    store_query *q;
    int rc = store_query_new(db, Book, &q);
    if (rc)
        return rc;
    size_t n;
    if (!(rc = store_query_filter(q, (store_value[]){STORE_V_STR("title__startswith", "Epic"),
                                                     {0}})))
        rc = store_query_delete(q, NULL, &n);
    store_query_free(q);
    return rc;
}

static void epics_gone(void)
{
    cr_assert_eq(store_model_count(Book), 26);
    cr_assert_eq(store_model_count(Review), 5);
}

BOTH_WAYS(deleting_by_query_with_a_cascade, .setup = shelves_of_books, .call = delete_epics,
          .verify = epics_gone)

/* ---- Opening and declaring ------------------------------------------------------------------ */

static store *opened;
static store *const sentinel = (store *)&opened;

static int open_library(void)
{
    opened = sentinel;
    return store_open(&opened, schema, NULL, NULL);
}

static void open_changed_nothing(void)
{
    cr_assert_eq(opened, sentinel, "store_open() set *OUT on failure");
    /* The schema is the caller's and must still open. */
    store *d;
    cr_assert_eq(store_open(&d, schema, NULL, NULL), STORE_OK);
    store_close(d);
}

static void opened_store_is_right(void)
{
    store_model *a = store_model_find(opened, "Author"), *b = store_model_find(opened, "Book");
    cr_assert(a && b && store_model_find(opened, "Review") && store_model_find(opened, "Loan"));
    cr_assert_not_null(store_relation_find(a, "books"));
    cr_assert_not_null(store_relation_find(a, "edited"));
    store_obj *o;
    cr_assert_eq(store_create(opened, a, (store_value[]){STORE_V_STR("name", "A"), {0}}, &o),
                 STORE_OK);
    cr_assert_eq(
        store_create(opened, b,
                     (store_value[]){STORE_V_STR("title", "T"), STORE_V_REF("author", o), {0}},
                     NULL),
        STORE_OK);
    check_invariants(opened);
    store_close(opened);
}

BOTH_WAYS(opening_the_library_schema, .setup = nothing, .call = open_library,
          .unchanged = open_changed_nothing, .verify = opened_store_is_right)

static const store_field shelf_fields[] = {
    {.name = "label", .type = STORE_CHAR, .max_length = 16, STORE_DEFAULT_STR("unsorted")},
    {.name = "book",
     .type = STORE_FK,
     .to = "Book",
     .related_name = "shelves",
     .null = true,
     .on_delete = STORE_SET_NULL},
    {.name = "owner", .type = STORE_FK, .to = "Author"}, /* related_name by default: shelfs */
    {.name = "keeper",
     .type = STORE_FK,
     .to = "Author",
     .related_name = "kept",
     .null = true,
     .on_delete = STORE_RESTRICT},
    {.name = "parent",
     .type = STORE_FK,
     .to = "Shelf",
     .related_name = "children",
     .null = true,
     .on_delete = STORE_CASCADE},
    {0},
};

static void schema_to_extend(void)
{
    sschema = library_schema();
}

static int add_shelf(void)
{
    return store_schema_add(sschema, "Shelf", shelf_fields);
}

static void add_changed_nothing(void)
{
    /* The schema opens as it was: four models, no Shelf. */
    store *d;
    cr_assert_eq(store_open(&d, sschema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert_null(store_model_find(d, "Shelf"), "a failed add declared the model");
    cr_assert_not_null(store_model_find(d, "Loan"));
    store_close(d);
}

static void shelf_is_right(void)
{
    /* Had a failed add kept Shelf, the add that got through would have been refused. */
    store *d;
    cr_assert_eq(store_open(&d, sschema, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *shelf = store_model_find(d, "Shelf"), *a = store_model_find(d, "Author");
    cr_assert_not_null(shelf);
    cr_assert_not_null(store_relation_find(store_model_find(d, "Book"), "shelves"));
    cr_assert_not_null(store_relation_find(a, "shelfs"));
    cr_assert_not_null(store_relation_find(a, "kept"));
    cr_assert_not_null(store_relation_find(shelf, "children"));
    store_obj *owner, *s;
    cr_assert_eq(store_create(d, a, (store_value[]){STORE_V_STR("name", "O"), {0}}, &owner),
                 STORE_OK);
    cr_assert_eq(store_create(d, shelf, (store_value[]){STORE_V_REF("owner", owner), {0}}, &s),
                 STORE_OK, "%s", store_errmsg(d));
    cr_assert_str_eq(store_str(s, "label"), "unsorted");
    check_invariants(d);
    store_close(d);
}

BOTH_WAYS(declaring_a_model_with_several_fks, .setup = schema_to_extend, .call = add_shelf,
          .unchanged = add_changed_nothing, .verify = shelf_is_right)

/* ---- Files: loading and snapshots ---------------------------------------------------------- */

static char file_dir[64], file_path[96];
static char *file_dump; /* the store the file holds, or the store before the snapshot */
static store_stats file_stats;

/* A library in FILE_PATH: authors across two chunks of ids, books with unique values and
 * long titles, deleted objects, a snapshot folded into the records and one in the log. */
static store *library_file(void)
{
    strcpy(file_dir, "/tmp/relstore-failalloc-XXXXXX");
    cr_assert_not_null(mkdtemp(file_dir));
    snprintf(file_path, sizeof file_path, "%s/lib.db", file_dir);
    store *s;
    cr_assert_eq(store_open(&s, schema, file_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(s, "Author"), *B = store_model_find(s, "Book");
    char text[64];
    store_obj *a = NULL;
    for (int i = 1; i <= 1100; i++) {
        snprintf(text, sizeof text, "author number %d with a long name", i);
        cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", text), {0}}, &a),
                     STORE_OK);
        snprintf(text, sizeof text, "%013d", i);
        cr_assert_eq(store_create(s, B,
                                  (store_value[]){STORE_V_STR("title", "T"),
                                                  STORE_V_REF("author", a),
                                                  STORE_V_STR("isbn", text), {0}},
                                  NULL),
                     STORE_OK);
    }
    cr_assert_eq(store_snapshot(s), STORE_OK);
    for (uint64_t id = 2; id <= 40; id += 3) {
        store_obj *o;
        cr_assert_eq(store_get(s, A, id, &o), STORE_OK);
        cr_assert_eq(store_delete(s, o), STORE_OK);
    }
    cr_assert_eq(store_update(s, a, (store_value[]){STORE_V_INT("age", 7), {0}}), STORE_OK);
    cr_assert_eq(store_snapshot(s), STORE_OK);
    return s;
}

static void remove_file_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", file_dir);
    cr_assert_eq(system(cmd), 0);
}

static void closed_library_file(void)
{
    store *s = library_file();
    cr_assert_eq(rs_dump_store(s, &file_dump), STORE_OK);
    cr_assert_eq(store_close(s), STORE_OK);
}

static int load_file(void)
{
    opened = sentinel;
    return store_open(&opened, schema, file_path, NULL);
}

static void load_changed_nothing(void)
{
    cr_assert_eq(opened, sentinel, "store_open() set *OUT on failure");
}

static void loaded_store_is_right(void)
{
    cr_assert(same_store(opened, file_dump));
    check_invariants(opened);
    cr_assert_eq(store_close(opened), STORE_OK);
    free(file_dump);
    remove_file_dir();
}

BOTH_WAYS(loading_a_file, .setup = closed_library_file, .call = load_file,
          .unchanged = load_changed_nothing, .verify = loaded_store_is_right)

/* sdb: the library file with changes since its last snapshot: creates, updates, deletes. */
static void changed_library_file(void)
{
    sdb = library_file();
    store_model *A = store_model_find(sdb, "Author");
    store_obj *o;
    for (uint64_t id = 100; id <= 1100; id += 100) {
        cr_assert_eq(store_get(sdb, A, id, &o), STORE_OK);
        cr_assert_eq(store_update(sdb, o, (store_value[]){STORE_V_STR("name", "renamed"), {0}}),
                     STORE_OK);
    }
    cr_assert_eq(store_get(sdb, A, 3, &o), STORE_OK);
    cr_assert_eq(store_delete(sdb, o), STORE_OK);
    cr_assert_eq(store_create(sdb, A, (store_value[]){STORE_V_STR("name", "new"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(rs_dump_store(sdb, &file_dump), STORE_OK);
    cr_assert_eq(store_stat(sdb, &file_stats), STORE_OK);
}

static int snapshot_file(void)
{
    return store_snapshot(sdb);
}

static void snapshot_changed_nothing(void)
{
    store_stats now;
    cr_assert(same_store(sdb, file_dump));
    cr_assert_eq(store_stat(sdb, &now), STORE_OK);
    cr_assert(now.dirty == file_stats.dirty && now.deleted == file_stats.deleted,
              "a failed snapshot took changes off the dirty set");
    cr_assert_eq(now.generation, file_stats.generation);
    check_invariants(sdb);
}

static void snapshot_is_whole(void)
{
    store_stats now;
    cr_assert_eq(store_stat(sdb, &now), STORE_OK);
    cr_assert_eq(now.dirty + now.deleted, 0);
    check_invariants(sdb);
    cr_assert_eq(store_close(sdb), STORE_OK);
    sdb = NULL;
    store *s;
    cr_assert_eq(store_open(&s, schema, file_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert(same_store(s, file_dump));
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    free(file_dump);
    remove_file_dir();
}

BOTH_WAYS(taking_a_snapshot, .setup = changed_library_file, .call = snapshot_file,
          .unchanged = snapshot_changed_nothing, .verify = snapshot_is_whole)

/* ---- Async submission ------------------------------------------------------------------------ */

static uv_loop_t loop;
static store_req areq;
static int callbacks, last_result;

static void count_callback(store_req *req)
{
    callbacks++;
    last_result = req->result;
}

static void loop_and_author(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    ann = make_author("Ann");
    callbacks = 0;
}

static int submit_create(void)
{
    return store_create_async(&loop, &areq, db, Book,
                              (store_value[]){STORE_V_STR("title", "a title the request copies"),
                                              STORE_V_REF("author", ann), {0}},
                              count_callback);
}

static void one_callback_and_the_book(void)
{
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(callbacks, 1, "a failed submission still called back");
    cr_assert_eq(last_result, STORE_OK);
    cr_assert_str_eq(store_str(areq.obj, "title"), "a title the request copies");
    store_req_cleanup(&areq);
    cr_assert_eq(store_model_count(Book), 1);
    cr_assert_eq(uv_loop_close(&loop), 0, "a failed submission left work on the loop");
    check_invariants(db);
}

BOTH_WAYS(submitting_an_async_create, .setup = loop_and_author, .call = submit_create,
          .verify = one_callback_and_the_book)

/* ---- LMDB's own allocations ----------------------------------------------------------------- */

#include <errno.h>
#include <lmdb.h> /* test executables take LMDB from its archive (tests/meson.build) */

/*
 * The campaigns above fail LMDB's allocations along with relstore's only if LMDB's calls of
 * malloc, calloc, realloc, strdup and posix_memalign reach the wrappers of tests/failalloc.c,
 * which holds only while the test executables link LMDB from its archive: linked from its
 * shared object, LMDB allocates unseen. This proves it with LMDB alone: creating and opening
 * an environment is counted, and each of its allocations failed in turn fails it with ENOMEM.
 */
Test(failalloc, lmdbs_own_allocations_are_counted_and_can_fail)
{
    strcpy(file_dir, "/tmp/relstore-failalloc-XXXXXX");
    cr_assert_not_null(mkdtemp(file_dir));
    snprintf(file_path, sizeof file_path, "%s/env.db", file_dir);
    MDB_env *env;
    fail_alloc_at(-1);
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_gt(fail_alloc_count(), 0, "LMDB's allocations are not counted");
    mdb_env_close(env);
    long n = 0;
    for (;; n++) {
        cr_assert_eq(mdb_env_create(&env), 0);
        fail_alloc_at(n);
        int rc = mdb_env_open(env, file_path, MDB_NOSUBDIR, 0644);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        mdb_env_close(env);
        if (rc == 0) {
            cr_assert_not(hit, "allocation %ld failed, yet LMDB opened", n);
            break;
        }
        cr_assert_eq(rc, ENOMEM, "allocation %ld: %s", n, mdb_strerror(rc));
        cr_assert(hit, "allocation %ld: ENOMEM, and no allocation failed", n);
        cr_assert_lt(n, MAX_FAILURES, "LMDB never opens");
    }
    cr_log_info("LMDB opened after %ld failed allocations", n);
    cr_assert_gt(n, 0, "no allocation of LMDB's failed");
    remove_file_dir();
}
