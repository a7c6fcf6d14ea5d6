/*
 * store/query.c - compiling a query's terms, conditions and order against its model, and
 * deciding whether one object matches.
 *
 * A term's name is split at "__" and resolved left to right: a field (a foreign key followed
 * by more names is a hop to its parent), "id", a reverse relation (a hop to the children,
 * or with "count" after it, the number of them), and at most one lookup at the end. Values
 * are checked and converted once, here: strings and lists are copied into the query, an INT
 * given for a FLOAT becomes a double, the items of in and not_in are sorted without repeats
 * (so a match is a binary search). What a run binds to a parameter goes through the same
 * checks (rs_query_bind()).
 *
 * Matching reads slots through store/model.h's accessors and allocates nothing. Nulls follow
 * Tortoise: a null (or a path through a null foreign key) fails every comparison but not,
 * not_in and the null tests; two-valued NOT is the caller's `!`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/query.h"
#include "store/schema.h"

/* ---- Names --------------------------------------------------------------------------------- */

static const char *const lookup_names[] = {
    [RS_LK_EQ] = "",
    [RS_LK_NOT] = "not",
    [RS_LK_IN] = "in",
    [RS_LK_NOT_IN] = "not_in",
    [RS_LK_GT] = "gt",
    [RS_LK_GTE] = "gte",
    [RS_LK_LT] = "lt",
    [RS_LK_LTE] = "lte",
    [RS_LK_RANGE] = "range",
    [RS_LK_ISNULL] = "isnull",
    [RS_LK_NOT_ISNULL] = "not_isnull",
    [RS_LK_CONTAINS] = "contains",
    [RS_LK_ICONTAINS] = "icontains",
    [RS_LK_STARTSWITH] = "startswith",
    [RS_LK_ISTARTSWITH] = "istartswith",
    [RS_LK_ENDSWITH] = "endswith",
    [RS_LK_IENDSWITH] = "iendswith",
    [RS_LK_IEXACT] = "iexact",
};

/* The lookup called NAME (LEN bytes), or -1. */
static int lookup_find(const char *name, size_t len)
{
    for (int k = RS_LK_NOT; k <= RS_LK_IEXACT; k++)
        if (strlen(lookup_names[k]) == len && !memcmp(lookup_names[k], name, len))
            return k;
    return -1;
}

/* One name of a path: LEN bytes at S. */
typedef struct token {
    const char *s;
    size_t len;
} token;

enum { TOKENS_MAX = 2 * RS_PATH_MAX + 3 };

/* Splits NAME at "__" into at most TOKENS_MAX tokens; their number, or -1. */
static int split(const char *name, token *t)
{
    int n = 0;
    const char *s = name;
    for (;;) {
        const char *sep = strstr(s, "__");
        size_t len = sep ? (size_t)(sep - s) : strlen(s);
        if (n == TOKENS_MAX || len == 0 || len > STORE_NAME_MAX)
            return -1;
        t[n++] = (token){s, len};
        if (!sep)
            return n;
        s = sep + 2;
    }
}

static bool token_is(const token *t, const char *word)
{
    return t->len == strlen(word) && !memcmp(t->s, word, t->len);
}

/* T as a NUL-ended name, in NAME (STORE_NAME_MAX + 1 bytes). */
static const char *name_of(const token *t, char *name)
{
    memcpy(name, t->s, t->len);
    name[t->len] = '\0';
    return name;
}

/* MODEL's field, reverse relation or many-to-many named by T, or NULL. */
static store_fld *field_of(const store_model *m, const token *t)
{
    char name[STORE_NAME_MAX + 1];
    return rs_schema_field_find(m, name_of(t, name));
}

static store_fld *relation_of(const store_model *m, const token *t)
{
    char name[STORE_NAME_MAX + 1];
    return rs_schema_relation_find(m, name_of(t, name));
}

static const rs_m2m *m2m_of(const store_model *m, const token *t)
{
    char name[STORE_NAME_MAX + 1];
    return rs_schema_m2m_find(m, name_of(t, name));
}

/* Whether T names something of M a path can go on with. */
static bool names_something(const store_model *m, const token *t)
{
    return token_is(t, "id") || field_of(m, t) || relation_of(m, t) || m2m_of(m, t);
}

/*
 * Resolves tokens T[0..N) from model M into *P; with LOOKUP non-NULL, a last token may be a
 * lookup (*LOOKUP, else RS_LK_EQ). STORE_OK, or STORE_EINVAL with WHAT (the term) named.
 */
static int resolve(store *db, const store_model *m, const token *t, int n, rs_path *p,
                   rs_lookup *lookup, const char *what)
{
    memset(p, 0, sizeof *p);
    int i = 0;
    for (; i < n; i++) {
        if (p->nhops == RS_PATH_MAX)
            return rs_error_set(db, STORE_EINVAL, "%s: more than %d hops", what, RS_PATH_MAX);
        if (token_is(&t[i], "id")) {
            p->final = RS_FINAL_ID;
            i++;
            break;
        }
        store_fld *f = field_of(m, &t[i]);
        if (f) {
            bool more = i + 1 < n;
            bool lookup_next = lookup && i + 2 == n &&
                               lookup_find(t[i + 1].s, t[i + 1].len) >= 0 &&
                               !(f->type == STORE_FK && names_something(f->target, &t[i + 1]));
            if (f->type == STORE_FK && more && !lookup_next) {
                p->rev[p->nhops] = false;
                p->hop[p->nhops++] = f;
                m = f->target;
                continue;
            }
            p->final = RS_FINAL_FIELD;
            p->fld = f;
            i++;
            break;
        }
        /* A many-to-many name is two hops: back to the links (the near key's relation),
         * then on to the far object (the far key). "tags" is "book_tags__tag", so that
         * `tags = obj` compares the far key and `tags__count` counts the links. */
        const rs_m2m *mm = m2m_of(m, &t[i]);
        if (mm) {
            if (i + 1 < n && token_is(&t[i + 1], "count")) {
                p->final = RS_FINAL_COUNT;
                p->fld = mm->near;
                i += 2;
                break;
            }
            if (p->nhops + 2 > RS_PATH_MAX)
                return rs_error_set(db, STORE_EINVAL, "%s: more than %d hops (a many-to-many "
                                    "takes two)", what, RS_PATH_MAX);
            p->rev[p->nhops] = true;
            p->hop[p->nhops++] = mm->near;
            bool more = i + 1 < n;
            bool lookup_next = lookup && i + 2 == n &&
                               lookup_find(t[i + 1].s, t[i + 1].len) >= 0 &&
                               !names_something(mm->other, &t[i + 1]);
            if (more && !lookup_next) {
                p->rev[p->nhops] = false;
                p->hop[p->nhops++] = mm->far;
                m = mm->other;
                continue;
            }
            p->final = RS_FINAL_FIELD;
            p->fld = mm->far;
            i++;
            break;
        }
        store_fld *rel = relation_of(m, &t[i]);
        if (!rel)
            return rs_error_set(db, STORE_EINVAL, "%s: %s has no field or relation \"%.*s\"",
                                what, m->name, (int)t[i].len, t[i].s);
        if (i + 1 < n && token_is(&t[i + 1], "count")) {
            p->final = RS_FINAL_COUNT;
            p->fld = rel;
            i += 2;
            break;
        }
        if (i + 1 == n)
            return rs_error_set(db, STORE_EINVAL, "%s: the reverse relation \"%.*s\" needs a "
                                "field of %s after it (or count)", what, (int)t[i].len, t[i].s,
                                rel->model->name);
        p->rev[p->nhops] = true;
        p->hop[p->nhops++] = rel;
        m = rel->model;
    }
    if (lookup)
        *lookup = RS_LK_EQ;
    if (i == n)
        return STORE_OK;
    int k = lookup && i + 1 == n ? lookup_find(t[i].s, t[i].len) : -1;
    if (k < 0)
        return rs_error_set(db, STORE_EINVAL, "%s: \"%.*s\" is not a lookup%s", what,
                            (int)t[i].len, t[i].s, lookup ? "" : " here: a path has none");
    *lookup = (rs_lookup)k;
    return STORE_OK;
}

/* The kind of value the end of P holds. */
static store_kind final_kind(const rs_path *p)
{
    return p->final == RS_FINAL_FIELD ? rs_kind_of(p->fld->type) : STORE_KIND_INT;
}

/* ---- Values -------------------------------------------------------------------------------- */

/* A copy of the LEN bytes at S, NUL-ended, or NULL. */
static char *dup_bytes(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Converts V, given for a term reading KIND, into *OUT (strings not copied). */
static int convert(store *db, const rs_term *t, const store_fld *fk_target_of,
                   store_kind kind, const store_value *v, rs_qval *out)
{
    bool null = v->kind == STORE_KIND_NULL || (v->kind == STORE_KIND_STR && !v->u.s) ||
                (v->kind == STORE_KIND_REF && !v->u.ref);
    if (null) {
        *out = (rs_qval){.kind = STORE_KIND_NULL};
        return STORE_OK;
    }
    if (kind == STORE_KIND_FLOAT && v->kind == STORE_KIND_INT) {
        *out = (rs_qval){.kind = STORE_KIND_FLOAT, .u.f = (double)v->u.i};
        return STORE_OK;
    }
    if (v->kind != kind)
        return rs_error_set(db, STORE_EINVAL, "%s: a value of the wrong kind for this path",
                            t->name);
    out->kind = kind;
    switch (kind) {
    case STORE_KIND_STR:
        out->u.str.s = v->u.s;
        out->u.str.len = strlen(v->u.s);
        break;
    case STORE_KIND_INT:
        out->u.i = v->u.i;
        break;
    case STORE_KIND_FLOAT:
        if (v->u.f != v->u.f)
            return rs_error_set(db, STORE_EINVAL, "%s: NaN matches nothing and orders nowhere",
                                t->name);
        out->u.f = v->u.f;
        break;
    case STORE_KIND_BOOL:
        out->u.b = v->u.b;
        break;
    default: {
        /* A deleted object (id 0, whether or not its chunk gave its pages back) matches
         * nothing, whatever model it was of: only a live object of another model is wrong. */
        bool dead = __atomic_load_n(&v->u.ref->id, __ATOMIC_RELAXED) == 0;
        if (!dead && rs_obj_model(v->u.ref) != fk_target_of->target)
            return rs_error_set(db, STORE_EINVAL, "%s: not a reference to a %s", t->name,
                                fk_target_of->target->name);
        out->u.ref = v->u.ref;
        break;
    }
    }
    return STORE_OK;
}

int rs_query_cmp(const rs_qval *a, const rs_qval *b)
{
    if (a->kind == STORE_KIND_NULL || b->kind == STORE_KIND_NULL)
        return (b->kind == STORE_KIND_NULL) - (a->kind == STORE_KIND_NULL);
    switch (a->kind) {
    case STORE_KIND_STR: {
        size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
        int c = memcmp(a->u.str.s, b->u.str.s, n);
        return c ? c : (a->u.str.len > b->u.str.len) - (a->u.str.len < b->u.str.len);
    }
    case STORE_KIND_FLOAT:
        return (a->u.f > b->u.f) - (a->u.f < b->u.f);
    case STORE_KIND_BOOL:
        return (int)a->u.b - (int)b->u.b;
    case STORE_KIND_REF: /* an order of addresses, only to sort a list */
        return ((uintptr_t)a->u.ref > (uintptr_t)b->u.ref) -
               ((uintptr_t)a->u.ref < (uintptr_t)b->u.ref);
    default:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    }
}

static int cmp_qval(const void *a, const void *b)
{
    return rs_query_cmp(a, b);
}

/* Which lookups fit which kinds, and what value they take. */
static bool is_order_lookup(rs_lookup k)
{
    return k >= RS_LK_GT && k <= RS_LK_RANGE;
}

static bool is_string_lookup(rs_lookup k)
{
    return k >= RS_LK_CONTAINS;
}

static bool is_list_lookup(rs_lookup k)
{
    return k == RS_LK_IN || k == RS_LK_NOT_IN || k == RS_LK_RANGE;
}

/* Whether T's lookup fits the kind its path reads; STORE_EINVAL naming it if not. */
static int check_fit(store *db, const rs_term *t)
{
    store_kind kind = final_kind(&t->path);
    bool fits = true;
    if (is_order_lookup(t->lookup))
        fits = kind == STORE_KIND_INT || kind == STORE_KIND_FLOAT || kind == STORE_KIND_STR;
    else if (is_string_lookup(t->lookup))
        fits = kind == STORE_KIND_STR;
    if (!fits)
        return rs_error_set(db, STORE_EINVAL, "%s: the lookup %s does not fit a %s", t->name,
                            lookup_names[t->lookup],
                            t->path.final == RS_FINAL_FIELD ? "field of this type" : "number");
    return STORE_OK;
}

/*
 * Converts V, the value given (or bound) for term T, into *VAL or *LIST / *NLIST (an array
 * allocated here; with COPY, its strings and *VAL's are copied too). Lists of in and not_in
 * come sorted without repeats.
 */
static int take_value(store *db, const rs_term *t, const store_value *v, bool copy, rs_qval *val,
                      rs_qval **list, size_t *nlist)
{
    store_kind kind = final_kind(&t->path);
    const store_fld *fk = t->path.fld;
    *list = NULL;
    *nlist = 0;
    if (t->lookup == RS_LK_ISNULL || t->lookup == RS_LK_NOT_ISNULL) {
        if (v->kind != STORE_KIND_BOOL)
            return rs_error_set(db, STORE_EINVAL, "%s: takes a BOOL", t->name);
        *val = (rs_qval){.kind = STORE_KIND_BOOL, .u.b = v->u.b};
        return STORE_OK;
    }
    if (is_list_lookup(t->lookup) != (v->kind == STORE_KIND_LIST))
        return rs_error_set(db, STORE_EINVAL, "%s: %s", t->name,
                            v->kind == STORE_KIND_LIST ? "a list fits only in, not_in and range"
                                                       : "takes a list (STORE_V_LIST)");
    if (v->kind != STORE_KIND_LIST) {
        int rc = convert(db, t, fk, kind, v, val);
        if (rc)
            return rc;
        if (val->kind == STORE_KIND_NULL && t->lookup != RS_LK_EQ && t->lookup != RS_LK_NOT)
            return rs_error_set(db, STORE_EINVAL, "%s: null fits only equal and not (or "
                                "isnull)", t->name);
        if (copy && val->kind == STORE_KIND_STR &&
            !(val->u.str.s = dup_bytes(val->u.str.s, val->u.str.len)))
            return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", t->name);
        return STORE_OK;
    }
    size_t n = 0;
    while (v->u.list && v->u.list[n].kind != STORE_KIND_NONE)
        n++;
    if (t->lookup == RS_LK_RANGE && n != 2)
        return rs_error_set(db, STORE_EINVAL, "%s: range takes a list of two", t->name);
    rs_qval *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", t->name);
    int rc = STORE_OK;
    size_t k = 0;
    for (; k < n && !rc; k++) {
        rc = convert(db, t, fk, kind, &v->u.list[k], &items[k]);
        if (!rc && items[k].kind == STORE_KIND_NULL)
            rc = rs_error_set(db, STORE_EINVAL, "%s: item %zu of the list is null (use "
                              "isnull)", t->name, k);
    }
    if (!rc && t->lookup != RS_LK_RANGE && n > 1) {
        qsort(items, n, sizeof *items, cmp_qval);
        size_t w = 1;
        for (size_t r = 1; r < n; r++)
            if (rs_query_cmp(&items[r], &items[w - 1]))
                items[w++] = items[r];
        n = w;
    }
    for (k = 0; copy && !rc && k < n; k++)
        if (items[k].kind == STORE_KIND_STR &&
            !(items[k].u.str.s = dup_bytes(items[k].u.str.s, items[k].u.str.len)))
            rc = rs_error_set(db, STORE_ENOMEM, "%s: out of memory", t->name);
    if (rc) {
        while (copy && k--)
            if (items[k].kind == STORE_KIND_STR)
                free((char *)items[k].u.str.s);
        free(items);
        return rc;
    }
    *list = items;
    *nlist = n;
    return STORE_OK;
}

/* ---- Building ------------------------------------------------------------------------------ */

static void term_free(rs_term *t)
{
    free(t->name);
    free(t->param);
    if (t->val.kind == STORE_KIND_STR)
        free((char *)t->val.u.str.s);
    for (size_t k = 0; k < t->nlist; k++)
        if (t->list[k].kind == STORE_KIND_STR)
            free((char *)t->list[k].u.str.s);
    free(t->list);
}

/* Compiles V into *T. */
static int term_compile(store_query *q, const store_value *v, rs_term *t)
{
    store *db = q->db;
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(v->name)))
        return rs_error_set(db, STORE_ENOMEM, "out of memory building a query");
    token tok[TOKENS_MAX];
    int n = split(v->name, tok);
    if (n < 0)
        return rs_error_set(db, STORE_EINVAL, "%s: not a path (names joined by __)", v->name);
    int rc = resolve(db, q->model, tok, n, &t->path, &t->lookup, t->name);
    if (!rc)
        rc = check_fit(db, t);
    if (rc)
        return rc;
    if (t->path.final == RS_FINAL_FIELD && t->path.fld->type == STORE_FK &&
        (is_order_lookup(t->lookup) || is_string_lookup(t->lookup)))
        return rs_error_set(db, STORE_EINVAL, "%s: a foreign key takes equal, not, in, not_in "
                            "and the null tests", t->name);
    if (v->kind == STORE_KIND_PARAM) {
        if (!v->u.s)
            return rs_error_set(db, STORE_EINVAL, "%s: the parameter has no name", t->name);
        if (!(t->param = strdup(v->u.s)))
            return rs_error_set(db, STORE_ENOMEM, "out of memory building a query");
        return STORE_OK;
    }
    return take_value(db, t, v, true, &t->val, &t->list, &t->nlist);
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 8;
    while (c < need)
        c *= 2;
    void *more = realloc(*p, c * size);
    if (!more)
        return -1;
    *p = more;
    *cap = c;
    return 0;
}

int rs_query_cond_new(store_query *q, rs_cond_kind kind, const uint32_t *kids, uint32_t n)
{
    if (grow((void **)&q->conds, &q->capconds, q->nconds + 1, sizeof *q->conds))
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
    rs_cond c = {.kind = kind, .nkids = n};
    if (n) {
        if (!(c.kids = malloc(n * sizeof *c.kids)))
            return rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
        memcpy(c.kids, kids, n * sizeof *c.kids);
    }
    q->conds[q->nconds++] = c;
    return (int)q->nconds;
}

int rs_query_add_terms(store_query *q, const store_value *terms, uint32_t **out, uint32_t *n)
{
    uint32_t count = 0;
    while (terms[count].name)
        count++;
    uint32_t *conds = malloc((count ? count : 1) * sizeof *conds);
    if (!conds)
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
    int rc = STORE_OK;
    for (uint32_t k = 0; k < count && !rc; k++) {
        if (grow((void **)&q->terms, &q->capterms, q->nterms + 1, sizeof *q->terms)) {
            rc = rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
            break;
        }
        rs_term *t = &q->terms[q->nterms];
        rc = term_compile(q, &terms[k], t);
        if (rc) {
            term_free(t);
            break;
        }
        q->nterms++;
        int c = rs_query_cond_new(q, RS_COND_TERM, NULL, 0);
        if (c < 0) {
            rc = c;
            break;
        }
        q->conds[c - 1].term = q->nterms - 1;
        conds[k] = (uint32_t)c;
    }
    if (rc) {
        free(conds);
        return rc;
    }
    *out = conds;
    *n = count;
    return STORE_OK;
}

int rs_query_root_add(store_query *q, uint32_t c)
{
    if (grow((void **)&q->root, &q->caproot, q->nroot + 1, sizeof *q->root))
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
    q->root[q->nroot++] = c;
    return STORE_OK;
}

int rs_query_path(store *db, store_model *m, const char *path, rs_path *out)
{
    token tok[TOKENS_MAX];
    int n = split(path, tok);
    if (n < 0)
        return rs_error_set(db, STORE_EINVAL, "%s: not a path (names joined by __)", path);
    int rc = resolve(db, m, tok, n, out, NULL, path);
    if (rc)
        return rc;
    for (int h = 0; h < out->nhops; h++)
        if (out->rev[h])
            return rs_error_set(db, STORE_EINVAL, "%s: a path through a reverse relation has "
                                "no single value", path);
    return STORE_OK;
}

int rs_query_order(store_query *q, const char *const *keys)
{
    uint32_t n = 0;
    while (keys[n])
        n++;
    rs_key *k = calloc(n ? n : 1, sizeof *k);
    if (!k)
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory building a query");
    for (uint32_t i = 0; i < n; i++) {
        const char *path = keys[i];
        k[i].desc = path[0] == '-';
        int rc = rs_query_path(q->db, q->model, path + k[i].desc, &k[i].path);
        if (rc) {
            free(k);
            return rc;
        }
        rs_path *kp = &k[i].path;
        if (kp->final == RS_FINAL_FIELD && kp->fld->type == STORE_FK) {
            if (kp->nhops == RS_PATH_MAX) {
                free(k);
                return rs_error_set(q->db, STORE_EINVAL, "%s: more than %d hops (a foreign "
                                    "key orders by its parent's id: one more)", path,
                                    RS_PATH_MAX);
            }
            /* A foreign key orders by its parent's id: the key is FK__id. */
            kp->rev[kp->nhops] = false;
            kp->hop[kp->nhops++] = kp->fld;
            kp->final = RS_FINAL_ID;
            kp->fld = NULL;
        }
    }
    free(q->keys);
    q->keys = k;
    q->nkeys = n;
    return STORE_OK;
}

void rs_query_free(store_query *q)
{
    for (uint32_t i = 0; i < q->nterms; i++)
        term_free(&q->terms[i]);
    for (uint32_t i = 0; i < q->nconds; i++)
        free(q->conds[i].kids);
    free(q->terms);
    free(q->conds);
    free(q->root);
    free(q->keys);
    free(q);
}

/* ---- Binding ------------------------------------------------------------------------------- */

int rs_query_bind(rs_qrun *r, const store_query *q, const store_value *binds)
{
    r->q = q;
    r->binds = NULL;
    r->owned = NULL;
    uint32_t nparams = 0;
    for (uint32_t i = 0; i < q->nterms; i++)
        nparams += q->terms[i].param != NULL;
    if (!nparams)
        return STORE_OK; /* the terms' own values: nothing to allocate */
    if (q->nterms <= RS_QRUN_TERMS) {
        r->binds = r->bind_room;
        r->owned = r->owned_room;
        memset(r->binds, 0, q->nterms * sizeof *r->binds);
    } else {
        r->binds = calloc(q->nterms, sizeof *r->binds);
        r->owned = calloc(nparams, sizeof *r->owned);
    }
    if (!r->binds || !r->owned) {
        rs_query_unbind(r);
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory running a query");
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < q->nterms; i++) {
        const rs_term *t = &q->terms[i];
        rs_qbind *b = &r->binds[i];
        if (!t->param) {
            *b = (rs_qbind){.val = &t->val, .list = t->list, .nlist = t->nlist};
            continue;
        }
        const store_value *v = binds;
        while (v && v->name && strcmp(v->name, t->param))
            v++;
        if (!v || !v->name) {
            rs_query_unbind(r);
            return rs_error_set(q->db, STORE_EINVAL, "%s: no bind for the parameter \"%s\"",
                                t->name, t->param);
        }
        rs_qval *val = &r->owned[used++];
        rs_qval *list;
        int rc = take_value(q->db, t, v, false, val, &list, &b->nlist);
        if (rc) {
            rs_query_unbind(r);
            return rc;
        }
        b->val = val;
        b->list = list;
    }
    return STORE_OK;
}

void rs_query_unbind(rs_qrun *r)
{
    if (r->binds)
        for (uint32_t i = 0; i < r->q->nterms; i++)
            if (r->q->terms[i].param)
                free((void *)r->binds[i].list);
    if (r->binds != r->bind_room) {
        free(r->binds);
        free(r->owned);
    }
    r->binds = NULL;
    r->owned = NULL;
}

/* ---- Matching ------------------------------------------------------------------------------ */

/* The value F of O holds (kind NULL when null). */
static rs_qval read_field(const store_fld *f, const store_obj *o)
{
    rs_qval v = {.kind = STORE_KIND_NULL};
    if (rs_field_null(f, o))
        return v;
    v.kind = rs_kind_of(f->type);
    switch (v.kind) {
    case STORE_KIND_STR: {
        const char *s = rs_str_get(o, f);
        v.u.str.s = s;
        v.u.str.len = rs_str_len(s);
        break;
    }
    case STORE_KIND_FLOAT: {
        uint64_t w = rs_field_word(o, f);
        memcpy(&v.u.f, &w, sizeof v.u.f);
        break;
    }
    case STORE_KIND_BOOL:
        v.u.b = rs_field_word(o, f) != 0;
        break;
    case STORE_KIND_REF:
        v.u.ref = rs_fk_parent(o, f);
        break;
    default:
        v.u.i = (int64_t)rs_field_word(o, f);
        break;
    }
    return v;
}

/* The value the end of P reads on O, the object its hops have reached. */
static rs_qval read_final(const rs_path *p, const store_obj *o)
{
    switch (p->final) {
    case RS_FINAL_ID:
        return (rs_qval){.kind = STORE_KIND_INT, .u.i = (int64_t)o->id};
    case RS_FINAL_COUNT:
        return (rs_qval){.kind = STORE_KIND_INT, .u.i = (int64_t)rs_rel_count(o, p->fld)};
    default:
        return read_field(p->fld, o);
    }
}

rs_qval rs_query_read(const rs_path *p, const store_obj *o)
{
    for (uint8_t h = 0; h < p->nhops; h++)
        if (!(o = rs_fk_parent(o, p->hop[h])))
            return (rs_qval){.kind = STORE_KIND_NULL};
    return read_final(p, o);
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Whether the N bytes at A and B are equal, ASCII letters folded with FOLD. */
static bool same(const char *a, const char *b, size_t n, bool folded)
{
    if (!folded)
        return !memcmp(a, b, n);
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

/* The string lookups on V, with needle N. */
static bool match_string(rs_lookup k, const rs_qval *v, const rs_qval *n)
{
    const char *s = v->u.str.s, *x = n->u.str.s;
    size_t len = v->u.str.len, nlen = n->u.str.len;
    bool folded = k == RS_LK_ICONTAINS || k == RS_LK_ISTARTSWITH || k == RS_LK_IENDSWITH ||
                  k == RS_LK_IEXACT;
    switch (k) {
    case RS_LK_IEXACT:
        return len == nlen && same(s, x, len, true);
    case RS_LK_STARTSWITH:
    case RS_LK_ISTARTSWITH:
        return len >= nlen && same(s, x, nlen, folded);
    case RS_LK_ENDSWITH:
    case RS_LK_IENDSWITH:
        return len >= nlen && same(s + len - nlen, x, nlen, folded);
    case RS_LK_CONTAINS:
        return nlen == 0 || memmem(s, len, x, nlen) != NULL;
    default: /* icontains */
        for (size_t i = 0; i + nlen <= len; i++)
            if (same(s + i, x, nlen, true))
                return true;
        return false;
    }
}

static bool in_list(const rs_qval *v, const rs_qbind *b)
{
    size_t lo = 0, hi = b->nlist;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = rs_query_cmp(&b->list[mid], v);
        if (!c)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Whether value V meets term T with B's value. */
static bool match_value(const rs_term *t, const rs_qbind *b, const rs_qval *v)
{
    const rs_qval *x = b->val;
    if (v->kind == STORE_KIND_NULL) {
        switch (t->lookup) {
        case RS_LK_ISNULL:
            return x->u.b;
        case RS_LK_NOT_ISNULL:
            return !x->u.b;
        case RS_LK_EQ:
            return x->kind == STORE_KIND_NULL;
        case RS_LK_NOT:
            return x->kind != STORE_KIND_NULL;
        case RS_LK_NOT_IN:
            return true;
        default:
            return false;
        }
    }
    switch (t->lookup) {
    case RS_LK_ISNULL:
        return !x->u.b;
    case RS_LK_NOT_ISNULL:
        return x->u.b;
    case RS_LK_EQ:
        return x->kind != STORE_KIND_NULL && !rs_query_cmp(v, x);
    case RS_LK_NOT:
        return x->kind == STORE_KIND_NULL || rs_query_cmp(v, x);
    case RS_LK_IN:
        return in_list(v, b);
    case RS_LK_NOT_IN:
        return !in_list(v, b);
    case RS_LK_GT:
        return rs_query_cmp(v, x) > 0;
    case RS_LK_GTE:
        return rs_query_cmp(v, x) >= 0;
    case RS_LK_LT:
        return rs_query_cmp(v, x) < 0;
    case RS_LK_LTE:
        return rs_query_cmp(v, x) <= 0;
    case RS_LK_RANGE:
        return rs_query_cmp(v, &b->list[0]) >= 0 && rs_query_cmp(v, &b->list[1]) <= 0;
    default:
        return match_string(t->lookup, v, x);
    }
}

/* Whether O, reached after hop H of T's path, meets T. */
static bool term_at(const rs_term *t, const rs_qbind *b, const store_obj *o, uint8_t h)
{
    for (; h < t->path.nhops; h++) {
        const store_fld *fk = t->path.hop[h];
        if (t->path.rev[h]) {
            for (const store_obj *c = rs_rel_first(o, fk); c; c = rs_fk_next(c, fk))
                if (term_at(t, b, c, (uint8_t)(h + 1)))
                    return true;
            return false;
        }
        if (!(o = rs_fk_parent(o, fk))) {
            rs_qval null = {.kind = STORE_KIND_NULL};
            return match_value(t, b, &null);
        }
    }
    rs_qval v = read_final(&t->path, o);
    return match_value(t, b, &v);
}

static bool cond_holds(const rs_qrun *r, uint32_t c, const store_obj *o)
{
    const store_query *q = r->q;
    const rs_cond *n = &q->conds[c - 1];
    switch (n->kind) {
    case RS_COND_TERM: {
        const rs_term *t = &q->terms[n->term];
        rs_qbind own = {.val = &t->val, .list = t->list, .nlist = t->nlist};
        return term_at(t, r->binds ? &r->binds[n->term] : &own, o, 0);
    }
    case RS_COND_AND:
        for (uint32_t k = 0; k < n->nkids; k++)
            if (!cond_holds(r, n->kids[k], o))
                return false;
        return true;
    case RS_COND_OR:
        for (uint32_t k = 0; k < n->nkids; k++)
            if (cond_holds(r, n->kids[k], o))
                return true;
        return false;
    default:
        return !cond_holds(r, n->kids[0], o);
    }
}

bool rs_query_matches(const rs_qrun *r, const store_obj *o, uint64_t known)
{
    for (uint32_t k = 0; k < r->q->nroot; k++)
        if (!(known & rs_query_known(k)) && !cond_holds(r, r->q->root[k], o))
            return false;
    return true;
}
