/*
 * store/vindex.h - value indexes: the objects of a model by the value of a .unique or .index
 * field.
 */
#ifndef RS_STORE_VINDEX_H
#define RS_STORE_VINDEX_H

#include "store/model.h"

/* A value to look for: the field's word, and for a string its length in bytes. */
typedef struct rs_probe {
    uint64_t w;
    size_t len;
} rs_probe;

/* rs_vindex_probe() - the probe for the value O holds in F. */
rs_probe rs_vindex_probe(const store_fld *f, const store_obj *o);

/* rs_vindex_reserve() - room for one more value in F's index; 0 or -1 (out of memory). */
int rs_vindex_reserve(store_fld *f);

/*
 * rs_vindex_add() - file O, whose id is ID (a create files it before publishing the id) and
 * whose value in F is set and not null, in its place in its group (by id: see vindex.c for
 * the costs). Reserved: cannot fail.
 */
void rs_vindex_add(store_fld *f, store_obj *o, uint64_t id);

/* rs_vindex_remove() - take O out of F's index (its value still set, not null). */
void rs_vindex_remove(store_fld *f, store_obj *o);

/* rs_vindex_find() - the object other than EXCEPT holding P in F with the smallest id, or
 * NULL. O(1) besides the hash probe: a group's head is its smallest id. */
store_obj *rs_vindex_find(const store_fld *f, rs_probe p, const store_obj *except);

/* rs_vindex_check() - rs_check_store() for F's index: STORE_OK or STORE_ECORRUPT, detail set. */
int rs_vindex_check(store *db, const store_fld *f);

#endif
