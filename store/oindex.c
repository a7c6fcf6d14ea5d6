/*
 * store/oindex.c - ordered indexes over index/otree.c (store/oindex.h says what is filed).
 *
 * Upkeep follows the value: an entry leaves the tree before its object's value changes
 * (the tie function may read that value) and comes back after, so the tree never holds an
 * entry whose object disagrees with it. Inside a transaction the tree saves each node once
 * per savepoint level before changing it (the undo hooks: store/txn.c keeps the bytes), so a
 * rollback writes the nodes back as they were instead of replaying inserts that could need
 * memory; outside one, nothing is saved.
 *
 * Callers hold the write lock to change a tree and the read lock to read one; lock-free
 * readers never look at it.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/txn.h"

/* ---- Keys ---------------------------------------------------------------------------------- */

uint64_t rs_oindex_key_int(int64_t v)
{
    return (uint64_t)v ^ (UINT64_C(1) << 63);
}

uint64_t rs_oindex_key_float(double v)
{
    if (v == 0)
        v = 0; /* -0 and +0 are one value */
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b >> 63 ? ~b : b | UINT64_C(1) << 63;
}

uint64_t rs_oindex_key_str(const char *s, size_t len)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (i < len ? (unsigned char)s[i] : 0);
    return k;
}

rs_oprobe rs_oindex_value_probe(uint64_t key, const char *s, size_t len, rs_ostr *full,
                                uint64_t id)
{
    rs_oprobe p = {.key = key, .full = NULL, .id = id};
    if (s) {
        p.key = rs_oindex_key_str(s, len);
        if (len >= 8) { /* another string may share the first 8 bytes */
            *full = (rs_ostr){s, len};
            p.full = full;
        }
    }
    if (id == RS_OTREE_LOW)
        p.id = RS_OID_VALUE; /* after the nulls, which hold key 0 too */
    return p;
}

/* The probe for the entry of O (whose id is, or is to be, ID) as it holds F now. */
static rs_oprobe probe_of(const store_fld *f, const store_obj *o, uint64_t id, rs_ostr *full)
{
    if (rs_field_null(f, o))
        return (rs_oprobe){.key = 0, .full = NULL, .id = id};
    uint64_t w = rs_field_word(o, f), key;
    switch (f->type) {
    case STORE_CHAR:
    case STORE_TEXT: {
        const char *s = rs_str_decode(o, f, w);
        return rs_oindex_value_probe(0, s, rs_str_len(s), full, id | RS_OID_VALUE);
    }
    case STORE_INT:
        key = rs_oindex_key_int((int64_t)w);
        break;
    case STORE_FLOAT: {
        double d;
        memcpy(&d, &w, sizeof d);
        key = rs_oindex_key_float(d);
        break;
    }
    case STORE_FK:
        key = ((const store_obj *)(uintptr_t)w)->id;
        break;
    default: /* STORE_BOOL */
        key = w != 0;
        break;
    }
    return (rs_oprobe){.key = key, .full = NULL, .id = id | RS_OID_VALUE};
}

rs_oprobe rs_oindex_probe(const store_fld *f, const store_obj *o, rs_ostr *full)
{
    return probe_of(f, o, o->id, full);
}

/* Orders the whole string FULL against the string of entry ID, whose key is the same. */
static int tie(const void *ctx, const void *full, uint64_t id)
{
    const store_fld *f = ctx;
    const rs_ostr *p = full;
    if (!(id & RS_OID_VALUE))
        return 1; /* a null: every value comes after */
    const char *s = rs_str_get(rs_arena_at(&f->model->arena, id & RS_OID_MASK), f);
    size_t len = rs_str_len(s), n = p->len < len ? p->len : len;
    int c = memcmp(p->s, s, n);
    return c ? c : (p->len > len) - (p->len < len);
}

/* ---- Upkeep -------------------------------------------------------------------------------- */

void rs_oindex_init(store_fld *f)
{
    store *db = f->model->db;
    rs_otree_init(&f->otree, rs_is_string(f) ? tie : NULL, f);
    f->otree.undo = (rs_otree_undo){.save = rs_txn_save_bytes, .made = rs_txn_made, .ctx = db,
                                    .epoch = &db->oepoch};
}

int rs_oindex_reserve(store_fld *f, size_t n)
{
    store *db = f->model->db;
    size_t made = rs_otree_shortfall(&f->otree, n);
    if (!made)
        return STORE_OK;
    /* Inside a transaction: a MADE entry for each node, and the header, saved first. */
    int rc = rs_txn_reserve(db, made + 1);
    if (!rc)
        rc = rs_txn_reserve_bytes(db, rs_otree_undo_size());
    if (!rc && rs_otree_reserve(&f->otree, n))
        rc = rs_error_set(db, STORE_ENOMEM, "%s.%s: out of memory growing its ordered index",
                          f->model->name, f->name);
    return rc;
}

size_t rs_oindex_txn_entries(const store_fld *f)
{
    return rs_otree_undo_bound(&f->otree) + 3; /* a level more, should the tree grow */
}

size_t rs_oindex_txn_bytes(const store_fld *f, size_t nchanges)
{
    const rs_otree *t = &f->otree;
    size_t nodes = t->nleaves + t->ninner + t->nspare + 1; /* and the header */
    size_t per = rs_oindex_txn_entries(f);
    size_t saves = nchanges > nodes / per ? nodes : nchanges * per;
    return saves * rs_otree_undo_size();
}

void rs_oindex_add(store_fld *f, store_obj *o, uint64_t id)
{
    rs_ostr full;
    rs_oprobe p = probe_of(f, o, id, &full);
    rs_otree_insert(&f->otree, &p);
}

void rs_oindex_remove(store_fld *f, store_obj *o)
{
    rs_ostr full;
    rs_oprobe p = probe_of(f, o, o->id, &full);
    bool gone = rs_otree_delete(&f->otree, &p);
    assert(gone && "an object missing from its ordered index");
    (void)gone;
}

void rs_oindex_trim(store_model *m)
{
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].ordered)
            rs_otree_trim(&m->fields[j].otree);
}

/* ---- Building in bulk ---------------------------------------------------------------------- */

/*
 * A load gives every object at once: the entries are sorted, then the tree built from them
 * full. The sort is a radix sort on the key (least significant digit first, 11 bits a pass,
 * passes whose digit every key shares skipped: a year's keys share their high bits), stable,
 * so that the objects, given in id order, keep it among equal keys. Strings then sort each
 * run of one key by their next 8 bytes, kept beside the entry, and read the rest from the
 * objects only when those are equal too: a comparison sort that read every string from its
 * object cost about 2.4 us an object at 10 million titles sharing their first words.
 */
typedef struct built {
    uint64_t key, next; /* a string's bytes 8..15, big-endian */
    const char *s;
    size_t len;
    uint64_t id;
} built;

enum { DIGIT = 11 };

/* Sorts the N entries E by key, stably, with SPARE as room for N more; false when out of
 * memory (E unchanged). */
static bool radix_sort(rs_oent *e, rs_oent *spare, size_t n)
{
    static const int shifts[] = {0, 11, 22, 33, 44, 55};
    size_t *count = calloc((size_t)1 << DIGIT, sizeof *count);
    if (!count)
        return false;
    rs_oent *from = e, *to = spare;
    for (size_t p = 0; p < sizeof shifts / sizeof *shifts; p++) {
        int sh = shifts[p];
        uint64_t mask = ((uint64_t)1 << DIGIT) - 1, first = n ? e[0].key >> sh & mask : 0;
        bool same = true;
        memset(count, 0, ((size_t)1 << DIGIT) * sizeof *count);
        for (size_t k = 0; k < n; k++) {
            uint64_t d = from[k].key >> sh & mask;
            count[d]++;
            same &= d == first;
        }
        if (same)
            continue;
        size_t at = 0;
        for (size_t d = 0; d <= mask; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t k = 0; k < n; k++)
            to[count[from[k].key >> sh & mask]++] = from[k];
        rs_oent *t = from;
        from = to;
        to = t;
    }
    if (from != e)
        memcpy(e, from, n * sizeof *e);
    free(count);
    /* Key 0 holds the nulls and maybe values (INT64_MIN, ""): the nulls first, as the
     * tree orders them (their ids lack RS_OID_VALUE), each part still in id order. */
    size_t run = 0, nulls = 0;
    while (run < n && e[run].key == 0)
        nulls += !(e[run++].id & RS_OID_VALUE);
    if (nulls && nulls < run) {
        size_t a = 0, b = nulls;
        for (size_t k = 0; k < run; k++)
            spare[e[k].id & RS_OID_VALUE ? b++ : a++] = e[k];
        memcpy(e, spare, run * sizeof *e);
    }
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    const rs_oent *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_string(const void *a, const void *b)
{
    const built *x = a, *y = b;
    if (x->next != y->next)
        return x->next < y->next ? -1 : 1;
    if (x->len > 16 && y->len > 16) {
        size_t n = (x->len < y->len ? x->len : y->len) - 16;
        int c = memcmp(x->s + 16, y->s + 16, n);
        if (c)
            return c;
    }
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders each run of one key in E (sorted by key) by the whole string: the run's strings'
 * next 8 bytes first. Nulls (key 0, no string) stay first in id order. */
static int sort_runs(const store_fld *f, rs_oent *e, size_t n)
{
    size_t cap = 0;
    built *b = NULL;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && e[j].key == e[i].key; j++)
            ;
        size_t m = 0;
        for (size_t k = i; k < j; k++)
            m += (e[k].id & RS_OID_VALUE) != 0;
        if (m < 2)
            continue;
        if (m > cap) {
            built *more = realloc(b, m * sizeof *more);
            if (!more) {
                free(b);
                return STORE_ENOMEM;
            }
            b = more;
            cap = m;
        }
        size_t from = j - m; /* the values follow the nulls of key 0 */
        for (size_t k = from; k < j; k++) {
            const char *str = rs_str_get(rs_oindex_obj(f, &e[k]), f);
            size_t len = rs_str_len(str);
            b[k - from] = (built){.key = e[k].key,
                                  .next = len > 8 ? rs_oindex_key_str(str + 8, len - 8) : 0,
                                  .s = str, .len = len, .id = e[k].id};
        }
        qsort(b, m, sizeof *b, cmp_string);
        for (size_t k = 0; k < m; k++)
            e[from + k] = (rs_oent){b[k].key, b[k].id};
    }
    free(b);
    return STORE_OK;
}

int rs_oindex_build(store_fld *f, store_obj *const *objs, size_t n)
{
    rs_oent *e = malloc((n ? n : 1) * sizeof *e), *spare = malloc((n ? n : 1) * sizeof *e);
    int rc = e && spare ? STORE_OK : STORE_ENOMEM;
    bool by_id = true;
    for (size_t k = 0; !rc && k < n; k++) {
        rs_ostr full;
        rs_oprobe p = probe_of(f, objs[k], objs[k]->id, &full);
        e[k] = (rs_oent){p.key, p.id};
        by_id &= k == 0 || objs[k]->id > objs[k - 1]->id;
    }
    /* Given in id order (as a load gives them), a stable radix sort; else, or with no room
     * for its counts, a comparison sort. */
    if (!rc && !(by_id && radix_sort(e, spare, n)))
        qsort(e, n, sizeof *e, cmp_entry);
    free(spare);
    if (!rc && rs_is_string(f))
        rc = sort_runs(f, e, n);
    if (!rc && rs_otree_build(&f->otree, e, n))
        rc = STORE_ENOMEM;
    free(e);
    if (rc)
        return rs_error_set(NULL, STORE_ENOMEM, "%s.%s: out of memory building its ordered "
                            "index", f->model->name, f->name);
    return STORE_OK;
}

bool rs_oindex_same(const store_fld *f, const rs_oent *a, const rs_oent *b)
{
    if (a->key != b->key || (a->id & RS_OID_VALUE) != (b->id & RS_OID_VALUE))
        return false;
    if (!rs_is_string(f) || !(a->id & RS_OID_VALUE))
        return true;
    const char *s = rs_str_get(rs_oindex_obj(f, a), f);
    size_t len = rs_str_len(s);
    return len < 8 || !tie(f, &(rs_ostr){s, len}, b->id);
}

/* ---- Checking ------------------------------------------------------------------------------ */

#define FAIL(db, ...) rs_error_set(db, STORE_ECORRUPT, __VA_ARGS__)

int rs_oindex_check(store *db, const store_fld *f)
{
    const store_model *m = f->model;
    const char *bad = rs_otree_check(&f->otree);
    if (bad)
        return FAIL(db, "%s.%s: its ordered index is unsound: %s", m->name, f->name, bad);
    if (f->otree.count != m->count)
        return FAIL(db, "%s.%s: %zu objects in its ordered index, %zu in the model", m->name,
                    f->name, f->otree.count, m->count);
    const rs_oent *last = NULL;
    for (rs_ocursor c = rs_otree_at(&f->otree, 0); c.leaf; c = rs_otree_next(c)) {
        const rs_oent *e = rs_otree_entry(c);
        const store_obj *o = rs_oindex_obj(f, e);
        rs_ostr full;
        rs_oprobe p = probe_of(f, o, o->id, &full);
        if (!rs_obj_live(o) || o->model != m || o->id != (e->id & RS_OID_MASK) ||
            p.key != e->key || p.id != e->id)
            return FAIL(db, "%s.%s: the ordered index files %s %" PRIu64 " under another value",
                        m->name, f->name, m->name, e->id & RS_OID_MASK);
        int c = last && last->key == e->key && p.full ? tie(f, p.full, last->id) : 0; /* 0: ids */
        if (last && last->key == e->key && (c < 0 || (c == 0 && last->id >= e->id)))
            return FAIL(db, "%s.%s: the ordered index holds %s %" PRIu64 " out of order",
                        m->name, f->name, m->name, o->id);
        last = e;
    }
    return STORE_OK;
}
