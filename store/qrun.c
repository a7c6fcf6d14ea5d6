/*
 * store/qrun.c - running a query: choose the objects to look at (the plan), keep those that
 * match, order, slice, and answer each kind of run.
 *
 * The plan is chosen at each run, from the bound values and what the store knows in O(1) or
 * nearly: a root term on id (equal or in) costs its ids; `fk = parent` (or in) costs the
 * parents' child counts, and so does `fk__id = N` (or in: the parents found by id); equal or
 * in on a .unique or .index field costs its holders, and
 * through one foreign key to such a field (`author__name = X`) the holders' child counts;
 * `tags = obj` through a many-to-many costs obj's links; else the scan costs the model's
 * count. Index groups are counted by walking them, never
 * past the best cost found so far. The cheapest wins; ties go to the one that yields id
 * order. Then the ordered indexes (store/oindex.h): the root terms on an ordered field narrow
 * a stretch of its tree, whose size two seeks give (its cost), and an order whose first key
 * is an ordered field may walk that tree instead of sorting, stopping at the slice's end
 * (its cost estimated from the slice and the best plan's count); one of these wins when it
 * looks at fewer objects, or as many and yields the order. Every object a plan yields is checked against every other root condition; the
 * driving term's own check is skipped only when the plan yields exactly its matches (no
 * null among its values: a null would probe for 0 or no parent), which bind guarantees by
 * sorting a list and dropping repeats.
 *
 * Results come in id order without an order_by: a plan that does not yield id order
 * collects and sorts. An order with a limit keeps a bounded heap of offset + limit objects,
 * never a full sort. Count, exists and aggregate without a slice need no order and stream.
 * Nothing is allocated per object: find grows its result array, the others keep counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/qrun.h"
#include "store/vindex.h"

/* ---- Plans --------------------------------------------------------------------------------- */

typedef enum plan_kind {
    PLAN_SCAN,
    PLAN_IDS,
    PLAN_CHILDREN,
    PLAN_INDEX,
    PLAN_CROSS,
    PLAN_LINKED, /* `tags = obj`: obj's links in a many-to-many, each to its near object */
    PLAN_ORDERED, /* a stretch of an ordered index: ranks [lo, hi) of OFLD's tree */
    PLAN_PARENT,  /* `fk__id = N` (or in): the children of the parent N */
} plan_kind;

typedef struct plan {
    plan_kind kind;
    const rs_term *term;
    const rs_qbind *bind;
    size_t cost;
    bool ordered;   /* yields objects in id order */
    bool in_order;  /* yields objects in the query's order (it has one) */
    /* PLAN_ORDERED: the field, the stretch, and whether it is walked from its end */
    const store_fld *ofld;
    size_t lo, hi;
    bool desc;
    bool runs;      /* backwards, each run of one value in id order (ties ascending) */
    uint64_t known; /* the root conditions every object it yields meets (rs_query_known()) */
} plan;

/* The values a driving term asks for: its one value, or its list. */
static const rs_qval *plan_values(const plan *p, size_t *n)
{
    if (p->term->lookup == RS_LK_IN) {
        *n = p->bind->nlist;
        return p->bind->list;
    }
    *n = 1;
    return p->bind->val;
}

static rs_probe probe_of(const rs_qval *v)
{
    switch (v->kind) {
    case STORE_KIND_STR:
        return (rs_probe){.w = (uint64_t)(uintptr_t)v->u.str.s, .len = v->u.str.len};
    case STORE_KIND_REF:
        return (rs_probe){.w = (uint64_t)(uintptr_t)v->u.ref};
    case STORE_KIND_BOOL:
        return (rs_probe){.w = v->u.b};
    default:
        return (rs_probe){.w = (uint64_t)v->u.i};
    }
}

/* The holders of V in F's index, counted up to BOUND; calls FN on each if FN is given. */
typedef bool (*visit_fn)(const store_obj *o, void *arg);

static size_t holders(const store_fld *f, const rs_qval *v, size_t bound, visit_fn fn, void *arg,
                      bool *stop)
{
    store_obj *h = rs_vindex_find(f, probe_of(v), NULL);
    size_t n = 0;
    for (; h && n <= bound && !*stop; h = f->unique ? NULL : rs_group_next(h, f)) {
        n++;
        if (fn && !fn(h, arg))
            *stop = true;
    }
    return n;
}

/* Whether term T can drive a plan (the root term itself, not negated), and which kind. */
static bool drivable(const rs_term *t, const rs_qbind *b, plan_kind *kind)
{
    if (t->lookup != RS_LK_EQ && t->lookup != RS_LK_IN)
        return false;
    if (t->lookup == RS_LK_EQ && b->val->kind == STORE_KIND_NULL)
        return false;
    const rs_path *p = &t->path;
    if (p->nhops == 0) {
        if (p->final == RS_FINAL_ID)
            *kind = PLAN_IDS;
        else if (p->final == RS_FINAL_FIELD && p->fld->type == STORE_FK)
            *kind = PLAN_CHILDREN;
        else if (p->final == RS_FINAL_FIELD && (p->fld->unique || p->fld->indexed))
            *kind = PLAN_INDEX;
        else
            return false;
        return true;
    }
    if (p->nhops == 1 && !p->rev[0] && p->final == RS_FINAL_FIELD &&
        (p->fld->unique || p->fld->indexed) && p->fld->type != STORE_FK) {
        *kind = PLAN_CROSS;
        return true;
    }
    if (p->nhops == 1 && !p->rev[0] && p->final == RS_FINAL_ID) {
        *kind = PLAN_PARENT;
        return true;
    }
    /* Back through a through model's key and out through its other key: the far object's
     * links, each to its near object. Only there, and for one value: a pair is linked once,
     * so no object comes twice (back through any other relation, or from two far objects,
     * two links could lead to one object). */
    const rs_m2m *pair = p->nhops == 1 ? p->hop[0]->model->pair : NULL;
    if (pair && p->rev[0] && p->final == RS_FINAL_FIELD && t->lookup == RS_LK_EQ &&
        ((p->hop[0] == pair->near && p->fld == pair->far) ||
         (p->hop[0] == pair->far && p->fld == pair->near))) {
        *kind = PLAN_LINKED;
        return true;
    }
    return false;
}

/* Walks the objects plan P yields, calling FN until it returns false. With FN NULL, only
 * counts them, up to BOUND; returns the count. */
static void walk_ordered(const plan *p, size_t skip, visit_fn fn, void *arg);

/* The children of PARENT through FK: their count when FN is NULL; else each given to FN
 * until it returns false (*STOP set), and 0. */
static size_t children(const store_obj *parent, const store_fld *fk, visit_fn fn, void *arg,
                       bool *stop)
{
    if (!fn)
        return rs_rel_count(parent, fk);
    for (const store_obj *c = rs_rel_first(parent, fk); c && !*stop; c = rs_fk_next(c, fk))
        *stop = !fn(c, arg);
    return 0;
}

static size_t drive(const store_model *m, const plan *p, size_t bound, visit_fn fn, void *arg)
{
    size_t n = 0, nv;
    bool stop = false;
    if (p->kind == PLAN_ORDERED) {
        if (fn)
            walk_ordered(p, 0, fn, arg);
        return p->hi - p->lo;
    }
    if (p->kind == PLAN_SCAN) {
        uint64_t pos = 0;
        for (store_obj *o; !stop && (o = rs_arena_scan(&m->arena, &pos));)
            stop = !fn(o, arg);
        return m->count;
    }
    const rs_qval *v = plan_values(p, &nv);
    const rs_path *path = &p->term->path;
    for (size_t k = 0; k < nv && !stop && n <= bound; k++) {
        switch (p->kind) {
        case PLAN_IDS: {
            store_obj *o = v[k].u.i > 0 ? rs_obj_get(m, (uint64_t)v[k].u.i) : NULL;
            n += o != NULL;
            if (o && fn && !fn(o, arg))
                stop = true;
            break;
        }
        case PLAN_CHILDREN: {
            /* A deleted parent, maybe of another model (its words are not this model's
             * layout), has no children. */
            const store_obj *parent = v[k].u.ref;
            if (rs_obj_live(parent))
                n += children(parent, path->fld, fn, arg, &stop);
            break;
        }
        case PLAN_INDEX:
            n += holders(path->fld, &v[k], bound - n, fn, arg, &stop);
            break;
        case PLAN_PARENT: {
            const store_fld *fk = path->hop[0];
            const store_obj *parent =
                v[k].u.i > 0 ? rs_obj_get(fk->target, (uint64_t)v[k].u.i) : NULL;
            if (parent)
                n += children(parent, fk, fn, arg, &stop);
            break;
        }
        case PLAN_LINKED: {
            /* A deleted object, maybe of another model, has no links. */
            const store_obj *far = v[k].u.ref;
            if (!rs_obj_live(far) || far->model != path->fld->target)
                break;
            if (!fn) {
                n += rs_rel_count(far, path->fld);
                break;
            }
            for (const store_obj *l = rs_rel_first(far, path->fld); l && !stop;
                 l = rs_fk_next(l, path->fld))
                stop = !fn(rs_fk_parent(l, path->hop[0]), arg);
            break;
        }
        default: { /* PLAN_CROSS: the holders' children */
            const store_fld *fk = path->hop[0];
            store_obj *h = rs_vindex_find(path->fld, probe_of(&v[k]), NULL);
            for (; h && !stop && n <= bound; h = path->fld->unique ? NULL
                                                                   : rs_group_next(h, path->fld))
                n += children(h, fk, fn, arg, &stop);
            break;
        }
        }
    }
    return n;
}


/* ---- Ordered indexes ----------------------------------------------------------------------- */

/* The rank in F's tree of the first entry not before probe P. */
static size_t rank_of(const store_fld *f, const rs_oprobe *p)
{
    size_t rank;
    rs_otree_seek(&f->otree, p, &rank);
    return rank;
}

/* The number of nulls in F's tree: they come first. */
static size_t nulls_of(const store_fld *f)
{
    return rank_of(f, &(rs_oprobe){.key = 0, .full = NULL, .id = RS_OID_VALUE});
}

/* The probe for value V (not null) of F, before (RS_OTREE_LOW) or after (RS_OTREE_HIGH)
 * every holder; false when V has no place in F's order. */
static bool value_probe(const store_fld *f, const rs_qval *v, uint64_t id, rs_ostr *full,
                        rs_oprobe *out)
{
    uint64_t key;
    switch (v->kind) {
    case STORE_KIND_STR:
        if (!rs_is_string(f))
            return false;
        *out = rs_oindex_value_probe(0, v->u.str.s, v->u.str.len, full, id);
        return true;
    case STORE_KIND_INT:
        if (f->type != STORE_INT)
            return false;
        key = rs_oindex_key_int(v->u.i);
        break;
    case STORE_KIND_FLOAT:
        if (f->type != STORE_FLOAT)
            return false;
        key = rs_oindex_key_float(v->u.f);
        break;
    case STORE_KIND_BOOL:
        if (f->type != STORE_BOOL)
            return false;
        key = v->u.b;
        break;
    case STORE_KIND_REF: /* a deleted parent reads id 0: no child holds it */
        if (f->type != STORE_FK)
            return false;
        key = __atomic_load_n(&v->u.ref->id, __ATOMIC_RELAXED);
        break;
    default:
        return false;
    }
    *out = rs_oindex_value_probe(key, NULL, 0, NULL, id);
    return true;
}

/* The rank of the first entry of F holding V (AFTER: the first after them). */
static bool value_rank(const store_fld *f, const rs_qval *v, bool after, size_t *rank)
{
    rs_ostr full;
    rs_oprobe p;
    if (!value_probe(f, v, after ? RS_OTREE_HIGH : RS_OTREE_LOW, &full, &p))
        return false;
    *rank = rank_of(f, &p);
    return true;
}

/* The first string after every string starting with the LEN bytes P, into BUF (of at least
 * LEN bytes); its length, or -1 when none is (P is all 0xff bytes). */
static long prefix_end(const char *p, size_t len, char *buf)
{
    memcpy(buf, p, len);
    while (len && (unsigned char)buf[len - 1] == 0xff)
        len--;
    if (!len)
        return -1;
    buf[len - 1] = (char)((unsigned char)buf[len - 1] + 1);
    return (long)len;
}

enum { PREFIX_MAX = 256 };

/* Narrows [*LO, *HI) of F's tree to the entries whose value meets term T with B's value
 * (NULLS: the count of nulls, first). false when T's lookup has no stretch there. */
static bool term_narrow(const store_fld *f, const rs_term *t, const rs_qbind *b, size_t nulls,
                        size_t *lo, size_t *hi, bool *one)
{
    const rs_qval *x = b->val;
    size_t l = nulls, h = f->otree.count, r;
    bool null = t->lookup != RS_LK_RANGE && x->kind == STORE_KIND_NULL;
    switch (t->lookup) {
    case RS_LK_ISNULL:
    case RS_LK_NOT_ISNULL:
        if (x->u.b == (t->lookup == RS_LK_ISNULL)) {
            l = 0;
            h = nulls;
        }
        break;
    case RS_LK_EQ:
        if (null) {
            l = 0;
            h = nulls;
        } else if (!value_rank(f, x, false, &l) || !value_rank(f, x, true, &h)) {
            return false;
        }
        break;
    case RS_LK_GT:
    case RS_LK_GTE: /* after a null: every value */
        if (!null && !value_rank(f, x, t->lookup == RS_LK_GT, &l))
            return false;
        break;
    case RS_LK_LT:
    case RS_LK_LTE: /* before a null: nothing */
        if (null)
            h = nulls;
        else if (!value_rank(f, x, t->lookup == RS_LK_LTE, &h))
            return false;
        break;
    case RS_LK_RANGE:
        if (b->list[0].kind != STORE_KIND_NULL && !value_rank(f, &b->list[0], false, &l))
            return false;
        if (b->list[1].kind == STORE_KIND_NULL)
            h = nulls;
        else if (!value_rank(f, &b->list[1], true, &h))
            return false;
        break;
    case RS_LK_STARTSWITH: {
        char end[PREFIX_MAX];
        if (null || !rs_is_string(f) || x->u.str.len > PREFIX_MAX ||
            !value_rank(f, x, false, &l))
            return false;
        long n = prefix_end(x->u.str.s, x->u.str.len, end);
        if (n >= 0) {
            rs_qval e = {.kind = STORE_KIND_STR, .u.str = {end, (size_t)n}};
            if (!value_rank(f, &e, false, &r))
                return false;
            h = r;
        }
        break;
    }
    default:
        return false;
    }
    if (l > *lo)
        *lo = l;
    if (h < *hi)
        *hi = h;
    if (*hi < *lo)
        *hi = *lo;
    /* One value's holders, or the nulls: in id order. */
    *one |= t->lookup == RS_LK_EQ || h <= nulls;
    return true;
}

/* Whether the order key K reads ordered field F (a foreign key orders as FK__id). */
static bool key_reads(const rs_key *k, const store_fld *f)
{
    const rs_path *p = &k->path;
    if (f->type == STORE_FK)
        return p->nhops == 1 && !p->rev[0] && p->hop[0] == f && p->final == RS_FINAL_ID;
    return p->nhops == 0 && p->final == RS_FINAL_FIELD && p->fld == f;
}

/* Whether walking F's index (DESC: from its end) gives Q's order: its first key reads F and
 * the next, if any, is the id: ascending (the order of ties anyway; walked backwards, each
 * run of one value is given in id order: *RUNS), or descending with a descending first key
 * (the plain walk backwards). */
static bool order_by(const store_query *q, const store_fld *f, bool *desc, bool *runs)
{
    if (!q->nkeys || !key_reads(&q->keys[0], f) || q->nkeys > 2)
        return false;
    *desc = q->keys[0].desc;
    bool ties_desc = false;
    if (q->nkeys == 2) {
        const rs_key *k = &q->keys[1];
        if (k->path.nhops || k->path.final != RS_FINAL_ID)
            return false;
        ties_desc = k->desc;
    }
    if (ties_desc && !*desc)
        return false;
    *runs = *desc && !ties_desc;
    return true;
}

/* Whether root term T of R's query can narrow an ordered index: its field's, at the root. */
static const store_fld *ordered_field(const rs_term *t)
{
    const rs_path *p = &t->path;
    return p->nhops == 0 && p->final == RS_FINAL_FIELD && p->fld->ordered ? p->fld : NULL;
}

/* The ordered field root condition K of Q narrows (a term on it at the root), or NULL. */
static const store_fld *root_field(const store_query *q, uint32_t k)
{
    const rs_cond *c = &q->conds[q->root[k] - 1];
    return c->kind == RS_COND_TERM ? ordered_field(&q->terms[c->term]) : NULL;
}

/* Whether one of the first N root conditions of Q narrows F. */
static bool narrowed(const store_query *q, const store_fld *f, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++)
        if (root_field(q, j) == f)
            return true;
    return false;
}

/* The rank of the first entry of F's tree holding the value entry E holds. */
static size_t run_start(const store_fld *f, const rs_oent *e)
{
    rs_ostr full;
    rs_oprobe pr = rs_oindex_probe(f, rs_oindex_obj(f, e), &full);
    pr.id = pr.id & RS_OID_VALUE ? RS_OID_VALUE : 0; /* a value's first, or the nulls' */
    return rank_of(f, &pr);
}

/* The ordered-index plan over F for run R: the stretch every root term on F narrows (KNOWN:
 * those terms), walked in the query's order when that is F's. */
static plan ordered_plan(const rs_qrun *r, const store_fld *f)
{
    const store_query *q = r->q;
    plan p = {.kind = PLAN_ORDERED, .ofld = f, .lo = 0, .hi = f->otree.count,
              .known = RS_QUERY_ALL};
    size_t nulls = f->null ? nulls_of(f) : 0;
    bool one = false;
    for (uint32_t k = 0; k < q->nroot && k < 64; k++) {
        if (root_field(q, k) != f)
            continue;
        const rs_cond *c = &q->conds[q->root[k] - 1];
        const rs_term *t = &q->terms[c->term];
        rs_qbind mine = {.val = &t->val, .list = t->list, .nlist = t->nlist};
        if (term_narrow(f, t, r->binds ? &r->binds[c->term] : &mine, nulls, &p.lo, &p.hi, &one))
            p.known |= rs_query_known(k);
    }
    p.cost = p.hi - p.lo;
    p.in_order = order_by(q, f, &p.desc, &p.runs);
    p.ordered = one || p.cost <= 1; /* one value's holders (or the nulls) are in id order */
    return p;
}

/* Whether every root condition of Q holds for every object plan P yields. */
static bool exact(const store_query *q, const plan *p)
{
    return q->nroot <= 64 && (uint32_t)__builtin_popcountll(p->known) == q->nroot;
}

/* What P costs to run for a query that keeps at most WANT (0: all): a plan that yields the
 * order and checks nothing stops at WANT. */
static size_t effective(const store_query *q, const plan *p, size_t want)
{
    bool streams = q->nkeys ? p->in_order : p->ordered;
    return streams && want && exact(q, p) && want < p->cost ? want : p->cost;
}

/* Ordered-index plans for R beside BEST: a stretch for each ordered field the root terms
 * narrow, and a walk of the index the query's first key reads. */
static void choose_ordered(const rs_qrun *r, plan *best)
{
    const store_query *q = r->q;
    size_t want = q->limit ? (q->offset + q->limit < q->offset ? 0 : q->offset + q->limit) : 0;
    size_t matches = best->cost ? best->cost : 1; /* at most */
    for (uint32_t k = 0; k <= q->nroot; k++) {
        const store_fld *f = NULL;
        if (k < q->nroot) {
            f = root_field(q, k);
            if (f && narrowed(q, f, k)) /* once per field */
                f = NULL;
        } else if (q->nkeys) { /* the walk in order, if no term narrowed that field */
            const rs_path *kp = &q->keys[0].path;
            f = kp->nhops == 0 && kp->final == RS_FINAL_FIELD ? kp->fld
                : kp->nhops == 1 && kp->final == RS_FINAL_ID ? kp->hop[0] : NULL;
            if (f && (!f->ordered || narrowed(q, f, q->nroot)))
                f = NULL;
        }
        /* A stretch cannot do much better than a handful of objects to look at. */
        if (!f || (k < q->nroot && best->cost < 32))
            continue;
        plan p = ordered_plan(r, f);
        if (!p.known && !p.in_order)
            continue; /* narrows nothing, orders nothing: a scan in another order */
        size_t cost = effective(q, &p, want), now = effective(q, best, want);
        if (!p.known && want && p.cost) /* a walk in order stops once WANT matched */
            cost = want >= matches ? p.cost : (size_t)((double)want * p.cost / matches);
        if (cost < now || (cost == now && p.in_order && !best->in_order))
            *best = p;
    }
}

/* Walks ranks [P->lo, P->hi) of P's index, skipping the first SKIP it would give, calling FN
 * until it returns false. Backwards, each run of one value still comes in id order (the
 * order's ties): found by stepping back a few entries, or by seeking the value's first. */
static void walk_ordered(const plan *p, size_t skip, visit_fn fn, void *arg)
{
    const store_fld *f = p->ofld;
    const rs_otree *t = &f->otree;
    if (p->lo >= p->hi || skip >= p->hi - p->lo)
        return;
    size_t left = p->hi - p->lo - skip;
    if (!p->desc) {
        for (rs_ocursor c = rs_otree_at(t, p->lo + skip); left-- && c.leaf; c = rs_otree_next(c))
            if (!fn(rs_oindex_obj(f, rs_otree_entry(c)), arg))
                return;
        return;
    }
    if (!p->runs) {
        for (rs_ocursor c = rs_otree_at(t, p->hi - 1 - skip); left-- && c.leaf;
             c = rs_otree_prev(c))
            if (!fn(rs_oindex_obj(f, rs_otree_entry(c)), arg))
                return;
        return;
    }
    enum { STEPS = 16 };
    size_t end = p->hi - skip; /* the runs below END are to give whole */
    rs_ocursor last = rs_otree_at(t, end - 1);
    bool first = true;
    while (end > p->lo) {
        const rs_oent *e = rs_otree_entry(last);
        size_t a = end - 1, b = end;
        rs_ocursor c = last;
        for (int steps = 0; a > p->lo; steps++) {
            rs_ocursor pc = rs_otree_prev(c);
            if (!rs_oindex_same(f, rs_otree_entry(pc), e))
                break;
            if (steps == STEPS) { /* a long run: its first by a seek */
                a = run_start(f, e);
                if (a < p->lo)
                    a = p->lo;
                c = rs_otree_at(t, a);
                break;
            }
            c = pc;
            a--;
        }
        if (first) { /* a skip may end inside a run: its end too */
            rs_ocursor nc = rs_otree_next(last);
            for (; b < p->hi && rs_oindex_same(f, rs_otree_entry(nc), e); nc = rs_otree_next(nc))
                b++;
            first = false;
        }
        /* The run [a, b) comes first to last; its first b - end were skipped. */
        rs_ocursor start = c;
        for (size_t i = a; i < b; i++, c = rs_otree_next(c))
            if (i >= a + (b - end) && !fn(rs_oindex_obj(f, rs_otree_entry(c)), arg))
                return;
        end = a;
        last = rs_otree_prev(start);
    }
}

/* The cheapest plan for run R; OWN holds the driving term's own values when it has no
 * parameter. */
static plan choose(const rs_qrun *r, rs_qbind *own)
{
    const store_query *q = r->q;
    plan best = {.kind = PLAN_SCAN, .cost = q->model->count, .ordered = true,
                 .known = RS_QUERY_ALL};
    for (uint32_t k = 0; k < q->nroot; k++) {
        const rs_cond *c = &q->conds[q->root[k] - 1];
        if (c->kind != RS_COND_TERM)
            continue;
        const rs_term *t = &q->terms[c->term];
        rs_qbind mine = {.val = &t->val, .list = t->list, .nlist = t->nlist};
        plan p = {.term = t, .bind = r->binds ? &r->binds[c->term] : &mine};
        if (!drivable(t, p.bind, &p.kind))
            continue;
        size_t nv;
        const rs_qval *v = plan_values(&p, &nv);
        p.ordered = p.kind == PLAN_IDS || (p.kind == PLAN_INDEX && nv <= 1);
        p.known = rs_query_known(k);
        for (size_t i = 0; i < nv; i++)
            if (v[i].kind == STORE_KIND_NULL)
                p.known = RS_QUERY_ALL;
        p.cost = drive(q->model, &p, best.cost, NULL, NULL);
        if (p.cost < best.cost || (p.cost == best.cost && p.ordered && !best.ordered)) {
            if (!r->binds) { /* the plan outlives MINE */
                *own = mine;
                p.bind = own;
            }
            best = p;
        }
    }
    choose_ordered(r, &best);
    return best;
}

/* ---- Collecting ---------------------------------------------------------------------------- */

/* The order of objects A and B under R's keys from the key FROM on, ties by id. */
static int order_from(const rs_qrun *r, uint32_t from, const store_obj *a, const store_obj *b)
{
    const store_query *q = r->q;
    for (uint32_t k = from; k < q->nkeys; k++) {
        rs_qval x = rs_query_read(&q->keys[k].path, a), y = rs_query_read(&q->keys[k].path, b);
        int c = rs_query_cmp(&x, &y);
        if (c)
            return q->keys[k].desc ? -c : c;
    }
    return (a->id > b->id) - (a->id < b->id);
}

/* The order of objects A and B under R's keys, ties by id. */
static int order_cmp(const rs_qrun *r, const store_obj *a, const store_obj *b)
{
    return order_from(r, 0, a, b);
}

static int sort_cmp(const void *a, const void *b, void *r)
{
    return order_cmp(r, *(store_obj *const *)a, *(store_obj *const *)b);
}

/* What a collecting walk keeps. */
typedef struct gather {
    const rs_qrun *r;
    store_obj **objs;
    size_t n, cap;
    size_t heap; /* > 0: keep only the HEAP first in order (a max-heap: the last on top) */
    size_t stop; /* > 0: the plan yields the order: stop once STOP are kept */
    uint64_t known;
    bool oom;
    /* A heap of at most HEAP_KEYED objects ordered by keys keeps each one's first key beside
     * it, so that sifting compares values instead of reading paths again: KEYS, or NULL. */
    rs_qval *keys;
} gather;

enum { HEAP_KEYED = 64 };

/* The order of the objects at I and J of G's array. */
static int slot_cmp(const gather *g, size_t i, size_t j)
{
    if (!g->keys)
        return order_cmp(g->r, g->objs[i], g->objs[j]);
    int c = rs_query_cmp(&g->keys[i], &g->keys[j]);
    if (c)
        return g->r->q->keys[0].desc ? -c : c;
    return order_from(g->r, 1, g->objs[i], g->objs[j]);
}

static void slot_swap(gather *g, size_t i, size_t j)
{
    store_obj *t = g->objs[i];
    g->objs[i] = g->objs[j];
    g->objs[j] = t;
    if (g->keys) {
        rs_qval k = g->keys[i];
        g->keys[i] = g->keys[j];
        g->keys[j] = k;
    }
}

/* Sifts the object at I down the first N of G's heap. */
static void sift_down(gather *g, size_t i, size_t n)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, rr = l + 1;
        if (l < n && slot_cmp(g, l, big) > 0)
            big = l;
        if (rr < n && slot_cmp(g, rr, big) > 0)
            big = rr;
        if (big == i)
            return;
        slot_swap(g, i, big);
        i = big;
    }
}

static void sift_up(gather *g, size_t i)
{
    while (i && slot_cmp(g, i, (i - 1) / 2) > 0) {
        slot_swap(g, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

/* Sorts G's heap in place, first in order first: the top goes to the end, again and again. */
static void heap_sort(gather *g)
{
    for (size_t n = g->n; n > 1; n--) {
        slot_swap(g, 0, n - 1);
        sift_down(g, 0, n - 1);
    }
}

static bool push(gather *g, store_obj *o)
{
    rs_qval key = {.kind = STORE_KIND_NULL};
    if (g->keys)
        key = rs_query_read(&g->r->q->keys[0].path, o);
    if (g->heap && g->n == g->heap) {
        int c;
        if (g->keys) {
            c = rs_query_cmp(&key, &g->keys[0]);
            c = c ? (g->r->q->keys[0].desc ? -c : c) : order_from(g->r, 1, o, g->objs[0]);
        } else {
            c = order_cmp(g->r, o, g->objs[0]);
        }
        if (c >= 0)
            return true;
        g->objs[0] = o;
        if (g->keys)
            g->keys[0] = key;
        sift_down(g, 0, g->n);
        return true;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        if (g->heap && cap > g->heap)
            cap = g->heap;
        store_obj **more = realloc(g->objs, cap * sizeof *more);
        if (!more) {
            g->oom = true;
            return false;
        }
        g->objs = more;
        g->cap = cap;
    }
    if (g->keys)
        g->keys[g->n] = key;
    g->objs[g->n++] = o;
    if (g->heap)
        sift_up(g, g->n - 1);
    return g->n != g->stop;
}

static bool gather_one(const store_obj *o, void *arg)
{
    gather *g = arg;
    return !rs_query_matches(g->r, o, g->known) || push(g, (store_obj *)o);
}

/*
 * The objects of R in order, after skipping OFFSET, at most LIMIT (0: all), into *OUT / *N
 * (an array the caller frees, NULL when empty). STORE_OK or STORE_ENOMEM.
 */
static int collect(const rs_qrun *r, size_t offset, size_t limit, store_obj ***out, size_t *n)
{
    const store_query *q = r->q;
    rs_qbind own;
    plan p = choose(r, &own);
    gather g = {.r = r, .known = p.known};
    bool sorted = q->nkeys ? p.in_order : p.ordered;
    /* A stretch of an ordered index in the order asked, every condition met: the offset is
     * a jump, not a walk. */
    size_t skip = 0;
    if (sorted && p.kind == PLAN_ORDERED && exact(q, &p)) {
        skip = offset;
        offset = 0;
    }
    size_t want = limit ? (offset + limit < offset ? SIZE_MAX : offset + limit) : 0;
    rs_qval key_room[HEAP_KEYED];
    if (sorted)
        g.stop = want;
    else
        g.heap = want;
    if (g.heap && g.heap <= HEAP_KEYED && q->nkeys)
        g.keys = key_room;
    if (p.kind == PLAN_ORDERED)
        walk_ordered(&p, skip, gather_one, &g);
    else
        drive(q->model, &p, SIZE_MAX, gather_one, &g);
    if (g.oom) {
        free(g.objs);
        return rs_error_set(q->db, STORE_ENOMEM, "%s: out of memory running a query",
                            q->model->name);
    }
    if (g.heap && g.n > 1)
        heap_sort(&g);
    else if (!sorted && g.n > 1)
        qsort_r(g.objs, g.n, sizeof *g.objs, sort_cmp, (void *)r);
    size_t from = offset < g.n ? offset : g.n;
    size_t cnt = g.n - from;
    if (limit && cnt > limit)
        cnt = limit;
    if (from && cnt)
        memmove(g.objs, g.objs + from, cnt * sizeof *g.objs);
    if (!cnt) {
        free(g.objs);
        g.objs = NULL;
    }
    *out = g.objs;
    *n = cnt;
    return STORE_OK;
}

/* ---- Runs ---------------------------------------------------------------------------------- */

int rs_qrun_find(const rs_qrun *r, store_result *out)
{
    return collect(r, r->q->offset, r->q->limit, &out->objs, &out->count);
}

/* Counting matches, stopping past STOP (0: never). */
typedef struct counter {
    const rs_qrun *r;
    size_t n, stop;
    uint64_t known;
} counter;

static bool count_one(const store_obj *o, void *arg)
{
    counter *c = arg;
    if (rs_query_matches(c->r, o, c->known))
        c->n++;
    return !c->stop || c->n < c->stop;
}

/* Whether plan P yields exactly R's matches, so that the plan's own count is the answer: it
 * meets every root condition, and is of a kind choose() counts exactly. */
static bool only_the_driver(const rs_qrun *r, const plan *p)
{
    return exact(r->q, p) && (p->kind == PLAN_CHILDREN || p->kind == PLAN_IDS ||
                              p->kind == PLAN_INDEX || p->kind == PLAN_ORDERED);
}

/* The matches of R, ignoring the slice, stopping past STOP (0: never). */
static size_t count_all(const rs_qrun *r, size_t stop)
{
    const store_query *q = r->q;
    if (!q->nroot)
        return q->model->count;
    rs_qbind own;
    plan p = choose(r, &own);
    if (only_the_driver(r, &p))
        return p.cost; /* counted exactly by choose() (an index group up to the scan's cost) */
    counter c = {.r = r, .stop = stop, .known = p.known};
    drive(q->model, &p, SIZE_MAX, count_one, &c);
    return c.n;
}

/* How many of TOTAL matches the slice of Q keeps. */
static size_t sliced(const store_query *q, size_t total)
{
    size_t n = total > q->offset ? total - q->offset : 0;
    return q->limit && n > q->limit ? q->limit : n;
}

int rs_qrun_count(const rs_qrun *r, size_t *out)
{
    const store_query *q = r->q;
    size_t stop = q->limit ? q->offset + q->limit : 0;
    if (stop && stop < q->offset)
        stop = 0;
    *out = sliced(q, count_all(r, stop));
    return STORE_OK;
}

int rs_qrun_exists(const rs_qrun *r, bool *out)
{
    const store_query *q = r->q;
    *out = sliced(q, count_all(r, q->offset + 1)) > 0;
    return STORE_OK;
}

/* The first objects of R's slice, at most MAX of them, into OBJS; how many. */
static int first_few(const rs_qrun *r, size_t max, store_obj **objs, size_t *n)
{
    const store_query *q = r->q;
    size_t limit = q->limit && q->limit < max ? q->limit : max;
    store_obj **all;
    int rc = collect(r, q->offset, limit, &all, n);
    if (rc)
        return rc;
    if (*n)
        memcpy(objs, all, *n * sizeof *objs);
    free(all);
    return STORE_OK;
}

int rs_qrun_first(const rs_qrun *r, store_obj **out)
{
    size_t n;
    int rc = first_few(r, 1, out, &n);
    if (!rc && !n)
        rc = rs_error_set(r->q->db, STORE_ENOTFOUND, "%s: no object matches the query",
                          r->q->model->name);
    return rc;
}

int rs_qrun_get(const rs_qrun *r, store_obj **out)
{
    store_obj *two[2];
    size_t n;
    int rc = first_few(r, 2, two, &n);
    if (rc)
        return rc;
    if (n != 1)
        return rs_error_set(r->q->db, n ? STORE_EMULTIPLE : STORE_ENOTFOUND,
                            "%s: %s object matches the query", r->q->model->name,
                            n ? "more than one" : "no");
    *out = two[0];
    return STORE_OK;
}

/* Calls the caller's function on each match, in order, until it says stop. */
typedef struct visitor {
    const rs_qrun *r;
    size_t skip, left; /* left: SIZE_MAX for no limit */
    bool (*fn)(store_obj *obj, void *arg);
    void *arg;
    uint64_t known;
} visitor;

static bool visit_one(const store_obj *o, void *arg)
{
    visitor *v = arg;
    if (!rs_query_matches(v->r, o, v->known))
        return true;
    if (v->skip) {
        v->skip--;
        return true;
    }
    return v->fn((store_obj *)o, v->arg) && --v->left > 0;
}

int rs_qrun_visit(const rs_qrun *r, bool (*fn)(store_obj *obj, void *arg), void *arg)
{
    const store_query *q = r->q;
    rs_qbind own;
    plan p = choose(r, &own);
    if (q->nkeys ? p.in_order : p.ordered) { /* stream: nothing to allocate */
        visitor v = {.r = r, .skip = q->offset, .left = q->limit ? q->limit : SIZE_MAX,
                     .fn = fn, .arg = arg, .known = p.known};
        if (p.kind == PLAN_ORDERED && exact(q, &p)) {
            v.skip = 0;
            walk_ordered(&p, q->offset, visit_one, &v);
        } else {
            drive(q->model, &p, SIZE_MAX, visit_one, &v);
        }
        return STORE_OK;
    }
    store_obj **all;
    size_t n;
    int rc = collect(r, q->offset, q->limit, &all, &n);
    if (rc)
        return rc;
    for (size_t k = 0; k < n && fn(all[k], arg); k++)
        ;
    free(all);
    return STORE_OK;
}

/* ---- Aggregates ---------------------------------------------------------------------------- */

typedef struct agg_state {
    store_agg *a;
    rs_path path;
    bool counts_objects; /* COUNT without a path */
    /* The INT sum, exact in 128 bits as hi:lo: a partial sum may leave int64 and come back
     * (plans visit objects in different orders), only the total must fit. */
    uint64_t isum_lo;
    int64_t isum_hi;
    double fsum;
    rs_qval best; /* MIN, MAX */
} agg_state;

typedef struct aggregating {
    const rs_qrun *r;
    agg_state *st;
    size_t n;
    uint64_t known;
} aggregating;

static void agg_add(agg_state *s, const store_obj *o)
{
    if (s->counts_objects) {
        s->a->n++;
        return;
    }
    rs_qval v = rs_query_read(&s->path, o);
    if (v.kind == STORE_KIND_NULL)
        return;
    s->a->n++;
    switch (s->a->op) {
    case STORE_AGG_SUM:
    case STORE_AGG_AVG:
        if (v.kind == STORE_KIND_INT) {
            uint64_t lo = s->isum_lo + (uint64_t)v.u.i;
            s->isum_hi += (v.u.i < 0 ? -1 : 0) + (lo < s->isum_lo);
            s->isum_lo = lo;
            s->fsum += (double)v.u.i;
        } else {
            s->fsum += v.u.f;
        }
        break;
    case STORE_AGG_MIN:
    case STORE_AGG_MAX: {
        int c = s->best.kind == STORE_KIND_NULL ? 0 : rs_query_cmp(&v, &s->best);
        if (s->best.kind == STORE_KIND_NULL || (s->a->op == STORE_AGG_MIN ? c < 0 : c > 0))
            s->best = v;
        break;
    }
    default:
        break;
    }
}

static bool agg_one(const store_obj *o, void *arg)
{
    aggregating *g = arg;
    if (rs_query_matches(g->r, o, g->known))
        for (size_t k = 0; k < g->n; k++)
            agg_add(&g->st[k], o);
    return true;
}

/* Compiles aggregate A into *S: STORE_OK or STORE_EINVAL naming it. */
static int agg_compile(const store_query *q, store_agg *a, agg_state *s)
{
    *s = (agg_state){.a = a, .best = {.kind = STORE_KIND_NULL}};
    a->n = 0;
    a->out = (store_value){.kind = STORE_KIND_NULL};
    if (a->op < STORE_AGG_COUNT || a->op > STORE_AGG_MAX)
        return rs_error_set(q->db, STORE_EINVAL, "aggregate: unknown op %d", (int)a->op);
    if (!a->path) {
        if (a->op != STORE_AGG_COUNT)
            return rs_error_set(q->db, STORE_EINVAL, "aggregate: only COUNT takes no path");
        s->counts_objects = true;
        return STORE_OK;
    }
    int rc = rs_query_path(q->db, q->model, a->path, &s->path);
    if (rc)
        return rc;
    store_kind kind = s->path.final == RS_FINAL_FIELD ? rs_kind_of(s->path.fld->type)
                                                      : STORE_KIND_INT;
    bool numeric = kind == STORE_KIND_INT || kind == STORE_KIND_FLOAT;
    if ((a->op == STORE_AGG_SUM || a->op == STORE_AGG_AVG) && !numeric)
        return rs_error_set(q->db, STORE_EINVAL, "aggregate %s: SUM and AVG take numbers",
                            a->path);
    if ((a->op == STORE_AGG_MIN || a->op == STORE_AGG_MAX) && kind == STORE_KIND_REF)
        return rs_error_set(q->db, STORE_EINVAL, "aggregate %s: a foreign key has no order "
                            "(use %s__id)", a->path, a->path);
    return STORE_OK;
}

/* Sets A's result from S. */
static int agg_finish(const store_query *q, agg_state *s)
{
    store_agg *a = s->a;
    if (a->op == STORE_AGG_COUNT) {
        a->out = (store_value){.kind = STORE_KIND_INT, .u.i = (int64_t)a->n};
        return STORE_OK;
    }
    if (!a->n)
        return STORE_OK; /* KIND_NULL */
    store_kind kind = s->path.final == RS_FINAL_FIELD ? rs_kind_of(s->path.fld->type)
                                                      : STORE_KIND_INT;
    switch (a->op) {
    case STORE_AGG_SUM:
        if (kind == STORE_KIND_INT) {
            int64_t lo = (int64_t)s->isum_lo; /* two's complement: the low word as it stands */
            if (s->isum_hi != (lo < 0 ? -1 : 0))
                return rs_error_set(q->db, STORE_EINVAL, "aggregate SUM(%s): overflows int64",
                                    a->path);
            a->out = (store_value){.kind = STORE_KIND_INT, .u.i = lo};
        } else {
            a->out = (store_value){.kind = STORE_KIND_FLOAT, .u.f = s->fsum};
        }
        return STORE_OK;
    case STORE_AGG_AVG:
        a->out = (store_value){.kind = STORE_KIND_FLOAT, .u.f = s->fsum / (double)a->n};
        return STORE_OK;
    default:
        a->out.kind = s->best.kind;
        switch (s->best.kind) {
        case STORE_KIND_STR:
            a->out.u.s = s->best.u.str.s;
            break;
        case STORE_KIND_FLOAT:
            a->out.u.f = s->best.u.f;
            break;
        case STORE_KIND_BOOL:
            a->out.u.b = s->best.u.b;
            break;
        default:
            a->out.u.i = s->best.u.i;
            break;
        }
        return STORE_OK;
    }
}

/* Answers the N aggregates ST from an ordered index, without visiting the objects, when each
 * is a COUNT of objects or a MIN / MAX of one ordered field F, and the matches are a stretch
 * of F's index (every object, or an exact plan). Whether it did. */
static bool agg_ordered(const rs_qrun *r, agg_state *st, size_t n)
{
    const store_query *q = r->q;
    const store_fld *f = NULL;
    for (size_t k = 0; k < n; k++) {
        if (st[k].counts_objects)
            continue;
        const rs_path *p = &st[k].path;
        if ((st[k].a->op != STORE_AGG_MIN && st[k].a->op != STORE_AGG_MAX) || p->nhops ||
            p->final != RS_FINAL_FIELD || !p->fld->ordered || (f && p->fld != f))
            return false;
        f = p->fld;
    }
    if (!f)
        return false;
    plan p = {.kind = PLAN_ORDERED, .ofld = f, .lo = 0, .hi = f->otree.count};
    if (q->nroot) {
        rs_qbind own;
        p = choose(r, &own);
        if (p.kind != PLAN_ORDERED || p.ofld != f || !exact(q, &p))
            return false;
    }
    size_t nulls = f->null ? nulls_of(f) : 0, lo = p.lo > nulls ? p.lo : nulls;
    for (size_t k = 0; k < n; k++) {
        store_agg *a = st[k].a;
        if (st[k].counts_objects) {
            a->n = p.hi - p.lo;
            continue;
        }
        a->n = p.hi > lo ? p.hi - lo : 0;
        if (a->n) {
            /* A FLOAT's MAX is read from the value's first holder, as a scan in id order
             * keeps it (-0 and +0 are one value, but not one double); for other types any
             * holder reads the same. */
            size_t at = a->op == STORE_AGG_MIN ? lo : p.hi - 1;
            rs_ocursor c = rs_otree_at(&f->otree, at);
            if (a->op == STORE_AGG_MAX && f->type == STORE_FLOAT && at > lo &&
                rs_oindex_same(f, rs_otree_entry(rs_otree_prev(c)), rs_otree_entry(c))) {
                at = run_start(f, rs_otree_entry(c));
                c = rs_otree_at(&f->otree, at > lo ? at : lo);
            }
            st[k].best = rs_query_read(&st[k].path, rs_oindex_obj(f, rs_otree_entry(c)));
        }
    }
    return true;
}

int rs_qrun_aggregate(const rs_qrun *r, store_agg *aggs)
{
    const store_query *q = r->q;
    size_t n = 0;
    while (aggs[n].op)
        n++;
    agg_state room[4], *st = n <= 4 ? room : calloc(n, sizeof *st);
    if (!st)
        return rs_error_set(q->db, STORE_ENOMEM, "out of memory running an aggregate");
    int rc = STORE_OK;
    for (size_t k = 0; k < n && !rc; k++)
        rc = agg_compile(q, &aggs[k], &st[k]);
    aggregating g = {.r = r, .st = st, .n = n};
    if (!rc && !q->offset && !q->limit && agg_ordered(r, st, n)) {
        /* answered from an ordered index */
    } else if (!rc && !q->offset && !q->limit) { /* no slice: no order needed */
        rs_qbind own;
        plan p = choose(r, &own);
        g.known = p.known;
        drive(q->model, &p, SIZE_MAX, agg_one, &g);
    } else if (!rc) {
        store_obj **all;
        size_t cnt;
        rc = collect(r, q->offset, q->limit, &all, &cnt);
        for (size_t i = 0; !rc && i < cnt; i++)
            for (size_t k = 0; k < n; k++)
                agg_add(&st[k], all[i]);
        if (!rc)
            free(all);
    }
    for (size_t k = 0; k < n && !rc; k++)
        rc = agg_finish(q, &st[k]);
    if (st != room)
        free(st);
    return rc;
}

/* ---- Changes ------------------------------------------------------------------------------- */

int rs_qrun_update(const rs_qrun *r, const store_value *values, size_t *n)
{
    const store_query *q = r->q;
    store_obj **all = NULL;
    size_t cnt = 0;
    int rc = collect(r, q->offset, q->limit, &all, &cnt);
    if (!rc) /* with no match too: bad values are an error whatever the store holds */
        rc = rs_obj_update_many(q->db, q->model, all, cnt, values);
    free(all);
    if (!rc)
        *n = cnt;
    return rc;
}

int rs_qrun_delete(const rs_qrun *r, size_t *n)
{
    const store_query *q = r->q;
    store_obj **all = NULL;
    size_t cnt = 0;
    int rc = collect(r, q->offset, q->limit, &all, &cnt);
    if (!rc && cnt)
        rc = rs_delete_objs(q->db, all, cnt);
    free(all);
    if (!rc)
        *n = cnt;
    return rc;
}

/* ---- Explaining ---------------------------------------------------------------------------- */

int rs_qrun_explain(const rs_qrun *r, char *buf, size_t size)
{
    const store_query *q = r->q;
    rs_qbind own;
    plan p = choose(r, &own);
    const rs_path *path = p.term ? &p.term->path : NULL;
    size_t nv = 0;
    if (p.term)
        plan_values(&p, &nv);
    int n;
    switch (p.kind) {
    case PLAN_SCAN:
        n = snprintf(buf, size, "scan %s", q->model->name);
        break;
    case PLAN_IDS:
        n = snprintf(buf, size, "ids of %s (%zu)", q->model->name, nv);
        break;
    case PLAN_CHILDREN:
        n = snprintf(buf, size, "children of %zu %s through %s.%s", nv, path->fld->target->name,
                     q->model->name, path->fld->name);
        break;
    case PLAN_INDEX:
        n = snprintf(buf, size, "index %s.%s (%zu value%s)", q->model->name, path->fld->name, nv,
                     nv == 1 ? "" : "s");
        break;
    case PLAN_LINKED:
        n = snprintf(buf, size, "links of %zu %s through %s.%s", nv, path->fld->target->name,
                     path->fld->model->name, path->fld->name);
        break;
    case PLAN_PARENT:
        n = snprintf(buf, size, "children of %zu %s by id through %s.%s", nv,
                     path->hop[0]->target->name, q->model->name, path->hop[0]->name);
        break;
    case PLAN_ORDERED:
        n = snprintf(buf, size, "ordered index %s.%s (%zu of %zu entries%s)", q->model->name,
                     p.ofld->name, p.hi - p.lo, p.ofld->otree.count,
                     p.desc && p.in_order ? ", from the end" : "");
        break;
    default:
        n = snprintf(buf, size, "index %s.%s (%zu value%s), then children through %s.%s",
                     path->fld->model->name, path->fld->name, nv, nv == 1 ? "" : "s",
                     q->model->name, path->hop[0]->name);
        break;
    }
    size_t at = n < 0 ? 0 : (size_t)n;
    const char *sort = !q->nkeys    ? (p.ordered ? "" : ", sort by id")
                       : p.in_order ? ", in index order"
                       : q->limit   ? ", order by a bounded heap"
                                    : ", sort";
    uint32_t checked = q->nroot - (uint32_t)__builtin_popcountll(p.known);
    if (at < size)
        snprintf(buf + at, size - at, ": %zu to look at, %u condition%s to check%s", p.cost,
                 checked, checked == 1 ? "" : "s", sort);
    return STORE_OK;
}

/* ---- Groups -------------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    return rs_query_cmp(a, b);
}

static store_value value_of(const rs_qval *v)
{
    store_value out = {.kind = v->kind};
    switch (v->kind) {
    case STORE_KIND_STR:
        out.u.s = v->u.str.s;
        break;
    case STORE_KIND_FLOAT:
        out.u.f = v->u.f;
        break;
    case STORE_KIND_BOOL:
        out.u.b = v->u.b;
        break;
    case STORE_KIND_REF:
        out.u.ref = (store_obj *)v->u.ref;
        break;
    case STORE_KIND_INT:
        out.u.i = v->u.i;
        break;
    default:
        break;
    }
    return out;
}

int rs_qrun_group_count(const rs_qrun *r, const char *path, store_groups *out)
{
    const store_query *q = r->q;
    rs_path p;
    int rc = rs_query_path(q->db, q->model, path, &p);
    if (rc)
        return rc;
    store_obj **all = NULL;
    size_t n = 0;
    if ((rc = collect(r, q->offset, q->limit, &all, &n)))
        return rc;
    rs_qval *keys = malloc((n ? n : 1) * sizeof *keys);
    store_group *g = keys ? malloc((n ? n : 1) * sizeof *g) : NULL;
    if (!g) {
        free(keys);
        free(all);
        return rs_error_set(q->db, STORE_ENOMEM, "%s: out of memory grouping", q->model->name);
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = rs_query_read(&p, all[i]);
    free(all);
    /* A foreign key's groups go by the parent's id, not its address. */
    if (p.final == RS_FINAL_FIELD && p.fld->type == STORE_FK)
        for (size_t i = 0; i < n; i++)
            if (keys[i].kind == STORE_KIND_REF)
                keys[i] = (rs_qval){.kind = STORE_KIND_INT, .u.i = (int64_t)keys[i].u.ref->id};
    qsort(keys, n, sizeof *keys, cmp_key);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (ng && !rs_query_cmp(&keys[i], &keys[i - 1])) {
            g[ng - 1].count++;
            continue;
        }
        g[ng++] = (store_group){.key = value_of(&keys[i]), .count = 1};
    }
    if (p.final == RS_FINAL_FIELD && p.fld->type == STORE_FK)
        for (size_t k = 0; k < ng; k++)
            if (g[k].key.kind == STORE_KIND_INT)
                g[k].key = (store_value){.kind = STORE_KIND_REF,
                                         .u.ref = rs_obj_get(p.fld->target,
                                                             (uint64_t)g[k].key.u.i)};
    free(keys);
    if (!ng) {
        free(g);
        g = NULL;
    }
    *out = (store_groups){g, ng};
    return STORE_OK;
}

/* ---- Stepping ------------------------------------------------------------------------------ */

int rs_qrun_scan(const rs_qrun *r, uint64_t *pos, store_obj **out)
{
    const store_model *m = r->q->model;
    uint64_t at = *pos;
    store_obj *o;
    while ((o = rs_arena_scan(&m->arena, &at)) && !rs_query_matches(r, o, RS_QUERY_ALL))
        ;
    *out = o;
    if (o)
        *pos = at;
    return STORE_OK;
}
