/*
 * store/txn.c - the undo log of write transactions, their levels, and the thread-exit hook
 * (store/txn.h says what is logged and why a rollback cannot fail).
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/txn.h"

/* ---- The log ------------------------------------------------------------------------------- */

/* Room for N more items of SIZE bytes in the array *BUF of *CAP items, USED in use (FIRST:
 * the capacity it starts at); WHAT names the items for a message. */
static int grow(store *db, void **buf, size_t *cap, size_t used, size_t n, size_t size,
                size_t first, const char *what)
{
    if (*cap - used >= n)
        return STORE_OK;
    size_t c = *cap ? *cap : first;
    while (c - used < n) {
        if (c > SIZE_MAX / 2 / size)
            return rs_error_set(db, STORE_ENOMEM, "transaction: too many %s", what);
        c *= 2;
    }
    void *more = realloc(*buf, c * size);
    if (!more)
        return rs_error_set(db, STORE_ENOMEM, "transaction: out of memory keeping %zu %s", c,
                            what);
    *buf = more;
    *cap = c;
    return STORE_OK;
}

/* Room for N more retired strings (a change retires at most one per undo entry). */
static int reserve_retired(store *db, size_t n)
{
    void *p = db->retired;
    int rc = grow(db, &p, &db->capretired, db->nretired, n, sizeof *db->retired, 64,
                  "replaced strings");
    db->retired = p;
    return rc;
}

int rs_txn_reserve(store *db, size_t n)
{
    if (!db->txn)
        return STORE_OK;
    int rc = reserve_retired(db, n);
    void *p = db->undo;
    if (!rc)
        rc = grow(db, &p, &db->capundo, db->nundo, n, sizeof *db->undo, 256, "undo entries");
    db->undo = p;
    return rc;
}

int rs_txn_reserve_bytes(store *db, size_t n)
{
    if (!db->txn)
        return STORE_OK;
    void *p = db->imgs;
    int rc = grow(db, &p, &db->capimgs, db->nimgs, n, 1, 16384, "bytes of index nodes");
    db->imgs = p;
    return rc;
}

void rs_txn_save_bytes(void *ctx, void *addr, size_t size)
{
    store *db = ctx;
    assert(db->capimgs - db->nimgs >= size && "index bytes beyond the room reserved");
    if (db->capimgs - db->nimgs < size && rs_txn_reserve_bytes(db, size))
        abort(); /* a bound was wrong and memory ran out: see rs_txn_log() */
    memcpy(db->imgs + db->nimgs, addr, size);
    rs_txn_log(db, (rs_undo){.kind = RS_UNDO_BYTES, .p = addr, .a = db->nimgs,
                             .b = (void *)(uintptr_t)size});
    db->nimgs += size;
}

void rs_txn_made(void *ctx, void *node)
{
    rs_txn_log(ctx, (rs_undo){.kind = RS_UNDO_MADE, .p = node});
}

/* The words of one of M's slots. */
static size_t slot_words(const store_model *m)
{
    return m->arena.slot_size / sizeof(uint64_t);
}

/*
 * The bounds count what store/object.c, store/delete.c and store/vindex.c may log for one
 * change, field by field: a value word and the word after it (a short string), a null
 * bit, a string made and one retired; a foreign key's move: out of its old parent (the
 * parent's first, last and count, the neighbours' links, its own links) and into the new
 * one; a value index's move: out of its group and into the other (links of up to three
 * holders and the table). Generous on purpose: the room is reused, and too little would
 * abort.
 */
enum { PER_FIELD = 40 };

/* The nodes an entry out of and one into each ordered index of M may save. */
static size_t ordered_bound(const store_model *m)
{
    size_t n = 0;
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].ordered)
            n += 2 * rs_oindex_txn_entries(&m->fields[j]);
    return n;
}

/* Each set of fields unique together: a table entry out and one in. */
size_t rs_txn_bound_create(const store_model *m)
{
    return 8 + slot_words(m) + PER_FIELD * (size_t)m->nfields + 2 * (size_t)m->nuniq +
           ordered_bound(m);
}

size_t rs_txn_bound_update(const store_model *m, size_t nvalues)
{
    return 8 + PER_FIELD * nvalues + 2 * (size_t)m->nuniq + ordered_bound(m);
}

size_t rs_txn_bound_delete(const store_obj *x)
{
    const store_model *m = x->model;
    return 8 + 2 * slot_words(m) + PER_FIELD * (size_t)m->nfields + 2 * (size_t)m->nuniq +
           ordered_bound(m);
}

void rs_txn_log_grow(store *db)
{
    /* A bound in this file was wrong: grow if memory allows, for a rollback that cannot
     * replay a change it never logged would leave the store inconsistent. */
    size_t cap = db->capundo ? 2 * db->capundo : 256;
    rs_undo *more = realloc(db->undo, cap * sizeof *more);
    if (!more)
        abort();
    db->undo = more;
    db->capundo = cap;
}

void rs_txn_log_word_at(store *db, uint64_t *w)
{
    rs_txn_log_word(db, w);
}

void rs_txn_str_retire(store *db, char *s)
{
    if (!db->txn) {
        rs_obj_str_free(s);
        return;
    }
    assert(db->nretired < db->capretired && "a retired string beyond the room reserved");
    if (db->nretired == db->capretired && reserve_retired(db, 1))
        abort(); /* a bound was wrong and memory ran out: see rs_txn_log() */
    db->retired[db->nretired++] = s;
}

/* ---- Levels -------------------------------------------------------------------------------- */

int rs_txn_begin(store *db, store_txn *outer, bool readonly, store_txn **out)
{
    store_txn *t = calloc(1, sizeof *t);
    uint64_t *counters = readonly ? NULL : malloc((2 * (size_t)db->nmodels + 1) * sizeof *counters);
    if (!t || (!readonly && !counters)) {
        free(t);
        free(counters);
        return rs_error_set(db, STORE_ENOMEM, "store_begin: out of memory");
    }
    *t = (store_txn){.db = db, .outer = outer, .readonly = readonly, .log_at = db->nundo,
                     .retired_at = db->nretired, .lost_at = db->nlost, .imgs_at = db->nimgs,
                     .join_seq = db->join_seq, .counters = counters};
    if (outer)
        outer->inner = t;
    for (uint32_t i = 0; counters && i < db->nmodels; i++) {
        counters[2 * i] = db->models[i].next_id;
        counters[2 * i + 1] = db->models[i].count;
    }
    if (!readonly) {
        db->oepoch = ++db->oepoch_last;
        __atomic_store_n(&db->txn, t, __ATOMIC_RELEASE);
    }
    *out = t;
    return STORE_OK;
}

/* The arena's model, for the next id a settle needs. */
static const store_model *model_of_arena(const store *db, const rs_arena *a)
{
    for (uint32_t i = 0; i < db->nmodels; i++)
        if (&db->models[i].arena == a)
            return &db->models[i];
    return NULL;
}

/* The end of a level of a write transaction: the ordered indexes save again from here (a
 * new epoch) inside the level outside, and give back the nodes they no longer need once the
 * outermost ends. */
static void level_end(store *db, const store_txn *t)
{
    db->oepoch = t->outer ? ++db->oepoch_last : 0;
    if (t->outer)
        return;
    db->nimgs = 0;
    for (uint32_t i = 0; i < db->nmodels; i++)
        rs_oindex_trim(&db->models[i]);
}

void rs_txn_commit(store_txn *t)
{
    store *db = t->db;
    if (!t->readonly && !t->outer) {
        for (size_t k = 0; k < db->nretired; k++)
            rs_obj_str_free(db->retired[k]);
        for (size_t k = 0; db->nlost && k < db->nundo; k++) {
            const rs_undo *e = &db->undo[k];
            if (e->kind == RS_UNDO_LIVE && !e->b) {
                rs_arena *a = e->p;
                const store_model *m = model_of_arena(db, a);
                rs_arena_settle(a, e->a, m->next_id); /* as rs_arena_drop() would have */
            }
        }
        db->nundo = db->nretired = db->nlost = 0;
    }
    if (!t->readonly) {
        level_end(db, t);
        __atomic_store_n(&db->txn, t->outer, __ATOMIC_RELEASE);
    }
    if (t->outer)
        t->outer->inner = NULL;
    free(t->counters);
    free(t);
}

/* Replays entry E of DB's log backwards. */
static void undo_one(store *db, const rs_undo *e)
{
    switch (e->kind) {
    case RS_UNDO_BYTES:
        memcpy(e->p, db->imgs + e->a, (size_t)(uintptr_t)e->b);
        break;
    case RS_UNDO_MADE:
        free(e->p);
        break;
    case RS_UNDO_WORD:
        __atomic_store_n((uint64_t *)e->p, e->a, __ATOMIC_RELEASE);
        break;
    case RS_UNDO_STR_NEW:
        rs_obj_str_free(e->p);
        break;
    case RS_UNDO_PUT: {
        bool gone = rs_hash_del(e->p, e->a, e->b);
        assert(gone);
        (void)gone;
        break;
    }
    case RS_UNDO_DEL: {
        /* The table holds no more entries than it did before the delete: no growth. */
        int rc = rs_hash_put(e->p, e->a, e->b);
        assert(!rc);
        (void)rc;
        break;
    }
    case RS_UNDO_MOVE: {
        bool moved = rs_hash_replace(e->p, e->a, e->c, e->b);
        assert(moved);
        (void)moved;
        break;
    }
    case RS_UNDO_MARKS:
        for (int plane = 0; plane < RS_NMARKS; plane++)
            rs_arena_mark_set(e->p, e->a, plane, ((uintptr_t)e->b >> plane) & 1);
        break;
    default: /* RS_UNDO_LIVE */
        rs_arena_live_add(e->p, e->a, e->b ? -1 : 1);
        break;
    }
}

void rs_txn_rollback(store_txn *t)
{
    store *db = t->db;
    if (!t->readonly) {
        while (db->nundo > t->log_at)
            undo_one(db, &db->undo[--db->nundo]);
        db->nretired = t->retired_at; /* back in their slots: kept */
        db->nlost = t->lost_at;
        for (uint32_t i = 0; i < db->nmodels; i++) {
            db->models[i].next_id = t->counters[2 * i];
            db->models[i].count = (size_t)t->counters[2 * i + 1];
        }
        db->join_seq = t->join_seq;
        db->nimgs = t->imgs_at;
        level_end(db, t);
        __atomic_store_n(&db->txn, t->outer, __ATOMIC_RELEASE);
    }
    if (t->outer)
        t->outer->inner = NULL;
    free(t->counters);
    free(t);
}

/* ---- A thread's transactions --------------------------------------------------------------- */

static pthread_key_t mine_key;
static pthread_once_t mine_once = PTHREAD_ONCE_INIT;
static int mine_key_rc;

/*
 * At the exit of a thread with transactions still open: each is rolled back, innermost
 * first, and its lock given back, so that the store stays whole and other threads go on.
 * The handles are freed: the thread that held them is gone.
 */
static void on_thread_exit(void *head)
{
    for (store_txn *t = head, *next; t; t = next) {
        next = t->next_mine;
        store *db = t->db;
        if (t->readonly)
            __atomic_fetch_sub(&db->txn_readers, 1, __ATOMIC_RELEASE);
        store_txn *in = t;
        while (in->inner)
            in = in->inner;
        for (store_txn *x = in, *up; x; x = up) {
            up = x->outer;
            rs_txn_rollback(x);
        }
        rs_lock_unlock(&db->lock);
    }
}

static void make_key(void)
{
    mine_key_rc = pthread_key_create(&mine_key, on_thread_exit);
}

int rs_txn_adopt(store_txn *t)
{
    pthread_once(&mine_once, make_key);
    if (mine_key_rc)
        return rs_error_set(t->db, STORE_ENOMEM, "store_begin: no thread key for transactions");
    t->next_mine = pthread_getspecific(mine_key);
    if (pthread_setspecific(mine_key, t))
        return rs_error_set(t->db, STORE_ENOMEM, "store_begin: out of memory");
    return STORE_OK;
}

void rs_txn_forget(store_txn *t)
{
    store_txn *head = pthread_getspecific(mine_key);
    store_txn **at = &head;
    while (*at && *at != t)
        at = &(*at)->next_mine;
    if (*at)
        *at = t->next_mine;
    pthread_setspecific(mine_key, head); /* shrinks or keeps the entry: cannot fail */
}

store_txn *rs_txn_mine(const store *db)
{
    pthread_once(&mine_once, make_key);
    if (mine_key_rc)
        return NULL;
    store_txn *t = pthread_getspecific(mine_key);
    while (t && t->db != db)
        t = t->next_mine;
    return t;
}
