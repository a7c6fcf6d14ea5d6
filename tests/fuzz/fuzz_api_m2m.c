/*
 * tests/fuzz/fuzz_api_m2m.c - R8: the many-to-many ops of fuzz_api.c's programs, and their
 * part of the reference.
 *
 * Two relations: Book.tags to Author (related_name "tagged"), through the model Book_tags
 * that the store declares (foreign keys "book" and "author", CASCADE, related_name
 * "book_tags"), and Loan.readers to Author ("read"), through the schema's Reading (loan
 * RESTRICT, reader CASCADE, both "readings", and a payload, pages, unique together with
 * loan). The reference reads store.h's contract and nothing of the library's code: a link is
 * an object of its through model like any other, so creates, updates, deletes (the cascade of
 * either side, the RESTRICT of Reading.loan), queries and transactions (whose copies of the
 * state hold the links) keep them with the rest. The order of a side's list is the order of
 * its foreign key's relation, kept by the join sequence numbers: a new link joins the end of
 * both lists, store_m2m_move() renumbers the one side's links in their new order.
 *
 * The ops: store_m2m_add() (a new link, with a payload or none, some payloads refused; an
 * already linked pair returns STORE_OK and the existing link, changing nothing),
 * store_m2m_remove() (STORE_ENOTFOUND for an unlinked pair), store_m2m_clear(),
 * store_m2m_move() (positions past the list's end are STORE_EINVAL), a walk of one object,
 * and misuses: a NULL or deleted object, an object of another model, a name that is no
 * many-to-many relation of the object's model, a value given to the STORE_M2M field. Inside a
 * read-only transaction a change must fail with STORE_EINVAL. After each op the whole stores
 * are compared; check_m2m() walks every list of every live object from both sides.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"

const mdef m2ms[NM2M] = {
    {.side = {BOOK, AUTHOR}, .name = {"tags", "tagged"}, .through = BOOK_TAGS, .fk = {0, 1}},
    {.side = {LOAN, AUTHOR}, .name = {"readers", "read"}, .through = READING, .fk = {0, 1}},
};

/* The sets of fields no two objects share: each through model's pair of foreign keys, and
 * the schema's unique_together of Reading. */
typedef struct udef {
    int m, f[2];
} udef;
static const udef uniques[] = {{BOOK_TAGS, {0, 1}}, {READING, {0, 1}}, {READING, {0, 2}}};
enum { NUNIQUES = sizeof uniques / sizeof uniques[0] };

/* ---- Fields unique together --------------------------------------------------------------- */

/* Whether A and B are the same value, neither null (an INT or a parent's id). */
static bool same(const rval *a, const rval *b)
{
    return a->kind != STORE_KIND_NULL && a->kind == b->kind && a->i == b->i;
}

/* Whether A and B share the values of set U. */
static bool clash_in(const udef *u, const rval *a, const rval *b)
{
    return same(&a[u->f[0]], &b[u->f[0]]) && same(&a[u->f[1]], &b[u->f[1]]);
}

bool rows_clash(int m, const rval *a, const rval *b)
{
    for (int k = 0; k < NUNIQUES; k++)
        if (uniques[k].m == m && clash_in(&uniques[k], a, b))
            return true;
    return false;
}

bool row_clashes(int m, const rval *row, uint64_t except)
{
    for (uint64_t id = 1; id < next_id[m]; id++) {
        const ref *r = live_ref(m, id);
        if (r && id != except && rows_clash(m, row, r->v))
            return true;
    }
    return false;
}

bool update_clashes(int m, const uint64_t *ids, size_t n, const int *fs, const rval *rv,
                    int nv)
{
    static ref copy[MAX_IDS];
    bool unique = false;
    for (int k = 0; k < NUNIQUES; k++)
        unique |= uniques[k].m == m;
    if (!unique || !n)
        return false;
    memcpy(copy, refs[m], sizeof copy); /* made on the reference, then put back */
    uint64_t seq = join_seq;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nv; k++)
            ref_set(&refs[m][ids[i]], m, fs[k], &rv[k]);
    bool clash = false;
    for (uint64_t id = 1; !clash && id < next_id[m]; id++)
        clash = live_ref(m, id) && row_clashes(m, refs[m][id].v, id);
    memcpy(refs[m], copy, sizeof copy);
    join_seq = seq;
    return clash;
}

/* ---- The lists ---------------------------------------------------------------------------- */

/* The link of A (side S of relation K) and B (the other side), or 0. */
static uint64_t link_of(const mdef *d, int s, uint64_t a, uint64_t b)
{
    for (uint64_t id = 1; id < next_id[d->through]; id++) {
        const ref *r = live_ref(d->through, id);
        if (r && r->v[d->fk[s]].i == (int64_t)a && r->v[d->fk[!s]].i == (int64_t)b)
            return id;
    }
    return 0;
}

static int sort_fk; /* the foreign key by whose join order by_seq() sorts links */
static int sort_model;

static int by_seq(const void *a, const void *b)
{
    uint64_t x = refs[sort_model][*(const uint64_t *)a].seq[sort_fk],
             y = refs[sort_model][*(const uint64_t *)b].seq[sort_fk];
    return x < y ? -1 : x > y;
}

/* The links of object ID of side S of relation D, in its list's order, into L; how many. */
static size_t list_of(const mdef *d, int s, uint64_t id, uint64_t *l)
{
    size_t n = 0;
    for (uint64_t k = 1; k < next_id[d->through]; k++) {
        const ref *r = live_ref(d->through, k);
        if (r && r->v[d->fk[s]].kind == STORE_KIND_REF && r->v[d->fk[s]].i == (int64_t)id)
            l[n++] = k;
    }
    sort_model = d->through;
    sort_fk = d->fk[s];
    qsort(l, n, sizeof *l, by_seq);
    return n;
}

/* Walks O in NAME with store_m2m(): the far objects of the links L[0 .. N) of relation D
 * seen from side S, in that order; also the links themselves through the through model's
 * relation, when O is live and NAME its relation's. */
static void check_walk(const mdef *d, int s, const store_obj *o, const char *name,
                       const uint64_t *l, size_t n)
{
    int t = d->through, far = d->side[!s];
    store_iter it = store_m2m(o, name);
    CHECK(store_count(&it) == n);
    for (size_t k = 0; k < n; k++) {
        const ref *lr = &refs[t][l[k]];
        CHECK(store_next(&it) == refs[far][lr->v[d->fk[!s]].i].obj);
    }
    CHECK(!store_next(&it) && store_count(&it) == n);
    if (!n)
        return;
    it = store_reverse(o, fdefs[t][d->fk[s]].rel);
    CHECK(store_count(&it) == n);
    for (size_t k = 0; k < n; k++)
        CHECK(store_next(&it) == refs[t][l[k]].obj);
    CHECK(!store_next(&it));
}

void check_m2m(void)
{
    static uint16_t head[MAX_IDS], next[MAX_IDS];
    static uint64_t all[MAX_IDS], l[MAX_IDS];
    for (int k = 0; k < NM2M; k++)
        for (int s = 0; s < 2; s++) {
            const mdef *d = &m2ms[k];
            int t = d->through, f = d->fk[s], sm = d->side[s];
            size_t n = 0;
            for (uint64_t id = 1; id < next_id[t]; id++)
                if (live_ref(t, id)) {
                    CHECK(refs[t][id].v[f].kind == STORE_KIND_REF &&
                          live_ref(sm, (uint64_t)refs[t][id].v[f].i));
                    all[n++] = id;
                }
            sort_model = t;
            sort_fk = f;
            qsort(all, n, sizeof *all, by_seq);
            memset(head, 0, sizeof head);
            for (size_t i = n; i-- > 0;) { /* each side object's links, in order */
                uint64_t p = (uint64_t)refs[t][all[i]].v[f].i;
                next[all[i]] = head[p];
                head[p] = (uint16_t)all[i];
            }
            for (uint64_t id = 1; id < next_id[sm]; id++) {
                if (!live_ref(sm, id))
                    continue;
                size_t c = 0;
                for (uint16_t x = head[id]; x; x = next[x])
                    l[c++] = x;
                check_walk(d, s, refs[sm][id].obj, d->name[s], l, c);
            }
        }
}

/* Aborts unless store_m2m_at() lists side S of D once on its model, as the schema says. */
static void check_side(const mdef *d, int s)
{
    const char *name;
    store_model *other, *through;
    bool declared, found = false;
    for (size_t i = 0; store_m2m_at(models[d->side[s]], i, &name, &other, &through, &declared);
         i++)
        if (name && !strcmp(name, d->name[s])) {
            CHECK(!found && other == models[d->side[!s]] && through == models[d->through] &&
                  declared == (s == 0));
            found = true;
        }
    CHECK(found);
}

void m2m_check_schema(void)
{
    static const int m2m_count[NMODELS] = {[AUTHOR] = 2, [BOOK] = 1, [LOAN] = 1};
    for (int m = 0; m < NMODELS; m++) {
        CHECK(models[m] && !strcmp(store_model_name(models[m]), model_names[m]));
        size_t n = 0;
        while (store_m2m_at(models[m], n, NULL, NULL, NULL, NULL))
            n++;
        CHECK(n == (size_t)m2m_count[m]);
    }
    for (int k = 0; k < NM2M; k++)
        for (int s = 0; s < 2; s++)
            check_side(&m2ms[k], s);
    /* the through model the store declares: two foreign keys named after the two models */
    for (int f = 0; f < 2; f++) {
        const store_fld *fld = store_field_at(models[BOOK_TAGS], (size_t)f);
        const fdef *fd = &fdefs[BOOK_TAGS][f];
        CHECK(fld && !strcmp(store_field_name(fld), fd->name) &&
              store_field_type(fld) == STORE_FK && store_field_target(fld) == models[fd->to] &&
              !strcmp(store_field_related_name(fld), "book_tags") &&
              store_field_on_delete(fld) == STORE_CASCADE && !store_field_unique(fld));
    }
    CHECK(!store_field_at(models[BOOK_TAGS], 2));
}

/* ---- The ops ------------------------------------------------------------------------------ */

/* An object for the far model OM: mostly one of its ids (live, dead or never made: *OK says
 * whether it is live, *ID which), now and then one of another model (*OK false). */
static store_obj *pick_other(prog *g, int om, uint64_t *id, bool *ok)
{
    unsigned b = byte(g);
    if (b % 16 == 0) {
        int wm = (om + 1 + (int)(b / 16 % (NMODELS - 1))) % NMODELS;
        *id = 0;
        *ok = false;
        return obj_of(wm, pick_id(g, wm));
    }
    *id = pick_id(g, om);
    *ok = live_ref(om, *id) != NULL;
    return obj_of(om, *id);
}

/* The payload of an add to through model T, into V (room for 3): NULL, an empty one, pages
 * (of Reading; unknown to Book_tags), or one the create of a link refuses. *PAGES: the pages
 * of the link made; *BAD: the create refuses it; *FK: it names a foreign key of T. */
static const store_value *pick_payload(prog *g, int t, store_obj *any, store_value *v,
                                       rval *pages, bool *bad, bool *fk)
{
    unsigned b = byte(g) % 10;
    *pages = (rval){.kind = STORE_KIND_NULL};
    *bad = *fk = false;
    v[1] = v[2] = (store_value){0};
    switch (b) {
    case 0:
    case 1:
        return NULL;
    case 2:
        v[0] = (store_value){0};
        return v;
    case 3:
    case 4:
    case 5:
        *pages = (rval){.kind = STORE_KIND_INT, .i = pick_int(g)};
        v[0] = (store_value)STORE_V_INT("pages", pages->i);
        *bad = t != READING;
        return v;
    case 6:
        v[0] = (store_value)STORE_V_NULL("pages");
        *bad = t != READING;
        return v;
    case 7: /* a value of the wrong kind, a field given twice */
        v[0] = (store_value)STORE_V_STR("pages", "x");
        if (byte(g) & 1) {
            v[0] = (store_value)STORE_V_INT("pages", 1);
            v[1] = (store_value)STORE_V_INT("pages", 2);
        }
        *bad = true;
        return v;
    case 8:
        v[0] = (store_value)STORE_V_REF(fdefs[t][byte(g) % 2].name, any);
        *fk = true;
        return v;
    default:
        v[0] = (store_value)STORE_V_INT("nope", 1);
        *bad = true;
        return v;
    }
}

/* The call and its arguments, as op_m2m() picked them. */
typedef struct m2m_call {
    const mdef *d;
    int s;       /* the side of OBJ */
    uint64_t id; /* OBJ's id on that side */
    store_obj *obj;
    const char *name;
    bool ok; /* OBJ live, NAME its relation's */
    bool ro; /* inside a read-only transaction */
} m2m_call;

static void m2m_add(prog *g, const m2m_call *c)
{
    const mdef *d = c->d;
    int t = d->through;
    uint64_t oid;
    bool ook;
    store_obj *other = pick_other(g, d->side[!c->s], &oid, &ook);
    store_value pv[3];
    rval pages;
    bool bad, fk;
    const store_value *payload = pick_payload(g, t, other, pv, &pages, &bad, &fk);
    bool args = c->ok && ook;
    uint64_t lk = args ? link_of(d, c->s, c->id, oid) : 0;
    if (args && !lk && next_id[t] >= MAX_IDS - 1)
        return;
    store_obj *link = (store_obj *)&link, **lp = byte(g) % 4 ? &link : NULL;
    int rc = store_m2m_add(db, c->obj, c->name, other, payload, lp);
    if (!args || (fk && !lk)) {
        CHECK(rc == STORE_EINVAL);
        return;
    }
    if (lk) { /* nothing changes: store.h refuses a payload naming a key, and any change
               * inside a read-only transaction, before it looks for the pair */
        CHECK(fk || c->ro ? rc == STORE_EINVAL : rc == STORE_OK);
        CHECK(rc || !lp || link == refs[t][lk].obj);
        return;
    }
    rval row[NFIELDS] = {{0}};
    row[d->fk[c->s]] = (rval){.kind = STORE_KIND_REF, .i = (int64_t)c->id};
    row[d->fk[!c->s]] = (rval){.kind = STORE_KIND_REF, .i = (int64_t)oid};
    if (t == READING)
        row[2] = pages;
    if (c->ro) {
        CHECK(rc == STORE_EINVAL);
        return;
    }
    unsigned fail = bad ? BIT(STORE_EINVAL) : 0;
    if (row_clashes(t, row, 0))
        fail |= BIT(STORE_ECONSTRAINT);
    CHECK(code_allowed(fail, rc));
    if (rc)
        return;
    if (!lp)
        CHECK(store_get(db, models[t], next_id[t], &link) == STORE_OK);
    ref_create(t, link, row);
}

/* Deletes the links D names (and what their rules reach), as the store did with code RC
 * (inside a read-only transaction, STORE_EINVAL whether or not there was anything). */
static void m2m_delete_result(const m2m_call *c, doomed *d, int rc)
{
    bool allowed = cascade(d);
    if (c->ro)
        CHECK(rc == STORE_EINVAL);
    else
        CHECK(allowed ? rc == STORE_OK : rc == STORE_ECONSTRAINT);
    if (!rc)
        apply_delete(d);
}

static void m2m_remove(prog *g, const m2m_call *c)
{
    static doomed dd;
    uint64_t oid;
    bool ook;
    store_obj *other = pick_other(g, c->d->side[!c->s], &oid, &ook);
    bool args = c->ok && ook;
    uint64_t lk = args ? link_of(c->d, c->s, c->id, oid) : 0;
    int rc = store_m2m_remove(db, c->obj, c->name, other);
    if (!args) {
        CHECK(rc == STORE_EINVAL);
    } else if (!lk) {
        CHECK(c->ro ? rc == STORE_EINVAL : rc == STORE_ENOTFOUND);
    } else {
        memset(&dd, 0, sizeof dd);
        dd.set[c->d->through][lk] = true;
        m2m_delete_result(c, &dd, rc);
    }
}

static void m2m_clear(const m2m_call *c)
{
    static doomed dd;
    static uint64_t l[MAX_IDS];
    int rc = store_m2m_clear(db, c->obj, c->name);
    if (!c->ok) {
        CHECK(rc == STORE_EINVAL);
        return;
    }
    size_t n = list_of(c->d, c->s, c->id, l);
    memset(&dd, 0, sizeof dd);
    for (size_t k = 0; k < n; k++)
        dd.set[c->d->through][l[k]] = true;
    m2m_delete_result(c, &dd, rc);
}

static void m2m_move(prog *g, const m2m_call *c)
{
    static uint64_t l[MAX_IDS];
    size_t n = c->ok ? list_of(c->d, c->s, c->id, l) : 0;
    unsigned b = byte(g);
    size_t from = byte(g) % (n + 2), to = byte(g) % (n + 2);
    if (b % 16 == 0)
        from = b & 16 ? SIZE_MAX : n;
    else if (b % 16 == 1)
        to = b & 16 ? SIZE_MAX : n;
    int rc = store_m2m_move(db, c->obj, c->name, from, to);
    if (!c->ok || from >= n || to >= n) {
        CHECK(rc == STORE_EINVAL);
        return;
    }
    if (c->ro) {
        CHECK(rc == STORE_EINVAL);
        return;
    }
    CHECK(rc == STORE_OK);
    uint64_t moved = l[from];
    if (from < to)
        memmove(&l[from], &l[from + 1], (to - from) * sizeof *l);
    else
        memmove(&l[to + 1], &l[to], (from - to) * sizeof *l);
    l[to] = moved;
    for (size_t k = 0; k < n; k++) /* this side's order only */
        refs[c->d->through][l[k]].seq[c->d->fk[c->s]] = ++join_seq;
}

/* A walk of OBJ (live, dead, never made) in NAME (its relation's or not). */
static void m2m_walk(const m2m_call *c)
{
    static uint64_t l[MAX_IDS];
    size_t n = c->ok ? list_of(c->d, c->s, c->id, l) : 0;
    check_walk(c->d, c->s, c->obj, c->name, l, n);
}

/* A value given to the STORE_M2M field (or the far side's name), which holds none. */
static void m2m_misuse(prog *g, const m2m_call *c)
{
    uint64_t oid;
    bool ook;
    store_obj *other = pick_other(g, c->d->side[!c->s], &oid, &ook);
    store_value v[2] = {STORE_V_REF(c->d->name[c->s], other), {0}};
    if (byte(g) & 1)
        v[0] = (store_value)STORE_V_INT(c->d->name[c->s], 1);
    if (c->obj)
        CHECK(store_update(db, c->obj, v) == STORE_EINVAL);
}

void op_m2m(prog *g)
{
    static const char *const bad_names[] = {NULL, "", "nope", "books", "book_tags", "readings"};
    unsigned b = byte(g);
    const mdef *d = &m2ms[b % NM2M];
    m2m_call c = {.d = d, .s = (int)(b / 2 % 2), .ro = txn_readonly()};
    c.id = pick_id(g, d->side[c.s]);
    c.obj = obj_of(d->side[c.s], c.id);
    c.name = d->name[c.s];
    c.ok = live_ref(d->side[c.s], c.id) != NULL;
    unsigned nb = byte(g);
    if (nb % 16 == 0) { /* no many-to-many relation of the model: a reverse one, the far
                           side's name, another relation's */
        unsigned k = nb / 16 % 8;
        c.name = k < 6 ? bad_names[k] : k == 6 ? d->name[!c.s] : m2ms[!(b % NM2M)].name[0];
        c.ok = false;
    } else if (nb % 16 == 1 && c.ok) { /* a NULL object */
        c.obj = NULL;
        c.ok = false;
    }
    switch (byte(g) % 10) {
    case 0:
    case 1:
    case 2:
        m2m_add(g, &c);
        break;
    case 3:
    case 4:
        m2m_remove(g, &c);
        break;
    case 5:
        m2m_clear(&c);
        break;
    case 6:
    case 7:
        m2m_move(g, &c);
        break;
    case 8:
        m2m_walk(&c);
        break;
    default:
        m2m_misuse(g, &c);
        break;
    }
    check_all();
}
