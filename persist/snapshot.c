/*
 * persist/snapshot.c - writing the changes since the last snapshot, atomically.
 *
 * A snapshot runs in three steps, one at a time per store (p->snap):
 *   1. gather, under the store's write lock: encode every dirty object and list every
 *      deleted id, marking each in flight (store/arena.h's _OUT mark planes). Writers wait
 *      only for this; a change made later clears the mark (the object is dirty again).
 *   2. write, with no store lock: one LMDB write transaction writes the changes and
 *      rewrites the catalog (next ids, the digests), then commits. A small snapshot is one
 *      entry of the change log (persist/log.c), a page or two however scattered its changes;
 *      a large one, or one that would grow the log past its limit, first folds the log into
 *      the models' databases, then puts its records and deletes its ids there.
 *      MDB_MAP_FULL doubles the map, up to its cap, and retries the whole transaction.
 *   3. settle, under the write lock again: after a commit that returned 0, the changes still
 *      marked in flight are dropped; after any failure, the marks are taken off, so memory is
 *      exactly as it was and every change is still dirty (and the environment is reopened
 *      before the next try).
 * Only the gathered changes are written: the cost follows the changes, not the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist/codec.h"
#include "persist/file.h"
#include "persist/internal.h"
#include "persist/log.h"
#include "store/error.h"

/* The log takes a snapshot whose entry is at most ENTRY_MAX bytes, while it stays under an
 * eighth of the bytes of the models' records (between LOG_MIN and LOG_MAX); past that, the
 * log is folded into the models' databases. Bounding the log by the records it stands
 * beside bounds the file: snapshot after snapshot of a steady workload, the file stays
 * within a small factor of its first size (the steady-workload test, tests/test_faults.c). */
enum { ENTRY_MAX = 1 << 20, LOG_MIN = 64 << 10, LOG_MAX = 8 << 20 };

/* How many bytes the log may hold, seen from TXN: an eighth of the pages of the models'
 * databases, within bounds. */
static uint64_t log_limit(store *db, MDB_txn *txn)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < db->nmodels; i++) {
        char name[512];
        MDB_dbi dbi;
        MDB_stat st;
        rs_file_dbname(name, sizeof name, db->models[i].name);
        if (!mdb_dbi_open(txn, name, MDB_INTEGERKEY, &dbi) && !mdb_stat(txn, dbi, &st))
            bytes += (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
                     st.ms_psize;
    }
    uint64_t eighth = bytes / 8;
    return eighth < LOG_MIN ? LOG_MIN : eighth > LOG_MAX ? LOG_MAX : eighth;
}

typedef rs_change change;

typedef struct batch {
    change *changes;
    size_t n;
    uint8_t *bytes;
    rs_cat_state *state; /* the file's figures after this snapshot */
    rs_cat_log log;      /* the log's figures after it */
    uint64_t join_seq;
    bool empty; /* nothing changed since the last snapshot: nothing to write */
} batch;

static void batch_free(batch *b)
{
    free(b->changes);
    free(b->bytes);
    free(b->state);
}

/* Lists the changes of model I in id order, marking each in flight: one pass over the
 * chunks that hold a mark, so the cost follows the changes, not the model's size. */
static void list_changes(store *db, uint32_t i, batch *b)
{
    rs_arena *a = &db->models[i].arena;
    rs_arena_mark_sort(a);
    for (size_t k = 0; k < a->nmarked; k++) {
        uint64_t base = (uint64_t)a->marked[k] << RS_CHUNK_SHIFT;
        const rs_chunk_meta *m = &a->meta[a->marked[k]];
        for (int w = 0; w < RS_CHUNK_WORDS; w++) {
            uint64_t bits = m->bits[RS_MARK_DIRTY][w] | m->bits[RS_MARK_TOMB][w];
            for (; bits; bits &= bits - 1) {
                uint64_t id = base + (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(bits);
                bool tomb = rs_mark_test(a, id, RS_MARK_TOMB);
                b->changes[b->n++] = (change){.model = i, .tomb = tomb, .id = id,
                                              .obj = tomb ? NULL : rs_arena_at(a, id)};
                rs_arena_mark_set(a, id, tomb ? RS_MARK_TOMB_OUT : RS_MARK_DIRTY_OUT, true);
            }
        }
    }
}

static void settle(store *db, bool ok);

/*
 * Step 1: list (by model, in id order), encode. Encoding in id order reads the objects in
 * about the order they sit in their arenas, and the writer can append. Sets B->empty when
 * there is nothing to write. On failure no change is left marked in flight; what B holds is
 * the caller's to free (batch_free()).
 */
static int gather(store *db, batch *b)
{
    struct rs_persist *p = db->persist;
    size_t n = 0, bytes = 0;
    for (uint32_t i = 0; i < db->nmodels; i++)
        n += db->models[i].arena.count[RS_MARK_DIRTY] + db->models[i].arena.count[RS_MARK_TOMB];
    b->empty = !n && !p->stale;
    if (b->empty)
        return STORE_OK;
    b->changes = malloc((n ? n : 1) * sizeof *b->changes);
    b->state = malloc(db->nmodels * sizeof *b->state + 1);
    if (!b->changes || !b->state)
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory gathering a snapshot", p->path);
    for (uint32_t i = 0; i < db->nmodels; i++) {
        list_changes(db, i, b);
        b->state[i] = p->state[i];
        b->state[i].next_id = db->models[i].next_id;
    }
    for (size_t k = 0; k < b->n; k++) {
        change *c = &b->changes[k];
        c->off = bytes;
        c->len = c->tomb ? 0 : rs_codec_size(c->obj);
        bytes += c->len;
    }
    if (!(b->bytes = malloc(bytes ? bytes : 1))) {
        settle(db, false); /* the marks list_changes() set */
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory gathering a snapshot", p->path);
    }
    for (size_t k = 0; k < b->n; k++)
        if (!b->changes[k].tomb)
            b->changes[k].hash = rs_codec_encode(b->changes[k].obj, b->bytes + b->changes[k].off);
    b->join_seq = db->join_seq;
    return STORE_OK;
}

/* Step 3: after success, drop what is still in flight; after failure, take the marks off.
 * A change made since the gather cleared its in-flight mark, so it stays marked. */
static void settle(store *db, bool ok)
{
    for (uint32_t i = 0; i < db->nmodels; i++)
        rs_arena_mark_settle(&db->models[i].arena, ok);
}

/* The steps of the write transaction, as the details of its failures name them. */
static const char FOLDING[] = "folding the change log";
static const char WRITING_RECORDS[] = "writing records";
static const char WRITING_LOG[] = "writing the change log";

/* STORE_E* for RC (LMDB's, or an errno) from the step WHAT of a snapshot of DB: a write cut
 * short by a full disk is STORE_ENOSPC (rs_file_write_error()). */
static int txn_error(const store *db, int rc, const char *what)
{
    return rs_file_write_error(db, db->persist->path, db->persist->fd, rc, what);
}

/* STORE_ECORRUPT: entry GEN of the change log, read back to be folded, is not what the loader
 * accepted when the file was opened (WHY). */
static int bad_entry(const store *db, uint64_t gen, const char *why)
{
    return rs_error_set(db, STORE_ECORRUPT, "%s: %s: entry %" PRIu64 " %s", db->persist->path,
                        FOLDING, gen, why);
}

/* One model's database being written, through one cursor, in the step WHAT: puts and deletes
 * in id order then find their place from the cursor's page, not from the root. */
typedef struct writer {
    store *db;
    const char *what;
    uint32_t model; /* UINT32_MAX: none yet */
    MDB_dbi dbi;
    MDB_cursor *cur;
} writer;

static void writer_close(writer *w)
{
    if (w->cur)
        mdb_cursor_close(w->cur);
    w->cur = NULL;
    w->model = UINT32_MAX;
}

/* Points W at MODEL's database, created if missing (a no-op if it is there already). */
static int writer_use(MDB_txn *txn, writer *w, uint32_t model)
{
    if (w->model == model)
        return STORE_OK;
    writer_close(w);
    char name[512];
    rs_file_dbname(name, sizeof name, w->db->models[model].name);
    int rc = mdb_dbi_open(txn, name, MDB_CREATE | MDB_INTEGERKEY, &w->dbi);
    if (!rc)
        rc = mdb_cursor_open(txn, w->dbi, &w->cur);
    if (rc)
        return txn_error(w->db, rc, w->what);
    w->model = model;
    return STORE_OK;
}

/* Puts REC (LEN bytes, checksum HASH) as object ID through W, or deletes ID when REC is
 * NULL, keeping the model's count and checksum sum in S. */
static int apply(writer *w, uint64_t oid, const void *rec, size_t len, uint64_t hash,
                 rs_cat_state *s)
{
    size_t id = (size_t)oid;
    MDB_val key = {.mv_size = sizeof id, .mv_data = &id}, old;
    int rc = mdb_cursor_get(w->cur, &key, &old, MDB_SET_KEY);
    if (rc && rc != MDB_NOTFOUND)
        return txn_error(w->db, rc, w->what);
    bool found = !rc;
    if (found) {
        s->hsum -= old.mv_size >= 8 ? rs_codec_hash(old.mv_data) : 0;
        s->count--;
    }
    if (rec) {
        MDB_val val = {.mv_size = len, .mv_data = (void *)rec};
        s->hsum += hash;
        s->count++;
        key = (MDB_val){.mv_size = sizeof id, .mv_data = &id};
        rc = mdb_cursor_put(w->cur, &key, &val, found ? MDB_CURRENT : 0);
    } else {
        rc = found ? mdb_cursor_del(w->cur, 0) : 0;
    }
    return rc ? txn_error(w->db, rc, w->what) : STORE_OK;
}

/* The index in DB's models of model NAME, named by log entry GEN, in *OUT. */
static int model_index(const store *db, const char *name, uint64_t gen, uint32_t *out)
{
    for (uint32_t i = 0; i < db->nmodels; i++)
        if (!strcmp(db->models[i].name, name)) {
            *out = i;
            return STORE_OK;
        }
    return bad_entry(db, gen, "names an unknown model");
}

/* Applies the log entry of generation GEN (LEN bytes at P) to the models' databases. */
static int fold_entry(store *db, MDB_txn *txn, const uint8_t *p, size_t len, uint64_t gen,
                      batch *b)
{
    rs_log_reader r;
    rs_log_change c;
    if (rs_log_open(&r, p, len, gen))
        return bad_entry(db, gen, "is damaged (checksum)");
    writer w = {.db = db, .what = FOLDING, .model = UINT32_MAX};
    uint32_t m = 0;
    int rc = STORE_OK, more = 0;
    while (!rc && (more = rs_log_next(&r, &c)) == 1) {
        rc = model_index(db, c.model, gen, &m);
        if (!rc)
            rc = writer_use(txn, &w, m);
        if (!rc && c.len && c.len < 8) /* the loader checks every logged record; never trust one */
            rc = bad_entry(db, gen, "holds a record shorter than its checksum");
        if (!rc)
            rc = apply(&w, c.id, c.rec, c.len, c.len ? rs_codec_hash(c.rec) : 0, &b->state[m]);
    }
    writer_close(&w);
    if (!rc && more < 0)
        rc = bad_entry(db, gen, "is malformed");
    return rc;
}

/* A copy of every log entry, oldest first (LMDB's own bytes move as the fold writes). */
typedef struct entries {
    uint8_t **bytes;
    size_t *len;
    uint64_t *gen;
    size_t n;
} entries;

static void entries_free(entries *e)
{
    for (size_t k = 0; k < e->n; k++)
        free(e->bytes[k]);
    free(e->bytes);
    free(e->len);
    free(e->gen);
}

/* Copies the entries of the log LOG into E (the caller frees it, also after a failure). */
static int entries_read(const store *db, MDB_txn *txn, MDB_dbi log, entries *e)
{
    MDB_stat st;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_stat(txn, log, &st);
    if (!rc)
        rc = mdb_cursor_open(txn, log, &cur);
    if (rc)
        return txn_error(db, rc, FOLDING);
    size_t cap = st.ms_entries ? st.ms_entries : 1;
    e->bytes = malloc(cap * sizeof *e->bytes);
    e->len = malloc(cap * sizeof *e->len);
    e->gen = malloc(cap * sizeof *e->gen);
    if (!e->bytes || !e->len || !e->gen) {
        rc = txn_error(db, ENOMEM, FOLDING);
        goto close_cursor;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); !rc && e->n < cap;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        size_t gen;
        if (key.mv_size != sizeof gen) {
            rc = rs_error_set(db, STORE_ECORRUPT, "%s: %s: a key of %zu bytes", db->persist->path,
                              FOLDING, key.mv_size);
            goto close_cursor;
        }
        uint8_t *copy = malloc(val.mv_size ? val.mv_size : 1);
        if (!copy) {
            rc = txn_error(db, ENOMEM, FOLDING);
            goto close_cursor;
        }
        memcpy(&gen, key.mv_data, sizeof gen);
        memcpy(copy, val.mv_data, val.mv_size);
        e->bytes[e->n] = copy;
        e->len[e->n] = val.mv_size;
        e->gen[e->n++] = gen;
    }
    if (rc == MDB_NOTFOUND || (!rc && e->n == cap)) /* the end, or as many as counted */
        rc = STORE_OK;
    else
        rc = txn_error(db, rc, FOLDING);
close_cursor:
    mdb_cursor_close(cur);
    return rc;
}

/* Applies every log entry, oldest first, to the models' databases, and empties the log. */
static int fold_log(store *db, MDB_txn *txn, batch *b)
{
    MDB_dbi log;
    int rc = mdb_dbi_open(txn, RS_LOG_DB, MDB_INTEGERKEY, &log);
    if (rc == MDB_NOTFOUND)
        return STORE_OK;
    if (rc)
        return txn_error(db, rc, FOLDING);
    entries e = {.n = 0};
    rc = entries_read(db, txn, log, &e);
    for (size_t k = 0; !rc && k < e.n; k++)
        rc = fold_entry(db, txn, e.bytes[k], e.len[k], e.gen[k], b);
    entries_free(&e);
    if (rc)
        return rc;
    rc = mdb_drop(txn, log, 0);
    if (rc)
        return txn_error(db, rc, FOLDING);
    b->log = (rs_cat_log){0};
    return STORE_OK;
}

/* The highest id in W's database, 0 if it is empty, in *LAST. */
static int last_id(MDB_txn *txn, const writer *w, uint64_t *last)
{
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, w->dbi, &cur);
    if (rc)
        return txn_error(w->db, rc, w->what);
    *last = 0;
    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    size_t id;
    if (!rc && key.mv_size == sizeof id) {
        memcpy(&id, key.mv_data, sizeof id); /* LMDB's keys need not be aligned */
        *last = id;
    }
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? txn_error(w->db, rc, w->what) : STORE_OK;
}

/*
 * Writes the batch into the models' databases, in id order (sorted by gather()). Ids
 * above a database's highest are new: appended (MDB_APPEND) with no lookup, so a first
 * snapshot builds each tree left to right instead of splitting pages at random.
 */
static int write_base(store *db, MDB_txn *txn, batch *b)
{
    writer w = {.db = db, .what = WRITING_RECORDS, .model = UINT32_MAX};
    uint64_t last = 0;
    int rc = STORE_OK;
    for (size_t k = 0; !rc && k < b->n; k++) {
        const change *c = &b->changes[k];
        rs_cat_state *s = &b->state[c->model];
        if (c->model != w.model && !(rc = writer_use(txn, &w, c->model)))
            rc = last_id(txn, &w, &last);
        if (rc || (c->tomb && c->id > last))
            continue; /* a deletion of a record never written */
        if (c->id <= last) {
            rc = apply(&w, c->id, c->tomb ? NULL : b->bytes + c->off, c->len, c->hash, s);
            continue;
        }
        size_t id = (size_t)c->id;
        MDB_val key = {.mv_size = sizeof id, .mv_data = &id};
        MDB_val val = {.mv_size = c->len, .mv_data = b->bytes + c->off};
        rc = mdb_cursor_put(w.cur, &key, &val, MDB_APPEND);
        if (rc)
            rc = txn_error(db, rc, w.what);
        s->count++;
        s->hsum += c->hash;
    }
    writer_close(&w);
    return rc;
}

/* Writes the batch as one log entry of generation GEN (SIZE bytes). */
static int write_log(store *db, MDB_txn *txn, batch *b, uint64_t gen, size_t size)
{
    MDB_dbi log;
    int rc = mdb_dbi_open(txn, RS_LOG_DB, MDB_CREATE | MDB_INTEGERKEY, &log);
    if (rc)
        return txn_error(db, rc, WRITING_LOG);
    uint8_t *entry = malloc(size);
    if (!entry)
        return txn_error(db, ENOMEM, WRITING_LOG);
    uint64_t h = rs_log_encode(db, b->changes, b->n, b->bytes, gen, entry);
    size_t g = (size_t)gen;
    MDB_val key = {.mv_size = sizeof g, .mv_data = &g};
    MDB_val val = {.mv_size = size, .mv_data = entry};
    rc = mdb_put(txn, log, &key, &val, MDB_NOOVERWRITE);
    free(entry);
    if (rc)
        return txn_error(db, rc, WRITING_LOG);
    b->log.count++;
    b->log.hsum += h;
    b->log.bytes += size;
    return STORE_OK;
}

static int put_catalog(store *db, MDB_txn *txn, const batch *b, uint64_t gen, uint64_t now)
{
    static const char what[] = "writing the catalog";
    MDB_dbi dbi;
    uint8_t *bytes;
    size_t len;
    int rc = mdb_dbi_open(txn, RS_CATALOG_DB, MDB_CREATE, &dbi);
    if (rc)
        return txn_error(db, rc, what);
    rs_cat_head head = {.generation = gen, .time_ns = now, .join_seq = b->join_seq,
                        .log = b->log, .txnid = mdb_txn_id(txn)};
    rc = rs_catalog_encode(db, &head, b->state, &bytes, &len);
    if (rc)
        return rc;
    MDB_val key = {.mv_size = strlen(RS_CATALOG_KEY), .mv_data = RS_CATALOG_KEY};
    MDB_val val = {.mv_size = len, .mv_data = bytes};
    rc = mdb_put(txn, dbi, &key, &val, 0);
    free(bytes);
    return rc ? txn_error(db, rc, what) : STORE_OK;
}

/* Step 2: one write transaction, begun, written, and committed or aborted here. STORE_OK or a
 * code with the detail set; STORE_EFULL is a full map (no other failure gives it). */
static int write_txn(store *db, batch *b, uint64_t gen, uint64_t now)
{
    struct rs_persist *p = db->persist;
    MDB_txn *txn;
    /* The figures restart from the file's on every try. */
    for (uint32_t i = 0; i < db->nmodels; i++) {
        b->state[i].count = p->state[i].count;
        b->state[i].hsum = p->state[i].hsum;
    }
    b->log = p->log;
    int rc = mdb_txn_begin(p->env, NULL, 0, &txn);
    if (rc)
        return txn_error(db, rc, "beginning the snapshot");
    size_t entry = rs_log_size(db, b->changes, b->n);
    if (entry <= ENTRY_MAX && p->log.bytes + entry <= log_limit(db, txn))
        rc = b->n ? write_log(db, txn, b, gen, entry) : STORE_OK;
    else if (!(rc = fold_log(db, txn, b)))
        rc = write_base(db, txn, b);
    if (rc)
        goto abort_txn;
#ifdef RS_PLANT_SPLIT_TXN
    /* Planted bug (tools/planted.sh): the records and the catalog in two transactions. */
    rc = mdb_txn_commit(txn);
    if (rc)
        return txn_error(db, rc, "committing");
    rc = mdb_txn_begin(p->env, NULL, 0, &txn);
    if (rc)
        return txn_error(db, rc, "beginning the snapshot");
#endif
    rc = put_catalog(db, txn, b, gen, now);
    if (rc)
        goto abort_txn;
    rc = mdb_txn_commit(txn); /* frees the transaction, whether it succeeds or not */
    return rc ? txn_error(db, rc, "committing") : STORE_OK;
abort_txn:
    mdb_txn_abort(txn);
    return rc;
}

/* D5: doubles the map, up to its cap. No transaction of ours is open here. */
static int grow_map(store *db, struct rs_persist *p)
{
    size_t size = p->map_size;
    if (size >= p->map_max)
        return rs_error_set(db, STORE_EFULL, "%s: the map reached its cap of %zu bytes", p->path,
                            p->map_max);
    size_t next = size > p->map_max / 2 ? p->map_max : size * 2;
    int rc = mdb_env_set_mapsize(p->env, next);
    if (rc)
        return rs_file_mdb_error(db, rc, "growing the map");
    __atomic_store_n(&p->map_size, next, __ATOMIC_RELAXED); /* store_stat() reads it */
    return STORE_OK;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes B, growing the map as needed. STORE_OK or a code with the detail set. */
static int write_batch(store *db, batch *b, uint64_t *now)
{
    struct rs_persist *p = db->persist;
    for (;;) {
        *now = now_ns();
        int rc = write_txn(db, b, p->generation + 1, *now);
        if (rc == STORE_EFULL) { /* the map: grow it (or say it reached its cap) and retry */
            if ((rc = grow_map(db, p)))
                return rc;
            continue;
        }
        if (rc)
            p->broken = true; /* D4: reopen before the next snapshot */
        return rc;
    }
}

static void account(struct rs_persist *p, const store *db, const batch *b, uint64_t now)
{
    p->generation++;
    p->format = RS_FORMAT_VERSION;
    p->time_ns = now;
    p->stale = false;
    memcpy(p->state, b->state, db->nmodels * sizeof *p->state);
    p->log = b->log;
    p->last_written = p->last_deleted = p->last_bytes = 0;
    for (size_t k = 0; k < b->n; k++) {
        p->last_written += !b->changes[k].tomb;
        p->last_deleted += b->changes[k].tomb;
        p->last_bytes += b->changes[k].len;
    }
}

static int reopen_if_broken(store *db, struct rs_persist *p)
{
    if (!p->broken)
        return STORE_OK;
    mdb_env_close(p->env);
    p->env = NULL;
    int rc = rs_file_env_open(db, p);
    if (!rc)
        p->broken = false;
    return rc;
}

int rs_snapshot_write(store *db)
{
    struct rs_persist *p = db->persist;
    if (getpid() != p->pid)
        return rs_error_set(db, STORE_EFORK, "store_snapshot: called from a forked child");
    if (p->flags & STORE_OPEN_READONLY)
        return rs_error_set(db, STORE_EINVAL, "%s: opened read-only", p->path);
    pthread_mutex_lock(&p->snap);
    batch b = {.n = 0};
    int rc = reopen_if_broken(db, p);
    if (rc)
        goto unlock_snap;
    if (p->short_file) {
        rc = rs_file_extend(db, p, false);
        if (rc)
            goto unlock_snap;
        p->short_file = false;
    }
    rs_lock_write(&db->lock);
    rc = gather(db, &b);
#ifdef RS_PLANT_EARLY_CLEAR
    /* Planted bug (tools/planted.sh): the changes stop being dirty before the commit. */
    if (!rc && !b.empty)
        settle(db, true);
#endif
    rs_lock_unlock(&db->lock);
    if (rc || b.empty) /* nothing changed: nothing written */
        goto free_batch;
    uint64_t now;
    rc = write_batch(db, &b, &now);
    rs_lock_write(&db->lock);
    if (!rc)
        account(p, db, &b, now);
    settle(db, rc == STORE_OK);
    rs_lock_unlock(&db->lock);
    /* The snapshot is committed (and accounted: nothing of it is pending). If the file
     * cannot be extended to its last page, the code says why and the detail that the
     * snapshot is made; the next snapshot (or close) extends it before anything else. */
    if (!rc && (rc = rs_file_extend(db, p, true)))
        p->short_file = true;
free_batch:
    batch_free(&b);
unlock_snap:
    pthread_mutex_unlock(&p->snap);
    return rc;
}

/*
 * Copies P's last snapshot into FD (the new file PATH), compacted, and flushes it. Returns
 * STORE_OK or a code with the detail; a write cut short is told from a full disk.
 */
static int copy_to(store *db, struct rs_persist *p, int fd, const char *path)
{
    int rc = mdb_env_copyfd2(p->env, fd, MDB_CP_COMPACT);
    if (rc)
        return rs_file_write_error(db, path, fd, rc, "backup: copying the last snapshot");
    if (fdatasync(fd))
        return rs_file_write_error(db, path, fd, errno, "backup: flushing the copy");
    return STORE_OK;
}

/* Removes PATH if it is still MINE, the file the failed backup created. */
static void remove_copy(const struct stat *mine, const char *path)
{
    struct stat now;
    if (mine->st_ino && !stat(path, &now) && mine->st_dev == now.st_dev &&
        mine->st_ino == now.st_ino)
        unlink(path);
}

int rs_snapshot_backup(store *db, const char *path)
{
    struct rs_persist *p = db->persist;
    if (getpid() != p->pid)
        return rs_error_set(db, STORE_EFORK, "store_backup: called from a forked child");
    /* Created here, exclusively: a file that was there is never touched, and one that this
     * call made is removed if the copy fails. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return rs_file_path_error(db, path, errno, "backup of the store");
    struct stat mine = {.st_ino = 0}; /* unknown: the copy cannot be told and stays */
    int rc;
    if (fstat(fd, &mine)) {
        rc = rs_error_set(db, STORE_EIO, "%s: backup: %s", path, strerror(errno));
        goto close_copy;
    }
    pthread_mutex_lock(&p->snap);
    rc = reopen_if_broken(db, p);
    if (!rc && !(rc = rs_file_share_begin(db, p))) {
        rc = copy_to(db, p, fd, path);
        rs_file_share_end(p);
    }
    pthread_mutex_unlock(&p->snap);
close_copy:
    if (close(fd) && !rc)
        rc = rs_error_set(db, STORE_EIO, "%s: backup: closing the copy: %s", path,
                          strerror(errno));
    if (rc)
        remove_copy(&mine, path);
    return rc;
}
