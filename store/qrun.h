/*
 * store/qrun.h - running a built query (store/qrun.c). Each call runs under the store's read
 * lock, taken by the caller, with R bound by rs_query_bind().
 */
#ifndef RS_STORE_QRUN_H
#define RS_STORE_QRUN_H

#include "store/query.h"

/* rs_qrun_find() - store_query_find(). STORE_OK or STORE_ENOMEM. */
int rs_qrun_find(const rs_qrun *r, store_result *out);

/* rs_qrun_count(), rs_qrun_exists() - store_query_count(), store_query_exists(). */
int rs_qrun_count(const rs_qrun *r, size_t *out);
int rs_qrun_exists(const rs_qrun *r, bool *out);

/* rs_qrun_first(), rs_qrun_get() - store_query_first(), store_query_get(). */
int rs_qrun_first(const rs_qrun *r, store_obj **out);
int rs_qrun_get(const rs_qrun *r, store_obj **out);

/* rs_qrun_visit() - store_query_visit(). */
int rs_qrun_visit(const rs_qrun *r, bool (*fn)(store_obj *obj, void *arg), void *arg);

/* rs_qrun_aggregate() - store_query_aggregate(). */
int rs_qrun_aggregate(const rs_qrun *r, store_agg *aggs);

/* rs_qrun_group_count() - store_query_group_count(). */
int rs_qrun_group_count(const rs_qrun *r, const char *path, store_groups *out);

/* rs_qrun_scan() - store_query_scan(). */
int rs_qrun_scan(const rs_qrun *r, uint64_t *pos, store_obj **out);

/* rs_qrun_explain() - store_query_explain(). */
int rs_qrun_explain(const rs_qrun *r, char *buf, size_t size);

/* rs_qrun_update(), rs_qrun_delete() - store_query_update(), store_query_delete(), under the
 * write lock: all or nothing. */
int rs_qrun_update(const rs_qrun *r, const store_value *values, size_t *n);
int rs_qrun_delete(const rs_qrun *r, size_t *n);

#endif
