/*
 * tests/txn_ledger.c - the ledger workload of tests/txn_ledger.h: transactions whose every
 * part leaves a mark that ledger_check() finds, so that a store holding part of one (or a
 * rolled-back one) is told from a store holding all or none of each.
 *
 * Nothing here asserts: a forked child runs these calls and reports their codes itself.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "store/check.h"
#include "tests/txn_ledger.h"

/* Values are added one statement at a time, so the draws come in a fixed order. */
#define ADD(list, n, value) ((list)[(n)++] = (store_value)value)

uint64_t ledger_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *x, uint64_t n)
{
    return ledger_rand(x) % n;
}

uint64_t ledger_hash(store *s)
{
    char *text;
    if (rs_dump_store(s, &text))
        return 0;
    uint64_t h = XXH3_64bits(text, strlen(text));
    free(text);
    return h;
}

static store_obj *author(store *s, uint64_t id)
{
    store_obj *o;
    return store_get(s, store_model_find(s, "Author"), id, &o) == STORE_OK ? o : NULL;
}

/* The receipt of transaction T, or NULL. */
static store_obj *receipt(store *s, uint64_t t)
{
    char name[32];
    snprintf(name, sizeof name, "txn %" PRIu64, t);
    store_value v = STORE_V_STR(NULL, name);
    store_obj *o;
    return store_get_by(s, store_model_find(s, "Author"), "name", &v, &o) == STORE_OK ? o : NULL;
}

int ledger_init(store *s)
{
    store_model *A = store_model_find(s, "Author");
    int rc = store_create(
        s, A,
        (store_value[]){
            STORE_V_STR("name", "counter"), STORE_V_INT("age", 0), STORE_V_FLOAT("rating", 0), {0}},
        NULL);
    for (int i = 1; !rc && i <= LEDGER_ACCOUNTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "account %d", i);
        rc = store_create(
            s, A,
            (store_value[]){STORE_V_STR("name", name), STORE_V_INT("age", LEDGER_BALANCE), {0}},
            NULL);
    }
    return rc;
}

/* A review of book B of transaction N: "txn N", then filler (now and then past a page). */
static int make_review(store *s, store_obj *b, uint64_t n, uint64_t *x)
{
    static char body[4096];
    size_t len = (size_t)snprintf(body, sizeof body, "txn %" PRIu64, n);
    size_t more = rnd(x, 10) ? rnd(x, 600) : 3000 + rnd(x, 1000);
    memset(body + len, '.', more);
    body[len + more] = 0;
    return store_create(s, store_model_find(s, "Review"),
                        (store_value[]){STORE_V_REF("book", b), STORE_V_STR("body", body), {0}},
                        NULL);
}

/* Book I of receipt R of transaction N, edited by EDITOR (or not). */
static int make_book(store *s, store_obj *r, store_obj *editor, uint64_t n, int i, uint64_t *x)
{
    char title[256], isbn[32];
    int len = snprintf(title, sizeof title, "txn %" PRIu64 " book %d ", n, i);
    if (!rnd(x, 4)) { /* a long title, kept apart from the slot */
        memset(title + len, '.', 200 - (size_t)len);
        title[200] = 0;
    }
    snprintf(isbn, sizeof isbn, "%" PRIu64 "-%d", n % 1000000, i);
    store_value v[6];
    int m = 0;
    ADD(v, m, STORE_V_STR("title", title));
    ADD(v, m, STORE_V_REF("author", r));
    ADD(v, m, STORE_V_INT("pages", (int64_t)n));
    if (editor)
        ADD(v, m, STORE_V_REF("editor", editor));
    if (!rnd(x, 3))
        ADD(v, m, STORE_V_STR("isbn", isbn));
    v[m] = (store_value){0};
    store_obj *b;
    int rc = store_create(s, store_model_find(s, "Book"), v, &b);
    return rc || rnd(x, 3) ? rc : make_review(s, b, n, x);
}

/* Receipt N with SIZE / 2 to SIZE books. */
static int make_receipt(store *s, uint64_t n, uint64_t *x, int size)
{
    char name[32], email[32];
    int k = (size + 1) / 2 + (int)rnd(x, (uint64_t)size / 2 + 1);
    snprintf(name, sizeof name, "txn %" PRIu64, n);
    snprintf(email, sizeof email, "%" PRIu64 "@txn", n);
    store_obj *prev = n > 1 ? receipt(s, n - 1) : NULL, *r;
    int rc = store_create(
        s, store_model_find(s, "Author"),
        (store_value[]){
            STORE_V_STR("name", name), STORE_V_STR("email", email), STORE_V_INT("age", k), {0}},
        &r);
    for (int i = 0; !rc && i < k; i++)
        rc = make_book(s, r, prev, n, i, x);
    return rc;
}

/* MOVES amounts from one account to another: two updates each. */
static int move_amounts(store *s, uint64_t *x, int moves)
{
    int rc = STORE_OK;
    for (int j = 0; !rc && j < moves; j++) {
        uint64_t a = rnd(x, LEDGER_ACCOUNTS);
        uint64_t b = (a + 1 + rnd(x, LEDGER_ACCOUNTS - 1)) % LEDGER_ACCOUNTS;
        int64_t amount = 1 + (int64_t)rnd(x, 100);
        store_obj *from = author(s, 2 + a), *to = author(s, 2 + b);
        if (!from || !to)
            return STORE_ENOTFOUND;
        rc = store_update(
            s, from, (store_value[]){STORE_V_INT("age", store_int(from, "age") - amount), {0}});
        if (!rc)
            rc = store_update(
                s, to, (store_value[]){STORE_V_INT("age", store_int(to, "age") + amount), {0}});
    }
    return rc;
}

/* Deletes receipt T, its books and their reviews; the next receipt's books lose their editor. */
static int drop_receipt(store *s, uint64_t t)
{
    store_obj *r = receipt(s, t);
    return r ? store_delete(s, r) : STORE_ENOTFOUND;
}

static int set_counter(store *s, const store_value *values)
{
    store_obj *c = author(s, 1);
    return c ? store_update(s, c, values) : STORE_ENOTFOUND;
}

/* A savepoint that does what transaction N does, and more, and is rolled back. */
static int doomed_savepoint(store *s, uint64_t n, uint64_t *x)
{
    store_txn *t;
    int rc = store_begin(s, 0, &t);
    if (rc)
        return rc;
    rc = make_receipt(s, n, x, 3);
    if (!rc)
        rc = move_amounts(s, x, 2);
    if (!rc)
        rc = set_counter(s, (store_value[]){STORE_V_INT("age", (int64_t)n + 1000), {0}});
    if (!rc && n > 1)
        rc = drop_receipt(s, n - 1);
    int end = store_rollback(t);
    return rc ? rc : end;
}

/* The counter's rating, in a savepoint that commits into the transaction. */
static int rate_counter(store *s, uint64_t n)
{
    store_txn *t;
    int rc = store_begin(s, 0, &t);
    if (rc)
        return rc;
    rc = set_counter(s, (store_value[]){STORE_V_FLOAT("rating", (double)n / 2), {0}});
    return rc ? (store_rollback(t), rc) : store_commit(t);
}

int ledger_changes(store *s, uint64_t n, uint64_t *x, int size)
{
    int rc = rnd(x, 3) ? STORE_OK : doomed_savepoint(s, n, x);
    if (!rc)
        rc = make_receipt(s, n, x, size);
    if (!rc)
        rc = move_amounts(s, x, 1 + (int)rnd(x, 6));
    if (!rc && n > LEDGER_KEEP)
        rc = drop_receipt(s, n - LEDGER_KEEP);
    if (!rc)
        rc = rate_counter(s, n);
    if (!rc)
        rc = set_counter(s, (store_value[]){STORE_V_INT("age", (int64_t)n), {0}});
    return rc;
}

/* ---- The check ------------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static bool fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return false;
}

/* Whether S begins with "txn T" and no digit follows. */
static bool tagged(const char *s, uint64_t t)
{
    char tag[32];
    int n = snprintf(tag, sizeof tag, "txn %" PRIu64, t);
    return s && !strncmp(s, tag, (size_t)n) && (s[n] < '0' || s[n] > '9');
}

/* Receipt R of transaction T, in a store at counter N: its books and their reviews, added to
 * *BOOKS and *REVIEWS. */
static bool check_receipt(store *s, store_obj *r, uint64_t t, uint64_t n, size_t *books,
                          size_t *reviews, char *why, size_t len)
{
    char email[32];
    snprintf(email, sizeof email, "%" PRIu64 "@txn", t);
    if (!store_str(r, "email") || strcmp(store_str(r, "email"), email))
        return fail(why, len, "receipt %" PRIu64 ": email %s", t, store_str(r, "email"));
    store_obj *editor = t > 1 && t - 1 + LEDGER_KEEP > n ? receipt(s, t - 1) : NULL;
    if (t > 1 && t - 1 + LEDGER_KEEP > n && !editor)
        return fail(why, len, "receipt %" PRIu64 " without receipt %" PRIu64, t, t - 1);
    store_iter it = store_reverse(r, "books");
    size_t k = 0;
    for (store_obj *b; (b = store_next(&it)); k++) {
        if (!tagged(store_str(b, "title"), t) || store_int(b, "pages") != (int64_t)t)
            return fail(why, len, "receipt %" PRIu64 ": book %" PRIu64 " \"%.40s\", pages %" PRId64,
                        t, store_id(b), store_str(b, "title"), store_int(b, "pages"));
        if (store_ref(b, "editor") != editor)
            return fail(why, len,
                        "receipt %" PRIu64 ": book %" PRIu64 " has editor %" PRIu64
                        ", not %" PRIu64,
                        t, store_id(b), store_id(store_ref(b, "editor")), store_id(editor));
        store_iter rv = store_reverse(b, "reviews");
        for (store_obj *v; (v = store_next(&rv)); ++*reviews)
            if (!tagged(store_str(v, "body"), t))
                return fail(why, len, "receipt %" PRIu64 ": review %" PRIu64 " \"%.20s\"", t,
                            store_id(v), store_str(v, "body"));
    }
    if ((int64_t)k != store_int(r, "age"))
        return fail(why, len, "receipt %" PRIu64 ": %zu books of %" PRId64, t, k,
                    store_int(r, "age"));
    *books += k;
    return true;
}

/* The counter and the accounts of a store at counter *N. */
static bool check_counter(store *s, int64_t *n, char *why, size_t len)
{
    store_obj *c = author(s, 1);
    if (!c || !store_str(c, "name") || strcmp(store_str(c, "name"), "counter"))
        return fail(why, len, "no counter");
    *n = store_int(c, "age");
    if (*n < 0)
        return fail(why, len, "the counter is %" PRId64, *n);
    if (store_float(c, "rating") != (double)*n / 2)
        return fail(why, len, "the counter is %" PRId64 ", its rating %g", *n,
                    store_float(c, "rating"));
    int64_t sum = 0;
    for (int i = 1; i <= LEDGER_ACCOUNTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "account %d", i);
        store_obj *a = author(s, 1 + (uint64_t)i);
        if (!a || !store_str(a, "name") || strcmp(store_str(a, "name"), name))
            return fail(why, len, "no %s", name);
        sum += store_int(a, "age");
    }
    if (sum != LEDGER_ACCOUNTS * LEDGER_BALANCE)
        return fail(why, len, "the accounts sum to %" PRId64, sum);
    return true;
}

bool ledger_check(store *s, uint64_t *count, char *why, size_t len)
{
    int64_t n = 0;
    *count = 0;
    if (!check_counter(s, &n, why, len))
        return false;
    *count = (uint64_t)n;
    size_t books = 0, reviews = 0;
    unsigned seen = 0; /* bit d: receipt n - d */
    uint64_t pos = 2 + LEDGER_ACCOUNTS;
    for (store_obj *r; (r = store_model_scan(store_model_find(s, "Author"), &pos));) {
        uint64_t t;
        int end = 0;
        const char *name = store_str(r, "name");
        if (sscanf(name, "txn %" SCNu64 "%n", &t, &end) != 1 || name[end])
            return fail(why, len, "author %" PRIu64 " \"%s\"", store_id(r), name);
        if (t == 0 || t > (uint64_t)n || t + LEDGER_KEEP <= (uint64_t)n)
            return fail(why, len, "receipt %" PRIu64 " in a store at transaction %" PRId64, t, n);
        if (seen & 1u << (n - (int64_t)t))
            return fail(why, len, "receipt %" PRIu64 " twice", t);
        seen |= 1u << (n - (int64_t)t);
        if (!check_receipt(s, r, t, (uint64_t)n, &books, &reviews, why, len))
            return false;
    }
    int64_t live = n < LEDGER_KEEP ? n : LEDGER_KEEP;
    if (seen != (1u << live) - 1)
        return fail(why, len, "receipts %#x of the last %" PRId64 " transactions", seen, live);
    size_t nb = store_model_count(store_model_find(s, "Book"));
    size_t nr = store_model_count(store_model_find(s, "Review"));
    if (nb != books || nr != reviews || store_model_count(store_model_find(s, "Loan")))
        return fail(why, len, "%zu books and %zu reviews, %zu and %zu of receipts", nb, nr, books,
                    reviews);
    return true;
}
