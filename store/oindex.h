/*
 * store/oindex.h - ordered indexes: the objects of a model in the order of an .ordered field's
 * values (index/otree.c keeps them), for ranges, prefixes, sorted pages, range counts and
 * MIN / MAX without a scan.
 *
 * Every object has one entry: (the key of its value, its id + RS_OID_VALUE), or (0, its id)
 * when the value is null, so nulls come first and an order walked backwards puts them last,
 * as rs_query_cmp() orders them. The key is a 64-bit image whose unsigned order is the
 * value's: an INT with its sign bit flipped, a FLOAT's bits folded into a total order (-0
 * filed as +0), a BOOL as 0 or 1, a foreign key as its parent's id, a string's first 8 bytes
 * big-endian; strings that share those 8 bytes are ordered by reading the rest from their
 * objects (the tree's tie function), then by id.
 */
#ifndef RS_STORE_OINDEX_H
#define RS_STORE_OINDEX_H

#include "index/otree.h"
#include "store/model.h"

/* Added to an entry's id when the value is not null (ids are below 2^40). */
#define RS_OID_VALUE (UINT64_C(1) << 40)
#define RS_OID_MASK (RS_OID_VALUE - 1)

/* A whole string, for a probe whose key is only its first 8 bytes. */
typedef struct rs_ostr {
    const char *s;
    size_t len;
} rs_ostr;

/* The keys of values. */
uint64_t rs_oindex_key_int(int64_t v);
uint64_t rs_oindex_key_float(double v);
uint64_t rs_oindex_key_str(const char *s, size_t len);

/* rs_oindex_value_probe() - a probe for string S of LEN bytes (FULL: room for the whole
 * string, used when the key is only a prefix) or, with S NULL, for KEY; ID RS_OTREE_LOW
 * stands before every holder of the value, RS_OTREE_HIGH after. */
rs_oprobe rs_oindex_value_probe(uint64_t key, const char *s, size_t len, rs_ostr *full,
                                uint64_t id);

/* rs_oindex_probe() - the probe of the entry of O as it holds F now (FULL: room for a whole
 * string); its id is O's entry's. */
rs_oprobe rs_oindex_probe(const store_fld *f, const store_obj *o, rs_ostr *full);

/* rs_oindex_init() - F's empty tree, with its tie function and the store's undo hooks. */
void rs_oindex_init(store_fld *f);

/* rs_oindex_reserve() - room for N more entries in F's tree: STORE_OK or STORE_ENOMEM
 * (detail set). Inside a transaction, also the undo log's room for the nodes it makes. */
int rs_oindex_reserve(store_fld *f, size_t n);

/* rs_oindex_txn_entries(), rs_oindex_txn_bytes() - the undo entries one insert or delete in
 * F's tree may log inside a transaction, and the bytes of node images NCHANGES of them may
 * save (each node is saved once per savepoint level: never more than the tree has). */
size_t rs_oindex_txn_entries(const store_fld *f);
size_t rs_oindex_txn_bytes(const store_fld *f, size_t nchanges);

/* rs_oindex_add() - file O (whose id is, or is to be, ID) under its value of F (null or
 * not); reserved before: cannot fail. */
void rs_oindex_add(store_fld *f, store_obj *o, uint64_t id);

/* rs_oindex_remove() - take O out of F's tree; before its value changes. Never allocates. */
void rs_oindex_remove(store_fld *f, store_obj *o);

/* rs_oindex_obj() - the object of entry E. */
static inline store_obj *rs_oindex_obj(const store_fld *f, const rs_oent *e)
{
    return rs_arena_at(&f->model->arena, e->id & RS_OID_MASK);
}

/* rs_oindex_build() - F's tree, which must be empty, from the N objects OBJS (in any order),
 * in bulk. STORE_OK or STORE_ENOMEM (the tree still empty). */
int rs_oindex_build(store_fld *f, store_obj *const *objs, size_t n);

/* rs_oindex_same() - whether the entries A and B of F's tree hold the same value. */
bool rs_oindex_same(const store_fld *f, const rs_oent *a, const rs_oent *b);

/* rs_oindex_trim() - give back the nodes past a few that deletes left spare, in each
 * ordered field of M (outside a transaction only). */
void rs_oindex_trim(store_model *m);

/* rs_oindex_check() - F's tree is sound and files every object of its model once, under its
 * value, in order. STORE_OK or STORE_ECORRUPT (detail set). */
int rs_oindex_check(store *db, const store_fld *f);

#endif
