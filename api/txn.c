/*
 * api/txn.c - the public transaction calls (store_begin, store_commit, store_rollback,
 * store_atomic) and the atomic helpers built on them (store_get_or_create,
 * store_update_or_create, store_create_many).
 *
 * A write transaction is the write lock held by one thread across calls (store/lock.h lets
 * that thread's calls nest inside it) plus the undo log of store/txn.h; a read-only one is
 * the read lock held the same way. Each thread keeps its outermost transactions on a list
 * (rs_txn_adopt()), which is how a handle is known to be the caller's and how a thread's
 * exit rolls back what it left open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "store/error.h"
#include "store/object.h"
#include "store/txn.h"

/* Whether T is the innermost open level of the calling thread. */
static bool innermost_mine(const store_txn *t)
{
    const store_txn *x = rs_txn_mine(t->db);
    while (x && x != t)
        x = x->inner;
    return x == t && !t->inner;
}

int store_begin(store *db, unsigned flags, store_txn **out)
{
    if (out)
        *out = NULL;
    if (!db || !out)
        return rs_error_set(db, STORE_EINVAL, "store_begin: %s is NULL",
                            !db ? "the store" : "OUT");
    if (flags & ~(unsigned)STORE_TXN_READONLY)
        return rs_error_set(db, STORE_EINVAL, "store_begin: unknown flags %#x", flags);
    bool readonly = flags & STORE_TXN_READONLY;
    if (!readonly && db->readonly)
        return rs_error_set(db, STORE_EINVAL, "store_begin: the store is open read-only");
    store_txn *outer = rs_txn_mine(db);
    if (rs_lock_held(&db->lock) && (!outer || rs_lock_pinned(&db->lock)))
        return rs_error_set(db, STORE_EBUSY, "store_begin: called while this thread reads the "
                            "store (from a store_query_visit() callback)");
    if (outer) {
        while (outer->inner)
            outer = outer->inner;
        if (outer->readonly != readonly)
            return rs_error_set(db, STORE_EINVAL, "store_begin: a %s transaction inside a %s "
                                "one", readonly ? "read-only" : "write",
                                outer->readonly ? "read-only" : "write");
        return rs_txn_begin(db, outer, readonly, out);
    }
    if (readonly)
        rs_lock_read(&db->lock);
    else
        rs_lock_write(&db->lock);
    store_txn *t;
    int rc = rs_txn_begin(db, NULL, readonly, &t);
    if (!rc && (rc = rs_txn_adopt(t)))
        rs_txn_rollback(t);
    if (rc) {
        rs_lock_unlock(&db->lock);
        return rc;
    }
    if (readonly)
        __atomic_fetch_add(&db->txn_readers, 1, __ATOMIC_ACQ_REL);
    *out = t;
    return STORE_OK;
}

/* Ends T (checked by the caller) with COMMIT or a rollback. */
static int end(store_txn *t, bool commit)
{
    store *db = t->db;
    bool outermost = !t->outer, readonly = t->readonly;
    if (outermost)
        rs_txn_forget(t);
    if (commit)
        rs_txn_commit(t);
    else
        rs_txn_rollback(t);
    if (!outermost)
        return STORE_OK;
    if (readonly)
        __atomic_fetch_sub(&db->txn_readers, 1, __ATOMIC_ACQ_REL);
    rs_lock_unlock(&db->lock);
    return commit && !readonly ? rs_store_after_write(db) : STORE_OK;
}

static int check_handle(store_txn *t, const char *call)
{
    if (!t)
        return rs_error_set(NULL, STORE_EINVAL, "%s: the transaction is NULL", call);
    if (!innermost_mine(t))
        return rs_error_set(t->db, STORE_EINVAL, "%s: not the innermost open transaction of "
                            "this thread", call);
    return STORE_OK;
}

int store_commit(store_txn *txn)
{
    int rc = check_handle(txn, "store_commit");
    return rc ? rc : end(txn, true);
}

int store_rollback(store_txn *txn)
{
    int rc = check_handle(txn, "store_rollback");
    return rc ? rc : end(txn, false);
}

int store_atomic(store *db, int (*fn)(store *db, void *arg), void *arg)
{
    if (!fn)
        return rs_error_set(db, STORE_EINVAL, "store_atomic: FN is NULL");
    store_txn *t;
    int rc = store_begin(db, 0, &t);
    if (rc)
        return rc;
    rc = fn(db, arg);
    if (rc)
        return end(t, false), rc;
    return end(t, true);
}

/* ---- Atomic helpers ------------------------------------------------------------------------ */

/* The checks every helper makes before it takes the lock. */
static int check_change(store *db, store_model *m, const char *call)
{
    if (!db)
        return rs_error_set(NULL, STORE_EINVAL, "%s: the store is NULL", call);
    if (!m || m->db != db)
        return rs_error_set(db, STORE_EINVAL, "%s: %s", call,
                            !m ? "the model is NULL" : "the model is not of this store");
    int rc = rs_store_check_writable(db);
    return rc ? rc : rs_store_check_not_reading(db, call);
}

/* Prefixes the detail of the failure RC with "row K: ". */
static int name_row(store *db, int rc, size_t k)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%s", rs_error_get(db));
    return rs_error_set(db, rc, "row %zu: %s", k, detail);
}

int store_create_many(store *db, store_model *model, const store_value *const *rows,
                      size_t n, store_obj **out, uint64_t *first_id)
{
    int rc = check_change(db, model, "store_create_many");
    if (!rc && !rows && n)
        rc = rs_error_set(db, STORE_EINVAL, "store_create_many: ROWS is NULL");
    for (size_t k = 0; !rc && k < n; k++)
        if (!rows[k])
            rc = rs_error_set(db, STORE_EINVAL, "store_create_many: row %zu is NULL", k);
    if (rc)
        return rc;
    rs_lock_write(&db->lock);
    uint64_t first = model->next_id, join_seq = db->join_seq;
    if (first_id)
        *first_id = first;
    /* Inside a transaction, a level of its own: a failed row rolls back the rows before it.
     * Outside one, the rows are the newest objects, so undoing them needs no log: each is
     * taken out again, newest first (rs_delete_fresh()). */
    store_txn *t = NULL;
    if (db->txn && (rc = rs_txn_begin(db, db->txn, false, &t))) {
        rs_lock_unlock(&db->lock);
        return rc;
    }
    /* Rows ahead are asked to load their parents (four ahead) and those parents' last
     * children (two ahead): a parent anywhere in memory is a miss per row otherwise. */
    size_t k = 0;
    for (size_t a = 0; a < 4 && a < n; a++)
        rs_obj_prefetch(model, rows[a], false);
    for (; !rc && k < n; k++) {
        if (k + 4 < n)
            rs_obj_prefetch(model, rows[k + 4], false);
        if (k + 2 < n)
            rs_obj_prefetch(model, rows[k + 2], true);
        if ((rc = rs_obj_create(db, model, rows[k], out ? &out[k] : NULL)))
            rc = name_row(db, rc, k);
    }
    if (t && !rc)
        rs_txn_commit(t);
    else if (t)
        rs_txn_rollback(t);
    else if (rc) {
        for (size_t i = k - 1; i-- > 0;)
            rs_delete_fresh(db, rs_obj_get(model, first + i));
        model->next_id = first;
        db->join_seq = join_seq;
    }
    rs_lock_unlock(&db->lock);
    return rc ? rc : rs_store_after_write(db);
}

/* A term of LOOKUP names a field, with no lookup after it. */
static int check_lookup(store *db, store_model *m, const store_value *lookup, const char *call)
{
    if (!lookup)
        return rs_error_set(db, STORE_EINVAL, "%s: LOOKUP is NULL", call);
    for (const store_value *v = lookup; v->name; v++)
        if (strstr(v->name, "__"))
            return rs_error_set(db, STORE_EINVAL, "%s: %s.%s: LOOKUP takes fields, compared "
                                "equal", call, m->name, v->name);
    return STORE_OK;
}

/* LOOKUP's values for the fields DEFAULTS does not name, then DEFAULTS, in a new list. */
static store_value *merged(const store_value *lookup, const store_value *defaults)
{
    size_t nl = 0, nd = 0;
    while (lookup[nl].name)
        nl++;
    while (defaults && defaults[nd].name)
        nd++;
    store_value *v = malloc((nl + nd + 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < nl; i++) {
        bool given = false;
        for (size_t j = 0; j < nd && !given; j++)
            given = !strcmp(lookup[i].name, defaults[j].name);
        if (!given)
            v[n++] = lookup[i];
    }
    for (size_t j = 0; j < nd; j++)
        v[n++] = defaults[j];
    v[n] = (store_value){0};
    return v;
}

/* store_get_or_create(), and store_update_or_create() when UPDATE. */
static int get_or_create(store *db, store_model *m, const store_value *lookup,
                         const store_value *defaults, store_obj **out, bool *created,
                         bool update, const char *call)
{
    if (out)
        *out = NULL;
    if (created)
        *created = false;
    int rc = check_change(db, m, call);
    if (!rc)
        rc = check_lookup(db, m, lookup, call);
    if (!rc && !out)
        rc = rs_error_set(db, STORE_EINVAL, "%s: OUT is NULL", call);
    if (rc)
        return rc;
    store_query *q;
    if ((rc = store_query_new(db, m, &q)))
        return rc;
    rc = store_query_filter(q, lookup);
    rs_lock_write(&db->lock); /* the query's runs nest inside */
    store_obj *o = NULL;
    if (!rc)
        rc = store_query_get(q, NULL, &o);
    if (rc == STORE_ENOTFOUND) {
        store_value *v = merged(lookup, defaults);
        rc = v ? rs_obj_create(db, m, v, &o)
               : rs_error_set(db, STORE_ENOMEM, "%s: out of memory", call);
        free(v);
        if (!rc && created)
            *created = true;
    } else if (!rc && update && defaults) {
        rc = rs_obj_update(db, o, defaults);
    }
    rs_lock_unlock(&db->lock);
    store_query_free(q);
    if (rc)
        return rc;
    *out = o;
    return rs_store_after_write(db);
}

int store_get_or_create(store *db, store_model *model, const store_value *lookup,
                        const store_value *defaults, store_obj **out, bool *created)
{
    return get_or_create(db, model, lookup, defaults, out, created, false,
                         "store_get_or_create");
}

int store_update_or_create(store *db, store_model *model, const store_value *lookup,
                           const store_value *defaults, store_obj **out, bool *created)
{
    return get_or_create(db, model, lookup, defaults, out, created, true,
                         "store_update_or_create");
}
