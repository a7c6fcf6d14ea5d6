/*
 * api/store.c - the public calls: check the arguments, take the lock, call the store.
 *
 * Everything a caller can get wrong is turned into STORE_EINVAL here, before any work is
 * done; below this file, assert() guards only relstore's own invariants. Each call takes
 * the store's lock at most once: the write lock for a change, the read lock for a lookup.
 * store_get(), field reads and store_next() take no lock (see store/object.h and store.h
 * for what that allows).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "api/internal.h"
#include "persist/file.h"
#include "store/check.h"
#include "store/db.h"
#include "store/error.h"
#include "store/object.h"
#include "store/schema.h"

const char *store_strerror(int rc)
{
    switch (rc) {
    case STORE_OK:
        return "success";
#define STORE_XX_STR(name, value, text)                                                         \
    case STORE_##name:                                                                          \
        return text;
        STORE_ERRNO_MAP(STORE_XX_STR)
#undef STORE_XX_STR
    }
    return "unknown error";
}

const char *store_errmsg(store *db)
{
    return rs_error_get(db);
}

/*
 * A change, snapshot or close asked by a thread that holds DB's lock to read (from a
 * store_query_visit() callback) would wait for that thread: it is refused (store/lock.h).
 */
int rs_store_check_not_reading(store *db, const char *call)
{
    if (!rs_lock_reading(&db->lock))
        return STORE_OK;
    const store_txn *t = rs_txn_mine(db);
    if (t && t->readonly && !rs_lock_pinned(&db->lock))
        return rs_error_set(db, STORE_EINVAL, "%s: called inside a read-only transaction",
                            call);
    return rs_error_set(db, STORE_EBUSY, "%s: called while this thread reads the store "
                        "(from a store_query_visit() callback)", call);
}

/* A close or a snapshot waits for no transaction: from the thread holding one (or reading
 * in a visit callback) it would wait for itself, and a close from another thread would free
 * the store under it. */
static int check_no_txn(store *db, const char *call)
{
    if (rs_lock_held(&db->lock))
        return rs_error_set(db, STORE_EBUSY, "%s: called while this thread holds a transaction "
                            "or reads the store", call);
    if (!strcmp(call, "store_close") && (__atomic_load_n(&db->txn, __ATOMIC_ACQUIRE) ||
                                         __atomic_load_n(&db->txn_readers, __ATOMIC_ACQUIRE)))
        return rs_error_set(db, STORE_EBUSY, "store_close: a transaction is open on another "
                            "thread");
    return STORE_OK;
}

/* ---- Schema ---------------------------------------------------------------------------- */

int store_schema_new(store_schema **out)
{
    if (!out)
        return rs_error_set(NULL, STORE_EINVAL, "store_schema_new: OUT is NULL");
    store_schema *s = calloc(1, sizeof *s);
    if (!s)
        return rs_error_set(NULL, STORE_ENOMEM, "out of memory");
    *out = s;
    return STORE_OK;
}

int store_schema_add(store_schema *s, const char *model, const store_field *fields)
{
    if (!s || !model || !fields)
        return rs_error_set(NULL, STORE_EINVAL, "store_schema_add: %s is NULL",
                            !s ? "the schema" : !model ? "the model name" : "the field list");
    return rs_schema_add(s, model, fields);
}

void store_schema_free(store_schema *s)
{
    if (s)
        rs_schema_free(s);
}

int store_schema_unique(store_schema *s, const char *model, const char *const *fields)
{
    if (!s || !model || !fields)
        return rs_error_set(NULL, STORE_EINVAL, "store_schema_unique: %s is NULL",
                            !s ? "the schema" : !model ? "the model" : "the field list");
    return rs_schema_unique(s, model, fields);
}

/* ---- Opening and closing ---------------------------------------------------------------- */

/* Refuses options store_open() does not know, or that contradict each other. */
static int check_options(const store_options *opts)
{
    unsigned known = STORE_OPEN_READONLY | STORE_OPEN_NOSYNC;
    if (opts->flags & ~known)
        return rs_error_set(NULL, STORE_EINVAL, "store_open: unknown flags 0x%x",
                            opts->flags & ~known);
    if ((unsigned)opts->durability > STORE_DURABLE_INTERVAL)
        return rs_error_set(NULL, STORE_EINVAL, "store_open: unknown durability %d",
                            (int)opts->durability);
    if (!(opts->flags & STORE_OPEN_READONLY))
        return STORE_OK;
    if (opts->durability != STORE_DURABLE_MANUAL)
        return rs_error_set(NULL, STORE_EINVAL, "store_open: a read-only store takes no "
                            "snapshots: its durability must be STORE_DURABLE_MANUAL");
    if (opts->flags & STORE_OPEN_NOSYNC)
        return rs_error_set(NULL, STORE_EINVAL, "store_open: STORE_OPEN_NOSYNC with "
                            "STORE_OPEN_READONLY: a read-only store writes nothing");
    return STORE_OK;
}

/* RC, after making sure the detail of a failed open of PATH names PATH. */
static int naming(int rc, const char *path)
{
    const char *msg = rs_error_get(NULL);
    if (!path || strstr(msg, path))
        return rc;
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", msg);
    return rs_error_set(NULL, rc, "%s: %s", path, detail);
}

int store_open(store **out, const store_schema *s, const char *path, const store_options *opts)
{
    bool ro = opts && (opts->flags & STORE_OPEN_READONLY);
    if (!out || (!s && !(path && ro)))
        return rs_error_set(NULL, STORE_EINVAL, "store_open: %s", !out ? "OUT is NULL"
                            : "the schema is NULL (allowed only read-only, with a path)");
    int rc = opts ? check_options(opts) : STORE_OK;
    if (rc)
        return rc;
    /* With a NULL schema, the schema is read in one transaction and the objects loaded in
     * another: a writer in another process that changed the schema in between (a model or
     * field added) makes the load refuse it; read it again, a few times. */
    for (int tries = 0;; tries++) {
        store *db;
        store_schema *from_file = NULL;
        rc = s ? STORE_OK : rs_file_read_schema(path, &from_file);
        if (rc)
            return naming(rc, path);
        rc = rs_db_open(&db, s ? s : from_file);
        store_schema_free(from_file);
        if (rc)
            return naming(rc, path);
        db->readonly = ro;
        if (!path) {
            *out = db;
            return STORE_OK;
        }
        db->track = !db->readonly;
        rc = rs_file_open(db, path, opts);
        if (!rc) {
            *out = db;
            return STORE_OK;
        }
        rs_db_close(db);
        if (s || rc != STORE_ESCHEMA || tries == 2)
            return naming(rc, path);
    }
}

int store_close(store *db)
{
    if (!db)
        return STORE_OK;
    int rc = check_no_txn(db, "store_close");
    if (rc)
        return rc;
    size_t out = __atomic_load_n(&db->async_out, __ATOMIC_ACQUIRE);
    if (out)
        return rs_error_set(db, STORE_EBUSY, "store_close: %zu async requests are still out; "
                            "run the loop until their callbacks have come", out);
    rc = db->persist ? rs_file_close(db) : STORE_OK;
    rs_db_close(db);
    return rc;
}

int store_snapshot(store *db)
{
    if (!db)
        return rs_error_set(NULL, STORE_EINVAL, "store_snapshot: the store is NULL");
    int rc = check_no_txn(db, "store_snapshot");
    if (rc)
        return rc;
    return db->persist ? rs_snapshot_write(db) : STORE_OK;
}

int store_backup(store *db, const char *path)
{
    if (!db || !path)
        return rs_error_set(db, STORE_EINVAL, "store_backup: %s is NULL",
                            !db ? "the store" : "the path");
    if (!db->persist)
        return rs_error_set(db, STORE_EINVAL, "store_backup: the store has no file");
    return rs_snapshot_backup(db, path);
}

int store_stat(store *db, store_stats *out)
{
    if (!db || !out)
        return rs_error_set(db, STORE_EINVAL, "store_stat: %s is NULL",
                            !db ? "the store" : "OUT");
    memset(out, 0, sizeof *out);
    rs_lock_read(&db->lock);
    for (uint32_t i = 0; i < db->nmodels; i++) {
        const store_model *m = &db->models[i];
        out->objects += m->count;
        out->dirty += m->arena.count[RS_MARK_DIRTY];
        out->deleted += m->arena.count[RS_MARK_TOMB];
    }
    rs_file_stat(db, out);
    rs_lock_unlock(&db->lock);
    return STORE_OK;
}

/*
 * Under STORE_DURABLE_EACH_WRITE, a change is in a completed snapshot before its call
 * returns. If that snapshot fails, its code is returned: the change is made in memory and
 * still pending, and the next snapshot tries again.
 */
int rs_store_after_write(store *db)
{
    if (rs_lock_held_write(&db->lock))
        return STORE_OK; /* inside a transaction: its outermost commit takes the snapshot */
    return db->persist && rs_file_each_write(db) ? rs_snapshot_write(db) : STORE_OK;
}

/* Changes are refused on a store opened read-only. */
int rs_store_check_writable(store *db)
{
    if (db->readonly)
        return rs_error_set(db, STORE_EINVAL, "the store is open read-only");
    return STORE_OK;
}

store_model *store_model_find(store *db, const char *name)
{
    return db && name ? rs_schema_model_find(db, name) : NULL;
}

store_model *store_model_at(store *db, size_t i)
{
    return db && i < db->nmodels ? &db->models[i] : NULL;
}

const store_fld *store_field_at(const store_model *model, size_t i)
{
    return model && i < model->nfields ? &model->fields[i] : NULL;
}

const char *store_field_name(const store_fld *fld)
{
    return fld ? fld->name : NULL;
}

store_type store_field_type(const store_fld *fld)
{
    return fld ? fld->type : (store_type)0;
}

store_model *store_field_target(const store_fld *fld)
{
    return fld ? fld->target : NULL;
}

const char *store_field_related_name(const store_fld *fld)
{
    return fld && fld->type == STORE_FK ? fld->related_name : NULL;
}

store_on_delete store_field_on_delete(const store_fld *fld)
{
    return fld && fld->type == STORE_FK ? fld->on_delete : STORE_CASCADE;
}

bool store_field_unique(const store_fld *fld)
{
    return fld && fld->unique;
}

bool store_field_ordered(const store_fld *fld)
{
    return fld && fld->ordered;
}

bool store_field_null(const store_fld *fld)
{
    return fld && fld->null;
}

bool store_field_indexed(const store_fld *fld)
{
    return fld && fld->indexed;
}

size_t store_field_max_length(const store_fld *fld)
{
    return fld && fld->type == STORE_CHAR ? fld->max_length : 0;
}

bool store_field_default(const store_fld *fld, store_value *out)
{
    if (!fld || !out || fld->dflt.kind == STORE_KIND_NONE)
        return false;
    *out = fld->dflt;
    out->name = fld->name;
    return true;
}

bool store_m2m_at(const store_model *model, size_t i, const char **name, store_model **other,
                  store_model **through, bool *declared)
{
    if (!model || i >= model->nm2m)
        return false;
    const rs_m2m *r = &model->m2m[i];
    if (name)
        *name = r->name;
    if (other)
        *other = r->other;
    if (through)
        *through = r->through;
    if (declared)
        *declared = r->declared;
    return true;
}

uint64_t store_model_next_id(const store_model *model)
{
    if (!model)
        return 0;
    rs_lock_read(&model->db->lock);
    uint64_t next = model->next_id;
    rs_lock_unlock(&model->db->lock);
    return next;
}

const char *store_model_name(const store_model *model)
{
    return model ? model->name : NULL;
}

size_t store_model_count(const store_model *model)
{
    if (!model)
        return 0;
    rs_lock_read(&model->db->lock);
    size_t n = model->count;
    rs_lock_unlock(&model->db->lock);
    return n;
}

store_obj *store_model_scan(store_model *model, uint64_t *pos)
{
    if (!model || !pos)
        return NULL;
    uint64_t at = *pos;
    rs_lock_read(&model->db->lock);
    store_obj *o = rs_arena_scan(&model->arena, &at); /* skips chunks holding no object */
    rs_lock_unlock(&model->db->lock);
    if (o)
        *pos = at;
    return o;
}

/* ---- Objects ------------------------------------------------------------------------------ */

/* Whether MODEL is a model of DB; sets the detail if not. */
static int check_model(store *db, const store_model *model, const char *call)
{
    if (!model)
        return rs_error_set(db, STORE_EINVAL, "%s: the model is NULL", call);
    if (model->db != db)
        return rs_error_set(db, STORE_EINVAL, "%s: model %s is not of this store", call,
                            model->name);
    return STORE_OK;
}

static int check_values_arg(store *db, const store_value *values, const char *call)
{
    if (!values)
        return rs_error_set(db, STORE_EINVAL, "%s: the value list is NULL", call);
    return STORE_OK;
}

int store_create(store *db, store_model *model, const store_value *values, store_obj **out)
{
    if (!db)
        return rs_error_set(NULL, STORE_EINVAL, "store_create: the store is NULL");
    int rc = check_model(db, model, "store_create");
    if (!rc)
        rc = check_values_arg(db, values, "store_create");
    if (!rc)
        rc = rs_store_check_writable(db);
    if (!rc)
        rc = rs_store_check_not_reading(db, "store_create");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_obj_create(db, model, values, out);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

int store_get(store *db, store_model *model, uint64_t id, store_obj **out)
{
    if (!db || !out)
        return rs_error_set(db, STORE_EINVAL, "store_get: %s is NULL", !db ? "the store" : "OUT");
    int rc = check_model(db, model, "store_get");
    if (rc)
        return rc;
    store_obj *o = rs_obj_get(model, id); /* no lock: see store/object.h */
    *out = o;
    if (!o)
        return rs_error_set(db, STORE_ENOTFOUND, "%s %" PRIu64 ": no such object", model->name,
                            id);
    return STORE_OK;
}

int store_get_by(store *db, store_model *model, const char *field, const store_value *value,
                 store_obj **out)
{
    if (!db || !out || !field || !value)
        return rs_error_set(db, STORE_EINVAL, "store_get_by: %s is NULL",
                            !db      ? "the store"
                            : !field ? "the field"
                            : !value ? "the value"
                                     : "OUT");
    int rc = check_model(db, model, "store_get_by");
    if (rc)
        return rc;
    const store_fld *f = rs_schema_field_find(model, field);
    if (!f)
        return rs_error_set(db, STORE_EINVAL, "%s: no field \"%s\"", model->name, field);
    rs_lock_read(&db->lock);
    rc = rs_obj_get_by(db, model, f, value, out);
    rs_lock_unlock(&db->lock);
    return rc;
}

int rs_store_check_obj(store *db, const store_obj *obj, const char *call)
{
    if (!db)
        return rs_error_set(NULL, STORE_EINVAL, "%s: the store is NULL", call);
    if (!obj)
        return rs_error_set(db, STORE_EINVAL, "%s: the object is NULL", call);
    store_model *m = rs_obj_model(obj);
    if (!m) /* a deleted object whose chunk gave its pages back: its slot reads zeros */
        return rs_error_set(db, STORE_EINVAL, "%s: the object is deleted", call);
    if (m->db != db)
        return rs_error_set(db, STORE_EINVAL, "%s: the object is not of this store", call);
    return STORE_OK;
}

/*
 * Whether OBJ, which check_obj() passed before the lock was taken, is still a living object:
 * another thread may have deleted it meanwhile. Called under the lock the call works under,
 * so the answer holds for the whole call.
 */
int rs_store_check_live(store *db, const store_obj *obj, const char *call)
{
    const store_model *m = rs_obj_model(obj);
    if (!m || !rs_obj_live(obj))
        return rs_error_set(db, STORE_EINVAL, "%s: the %s is deleted", call,
                            m ? m->name : "object");
    return STORE_OK;
}

int store_update(store *db, store_obj *obj, const store_value *values)
{
    int rc = rs_store_check_obj(db, obj, "store_update");
    if (!rc)
        rc = check_values_arg(db, values, "store_update");
    if (!rc)
        rc = rs_store_check_writable(db);
    if (!rc)
        rc = rs_store_check_not_reading(db, "store_update");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_update");
    if (!rc)
        rc = rs_obj_update(db, obj, values);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

int store_delete(store *db, store_obj *obj)
{
    int rc = rs_store_check_obj(db, obj, "store_delete");
    if (!rc)
        rc = rs_store_check_writable(db);
    if (!rc)
        rc = rs_store_check_not_reading(db, "store_delete");
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    rc = rs_store_check_live(db, obj, "store_delete");
    if (!rc)
        rc = rs_delete_obj(db, obj);
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

/* ---- Reading fields ----------------------------------------------------------------------- */

uint64_t store_id(const store_obj *obj)
{
    return obj ? __atomic_load_n(&obj->id, __ATOMIC_RELAXED) : 0;
}

store_model *store_obj_model(const store_obj *obj)
{
    return obj && store_id(obj) ? rs_obj_model(obj) : NULL;
}

const store_fld *store_field_find(const store_model *model, const char *name)
{
    return model && name ? rs_schema_field_find(model, name) : NULL;
}

const store_fld *store_relation_find(const store_model *model, const char *related_name)
{
    return model && related_name ? rs_schema_relation_find(model, related_name) : NULL;
}

const char *store_field_str(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    if (!rs_is_string(fld))
        return NULL;
    return rs_str_get(obj, fld);
}

int64_t store_field_int(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    return fld->type == STORE_INT ? (int64_t)rs_field_word(obj, fld) : 0;
}

double store_field_float(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    double d = 0.0;
    if (fld->type == STORE_FLOAT) {
        uint64_t w = rs_field_word(obj, fld);
        memcpy(&d, &w, sizeof d);
    }
    return d;
}

bool store_field_bool(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    return fld->type == STORE_BOOL && rs_field_word(obj, fld);
}

store_obj *store_field_ref(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    return fld->type == STORE_FK ? rs_fk_parent(obj, fld) : NULL;
}

bool store_field_is_null(const store_obj *obj, const store_fld *fld)
{
    assert(!rs_obj_model(obj) || rs_obj_model(obj) == fld->model); /* NULL: dead, zeros */
    return rs_field_null(fld, obj);
}

/* The field NAME of OBJ's model, or NULL (also when an argument is NULL, or OBJ is a deleted
 * object whose slot reads zeros): rs_model_field(), inline. The calls by name are the
 * README's, on hot paths. */
static inline const store_fld *named(const store_obj *obj, const char *name)
{
    store_model *m = obj && name ? rs_obj_model(obj) : NULL;
    return m ? rs_model_field(m, name) : NULL;
}

const char *store_str(const store_obj *obj, const char *field)
{
    /* The README's call, on the hottest path of all: a short name reads the string's word
     * straight from the model's words of short names (store/model.h). */
    uint64_t key = field ? rs_name_key(field) : 0;
    store_model *m = obj ? rs_obj_model(obj) : NULL;
    if (key && m) {
        bool found;
        const char *s = rs_str_fast(obj, m, key, &found);
        if (found || !m->fast_some)
            return s;
    }
    const store_fld *f = named(obj, field);
    return f ? store_field_str(obj, f) : NULL;
}

int64_t store_int(const store_obj *obj, const char *field)
{
    const store_fld *f = named(obj, field);
    return f ? store_field_int(obj, f) : 0;
}

double store_float(const store_obj *obj, const char *field)
{
    const store_fld *f = named(obj, field);
    return f ? store_field_float(obj, f) : 0.0;
}

bool store_bool(const store_obj *obj, const char *field)
{
    const store_fld *f = named(obj, field);
    return f ? store_field_bool(obj, f) : false;
}

store_obj *store_ref(const store_obj *obj, const char *field)
{
    const store_fld *f = named(obj, field);
    return f ? store_field_ref(obj, f) : NULL;
}

bool store_is_null(const store_obj *obj, const char *field)
{
    const store_fld *f = named(obj, field);
    return f ? rs_field_null(f, obj) : true;
}

/* ---- Reverse relations -------------------------------------------------------------------- */

/*
 * Children created together have consecutive ids, so they sit side by side in their arena,
 * in the order they joined. A walk follows next links, one dependent load after another;
 * asking for the run of slots that starts at the first child up front lets those loads
 * overlap. When the children are scattered the guess costs a few wasted prefetches, never
 * a wrong answer. At most PREFETCH_MAX bytes are asked for.
 */
enum { PREFETCH_MAX = 2048 };

void rs_store_prefetch_run(const void *first, size_t count, size_t slot_size)
{
    size_t bytes = count * slot_size;
    if (bytes > PREFETCH_MAX)
        bytes = PREFETCH_MAX;
    for (size_t off = 0; first && off < bytes; off += 64)
        __builtin_prefetch((const char *)first + off);
}

store_iter store_reverse_fld(const store_obj *obj, const store_fld *rel)
{
    store_iter it = {.priv_next = NULL};
    if (!obj || !rel || rel->type != STORE_FK || rel->target != rs_obj_model(obj))
        return it;
    store *db = rel->target->db;
    rs_lock_read(&db->lock);
    it = rs_rel_walk(obj, rel);
    rs_lock_unlock(&db->lock);
    rs_store_prefetch_run(it.priv_next, it.priv_count, rel->model->arena.slot_size);
    rs_strings_ahead(rel->model, it.priv_next, it.priv_count); /* and their strings */
    return it;
}

store_iter store_reverse(const store_obj *obj, const char *related_name)
{
    store_iter empty = {.priv_next = NULL};
    store_model *m = obj ? rs_obj_model(obj) : NULL;
    if (!m || !related_name) {
        rs_error_set(m ? m->db : NULL, STORE_EINVAL, "store_reverse: %s",
                     !obj ? "the object is NULL"
                     : !m ? "the object is deleted"
                          : "the related name is NULL");
        return empty;
    }
    const store_fld *rel = rs_schema_relation_find(m, related_name);
    if (!rel) {
        rs_error_set(m->db, STORE_EINVAL, "%s: no reverse relation \"%s\"", m->name,
                     related_name);
        return empty;
    }
    return store_reverse_fld(obj, rel);
}

store_obj *store_next(store_iter *it)
{
    return it ? rs_rel_walk_next(it) : NULL;
}

size_t store_count(const store_iter *it)
{
    return it ? it->priv_count : 0;
}

/* ---- Checking ----------------------------------------------------------------------------- */

int store_check(store *db)
{
    if (!db)
        return rs_error_set(NULL, STORE_EINVAL, "store_check: the store is NULL");
    rs_lock_read(&db->lock);
    int rc = rs_check_store(db);
    rs_lock_unlock(&db->lock);
    return rc;
}
