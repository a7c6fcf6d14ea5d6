/*
 * tests/fuzz/fuzz_api.c - R8: sequences of API calls, checked against a naive model.
 *
 * The input is a program: each op is a byte choosing the call (a create, a few creates, an
 * update, a delete, a get, a check, a query, a transaction op, a many-to-many op), then bytes
 * for its arguments. The store (in memory) has Author (name CHAR(6) .index, age INT .null
 * .ordered, score FLOAT .null .ordered), Book (title CHAR(6) .ordered, author FK CASCADE
 * "books", editor FK .null SET_NULL "edited" .ordered, code INT .null .unique, flag BOOL
 * default false .ordered) and Loan (book FK RESTRICT "loans", note TEXT .null .ordered), with
 * two many-to-many relations (fuzz_api_m2m.c): Book.tags to
 * Author ("tagged"), through the model Book_tags the store declares, and Loan.readers to Author
 * ("read"), through Reading (loan FK RESTRICT "readings", reader FK CASCADE "readings", pages
 * INT .null; loan and pages unique together). Beside it, a reference model keeps the same
 * objects (the links among them, as objects of their through models) in plain arrays and
 * applies each rule the obvious way (a delete computes its whole cascade, refuses on a RESTRICT
 * child outside it, then nulls SET_NULL children). After every call the code returned must be
 * the one the reference predicts; after every transaction or many-to-many op, and every few
 * calls, store_check() must pass and every object (at its address), field, count and relation
 * (in join order) must agree, and so must every many-to-many list, walked from both sides, in
 * its order; at the end, once every open transaction is ended, they must agree again.
 *
 * Transactions (fuzz_api_txn.c): begins, savepoints, read-only levels (where every change is
 * STORE_EINVAL), commits and rollbacks of the innermost level, misuses that change nothing,
 * store_create_many(), store_get_or_create(), store_update_or_create() and store_atomic().
 * The reference keeps a copy of its whole state per open level: a rollback puts it back (ids
 * are handed out again), a commit drops it.
 *
 * This file holds the program's driver, the schema and that reference; the query op is
 * fuzz_api_query.c's (its reference's answer, fuzz_api_query_ref.c's), the transaction ops
 * fuzz_api_txn.c's, the many-to-many ops fuzz_api_m2m.c's; they read and change the
 * reference through fuzz_api.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const fdef fdefs[NMODELS][NFIELDS] = {
    [AUTHOR] = {{.name = "name", .type = STORE_CHAR},
                {.name = "age", .type = STORE_INT, .null = true},
                {.name = "score", .type = STORE_FLOAT, .null = true}},
    [BOOK] = {{.name = "title", .type = STORE_CHAR},
              {.name = "author", .type = STORE_FK, .to = AUTHOR, .rel = "books"},
              {.name = "editor", .type = STORE_FK, .null = true, .to = AUTHOR, .rel = "edited",
               .del = STORE_SET_NULL},
              {.name = "code", .type = STORE_INT, .null = true, .unique = true},
              {.name = "flag", .type = STORE_BOOL}},
    [LOAN] = {{.name = "book", .type = STORE_FK, .to = BOOK, .rel = "loans",
               .del = STORE_RESTRICT},
              {.name = "note", .type = STORE_TEXT, .null = true}},
    /* as store.h says the store declares it for Book.tags */
    [BOOK_TAGS] = {{.name = "book", .type = STORE_FK, .to = BOOK, .rel = "book_tags"},
                   {.name = "author", .type = STORE_FK, .to = AUTHOR, .rel = "book_tags"}},
    [READING] = {{.name = "loan", .type = STORE_FK, .to = LOAN, .rel = "readings",
                  .del = STORE_RESTRICT},
                 {.name = "reader", .type = STORE_FK, .to = AUTHOR, .rel = "readings"},
                 {.name = "pages", .type = STORE_INT, .null = true}},
};
const int nfields[NMODELS] = {3, 5, 2, 2, 3};
const char *const model_names[NMODELS] = {"Author", "Book", "Loan", "Book_tags", "Reading"};

const rdef rels[NRELS] = {{BOOK, 1},      {BOOK, 2},    {LOAN, 0},   {BOOK_TAGS, 0},
                          {BOOK_TAGS, 1}, {READING, 0}, {READING, 1}};

ref refs[NMODELS][MAX_IDS];
uint64_t next_id[NMODELS];
uint64_t join_seq;
store *db;
store_model *models[NMODELS];

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 6, .index = true},
    {.name = "age", .type = STORE_INT, .null = true, .ordered = true},
    {.name = "score", .type = STORE_FLOAT, .null = true, .ordered = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 6, .ordered = true},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited", .null = true,
     .on_delete = STORE_SET_NULL, .ordered = true},
    {.name = "code", .type = STORE_INT, .null = true, .unique = true},
    {.name = "flag", .type = STORE_BOOL, STORE_DEFAULT_BOOL(false), .ordered = true},
    {.name = "tags", .type = STORE_M2M, .to = "Author", .related_name = "tagged"},
    {0},
};
static const store_field loan_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "loans",
     .on_delete = STORE_RESTRICT},
    {.name = "note", .type = STORE_TEXT, .null = true, .ordered = true},
    {.name = "readers", .type = STORE_M2M, .to = "Author", .related_name = "read",
     .through = "Reading"},
    {0},
};
static const store_field reading_fields[] = {
    {.name = "loan", .type = STORE_FK, .to = "Loan", .related_name = "readings",
     .on_delete = STORE_RESTRICT},
    {.name = "reader", .type = STORE_FK, .to = "Author", .related_name = "readings",
     .on_delete = STORE_CASCADE},
    {.name = "pages", .type = STORE_INT, .null = true},
    {0},
};

/* ---- Reading the program ------------------------------------------------------------------ */

unsigned byte(prog *g)
{
    return g->p < g->end ? *g->p++ : 0;
}

/* An id of model M: mostly a used one (live or dead), sometimes one never handed out. */
uint64_t pick_id(prog *g, int m)
{
    unsigned b = byte(g);
    uint64_t n = next_id[m];
    return b >= 240 || n <= 1 ? (uint64_t)b % (n + 3) : (uint64_t)b % (n - 1) + 1;
}

/* The pieces strings are made of: few, so that values repeat; ASCII letters of both cases,
 * the bytes just outside A-Z and a-z (which case folding must leave alone), and two letters
 * outside ASCII (é and É, which it must not fold either). */
static const char *const pieces[] = {"a", "b", "A", "B", "@",
                                     "[", "`", "{", "\xc3\xa9", "\xc3\x89"};

/* A string of 0 to MAX characters (pieces) into OUT; returns how many. */
unsigned pick_text(prog *g, char *out, unsigned max)
{
    unsigned len = byte(g) % (max + 1);
    out[0] = '\0';
    for (unsigned i = 0; i < len; i++)
        strcat(out, pieces[byte(g) % (sizeof pieces / sizeof pieces[0])]);
    return len;
}

/* Mostly small numbers (so that they repeat), sometimes the ends of int64. */
int64_t pick_int(prog *g)
{
    static const int64_t big[] = {INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                  (int64_t)1 << 62, -((int64_t)1 << 62), 1000, -1000};
    unsigned b = byte(g);
    return b < 224 ? (int64_t)(b % 9) - 4 : big[b % 8];
}

double pick_float(prog *g)
{
    static const double pool[] = {0.0,    -0.0,     0.5,       1.0, -1.0, 2.5,    -4.0, 1e300,
                                  -1e300, INFINITY, -INFINITY, 3.0, 0.1,  1e-300, 4.0,  -2.5};
    return pool[byte(g) % 16];
}

/* ---- The reference ------------------------------------------------------------------------ */

ref *live_ref(int m, uint64_t id)
{
    return id && id < MAX_IDS && refs[m][id].live ? &refs[m][id] : NULL;
}

/* The object to hand the store for ID of M: live, dead (deleted: the store must say so), or
 * NULL (never made). */
store_obj *obj_of(int m, uint64_t id)
{
    return id && id < MAX_IDS ? refs[m][id].obj : NULL;
}

/* The model and id of the store's object O (live or dead); false if O is none of ours. */
bool obj_ident(const store_obj *o, int *m, uint64_t *id)
{
    for (int k = 0; o && k < NMODELS; k++)
        for (uint64_t i = 1; i < MAX_IDS; i++) /* past the next id: a rolled back create */
            if (refs[k][i].obj == o) {
                *m = k;
                *id = i;
                return true;
            }
    return false;
}

/* Whether a live Book other than EXCEPT holds CODE (a null holds nothing). */
bool code_taken(const rval *code, uint64_t except)
{
    for (uint64_t b = 1; code->kind != STORE_KIND_NULL && b < next_id[BOOK]; b++) {
        ref *r = live_ref(BOOK, b);
        if (r && b != except && r->v[3].kind == STORE_KIND_INT && r->v[3].i == code->i)
            return true;
    }
    return false;
}

/* Adds to D the cascade of what it holds; whether no RESTRICT child is left outside it. */
bool cascade(doomed *d)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (int c = 0; c < NMODELS; c++)
            for (int f = 0; f < nfields[c]; f++)
                for (uint64_t id = 1; fdefs[c][f].del == STORE_CASCADE && id < next_id[c]; id++) {
                    ref *r = live_ref(c, id);
                    if (fdefs[c][f].type != STORE_FK || !r || d->set[c][id] ||
                        r->v[f].kind != STORE_KIND_REF || !d->set[fdefs[c][f].to][r->v[f].i])
                        continue;
                    d->set[c][id] = changed = true;
                }
    }
    for (int c = 0; c < NMODELS; c++)
        for (int f = 0; f < nfields[c]; f++)
            for (uint64_t id = 1; fdefs[c][f].del == STORE_RESTRICT && id < next_id[c]; id++) {
                ref *r = live_ref(c, id);
                if (fdefs[c][f].type == STORE_FK && r && !d->set[c][id] &&
                    r->v[f].kind == STORE_KIND_REF && d->set[fdefs[c][f].to][r->v[f].i])
                    return false;
            }
    return true;
}

void apply_delete(const doomed *d)
{
    for (int m = 0; m < NMODELS; m++)
        for (uint64_t id = 1; id < next_id[m]; id++)
            if (d->set[m][id])
                refs[m][id].live = false;
    for (int c = 0; c < NMODELS; c++)
        for (int f = 0; f < nfields[c]; f++)
            for (uint64_t id = 1; fdefs[c][f].del == STORE_SET_NULL && id < next_id[c]; id++) {
                ref *r = live_ref(c, id);
                if (fdefs[c][f].type == STORE_FK && r && r->v[f].kind == STORE_KIND_REF &&
                    d->set[fdefs[c][f].to][r->v[f].i]) {
                    r->v[f] = (rval){.kind = STORE_KIND_NULL};
                    r->seq[f] = 0;
                }
            }
}

/* Sets field F of R to V; a foreign key given a new parent joins its relation at the end. */
void ref_set(ref *r, int m, int f, const rval *v)
{
    if (fdefs[m][f].type == STORE_FK &&
        (r->v[f].kind != v->kind || (v->kind == STORE_KIND_REF && r->v[f].i != v->i)))
        r->seq[f] = v->kind == STORE_KIND_REF ? ++join_seq : 0;
    r->v[f] = *v;
}

bool code_allowed(unsigned mask, int rc)
{
    return mask ? rc < 0 && (mask & BIT(rc)) : rc == STORE_OK;
}

/* ---- The ops ------------------------------------------------------------------------------ */

/*
 * A value for field F of model M, into *RV (the reference's) and *SV (the store's, named for
 * F; a string points into RV). Returns the failure it must cause in a create or an update:
 * STORE_EINVAL (too long, a null where none is allowed), STORE_ECONSTRAINT (a deleted
 * parent), else STORE_OK; a repeated .unique value is the caller's to judge.
 */
int pick_value(prog *g, int m, int f, rval *rv, store_value *sv)
{
    const fdef *d = &fdefs[m][f];
    unsigned b = byte(g);
    *rv = (rval){.kind = STORE_KIND_NULL};
    if (b >= 250 || (d->null && b < 48 && d->type != STORE_FK)) {
        *sv = (store_value)STORE_V_NULL(d->name);
        return d->null ? STORE_OK : STORE_EINVAL;
    }
    switch (d->type) {
    case STORE_CHAR:
    case STORE_TEXT: {
        rv->kind = STORE_KIND_STR;
        unsigned n = pick_text(g, rv->s, d->type == STORE_CHAR ? 8 : 10);
        *sv = (store_value)STORE_V_STR(d->name, rv->s);
        return d->type == STORE_CHAR && n > 6 ? STORE_EINVAL : STORE_OK;
    }
    case STORE_INT: /* a .unique value from a wider range, to repeat less */
        *rv = (rval){.kind = STORE_KIND_INT, .i = d->unique && b % 4 ? byte(g) : pick_int(g)};
        *sv = (store_value)STORE_V_INT(d->name, rv->i);
        return STORE_OK;
    case STORE_FLOAT:
        *rv = (rval){.kind = STORE_KIND_FLOAT, .f = pick_float(g)};
        *sv = (store_value)STORE_V_FLOAT(d->name, rv->f);
        return STORE_OK;
    case STORE_BOOL:
        *rv = (rval){.kind = STORE_KIND_BOOL, .b = byte(g) & 1};
        *sv = (store_value)STORE_V_BOOL(d->name, rv->b);
        return STORE_OK;
    default: {
        uint64_t id = d->null && b < 96 ? 0 : pick_id(g, d->to);
        store_obj *o = obj_of(d->to, id);
        *sv = (store_value)STORE_V_REF(d->name, o);
        if (!o)
            return d->null ? STORE_OK : STORE_EINVAL;
        *rv = (rval){.kind = STORE_KIND_REF, .i = (int64_t)id};
        return live_ref(d->to, id) ? STORE_OK : STORE_ECONSTRAINT;
    }
    }
}

/* The values of a create of model M, into RV (every field) and V (ended by {0}); the
 * failures the create must give, as a mask. */
unsigned pick_row(prog *g, int m, rval *rv, store_value *v)
{
    int n = 0;
    unsigned fail = 0;
    for (int f = 0; f < nfields[m]; f++) {
        const fdef *d = &fdefs[m][f];
        if ((d->null || d->type == STORE_BOOL) && byte(g) % 4 == 0) { /* left to its default */
            rv[f] = (rval){.kind = d->type == STORE_BOOL ? STORE_KIND_BOOL : STORE_KIND_NULL};
            continue;
        }
        int rc = pick_value(g, m, f, &rv[f], &v[n++]);
        fail |= rc ? BIT(rc) : 0;
    }
    v[n] = (store_value){0};
    return fail;
}

/* Records the store's new object O of model M, with the fields RV, at the next id. */
void ref_create(int m, store_obj *o, const rval *rv)
{
    uint64_t id = next_id[m]++;
    CHECK(store_id(o) == id && id < MAX_IDS);
    ref *r = &refs[m][id];
    *r = (ref){.live = true, .obj = o};
    for (int f = 0; f < nfields[m]; f++)
        ref_set(r, m, f, &rv[f]);
}

static void op_create(prog *g, int m)
{
    rval rv[NFIELDS] = {{0}};
    store_value v[NFIELDS + 1] = {{0}};
    unsigned fail = pick_row(g, m, rv, v);
    if ((m == BOOK && code_taken(&rv[3], 0)) || row_clashes(m, rv, 0))
        fail |= BIT(STORE_ECONSTRAINT);
    if (txn_readonly()) /* a change inside a read-only transaction */
        fail |= BIT(STORE_EINVAL);
    store_obj *o = NULL;
    int rc = store_create(db, models[m], v, &o);
    CHECK(code_allowed(fail, rc));
    if (!rc)
        ref_create(m, o, rv);
}

static void op_update(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o = obj_of(m, id);
    if (!o)
        return;
    ref *r = live_ref(m, id);
    int f = (int)(byte(g) % (unsigned)nfields[m]);
    rval rv;
    store_value v[2] = {{0}};
    int rc = pick_value(g, m, f, &rv, &v[0]);
    unsigned fail = rc ? BIT(rc) : 0;
    if (!r || txn_readonly())
        fail |= BIT(STORE_EINVAL);
    if (m == BOOK && f == 3 && code_taken(&rv, id))
        fail |= BIT(STORE_ECONSTRAINT);
    if (r) { /* a link moved onto a linked pair, a repeat of fields unique together */
        rval row[NFIELDS];
        memcpy(row, r->v, sizeof row);
        row[f] = rv;
        if (row_clashes(m, row, id))
            fail |= BIT(STORE_ECONSTRAINT);
    }
    rc = store_update(db, o, v);
    CHECK(code_allowed(fail, rc));
    if (!rc)
        ref_set(r, m, f, &rv);
}

static void op_delete(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o = obj_of(m, id);
    if (!o)
        return;
    static doomed d;
    memset(&d, 0, sizeof d);
    d.set[m][id] = true;
    bool live = live_ref(m, id) != NULL, allowed = live && cascade(&d);
    int rc = store_delete(db, o);
    if (txn_readonly()) /* refused, as a change or for what it would do */
        CHECK(rc == STORE_EINVAL || (live && !allowed && rc == STORE_ECONSTRAINT));
    else
        CHECK(live ? (allowed ? rc == STORE_OK : rc == STORE_ECONSTRAINT) : rc == STORE_EINVAL);
    if (!rc)
        apply_delete(&d);
}

static void op_get(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o;
    int rc = store_get(db, models[m], id, &o);
    CHECK(live_ref(m, id) ? rc == STORE_OK && o == refs[m][id].obj : rc == STORE_ENOTFOUND);
}

/* Checks relation R of parent PID against the children pointing at it, in join order. */
static void check_relation(int r, uint64_t pid)
{
    int cm = rels[r].child, k = rels[r].fk, pm = fdefs[cm][k].to;
    store_iter it = store_reverse(refs[pm][pid].obj, fdefs[cm][k].rel);
    uint64_t last_seq = 0;
    size_t n = 0;
    for (store_obj *c; (c = store_next(&it)); n++) {
        ref *cr = live_ref(cm, store_id(c));
        CHECK(cr && cr->obj == c && cr->v[k].kind == STORE_KIND_REF &&
              cr->v[k].i == (int64_t)pid && cr->seq[k] > last_seq);
        last_seq = cr->seq[k];
    }
    size_t want = 0;
    for (uint64_t id = 1; id < next_id[cm]; id++)
        want += live_ref(cm, id) && refs[cm][id].v[k].kind == STORE_KIND_REF &&
                refs[cm][id].v[k].i == (int64_t)pid;
    CHECK(n == want && store_count(&it) == want);
}

static void check_field(const store_obj *o, int m, int f, const rval *v)
{
    const char *name = fdefs[m][f].name;
    CHECK(store_is_null(o, name) == (v->kind == STORE_KIND_NULL));
    switch (v->kind) {
    case STORE_KIND_STR:
        CHECK(!strcmp(store_str(o, name), v->s));
        break;
    case STORE_KIND_INT:
        CHECK(store_int(o, name) == v->i);
        break;
    case STORE_KIND_FLOAT: /* the very value: -0.0 stays -0.0 */
        CHECK(store_float(o, name) == v->f && !signbit(store_float(o, name)) == !signbit(v->f));
        break;
    case STORE_KIND_BOOL:
        CHECK(store_bool(o, name) == v->b);
        break;
    case STORE_KIND_REF:
        CHECK(store_id(store_ref(o, name)) == (uint64_t)v->i);
        break;
    default:
        CHECK(!store_ref(o, name));
        break;
    }
}

void check_all(void)
{
    CHECK(store_check(db) == STORE_OK);
    for (int m = 0; m < NMODELS; m++) {
        CHECK(store_model_next_id(models[m]) == next_id[m]);
        size_t live = 0;
        for (uint64_t id = 1; id < next_id[m]; id++) {
            ref *r = live_ref(m, id);
            store_obj *o;
            int rc = store_get(db, models[m], id, &o);
            CHECK(r ? rc == STORE_OK && o == r->obj : rc == STORE_ENOTFOUND);
            if (!r)
                continue;
            live++;
            for (int f = 0; f < nfields[m]; f++)
                check_field(o, m, f, &r->v[f]);
            for (int k = 0; k < NRELS; k++)
                if (fdefs[rels[k].child][rels[k].fk].to == m)
                    check_relation(k, id);
        }
        CHECK(store_model_count(models[m]) == live);
    }
    check_m2m();
    check_txn();
}

/* Runs op OP, its arguments read from G. */
void run_op(prog *g, unsigned op)
{
    int m = (int)(op / 5 % NMODELS);
    bool full = next_id[m] >= MAX_IDS - 1;
    switch (op % 5) {
    case 0:
        if (!full)
            op_create(g, m);
        break;
    case 1:
        op_update(g, m);
        break;
    case 2:
        op_delete(g, m);
        break;
    case 3: /* some objects at once, or a get */
        for (int n = op & 0x40 ? 1 + (int)(byte(g) % 8) : 0; n > 0 && !full; n--) {
            op_create(g, m);
            full = next_id[m] >= MAX_IDS - 1;
        }
        if (!(op & 0x40))
            op_get(g, m);
        break;
    default:
        if ((op & 0xc0) == 0xc0)
            op_txn(g);
        else if ((op & 0xb0) == 0x80)
            check_all();
        else if (op & 0x80)
            op_m2m(g);
        else
            op_query(g);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const m2m_unique[] = {"title", "tags", NULL};
    static const char *const reading_unique[] = {"loan", "pages", NULL};
    store_schema *s;
    if (store_schema_new(&s) || store_schema_add(s, "Author", author_fields) ||
        store_schema_add(s, "Book", book_fields) || store_schema_add(s, "Loan", loan_fields) ||
        store_schema_add(s, "Reading", reading_fields) ||
        store_schema_unique(s, "Book", m2m_unique) != STORE_ESCHEMA || /* no STORE_M2M */
        store_schema_unique(s, "Reading", reading_unique) || store_open(&db, s, NULL, NULL))
        abort();
    for (int m = 0; m < NMODELS; m++) {
        models[m] = store_model_find(db, model_names[m]);
        next_id[m] = 1;
    }
    m2m_check_schema();
    memset(refs, 0, sizeof refs);
    join_seq = 0;
    txn_reset();
    prog g = {data, data + size};
    for (int ops = 0; g.p < g.end && ops < 2000; ops++)
        run_op(&g, byte(&g));
    txn_end_all();
    check_all();
    store_close(db);
    store_schema_free(s);
    return 0;
}
