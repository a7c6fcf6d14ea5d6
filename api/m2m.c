/*
 * api/m2m.c - the public calls of one-to-one and many-to-many relations: check the
 * arguments, take the lock once, call store/m2m.c.
 */
#include <inttypes.h>
#include <store.h>

#include "api/internal.h"
#include "store/error.h"
#include "store/m2m.h"
#include "store/object.h"
#include "store/schema.h"

store_obj *store_reverse_one(const store_obj *parent, const char *related_name)
{
    store_model *m = parent ? rs_obj_model(parent) : NULL;
    if (!m || !related_name) {
        rs_error_set(m ? m->db : NULL, STORE_EINVAL, "store_reverse_one: %s",
                     !parent ? "the object is NULL"
                     : !m    ? "the object is deleted"
                             : "the related name is NULL");
        return NULL;
    }
    const store_fld *rel = rs_schema_relation_find(m, related_name);
    if (!rel || !rel->unique) {
        rs_error_set(m->db, STORE_EINVAL, "%s: %s \"%s\"", m->name,
                     rel ? "not a one-to-one relation (its foreign key is not .unique):"
                         : "no reverse relation",
                     related_name);
        return NULL;
    }
    rs_lock_read(&m->db->lock);
    bool live = rs_obj_live(parent);
    store_obj *child = live ? rs_rel_first(parent, rel) : NULL;
    rs_lock_unlock(&m->db->lock);
    if (!live)
        rs_error_set(m->db, STORE_EINVAL, "store_reverse_one: the object is deleted");
    return child;
}

/* The side NAME of OBJ's model, once OBJ passed rs_store_check_obj(); sets the detail if
 * there is none. */
static const rs_m2m *side_of(store *db, const store_obj *obj, const char *name,
                             const char *call)
{
    store_model *m = rs_obj_model(obj);
    if (!name) {
        rs_error_set(db, STORE_EINVAL, "%s: the name is NULL", call);
        return NULL;
    }
    const rs_m2m *r = rs_schema_m2m_find(m, name);
    if (!r)
        rs_error_set(db, STORE_EINVAL, "%s: %s has no many-to-many relation \"%s\"", call,
                     m->name, name);
    return r;
}

/* The checks every changing call makes before it takes the lock: DB writable and not read
 * by this thread, OBJ (and OTHER, unless NULL is passed for it) of DB, NAME a side of OBJ's
 * model (in *R) whose far model OTHER is of. */
static int check_change(store *db, const store_obj *obj, const char *name,
                        const store_obj *other, bool with_other, const rs_m2m **r,
                        const char *call)
{
    int rc = rs_store_check_obj(db, obj, call);
    if (!rc && with_other)
        rc = rs_store_check_obj(db, other, call);
    if (!rc)
        rc = rs_store_check_writable(db);
    if (!rc)
        rc = rs_store_check_not_reading(db, call);
    if (rc)
        return rc;
    if (!(*r = side_of(db, obj, name, call)))
        return STORE_EINVAL;
    if (with_other && rs_obj_model(other) != (*r)->other)
        return rs_error_set(db, STORE_EINVAL, "%s: %s.%s links %s objects, not %s", call,
                            (*r)->model->name, name, (*r)->other->name,
                            rs_obj_model(other)->name);
    return STORE_OK;
}

int store_m2m_add(store *db, store_obj *obj, const char *name, store_obj *other,
                  const store_value *payload, store_obj **link)
{
    const rs_m2m *r;
    int rc = check_change(db, obj, name, other, true, &r, "store_m2m_add");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_m2m_add");
    if (!rc)
        rc = rs_store_check_live(db, other, "store_m2m_add");
    if (!rc)
        rc = rs_m2m_add(db, r, obj, other, payload, link);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

int store_m2m_remove(store *db, store_obj *obj, const char *name, store_obj *other)
{
    const rs_m2m *r;
    int rc = check_change(db, obj, name, other, true, &r, "store_m2m_remove");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_m2m_remove");
    if (!rc)
        rc = rs_store_check_live(db, other, "store_m2m_remove");
    if (!rc)
        rc = rs_m2m_remove(db, r, obj, other);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

int store_m2m_clear(store *db, store_obj *obj, const char *name)
{
    const rs_m2m *r;
    int rc = check_change(db, obj, name, NULL, false, &r, "store_m2m_clear");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_m2m_clear");
    if (!rc)
        rc = rs_m2m_clear(db, r, obj);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

int store_m2m_move(store *db, store_obj *obj, const char *name, size_t from, size_t to)
{
    const rs_m2m *r;
    int rc = check_change(db, obj, name, NULL, false, &r, "store_m2m_move");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_m2m_move");
    if (!rc)
        rc = rs_m2m_move(db, r, obj, from, to);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

store_iter store_m2m(const store_obj *obj, const char *name)
{
    store_iter empty = {.priv_next = NULL};
    store_model *m = obj ? rs_obj_model(obj) : NULL;
    if (!m) {
        rs_error_set(NULL, STORE_EINVAL, "store_m2m: the object is %s",
                     obj ? "deleted" : "NULL");
        return empty;
    }
    const rs_m2m *r = side_of(m->db, obj, name, "store_m2m");
    if (!r)
        return empty;
    rs_lock_read(&m->db->lock);
    store_iter it = rs_m2m_walk(obj, r);
    rs_lock_unlock(&m->db->lock);
    rs_store_prefetch_run(it.priv_next, it.priv_count, r->through->arena.slot_size);
    return it;
}
