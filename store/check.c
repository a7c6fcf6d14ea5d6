/*
 * store/check.c - store_check(): every invariant of the in-memory store, verified.
 *
 * What it proves: each living slot holds an object of its model with the slot's id, below
 * the model's next id, and the live count agrees; each value index entry is a live object
 * whose value files under that key, every non-null indexed value is filed once, and unique
 * values do not repeat; each reverse relation is a consistent doubly linked list whose
 * members all point back at the parent, whose count and tail are right, and which together
 * hold every child with a non-null foreign key, in join order; no many-to-many pair is linked
 * twice; the tables of fields unique together file every object once; each ordered index is
 * a sound tree filing every object once under its value, in order. It reads only,
 * allocates nothing, and stops at the first problem, which it names.
 */
#include <assert.h>
#include <inttypes.h>

#include "store/check.h"
#include "store/error.h"
#include "store/m2m.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/uniq.h"
#include "store/vindex.h"

#define FAIL(db, ...) rs_error_set(db, STORE_ECORRUPT, __VA_ARGS__)

static int check_ids(store *db, const store_model *m)
{
    uint64_t pos = 0;
    size_t n = 0;
    for (const store_obj *o; (o = rs_arena_scan(&m->arena, &pos)); n++) {
        if (o->id != pos - 1 || o->model != m)
            return FAIL(db, "%s: the slot of id %" PRIu64 " holds another object", m->name,
                        pos - 1);
        if (o->id == 0 || o->id >= m->next_id)
            return FAIL(db, "%s %" PRIu64 ": id not below the next id %" PRIu64, m->name, o->id,
                        m->next_id);
    }
    if (n != m->count)
        return FAIL(db, "%s: %zu objects indexed, count says %zu", m->name, n, m->count);
    return STORE_OK;
}

/* Walks PARENT's relation REL; adds its length to *TOTAL. */
static int check_list(store *db, const store_fld *rel, const store_obj *parent, size_t *total)
{
    const store_model *cm = rel->model;
    const store_obj *prev = NULL, *c = rs_rel_first(parent, rel);
    size_t n = 0, count = rs_rel_count(parent, rel);
    for (; c; prev = c, c = rs_fk_next(c, rel), n++) {
        if (n >= cm->count || c->model != cm || !rs_obj_live(c))
            return FAIL(db, "%s %" PRIu64 ".%s: the list reaches a dead or foreign object",
                        parent->model->name, parent->id, rel->related_name);
        if (rs_fk_parent(c, rel) != parent || rs_fk_prev(c, rel) != prev)
            return FAIL(db, "%s %" PRIu64 ".%s: %s %" PRIu64 " is linked but points elsewhere",
                        parent->model->name, parent->id, rel->related_name, cm->name, c->id);
        /* A reload orders the list by join sequence (persist/load.c). */
        if (prev && rs_fk_seq(c, rel) <= rs_fk_seq(prev, rel))
            return FAIL(db, "%s %" PRIu64 ".%s: %s %" PRIu64 " joined before the child ahead "
                        "of it", parent->model->name, parent->id, rel->related_name, cm->name,
                        c->id);
    }
    if (n != count || rs_rel_last(parent, rel) != prev)
        return FAIL(db, "%s %" PRIu64 ".%s: %zu children linked, count %zu or tail wrong",
                    parent->model->name, parent->id, rel->related_name, n, count);
    *total += n;
    return STORE_OK;
}

static int check_relation(store *db, const store_fld *rel)
{
    const store_model *cm = rel->model, *pm = rel->target;
    size_t linked = 0, pointing = 0;
    uint64_t pos = 0;
    for (const store_obj *o; (o = rs_arena_scan(&pm->arena, &pos));) {
        int rc = check_list(db, rel, o, &linked);
        if (rc)
            return rc;
    }
    pos = 0;
    for (const store_obj *c; (c = rs_arena_scan(&cm->arena, &pos));) {
        const store_obj *p = rs_fk_parent(c, rel);
        if (!p)
            continue;
        pointing++;
        if (p->model != pm || !rs_obj_live(p))
            return FAIL(db, "%s %" PRIu64 ".%s: points at a dead or foreign object", cm->name,
                        c->id, rel->name);
    }
    if (linked != pointing)
        return FAIL(db, "%s.%s: %zu children linked, %zu point at a parent", cm->name, rel->name,
                    linked, pointing);
    return STORE_OK;
}

/* No pair of many-to-many R is linked twice by the links of its through model. */
static int check_pairs(store *db, const rs_m2m *r)
{
    const store_model *t = r->through;
    uint64_t pos = 0;
    for (const store_obj *l; (l = rs_arena_scan(&t->arena, &pos));) {
        const store_obj *near = rs_fk_parent(l, r->near), *far = rs_fk_parent(l, r->far);
        if (!near || !far)
            return FAIL(db, "%s %" PRIu64 ": a link of %s.%s without both ends", t->name, l->id,
                        r->model->name, r->name);
        const store_obj *twin = rs_m2m_link_find(r, near, far, l);
        if (twin)
            return FAIL(db, "%s %" PRIu64 " and %" PRIu64 ": one pair linked twice", t->name,
                        l->id, twin->id);
    }
    return STORE_OK;
}

int rs_check_store(store *db)
{
    assert(rs_lock_held(&db->lock));
    for (uint32_t i = 0; i < db->nmodels; i++) {
        const store_model *m = &db->models[i];
        int rc = check_ids(db, m);
        for (uint32_t j = 0; !rc && j < m->nfields; j++) {
            const store_fld *f = &m->fields[j];
            if (f->unique || f->indexed)
                rc = rs_vindex_check(db, f);
            if (!rc && f->type == STORE_FK)
                rc = check_relation(db, f);
            if (!rc && f->ordered)
                rc = rs_oindex_check(db, f);
        }
        if (!rc && m->pair)
            rc = check_pairs(db, m->pair);
        for (uint32_t k = 0; !rc && k < m->nuniq; k++)
            rc = rs_uniq_check(db, &m->uniq[k]);
        if (rc)
            return rc;
    }
    return STORE_OK;
}
