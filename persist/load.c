/*
 * persist/load.c - building a store from its file: every object, relation and index.
 *
 * One pass per model reads its database in id order (through persist/kv.h), checks each record
 * (its key, its checksum, every field against the schema) and makes the object, with each
 * foreign key held as the parent's id for now. The model's record count and checksum sum
 * must equal the catalog's digest. Then foreign keys are resolved to parents (a missing
 * parent is damage), each child joining its parent's relation in the order it joined when
 * it was written (the join sequence in its record), and the value indexes are rebuilt.
 * Anything wrong is STORE_ECORRUPT naming the model and id: no partial store is returned.
 *
 * The change log (persist/log.c) is read first, into one table per model of the latest
 * change to each id; a model's records are then read with those changes applied over them
 * (a changed record replaced, a deleted one skipped, a new one added after the scan).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "persist/codec.h"
#include "persist/internal.h"
#include "persist/kv.h"
#include "persist/log.h"
#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/schema.h"
#include "store/uniq.h"
#include "store/vindex.h"

#define CORRUPT(...) rs_error_set(NULL, STORE_ECORRUPT, __VA_ARGS__)
#define NOMEM(m) rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory loading", (m)->name)

/* The objects of one model in id order, as read. */
typedef struct loaded {
    store_obj **objs;
    size_t n;
    uint64_t *seen; /* per field: the last id whose record gave it (duplicate fields) */
    rs_hash log;    /* id -> 1 + index in the log's changes: the latest change to the id */
} loaded;

/* Every change of the change log, oldest first; the strings point into the read txn. */
typedef struct changes {
    rs_log_change *all;
    size_t n, cap;
} changes;

static store_fld *field_by_fid(store_model *m, uint32_t fid)
{
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].fid == fid)
            return &m->fields[j];
    return NULL;
}

/* Whether decoded field RF fits field F: null only where allowed, the field's tag, a CHAR's
 * length, a parent's id. */
static bool fits(const store_fld *f, const rs_rec_field *rf)
{
    if (rf->tag == RS_TAG_NULL)
        return f->null;
    if (rf->tag != rs_codec_tag_of(f->type))
        return false;
    /* No more characters than bytes: count them only when the bytes could be too many. */
    if (rf->tag == RS_TAG_STR && f->type == STORE_CHAR && rf->u.str.len > f->max_length &&
        (size_t)rs_schema_utf8_chars(rf->u.str.s, rf->u.str.len) > f->max_length)
        return false;
    return rf->tag != RS_TAG_REF || rf->u.ref.id;
}

/* Sets field F of O from decoded field RF, which fits it (fits()). */
static int set_field(store_fld *f, store_obj *o, const rs_rec_field *rf)
{
    switch (rf->tag) {
    case RS_TAG_NULL:
        if (!rs_is_string(f) && f->type != STORE_FK)
            rs_field_null_set(o, f);
        return STORE_OK;
    case RS_TAG_STR:
        if (rs_obj_str_set_fresh(o, f, rf->u.str.s, rf->u.str.len))
            return NOMEM(f->model);
        return STORE_OK;
    case RS_TAG_REF:
        rs_field_word_set(o, f, rf->u.ref.id); /* the parent's id, until resolved */
        rs_fk_seq_set(o, f, rf->u.ref.seq);
        return STORE_OK;
    case RS_TAG_BOOL:
        rs_field_word_set(o, f, rf->u.b);
        return STORE_OK;
    default:
        rs_field_word_set(o, f, (uint64_t)rf->u.i);
        return STORE_OK;
    }
}

/* Gives each field the record did not hold its default, or null. */
static int fill_missing(store_model *m, store_obj *o, const loaded *l)
{
    for (uint32_t j = 0; j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        if (l->seen[j] == o->id)
            continue;
        if (f->dflt.kind == STORE_KIND_NONE) {
            rs_rec_field null = {.fid = f->fid, .tag = RS_TAG_NULL};
            if (!fits(f, &null))
                return CORRUPT("%s %" PRIu64 ": the record lacks %s", m->name, o->id, f->name);
            set_field(f, o, &null); /* a null cannot fail */
            continue;
        }
        rs_rec_field d = {.fid = f->fid};
        switch (f->dflt.kind) {
        case STORE_KIND_STR:
            d.tag = RS_TAG_STR;
            d.u.str.s = f->dflt.u.s;
            d.u.str.len = (uint32_t)strlen(f->dflt.u.s);
            break;
        case STORE_KIND_FLOAT:
            d.tag = RS_TAG_FLOAT;
            d.u.f = f->dflt.u.f;
            break;
        case STORE_KIND_BOOL:
            d.tag = RS_TAG_BOOL;
            d.u.b = f->dflt.u.b;
            break;
        default:
            d.tag = RS_TAG_INT;
            d.u.i = f->dflt.u.i;
            break;
        }
        int rc = set_field(f, o, &d); /* the schema checked that the default fits */
        if (rc)
            return rc;
    }
    return STORE_OK;
}

/* Makes object ID of M from its record, the LEN bytes at REC. */
static int load_record(store_model *m, uint64_t id, const void *rec, size_t len, loaded *l)
{
    rs_rec_reader r;
    if (rs_codec_open(&r, rec, len, id))
        return CORRUPT("%s %" PRIu64 ": the record is damaged (checksum)", m->name, id);
    if (rs_obj_get(m, id))
        return CORRUPT("%s %" PRIu64 ": two records", m->name, id);
    if (rs_arena_reserve(&m->arena, id))
        return NOMEM(m);
    store_obj *o = rs_arena_take(&m->arena, id);
    o->model = m;
    o->id = id; /* from here on, closing the store frees it */
    m->count++;
    l->objs[l->n++] = o;
    rs_rec_field rf;
    int more;
    while ((more = rs_codec_next(&r, &rf)) == 1) {
        store_fld *f = field_by_fid(m, rf.fid);
        if (!f || l->seen[f - m->fields] == id)
            return CORRUPT("%s %" PRIu64 ": unknown or repeated field %u", m->name, id, rf.fid);
        l->seen[f - m->fields] = id;
        if (!fits(f, &rf))
            return CORRUPT("%s %" PRIu64 ".%s: the value does not fit the field", m->name, id,
                           f->name);
        int rc = set_field(f, o, &rf);
        if (rc)
            return rc;
    }
    if (more < 0)
        return CORRUPT("%s %" PRIu64 ": the record is malformed", m->name, id);
    return fill_missing(m, o, l);
}

/*
 * Makes object ID from the record VAL (LEN bytes), or from the log's later change to it. A
 * record the log replaces or deletes is still checked against its key (D1): otherwise a
 * damaged key that names an id the log changed would take that change in the record's
 * place, and the record, its checksum still counted in the digest, would vanish unseen.
 */
static int load_one(store_model *m, uint64_t id, const void *val, size_t len, loaded *l,
                    const changes *log)
{
    void *v = rs_hash_get(&l->log, id);
    if (!v)
        return load_record(m, id, val, len, l);
    rs_rec_reader r;
    if (rs_codec_open(&r, val, len, id))
        return CORRUPT("%s %" PRIu64 ": the record is damaged (checksum)", m->name, id);
    rs_hash_del(&l->log, id, v);
    const rs_log_change *c = &log->all[(uintptr_t)v - 1];
    return c->len ? load_record(m, id, c->rec, c->len, l) : STORE_OK;
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = (*(store_obj *const *)a)->id, y = (*(store_obj *const *)b)->id;
    return (x > y) - (x < y);
}

/* Makes the objects the log created after the model's records were last written, and puts
 * them in id order after the others (so that every object joins its relations and groups in
 * id order). */
static int load_logged(store_model *m, const rs_cat_model *cm, loaded *l, const changes *log)
{
    size_t pos = 0, first = l->n;
    for (const rs_hash_entry *e; (e = rs_hash_scan(&l->log, &pos));) {
        const rs_log_change *c = &log->all[(uintptr_t)e->val - 1];
        if (!c->len)
            continue;
        if (c->id == 0 || c->id >= cm->next_id)
            return CORRUPT("%s %" PRIu64 ": a logged id outside 1..%" PRIu64, m->name, c->id,
                           cm->next_id - 1);
        int rc = load_record(m, c->id, c->rec, c->len, l);
        if (rc)
            return rc;
    }
    if (l->n - first > 1)
        qsort(l->objs + first, l->n - first, sizeof *l->objs, by_id);
    return STORE_OK;
}

static int scan_model(const rs_kv *kv, store_model *m, const rs_cat_model *cm, loaded *l,
                      const changes *log)
{
    char name[512];
    size_t entries = 0;
    void *cur = NULL;
    rs_file_dbname(name, sizeof name, m->name);
    int rc = kv->open(kv->ctx, name, &entries, &cur);
    if (rc == 1 && cm->count)
        return CORRUPT("%s: the catalog says %" PRIu64 " records, there are none", m->name,
                       cm->count);
    if (rc < 0)
        return rc;
    rc = STORE_OK; /* also when the model has no database yet */
    if (entries != cm->count)
        rc = CORRUPT("%s: %zu records, the catalog says %" PRIu64, m->name, entries, cm->count);
    size_t most = entries + rs_hash_count(&l->log);
    if (!rc && !(l->objs = malloc((most ? most : 1) * sizeof *l->objs)))
        rc = NOMEM(m);
    uint64_t hsum = 0;
    const void *key, *val;
    size_t klen, vlen;
    int more = 0;
    while (!rc && cur && l->n < entries && (more = kv->next(cur, &key, &klen, &val, &vlen)) == 1) {
        uint64_t id;
        if (klen != sizeof id)
            rc = CORRUPT("%s: a key of %zu bytes", m->name, klen);
        else if (memcpy(&id, key, sizeof id), id == 0 || id >= cm->next_id)
            rc = CORRUPT("%s %" PRIu64 ": id outside 1..%" PRIu64, m->name, id, cm->next_id - 1);
        else if (vlen < 8)
            rc = CORRUPT("%s %" PRIu64 ": a record of %zu bytes", m->name, id, vlen);
        else if (!(rc = load_one(m, id, val, vlen, l, log)))
            hsum += rs_codec_hash(val);
    }
    if (cur)
        kv->close(cur);
    if (!rc && more < 0)
        rc = more;
    if (!rc && hsum != cm->hsum)
        rc = CORRUPT("%s: the records do not match the catalog's digest", m->name);
    return rc ? rc : load_logged(m, cm, l, log);
}

/* Files change C (number K of LOG) as the latest change to its id; D's models by index. */
static int note_change(store *db, loaded *all, const rs_log_change *c, size_t k)
{
    for (uint32_t i = 0; i < db->nmodels; i++) {
        if (strcmp(db->models[i].name, c->model))
            continue;
        void *v = rs_hash_get(&all[i].log, c->id), *nv = (void *)(uintptr_t)(k + 1);
        if (v)
            rs_hash_replace(&all[i].log, c->id, v, nv);
        else if (rs_hash_put(&all[i].log, c->id, nv))
            return NOMEM(&db->models[i]);
        return STORE_OK;
    }
    return CORRUPT("the change log names an unknown model %s", c->model);
}

/* Reads one log entry (generation GEN, LEN bytes at VAL) into LOG and the per-model tables. */
static int read_entry(store *db, loaded *all, changes *log, const void *val, size_t len,
                      uint64_t gen)
{
    rs_log_reader r;
    rs_log_change c;
    int more;
    if (rs_log_open(&r, val, len, gen))
        return CORRUPT("the change log's entry %" PRIu64 " is damaged (checksum)", gen);
    while ((more = rs_log_next(&r, &c)) == 1) {
        rs_rec_reader check;
        if (c.len && rs_codec_open(&check, c.rec, c.len, c.id))
            return CORRUPT("%s %" PRIu64 ": a logged record is damaged (checksum)", c.model,
                           c.id);
        if (log->n == log->cap) {
            size_t cap = log->cap ? 2 * log->cap : 256;
            rs_log_change *more_room = realloc(log->all, cap * sizeof *more_room);
            if (!more_room)
                return rs_error_set(NULL, STORE_ENOMEM, "out of memory loading");
            log->all = more_room;
            log->cap = cap;
        }
        log->all[log->n] = c;
        int rc = note_change(db, all, &c, log->n++);
        if (rc)
            return rc;
    }
    return more < 0 ? CORRUPT("the change log's entry %" PRIu64 " is malformed", gen) : STORE_OK;
}

/* Reads the whole change log, checking it against the catalog's digest of it. */
static int read_log(store *db, const rs_kv *kv, const rs_catalog *cat, loaded *all,
                    changes *log)
{
    void *cur = NULL;
    size_t entries = 0;
    rs_cat_log seen = {0};
    uint64_t last = 0;
    int rc = kv->open(kv->ctx, RS_LOG_DB, &entries, &cur);
    if (rc == 1)
        return cat->log.count ? CORRUPT("the change log is missing") : STORE_OK;
    if (rc < 0)
        return rc;
    const void *key, *val;
    size_t klen, vlen;
    int more;
    while (!rc && (more = kv->next(cur, &key, &klen, &val, &vlen)) == 1) {
        uint64_t gen = 0;
        if (klen == sizeof gen)
            memcpy(&gen, key, sizeof gen);
        if (gen <= last || gen > cat->generation || vlen < 8)
            rc = CORRUPT("the change log has a bad entry (%" PRIu64 ")", gen);
        else
            rc = read_entry(db, all, log, val, vlen, gen);
        last = gen;
        seen.count++;
        seen.hsum += vlen >= 8 ? rs_log_hash(val) : 0;
        seen.bytes += vlen;
    }
    kv->close(cur);
    if (rc)
        return rc;
    if (more < 0)
        return more;
    if (seen.count != cat->log.count || seen.hsum != cat->log.hsum ||
        seen.bytes != cat->log.bytes)
        return CORRUPT("the change log does not match the catalog's digest");
    return STORE_OK;
}

static int by_seq(const void *a, const void *b, void *fk)
{
    const store_fld *f = fk;
    uint64_t x = rs_fk_seq(*(store_obj *const *)a, f);
    uint64_t y = rs_fk_seq(*(store_obj *const *)b, f);
    return (x > y) - (x < y);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(store_obj *const *)a;
    uintptr_t y = (uintptr_t)*(store_obj *const *)b;
    return (x > y) - (x < y);
}

/* Puts PARENT's children in F in the order they joined (their join sequence). */
static int sort_children(const store_fld *f, store_obj *parent)
{
    size_t n = rs_rel_count(parent, f);
    store_obj **kids = malloc(n * sizeof *kids);
    if (!kids)
        return NOMEM(f->model);
    size_t k = 0;
    for (store_obj *c = rs_rel_first(parent, f); c; c = rs_fk_next(c, f))
        kids[k++] = c;
    qsort_r(kids, n, sizeof *kids, by_seq, (void *)f);
    rs_rel_clear(parent, f);
    for (k = 0; k < n; k++)
        rs_obj_link_join(f, parent, kids[k], rs_fk_seq(kids[k], f));
    free(kids);
    return STORE_OK;
}

/* Sorts the children of each parent in LATE (N entries, repeats allowed) once. */
static int sort_late(const store_fld *f, store_obj **late, size_t n)
{
    if (n > 1)
        qsort(late, n, sizeof *late, by_address);
    for (size_t k = 0; k < n; k++) {
        if (k && late[k] == late[k - 1])
            continue;
        int rc = sort_children(f, late[k]);
        if (rc)
            return rc;
    }
    return STORE_OK;
}

/*
 * Resolves foreign key F of the objects L to their parents, in join order. Each child joins
 * its parent's relation as it comes (in id order); a parent given a child that joined it
 * before its last one is noted, and each noted parent is sorted once at the end: O(n log n)
 * whatever the order the children joined in.
 */
static int resolve_fk(store *db, store_fld *f, const loaded *l)
{
    store_obj **late = NULL; /* parents whose children arrived out of join order; repeats */
    size_t nlate = 0, cap = 0;
    int rc = STORE_OK;
    for (size_t k = 0; k < l->n && !rc; k++) {
        store_obj *o = l->objs[k];
        uint64_t pid = rs_field_word(o, f), seq = rs_fk_seq(o, f);
        if (!pid)
            continue;
        store_obj *p = rs_obj_get(f->target, pid);
        if (!p) {
            rc = CORRUPT("%s %" PRIu64 ".%s: no %s %" PRIu64, f->model->name, o->id, f->name,
                         f->target->name, pid);
            break;
        }
        store_obj *tail = rs_rel_last(p, f);
        if (tail && rs_fk_seq(tail, f) > seq && !(nlate && late[nlate - 1] == p)) {
            if (nlate == cap) {
                cap = cap ? 2 * cap : 64;
                store_obj **more = realloc(late, cap * sizeof *more);
                if (!more) {
                    rc = NOMEM(f->model);
                    break;
                }
                late = more;
            }
            late[nlate++] = p;
        }
        rs_fk_parent_set(o, f, p);
        rs_obj_link_join(f, p, o, seq);
        if (seq > db->join_seq)
            db->join_seq = seq;
    }
    if (!rc)
        rc = sort_late(f, late, nlate);
    free(late);
    return rc;
}

static int index_values(store_fld *f, const loaded *l)
{
    for (size_t k = 0; k < l->n; k++) {
        store_obj *o = l->objs[k];
        if (rs_field_null(f, o))
            continue;
        if (f->unique && rs_vindex_find(f, rs_vindex_probe(f, o), NULL))
            return CORRUPT("%s %" PRIu64 ".%s: a unique value repeats", f->model->name, o->id,
                           f->name);
        if (rs_vindex_reserve(f))
            return NOMEM(f->model);
        rs_vindex_add(f, o, o->id);
    }
    return STORE_OK;
}

/* A .unique field new to the file (CM, the file's record of its model, lacks it) and given its
 * default on N objects: refused from 2 on, since they would all hold that one value. Not
 * damage: the schema asks for the impossible. */
static int check_new_unique(const rs_cat_model *cm, const store_fld *f, size_t n)
{
    if (!f->unique || f->dflt.kind == STORE_KIND_NONE || n < 2 ||
        (cm && rs_catalog_field(cm, f->name)))
        return STORE_OK;
    char mb[RS_SHORT_NAME_SIZE], fb[RS_SHORT_NAME_SIZE];
    return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: a new .unique field with a default cannot "
                        "be added to %zu objects (all would hold one value): make it .null "
                        "with no default", rs_schema_short_name(mb, sizeof mb, f->model->name),
                        rs_schema_short_name(fb, sizeof fb, f->name), n);
}

/* Files the loaded objects L of M under each of its sets of fields unique together. Two
 * sharing their values is a schema problem, not damage: the set is new to the file. */
static int index_uniqs(store_model *m, const loaded *l)
{
    for (uint32_t k = 0; k < m->nuniq; k++) {
        rs_uniq *u = &m->uniq[k];
        for (size_t i = 0; i < l->n; i++) {
            store_obj *o = l->objs[i], *twin;
            rs_probe p[RS_UNIQ_FIELDS_MAX];
            if (!rs_uniq_probe(u, o, p))
                continue;
            if ((twin = rs_uniq_find(u, p, NULL))) {
                char mb[RS_SHORT_NAME_SIZE], names[128];
                return rs_error_set(NULL, STORE_ESCHEMA, "%s %" PRIu64 " and %" PRIu64 " share "
                                    "their values of (%s), declared unique together",
                                    rs_schema_short_name(mb, sizeof mb, m->name), twin->id, o->id,
                                    rs_uniq_names(u, names, sizeof names));
            }
            if (rs_uniq_reserve(u, 1))
                return NOMEM(m);
            rs_uniq_add(u, o);
        }
    }
    return STORE_OK;
}

/* Links and indexes every loaded object, model by model. */
static int connect(store *db, loaded *all, const rs_catalog *cat)
{
    for (uint32_t i = 0; i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        const rs_cat_model *cm = rs_catalog_model(cat, m->name);
        for (uint32_t j = 0; j < m->nfields; j++) {
            store_fld *f = &m->fields[j];
            int rc = check_new_unique(cm, f, all[i].n);
            if (!rc && f->type == STORE_FK)
                rc = resolve_fk(db, f, &all[i]);
            if (!rc && (f->unique || f->indexed))
                rc = index_values(f, &all[i]);
            if (!rc && f->ordered) /* in bulk; new to the file or not */
                rc = rs_oindex_build(f, all[i].objs, all[i].n);
            if (rc)
                return rc;
        }
        int rc = index_uniqs(m, &all[i]);
        if (rc)
            return rc;
    }
    return STORE_OK;
}

/* Model names and field numbers in a catalog are unique; next ids are 1 to RS_ID_LIMIT. */
static int check_catalog(const rs_catalog *cat)
{
    for (uint32_t i = 0; i < cat->nmodels; i++) {
        const rs_cat_model *cm = &cat->models[i];
        if (rs_catalog_model(cat, cm->name) != cm || !cm->next_id)
            return CORRUPT("the catalog lists %s twice, or with no next id", cm->name);
        if (cm->next_id > RS_ID_LIMIT)
            return CORRUPT("%s: the catalog's next id %" PRIu64 " is past the id limit %" PRIu64,
                           cm->name, cm->next_id, RS_ID_LIMIT);
        for (uint32_t a = 0; a < cm->nfields; a++)
            for (uint32_t b = 0; b < a; b++)
                if (cm->fields[a].fid == cm->fields[b].fid ||
                    !strcmp(cm->fields[a].name, cm->fields[b].name))
                    return CORRUPT("the catalog repeats a field of %s", cm->name);
    }
    return STORE_OK;
}

int rs_load_store(store *db, const rs_kv *kv, const rs_catalog *cat)
{
    int rc = check_catalog(cat);
    if (rc)
        return rc;
    loaded *all = calloc(db->nmodels ? db->nmodels : 1, sizeof *all);
    changes log = {.n = 0};
    if (!all)
        return rs_error_set(NULL, STORE_ENOMEM, "out of memory loading");
    for (uint32_t i = 0; i < db->nmodels; i++)
        rs_hash_init(&all[i].log);
    rc = read_log(db, kv, cat, all, &log);
    for (uint32_t i = 0; !rc && i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        const rs_cat_model *cm = rs_catalog_model(cat, m->name);
        if (!cm)
            continue; /* a model new to this file */
        all[i].seen = calloc(m->nfields ? m->nfields : 1, sizeof *all[i].seen);
        rc = all[i].seen ? scan_model(kv, m, cm, &all[i], &log) : NOMEM(m);
        m->next_id = cm->next_id;
    }
    if (!rc)
        rc = connect(db, all, cat);
    if (!rc && cat->join_seq > db->join_seq)
        db->join_seq = cat->join_seq;
    for (uint32_t i = 0; i < db->nmodels; i++) {
        free(all[i].objs);
        free(all[i].seen);
        rs_hash_free(&all[i].log);
    }
    free(all);
    free(log.all);
    return rc;
}
