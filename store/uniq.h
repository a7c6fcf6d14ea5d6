/*
 * store/uniq.h - unique_together: no two objects of a model share all the values of a set of
 * fields (store_schema_unique()); nulls never clash.
 */
#ifndef RS_STORE_UNIQ_H
#define RS_STORE_UNIQ_H

#include "store/model.h"
#include "store/vindex.h"

/* The most fields one set may hold. */
#define RS_UNIQ_FIELDS_MAX 16

/* rs_uniq_probe() - the probes of O's values of U's fields into P; false when one is null. */
bool rs_uniq_probe(const rs_uniq *u, const store_obj *o, rs_probe *p);

/* rs_uniq_key() - the key of the values P of U's fields. */
uint64_t rs_uniq_key(const rs_uniq *u, const rs_probe *p);

/* rs_uniq_same() - whether the values Q and P of U's fields are the same. */
bool rs_uniq_same(const rs_uniq *u, const rs_probe *q, const rs_probe *p);

/* rs_uniq_find() - the object other than EXCEPT whose values of U's fields are P, or NULL. */
store_obj *rs_uniq_find(const rs_uniq *u, const rs_probe *p, const store_obj *except);

/* rs_uniq_reserve() - room in U's table for N more entries: 0, or -1 when out of memory. */
int rs_uniq_reserve(rs_uniq *u, size_t n);

/* rs_uniq_add(), rs_uniq_remove() - file O under its values of U's fields, or take it out
 * (nothing when one is null). Logged inside a transaction; an add needs room reserved
 * before, a remove never allocates. */
void rs_uniq_add(rs_uniq *u, store_obj *o);
void rs_uniq_remove(rs_uniq *u, store_obj *o);

/* rs_uniq_has() - whether F is one of U's fields. */
bool rs_uniq_has(const rs_uniq *u, const store_fld *f);

/* rs_uniq_check() - every entry of U's table is a live object filed under its values, every
 * live object with no null among them is filed, and no two share them. STORE_ECORRUPT
 * (detail set) or STORE_OK. */
int rs_uniq_check(store *db, const rs_uniq *u);

/* rs_uniq_names() - "a, b, c": U's field names, into BUF of SIZE bytes. */
const char *rs_uniq_names(const rs_uniq *u, char *buf, size_t size);

#endif
