/*
 * store_async.h - relstore on a libuv loop: requests that run on libuv's thread pool.
 *
 * Modelled on libuv's uv_fs_t: the caller owns the request (usually embedded in its own
 * struct, found again through req->data); arguments are copied at the call, so the caller's
 * arrays and strings may go at once; the work runs on libuv's thread pool, and the callback
 * runs on the loop's thread with req->result set to the code the synchronous call would
 * return. The loop's thread never waits on the store's lock or on the disk.
 *
 * Every request that was submitted (the call returned STORE_OK) gets its callback exactly
 * once, also when cancelled (STORE_ECANCELED). If the call itself fails, the callback is
 * never called. A request may be reused once its callback has run and store_req_cleanup()
 * has freed what it held. store_close() returns STORE_EBUSY while requests of that store are
 * out: run the loop until their callbacks have come, then close.
 *
 * As with libuv's own requests, submit and cancel from the loop's thread (the store itself
 * may be used from any thread meanwhile).
 */
#ifndef STORE_ASYNC_H
#define STORE_ASYNC_H

#include <store.h>

/* libuv's <uv.h> declares POSIX thread types (its read-write lock and barrier types), which a
 * strict -std=c99 or -std=c11 hides unless a feature macro asks for them: say so here, at the
 * include that needs them, rather than with an error from inside libuv. */
#if defined(__STRICT_ANSI__) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) &&     \
    !defined(_BSD_SOURCE) && !(defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L) && \
    !(defined(_XOPEN_SOURCE) && _XOPEN_SOURCE >= 600)
#error "store_async.h includes <uv.h>, which needs POSIX: compile with -std=gnu11, or with -std=c11 -D_POSIX_C_SOURCE=200809L (defined before any #include)"
#endif
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct store_req store_req;
typedef void (*store_cb)(store_req *req);

struct store_req {
    void *data;       /* the caller's */
    int result;       /* STORE_OK or a STORE_E* code, set before cb runs */
    store_obj *obj;   /* create, get: the object */
    store_obj **objs; /* reverse, query find: the objects, owned by the request */
    size_t count;     /* reverse, query find: how many; query count, update, delete: *N */
    /* private fields follow */
    uv_work_t priv_work;
    store *priv_db;
    store_cb priv_cb;
    int priv_op;
    store_model *priv_model;
    store_obj *priv_target;
    uint64_t priv_id;
    store_value *priv_values; /* the copied values, strings and names in the same block */
    char *priv_name;          /* reverse: the copied related name */
    int priv_state;           /* queued, cancelled, done: touched on the loop's thread only */
    const store_query *priv_query;
    store_value *priv_binds; /* the copied binds, lists and strings in the same block */
    int (*priv_fn)(store *db, void *arg); /* atomic: the function, and its argument */
    void *priv_arg;
    store_obj *priv_other; /* many-to-many: the far object */
    size_t priv_from, priv_to; /* many-to-many: a move's positions */
};

/*
 * store_snapshot_async() - store_snapshot() on the thread pool. REQ is the caller's, left
 * untouched by the store until CB has run; CB runs on LOOP's thread with the code
 * store_snapshot() would return. Snapshots of one store run one at a time. Returns STORE_OK,
 * or STORE_EINVAL (a NULL argument) and then CB is never called.
 */
STORE_API int store_snapshot_async(uv_loop_t *loop, store_req *req, store *db, store_cb cb);

/*
 * store_create_async() - store_create() on the thread pool; on success req->obj is the new
 * object. VALUES (names and strings included) are copied before this returns. Returns
 * STORE_OK, STORE_EINVAL (a NULL argument, a model of another store, an unknown value kind)
 * or STORE_ENOMEM; on failure CB is never called.
 */
STORE_API int store_create_async(uv_loop_t *loop, store_req *req, store *db, store_model *m,
                                 const store_value *values, store_cb cb);

/* store_get_async() - store_get() on the thread pool; req->obj is the object or NULL. Like
 * store_get() it takes no lock, so it does not wait for a transaction (store.h). */
STORE_API int store_get_async(uv_loop_t *loop, store_req *req, store *db, store_model *m,
                              uint64_t id, store_cb cb);

/*
 * store_reverse_async() - the children of OBJ in RELATED_NAME, copied under the store's
 * read lock into req->objs (req->count of them, in walk order). The array belongs to the
 * request: store_req_cleanup() frees it; the objects stay the store's. An unknown name gives
 * STORE_EINVAL in the callback. RELATED_NAME is copied before this returns.
 */
STORE_API int store_reverse_async(uv_loop_t *loop, store_req *req, store *db,
                                  const store_obj *obj, const char *related_name, store_cb cb);

/* store_update_async() - store_update() on the thread pool; VALUES are copied at the call. */
STORE_API int store_update_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                                 const store_value *values, store_cb cb);

/* store_delete_async() - store_delete() on the thread pool. */
STORE_API int store_delete_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                                 store_cb cb);

/*
 * store_query_find_async() - store_query_find() on the thread pool: req->objs (req->count of
 * them) are the objects in order, an array the request owns (store_req_cleanup() frees it).
 * BINDS (names, strings and the items of lists included) are copied before this returns; Q
 * is not: it is the caller's, and must stay alive and unchanged until CB has run (several
 * requests may run one query at once). Returns STORE_OK, STORE_EINVAL (a NULL argument, a
 * bind of an unknown kind) or STORE_ENOMEM; on failure CB is never called.
 */
STORE_API int store_query_find_async(uv_loop_t *loop, store_req *req, const store_query *q,
                                     const store_value *binds, store_cb cb);

/* store_query_count_async() - store_query_count() on the thread pool, into req->count. */
STORE_API int store_query_count_async(uv_loop_t *loop, store_req *req, const store_query *q,
                                      const store_value *binds, store_cb cb);

/* store_query_update_async() - store_query_update() on the thread pool; VALUES are copied at
 * the call; req->count is how many objects changed. */
STORE_API int store_query_update_async(uv_loop_t *loop, store_req *req, const store_query *q,
                                       const store_value *binds, const store_value *values,
                                       store_cb cb);

/* store_query_delete_async() - store_query_delete() on the thread pool; req->count is how many
 * matched. */
STORE_API int store_query_delete_async(uv_loop_t *loop, store_req *req, const store_query *q,
                                       const store_value *binds, store_cb cb);

/*
 * store_atomic_async() - store_atomic(DB, FN, ARG) on the thread pool: FN runs on a pool
 * thread inside a transaction of its own (committed if FN returns STORE_OK, else rolled
 * back), and CB runs on LOOP's thread with the code store_atomic() would return. FN may use
 * every synchronous call on DB; it must not wait for the loop (the loop's thread never holds
 * the transaction, so it may still submit requests, which wait for the transaction's end on
 * their pool threads). ARG is the caller's, untouched by the store. Returns STORE_OK or
 * STORE_EINVAL (a NULL argument); on failure CB is never called.
 */
STORE_API int store_atomic_async(uv_loop_t *loop, store_req *req, store *db,
                                 int (*fn)(store *db, void *arg), void *arg, store_cb cb);

/*
 * store_m2m_add_async(), store_m2m_remove_async(), store_m2m_clear_async() - store_m2m_add()
 * (req->obj is the link), store_m2m_remove() and store_m2m_clear() on the thread pool. NAME
 * and PAYLOAD (names and strings included) are copied before this returns. Returns STORE_OK,
 * STORE_EINVAL (a NULL argument other than PAYLOAD, an object of another store, an unknown
 * value kind) or STORE_ENOMEM; on failure CB is never called. What NAME must name, and the
 * objects' models, are checked when the request runs (the code reaches CB).
 */
STORE_API int store_m2m_add_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                                  const char *name, store_obj *other,
                                  const store_value *payload, store_cb cb);
STORE_API int store_m2m_remove_async(uv_loop_t *loop, store_req *req, store *db,
                                     store_obj *obj, const char *name, store_obj *other,
                                     store_cb cb);
STORE_API int store_m2m_clear_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                                    const char *name, store_cb cb);
/* store_m2m_move_async() - store_m2m_move() on the thread pool, as the three above. */
STORE_API int store_m2m_move_async(uv_loop_t *loop, store_req *req, store *db, store_obj *obj,
                                   const char *name, size_t from, size_t to, store_cb cb);

/*
 * store_m2m_async() - the objects linked to OBJ in NAME, copied under the store's read lock
 * into req->objs (req->count of them, in walk order), as store_reverse_async(). An unknown
 * NAME gives STORE_EINVAL in the callback.
 */
STORE_API int store_m2m_async(uv_loop_t *loop, store_req *req, store *db, const store_obj *obj,
                              const char *name, store_cb cb);

/*
 * store_cancel() - cancel REQ if it has not started: it then has no effect, and its callback
 * runs with STORE_ECANCELED. Returns STORE_OK (also when it is already cancelled),
 * STORE_EBUSY when it has already started or finished (its callback reports what it did),
 * or STORE_EINVAL (REQ NULL, or never submitted).
 */
STORE_API int store_cancel(store_req *req);

/* store_req_cleanup() - free what REQ holds (the copied arguments, req->objs); NULL is allowed. */
STORE_API void store_req_cleanup(store_req *req);

#ifdef __cplusplus
}
#endif

#endif
