/*
 * store/object.h - objects: create, read, update, delete, and the links between them.
 *
 * Every function here runs with the store's lock held by the caller (api/): the write lock
 * for those that change anything, at least the read lock for the others.
 */
#ifndef RS_STORE_OBJECT_H
#define RS_STORE_OBJECT_H

#include <store.h>

#include "store/model.h"
#include "store/txn.h"

/* rs_obj_create() - store_create() under the write lock; all or nothing. */
int rs_obj_create(store *db, store_model *m, const store_value *v, store_obj **out);

/* rs_obj_prefetch() - start loading what creating an object of M from V will touch of the
 * objects V refers to: their slots, and (TAILS, once a slot has had time to arrive) the last
 * child each will append after. A create of many (store_create_many()) asks it for rows
 * ahead of the one it makes, so that their misses overlap. Reads only; V is not checked (a
 * value that is no live parent is passed over). */
void rs_obj_prefetch(const store_model *m, const store_value *v, bool tails);

/* rs_obj_update() - store_update() under the write lock; all or nothing. */
int rs_obj_update(store *db, store_obj *o, const store_value *v);

/* rs_delete_obj() - store_delete() under the write lock; all or nothing (store/delete.c). */
int rs_delete_obj(store *db, store_obj *o);

/* rs_delete_fresh() - undo the create of O, the object of M created last, outside a
 * transaction: out of its relations and indexes, its mark cleared, its slot emptied. The
 * caller puts M's next id and the join sequence back (store_create_many()). */
void rs_delete_fresh(store *db, store_obj *o);

/* rs_delete_objs() - delete the N living objects OBJS (N > 0) and what their on_delete rules
 * reach, all or nothing, under the write lock. */
int rs_delete_objs(store *db, store_obj *const *objs, size_t n);

/* rs_obj_update_many() - give each of the N living objects OBJS of M the values V, all or
 * nothing, under the write lock: V is checked once (also when N is 0); a .unique field set
 * (not to null) on more than one object is STORE_ECONSTRAINT; every string is copied before
 * any object changes. */
int rs_obj_update_many(store *db, store_model *m, store_obj *const *objs, size_t n,
                       const store_value *v);

/*
 * rs_obj_get() - the live object of M with ID, or NULL. Two loads: the chunk, the slot.
 * Needs no lock: a create publishes the id last (rs_obj_publish()), after every field, so
 * a reader that finds the id finds the object whole.
 */
static inline store_obj *rs_obj_get(const store_model *m, uint64_t id)
{
    store_obj *o = rs_arena_at(&m->arena, id);
    return o && id && __atomic_load_n(&o->id, __ATOMIC_ACQUIRE) == id ? o : NULL;
}

/* rs_obj_publish() - O now holds ID (0: O is dead), for readers holding no lock. */
static inline void rs_obj_publish(store_obj *o, uint64_t id)
{
    store *db = o->model->db;
    if (rs_txn_logging(db))
        rs_txn_log_word(db, &o->id);
    __atomic_store_n(&o->id, id, __ATOMIC_RELEASE);
}

/* rs_obj_live() - whether O is a live object (not deleted). */
static inline bool rs_obj_live(const store_obj *o)
{
    return o->id != 0 && rs_obj_get(o->model, o->id) == o;
}

/* rs_obj_get_by() - store_get_by() under the read lock. */
int rs_obj_get_by(store *db, store_model *m, const store_fld *f, const store_value *v,
                  store_obj **out);

/*
 * rs_obj_link_join() - append CHILD to PARENT's reverse relation of foreign key FK, recording
 * SEQ as the moment it joined (the loader gives the one from the file).
 */
void rs_obj_link_join(const store_fld *fk, store_obj *parent, store_obj *child, uint64_t seq);

/* rs_obj_str_new() - a store string of M: a copy of the LEN bytes at S, NUL-ended, or NULL
 * (store/strings.h says where it lives). */
char *rs_obj_str_new(store_model *m, const char *s, size_t len);

/* rs_obj_str_free() - free a store string; NULL is allowed. */
void rs_obj_str_free(char *s);

/*
 * rs_obj_str_set_fresh() - give field F of O, an object not yet published, the LEN bytes at S:
 * inside the slot if they fit, else a string of their own. 0, or -1 when out of memory.
 */
int rs_obj_str_set_fresh(store_obj *o, const store_fld *f, const char *s, size_t len);

/* rs_obj_str_drop() - free string S of O's field F unless it lives inside the slot. */
static inline void rs_obj_str_drop(const store_obj *o, const store_fld *f, char *s)
{
    if (s != rs_str_inline(o, f))
        rs_txn_str_retire(o->model->db, s); /* kept until the commit in a transaction */
}

/* rs_obj_link_remove() - take CHILD out of PARENT's reverse relation of foreign key FK. */
void rs_obj_link_remove(const store_fld *fk, store_obj *parent, store_obj *child);

/* rs_obj_mark_dirty() - record that O was created or changed (only when the store has a file).
 * Never fails: the marks sit beside the slots. */
void rs_obj_mark_dirty(store_obj *o);

/* rs_obj_mark_tomb() - record that O is deleted (before its slot is emptied). */
void rs_obj_mark_tomb(store_obj *o);

/* rs_obj_strings_free() - free the strings O holds (before its slot is emptied). */
void rs_obj_strings_free(store_obj *o);

/*
 * rs_obj_bury() - empty the slot of O, a deleted object: its id becomes 0 first, then each
 * string word is swapped for 0 before its string is freed, and every other word becomes 0,
 * all with atomic stores. A reader holding no lock sees the object whole or dead (id 0, null
 * fields); only a string pointer it loaded before the swap can reach freed memory, which
 * store.h forbids using across a delete. The model word stays, so that a call given the
 * dead object can name its model, until the chunk gives its pages back (then it reads NULL).
 */
static inline void rs_obj_bury(store_obj *o)
{
    const store_model *m = o->model;
    store *db = m->db;
    size_t words = (m->arena.slot_size - sizeof *o) / sizeof o->w[0];
    if (rs_txn_logging(db)) /* a rollback puts every word back: log them first */
        for (size_t i = 0; i < words; i++)
            rs_txn_log_word(db, &o->w[i]);
    rs_obj_publish(o, 0);
    for (uint32_t j = 0; j < m->nfields; j++) {
        const store_fld *f = &m->fields[j];
        if (!rs_is_string(f))
            continue;
        uint64_t w = __atomic_exchange_n(&o->w[f->word], 0, __ATOMIC_ACQ_REL);
        if (w && !(w & 1)) /* its own allocation, not bytes inside the slot */
            rs_txn_str_retire(db, (char *)(uintptr_t)w);
    }
    for (size_t i = 0; i < words; i++)
        __atomic_store_n(&o->w[i], 0, __ATOMIC_RELAXED);
}

#endif
