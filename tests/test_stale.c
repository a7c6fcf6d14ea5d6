/*
 * tests/test_stale.c - a pointer kept to a deleted object never reaches a living one.
 *
 * The calls that take an object refuse a deleted one and change nothing, however many
 * objects were created since (the new ones must not take its address); reads of it give an
 * empty object. The same holds when the delete happens on another thread between the
 * caller's check and its lock, directly or through async requests.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <store_async.h>

/* The EFULL test sets a model's next id, as a file may hold it; the get_by test reads a dead
 * object's model word, to know whether its chunk gave its pages back. */
#include "store/model.h"
#include "tests/helpers.h"

TestSuite(stale, .init = library_setup, .fini = library_teardown, .timeout = 600);

/* Creates N authors with names too long to live in the slot, each with one book. */
static void make_pairs(int n, store_obj **first_author, store_obj **first_book)
{
    char name[48];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "author number %d, a long name", i);
        store_obj *a = make_author(name);
        store_obj *b = make_book("a title longer than fourteen bytes", a);
        if (i == 0 && first_author) {
            *first_author = a;
            *first_book = b;
        }
    }
}

/* Deletes every author (their books go by CASCADE). */
static void delete_all_authors(void)
{
    for (uint64_t id = 1; id < store_model_next_id(Author); id++) {
        store_obj *a;
        if (store_get(db, Author, id, &a) == STORE_OK)
            cr_assert_eq(store_delete(db, a), STORE_OK);
    }
    cr_assert_eq(store_model_count(Author), 0);
    cr_assert_eq(store_model_count(Book), 0);
}

/* Every call given the dead AUTHOR and BOOK is refused and changes nothing; reads are empty. */
static void assert_dead(store_obj *author, store_obj *book)
{
    const char *before = dump_store(db);
    cr_assert_eq(store_update(db, author, (store_value[]){STORE_V_STR("name", "X"), {0}}),
                 STORE_EINVAL, "an update of a deleted author: %s", store_errmsg(db));
    cr_assert_eq(store_update(db, book, (store_value[]){STORE_V_INT("pages", 9), {0}}),
                 STORE_EINVAL);
    cr_assert_eq(store_delete(db, author), STORE_EINVAL);
    cr_assert_eq(store_delete(db, book), STORE_EINVAL);
    store_obj *made = NULL;
    cr_assert_eq(store_create(db, Book,
                              (store_value[]){STORE_V_STR("title", "T"),
                                              STORE_V_REF("author", author), {0}},
                              &made),
                 STORE_ECONSTRAINT, "a deleted author as a parent: %s", store_errmsg(db));
    cr_assert_null(made);
    cr_assert_eq(store_create(db, Review,
                              (store_value[]){STORE_V_REF("book", book),
                                              STORE_V_STR("body", "b"), {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(db, before), "a refused call changed the store");

    cr_assert_eq(store_id(author), 0);
    cr_assert_eq(store_id(book), 0);
    cr_assert_null(store_obj_model(author));
    cr_assert_null(store_str(author, "name"));
    cr_assert_null(store_str(author, "email"));
    cr_assert_eq(store_int(author, "age"), 0);
    cr_assert_eq(store_float(author, "rating"), 0.0);
    cr_assert_not(store_bool(author, "active"));
    cr_assert(store_is_null(author, "name"));
    cr_assert_null(store_ref(book, "author"));
    cr_assert_null(store_str(book, "title"));
    store_iter it = store_reverse(author, "books");
    cr_assert_eq(store_count(&it), 0);
    cr_assert_null(store_next(&it));
    /* The handle accessors read the empty slot too. */
    const store_fld *title = store_field_find(Book, "title");
    const store_fld *fk = store_field_find(Book, "author");
    cr_assert_null(store_field_str(book, title));
    cr_assert_null(store_field_ref(book, fk));
    cr_assert(store_field_is_null(book, title));
    check_invariants(db);
}

/* DEAD pairs made, a pointer to the first kept, all deleted, then FRESH pairs created. */
static void stale_after_churn(int dead, int fresh)
{
    store_obj *author = NULL, *book = NULL;
    make_pairs(dead, &author, &book);
    delete_all_authors();
    make_pairs(fresh, NULL, NULL);
    cr_assert_eq(store_model_count(Author), (size_t)fresh);
    assert_dead(author, book);
    /* No living object sits at a dead one's address. */
    for (uint64_t id = 1; id < store_model_next_id(Author); id++) {
        store_obj *a;
        if (store_get(db, Author, id, &a) == STORE_OK)
            cr_assert_neq(a, author, "id %lu took a deleted object's address", (unsigned long)id);
    }
}

Test(stale, a_deleted_object_is_refused_after_1023_deleted_and_1023_created)
{
    stale_after_churn(1023, 1023); /* ids 1..1023: exactly the first chunk */
}

Test(stale, a_deleted_object_is_refused_after_4096_deleted_and_4096_created)
{
    stale_after_churn(4096, 4096);
}

Test(stale, a_deleted_object_is_refused_after_100000_deleted_and_200000_created)
{
    stale_after_churn(100000, 200000);
}

Test(stale, a_deleted_object_beside_living_ones_reads_as_empty)
{
    store_obj *a[3], *b[3];
    for (int i = 0; i < 3; i++) {
        a[i] = make_author("a name longer than fourteen bytes");
        b[i] = make_book("a title longer than fourteen bytes", a[i]);
    }
    cr_assert_eq(store_delete(db, a[1]), STORE_OK); /* its chunk lives on: ids 1 and 3 */
    assert_dead(a[1], b[1]);
    cr_assert_str_eq(store_str(a[0], "name"), "a name longer than fourteen bytes");
    cr_assert_str_eq(store_str(b[2], "title"), "a title longer than fourteen bytes");
    check_invariants(db);
}

/*
 * Cycles of one create and one delete; the first object's pointer is kept and checked at the
 * end. RELSTORE_STALE_CYCLES sets the count (make test-long: 10 million).
 */
Test(stale, create_delete_cycles_never_reuse_a_dead_objects_address)
{
    const char *env = getenv("RELSTORE_STALE_CYCLES");
    long cycles = env ? atol(env) : 200000;
    store_obj *first = NULL, *last = NULL;
    for (long i = 0; i < cycles; i++) {
        store_obj *a;
        cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", "cycling"), {0}},
                                  &a),
                     STORE_OK, "cycle %ld: %s", i, store_errmsg(db));
        if (!first)
            first = a;
        else if (a == first || a == last)
            cr_assert_fail("cycle %ld reused a deleted object's address", i);
        cr_assert_eq(store_delete(db, a), STORE_OK);
        last = a;
    }
    cr_assert_eq(store_model_count(Author), 0);
    long size = 0, resident = 0; /* pages: what the cycles cost in address space and memory */
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &size, &resident) == 2)
        cr_log_info("%ld cycles: address space %ld MiB, resident %ld MiB", cycles,
                    size * sysconf(_SC_PAGESIZE) >> 20, resident * sysconf(_SC_PAGESIZE) >> 20);
    if (f)
        fclose(f);
    store_obj *fresh = make_author("fresh");
    cr_assert_neq(fresh, first);
    cr_assert_neq(fresh, last);
    cr_assert_eq(store_update(db, first, (store_value[]){STORE_V_STR("name", "X"), {0}}),
                 STORE_EINVAL);
    cr_assert_eq(store_delete(db, last), STORE_EINVAL);
    cr_assert_str_eq(store_str(fresh, "name"), "fresh");
    cr_assert_eq(store_id(fresh), (uint64_t)cycles + 1);
    check_invariants(db);
}

/* ---- A delete on another thread between a call's check and its lock ----------------------- */

enum { ROUNDS = 40, KIDS = 1024 };

typedef struct race {
    store_obj *books[KIDS];
    int nbooks;
    pthread_barrier_t start, done;
    int round;
    int bad; /* a code other than STORE_OK or STORE_EINVAL */
} race;

/* Updates and deletes every book of the round while the main thread deletes their author. */
static void *hammer(void *arg)
{
    race *r = arg;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(&r->start);
        /* Pass after pass until every book is refused: the cascade has run, and many calls
         * were made while it held the lock, past their check before the lock. */
        for (bool refused = false; !refused;) {
            refused = true;
            for (int i = r->nbooks - 1; i >= 0; i--) {
                store_obj *b = r->books[i];
                int rc = i % 2 ? store_update(db, b,
                                              (store_value[]){STORE_V_INT("pages", i), {0}})
                               : store_delete(db, b);
                if (rc != STORE_OK && rc != STORE_EINVAL)
                    __atomic_store_n(&r->bad, rc, __ATOMIC_RELAXED);
                refused = refused && rc == STORE_EINVAL;
            }
        }
        pthread_barrier_wait(&r->done);
    }
    return NULL;
}

/* One author with enough books to fill a whole chunk of Book ids, so the cascade empties it. */
static store_obj *author_with_a_chunk_of_books(race *r)
{
    store_obj *a = make_author("parent");
    uint64_t next = store_model_next_id(Book);
    r->nbooks = (int)(KIDS - next % KIDS); /* up to the chunk's end */
    for (int i = 0; i < r->nbooks; i++)
        r->books[i] = make_book("a title longer than fourteen bytes", a);
    return a;
}

Test(stale, update_and_delete_racing_a_cascade_that_empties_the_chunk_are_refused_cleanly)
{
    race r = {.nbooks = 0};
    pthread_barrier_init(&r.start, NULL, 2);
    pthread_barrier_init(&r.done, NULL, 2);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hammer, &r), 0);
    for (int round = 0; round < ROUNDS; round++) {
        store_obj *a = author_with_a_chunk_of_books(&r);
        pthread_barrier_wait(&r.start);
        cr_assert_eq(store_delete(db, a), STORE_OK);
        pthread_barrier_wait(&r.done);
        cr_assert_eq(store_model_count(Book), 0);
    }
    pthread_join(t, NULL);
    pthread_barrier_destroy(&r.start);
    pthread_barrier_destroy(&r.done);
    cr_assert_eq(r.bad, 0, "a racing call returned %d", r.bad);
    check_invariants(db);
}

/* ---- The same through async requests in flight at once ----------------------------------- */

typedef struct tally {
    int ok, einval, other;
} tally;

static void count_cb(store_req *req)
{
    tally *t = req->data;
    if (req->result == STORE_OK)
        t->ok++;
    else if (req->result == STORE_EINVAL)
        t->einval++;
    else
        t->other++;
}

Test(stale, async_updates_racing_an_async_cascade_delete_are_refused_cleanly)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    static store_req reqs[KIDS + 1];
    race r = {.nbooks = 0};
    for (int round = 0; round < ROUNDS; round++) {
        store_obj *a = author_with_a_chunk_of_books(&r);
        tally t = {0};
        memset(reqs, 0, sizeof reqs);
        for (int i = 0; i < r.nbooks; i++) {
            if (i == r.nbooks / 4) { /* the delete among the updates: the pool runs both */
                reqs[0].data = &t;
                cr_assert_eq(store_delete_async(&loop, &reqs[0], db, a, count_cb), STORE_OK);
            }
            reqs[i + 1].data = &t;
            int rc = store_update_async(&loop, &reqs[i + 1], db, r.books[i],
                                        (store_value[]){STORE_V_INT("pages", i), {0}}, count_cb);
            if (rc == STORE_EINVAL) { /* already deleted when submitted: no callback */
                t.einval++;
                continue;
            }
            cr_assert_eq(rc, STORE_OK);
        }
        cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        for (int i = 0; i <= r.nbooks; i++)
            store_req_cleanup(&reqs[i]);
        cr_assert_eq(t.other, 0, "round %d: %d requests failed otherwise", round, t.other);
        cr_assert_eq(t.ok + t.einval, r.nbooks + 1);
        cr_assert_eq(store_model_count(Book), 0);
    }
    cr_assert_eq(uv_loop_close(&loop), 0);
    check_invariants(db);
}

Test(stale, a_model_past_its_last_id_refuses_creates_with_efull)
{
    /* Handing out 2^40 ids for real would take hours: the model's next id is set as a file's
     * catalog could hold it. The create is refused, changes nothing and uses no id. */
    make_author("before");
    uint64_t next = Author->next_id;
    Author->next_id = RS_ID_LIMIT;
    const char *before = dump_store(db);
    cr_assert_eq(store_create(db, Author, (store_value[]){STORE_V_STR("name", "N"), {0}}, NULL),
                 STORE_EFULL);
    cr_assert(strstr(store_errmsg(db), "Author"), "%s", store_errmsg(db));
    cr_assert(same_store(db, before));
    cr_assert_eq(Author->next_id, RS_ID_LIMIT);
    Author->next_id = next;
    make_author("after");
    check_invariants(db);
}

Test(stale, a_scan_that_deletes_what_it_walks_and_what_lies_ahead_ends_cleanly)
{
    /* Authors with books with reviews; the walk over books deletes each book's author, so the
     * cascade takes books (and reviews) the walk has not reached yet, whole chunks included. */
    for (int i = 0; i < 3000; i++) {
        store_obj *a = make_author("an author with a long enough name");
        for (int k = 0; k < 3; k++)
            make_review(make_book("a book title that is long enough", a), "a review body");
    }
    uint64_t pos = 0;
    size_t seen = 0;
    for (store_obj *b; (b = store_model_scan(Book, &pos)); seen++) {
        cr_assert_neq(store_id(b), 0, "the walk returned a deleted book");
        cr_assert_eq(store_delete(db, store_ref(b, "author")), STORE_OK, "%s", store_errmsg(db));
    }
    cr_assert_eq(seen, 3000);
    cr_assert_eq(store_model_count(Book), 0);
    cr_assert_eq(store_model_count(Review), 0);
    pos = 0;
    cr_assert_null(store_model_scan(Author, &pos));
    check_invariants(db);
}

/* ---- A deleted parent as the value of a lookup ------------------------------------------- */

/* Looks up in D the Profile whose user is U: the code; *OUT is NULL unless one is found. */
static int profile_of(store *d, store_obj *u, store_obj **out)
{
    store_model *Profile = store_model_find(d, "Profile");
    *out = u; /* anything but NULL: a miss must clear it */
    int rc = store_get_by(d, Profile, "user", &(store_value)STORE_V_REF(NULL, u), out);
    if (rc != STORE_OK)
        cr_assert_null(*out, "a miss left *OUT set");
    return rc;
}

Test(stale, a_deleted_object_as_a_value_matches_nothing_once_its_chunk_is_released_too)
{
    /* Profiles keep an .index FK to their user and outlive it (SET_NULL). A deleted user
     * matches nothing, whether its chunk still holds a living user or gave its pages back
     * (then its slot, model word included, reads zeros). */
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    store_field user[] = {{.name = "name", .type = STORE_TEXT}, {0}};
    store_field profile[] = {{.name = "user", .type = STORE_FK, .to = "User", .index = true,
                              .null = true, .on_delete = STORE_SET_NULL,
                              .related_name = "profiles"},
                             {0}};
    cr_assert_eq(store_schema_add(s, "User", user), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Profile", profile), STORE_OK);
    store *d;
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK);
    store_model *User = store_model_find(d, "User"), *Profile = store_model_find(d, "Profile");
    /* Ids 1 .. 1025, each user with its profile: all of chunk 0 (id 0 is never handed out)
     * and the first two ids of chunk 1. */
    store_obj *first = NULL, *kept = NULL, *gone = NULL, *found;
    for (uint64_t id = 1; id <= RS_CHUNK_SLOTS + 1; id++) {
        store_obj *u;
        cr_assert_eq(store_create(d, User, (store_value[]){STORE_V_STR("name", "u"), {0}}, &u),
                     STORE_OK);
        cr_assert_eq(store_create(d, Profile, (store_value[]){STORE_V_REF("user", u), {0}},
                                  NULL),
                     STORE_OK);
        first = id == 1 ? u : first;
        kept = id == RS_CHUNK_SLOTS ? u : kept;
        gone = id == RS_CHUNK_SLOTS + 1 ? u : gone;
    }
    cr_assert_eq(profile_of(d, first, &found), STORE_OK);
    cr_assert_eq(store_id(found), 1);

    cr_assert_eq(store_delete(d, gone), STORE_OK); /* chunk 1 lives on: id 1024 */
    cr_assert_eq(rs_obj_model(gone), User, "the chunk of a living user gave its pages back");
    int rc = profile_of(d, gone, &found);
    cr_assert_eq(rc, STORE_ENOTFOUND, "%s (%s)", store_strerror(rc), store_errmsg(d));

    for (uint64_t id = 1; id < RS_CHUNK_SLOTS; id++) {
        store_obj *u;
        cr_assert_eq(store_get(d, User, id, &u), STORE_OK);
        cr_assert_eq(store_delete(d, u), STORE_OK);
    }
    cr_assert_null(rs_obj_model(first), "chunk 0 did not give its pages back");
    const char *before = dump_store(d);
    rc = profile_of(d, first, &found);
    cr_assert_eq(rc, STORE_ENOTFOUND, "%s (%s)", store_strerror(rc), store_errmsg(d));
    cr_assert(same_store(d, before));

    /* The index still answers for the living: user 1024 has profile 1024. */
    cr_assert_eq(profile_of(d, kept, &found), STORE_OK);
    cr_assert_eq(store_id(found), RS_CHUNK_SLOTS);
    cr_assert_eq(store_model_count(Profile), RS_CHUNK_SLOTS + 1);

    /* A deleted object of another model matches nothing too, whether its chunk lives on
     * (profile 2: its model word still reads Profile) or not; a live one is refused. */
    store_obj *dead_profile, *live_profile;
    cr_assert_eq(store_get(d, Profile, 2, &dead_profile), STORE_OK);
    cr_assert_eq(store_get(d, Profile, 3, &live_profile), STORE_OK);
    cr_assert_eq(store_delete(d, dead_profile), STORE_OK);
    cr_assert_eq(rs_obj_model(dead_profile), Profile);
    rc = profile_of(d, dead_profile, &found);
    cr_assert_eq(rc, STORE_ENOTFOUND, "%s (%s)", store_strerror(rc), store_errmsg(d));
    cr_assert_eq(profile_of(d, live_profile, &found), STORE_EINVAL);

    store_obj *values[] = {first, gone, dead_profile};
    for (size_t k = 0; k < 3; k++) {
        store_query *q;
        cr_assert_eq(store_query_new(d, Profile, &q), STORE_OK);
        rc = store_query_filter(q, (store_value[]){STORE_V_REF("user", values[k]), {0}});
        cr_assert_eq(rc, STORE_OK, "value %zu: %s", k, store_errmsg(d));
        size_t n = 1;
        cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
        cr_assert_eq(n, 0, "value %zu matched %zu profiles", k, n);
        store_result r; /* walks the children of the value: it has none */
        cr_assert_eq(store_query_find(q, NULL, &r), STORE_OK);
        cr_assert_eq(r.count, 0, "value %zu found %zu profiles", k, r.count);
        store_query_free(q);
    }
    store_query *q;
    cr_assert_eq(store_query_new(d, Profile, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_REF("user", live_profile), {0}}),
                 STORE_EINVAL);
    store_query_free(q);
    check_invariants(d);
    store_close(d);
    store_schema_free(s);
}
