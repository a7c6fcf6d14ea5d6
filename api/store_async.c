/*
 * api/store_async.c - the libuv requests of store_async.h.
 *
 * A submit checks its arguments, copies them into the request (values, names and strings
 * in one block; the related name of a reverse walk), counts the request as out on its store
 * and queues it with uv_queue_work(). The work callback, on a pool thread, makes the
 * synchronous call and keeps its code and detail in the request; it calls nothing of libuv.
 * The after-work callback, on the loop's thread, turns a cancellation into
 * STORE_ECANCELED, gives the detail to store_errmsg() of the loop's thread, counts the
 * request as back, and calls the caller's callback: exactly once per submitted request.
 * This is the only file of relstore that includes uv.h.
 */
#include <stdlib.h>
#include <string.h>
#include <store_async.h>

#include "store/error.h"
#include "store/model.h"
#include "store/object.h"
#include "store/query.h"
#include "store/schema.h"

enum {
    OP_SNAPSHOT = 1,
    OP_CREATE,
    OP_GET,
    OP_REVERSE,
    OP_UPDATE,
    OP_DELETE,
    OP_QUERY_FIND,
    OP_QUERY_COUNT,
    OP_QUERY_UPDATE,
    OP_QUERY_DELETE,
    OP_ATOMIC,
    OP_M2M_ADD,
    OP_M2M_REMOVE,
    OP_M2M_CLEAR,
    OP_M2M_WALK,
    OP_M2M_MOVE,
};

/*
 * A request's life, on the loop's thread. libuv must not be asked to cancel a request that
 * is already cancelled or done (it would queue it a second time), so store_cancel() looks
 * here first.
 */
enum { ST_IDLE = 0, ST_QUEUED, ST_CANCELLED, ST_DONE };

enum { MSG_MAX = 256 };

/* What a request keeps beside the copied arguments: the worker's code detail. */
typedef struct req_extra {
    char msg[MSG_MAX];
} req_extra;

static store_req *req_of(uv_work_t *w)
{
    return (store_req *)((char *)w - offsetof(store_req, priv_work));
}

/* ---- Copying arguments -------------------------------------------------------------------- */

static size_t str_bytes(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Whether V carries a string of its own (a string value, a parameter's name). */
static bool has_text(const store_value *v)
{
    return (v->kind == STORE_KIND_STR || v->kind == STORE_KIND_PARAM) && v->u.s;
}

/* The items of list value V, without the {0} that ends them; -1 for an item of an unknown
 * kind (lists do not nest). */
static long list_items(const store_value *v, size_t *text)
{
    long m = 0;
    for (const store_value *it = v->u.list; it && it->kind != STORE_KIND_NONE; it++, m++) {
        if ((unsigned)it->kind > STORE_KIND_NULL)
            return -1;
        *text += has_text(it) ? str_bytes(it->u.s) : 0;
    }
    return m;
}

/* Copies the text of value V (name NAME) into *TEXT, moving it on. */
static void copy_text(store_value *dst, const store_value *src, bool named, char **text)
{
    *dst = *src;
    if (!named)
        dst->name = NULL;
    if (named) {
        size_t len = str_bytes(src->name);
        dst->name = memcpy(*text, src->name, len);
        *text += len;
    }
    if (has_text(src)) {
        size_t len = str_bytes(src->u.s);
        dst->u.s = memcpy(*text, src->u.s, len);
        *text += len;
    }
}

/*
 * Copies VALUES (the list, each name, each string, the items of each list value) into one
 * malloc'd block, after room for a req_extra: the values, then the lists' items, then the
 * text. Returns the block, or NULL with *RC set (EINVAL: an unknown kind; ENOMEM).
 */
static void *copy_values(store *db, const store_value *values, store_value **out, int *rc)
{
    size_t n = 0, items = 0, bytes = 0;
    for (const store_value *v = values; v && v->name; v++, n++) {
        long m = 0;
        if ((unsigned)v->kind > STORE_KIND_PARAM || v->kind == STORE_KIND_NONE ||
            (v->kind == STORE_KIND_LIST && (m = list_items(v, &bytes)) < 0)) {
            *rc = rs_error_set(db, STORE_EINVAL, "%s: an unknown kind of value", v->name);
            return NULL;
        }
        items += v->kind == STORE_KIND_LIST ? (size_t)m + 1 : 0;
        bytes += str_bytes(v->name) + (has_text(v) ? str_bytes(v->u.s) : 0);
    }
    size_t head = sizeof(req_extra) + (n + 1 + items) * sizeof(store_value);
    char *block = malloc(head + bytes);
    if (!block) {
        *rc = rs_error_set(db, STORE_ENOMEM, "out of memory copying a request's values");
        return NULL;
    }
    store_value *copy = (store_value *)(block + sizeof(req_extra));
    store_value *item = copy + n + 1;
    char *text = block + head;
    for (size_t i = 0; i < n; i++) {
        copy_text(&copy[i], &values[i], true, &text);
        if (values[i].kind != STORE_KIND_LIST)
            continue;
        copy[i].u.list = item;
        for (const store_value *it = values[i].u.list; it && it->kind != STORE_KIND_NONE; it++)
            copy_text(item++, it, false, &text);
        memset(item++, 0, sizeof *item);
    }
    memset(&copy[n], 0, sizeof copy[n]);
    *out = copy;
    return block;
}

/* ---- Running ------------------------------------------------------------------------------ */

static req_extra *extra_of(store_req *req)
{
    return (req_extra *)(void *)(req->priv_op == OP_REVERSE ? req->priv_name - sizeof(req_extra)
                                                            : (char *)req->priv_values -
                                                                  sizeof(req_extra));
}

/* The objects a walk of the request's target yields, copied under one read lock: its
 * children in reverse relation NAME, or (M2M) the objects linked to it in the many-to-many
 * NAME. */
static int walk_copy(store_req *req, const char *name, bool m2m)
{
    store *db = req->priv_db;
    const store_obj *obj = req->priv_target;
    store_model *m = rs_obj_model(obj);
    if (!m)
        return rs_error_set(db, STORE_EINVAL, "a %s request: the object is deleted",
                            m2m ? "many-to-many" : "reverse");
    const store_fld *rel = m2m ? NULL : rs_schema_relation_find(m, name);
    const rs_m2m *r = m2m ? rs_schema_m2m_find(m, name) : NULL;
    if (!rel && !r)
        return rs_error_set(db, STORE_EINVAL, "%s: no %s relation \"%s\"", m->name,
                            m2m ? "many-to-many" : "reverse", name);
    int rc = STORE_OK;
    rs_lock_read(&db->lock);
    if (!rs_obj_live(obj)) {
        rs_lock_unlock(&db->lock);
        return rs_error_set(db, STORE_EINVAL, "%s: the object is deleted", m->name);
    }
    store_iter it = r ? rs_m2m_walk(obj, r) : rs_rel_walk(obj, rel);
    size_t n = it.priv_count;
    if (!(req->objs = malloc((n ? n : 1) * sizeof *req->objs)))
        rc = rs_error_set(db, STORE_ENOMEM, "out of memory copying a %s relation",
                          m2m ? "many-to-many" : "reverse");
    for (store_obj *x; !rc && (x = rs_rel_walk_next(&it));)
        req->objs[req->count++] = x;
    rs_lock_unlock(&db->lock);
    return rc;
}

static void work(uv_work_t *w)
{
    store_req *req = req_of(w);
    store *db = req->priv_db;
    int rc = STORE_EINVAL;
    switch (req->priv_op) {
    case OP_SNAPSHOT:
        rc = store_snapshot(db);
        break;
    case OP_CREATE:
        rc = store_create(db, req->priv_model, req->priv_values, &req->obj);
        break;
    case OP_GET:
        rc = store_get(db, req->priv_model, req->priv_id, &req->obj);
        break;
    case OP_REVERSE:
        rc = walk_copy(req, req->priv_name, false);
        break;
    case OP_UPDATE:
        rc = store_update(db, req->priv_target, req->priv_values);
        break;
    case OP_DELETE:
        rc = store_delete(db, req->priv_target);
        break;
    case OP_QUERY_FIND: {
        store_result r;
        rc = store_query_find(req->priv_query, req->priv_binds, &r);
        req->objs = r.objs;
        req->count = r.count;
        break;
    }
    case OP_QUERY_COUNT:
        rc = store_query_count(req->priv_query, req->priv_binds, &req->count);
        break;
    case OP_QUERY_UPDATE:
        rc = store_query_update(req->priv_query, req->priv_binds, req->priv_values, &req->count);
        break;
    case OP_QUERY_DELETE:
        rc = store_query_delete(req->priv_query, req->priv_binds, &req->count);
        break;
    case OP_ATOMIC:
        rc = store_atomic(db, req->priv_fn, req->priv_arg);
        break;
    case OP_M2M_ADD: /* the name rides on the first value; the payload follows */
        rc = store_m2m_add(db, req->priv_target, req->priv_values[0].name, req->priv_other,
                           req->priv_values + 1, &req->obj);
        break;
    case OP_M2M_REMOVE:
        rc = store_m2m_remove(db, req->priv_target, req->priv_values[0].name, req->priv_other);
        break;
    case OP_M2M_CLEAR:
        rc = store_m2m_clear(db, req->priv_target, req->priv_values[0].name);
        break;
    case OP_M2M_WALK:
        rc = walk_copy(req, req->priv_values[0].name, true); /* the name rides on a value */
        break;
    case OP_M2M_MOVE:
        rc = store_m2m_move(db, req->priv_target, req->priv_values[0].name, req->priv_from,
                            req->priv_to);
        break;
    }
    req->result = rc;
    if (rc) {
        size_t len = strlen(store_errmsg(db));
        req_extra *x = extra_of(req);
        memcpy(x->msg, store_errmsg(db), len < MSG_MAX ? len + 1 : MSG_MAX);
        x->msg[MSG_MAX - 1] = 0;
    }
}

static void after_work(uv_work_t *w, int status)
{
    store_req *req = req_of(w);
    store *db = req->priv_db;
    if (status == UV_ECANCELED)
        req->result = rs_error_set(db, STORE_ECANCELED, "the request was canceled");
    else if (req->result)
        rs_error_set(db, req->result, "%s", extra_of(req)->msg);
    req->priv_state = ST_DONE;
    __atomic_sub_fetch(&db->async_out, 1, __ATOMIC_ACQ_REL);
    req->priv_cb(req);
}

/* ---- Submitting --------------------------------------------------------------------------- */

static int check_common(uv_loop_t *loop, store_req *req, store *db, store_cb cb)
{
    if (!loop || !req || !db || !cb)
        return rs_error_set(db, STORE_EINVAL, "a store request: %s is NULL",
                            !loop ? "the loop" : !req ? "the request" : !db ? "the store"
                                                                         : "the callback");
    return STORE_OK;
}

static void req_init(store_req *req, store *db, store_cb cb, int op)
{
    void *data = req->data;
    memset(req, 0, sizeof *req);
    req->data = data;
    req->priv_db = db;
    req->priv_cb = cb;
    req->priv_op = op;
}

/* Queues REQ (its arguments copied); on failure frees the copies. */
static int submit(uv_loop_t *loop, store_req *req)
{
    store *db = req->priv_db;
    __atomic_add_fetch(&db->async_out, 1, __ATOMIC_ACQ_REL);
    int rc = uv_queue_work(loop, &req->priv_work, work, after_work);
    if (rc) {
        __atomic_sub_fetch(&db->async_out, 1, __ATOMIC_ACQ_REL);
        store_req_cleanup(req);
        return rs_error_set(db, STORE_EINVAL, "uv_queue_work: %s", uv_strerror(rc));
    }
    req->priv_state = ST_QUEUED;
    return STORE_OK;
}

/* A request with no values still carries a block for the worker's detail. */
static int with_values(store_req *req, const store_value *values)
{
    store_value *copy;
    int rc = STORE_OK;
    void *block = copy_values(req->priv_db, values, &copy, &rc);
    if (!block)
        return rc;
    req->priv_values = copy;
    return STORE_OK;
}

static int check_model(store *db, const store_model *m)
{
    if (!m || m->db != db)
        return rs_error_set(db, STORE_EINVAL, "a store request: %s",
                            !m ? "the model is NULL" : "the model is not of this store");
    return STORE_OK;
}

static int check_obj(store *db, const store_obj *obj)
{
    store_model *m = obj ? rs_obj_model(obj) : NULL;
    if (!m || m->db != db)
        return rs_error_set(db, STORE_EINVAL, "a store request: %s",
                            !obj ? "the object is NULL"
                            : !m ? "the object is deleted"
                                 : "the object is not of this store");
    return STORE_OK;
}

int store_snapshot_async(uv_loop_t *loop, store_req *req, store *db, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (rc)
        return rc;
    req_init(req, db, cb, OP_SNAPSHOT);
    return (rc = with_values(req, NULL)) ? rc : submit(loop, req);
}

int store_create_async(uv_loop_t *loop, store_req *req, store *db, store_model *m,
                       const store_value *values, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_model(db, m);
    if (!rc && !values)
        rc = rs_error_set(db, STORE_EINVAL, "store_create_async: the value list is NULL");
    if (rc)
        return rc;
    req_init(req, db, cb, OP_CREATE);
    req->priv_model = m;
    return (rc = with_values(req, values)) ? rc : submit(loop, req);
}

int store_get_async(uv_loop_t *loop, store_req *req, store *db, store_model *m, uint64_t id,
                    store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_model(db, m);
    if (rc)
        return rc;
    req_init(req, db, cb, OP_GET);
    req->priv_model = m;
    req->priv_id = id;
    return (rc = with_values(req, NULL)) ? rc : submit(loop, req);
}

int store_reverse_async(uv_loop_t *loop, store_req *req, store *db, const store_obj *obj,
                        const char *related_name, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_obj(db, obj);
    if (!rc && !related_name)
        rc = rs_error_set(db, STORE_EINVAL, "store_reverse_async: the related name is NULL");
    if (rc)
        return rc;
    req_init(req, db, cb, OP_REVERSE);
    req->priv_target = (store_obj *)obj;
    size_t len = strlen(related_name) + 1;
    char *block = malloc(sizeof(req_extra) + len);
    if (!block)
        return rs_error_set(db, STORE_ENOMEM, "out of memory copying a request");
    req->priv_name = memcpy(block + sizeof(req_extra), related_name, len);
    return submit(loop, req);
}

int store_update_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                       const store_value *values, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_obj(db, obj);
    if (!rc && !values)
        rc = rs_error_set(db, STORE_EINVAL, "store_update_async: the value list is NULL");
    if (rc)
        return rc;
    req_init(req, db, cb, OP_UPDATE);
    req->priv_target = obj;
    return (rc = with_values(req, values)) ? rc : submit(loop, req);
}

int store_delete_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_obj(db, obj);
    if (rc)
        return rc;
    req_init(req, db, cb, OP_DELETE);
    req->priv_target = obj;
    return (rc = with_values(req, NULL)) ? rc : submit(loop, req);
}

/* A query request: Q's store, the binds copied, and VALUES (update) copied. */
static int query_submit(uv_loop_t *loop, store_req *req, const store_query *q,
                        const store_value *binds, const store_value *values, store_cb cb, int op)
{
    store *db = q ? q->db : NULL;
    int rc = check_common(loop, req, db, cb);
    if (rc)
        return rc;
    if (op == OP_QUERY_UPDATE && !values)
        return rs_error_set(db, STORE_EINVAL, "store_query_update_async: the value list is NULL");
    req_init(req, db, cb, op);
    req->priv_query = q;
    if ((rc = with_values(req, values)))
        return rc;
    if (binds) {
        store_value *copy;
        void *block = copy_values(db, binds, &copy, &rc);
        if (!block) {
            store_req_cleanup(req);
            return rc;
        }
        req->priv_binds = copy;
    }
    return submit(loop, req);
}

int store_query_find_async(uv_loop_t *loop, store_req *req, const store_query *q,
                           const store_value *binds, store_cb cb)
{
    return query_submit(loop, req, q, binds, NULL, cb, OP_QUERY_FIND);
}

int store_query_count_async(uv_loop_t *loop, store_req *req, const store_query *q,
                            const store_value *binds, store_cb cb)
{
    return query_submit(loop, req, q, binds, NULL, cb, OP_QUERY_COUNT);
}

int store_query_update_async(uv_loop_t *loop, store_req *req, const store_query *q,
                             const store_value *binds, const store_value *values, store_cb cb)
{
    return query_submit(loop, req, q, binds, values, cb, OP_QUERY_UPDATE);
}

int store_query_delete_async(uv_loop_t *loop, store_req *req, const store_query *q,
                             const store_value *binds, store_cb cb)
{
    return query_submit(loop, req, q, binds, NULL, cb, OP_QUERY_DELETE);
}

int store_atomic_async(uv_loop_t *loop, store_req *req, store *db,
                       int (*fn)(store *db, void *arg), void *arg, store_cb cb)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc && !fn)
        rc = rs_error_set(db, STORE_EINVAL, "store_atomic_async: FN is NULL");
    if (rc)
        return rc;
    req_init(req, db, cb, OP_ATOMIC);
    req->priv_fn = fn;
    req->priv_arg = arg;
    return (rc = with_values(req, NULL)) ? rc : submit(loop, req);
}

int store_cancel(store_req *req)
{
    if (!req || req->priv_state == ST_IDLE)
        return rs_error_set(req ? req->priv_db : NULL, STORE_EINVAL,
                            "store_cancel: %s", req ? "the request was never submitted"
                                                    : "the request is NULL");
    if (req->priv_state == ST_CANCELLED)
        return STORE_OK;
    if (req->priv_state == ST_DONE || uv_cancel((uv_req_t *)&req->priv_work))
        return rs_error_set(req->priv_db, STORE_EBUSY, "the request has started or finished");
    req->priv_state = ST_CANCELLED;
    return STORE_OK;
}

void store_req_cleanup(store_req *req)
{
    if (!req)
        return;
    if (req->priv_values)
        free((char *)req->priv_values - sizeof(req_extra));
    if (req->priv_name)
        free(req->priv_name - sizeof(req_extra));
    if (req->priv_binds)
        free((char *)req->priv_binds - sizeof(req_extra));
    req->priv_binds = NULL;
    free(req->objs);
    req->priv_values = NULL;
    req->priv_name = NULL;
    req->objs = NULL;
    req->count = 0;
}

/* ---- Many-to-many --------------------------------------------------------------------------- */

/* A many-to-many request: OBJ (and OTHER, when WITH_OTHER) of DB, and NAME copied as the name
 * of the first value, PAYLOAD's values after it. */
static int m2m_submit(uv_loop_t *loop, store_req *req, store *db, const store_obj *obj,
                      const char *name, store_obj *other, bool with_other,
                      const store_value *payload, const size_t *at, store_cb cb, int op)
{
    int rc = check_common(loop, req, db, cb);
    if (!rc)
        rc = check_obj(db, obj);
    if (!rc && with_other)
        rc = check_obj(db, other);
    if (!rc && !name)
        rc = rs_error_set(db, STORE_EINVAL, "a many-to-many request: the name is NULL");
    if (rc)
        return rc;
    size_t n = 0;
    for (const store_value *p = payload; p && p->name; p++)
        n++;
    store_value *list = malloc((n + 2) * sizeof *list);
    if (!list)
        return rs_error_set(db, STORE_ENOMEM, "out of memory copying a request");
    list[0] = (store_value)STORE_V_NULL(name);
    if (n)
        memcpy(list + 1, payload, n * sizeof *list);
    list[n + 1] = (store_value){0};
    req_init(req, db, cb, op);
    req->priv_target = (store_obj *)obj;
    req->priv_other = other;
    if (at) {
        req->priv_from = at[0];
        req->priv_to = at[1];
    }
    rc = with_values(req, list);
    free(list);
    return rc ? rc : submit(loop, req);
}

int store_m2m_add_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                        const char *name, store_obj *other, const store_value *payload,
                        store_cb cb)
{
    return m2m_submit(loop, req, db, obj, name, other, true, payload, NULL, cb, OP_M2M_ADD);
}

int store_m2m_remove_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                           const char *name, store_obj *other, store_cb cb)
{
    return m2m_submit(loop, req, db, obj, name, other, true, NULL, NULL, cb, OP_M2M_REMOVE);
}

int store_m2m_clear_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                          const char *name, store_cb cb)
{
    return m2m_submit(loop, req, db, obj, name, NULL, false, NULL, NULL, cb, OP_M2M_CLEAR);
}

int store_m2m_async(uv_loop_t *loop, store_req *req, store *db, const store_obj *obj,
                    const char *name, store_cb cb)
{
    return m2m_submit(loop, req, db, obj, name, NULL, false, NULL, NULL, cb, OP_M2M_WALK);
}

int store_m2m_move_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                         const char *name, size_t from, size_t to, store_cb cb)
{
    size_t at[2] = {from, to};
    return m2m_submit(loop, req, db, obj, name, NULL, false, NULL, at, cb, OP_M2M_MOVE);
}
