/*
 * tests/fuzz/fuzz_api.c - R8: sequences of API calls, checked against a naive model.
 *
 * The input is a program: each op is a byte choosing the call (a create, a few creates, an
 * update, a delete, a get, a check, a query), then bytes for its arguments. The store (in
 * memory) has Author (name CHAR(6) .index, age INT .null, score FLOAT .null), Book (title
 * CHAR(6), author FK CASCADE "books", editor FK .null SET_NULL "edited", code INT .null
 * .unique, flag BOOL default false) and Loan (book FK RESTRICT "loans", note TEXT .null).
 * Beside it, a reference model keeps the same objects in plain arrays and applies each rule
 * the obvious way (a delete computes its whole cascade, refuses on a RESTRICT child outside
 * it, then nulls SET_NULL children). After every call the code returned must be the one the
 * reference predicts; after every few calls store_check() must pass; at the end every object,
 * field and relation (in join order) must agree.
 *
 * The query op builds a random query: terms over fields, ids, chains of foreign keys, reverse
 * relations and their counts, with every lookup that fits and some that do not, values that
 * objects hold and others, nulls, lists and parameters; filter, exclude, OR / AND / NOT
 * groups, an order and a slice. The reference answers it a second way, reading store.h's
 * rules and nothing of the library's query code: it parses each term itself, evaluates it on
 * every object of the model (two-valued logic, a reverse hop true when some child matches),
 * sorts by the keys with ties by id, and slices. Find, count, exists, first, get, visit and
 * aggregates must agree with it, and a query with a bad term must fail with STORE_EINVAL at
 * that call and at every later one. Now and then an update or a delete by the query is made
 * on both, and the whole stores are compared. Any difference aborts (the query and the data
 * are printed first), which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { AUTHOR, BOOK, LOAN, NMODELS, MAX_IDS = 400, NFIELDS = 5, TEXT_MAX = 40 };

/* A value as the reference keeps it. REF: I is the parent's id (-1: no object of the model). */
typedef struct rval {
    store_kind kind; /* STORE_KIND_NULL, _STR, _INT, _FLOAT, _BOOL or _REF */
    int64_t i;
    double f;
    bool b;
    char s[TEXT_MAX];
} rval;

typedef struct ref {
    bool live;
    rval v[NFIELDS];         /* the fields, in declaration order */
    uint64_t seq[NFIELDS];   /* a foreign key: when it joined its parent's relation */
    store_obj *obj;          /* the store's object (kept after its delete, never dereferenced) */
} ref;

/* The schema as the reference reads it. */
typedef struct fdef {
    const char *name;
    store_type type;
    bool null, unique;
    int to;              /* STORE_FK: the parent model */
    const char *rel;     /* STORE_FK: the reverse relation on the parent */
    store_on_delete del; /* STORE_FK */
} fdef;

static const fdef fdefs[NMODELS][NFIELDS] = {
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
};
static const int nfields[NMODELS] = {3, 5, 2};
static const char *const model_names[NMODELS] = {"Author", "Book", "Loan"};

/* The reverse relations: the child model and its foreign key. */
enum { NRELS = 3 };
static const struct {
    int child, fk;
} rels[NRELS] = {{BOOK, 1}, {BOOK, 2}, {LOAN, 0}};

static ref refs[NMODELS][MAX_IDS];
static uint64_t next_id[NMODELS], join_seq;
static store *db;
static store_model *models[NMODELS];

#define CHECK(cond)                                                                             \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_api: %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,           \
                    store_errmsg(db));                                                         \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 6, .index = true},
    {.name = "age", .type = STORE_INT, .null = true},
    {.name = "score", .type = STORE_FLOAT, .null = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 6},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited", .null = true,
     .on_delete = STORE_SET_NULL},
    {.name = "code", .type = STORE_INT, .null = true, .unique = true},
    {.name = "flag", .type = STORE_BOOL, STORE_DEFAULT_BOOL(false)},
    {0},
};
static const store_field loan_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "loans",
     .on_delete = STORE_RESTRICT},
    {.name = "note", .type = STORE_TEXT, .null = true},
    {0},
};

/* ---- Reading the program ------------------------------------------------------------------ */

typedef struct prog {
    const uint8_t *p, *end;
} prog;

static unsigned byte(prog *g)
{
    return g->p < g->end ? *g->p++ : 0;
}

/* An id of model M: mostly a used one (live or dead), sometimes one never handed out. */
static uint64_t pick_id(prog *g, int m)
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
static unsigned pick_text(prog *g, char *out, unsigned max)
{
    unsigned len = byte(g) % (max + 1);
    out[0] = '\0';
    for (unsigned i = 0; i < len; i++)
        strcat(out, pieces[byte(g) % (sizeof pieces / sizeof pieces[0])]);
    return len;
}

/* Mostly small numbers (so that they repeat), sometimes the ends of int64. */
static int64_t pick_int(prog *g)
{
    static const int64_t big[] = {INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                  (int64_t)1 << 62, -((int64_t)1 << 62), 1000, -1000};
    unsigned b = byte(g);
    return b < 224 ? (int64_t)(b % 9) - 4 : big[b % 8];
}

static double pick_float(prog *g)
{
    static const double pool[] = {0.0,    -0.0,     0.5,       1.0, -1.0, 2.5,    -4.0, 1e300,
                                  -1e300, INFINITY, -INFINITY, 3.0, 0.1,  1e-300, 4.0,  -2.5};
    return pool[byte(g) % 16];
}

/* ---- The reference ------------------------------------------------------------------------ */

static ref *live_ref(int m, uint64_t id)
{
    return id && id < MAX_IDS && refs[m][id].live ? &refs[m][id] : NULL;
}

/* The object to hand the store for ID of M: live, dead (deleted: the store must say so), or
 * NULL (never made). */
static store_obj *obj_of(int m, uint64_t id)
{
    return id && id < MAX_IDS ? refs[m][id].obj : NULL;
}

/* The model and id of the store's object O (live or dead); false if O is none of ours. */
static bool obj_ident(const store_obj *o, int *m, uint64_t *id)
{
    for (int k = 0; k < NMODELS; k++)
        for (uint64_t i = 1; i < next_id[k]; i++)
            if (refs[k][i].obj == o) {
                *m = k;
                *id = i;
                return true;
            }
    return false;
}

/* Whether a live Book other than EXCEPT holds CODE (a null holds nothing). */
static bool code_taken(const rval *code, uint64_t except)
{
    for (uint64_t b = 1; code->kind != STORE_KIND_NULL && b < next_id[BOOK]; b++) {
        ref *r = live_ref(BOOK, b);
        if (r && b != except && r->v[3].kind == STORE_KIND_INT && r->v[3].i == code->i)
            return true;
    }
    return false;
}

typedef struct doomed {
    bool set[NMODELS][MAX_IDS];
} doomed;

/* Adds to D the cascade of what it holds; whether no RESTRICT child is left outside it. */
static bool cascade(doomed *d)
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

static void apply_delete(const doomed *d)
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
static void ref_set(ref *r, int m, int f, const rval *v)
{
    if (fdefs[m][f].type == STORE_FK &&
        (r->v[f].kind != v->kind || (v->kind == STORE_KIND_REF && r->v[f].i != v->i)))
        r->seq[f] = v->kind == STORE_KIND_REF ? ++join_seq : 0;
    r->v[f] = *v;
}

/* The failure codes a call may return, as a mask; 0: it must succeed. */
#define BIT(rc) (1u << -(rc))

static bool code_allowed(unsigned mask, int rc)
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
static int pick_value(prog *g, int m, int f, rval *rv, store_value *sv)
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

static void op_create(prog *g, int m)
{
    rval rv[NFIELDS] = {{0}};
    store_value v[NFIELDS + 1] = {{0}};
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
    if (m == BOOK && code_taken(&rv[3], 0))
        fail |= BIT(STORE_ECONSTRAINT);
    store_obj *o = NULL;
    int rc = store_create(db, models[m], v, &o);
    CHECK(code_allowed(fail, rc));
    if (rc)
        return;
    uint64_t id = next_id[m]++;
    CHECK(store_id(o) == id && id < MAX_IDS);
    ref *r = &refs[m][id];
    *r = (ref){.live = true, .obj = o};
    for (int f = 0; f < nfields[m]; f++)
        ref_set(r, m, f, &rv[f]);
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
    if (!r)
        fail |= BIT(STORE_EINVAL);
    if (m == BOOK && f == 3 && code_taken(&rv, id))
        fail |= BIT(STORE_ECONSTRAINT);
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

static void check_all(void)
{
    CHECK(store_check(db) == STORE_OK);
    for (int m = 0; m < NMODELS; m++) {
        CHECK(store_model_next_id(models[m]) == next_id[m]);
        size_t live = 0;
        for (uint64_t id = 1; id < next_id[m]; id++) {
            ref *r = live_ref(m, id);
            store_obj *o;
            int rc = store_get(db, models[m], id, &o);
            CHECK(r ? rc == STORE_OK : rc == STORE_ENOTFOUND);
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
}

/* ---- Queries: the reference's reading of a path ------------------------------------------ */

enum {
    LK_EQ, LK_NOT, LK_IN, LK_NOT_IN, LK_GT, LK_GTE, LK_LT, LK_LTE, LK_RANGE, LK_ISNULL,
    LK_NOT_ISNULL, LK_CONTAINS, LK_ICONTAINS, LK_STARTSWITH, LK_ISTARTSWITH, LK_ENDSWITH,
    LK_IENDSWITH, LK_IEXACT, NLOOKUPS
};
static const char *const lookup_names[NLOOKUPS] = {
    "", "not", "in", "not_in", "gt", "gte", "lt", "lte", "range", "isnull", "not_isnull",
    "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact",
};

enum { END_FIELD, END_ID, END_COUNT, HOPS_MAX = 8, TOKENS_MAX = 16 };

/* A path resolved: hops, then what it reads at the end, then the lookup. */
typedef struct rpath {
    int nhops;
    int hop_m[HOPS_MAX], hop_f[HOPS_MAX]; /* a hop through model HOP_M's foreign key HOP_F ... */
    bool rev[HOPS_MAX];                   /* ... to the parent, or (REV) to the children */
    int end, end_m, end_f; /* END_FIELD: END_M's field END_F; END_COUNT: the children through
                              END_M's foreign key END_F; END_ID: the id of an END_M */
    int lookup;
} rpath;

static int find_lookup(const char *tok)
{
    for (int k = LK_NOT; k < NLOOKUPS; k++)
        if (!strcmp(lookup_names[k], tok))
            return k;
    return -1;
}

static int find_field(int m, const char *tok)
{
    for (int f = 0; f < nfields[m]; f++)
        if (!strcmp(fdefs[m][f].name, tok))
            return f;
    return -1;
}

/* The reverse relation of parent model M called TOK, or -1. */
static int find_rel(int m, const char *tok)
{
    for (int r = 0; r < NRELS; r++) {
        const fdef *d = &fdefs[rels[r].child][rels[r].fk];
        if (d->to == m && !strcmp(d->rel, tok))
            return r;
    }
    return -1;
}

/* Splits NAME at "__" into TOK; their number, or -1 (an empty name, too many). */
static int split(const char *name, char tok[][64])
{
    int n = 0;
    for (const char *s = name;;) {
        const char *sep = strstr(s, "__");
        size_t len = sep ? (size_t)(sep - s) : strlen(s);
        if (!len || len >= 64 || n == TOKENS_MAX)
            return -1;
        memcpy(tok[n], s, len);
        tok[n++][len] = '\0';
        if (!sep)
            return n;
        s = sep + 2;
    }
}

/*
 * Resolves NAME from model M into *P, as store.h says: a field, "id", a foreign key followed
 * by more is a hop to the parent, a reverse relation is followed by "count" or a path of the
 * child model; with WITH_LOOKUP, a last token may be a lookup. Whether NAME resolves.
 */
static bool parse_path(int m, const char *name, bool with_lookup, rpath *p)
{
    char tok[TOKENS_MAX][64];
    int n = split(name, tok), i = 0;
    memset(p, 0, sizeof *p);
    for (;; i++) {
        if (i >= n || p->nhops == HOPS_MAX)
            return false;
        if (!strcmp(tok[i], "id")) {
            p->end = END_ID;
            p->end_m = m;
            i++;
            break;
        }
        int f = find_field(m, tok[i]);
        if (f >= 0) {
            bool lookup_next = with_lookup && i + 2 == n && find_lookup(tok[i + 1]) >= 0;
            if (fdefs[m][f].type == STORE_FK && i + 1 < n && !lookup_next) {
                p->hop_m[p->nhops] = m;
                p->hop_f[p->nhops++] = f;
                m = fdefs[m][f].to;
                continue;
            }
            p->end = END_FIELD;
            p->end_m = m;
            p->end_f = f;
            i++;
            break;
        }
        int r = find_rel(m, tok[i]);
        if (r < 0 || i + 1 == n)
            return false;
        if (!strcmp(tok[i + 1], "count")) {
            p->end = END_COUNT;
            p->end_m = rels[r].child;
            p->end_f = rels[r].fk;
            i += 2;
            break;
        }
        p->rev[p->nhops] = true;
        p->hop_m[p->nhops] = rels[r].child;
        p->hop_f[p->nhops++] = rels[r].fk;
        m = rels[r].child;
    }
    if (i == n)
        return true;
    p->lookup = with_lookup && i + 1 == n ? find_lookup(tok[i]) : -1;
    return p->lookup > 0;
}

static bool through_children(const rpath *p)
{
    for (int h = 0; h < p->nhops; h++)
        if (p->rev[h])
            return true;
    return false;
}

/* The kind of value the end of P reads. */
static store_kind end_kind(const rpath *p)
{
    if (p->end != END_FIELD)
        return STORE_KIND_INT;
    switch (fdefs[p->end_m][p->end_f].type) {
    case STORE_CHAR:
    case STORE_TEXT:
        return STORE_KIND_STR;
    case STORE_FLOAT:
        return STORE_KIND_FLOAT;
    case STORE_BOOL:
        return STORE_KIND_BOOL;
    case STORE_FK:
        return STORE_KIND_REF;
    default:
        return STORE_KIND_INT;
    }
}

/* Ordering lookups fit numbers and strings, string lookups strings, the others anything. */
static bool lookup_fits(int lk, store_kind k)
{
    if (lk >= LK_GT && lk <= LK_RANGE)
        return k == STORE_KIND_INT || k == STORE_KIND_FLOAT || k == STORE_KIND_STR;
    if (lk >= LK_CONTAINS)
        return k == STORE_KIND_STR;
    return true;
}

/* ---- Queries: the reference's values and matching ---------------------------------------- */

enum { LIST_MAX = 6 };

/* What a term compares with: ONE, or the N items of its list. */
typedef struct rcmp {
    rval one;
    rval items[LIST_MAX + 1];
    int n;
} rcmp;

/* Converts V, given for a path reading kind K (a foreign key to model TO), into *OUT:
 * STORE_OK or STORE_EINVAL (a value of another kind, NaN, a reference to another model). */
static int take_one(const store_value *v, store_kind k, int to, rval *out)
{
    *out = (rval){.kind = STORE_KIND_NULL};
    if (v->kind == STORE_KIND_NULL || (v->kind == STORE_KIND_STR && !v->u.s) ||
        (v->kind == STORE_KIND_REF && !v->u.ref))
        return STORE_OK;
    if (v->kind == STORE_KIND_INT && k == STORE_KIND_FLOAT) {
        *out = (rval){.kind = STORE_KIND_FLOAT, .f = (double)v->u.i};
        return STORE_OK;
    }
    if (v->kind != k)
        return STORE_EINVAL;
    out->kind = k;
    switch (k) {
    case STORE_KIND_STR:
        CHECK(strlen(v->u.s) < TEXT_MAX);
        strcpy(out->s, v->u.s);
        return STORE_OK;
    case STORE_KIND_INT:
        out->i = v->u.i;
        return STORE_OK;
    case STORE_KIND_FLOAT:
        out->f = v->u.f;
        return isnan(v->u.f) ? STORE_EINVAL : STORE_OK;
    case STORE_KIND_BOOL:
        out->b = v->u.b;
        return STORE_OK;
    default: {
        int om;
        uint64_t oid;
        CHECK(obj_ident(v->u.ref, &om, &oid));
        if (om != to && live_ref(om, oid))
            return STORE_EINVAL;
        out->i = om == to ? (int64_t)oid : -1; /* a dead object of another model: no parent */
        return STORE_OK;
    }
    }
}

static bool is_list_lookup(int lk)
{
    return lk == LK_IN || lk == LK_NOT_IN || lk == LK_RANGE;
}

/* The value V of a term on path P, into *X: STORE_OK or STORE_EINVAL. */
static int take_value(const rpath *p, const store_value *v, rcmp *x)
{
    store_kind k = end_kind(p);
    int to = k == STORE_KIND_REF ? fdefs[p->end_m][p->end_f].to : 0;
    x->n = 0;
    if (p->lookup == LK_ISNULL || p->lookup == LK_NOT_ISNULL) {
        x->one = (rval){.kind = STORE_KIND_BOOL, .b = v->kind == STORE_KIND_BOOL && v->u.b};
        return v->kind == STORE_KIND_BOOL ? STORE_OK : STORE_EINVAL;
    }
    if (is_list_lookup(p->lookup) != (v->kind == STORE_KIND_LIST))
        return STORE_EINVAL;
    if (v->kind != STORE_KIND_LIST) {
        int rc = take_one(v, k, to, &x->one);
        if (!rc && x->one.kind == STORE_KIND_NULL && p->lookup != LK_EQ && p->lookup != LK_NOT)
            rc = STORE_EINVAL; /* null is for equal and not */
        return rc;
    }
    while (v->u.list[x->n].kind != STORE_KIND_NONE) {
        CHECK(x->n <= LIST_MAX);
        int rc = take_one(&v->u.list[x->n], k, to, &x->items[x->n]);
        if (rc || x->items[x->n].kind == STORE_KIND_NULL)
            return STORE_EINVAL;
        x->n++;
    }
    return p->lookup == LK_RANGE && x->n != 2 ? STORE_EINVAL : STORE_OK;
}

/* The order of two values of one kind, neither null: strings as unsigned bytes. */
static int cmp_val(const rval *a, const rval *b)
{
    switch (a->kind) {
    case STORE_KIND_STR: {
        int c = strcmp(a->s, b->s);
        return (c > 0) - (c < 0);
    }
    case STORE_KIND_FLOAT:
        return (a->f > b->f) - (a->f < b->f);
    case STORE_KIND_BOOL:
        return (int)a->b - (int)b->b;
    default:
        return (a->i > b->i) - (a->i < b->i);
    }
}

/* Nulls before every value. */
static int cmp_nulls_first(const rval *a, const rval *b)
{
    bool an = a->kind == STORE_KIND_NULL, bn = b->kind == STORE_KIND_NULL;
    return an || bn ? (int)bn - (int)an : cmp_val(a, b);
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool same_bytes(const char *a, const char *b, size_t n, bool folded)
{
    for (size_t i = 0; i < n; i++)
        if (folded ? fold((unsigned char)a[i]) != fold((unsigned char)b[i]) : a[i] != b[i])
            return false;
    return true;
}

static bool str_meets(int lk, const char *s, const char *x)
{
    size_t ls = strlen(s), lx = strlen(x);
    bool folded = lk == LK_ICONTAINS || lk == LK_ISTARTSWITH || lk == LK_IENDSWITH ||
                  lk == LK_IEXACT;
    switch (lk) {
    case LK_IEXACT:
        return ls == lx && same_bytes(s, x, ls, true);
    case LK_STARTSWITH:
    case LK_ISTARTSWITH:
        return lx <= ls && same_bytes(s, x, lx, folded);
    case LK_ENDSWITH:
    case LK_IENDSWITH:
        return lx <= ls && same_bytes(s + ls - lx, x, lx, folded);
    default:
        for (size_t i = 0; i + lx <= ls; i++)
            if (same_bytes(s + i, x, lx, folded))
                return true;
        return false;
    }
}

/* Whether value V (maybe null) meets lookup LK with X: a null fails every comparison but
 * not, not_in and the null tests. */
static bool value_meets(int lk, const rval *v, const rcmp *x)
{
    bool in = false;
    if (v->kind == STORE_KIND_NULL)
        return lk == LK_EQ        ? x->one.kind == STORE_KIND_NULL
               : lk == LK_NOT     ? x->one.kind != STORE_KIND_NULL
               : lk == LK_ISNULL  ? x->one.b
               : lk == LK_NOT_ISNULL ? !x->one.b
                                  : lk == LK_NOT_IN;
    for (int k = 0; k < x->n; k++)
        in |= !cmp_val(v, &x->items[k]);
    switch (lk) {
    case LK_EQ:
        return x->one.kind != STORE_KIND_NULL && !cmp_val(v, &x->one);
    case LK_NOT:
        return x->one.kind == STORE_KIND_NULL || cmp_val(v, &x->one);
    case LK_IN:
        return in;
    case LK_NOT_IN:
        return !in;
    case LK_GT:
        return cmp_val(v, &x->one) > 0;
    case LK_GTE:
        return cmp_val(v, &x->one) >= 0;
    case LK_LT:
        return cmp_val(v, &x->one) < 0;
    case LK_LTE:
        return cmp_val(v, &x->one) <= 0;
    case LK_RANGE:
        return cmp_val(v, &x->items[0]) >= 0 && cmp_val(v, &x->items[1]) <= 0;
    case LK_ISNULL:
        return !x->one.b;
    case LK_NOT_ISNULL:
        return x->one.b;
    default:
        return str_meets(lk, v->s, x->one.s);
    }
}

/* The children of each parent in each relation, rebuilt before each query from the
 * reference's foreign keys: KID_HEAD[r][parent], then KID_NEXT[r][child]; 0 ends. */
static uint16_t kid_head[NRELS][MAX_IDS], kid_next[NRELS][MAX_IDS];

static void build_kids(void)
{
    memset(kid_head, 0, sizeof kid_head);
    for (int r = 0; r < NRELS; r++)
        for (uint64_t c = next_id[rels[r].child]; c-- > 1;) {
            ref *cr = live_ref(rels[r].child, c);
            if (!cr || cr->v[rels[r].fk].kind != STORE_KIND_REF)
                continue;
            kid_next[r][c] = kid_head[r][cr->v[rels[r].fk].i];
            kid_head[r][cr->v[rels[r].fk].i] = (uint16_t)c;
        }
}

static int rel_of(int child, int fk)
{
    for (int r = 0; r < NRELS; r++)
        if (rels[r].child == child && rels[r].fk == fk)
            return r;
    abort();
}

/* What the end of P reads on object ID of model M (its hops already followed). */
static rval read_end(const rpath *p, int m, uint64_t id)
{
    if (p->end == END_FIELD)
        return refs[m][id].v[p->end_f];
    rval v = {.kind = STORE_KIND_INT, .i = (int64_t)id};
    if (p->end == END_COUNT) {
        int r = rel_of(p->end_m, p->end_f);
        v.i = 0;
        for (uint16_t c = kid_head[r][id]; c; c = kid_next[r][c])
            v.i++;
    }
    return v;
}

/* Whether object ID of M, reached after hop H of term path P, meets P's lookup with X. */
static bool term_meets(const rpath *p, const rcmp *x, int h, int m, uint64_t id)
{
    for (; h < p->nhops; h++) {
        if (p->rev[h]) { /* some child matches */
            int r = rel_of(p->hop_m[h], p->hop_f[h]);
            for (uint16_t c = kid_head[r][id]; c; c = kid_next[r][c])
                if (term_meets(p, x, h + 1, p->hop_m[h], c))
                    return true;
            return false;
        }
        const rval *fk = &refs[m][id].v[p->hop_f[h]];
        if (fk->kind == STORE_KIND_NULL)
            return value_meets(p->lookup, fk, x); /* a path through a null reads null */
        m = fdefs[m][p->hop_f[h]].to;
        id = (uint64_t)fk->i;
    }
    rval v = read_end(p, m, id);
    return value_meets(p->lookup, &v, x);
}

/* The one value single-valued path P reads on object ID of M. */
static rval read_path(const rpath *p, int m, uint64_t id)
{
    for (int h = 0; h < p->nhops; h++) {
        const rval *fk = &refs[m][id].v[p->hop_f[h]];
        if (fk->kind == STORE_KIND_NULL)
            return *fk;
        m = fdefs[m][p->hop_f[h]].to;
        id = (uint64_t)fk->i;
    }
    return read_end(p, m, id);
}

/* ---- Queries: the reference's query ------------------------------------------------------ */

enum {
    TERMS_MAX = 96, NODES_MAX = 192, ROOT_MAX = 96, KEYS_MAX = 4, KIDS_MAX = 4, PARAMS = 3,
    TEXTS_MAX = 768, LISTS_MAX = 128, NAMES_MAX = 128, AGGS_MAX = 4, DESC_MAX = 6144
};

typedef enum node_kind { N_TERM, N_AND, N_OR, N_NOT } node_kind;

typedef struct rnode {
    node_kind kind;
    int term; /* N_TERM */
    int kids[KIDS_MAX], nkids;
} rnode;

/* A term: its path (if it resolves) and the value given, a parameter's name included. */
typedef struct rterm {
    rpath p;
    store_value v;
} rterm;

/* What a generated path ends in, to make values that fit it. KNOWN false: it resolves to
 * nothing, or not to what the generator meant. */
typedef struct gend {
    bool known;
    store_kind kind;
    int end, m, f; /* as rpath's end, end_m, end_f */
} gend;

typedef struct qctx {
    /* What the store is handed lives here as long as the query. */
    char texts[TEXTS_MAX][TEXT_MAX];
    int ntexts;
    store_value lists[LISTS_MAX][LIST_MAX + 2];
    int nlists;
    char names[NAMES_MAX][128];
    int nnames;
    /* The query as the reference keeps it. */
    int m, err;
    rterm terms[TERMS_MAX];
    int nterms;
    rnode nodes[NODES_MAX];
    store_cond conds[NODES_MAX]; /* the store's number of each node */
    int nnodes;
    int root[ROOT_MAX], nroot;
    rpath keys[KEYS_MAX];
    bool desc[KEYS_MAX];
    int nkeys;
    size_t offset, limit;
    /* Parameters: what each was first made for, and the binds of this run. */
    bool used[PARAMS];
    gend pgen[PARAMS];
    int plk[PARAMS];
    store_value binds[PARAMS + 2];
    rcmp x[TERMS_MAX]; /* each term's value in this run */
    char desc_text[DESC_MAX];
    size_t ndesc;
} qctx;

static const char *const param_names[PARAMS] = {"p0", "p1", "p2"};

/* Appends to C's description of the query, for the message of a mismatch. */
static void describe(qctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void describe(qctx *c, const char *fmt, ...)
{
    if (c->ndesc >= DESC_MAX - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->desc_text + c->ndesc, DESC_MAX - c->ndesc, fmt, ap);
    va_end(ap);
    c->ndesc = n < 0 ? c->ndesc : c->ndesc + (size_t)n < DESC_MAX ? c->ndesc + (size_t)n
                                                                   : DESC_MAX - 1;
}

static void describe_value(qctx *c, const store_value *v)
{
    int m;
    uint64_t id;
    switch (v->kind) {
    case STORE_KIND_STR:
        if (v->u.s)
            describe(c, "\"%s\"", v->u.s);
        else
            describe(c, "STR(NULL)");
        break;
    case STORE_KIND_INT:
        describe(c, "%lld", (long long)v->u.i);
        break;
    case STORE_KIND_FLOAT:
        describe(c, "%gf", v->u.f);
        break;
    case STORE_KIND_BOOL:
        describe(c, v->u.b ? "true" : "false");
        break;
    case STORE_KIND_REF:
        if (!v->u.ref)
            describe(c, "REF(NULL)");
        else if (obj_ident(v->u.ref, &m, &id))
            describe(c, "REF(%s %llu%s)", model_names[m], (unsigned long long)id,
                     live_ref(m, id) ? "" : ", deleted");
        break;
    case STORE_KIND_LIST:
        describe(c, "[");
        for (const store_value *it = v->u.list; it->kind != STORE_KIND_NONE; it++) {
            describe(c, it == v->u.list ? "" : ", ");
            describe_value(c, it);
        }
        describe(c, "]");
        break;
    case STORE_KIND_PARAM:
        describe(c, "$%s", v->u.s);
        break;
    default:
        describe(c, "NULL");
        break;
    }
}

static void describe_terms(qctx *c, const char *call, const store_value *terms)
{
    describe(c, "%s(", call);
    for (const store_value *t = terms; t->name; t++) {
        describe(c, "%s%s=", t == terms ? "" : ", ", t->name);
        describe_value(c, t);
    }
    describe(c, ")");
}

/* Prints every live object, for the message of a mismatch. */
static void dump_reference(void)
{
    for (int m = 0; m < NMODELS; m++)
        for (uint64_t id = 1; id < next_id[m]; id++) {
            ref *r = live_ref(m, id);
            if (!r)
                continue;
            fprintf(stderr, "  %s %llu:", model_names[m], (unsigned long long)id);
            for (int f = 0; f < nfields[m]; f++) {
                const rval *v = &r->v[f];
                fprintf(stderr, " %s=", fdefs[m][f].name);
                if (v->kind == STORE_KIND_STR)
                    fprintf(stderr, "\"%s\"", v->s);
                else if (v->kind == STORE_KIND_INT || v->kind == STORE_KIND_REF)
                    fprintf(stderr, "%lld", (long long)v->i);
                else if (v->kind == STORE_KIND_FLOAT)
                    fprintf(stderr, "%g", v->f);
                else if (v->kind == STORE_KIND_BOOL)
                    fprintf(stderr, v->b ? "true" : "false");
                else
                    fprintf(stderr, "null");
            }
            fprintf(stderr, "\n");
        }
}

static qctx *failing; /* the query being checked, for CHECKQ's message */

#define CHECKQ(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_api: %s:%d: query mismatch: %s\n  ", __FILE__, __LINE__,     \
                    #cond);                                                                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n  store_errmsg: %s\n  query: %s %s\n  data:\n",                 \
                    store_errmsg(db), model_names[failing->m], failing->desc_text);            \
            dump_reference();                                                                  \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The code the building call given term V must return: STORE_EINVAL if its path does not
 * resolve, its lookup does not fit, or its value (unless a parameter) does not fit; else
 * STORE_OK. Fills *T. */
static int term_check(qctx *c, const store_value *v, rterm *t)
{
    t->v = *v;
    if (!parse_path(c->m, v->name, true, &t->p) || !lookup_fits(t->p.lookup, end_kind(&t->p)))
        return STORE_EINVAL;
    if (v->kind == STORE_KIND_PARAM)
        return v->u.s ? STORE_OK : STORE_EINVAL;
    rcmp x;
    return take_value(&t->p, v, &x);
}

/* Binds C's terms for a run with BINDS into C->x: STORE_OK, or STORE_EINVAL (a parameter
 * without a bind, or with one that does not fit). */
static int bind_terms(qctx *c, const store_value *binds)
{
    for (int k = 0; k < c->nterms; k++) {
        const store_value *v = &c->terms[k].v;
        if (v->kind == STORE_KIND_PARAM) {
            const store_value *b = binds;
            while (b && b->name && strcmp(b->name, v->u.s))
                b++;
            if (!b || !b->name)
                return STORE_EINVAL;
            v = b;
        }
        if (take_value(&c->terms[k].p, v, &c->x[k]))
            return STORE_EINVAL;
    }
    return STORE_OK;
}

static bool node_holds(const qctx *c, int n, uint64_t id)
{
    const rnode *d = &c->nodes[n];
    switch (d->kind) {
    case N_TERM:
        return term_meets(&c->terms[d->term].p, &c->x[d->term], 0, c->m, id);
    case N_AND:
        for (int k = 0; k < d->nkids; k++)
            if (!node_holds(c, d->kids[k], id))
                return false;
        return true;
    case N_OR:
        for (int k = 0; k < d->nkids; k++)
            if (node_holds(c, d->kids[k], id))
                return true;
        return false;
    default:
        return !node_holds(c, d->kids[0], id);
    }
}

static const qctx *sorting;

static int order_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    for (int k = 0; k < sorting->nkeys; k++) {
        rval vx = read_path(&sorting->keys[k], sorting->m, x);
        rval vy = read_path(&sorting->keys[k], sorting->m, y);
        int r = cmp_nulls_first(&vx, &vy);
        if (r)
            return sorting->desc[k] ? -r : r;
    }
    return (x > y) - (x < y);
}

/* The ids C finds (terms bound), in order and sliced, into IDS; how many. */
static size_t ref_find(const qctx *c, uint64_t *ids)
{
    size_t n = 0;
    for (uint64_t id = 1; id < next_id[c->m]; id++) {
        bool ok = live_ref(c->m, id) != NULL;
        for (int k = 0; ok && k < c->nroot; k++)
            ok = node_holds(c, c->root[k], id);
        if (ok)
            ids[n++] = id;
    }
    sorting = c;
    qsort(ids, n, sizeof *ids, order_cmp);
    size_t from = c->offset < n ? c->offset : n, cnt = n - from;
    if (c->limit && cnt > c->limit)
        cnt = c->limit;
    memmove(ids, ids + from, cnt * sizeof *ids);
    return cnt;
}

/* ---- Queries: making one ----------------------------------------------------------------- */

static char *new_text(qctx *c)
{
    CHECK(c->ntexts < TEXTS_MAX);
    char *s = c->texts[c->ntexts++];
    s[0] = '\0';
    return s;
}

static char *new_name(qctx *c)
{
    CHECK(c->nnames < NAMES_MAX);
    char *s = c->names[c->nnames++];
    s[0] = '\0';
    return s;
}

/* Whether C has room for one more building call (of at most 2 terms per condition, each of
 * at most one list of LIST_MAX strings). */
static bool room(const qctx *c, int terms)
{
    return c->nterms + terms <= TERMS_MAX && c->nnodes + 2 * terms + 2 <= NODES_MAX &&
           c->nlists + terms <= LISTS_MAX && c->ntexts + terms * (LIST_MAX + 1) <= TEXTS_MAX &&
           c->nnames + terms <= NAMES_MAX && c->nroot + terms <= ROOT_MAX;
}

/* Appends to BUF a path from model M with at most HOPS hops: mostly one that resolves (only
 * single-valued ones with SINGLE), sometimes, with BAD, one that does not. *E: its end. */
static void gen_path(prog *g, int m, int hops, bool single, bool bad, char *buf, gend *e)
{
    static const char *const junk[] = {"nope", "count", "", "in", "books", "Author", "name_",
                                       "id__id"};
    unsigned b = byte(g);
    *e = (gend){.known = true, .kind = STORE_KIND_INT, .end = END_ID, .m = m};
    if (bad && b % 16 == 15) {
        strcat(buf, junk[byte(g) % 8]);
        e->known = false;
        return;
    }
    int r = -1;
    for (int k = 0; k < NRELS && b % 12 >= 9; k++)
        if (fdefs[rels[k].child][rels[k].fk].to == m && (r < 0 || byte(g) & 1))
            r = k;
    if (b % 12 < 7) { /* a field */
        int f = (int)(byte(g) % (unsigned)nfields[m]);
        const fdef *d = &fdefs[m][f];
        strcat(buf, d->name);
        if (d->type == STORE_FK && hops > 0 && byte(g) % 2) {
            strcat(buf, "__");
            gen_path(g, d->to, hops - 1, single, bad, buf, e);
            return;
        }
        rpath p = {.end = END_FIELD, .end_m = m, .end_f = f};
        *e = (gend){.known = true, .kind = end_kind(&p), .end = END_FIELD, .m = m, .f = f};
    } else if (r < 0) {
        strcat(buf, "id");
    } else { /* a reverse relation */
        int cm = rels[r].child;
        strcat(buf, fdefs[cm][rels[r].fk].rel);
        strcat(buf, "__");
        if (hops == 0 || (single && !bad) || byte(g) % 3 == 0) {
            strcat(buf, "count");
            *e = (gend){.known = true, .kind = STORE_KIND_INT, .end = END_COUNT, .m = cm,
                        .f = rels[r].fk};
            return;
        }
        gen_path(g, cm, hops - 1, single, bad, buf, e);
    }
}

/* A lookup for a path ending in E: one that fits, or with BAD sometimes any. */
static int gen_lookup(prog *g, const gend *e, bool bad)
{
    unsigned b = byte(g);
    if (!e->known || (bad && b % 8 == 7))
        return (int)(byte(g) % NLOOKUPS);
    if (b % 4 == 0)
        return LK_EQ;
    int fit[NLOOKUPS], n = 0;
    for (int k = 0; k < NLOOKUPS; k++)
        if (lookup_fits(k, e->kind))
            fit[n++] = k;
    return fit[byte(g) % (unsigned)n];
}

/* The value field F of a random object of M holds (null for a dead or missing one). */
static rval present(prog *g, int m, int f)
{
    ref *r = live_ref(m, pick_id(g, m));
    return r ? r->v[f] : (rval){.kind = STORE_KIND_NULL};
}

/* A live object of a random model, or NULL. */
static store_obj *any_live(prog *g)
{
    int m = (int)(byte(g) % NMODELS);
    for (uint64_t id = pick_id(g, m); id < next_id[m]; id++)
        if (live_ref(m, id))
            return refs[m][id].obj;
    return NULL;
}

/* A string for a path ending in E (NULL: unknown) with lookup LK: a value objects hold, a
 * piece of one, or made up; sometimes with its ASCII letters' case swapped. */
static const char *gen_string(prog *g, qctx *c, const gend *e, int lk)
{
    char *s = new_text(c);
    unsigned b = byte(g);
    bool needle = lk >= LK_CONTAINS && lk != LK_IEXACT;
    rval p = e && e->end == END_FIELD && e->kind == STORE_KIND_STR ? present(g, e->m, e->f)
                                                                   : (rval){0};
    if (p.kind == STORE_KIND_STR && b % 4) {
        strcpy(s, p.s);
        if (needle) { /* a piece of it, cut at any byte */
            size_t len = strlen(s), from = byte(g) % (len + 1), n = byte(g) % (len - from + 1);
            memmove(s, s + from, n);
            s[n] = '\0';
        }
    } else {
        pick_text(g, s, needle ? 3 : 8);
    }
    if (byte(g) % 4 == 0)
        for (char *t = s; *t; t++)
            if ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z'))
                *t ^= 0x20;
    return s;
}

/* An INT for a path ending in E (NULL: unknown): an id, a count, a value objects hold. */
static int64_t gen_int(prog *g, const gend *e)
{
    static const int64_t odd[] = {0, -1, INT64_MAX, (int64_t)1 << 40};
    unsigned b = byte(g);
    if (e && e->end == END_ID)
        return b % 8 ? (int64_t)pick_id(g, e->m) : odd[b / 8 % 4];
    if (e && e->end == END_COUNT)
        return b % 8 ? (int64_t)(b % 4) : pick_int(g);
    if (e && b % 2) {
        rval p = present(g, e->m, e->f);
        if (p.kind == STORE_KIND_INT)
            return p.i;
    }
    return pick_int(g);
}

/* One value (no list) for a path ending in E with lookup LK: of E's kind, or (E unknown, or
 * now and then with BAD) of any kind. */
static store_value gen_one(prog *g, qctx *c, const gend *e, int lk, bool bad)
{
    static const store_kind kinds[] = {STORE_KIND_STR, STORE_KIND_INT, STORE_KIND_FLOAT,
                                       STORE_KIND_BOOL, STORE_KIND_REF};
    store_kind k = e->kind;
    unsigned b = byte(g);
    const gend *at = e; /* NULL: made without regard to the path */
    if (!e->known || (bad && b % 8 == 0)) {
        k = kinds[byte(g) % 5];
        at = NULL;
    }
    switch (k) {
    case STORE_KIND_STR:
        return (store_value)STORE_V_STR(NULL, gen_string(g, c, at, lk));
    case STORE_KIND_FLOAT:
        if ((!at || bad) && b % 4 == 1)
            return (store_value)STORE_V_FLOAT(NULL, NAN);
        if (b % 3 == 0)
            return (store_value)STORE_V_INT(NULL, pick_int(g)); /* an INT for a FLOAT */
        if (b % 3 == 1 && at && at->end == END_FIELD) {
            rval p = present(g, at->m, at->f);
            if (p.kind == STORE_KIND_FLOAT)
                return (store_value)STORE_V_FLOAT(NULL, p.f);
        }
        return (store_value)STORE_V_FLOAT(NULL, pick_float(g));
    case STORE_KIND_BOOL:
        return (store_value)STORE_V_BOOL(NULL, byte(g) & 1);
    case STORE_KIND_REF:
        if (!at)
            return (store_value)STORE_V_REF(NULL, any_live(g));
        return (store_value)STORE_V_REF(NULL, obj_of(fdefs[at->m][at->f].to,
                                                     pick_id(g, fdefs[at->m][at->f].to)));
    default:
        return (store_value)STORE_V_INT(NULL, gen_int(g, at));
    }
}

/* The value of a term on a path ending in E with lookup LK: a list for in, not_in, range. */
static store_value gen_value(prog *g, qctx *c, const gend *e, int lk, bool bad)
{
    unsigned b = byte(g);
    bool odd = bad && b % 8 == 0; /* a list where none goes, or none where one must */
    if (lk == LK_ISNULL || lk == LK_NOT_ISNULL)
        return odd ? (store_value)STORE_V_INT(NULL, 1) : (store_value)STORE_V_BOOL(NULL, b & 2);
    if (is_list_lookup(lk) != odd) {
        CHECK(c->nlists < LISTS_MAX);
        store_value *items = c->lists[c->nlists++];
        int n = lk == LK_RANGE && !(bad && b % 8 == 1) ? 2 : (int)(byte(g) % (LIST_MAX + 1));
        for (int k = 0; k < n; k++) {
            items[k] = gen_one(g, c, e, lk, bad && byte(g) % 4 == 0);
            items[k].name = byte(g) % 4 ? NULL : "ignored";
        }
        items[n] = (store_value){0};
        return (store_value)STORE_V_LIST(NULL, items);
    }
    if ((lk == LK_EQ || lk == LK_NOT || bad) && b % 8 == 7) { /* a null, three ways */
        if (e->kind == STORE_KIND_STR && b & 8)
            return (store_value)STORE_V_STR(NULL, NULL);
        if (e->kind == STORE_KIND_REF && b & 8)
            return (store_value)STORE_V_REF(NULL, NULL);
        return (store_value)STORE_V_NULL(NULL);
    }
    return gen_one(g, c, e, lk, bad);
}

/* Makes a term into *T, named from the pool; a parameter now and then, whose first use says
 * what its binds are made for. */
static void gen_term(prog *g, qctx *c, bool bad, store_value *t)
{
    char *name = new_name(c);
    gend e;
    if (bad && byte(g) % 32 == 0) { /* nine hops: one more than a path may have */
        static const char *const deep[NMODELS] = {
            "books__author__books__author__books__author__books__author__books__title",
            "author__books__author__books__author__books__author__books__author__name",
            "book__loans__book__loans__book__loans__book__loans__book__title"};
        strcat(name, deep[c->m]);
        e = (gend){.known = true, .kind = STORE_KIND_STR, .end = END_FIELD,
                   .m = c->m == AUTHOR ? BOOK : c->m == BOOK ? AUTHOR : BOOK, .f = 0};
    } else {
        gen_path(g, c->m, 3, false, bad, name, &e);
    }
    int lk = gen_lookup(g, &e, bad);
    if (lk) {
        strcat(name, "__");
        strcat(name, lookup_names[lk]);
    }
    if (bad && byte(g) % 16 == 0)
        strcat(name, byte(g) % 2 ? "__like" : "__");
    unsigned b = byte(g);
    int k = (int)(b / 6 % PARAMS);
    if (b % 6 == 0) {
        if (!c->used[k]) {
            c->used[k] = true;
            c->pgen[k] = e;
            c->plk[k] = lk;
        }
        *t = (store_value)STORE_V_PARAM(name, param_names[k]);
        return;
    }
    *t = gen_value(g, c, &e, lk, bad);
    t->name = name;
}

/* Makes up to 3 terms into TERMS (ended by {0}), each also kept as a term of C; their count,
 * and in *RC the code their building call must return. */
static int gen_terms(prog *g, qctx *c, bool bad, store_value *terms, int *rc)
{
    int n = (int)(byte(g) % 4);
    if (!room(c, 3))
        n = 0;
    *rc = STORE_OK;
    for (int k = 0; k < n; k++) {
        gen_term(g, c, bad, &terms[k]);
        int r = term_check(c, &terms[k], &c->terms[c->nterms + k]);
        *rc = *rc ? *rc : r;
    }
    terms[n] = (store_value){0};
    return n;
}

static int new_node(qctx *c, node_kind kind, int term, store_cond sc)
{
    CHECK(c->nnodes < NODES_MAX);
    c->nodes[c->nnodes] = (rnode){.kind = kind, .term = term};
    c->conds[c->nnodes] = sc;
    return c->nnodes++;
}

/* The code a building call that itself finds nothing wrong (IT) must return, given C's
 * sticky error; records a new error as sticky. */
static int expect_building(qctx *c, int it)
{
    if (!c->err)
        c->err = it;
    return c->err;
}

/* filter or exclude: each term a root condition (negated, for exclude). */
static void step_filter(prog *g, qctx *c, store_query *q, bool bad, bool exclude)
{
    store_value terms[4];
    int rc, n = gen_terms(g, c, bad, terms, &rc);
    describe_terms(c, exclude ? " exclude" : " filter", terms);
    int want = expect_building(c, rc);
    int got = exclude ? store_query_exclude(q, terms) : store_query_filter(q, terms);
    CHECKQ(got == want, "building: got %d, want %d", got, want);
    if (want)
        return;
    for (int k = 0; k < n; k++) {
        int t = c->nterms++, node = new_node(c, N_TERM, t, 0);
        if (exclude) {
            int not = new_node(c, N_NOT, 0, 0);
            c->nodes[not].kids[0] = node;
            c->nodes[not].nkids = 1;
            node = not;
        }
        c->root[c->nroot++] = node;
    }
}

/* A condition of up to DEPTH levels of groups; the reference's node (-1 after an error) and in
 * *SC the store's number (or the code it gave). */
static int gen_cond(prog *g, qctx *c, store_query *q, bool bad, int depth, store_cond *sc)
{
    unsigned b = byte(g) % 8;
    int again = c->nnodes ? (int)(byte(g) % (unsigned)c->nnodes) : 0;
    if (b == 6 && c->nnodes > 0 && c->conds[again] > 0) { /* one made before, again */
        describe(c, "#%d", c->conds[again]);
        *sc = c->conds[again];
        return again;
    }
    if (b == 7 && bad) { /* a number that is no condition: wrong once given to a call */
        *sc = byte(g) % 2 ? 0 : 1000000;
        describe(c, "cond(%d)", *sc);
        return -1;
    }
    if (depth == 0 || b < 3 || !room(c, 3)) {
        store_value terms[4];
        int rc, n = gen_terms(g, c, bad, terms, &rc);
        describe_terms(c, "terms", terms);
        int want = expect_building(c, rc);
        *sc = store_cond_terms(q, terms);
        CHECKQ(want ? *sc == want : *sc > 0, "store_cond_terms: got %d, want %d", *sc, want);
        if (want)
            return -1;
        int node = n == 1 ? -1 : new_node(c, N_AND, 0, *sc);
        for (int k = 0; k < n; k++) {
            int leaf = new_node(c, N_TERM, c->nterms++, n == 1 ? *sc : 0);
            if (n == 1)
                return leaf;
            c->nodes[node].kids[c->nodes[node].nkids++] = leaf;
        }
        return node;
    }
    node_kind kind = b < 4 ? N_OR : b < 5 ? N_AND : N_NOT;
    int n = kind == N_NOT ? 1 : (int)(byte(g) % KIDS_MAX), kids[KIDS_MAX], rc = STORE_OK;
    store_cond kc[KIDS_MAX];
    describe(c, "%s(", kind == N_OR ? "any" : kind == N_AND ? "all" : "not");
    for (int k = 0; k < n; k++) {
        describe(c, k ? ", " : "");
        kids[k] = gen_cond(g, c, q, bad, depth - 1, &kc[k]);
        rc = kids[k] < 0 ? STORE_EINVAL : rc;
    }
    describe(c, ")");
    int want = expect_building(c, rc);
    *sc = kind == N_OR ? store_cond_any(q, kc, (size_t)n)
          : kind == N_AND ? store_cond_all(q, kc, (size_t)n)
                          : store_cond_not(q, kc[0]);
    CHECKQ(want ? *sc == want : *sc > 0, "a group: got %d, want %d", *sc, want);
    if (want)
        return -1;
    int node = new_node(c, kind, 0, *sc);
    memcpy(c->nodes[node].kids, kids, sizeof kids);
    c->nodes[node].nkids = n;
    return node;
}

static void step_where(prog *g, qctx *c, store_query *q, bool bad)
{
    store_cond sc;
    describe(c, " where(");
    int node = gen_cond(g, c, q, bad, 2, &sc);
    describe(c, ")");
    int want = expect_building(c, node < 0 ? STORE_EINVAL : STORE_OK);
    int got = store_query_where(q, sc);
    CHECKQ(got == want, "store_query_where: got %d, want %d", got, want);
    CHECK(c->nroot < ROOT_MAX);
    if (!want)
        c->root[c->nroot++] = node;
}

static void step_order(prog *g, qctx *c, store_query *q, bool bad)
{
    const char *keys[KEYS_MAX + 1];
    rpath paths[KEYS_MAX];
    bool desc[KEYS_MAX];
    int n = (int)(byte(g) % (KEYS_MAX + 1)), rc = STORE_OK;
    if (c->nnames + n > NAMES_MAX)
        n = 0;
    describe(c, " order_by(");
    for (int k = 0; k < n; k++) {
        char *s = new_name(c);
        gend e;
        unsigned b = byte(g);
        strcat(s, b & 1 ? "-" : "");
        if (bad && b % 16 == 3)
            strcat(s, "-"); /* "--path" */
        if (bad && b % 16 == 2)
            strcat(s, "id__gt"); /* a lookup */
        else
            gen_path(g, c->m, 3, true, bad, s, &e);
        keys[k] = s;
        desc[k] = s[0] == '-';
        if (!parse_path(c->m, s + desc[k], false, &paths[k]) || through_children(&paths[k]))
            rc = STORE_EINVAL;
        describe(c, "%s\"%s\"", k ? ", " : "", s);
    }
    keys[n] = NULL;
    describe(c, ")");
    int want = expect_building(c, rc);
    int got = store_query_order_by(q, keys);
    CHECKQ(got == want, "store_query_order_by: got %d, want %d", got, want);
    if (want)
        return;
    memcpy(c->keys, paths, sizeof paths);
    memcpy(c->desc, desc, sizeof desc);
    c->nkeys = n;
}

static size_t gen_size(prog *g)
{
    unsigned b = byte(g);
    return b < 240 ? b % 6 : b % 2 ? SIZE_MAX : SIZE_MAX / 2 + 1;
}

static void step_slice(prog *g, qctx *c, store_query *q)
{
    size_t offset = gen_size(g), limit = gen_size(g);
    describe(c, " slice(%zu, %zu)", offset, limit);
    int want = c->err;
    int got = store_query_slice(q, offset, limit);
    CHECKQ(got == want, "store_query_slice: got %d, want %d", got, want);
    if (!want) {
        c->offset = offset;
        c->limit = limit;
    }
}

/* Binds for C's parameters: each made for the term that first used it (so it mostly fits);
 * now and then one is left out, or given of another kind. NULL when there is none. */
static const store_value *gen_binds(prog *g, qctx *c, bool bad)
{
    int n = 0;
    describe(c, " binds(");
    for (int k = 0; k < PARAMS; k++) {
        if (!c->used[k] || (bad && byte(g) % 8 == 0) || !room(c, 1))
            continue;
        c->binds[n] = gen_value(g, c, &c->pgen[k], c->plk[k], bad && byte(g) % 4 == 0);
        c->binds[n].name = param_names[k];
        describe(c, "%s%s=", n ? ", " : "", param_names[k]);
        describe_value(c, &c->binds[n]);
        n++;
    }
    describe(c, ")");
    c->binds[n] = (store_value){0};
    return n || byte(g) % 2 ? c->binds : NULL;
}

/* ---- Queries: running one both ways ------------------------------------------------------ */

typedef struct visited {
    store_obj *objs[MAX_IDS];
    size_t n, stop;
} visited;

static bool visit_one(store_obj *o, void *arg)
{
    visited *v = arg;
    CHECK(v->n < MAX_IDS);
    v->objs[v->n++] = o;
    return v->n != v->stop;
}

/* The reference's aggregate A over IDS[0..N): STORE_OK with *OUT, *ON and *SCALE (the size
 * of the terms of a float result, for its tolerance) set, or STORE_EINVAL (a path that does
 * not fit, an int64 sum whose total overflows, whatever its partial sums did). */
static int ref_aggregate(const qctx *c, const store_agg *a, const uint64_t *ids, size_t n,
                         rval *out, size_t *on, long double *scale)
{
    rpath p = {0};
    bool objects = a->op == STORE_AGG_COUNT && !a->path;
    if (!objects && (!a->path || !parse_path(c->m, a->path, false, &p) || through_children(&p)))
        return STORE_EINVAL;
    store_kind k = objects ? STORE_KIND_INT : end_kind(&p);
    bool numeric = k == STORE_KIND_INT || k == STORE_KIND_FLOAT;
    if ((a->op == STORE_AGG_SUM || a->op == STORE_AGG_AVG) && !numeric)
        return STORE_EINVAL;
    if ((a->op == STORE_AGG_MIN || a->op == STORE_AGG_MAX) && k == STORE_KIND_REF)
        return STORE_EINVAL; /* store.h: a bare foreign key has no order */
    __int128 isum = 0;
    long double fsum = 0;
    int inf = 0; /* bit 0: +inf summed, bit 1: -inf */
    *on = 0;
    *scale = 0;
    *out = (rval){.kind = STORE_KIND_NULL};
    for (size_t i = 0; i < n; i++) {
        rval v = objects ? (rval){.kind = STORE_KIND_INT} : read_path(&p, c->m, ids[i]);
        if (v.kind == STORE_KIND_NULL)
            continue;
        ++*on;
        double f = v.kind == STORE_KIND_FLOAT ? v.f : (double)v.i;
        isum += v.i;
        if (isinf(f))
            inf |= f > 0 ? 1 : 2;
        else
            fsum += f;
        *scale += f < 0 ? -(long double)f : f;
        int r = out->kind == STORE_KIND_NULL ? 0 : cmp_val(&v, out);
        if (out->kind == STORE_KIND_NULL || (a->op == STORE_AGG_MIN ? r < 0 : r > 0))
            *out = v;
    }
    if (a->op == STORE_AGG_COUNT) {
        *out = (rval){.kind = STORE_KIND_INT, .i = (int64_t)*on};
        return STORE_OK;
    }
    if (!*on || a->op == STORE_AGG_MIN || a->op == STORE_AGG_MAX)
        return STORE_OK;
    if (a->op == STORE_AGG_SUM && k == STORE_KIND_INT) {
        *out = (rval){.kind = STORE_KIND_INT, .i = (int64_t)isum};
        return isum > INT64_MAX || isum < INT64_MIN ? STORE_EINVAL : STORE_OK;
    }
    double f = inf == 3 ? NAN : inf == 1 ? INFINITY : inf == 2 ? -INFINITY : (double)fsum;
    *out = (rval){.kind = STORE_KIND_FLOAT, .f = a->op == STORE_AGG_AVG ? f / (double)*on : f};
    if (a->op == STORE_AGG_AVG)
        *scale /= (long double)*on;
    return STORE_OK;
}

static bool same_float(double got, double want, long double scale)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    long double d = (long double)got - want;
    return (d < 0 ? -d : d) <= scale * 1e-9L;
}

static void gen_aggs(prog *g, qctx *c, bool bad, store_agg *aggs)
{
    int n = 1 + (int)(byte(g) % AGGS_MAX);
    if (c->nnames + n > NAMES_MAX)
        n = 0;
    describe(c, " aggregate(");
    for (int k = 0; k < n; k++) {
        store_agg_op op = (store_agg_op)(STORE_AGG_COUNT + byte(g) % 5);
        char *path = NULL;
        if (op != STORE_AGG_COUNT || byte(g) % 2 || (bad && byte(g) % 8 == 0)) {
            gend e;
            path = new_name(c);
            gen_path(g, c->m, 3, true, bad, path, &e);
        }
        aggs[k] = (store_agg){.op = op, .path = path};
        describe(c, "%s%d:%s", k ? ", " : "", (int)op, path ? path : "NULL");
    }
    describe(c, ")");
    aggs[n] = (store_agg){0};
}

static void check_aggregate(prog *g, qctx *c, store_query *q, const store_value *binds, int want,
                            const uint64_t *ids, size_t n, bool bad)
{
    store_agg aggs[AGGS_MAX + 1];
    rval out[AGGS_MAX];
    size_t on[AGGS_MAX];
    long double scale[AGGS_MAX];
    gen_aggs(g, c, bad, aggs);
    for (int k = 0; !want && aggs[k].op; k++)
        want = ref_aggregate(c, &aggs[k], ids, n, &out[k], &on[k], &scale[k]);
    int got = store_query_aggregate(q, binds, aggs);
    CHECKQ(got == want, "store_query_aggregate: got %d, want %d", got, want);
    for (int k = 0; !want && aggs[k].op; k++) {
        const store_value *v = &aggs[k].out;
        CHECKQ(v->kind == out[k].kind && aggs[k].n == on[k],
               "aggregate %d: kind %d n %zu, want kind %d n %zu", k, v->kind, aggs[k].n,
               out[k].kind, on[k]);
        bool same = v->kind == STORE_KIND_NULL ||
                    (v->kind == STORE_KIND_STR && !strcmp(v->u.s, out[k].s)) ||
                    (v->kind == STORE_KIND_INT && v->u.i == out[k].i) ||
                    (v->kind == STORE_KIND_BOOL && v->u.b == out[k].b) ||
                    (v->kind == STORE_KIND_FLOAT && same_float(v->u.f, out[k].f, scale[k]));
        CHECKQ(same, "aggregate %d (op %d, %s): got %lld / %g, want %lld / %g", k,
               (int)aggs[k].op, aggs[k].path ? aggs[k].path : "NULL",
               (long long)(v->kind == STORE_KIND_INT ? v->u.i : 0),
               v->kind == STORE_KIND_FLOAT ? v->u.f : 0.0, (long long)out[k].i, out[k].f);
    }
}

static void describe_ids(char *buf, size_t size, const uint64_t *ids, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && at + 24 < size; k++)
        at += (size_t)snprintf(buf + at, size - at, "%s%llu", k ? "," : "",
                               (unsigned long long)ids[k]);
}

/* Runs Q with BINDS every way and compares each answer with the reference's. */
static void check_runs(prog *g, qctx *c, store_query *q, const store_value *binds, bool bad)
{
    static uint64_t ids[MAX_IDS];
    static char wbuf[4096], gbuf[4096];
    int want = c->err ? c->err : bind_terms(c, binds);
    size_t n = want ? 0 : ref_find(c, ids);
    store_result r;
    int got = store_query_find(q, binds, &r);
    CHECKQ(got == want, "store_query_find: got %d, want %d", got, want);
    static uint64_t gids[MAX_IDS];
    for (size_t k = 0; k < r.count && k < MAX_IDS; k++)
        gids[k] = store_id(r.objs[k]);
    describe_ids(wbuf, sizeof wbuf, ids, n);
    describe_ids(gbuf, sizeof gbuf, gids, r.count < MAX_IDS ? r.count : MAX_IDS);
    CHECKQ(r.count == n && (!want || !r.objs), "find: got [%s], want [%s]", gbuf, wbuf);
    for (size_t k = 0; k < n; k++)
        CHECKQ(r.objs[k] == refs[c->m][ids[k]].obj, "find: got [%s], want [%s]", gbuf, wbuf);
    store_result_free(&r);

    size_t count = 12345;
    got = store_query_count(q, binds, &count);
    CHECKQ(got == want && (want || count == n), "count: got %d / %zu, want %d / %zu", got,
           count, want, n);
    bool yes = false;
    got = store_query_exists(q, binds, &yes);
    CHECKQ(got == want && (want || yes == (n > 0)), "exists: got %d / %d, want %d / %d", got,
           yes, want, n > 0);
    store_obj *o = (store_obj *)&o;
    got = store_query_first(q, binds, &o);
    int w = want ? want : n ? STORE_OK : STORE_ENOTFOUND;
    CHECKQ(got == w && o == (w ? NULL : refs[c->m][ids[0]].obj), "first: got %d, want %d", got,
           w);
    o = (store_obj *)&o;
    got = store_query_get(q, binds, &o);
    w = want ? want : n == 1 ? STORE_OK : n ? STORE_EMULTIPLE : STORE_ENOTFOUND;
    CHECKQ(got == w && o == (w ? NULL : refs[c->m][ids[0]].obj), "get: got %d, want %d", got, w);

    static visited v;
    v.n = 0;
    v.stop = byte(g) % 4;
    got = store_query_visit(q, binds, visit_one, &v);
    size_t vn = v.stop && v.stop < n ? v.stop : n;
    CHECKQ(got == want && v.n == (want ? 0 : vn), "visit: got %d / %zu objects, want %d / %zu",
           got, v.n, want, vn);
    for (size_t k = 0; k < v.n; k++)
        CHECKQ(v.objs[k] == refs[c->m][ids[k]].obj, "visit: object %zu differs (want [%s])", k,
               wbuf);
    char buf[160];
    got = store_query_explain(q, binds, buf, byte(g) % 2 ? sizeof buf : 8);
    CHECKQ(got == want, "explain: got %d, want %d", got, want);
    check_aggregate(g, c, q, binds, want, ids, n, bad);
}

/* ---- Queries: changing by one ------------------------------------------------------------ */

static void query_update(prog *g, qctx *c, store_query *q, const store_value *binds)
{
    static uint64_t ids[MAX_IDS];
    int m = c->m, nv = 1 + (int)(byte(g) % 2), fs[2];
    rval rv[2];
    store_value v[4] = {{0}};
    unsigned fail = 0;
    describe(c, " update(");
    for (int k = 0; k < nv; k++) {
        fs[k] = (int)(byte(g) % (unsigned)nfields[m]);
        int rc = pick_value(g, m, fs[k], &rv[k], &v[k]);
        fail |= rc ? BIT(rc) : 0;
        fail |= k && fs[k] == fs[0] ? BIT(STORE_EINVAL) : 0; /* a field given twice */
        describe(c, "%s%s=", k ? ", " : "", v[k].name);
        describe_value(c, &v[k]);
    }
    if (byte(g) % 32 == 0) {
        v[nv] = (store_value)STORE_V_INT("nope", 1);
        fail |= BIT(STORE_EINVAL);
    }
    describe(c, ")");
    int want = c->err ? c->err : bind_terms(c, binds);
    size_t n = want ? 0 : ref_find(c, ids);
    for (int k = 0; k < nv && !want; k++)
        if (m == BOOK && fs[k] == 3 && rv[k].kind != STORE_KIND_NULL &&
            (n > 1 || (n == 1 && code_taken(&rv[k], ids[0]))))
            fail |= BIT(STORE_ECONSTRAINT); /* one .unique value on two objects */
    unsigned allowed = want ? BIT(want) : fail;
    /* store.h: the values are checked even when nothing matches (a deleted parent too) */
    size_t got_n = 12345;
    int got = store_query_update(q, binds, v, &got_n);
    CHECKQ(code_allowed(allowed, got),
           "store_query_update: got %d, want %d (mask %#x)", got, want, allowed);
    if (got)
        return;
    CHECKQ(got_n == n, "store_query_update: %zu objects, want %zu", got_n, n);
    for (size_t i = 0; i < n; i++) /* in the order of find: a new parent's children join so */
        for (int k = 0; k < nv; k++)
            ref_set(&refs[m][ids[i]], m, fs[k], &rv[k]);
}

static void query_delete(qctx *c, store_query *q, const store_value *binds)
{
    static uint64_t ids[MAX_IDS];
    static doomed d;
    describe(c, " delete()");
    int want = c->err ? c->err : bind_terms(c, binds);
    size_t n = want ? 0 : ref_find(c, ids);
    memset(&d, 0, sizeof d);
    for (size_t i = 0; i < n; i++)
        d.set[c->m][ids[i]] = true;
    if (!want && !cascade(&d))
        want = STORE_ECONSTRAINT;
    size_t got_n = 12345;
    int got = store_query_delete(q, binds, &got_n);
    CHECKQ(got == want, "store_query_delete: got %d, want %d", got, want);
    if (got)
        return;
    CHECKQ(got_n == n, "store_query_delete: %zu objects, want %zu", got_n, n);
    apply_delete(&d);
}

static void op_query(prog *g)
{
    static qctx c;
    c.ntexts = c.nlists = c.nnames = c.nterms = c.nnodes = c.nroot = c.nkeys = 0;
    c.err = STORE_OK;
    c.offset = c.limit = 0;
    c.ndesc = 0;
    c.desc_text[0] = '\0';
    memset(c.used, 0, sizeof c.used);
    c.m = (int)(byte(g) % NMODELS);
    failing = &c;
    bool bad = byte(g) % 4 == 0; /* some building calls may be wrong */
    build_kids();
    store_query *q;
    CHECK(store_query_new(db, models[c.m], &q) == STORE_OK);
    for (int steps = (int)(byte(g) % 6); steps > 0 && room(&c, 24); steps--) {
        unsigned b = byte(g) % 8;
        if (b < 3)
            step_filter(g, &c, q, bad, false);
        else if (b < 4)
            step_filter(g, &c, q, bad, true);
        else if (b < 6)
            step_where(g, &c, q, bad);
        else if (b < 7)
            step_order(g, &c, q, bad);
        else
            step_slice(g, &c, q);
    }
    const store_value *binds = gen_binds(g, &c, bad);
    check_runs(g, &c, q, binds, bad);
    if (c.used[0] + c.used[1] + c.used[2] && byte(g) % 2) { /* the same query, bound anew */
        binds = gen_binds(g, &c, bad);
        check_runs(g, &c, q, binds, bad);
    }
    unsigned b = byte(g) % 16;
    if (b < 2) {
        if (b == 0)
            query_update(g, &c, q, binds);
        else
            query_delete(&c, q, binds);
        check_all();
    }
    store_query_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_schema *s;
    if (store_schema_new(&s) || store_schema_add(s, "Author", author_fields) ||
        store_schema_add(s, "Book", book_fields) || store_schema_add(s, "Loan", loan_fields) ||
        store_open(&db, s, NULL, NULL))
        abort();
    for (int m = 0; m < NMODELS; m++) {
        models[m] = store_model_find(db, model_names[m]);
        next_id[m] = 1;
    }
    memset(refs, 0, sizeof refs);
    join_seq = 0;
    prog g = {data, data + size};
    for (int ops = 0; g.p < g.end && ops < 2000; ops++) {
        unsigned op = byte(&g);
        int m = (int)(op / 5 % NMODELS);
        bool full = next_id[m] >= MAX_IDS - 1;
        switch (op % 5) {
        case 0:
            if (!full)
                op_create(&g, m);
            break;
        case 1:
            op_update(&g, m);
            break;
        case 2:
            op_delete(&g, m);
            break;
        case 3: /* some objects at once, or a get */
            for (int n = op & 0x40 ? 1 + (int)(byte(&g) % 8) : 0; n > 0 && !full; n--) {
                op_create(&g, m);
                full = next_id[m] >= MAX_IDS - 1;
            }
            if (!(op & 0x40))
                op_get(&g, m);
            break;
        default:
            if (op & 0x80)
                check_all();
            else
                op_query(&g);
            break;
        }
    }
    check_all();
    store_close(db);
    store_schema_free(s);
    return 0;
}
