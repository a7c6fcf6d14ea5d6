/*
 * tests/fuzz/fuzz_api_query_ref.c - R8: the reference's answer to a query of fuzz_api_query.c.
 *
 * It reads store.h's rules and nothing of the library's query code: it parses each term
 * itself (a field, an id, chains of foreign keys, reverse relations and their counts, then a
 * lookup), checks the value given against what the path reads, evaluates the term on every
 * object of the model (two-valued logic, a reverse hop true when some child matches), sorts
 * by the keys with ties by id, and slices; an aggregate is computed over what it found. It
 * reads the reference's objects (fuzz_api.h) and changes nothing but its own lists of
 * children.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"
#include "tests/fuzz/fuzz_api_query_ref.h"

/* ---- Queries: the reference's reading of a path ------------------------------------------ */

const char *const lookup_names[NLOOKUPS] = {
    "", "not", "in", "not_in", "gt", "gte", "lt", "lte", "range", "isnull", "not_isnull",
    "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact",
};

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
bool parse_path(int m, const char *name, bool with_lookup, rpath *p)
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

bool through_children(const rpath *p)
{
    for (int h = 0; h < p->nhops; h++)
        if (p->rev[h])
            return true;
    return false;
}

/* The kind of value the end of P reads. */
store_kind end_kind(const rpath *p)
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
bool lookup_fits(int lk, store_kind k)
{
    if (lk >= LK_GT && lk <= LK_RANGE)
        return k == STORE_KIND_INT || k == STORE_KIND_FLOAT || k == STORE_KIND_STR;
    if (lk >= LK_CONTAINS)
        return k == STORE_KIND_STR;
    return true;
}

/* ---- Queries: the reference's values and matching ---------------------------------------- */

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

bool is_list_lookup(int lk)
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

void build_kids(void)
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

/* The code the building call given term V must return: STORE_EINVAL if its path does not
 * resolve, its lookup does not fit, or its value (unless a parameter) does not fit; else
 * STORE_OK. Fills *T. */
int term_check(qctx *c, const store_value *v, rterm *t)
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
int bind_terms(qctx *c, const store_value *binds)
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
size_t ref_find(const qctx *c, uint64_t *ids)
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

/* ---- Queries: the reference's aggregates ------------------------------------------------- */

/* The reference's aggregate A over IDS[0..N): STORE_OK with *OUT, *ON and *SCALE (the size
 * of the terms of a float result, for its tolerance) set, or STORE_EINVAL (a path that does
 * not fit, an int64 sum whose total overflows, whatever its partial sums did). */
int ref_aggregate(const qctx *c, const store_agg *a, const uint64_t *ids, size_t n,
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
