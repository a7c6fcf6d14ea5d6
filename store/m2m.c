/*
 * store/m2m.c - many-to-many relations: links are objects of the through model.
 *
 * A link is an ordinary object with a foreign key to each side, so every object of a side
 * lists its links in the reverse relation of that key: in link order, with the count in
 * its own slot (store/model.h). That buys the rest from what is already there: a link is
 * created, deleted, snapshotted, loaded in order, undone by a rollback and checked by
 * store_check() as any object; deleting a side deletes its links by the through model's
 * on_delete rules; queries reach the links by the through model's relation names.
 *
 * What is new: a pair is linked at most once, found by walking the shorter of the two
 * objects' lists (both counts are in their heads), so a book with 10 tags and a tag with
 * a million books costs 10 steps; and a link can move within one side's list, the join
 * sequence of the links from the move on being handed out again so that a reload walks
 * them in the new order.
 *
 * Every function here runs under the write lock (the finds: at least the read lock).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/m2m.h"
#include "store/object.h"
#include "store/txn.h"

store_obj *rs_m2m_link_find(const rs_m2m *r, const store_obj *o, const store_obj *other,
                            const store_obj *skip)
{
    const store_fld *walked = r->near, *tested = r->far;
    const store_obj *from = o, *want = other;
    if (rs_rel_count(other, r->far) < rs_rel_count(o, r->near)) {
        walked = r->far;
        tested = r->near;
        from = other;
        want = o;
    }
    for (store_obj *l = rs_rel_first(from, walked); l; l = rs_fk_next(l, walked))
        if (rs_fk_parent(l, tested) == want && l != skip)
            return l;
    return NULL;
}

int rs_m2m_pair_check(store *db, const store_model *t, const store_obj *near,
                      const store_obj *far, const store_obj *self)
{
    const rs_m2m *r = t->pair;
    if (!near || !far || !rs_m2m_link_find(r, near, far, self))
        return STORE_OK;
    return rs_error_set(db, STORE_ECONSTRAINT, "%s: %s %" PRIu64 " and %s %" PRIu64 " are "
                        "already linked (%s.%s)", t->name, r->model->name, near->id,
                        r->other->name, far->id, r->model->name, r->name);
}

int rs_m2m_add(store *db, const rs_m2m *r, store_obj *o, store_obj *other,
               const store_value *payload, store_obj **link)
{
    size_t n = 0;
    for (const store_value *p = payload; p && p->name; p++, n++)
        if (!strcmp(p->name, r->near->name) || !strcmp(p->name, r->far->name))
            return rs_error_set(db, STORE_EINVAL, "%s.%s: set by store_m2m_add(), not by the "
                                "payload", r->through->name, p->name);
    store_obj *l = rs_m2m_link_find(r, o, other, NULL);
    if (l) {
        if (link)
            *link = l;
        return STORE_OK;
    }
    enum { ON_STACK = 16 };
    store_value buf[ON_STACK + 3], *v = buf;
    if (n > ON_STACK && !(v = malloc((n + 3) * sizeof *v)))
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", r->through->name);
    if (n)
        memcpy(v, payload, n * sizeof *v);
    v[n] = (store_value)STORE_V_REF(r->near->name, o);
    v[n + 1] = (store_value)STORE_V_REF(r->far->name, other);
    v[n + 2] = (store_value){0};
    int rc = rs_obj_create(db, r->through, v, link);
    if (v != buf)
        free(v);
    return rc;
}

int rs_m2m_remove(store *db, const rs_m2m *r, store_obj *o, store_obj *other)
{
    store_obj *l = rs_m2m_link_find(r, o, other, NULL);
    if (!l)
        return rs_error_set(db, STORE_ENOTFOUND, "%s %" PRIu64 " and %s %" PRIu64 " are not "
                            "linked in %s", r->model->name, o->id, r->other->name, other->id,
                            r->name);
    return rs_delete_obj(db, l);
}

int rs_m2m_clear(store *db, const rs_m2m *r, store_obj *o)
{
    size_t n = rs_rel_count(o, r->near);
    if (!n)
        return STORE_OK;
    store_obj **links = malloc(n * sizeof *links);
    if (!links)
        return rs_error_set(db, STORE_ENOMEM, "%s %" PRIu64 ": out of memory", r->model->name,
                            o->id);
    size_t k = 0;
    for (store_obj *l = rs_rel_first(o, r->near); l && k < n; l = rs_fk_next(l, r->near))
        links[k++] = l;
    int rc = rs_delete_objs(db, links, k);
    free(links);
    return rc;
}

/* The link at position I (< count) of O's list in FK. */
static store_obj *link_at(const store_obj *o, const store_fld *fk, size_t i)
{
    store_obj *l = rs_rel_first(o, fk);
    while (i--)
        l = rs_fk_next(l, fk);
    return l;
}

int rs_m2m_move(store *db, const rs_m2m *r, store_obj *o, size_t from, size_t to)
{
    const store_fld *fk = r->near;
    size_t n = rs_rel_count(o, fk);
    if (from >= n || to >= n)
        return rs_error_set(db, STORE_EINVAL, "%s %" PRIu64 ".%s: position %zu of %zu links",
                            r->model->name, o->id, r->name, from >= n ? from : to, n);
    if (from == to)
        return STORE_OK;
    size_t low = from < to ? from : to;
    /* Logged at most: the links around the two places and the head (8 words), then the
     * join sequence and the marks of every link from LOW on. */
    int rc = rs_txn_reserve(db, 8 + 2 * (n - low));
    if (rc)
        return rc;
    store_obj *l = link_at(o, fk, from), *after_l = rs_fk_next(l, fk);
    rs_obj_link_remove(fk, o, l);
    store_obj *before = to < n - 1 ? link_at(o, fk, to) : NULL; /* L goes before it */
    store_obj *after = before ? rs_fk_prev(before, fk) : rs_rel_last(o, fk);
    rs_fk_next_set(l, fk, before);
    rs_fk_prev_set(l, fk, after);
    if (after)
        rs_fk_next_set(after, fk, l);
    else
        rs_rel_first_set(o, fk, l);
    if (before)
        rs_fk_prev_set(before, fk, l);
    else
        rs_rel_last_set(o, fk, l);
    rs_rel_count_set(o, fk, n);
    /* The join sequence orders a reload: the links from LOW on get new ones, in list
     * order, all above every other link's. Position LOW now holds L (moved toward the
     * front) or the link that followed it (L moved toward the end). */
    for (store_obj *x = to < from ? l : after_l; x; x = rs_fk_next(x, fk)) {
        rs_fk_seq_set(x, fk, ++db->join_seq);
        rs_obj_mark_dirty(x);
    }
    return STORE_OK;
}
