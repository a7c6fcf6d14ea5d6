/*
 * store/uniq.c - unique_together (store_schema_unique()): one hash table per set of fields.
 *
 * The key of an object is XXH3 over its values of the set's fields, each hashed with the key
 * of the ones before as the seed (a string's bytes; any other value's word: a number, the
 * bits of a double, a parent's address). The table maps a key to the one object holding
 * those values; values whose keys collide are told apart by comparing them. An object with a
 * null among them is not filed: nulls never clash (as SQL's UNIQUE). A create, an update of
 * one of the fields, a delete and a load each cost one probe.
 *
 * Callers hold the write lock to change a table and at least the read lock to look one up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "store/error.h"
#include "store/txn.h"
#include "store/uniq.h"

uint64_t rs_uniq_key(const rs_uniq *u, const rs_probe *p)
{
    uint64_t key = 0;
    for (uint32_t i = 0; i < u->n; i++) {
        const store_fld *f = u->fields[i];
        key = rs_is_string(f) ? XXH3_64bits_withSeed((const char *)(uintptr_t)p[i].w,
                                                     p[i].len, key)
                              : XXH3_64bits_withSeed(&p[i].w, sizeof p[i].w, key);
    }
    return key;
}

bool rs_uniq_probe(const rs_uniq *u, const store_obj *o, rs_probe *p)
{
    for (uint32_t i = 0; i < u->n; i++) {
        if (rs_field_null(u->fields[i], o))
            return false;
        p[i] = rs_vindex_probe(u->fields[i], o);
    }
    return true;
}

bool rs_uniq_same(const rs_uniq *u, const rs_probe *q, const rs_probe *p)
{
    for (uint32_t i = 0; i < u->n; i++) {
        if (!rs_is_string(u->fields[i])) {
            if (q[i].w != p[i].w)
                return false;
        } else if (q[i].len != p[i].len || memcmp((const char *)(uintptr_t)q[i].w,
                                                  (const char *)(uintptr_t)p[i].w, p[i].len)) {
            return false;
        }
    }
    return true;
}

/* Whether O holds the values P. */
static bool holds(const rs_uniq *u, const store_obj *o, const rs_probe *p)
{
    rs_probe q[RS_UNIQ_FIELDS_MAX];
    return rs_uniq_probe(u, o, q) && rs_uniq_same(u, q, p);
}

store_obj *rs_uniq_find(const rs_uniq *u, const rs_probe *p, const store_obj *except)
{
    uint64_t key = rs_uniq_key(u, p);
    size_t pos = 0;
    for (store_obj *h; (h = rs_hash_next(&u->idx, key, &pos));)
        if (h != except && holds(u, h, p))
            return h;
    return NULL;
}

int rs_uniq_reserve(rs_uniq *u, size_t n)
{
    return rs_hash_reserve(&u->idx, n);
}

/* Logs and makes the change KIND (RS_UNDO_PUT: an add; RS_UNDO_DEL: a remove) of O's entry
 * in U's table; nothing when one of O's values is null. */
static void change(rs_uniq *u, store_obj *o, int kind)
{
    rs_probe p[RS_UNIQ_FIELDS_MAX];
    if (!rs_uniq_probe(u, o, p))
        return;
    uint64_t key = rs_uniq_key(u, p);
    store *db = o->model->db;
    if (rs_txn_logging(db))
        rs_txn_log(db, (rs_undo){.kind = kind, .p = &u->idx, .a = key, .b = o});
    if (kind == RS_UNDO_DEL)
        rs_hash_del(&u->idx, key, o);
    else
        (void)rs_hash_put(&u->idx, key, o); /* reserved by the caller: cannot fail */
}

void rs_uniq_add(rs_uniq *u, store_obj *o)
{
    change(u, o, RS_UNDO_PUT);
}

void rs_uniq_remove(rs_uniq *u, store_obj *o)
{
    change(u, o, RS_UNDO_DEL);
}

bool rs_uniq_has(const rs_uniq *u, const store_fld *f)
{
    for (uint32_t i = 0; i < u->n; i++)
        if (u->fields[i] == f)
            return true;
    return false;
}

const char *rs_uniq_names(const rs_uniq *u, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < u->n && at < size; i++) {
        int n = snprintf(buf + at, size - at, "%s%s", i ? ", " : "", u->fields[i]->name);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return buf;
}

int rs_uniq_check(store *db, const rs_uniq *u)
{
    const store_model *m = u->fields[0]->model;
    char names[128];
    uint64_t pos = 0;
    size_t filed = 0;
    for (const store_obj *o; (o = rs_arena_scan(&m->arena, &pos));) {
        rs_probe p[RS_UNIQ_FIELDS_MAX];
        if (!rs_uniq_probe(u, o, p))
            continue;
        filed++;
        uint64_t key = rs_uniq_key(u, p);
        size_t at = 0;
        bool found = false;
        for (store_obj *h; (h = rs_hash_next(&u->idx, key, &at));) {
            if (h == o)
                found = true;
            else if (holds(u, h, p))
                return rs_error_set(db, STORE_ECORRUPT, "%s %" PRIu64 " and %" PRIu64 ": the "
                                    "values of (%s) repeat", m->name, o->id, h->id,
                                    rs_uniq_names(u, names, sizeof names));
        }
        if (!found)
            return rs_error_set(db, STORE_ECORRUPT, "%s %" PRIu64 ": not filed under its "
                                "values of (%s)", m->name, o->id,
                                rs_uniq_names(u, names, sizeof names));
    }
    if (filed != u->idx.count)
        return rs_error_set(db, STORE_ECORRUPT, "%s (%s): %zu entries for %zu objects", m->name,
                            rs_uniq_names(u, names, sizeof names), (size_t)u->idx.count, filed);
    return STORE_OK;
}
