/*
 * store/m2m.h - many-to-many relations (store/m2m.c says how they are kept).
 */
#ifndef RS_STORE_M2M_H
#define RS_STORE_M2M_H

#include <store.h>

#include "store/model.h"

/* rs_m2m_link_find() - the link of O (of R's side) and OTHER (of the far side) other than
 * SKIP, or NULL. Walks the shorter of their two lists. */
store_obj *rs_m2m_link_find(const rs_m2m *r, const store_obj *o, const store_obj *other,
                            const store_obj *skip);

/* rs_m2m_pair_check() - STORE_ECONSTRAINT (detail set) if a link of through model T other
 * than SELF already links NEAR and FAR (the parents a create or update of SELF would give
 * its two keys, in the order of T's declaring side); STORE_OK when either is NULL. */
int rs_m2m_pair_check(store *db, const store_model *t, const store_obj *near,
                      const store_obj *far, const store_obj *self);

/* rs_m2m_add(), rs_m2m_remove(), rs_m2m_clear(), rs_m2m_move() - store_m2m_add() and the
 * others, on living objects of the right models, under the write lock. */
int rs_m2m_add(store *db, const rs_m2m *r, store_obj *o, store_obj *other,
               const store_value *payload, store_obj **link);
int rs_m2m_remove(store *db, const rs_m2m *r, store_obj *o, store_obj *other);
int rs_m2m_clear(store *db, const rs_m2m *r, store_obj *o);
int rs_m2m_move(store *db, const rs_m2m *r, store_obj *o, size_t from, size_t to);

#endif
