/*
 * store/vindex.c - value indexes: one hash entry per distinct value, the holders in a group.
 *
 * The hash table maps a value's key (XXH3 of a string's bytes; the number itself; a
 * parent's address) to the first object holding that value, the group's head. Two values
 * whose keys collide get two entries under the same key, told apart by comparing values.
 * A .unique field's group has one member. An .index field's group is an intrusive list
 * through two link words of each member (f->ilink): next is NULL-terminated, and the head's
 * prev is the tail, so joining at the end and leaving from anywhere are O(1) however many
 * objects share a value: no cluster of equal keys ever builds up in the table.
 *
 * Callers hold the write lock to change an index and the read lock to look one up.
 */
#include <inttypes.h>
#include <string.h>
#include <xxhash.h>

#include "store/error.h"
#include "store/vindex.h"

static uint64_t key_of(const store_fld *f, rs_probe p)
{
    return rs_is_string(f) ? XXH3_64bits((const char *)(uintptr_t)p.w, p.len) : p.w;
}

rs_probe rs_vindex_probe(const store_fld *f, const store_obj *o)
{
    rs_probe p = {.w = rs_word(o, f->word), .len = 0};
    if (rs_is_string(f)) {
        const char *s = rs_str_decode(o, f, p.w);
        p.w = (uint64_t)(uintptr_t)s;
        p.len = rs_str_len(s);
    }
    return p;
}

/* Whether O holds the value P in F. */
static bool holds(const store_fld *f, const store_obj *o, rs_probe p)
{
    uint64_t w = rs_word(o, f->word);
    if (!rs_is_string(f))
        return w == p.w;
    const char *s = rs_str_decode(o, f, w);
    return rs_str_len(s) == p.len && !memcmp(s, (const char *)(uintptr_t)p.w, p.len);
}

/* The head of the group holding P, or NULL. */
static store_obj *group_of(const store_fld *f, rs_probe p, uint64_t key)
{
    size_t pos = 0;
    for (store_obj *h; (h = rs_hash_next(&f->vidx, key, &pos));)
        if (holds(f, h, p))
            return h;
    return NULL;
}

static store_obj *next_of(const store_fld *f, const store_obj *o)
{
    return rs_word_ptr(o, f->ilink);
}

static store_obj *prev_of(const store_fld *f, const store_obj *o)
{
    return rs_word_ptr(o, f->ilink + 1);
}

int rs_vindex_reserve(store_fld *f)
{
    return rs_hash_reserve(&f->vidx, 1);
}

void rs_vindex_add(store_fld *f, store_obj *o)
{
    rs_probe p = rs_vindex_probe(f, o);
    uint64_t key = key_of(f, p);
    store_obj *head = f->unique ? NULL : group_of(f, p, key);
    if (!head) {
        if (!f->unique) {
            rs_word_set_ptr(o, f->ilink, NULL);
            rs_word_set_ptr(o, f->ilink + 1, o);
        }
        rs_hash_put(&f->vidx, key, o); /* reserved by the caller: cannot fail */
        return;
    }
    store_obj *tail = prev_of(f, head);
    rs_word_set_ptr(tail, f->ilink, o);
    rs_word_set_ptr(o, f->ilink, NULL);
    rs_word_set_ptr(o, f->ilink + 1, tail);
    rs_word_set_ptr(head, f->ilink + 1, o);
}

void rs_vindex_remove(store_fld *f, store_obj *o)
{
    uint64_t key = key_of(f, rs_vindex_probe(f, o));
    if (f->unique) {
        rs_hash_del(&f->vidx, key, o);
        return;
    }
    store_obj *head = group_of(f, rs_vindex_probe(f, o), key);
    store_obj *next = next_of(f, o), *prev = prev_of(f, o);
    if (o == head) {
        if (next) {
            rs_word_set_ptr(next, f->ilink + 1, prev); /* the tail */
            rs_hash_replace(&f->vidx, key, o, next);
        } else {
            rs_hash_del(&f->vidx, key, o);
        }
    } else {
        rs_word_set_ptr(prev, f->ilink, next);
        rs_word_set_ptr(next ? next : head, f->ilink + 1, prev);
    }
    rs_word_set_ptr(o, f->ilink, NULL);
    rs_word_set_ptr(o, f->ilink + 1, NULL);
}

store_obj *rs_vindex_find(const store_fld *f, rs_probe p, const store_obj *except)
{
    store_obj *best = NULL;
    store_obj *o = group_of(f, p, key_of(f, p));
    for (; o; o = f->unique ? NULL : next_of(f, o))
        if (o != except && (!best || o->id < best->id))
            best = o;
    return best;
}

/* ---- Checking ----------------------------------------------------------------------------- */

#define FAIL(db, ...) rs_error_set(db, STORE_ECORRUPT, __VA_ARGS__)

/* Checks the group headed by H; adds its size to *N. */
static int check_group(store *db, const store_fld *f, const store_obj *h, uint64_t key, size_t *n)
{
    const store_model *m = f->model;
    rs_probe p = rs_vindex_probe(f, h);
    const store_obj *prev = f->unique ? h : prev_of(f, h), *last = h;
    if (key_of(f, p) != key)
        return FAIL(db, "%s.%s: %s %" PRIu64 " filed under another key", m->name, f->name,
                    m->name, h->id);
    for (const store_obj *o = h; o; o = f->unique ? NULL : next_of(f, o)) {
        if (++*n > m->count || o->model != m || o->id == 0 || !holds(f, o, p))
            return FAIL(db, "%s.%s: a group holds a dead object or another value", m->name,
                        f->name);
        if (!f->unique && o != h && prev_of(f, o) != last)
            return FAIL(db, "%s.%s: %s %" PRIu64 " is badly linked", m->name, f->name, m->name,
                        o->id);
        last = o;
    }
    if (prev != last)
        return FAIL(db, "%s.%s: a group's tail is wrong", m->name, f->name);
    size_t pos = 0, same = 0;
    for (const store_obj *x; (x = rs_hash_next(&f->vidx, key, &pos));)
        same += holds(f, x, p);
    if (same != 1)
        return FAIL(db, "%s.%s: one value has %zu groups", m->name, f->name, same);
    return STORE_OK;
}

int rs_vindex_check(store *db, const store_fld *f)
{
    size_t pos = 0, filed = 0, non_null = 0;
    for (const rs_hash_entry *e; (e = rs_hash_scan(&f->vidx, &pos));) {
        int rc = check_group(db, f, e->val, e->key, &filed);
        if (rc)
            return rc;
    }
    uint64_t id = 0;
    for (const store_obj *o; (o = rs_arena_scan(&f->model->arena, &id));)
        non_null += !rs_field_null(f, o);
    if (filed != non_null)
        return FAIL(db, "%s.%s: %zu objects filed, %zu values", f->model->name, f->name, filed,
                    non_null);
    return STORE_OK;
}
