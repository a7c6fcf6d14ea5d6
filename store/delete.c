/*
 * store/delete.c - deleting an object and applying on_delete rules, all or nothing.
 *
 * A delete runs in three phases:
 *   1. gather: the set D of objects to delete, the object given and, through CASCADE
 *      relations, every child of a member of D, by an explicit worklist with a visited set
 *      (never by recursion: a chain of millions cannot overflow a stack, a cycle ends);
 *   2. check: no member of D has a RESTRICT child outside D, so no object can be left
 *      pointing at a deleted one (reads only);
 *   3. apply: SET_NULL children outside D lose their foreign key; every member of D leaves
 *      its parents' relations and every index, then all of D's slots are emptied (in a second
 *      pass, so that no slot is emptied while another member still points at it): id and
 *      fields zero, so a pointer kept to a deleted object reads id 0 and null fields (its
 *      address is never given to another object: store/arena.c). Marking
 *      the changes for the next snapshot needs no room: the marks sit beside the slots.
 * Only phase 1 allocates; phase 3 cannot fail.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/uniq.h"
#include "store/vindex.h"

typedef struct doomed {
    rs_hash set;     /* object address -> object */
    store_obj **all; /* the members, in the order found */
    size_t n, cap;
} doomed;

static bool is_doomed(const doomed *d, const store_obj *o)
{
    return rs_hash_get(&d->set, (uint64_t)(uintptr_t)o) != NULL;
}

static int doom(doomed *d, store_obj *o)
{
    if (is_doomed(d, o))
        return STORE_OK;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        store_obj **all = realloc(d->all, cap * sizeof *all);
        if (!all)
            return STORE_ENOMEM;
        d->all = all;
        d->cap = cap;
    }
    if (rs_hash_put(&d->set, (uint64_t)(uintptr_t)o, o))
        return STORE_ENOMEM;
    d->all[d->n++] = o;
    return STORE_OK;
}

static store_obj *first_child(const store_fld *rel, const store_obj *parent)
{
    return rs_rel_first(parent, rel);
}

static store_obj *next_child(const store_fld *rel, const store_obj *child)
{
    return rs_fk_next(child, rel);
}

/* Phase 1: D becomes the N objects OBJS and everything CASCADE reaches from them. d->all
 * doubles as the worklist. */
static int gather(doomed *d, store_obj *const *objs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (doom(d, objs[k]))
            return STORE_ENOMEM;
    for (size_t i = 0; i < d->n; i++) {
        store_model *m = d->all[i]->model;
        for (uint32_t r = 0; r < m->nrels; r++) {
            const store_fld *rel = m->rels[r];
            if (rel->on_delete != STORE_CASCADE)
                continue;
            for (store_obj *c = first_child(rel, d->all[i]); c; c = next_child(rel, c))
                if (doom(d, c))
                    return STORE_ENOMEM;
        }
    }
    return STORE_OK;
}

/* Phase 2: no RESTRICT relation of a member of D holds a child outside D. */
static int check_restrict(store *db, const doomed *d)
{
    for (size_t i = 0; i < d->n; i++) {
        store_obj *p = d->all[i];
        store_model *m = p->model;
        for (uint32_t r = 0; r < m->nrels; r++) {
            const store_fld *rel = m->rels[r];
            if (rel->on_delete != STORE_RESTRICT)
                continue;
            for (store_obj *c = first_child(rel, p); c; c = next_child(rel, c))
                if (!is_doomed(d, c))
                    return rs_error_set(db, STORE_ECONSTRAINT,
                                        "%s %" PRIu64 ": %s %" PRIu64 " points at it through "
                                        "%s.%s (RESTRICT)",
                                        m->name, p->id, rel->model->name, c->id,
                                        rel->model->name, rel->name);
        }
    }
    return STORE_OK;
}

/* Phase 3, for the SET_NULL children of P that survive. */
static void set_null_children(const doomed *d, store_obj *p)
{
    store_model *m = p->model;
    for (uint32_t r = 0; r < m->nrels; r++) {
        store_fld *rel = m->rels[r];
        if (rel->on_delete != STORE_SET_NULL)
            continue;
        store_obj *c = first_child(rel, p);
        while (c) {
            store_obj *next = next_child(rel, c);
            if (!is_doomed(d, c)) {
                if (rel->ordered)
                    rs_oindex_remove(rel, c);
                if (rel->unique || rel->indexed)
                    rs_vindex_remove(rel, c);
                for (uint32_t k = 0; k < c->model->nuniq; k++)
                    if (rs_uniq_has(&c->model->uniq[k], rel)) /* a null is not filed */
                        rs_uniq_remove(&c->model->uniq[k], c);
                rs_obj_link_remove(rel, p, c);
                rs_fk_parent_set(c, rel, NULL);
                if (rel->ordered)
                    rs_oindex_add(rel, c, c->id); /* reserved: cannot fail */
                rs_obj_mark_dirty(c);
            }
            c = next;
        }
    }
}

/* Phase 3, for one member: out of its parents' relations and out of every index. */
static void detach(store_obj *o)
{
    store_model *m = o->model;
    for (uint32_t k = 0; k < m->nuniq; k++)
        rs_uniq_remove(&m->uniq[k], o);
    for (uint32_t j = 0; j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        if (f->ordered) /* nulls too: every object has an entry */
            rs_oindex_remove(f, o);
        if (rs_field_null(f, o))
            continue;
        if (f->unique || f->indexed)
            rs_vindex_remove(f, o);
        if (f->type == STORE_FK)
            rs_obj_link_remove(f, rs_fk_parent(o, f), o);
    }
}

/* Phase 2, for the ordered indexes: room for the SET_NULL children's new entries, and inside
 * a transaction for the node bytes phase 3 may keep: CHANGES counts, per field of the store
 * (model by model), the entries that will go out or come in. */
static int reserve_ordered(store *db, const doomed *d)
{
    size_t nf = 0;
    for (uint32_t i = 0; i < db->nmodels; i++)
        nf += db->models[i].nfields;
    size_t *changes = calloc(nf ? nf : 1, sizeof *changes), *at = changes;
    if (!changes)
        return rs_error_set(db, STORE_ENOMEM, "out of memory planning a delete");
    size_t **first = malloc((db->nmodels ? db->nmodels : 1) * sizeof *first);
    if (!first) {
        free(changes);
        return rs_error_set(db, STORE_ENOMEM, "out of memory planning a delete");
    }
    for (uint32_t i = 0; i < db->nmodels; i++) {
        first[i] = at;
        at += db->models[i].nfields;
    }
    for (size_t i = 0; i < d->n; i++) {
        store_obj *p = d->all[i];
        store_model *m = p->model;
        for (uint32_t j = 0; j < m->nfields; j++)
            first[m - db->models][j] += m->fields[j].ordered;
        for (uint32_t r = 0; r < m->nrels; r++) {
            store_fld *rel = m->rels[r];
            if (rel->on_delete == STORE_SET_NULL && rel->ordered) /* out, and in as a null */
                first[rel->model - db->models][rel - rel->model->fields] +=
                    2 * rs_rel_count(p, rel);
        }
    }
    /* The SET_NULL children's new entries, all of a field's at once: reserves for one field
     * do not add up. A doomed child is counted too (an overestimate). */
    int rc = STORE_OK;
    for (uint32_t i = 0; i < db->nmodels && !rc; i++) {
        store_model *m = &db->models[i];
        for (uint32_t j = 0; j < m->nfields && !rc; j++) {
            store_fld *f = &m->fields[j];
            if (f->ordered && f->type == STORE_FK && f->on_delete == STORE_SET_NULL)
                rc = rs_oindex_reserve(f, first[i][j] / 2);
        }
    }
    size_t bytes = 0;
    for (uint32_t i = 0; i < db->nmodels; i++)
        for (uint32_t j = 0; j < db->models[i].nfields; j++)
            if (first[i][j])
                bytes += rs_oindex_txn_bytes(&db->models[i].fields[j], first[i][j]);
    if (!rc)
        rc = rs_txn_reserve_bytes(db, bytes);
    free(first);
    free(changes);
    return rc;
}

/* Inside a transaction, room in the undo log for everything phase 3 may log. */
static int reserve_undo(store *db, const doomed *d)
{
    if (!rs_txn_logging(db))
        return STORE_OK;
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        store_obj *p = d->all[i];
        n += rs_txn_bound_delete(p);
        for (uint32_t r = 0; r < p->model->nrels; r++) {
            const store_fld *rel = p->model->rels[r];
            if (rel->on_delete == STORE_SET_NULL)
                n += (RS_TXN_BOUND_SET_NULL + rel->model->nuniq +
                      (rel->ordered ? 2 * rs_oindex_txn_entries(rel) : 0)) *
                     rs_rel_count(p, rel);
        }
    }
    return rs_txn_reserve(db, n);
}

int rs_delete_obj(store *db, store_obj *o)
{
    return rs_delete_objs(db, &o, 1);
}

int rs_delete_objs(store *db, store_obj *const *objs, size_t n)
{
    assert(rs_lock_held_write(&db->lock));
    doomed d = {.n = 0};
    rs_hash_init(&d.set);
    for (size_t k = 0; k < n; k++)
        assert(rs_obj_live(objs[k])); /* api/ checks it under the lock */
    int rc = gather(&d, objs, n);
    if (rc)
        rc = rs_error_set(db, rc, "%s %" PRIu64 "%s: out of memory gathering the cascade",
                          objs[0]->model->name, objs[0]->id, n > 1 ? " and others" : "");
    else
        rc = check_restrict(db, &d);
    if (!rc)
        rc = reserve_ordered(db, &d);
    if (!rc)
        rc = reserve_undo(db, &d);
    if (rc)
        goto free_doomed;
    for (size_t i = 0; i < d.n; i++)
        set_null_children(&d, d.all[i]);
    for (size_t i = 0; i < d.n; i++)
        detach(d.all[i]);
    for (size_t i = 0; i < d.n; i++) {
        store_obj *x = d.all[i];
        store_model *xm = x->model;
        uint64_t id = x->id;
        rs_obj_mark_tomb(x);
        rs_obj_bury(x); /* frees its strings (in a transaction, at its commit) */
        xm->count--;
        if (rs_txn_logging(db)) { /* its chunk keeps its pages: a rollback may revive it */
            rs_arena_live_add(&xm->arena, id >> RS_CHUNK_SHIFT, -1);
            rs_txn_log(db, (rs_undo){.kind = RS_UNDO_LIVE, .p = &xm->arena,
                                     .a = id >> RS_CHUNK_SHIFT});
            db->nlost++;
        } else {
            rs_arena_drop(&xm->arena, id, xm->next_id);
        }
    }
    for (uint32_t i = 0; !rs_txn_logging(db) && i < db->nmodels; i++)
        rs_oindex_trim(&db->models[i]);
free_doomed:
    rs_hash_free(&d.set);
    free(d.all);
    return rc;
}

void rs_delete_fresh(store *db, store_obj *o)
{
    assert(!rs_txn_logging(db));
    store_model *m = o->model;
    uint64_t id = o->id;
    detach(o); /* it is the last child of each parent and the last of each group */
    if (db->track) /* created since the last snapshot: the only mark it has */
        rs_arena_mark_set(&m->arena, id, RS_MARK_DIRTY, false);
    rs_obj_bury(o);
    m->count--;
    rs_arena_live_add(&m->arena, id >> RS_CHUNK_SHIFT, -1);
}
