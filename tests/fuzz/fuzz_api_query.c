/*
 * tests/fuzz/fuzz_api_query.c - R8: random queries, checked against the reference's answer.
 *
 * The query op of fuzz_api.c's programs builds a random query: terms over fields, ids, chains
 * of foreign keys, reverse relations and their counts, with every lookup that fits and some
 * that do not, values that objects hold and others, nulls, lists and parameters; filter,
 * exclude, OR / AND / NOT groups, an order and a slice. The reference answers it a second way
 * (fuzz_api_query_ref.c), reading store.h's rules and nothing of the library's query code: it
 * parses each term itself, evaluates it on every object of the model (two-valued logic, a
 * reverse hop true when some child matches), sorts by the keys with ties by id, and slices.
 * Find, count, exists, first, get, visit and aggregates must agree with it, and a query with
 * a bad term must fail with STORE_EINVAL at that call and at every later one. Now and then an
 * update or a delete by the query is made on both (inside a read-only transaction it must
 * fail, STORE_EINVAL unless the call fails for its own reason), and the whole stores are
 * compared. A query made inside a transaction sees the transaction's changes. Any
 * difference aborts (the query and the data are printed first), which libFuzzer reports as a
 * crash.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"
#include "tests/fuzz/fuzz_api_query_ref.h"

/* ---- Queries: describing one ------------------------------------------------------------- */

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
        static const struct {
            const char *path;
            int m, f; /* the string field it ends in */
        } deep[NMODELS] = {
            [AUTHOR] = {"books__author__books__author__books__author__books__author__books__title",
                        BOOK, 0},
            [BOOK] = {"author__books__author__books__author__books__author__books__author__name",
                      AUTHOR, 0},
            [LOAN] = {"book__loans__book__loans__book__loans__book__loans__book__title", BOOK, 0},
            [BOOK_TAGS] = {"author__books__author__books__author__books__author__books__author"
                           "__name",
                           AUTHOR, 0},
            [READING] = {"loan__book__loans__book__loans__book__loans__book__loans__note", LOAN,
                         1},
        };
        strcat(name, deep[c->m].path);
        e = (gend){.known = true, .kind = STORE_KIND_STR, .end = END_FIELD, .m = deep[c->m].m,
                   .f = deep[c->m].f};
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
    if (!want && update_clashes(m, ids, n, fs, rv, nv))
        fail |= BIT(STORE_ECONSTRAINT); /* a linked pair twice, fields unique together */
    unsigned allowed = want ? BIT(want) : fail;
    if (txn_readonly()) /* a change inside a read-only transaction, or what it would give */
        allowed = want ? BIT(want) : fail | BIT(STORE_EINVAL);
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
    if (txn_readonly()) /* a change inside a read-only transaction, or what it would give */
        CHECKQ(got == STORE_EINVAL || (got && got == want), "store_query_delete: got %d", got);
    else
        CHECKQ(got == want, "store_query_delete: got %d, want %d", got, want);
    if (got)
        return;
    CHECKQ(got_n == n, "store_query_delete: %zu objects, want %zu", got_n, n);
    apply_delete(&d);
}

void op_query(prog *g)
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
