/*
 * api/query.c - the public query calls: check the arguments, keep the query's sticky error,
 * take the read lock once per run.
 *
 * Building touches only the query and the schema (fixed once the store is open), so it takes
 * no lock. A building call that fails records its code in the query and every later one
 * returns it, so a caller may build a whole query and check once, at the end or at the run.
 */
#include <stdlib.h>
#include <string.h>
#include <store.h>

#include "api/internal.h"
#include "store/error.h"
#include "store/qrun.h"

/* Q's sticky error, said again in store_errmsg() for the call CALL. */
static int sticky(const store_query *q, const char *call)
{
    return rs_error_set(q->db, q->err, "%s: the query has an earlier error (%s)", call,
                        store_strerror(q->err));
}

/* RC, after making it Q's sticky error if it is one. */
static int stick(store_query *q, int rc)
{
    if (rc && !q->err)
        q->err = rc;
    return rc;
}

/* The checks every building call makes. */
static int building(store_query *q, const void *arg, const char *call)
{
    if (!q)
        return rs_error_set(NULL, STORE_EINVAL, "%s: the query is NULL", call);
    if (q->err)
        return sticky(q, call);
    if (!arg)
        return stick(q, rs_error_set(q->db, STORE_EINVAL, "%s: the list is NULL", call));
    return STORE_OK;
}

int store_query_new(store *db, store_model *model, store_query **out)
{
    if (!db || !model || !out)
        return rs_error_set(db, STORE_EINVAL, "store_query_new: %s is NULL",
                            !db ? "the store" : !model ? "the model" : "OUT");
    if (model->db != db)
        return rs_error_set(db, STORE_EINVAL, "store_query_new: model %s is not of this store",
                            model->name);
    store_query *q = calloc(1, sizeof *q);
    if (!q)
        return rs_error_set(db, STORE_ENOMEM, "out of memory making a query");
    q->db = db;
    q->model = model;
    *out = q;
    return STORE_OK;
}

void store_query_free(store_query *q)
{
    if (q)
        rs_query_free(q);
}

/* Adds TERMS to Q's root conditions, each negated with NEGATE. */
static int add_root_terms(store_query *q, const store_value *terms, bool negate,
                          const char *call)
{
    int rc = building(q, terms, call);
    if (rc)
        return rc;
    uint32_t *conds, n;
    rc = rs_query_add_terms(q, terms, &conds, &n);
    if (rc)
        return stick(q, rc);
    for (uint32_t k = 0; k < n && !rc; k++) {
        int c = negate ? rs_query_cond_new(q, RS_COND_NOT, &conds[k], 1) : (int)conds[k];
        rc = c < 0 ? c : rs_query_root_add(q, (uint32_t)c);
    }
    free(conds);
    return stick(q, rc);
}

int store_query_filter(store_query *q, const store_value *terms)
{
    return add_root_terms(q, terms, false, "store_query_filter");
}

int store_query_exclude(store_query *q, const store_value *terms)
{
    return add_root_terms(q, terms, true, "store_query_exclude");
}

store_cond store_cond_terms(store_query *q, const store_value *terms)
{
    int rc = building(q, terms, "store_cond_terms");
    if (rc)
        return rc;
    uint32_t *conds, n;
    rc = rs_query_add_terms(q, terms, &conds, &n);
    if (rc)
        return stick(q, rc);
    int c = n == 1 ? (int)conds[0] : rs_query_cond_new(q, RS_COND_AND, conds, n);
    free(conds);
    return c < 0 ? stick(q, c) : c;
}

/* Whether C is a condition of Q; a negative C is returned (and sticks). */
static int check_cond(store_query *q, store_cond c, const char *call)
{
    if (c < 0)
        return stick(q, c);
    if (c == 0 || (uint32_t)c > q->nconds)
        return stick(q, rs_error_set(q->db, STORE_EINVAL, "%s: %d is not a condition of this "
                                     "query", call, c));
    return STORE_OK;
}

static store_cond group(store_query *q, const store_cond *conds, size_t n, rs_cond_kind kind,
                        const char *call)
{
    int rc = building(q, n ? (const void *)conds : (const void *)q, call);
    if (rc)
        return rc;
    if (n > UINT32_MAX)
        return stick(q, rs_error_set(q->db, STORE_EINVAL, "%s: too many conditions", call));
    for (size_t k = 0; k < n; k++)
        if ((rc = check_cond(q, conds[k], call)))
            return rc;
    _Static_assert(sizeof(store_cond) == sizeof(uint32_t), "conditions are numbered alike");
    int c = rs_query_cond_new(q, kind, (const uint32_t *)conds, (uint32_t)n);
    return c < 0 ? stick(q, c) : c;
}

store_cond store_cond_any(store_query *q, const store_cond *conds, size_t n)
{
    return group(q, conds, n, RS_COND_OR, "store_cond_any");
}

store_cond store_cond_all(store_query *q, const store_cond *conds, size_t n)
{
    return group(q, conds, n, RS_COND_AND, "store_cond_all");
}

store_cond store_cond_not(store_query *q, store_cond c)
{
    return group(q, &c, 1, RS_COND_NOT, "store_cond_not");
}

int store_query_where(store_query *q, store_cond c)
{
    int rc = building(q, q, "store_query_where");
    if (!rc)
        rc = check_cond(q, c, "store_query_where");
    return rc ? rc : stick(q, rs_query_root_add(q, (uint32_t)c));
}

int store_query_order_by(store_query *q, const char *const *keys)
{
    int rc = building(q, keys, "store_query_order_by");
    return rc ? rc : stick(q, rs_query_order(q, keys));
}

int store_query_slice(store_query *q, size_t offset, size_t limit)
{
    int rc = building(q, q, "store_query_slice");
    if (rc)
        return rc;
    q->offset = offset;
    q->limit = limit;
    return STORE_OK;
}

/* ---- Running ------------------------------------------------------------------------------- */

/* Checks Q, binds BINDS into R and takes the read lock; STORE_OK, or the code (nothing held). */
static int run_begin(rs_qrun *r, const store_query *q, const store_value *binds, const void *out,
                     const char *call)
{
    if (!q || !out)
        return rs_error_set(q ? q->db : NULL, STORE_EINVAL, "%s: %s is NULL", call,
                            !q ? "the query" : "OUT");
    if (q->err)
        return sticky(q, call);
    int rc = rs_query_bind(r, q, binds);
    if (rc)
        return rc;
    rs_lock_read(&q->db->lock);
    return STORE_OK;
}

static int run_end(rs_qrun *r, int rc)
{
    rs_lock_unlock(&r->q->db->lock);
    rs_query_unbind(r);
    return rc;
}

int store_query_find(const store_query *q, const store_value *binds, store_result *out)
{
    if (out)
        *out = (store_result){NULL, 0};
    rs_qrun r;
    int rc = run_begin(&r, q, binds, out, "store_query_find");
    return rc ? rc : run_end(&r, rs_qrun_find(&r, out));
}

void store_result_free(store_result *r)
{
    if (r) {
        free(r->objs);
        *r = (store_result){NULL, 0};
    }
}

int store_query_count(const store_query *q, const store_value *binds, size_t *out)
{
    rs_qrun r;
    int rc = run_begin(&r, q, binds, out, "store_query_count");
    return rc ? rc : run_end(&r, rs_qrun_count(&r, out));
}

int store_query_exists(const store_query *q, const store_value *binds, bool *out)
{
    rs_qrun r;
    int rc = run_begin(&r, q, binds, out, "store_query_exists");
    return rc ? rc : run_end(&r, rs_qrun_exists(&r, out));
}

int store_query_first(const store_query *q, const store_value *binds, store_obj **out)
{
    if (out)
        *out = NULL;
    rs_qrun r;
    int rc = run_begin(&r, q, binds, out, "store_query_first");
    return rc ? rc : run_end(&r, rs_qrun_first(&r, out));
}

int store_query_get(const store_query *q, const store_value *binds, store_obj **out)
{
    if (out)
        *out = NULL;
    rs_qrun r;
    int rc = run_begin(&r, q, binds, out, "store_query_get");
    return rc ? rc : run_end(&r, rs_qrun_get(&r, out));
}

int store_query_visit(const store_query *q, const store_value *binds,
                      bool (*fn)(store_obj *obj, void *arg), void *arg)
{
    rs_qrun r;
    int rc = run_begin(&r, q, binds, fn ? (const void *)&fn : NULL, "store_query_visit");
    if (rc)
        return rc;
    /* FN must not change the store under the walk, also inside a transaction */
    rs_lock_pin(&q->db->lock);
    rc = rs_qrun_visit(&r, fn, arg);
    rs_lock_unpin(&q->db->lock);
    return run_end(&r, rc);
}

int store_query_aggregate(const store_query *q, const store_value *binds, store_agg *aggs)
{
    rs_qrun r;
    int rc = run_begin(&r, q, binds, aggs, "store_query_aggregate");
    return rc ? rc : run_end(&r, rs_qrun_aggregate(&r, aggs));
}

int store_query_scan(const store_query *q, const store_value *binds, uint64_t *pos,
                     store_obj **out)
{
    if (out)
        *out = NULL;
    if (q && !q->err && (q->nkeys || q->offset || q->limit))
        return rs_error_set(q->db, STORE_EINVAL, "store_query_scan: the query has an order or a "
                            "slice; the scan walks every match in id order");
    rs_qrun r;
    int rc = run_begin(&r, q, binds, pos ? (const void *)out : NULL, "store_query_scan");
    return rc ? rc : run_end(&r, rs_qrun_scan(&r, pos, out));
}

int store_query_group_count(const store_query *q, const store_value *binds, const char *path,
                            store_groups *out)
{
    if (out)
        *out = (store_groups){NULL, 0};
    rs_qrun r;
    int rc = run_begin(&r, q, binds, path ? (const void *)out : NULL, "store_query_group_count");
    return rc ? rc : run_end(&r, rs_qrun_group_count(&r, path, out));
}

void store_groups_free(store_groups *g)
{
    if (g) {
        free(g->groups);
        *g = (store_groups){NULL, 0};
    }
}

int store_query_explain(const store_query *q, const store_value *binds, char *buf, size_t size)
{
    rs_qrun r;
    int rc = run_begin(&r, q, binds, size ? (const void *)buf : NULL, "store_query_explain");
    return rc ? rc : run_end(&r, rs_qrun_explain(&r, buf, size));
}

/* ---- Changes ------------------------------------------------------------------------------- */

/* Checks Q for a change, binds BINDS into R and takes the write lock. */
static int change_begin(rs_qrun *r, const store_query *q, const store_value *binds,
                        const char *call)
{
    if (!q)
        return rs_error_set(NULL, STORE_EINVAL, "%s: the query is NULL", call);
    if (q->err)
        return sticky(q, call);
    int rc = rs_store_check_writable(q->db);
    if (!rc)
        rc = rs_store_check_not_reading(q->db, call);
    if (!rc)
        rc = rs_query_bind(r, q, binds);
    if (rc)
        return rc;
    rs_lock_write(&q->db->lock);
    return STORE_OK;
}

static int change_end(rs_qrun *r, int rc, size_t done, size_t *n)
{
    store *db = r->q->db;
    rs_lock_unlock(&db->lock);
    rs_query_unbind(r);
    if (rc)
        return rc;
    if (n)
        *n = done;
    return done ? rs_store_after_write(db) : STORE_OK;
}

int store_query_update(const store_query *q, const store_value *binds,
                       const store_value *values, size_t *n)
{
    if (!values)
        return rs_error_set(q ? q->db : NULL, STORE_EINVAL,
                            "store_query_update: the value list is NULL");
    rs_qrun r;
    int rc = change_begin(&r, q, binds, "store_query_update");
    if (rc)
        return rc;
    size_t done = 0;
    rc = rs_qrun_update(&r, values, &done);
    return change_end(&r, rc, done, n);
}

int store_query_delete(const store_query *q, const store_value *binds, size_t *n)
{
    rs_qrun r;
    int rc = change_begin(&r, q, binds, "store_query_delete");
    if (rc)
        return rc;
    size_t done = 0;
    rc = rs_qrun_delete(&r, &done);
    return change_end(&r, rc, done, n);
}
