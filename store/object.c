/*
 * store/object.c - creating, updating and looking up objects.
 *
 * A mutation runs in three steps, so that a failure changes nothing:
 *   1. check: every value against its field (reads only);
 *   2. stage: the new field words are built aside, strings copied, unique values checked,
 *      and room is reserved in every index the change will touch (what can fail);
 *   3. commit: words written, indexes updated, reverse relations relinked (cannot fail).
 * Ids are consumed in step 3 only, so a failed create uses no id.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/m2m.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/schema.h"
#include "store/uniq.h"
#include "store/vindex.h"

/* ---- Values ------------------------------------------------------------------------------ */

static const char *kind_name(store_kind k)
{
    static const char *const names[] = {"none", "string", "int",  "float", "bool",
                                        "ref",  "null",   "list", "param"};
    return (unsigned)k <= STORE_KIND_PARAM ? names[k] : "unknown";
}

/* Whether V says null: STORE_V_NULL, or a NULL string or reference. */
static bool value_is_null(const store_value *v)
{
    return v->kind == STORE_KIND_NULL || (v->kind == STORE_KIND_STR && !v->u.s) ||
           (v->kind == STORE_KIND_REF && !v->u.ref);
}

/* Checks string S for field F and adds its length to *BYTES. Past STORE_STR_MAX bytes it reads
 * no further: its record could not be stored (api/store.h), and counting gigabytes of
 * characters would be wasted. */
static int check_string(store *db, const store_fld *f, const char *s, uint64_t *bytes)
{
    const store_model *m = f->model;
    size_t len = strnlen(s, (size_t)STORE_STR_MAX + 1);
    *bytes += len;
    if (len > STORE_STR_MAX)
        return rs_error_set(db, STORE_EINVAL, "%s.%s: more than STORE_STR_MAX (%zu) bytes",
                            m->name, f->name, (size_t)STORE_STR_MAX);
    long chars = rs_schema_utf8_chars(s, len);
    if (chars < 0)
        return rs_error_set(db, STORE_EINVAL, "%s.%s: the string is not valid UTF-8", m->name,
                            f->name);
    if (f->type == STORE_CHAR && (size_t)chars > f->max_length)
        return rs_error_set(db, STORE_EINVAL, "%s.%s: %ld characters, max_length is %zu",
                            m->name, f->name, chars, f->max_length);
    return STORE_OK;
}

/* Starts loading what appending a child to live parent P in foreign key F writes of P's last
 * child: its header and its link. */
static void prefetch_last_child(const store_obj *p, const store_fld *f)
{
    const store_obj *tail = rs_rel_last(p, f);
    if (tail) {
        __builtin_prefetch(tail, 1);
        __builtin_prefetch(&tail->w[f->link], 1);
    }
}

static int check_ref(store *db, const store_fld *f, const store_obj *ref)
{
    const store_model *m = f->model;
    if (!ref->model) /* deleted, its chunk's pages given back: the slot reads zeros */
        return rs_error_set(db, STORE_ECONSTRAINT, "%s.%s: the %s given is deleted", m->name,
                            f->name, f->target->name);
    if (ref->model != f->target)
        return rs_error_set(db, STORE_EINVAL, "%s.%s: a %s given, the FK is to %s", m->name,
                            f->name, ref->model->db == db ? ref->model->name : "foreign object",
                            f->target->name);
    if (!rs_obj_live(ref))
        return rs_error_set(db, STORE_ECONSTRAINT, "%s.%s: the %s given is deleted", m->name,
                            f->name, f->target->name);
    /* A create or update that goes ahead appends to REF's children: the last one's link is
     * written then. Its line (an object of anywhere in the arena) starts loading now, so that
     * the miss overlaps the checks and the staging instead of stalling the commit. */
    if (f->type == STORE_FK)
        prefetch_last_child(ref, f);
    return STORE_OK;
}

/* Checks that V fits field F; reads only. A string's length is added to *BYTES. */
static int check_value(store *db, const store_fld *f, const store_value *v, uint64_t *bytes)
{
    const store_model *m = f->model;
    if (value_is_null(v)) {
        if (!f->null)
            return rs_error_set(db, STORE_EINVAL, "%s.%s: null in a field without .null",
                                m->name, f->name);
        return STORE_OK;
    }
    if (v->kind != rs_kind_of(f->type))
        return rs_error_set(db, STORE_EINVAL, "%s.%s: a %s value given, the field wants a %s",
                            m->name, f->name, kind_name(v->kind), kind_name(rs_kind_of(f->type)));
    if (v->kind == STORE_KIND_STR)
        return check_string(db, f, v->u.s, bytes);
    if (v->kind == STORE_KIND_FLOAT && isnan(v->u.f))
        return rs_error_set(db, STORE_EINVAL, "%s.%s: NaN is not a value (it equals nothing, "
                            "not even itself)", m->name, f->name);
    if (v->kind == STORE_KIND_REF)
        return check_ref(db, f, v->u.ref);
    return STORE_OK;
}

/* Whether field F has no default and no .null, so a create must give it. */
static bool is_required(const store_fld *f)
{
    return !f->null && f->dflt.kind == STORE_KIND_NONE;
}

/* ---- Staging ------------------------------------------------------------------------------ */

/* A field's state in the stage: given by the caller, set (given or defaulted), null, owning
 * a copied string, or borrowing the caller's short string (copied into the slot at commit). */
enum { ST_GIVEN = 1, ST_SET = 2, ST_NULL = 4, ST_OWN = 8, ST_BORROW = 16 };

/* Models of up to STAGE_FIELDS fields stage on the stack: a create allocates nothing but
 * what it keeps. */
enum { STAGE_FIELDS = 32 };

/* The new words of one object, built aside: w[j] and st[j] for field j; the field each of
 * the first STAGE_FIELDS values names, found once by the check. */
typedef struct stage {
    uint64_t *w;
    uint8_t *st;
    uint64_t wbuf[STAGE_FIELDS];
    uint8_t stbuf[STAGE_FIELDS];
    const store_fld *named[STAGE_FIELDS];
} stage;

char *rs_obj_str_new(store_model *m, const char *s, size_t len)
{
    return rs_strings_new(&m->strs, s, len); /* S need not be NUL-ended (a record's bytes are not) */
}

void rs_obj_str_free(char *s)
{
    rs_strings_free(s);
}

/* Writes the LEN (<= RS_INLINE_MAX) bytes at S into O's field F itself: a tag byte, the
 * bytes, a NUL. Only for an object no reader can reach yet. */
static void str_inline(store_obj *o, const store_fld *f, const char *s, size_t len)
{
    char room[RS_INLINE_WORDS * 8] = {0};
    room[0] = (char)(2 * len + 1);
    memcpy(room + 1, s, len);
    store *db = o->model->db;
    if (rs_txn_logging(db))
        for (uint32_t k = 0; k < RS_INLINE_WORDS; k++)
            rs_txn_log_word(db, &o->w[f->word + k]);
    memcpy(&o->w[f->word], room, sizeof room);
}

int rs_obj_str_set_fresh(store_obj *o, const store_fld *f, const char *s, size_t len)
{
    if (len <= RS_INLINE_MAX) {
        str_inline(o, f, s, len);
        return 0;
    }
    char *c = rs_obj_str_new(o->model, s, len);
    if (!c)
        return -1;
    rs_field_word_set(o, f, (uint64_t)(uintptr_t)c);
    return 0;
}

static int stage_new(stage *s, const store_model *m)
{
    size_t n = m->nfields ? m->nfields : 1;
    if (n <= STAGE_FIELDS) {
        s->w = s->wbuf;
        s->st = s->stbuf;
    } else if ((s->w = malloc(n * (sizeof(uint64_t) + 1)))) {
        s->st = (uint8_t *)(s->w + n);
    } else {
        return STORE_ENOMEM;
    }
    memset(s->st, 0, n);
    return STORE_OK;
}

/* Frees the stage and the strings it still owns. */
static void stage_free(stage *s, const store_model *m)
{
    for (uint32_t j = 0; j < m->nfields; j++)
        if (s->st[j] & ST_OWN)
            rs_obj_str_free((char *)(uintptr_t)s->w[j]);
    if (s->w != s->wbuf)
        free(s->w);
}

/*
 * Checks that the strings of the object, once V is applied, come to at most STORE_STR_MAX
 * bytes together, so that its record can be stored (api/store.h). They are the GIVEN bytes of
 * V's strings (each checked already) and, for each string field V does not give, SELF's string
 * (update) or the field's default (create, SELF NULL). Only a string of V can make the total
 * too large: an update that sets no string is never refused. Only then are V's strings
 * measured again, to name the one that passes the limit. Reads only.
 */
static int check_strings_total(store *db, const store_model *m, const store_value *v,
                               const store_obj *self, const stage *s, uint64_t given)
{
    /* A create whose strings fit with every default of the model's fit: no walk. */
    if (!self && given + m->dflt_str_bytes <= STORE_STR_MAX)
        return STORE_OK;
    uint64_t total = 0;
    for (uint32_t j = 0; j < m->nfields; j++) {
        const store_fld *f = &m->fields[j];
        const char *kept;
        if (!rs_is_string(f) || (s->st[j] & ST_GIVEN))
            continue;
        if (self && (kept = rs_str_get(self, f)))
            total += rs_str_len(kept);
        else if (!self && f->dflt.kind == STORE_KIND_STR && f->dflt.u.s)
            total += strlen(f->dflt.u.s);
    }
    if (total + given <= STORE_STR_MAX)
        return STORE_OK;
    for (const store_value *p = v; p->name; p++) {
        if (p->kind != STORE_KIND_STR || !p->u.s)
            continue;
        total += strlen(p->u.s);
        if (total > STORE_STR_MAX)
            return rs_error_set(db, STORE_EINVAL,
                                "%s.%s: the object's strings would take %" PRIu64
                                " bytes, more than STORE_STR_MAX (%zu)",
                                m->name, p->name, total, (size_t)STORE_STR_MAX);
    }
    return STORE_OK;
}

/* Step 1: every value names a field once and fits it; on create, every required field is
 * given; the strings fit one record together. Reads only (it notes in S which fields are
 * given). SELF: the object updated, NULL on create. */
static int check_values(store *db, const store_model *m, const store_value *v, bool create,
                        stage *s, const store_obj *self)
{
    uint64_t given = 0; /* the bytes of the strings V gives */
    for (const store_value *p = v; p->name; p++) {
        const store_fld *f = rs_schema_field_find(m, p->name);
        if (!f)
            return rs_error_set(db, STORE_EINVAL, "%s: no field \"%s\"", m->name, p->name);
        uint32_t j = (uint32_t)(f - m->fields);
        if (p - v < STAGE_FIELDS)
            s->named[p - v] = f;
        if (s->st[j] & ST_GIVEN)
            return rs_error_set(db, STORE_EINVAL, "%s.%s: given twice", m->name, p->name);
        s->st[j] = ST_GIVEN;
        int rc = check_value(db, f, p, &given);
        if (rc)
            return rc;
    }
    for (uint32_t j = 0; create && j < m->nfields; j++)
        if (is_required(&m->fields[j]) && !(s->st[j] & ST_GIVEN))
            return rs_error_set(db, STORE_EINVAL, "%s.%s: required, and not given", m->name,
                                m->fields[j].name);
    return check_strings_total(db, m, v, self, s, given);
}

/* Stages V (already checked) into field F; a short string of a create is borrowed. */
static int stage_value(stage *s, const store_fld *f, const store_value *v, bool create)
{
    uint32_t j = (uint32_t)(f - f->model->fields);
    s->st[j] |= ST_SET;
    s->w[j] = 0;
    if (value_is_null(v)) {
        s->st[j] |= ST_NULL;
        return STORE_OK;
    }
    switch (v->kind) {
    case STORE_KIND_STR: {
        size_t len = strlen(v->u.s);
        if (create && len <= RS_INLINE_MAX) {
            s->w[j] = (uint64_t)(uintptr_t)v->u.s;
            s->st[j] |= ST_BORROW;
            break;
        }
        char *c = rs_obj_str_new(f->model, v->u.s, len);
        if (!c)
            return STORE_ENOMEM;
        s->w[j] = (uint64_t)(uintptr_t)c;
        s->st[j] |= ST_OWN;
        break;
    }
    case STORE_KIND_INT:
        s->w[j] = (uint64_t)v->u.i;
        break;
    case STORE_KIND_FLOAT:
        memcpy(&s->w[j], &v->u.f, sizeof(double));
        break;
    case STORE_KIND_BOOL:
        s->w[j] = v->u.b;
        break;
    case STORE_KIND_REF:
        s->w[j] = (uint64_t)(uintptr_t)v->u.ref;
        break;
    default:
        break;
    }
    return STORE_OK;
}

/* Stages VALUES, then (on create) each field not given: its default, or null. */
static int stage_values(store *db, stage *s, const store_model *m, const store_value *v,
                        bool create)
{
    for (size_t k = 0; v[k].name; k++) {
        const store_fld *f = k < STAGE_FIELDS ? s->named[k] : rs_schema_field_find(m, v[k].name);
        if (stage_value(s, f, &v[k], create))
            return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    }
    for (uint32_t j = 0; create && j < m->nfields; j++) {
        const store_fld *f = &m->fields[j];
        if (s->st[j] & ST_SET)
            continue;
        store_value null = STORE_V_NULL(f->name);
        if (stage_value(s, f, f->dflt.kind != STORE_KIND_NONE ? &f->dflt : &null, create))
            return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    }
    return STORE_OK;
}

/* ---- Indexed values ------------------------------------------------------------------------ */

/* The probe for the value staged (set, not null) for field F: a borrowed string is the
 * caller's, an own one a store string. */
static rs_probe staged_probe(const stage *s, const store_fld *f)
{
    uint32_t j = (uint32_t)(f - f->model->fields);
    rs_probe p = {.w = s->w[j], .len = 0};
    if (s->st[j] & ST_BORROW)
        p.len = strlen((const char *)(uintptr_t)s->w[j]);
    else if (rs_is_string(f))
        p.len = rs_str_len((const char *)(uintptr_t)s->w[j]);
    return p;
}

/* Step 2 for indexes: unique values do not repeat, and every index has room for the change
 * (of N objects: a create is one, whose every ordered field takes an entry). */
static int stage_indexes(store *db, const stage *s, store_model *m, const store_obj *self,
                         size_t n)
{
    for (uint32_t j = 0; m->any_index && j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        if (f->ordered && (s->st[j] & ST_SET)) {
            int rc = rs_oindex_reserve(f, n);
            if (rc)
                return rc;
        }
        if (!(s->st[j] & ST_SET) || (s->st[j] & ST_NULL) || !(f->unique || f->indexed))
            continue;
        rs_probe p = staged_probe(s, f);
        if (f->unique && rs_vindex_find(f, p, self))
            return rs_error_set(db, STORE_ECONSTRAINT, "%s.%s: the value is already used",
                                m->name, f->name);
        if (rs_vindex_reserve(f))
            return rs_error_set(db, STORE_ENOMEM, "%s.%s: out of memory", m->name, f->name);
    }
    return STORE_OK;
}

/* Inside a transaction, room for the bytes of ordered index nodes that committing S into N
 * objects of M may keep. */
static int stage_images(store *db, const stage *s, const store_model *m, size_t n)
{
    if (!rs_txn_logging(db))
        return STORE_OK;
    size_t bytes = 0;
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].ordered && (s->st[j] & ST_SET))
            bytes += rs_oindex_txn_bytes(&m->fields[j], 2 * n);
    return rs_txn_reserve_bytes(db, bytes);
}

/* ---- Reverse relations -------------------------------------------------------------------- */

void rs_obj_link_join(const store_fld *fk, store_obj *parent, store_obj *child, uint64_t seq)
{
    store_obj *tail = rs_rel_last(parent, fk);
    rs_fk_next_set(child, fk, NULL);
    rs_fk_prev_set(child, fk, tail);
    rs_fk_seq_set(child, fk, seq);
    if (tail)
        rs_fk_next_set(tail, fk, child);
    else
        rs_rel_first_set(parent, fk, child);
    rs_rel_last_set(parent, fk, child);
    rs_rel_count_set(parent, fk, rs_rel_count(parent, fk) + 1);
}

static void link_append(const store_fld *fk, store_obj *parent, store_obj *child)
{
    rs_obj_link_join(fk, parent, child, ++parent->model->db->join_seq);
}

void rs_obj_link_remove(const store_fld *fk, store_obj *parent, store_obj *child)
{
    store_obj *next = rs_fk_next(child, fk), *prev = rs_fk_prev(child, fk);
    if (prev)
        rs_fk_next_set(prev, fk, next);
    else
        rs_rel_first_set(parent, fk, next);
    if (next)
        rs_fk_prev_set(next, fk, prev);
    else
        rs_rel_last_set(parent, fk, prev);
    rs_rel_count_set(parent, fk, rs_rel_count(parent, fk) - 1);
    rs_fk_next_set(child, fk, NULL);
    rs_fk_prev_set(child, fk, NULL);
    rs_fk_seq_set(child, fk, 0);
}

/* ---- Changes since the last snapshot ------------------------------------------------------ */

/* In a transaction, logs O's marks (under the id it holds, or is about to: ID) before they
 * change. */
static void log_marks(store_obj *o, uint64_t id)
{
    store_model *m = o->model;
    if (!rs_txn_logging(m->db))
        return;
    uintptr_t bits = 0;
    for (int plane = 0; plane < RS_NMARKS; plane++)
        bits |= (uintptr_t)rs_mark_test(&m->arena, id, plane) << plane;
    rs_txn_log(m->db, (rs_undo){.kind = RS_UNDO_MARKS, .p = &m->arena, .a = id,
                                .b = (void *)bits});
}

void rs_obj_mark_dirty(store_obj *o)
{
    store_model *m = o->model;
    if (!m->db->track)
        return;
    log_marks(o, o->id);
    rs_arena_mark_set(&m->arena, o->id, RS_MARK_DIRTY, true);
    /* Dirty again, if a snapshot is writing it. */
    rs_arena_mark_set(&m->arena, o->id, RS_MARK_DIRTY_OUT, false);
}

void rs_obj_mark_tomb(store_obj *o)
{
    store_model *m = o->model;
    if (!m->db->track)
        return;
    log_marks(o, o->id);
    rs_arena_mark_set(&m->arena, o->id, RS_MARK_DIRTY, false);
    rs_arena_mark_set(&m->arena, o->id, RS_MARK_DIRTY_OUT, false);
    rs_arena_mark_set(&m->arena, o->id, RS_MARK_TOMB, true);
}

/* ---- Commit ------------------------------------------------------------------------------- */

/* Whether staged word W (ST: its state) is the value O holds in F; neither is null. */
static bool same_value(const store_fld *f, const store_obj *o, uint64_t w, uint8_t st)
{
    if (!rs_is_string(f))
        return rs_field_word(o, f) == w;
    const char *s = (const char *)(uintptr_t)w, *old = rs_str_get(o, f);
    size_t len = st & ST_BORROW ? strlen(s) : rs_str_len(s);
    return rs_str_len(old) == len && !memcmp(old, s, len);
}

/* Step 3 for one field: O (whose id is, or is to be, ID) takes staged word W (ST: its state)
 * in its field F. Cannot fail. */
static void commit_field(store_obj *o, uint64_t id, store_fld *f, uint64_t w, uint8_t st,
                         bool fresh)
{
    /* A fresh object's slot holds nothing yet: no old value to read or decode. */
    uint64_t old = fresh ? 0 : rs_field_word(o, f);
    const char *old_str = !fresh && rs_is_string(f) ? rs_str_decode(o, f, old) : NULL;
    bool was_null = fresh || rs_field_null(f, o);
    bool is_null = st & ST_NULL;
    if (f->type == STORE_FK && !fresh && !was_null && !is_null && old == w)
        return; /* same parent: stays where it is in the relation */
    /* A value set again keeps its place in its group (moving in costs up to the group). */
    bool same = !was_null && !is_null && same_value(f, o, w, st);
    bool reindex = (f->unique || f->indexed) && !same;
    bool reorder = f->ordered && (fresh || (!same && !(was_null && is_null)));
    if (reorder && !fresh)
        rs_oindex_remove(f, o); /* before the value it is filed under changes */
    if (reindex && !was_null)
        rs_vindex_remove(f, o);
    if (f->type == STORE_FK && !was_null)
        rs_obj_link_remove(f, (store_obj *)(uintptr_t)old, o);
    if (st & ST_BORROW) {
        const char *s = (const char *)(uintptr_t)w;
        str_inline(o, f, s, strlen(s));
    } else {
        store *db = o->model->db;
        if (rs_is_string(f) && w && rs_txn_logging(db)) /* a rollback frees it */
            rs_txn_log(db, (rs_undo){.kind = RS_UNDO_STR_NEW, .p = (void *)(uintptr_t)w});
        rs_field_word_set(o, f, w);
    }
    if (f->null && !rs_is_string(f) && f->type != STORE_FK)
        rs_field_null_mark(o, f, is_null);
    if (rs_is_string(f) && !fresh)
        rs_obj_str_drop(o, f, (char *)(uintptr_t)old_str);
    if (f->type == STORE_FK && !is_null)
        link_append(f, (store_obj *)(uintptr_t)w, o);
    if (reindex && !is_null)
        rs_vindex_add(f, o, id); /* reserved: cannot fail */
    if (reorder)
        rs_oindex_add(f, o, id); /* reserved: cannot fail */
}

/* Step 3: commits every staged field into O, whose id is (or is to be) ID; the stage no
 * longer owns its strings. */
static bool uniq_touched(const stage *s, const rs_uniq *u);

static void commit(stage *s, store_obj *o, uint64_t id, bool fresh)
{
    store_model *m = o->model;
    for (uint32_t k = 0; !fresh && k < m->nuniq; k++)
        if (uniq_touched(s, &m->uniq[k]))
            rs_uniq_remove(&m->uniq[k], o);
    for (uint32_t j = 0; j < m->nfields; j++)
        if (s->st[j] & ST_SET) {
            commit_field(o, id, &m->fields[j], s->w[j], s->st[j], fresh);
            s->st[j] &= (uint8_t)~ST_OWN;
        }
    for (uint32_t k = 0; k < m->nuniq; k++)
        if (fresh || uniq_touched(s, &m->uniq[k]))
            rs_uniq_add(&m->uniq[k], o); /* reserved: cannot fail */
}

/* The values of the list V. */
static size_t count_values(const store_value *v)
{
    size_t n = 0;
    while (v[n].name)
        n++;
    return n;
}

/* ---- Fields unique together --------------------------------------------------------------- */

/* Whether the stage sets one of U's fields. */
static bool uniq_touched(const stage *s, const rs_uniq *u)
{
    const store_model *m = u->fields[0]->model;
    for (uint32_t i = 0; i < u->n; i++)
        if (s->st[u->fields[i] - m->fields] & ST_SET)
            return true;
    return false;
}

/* The values of U's fields that O (NULL on create) would hold once S is committed, into P;
 * false when one is null. */
static bool stage_probe(const stage *s, const rs_uniq *u, const store_obj *o, rs_probe *p)
{
    const store_model *m = u->fields[0]->model;
    for (uint32_t i = 0; i < u->n; i++) {
        const store_fld *f = u->fields[i];
        uint8_t st = s->st[f - m->fields];
        if (!(st & ST_SET)) {
            if (!o || rs_field_null(f, o))
                return false;
            p[i] = rs_vindex_probe(f, o);
            continue;
        }
        if (st & ST_NULL)
            return false;
        p[i] = staged_probe(s, f);
    }
    return true;
}

typedef struct keyed {
    uint64_t key;
    size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Whether two of the N objects OBJS would hold the same values of U once S is committed. */
static int clash_among(store *db, const stage *s, const rs_uniq *u, store_obj *const *objs,
                       size_t n, bool *clash)
{
    keyed *keys = malloc(n * sizeof *keys);
    rs_probe *probes = malloc(n * u->n * sizeof *probes);
    size_t k = 0;
    if (!keys || !probes) {
        free(keys);
        free(probes);
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", objs[0]->model->name);
    }
    for (size_t i = 0; i < n; i++)
        if (stage_probe(s, u, objs[i], probes + k * u->n)) {
            keys[k] = (keyed){rs_uniq_key(u, probes + k * u->n), k};
            k++;
        }
    qsort(keys, k, sizeof *keys, cmp_keyed);
    *clash = false;
    for (size_t a = 0; a + 1 < k && !*clash; a++)
        for (size_t b = a + 1; b < k && keys[b].key == keys[a].key && !*clash; b++)
            *clash = rs_uniq_same(u, probes + keys[a].i * u->n, probes + keys[b].i * u->n);
    free(keys);
    free(probes);
    return STORE_OK;
}

/*
 * Step 2 for the sets of fields unique together: on a create (OBJS NULL) or an update of the
 * N objects OBJS, no object would share its values with another, and each table has room.
 * An object another one of OBJS clashes with clashes after the update too: the fields the
 * update sets are the same for all of them, and the others are what the holder keeps.
 */
static int stage_uniqs(store *db, const stage *s, store_model *m, store_obj *const *objs,
                       size_t n)
{
    for (uint32_t k = 0; k < m->nuniq; k++) {
        rs_uniq *u = &m->uniq[k];
        if (objs && !uniq_touched(s, u))
            continue;
        char names[128];
        rs_probe p[RS_UNIQ_FIELDS_MAX];
        bool clash = false;
        for (size_t i = 0; i < (objs ? n : 1) && !clash; i++)
            clash = stage_probe(s, u, objs ? objs[i] : NULL, p) &&
                    rs_uniq_find(u, p, objs ? objs[i] : NULL);
        if (!clash && objs && n > 1) {
            int rc = clash_among(db, s, u, objs, n, &clash);
            if (rc)
                return rc;
        }
        if (clash)
            return rs_error_set(db, STORE_ECONSTRAINT, "%s: the values of (%s) are already "
                                "used together", m->name, rs_uniq_names(u, names, sizeof names));
        if (rs_uniq_reserve(u, objs ? n : 1))
            return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    }
    return STORE_OK;
}

/* ---- Links of many-to-many relations ------------------------------------------------------ */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (store_obj *const *)a, y = (uintptr_t) * (store_obj *const *)b;
    return x < y ? -1 : x > y;
}

/* The parent staged for foreign key FK of M, or NULL (staged null, or not staged). */
static store_obj *staged_parent(const stage *s, const store_model *m, const store_fld *fk)
{
    uint32_t j = (uint32_t)(fk - m->fields);
    return (s->st[j] & ST_SET) && !(s->st[j] & ST_NULL) ? (store_obj *)(uintptr_t)s->w[j]
                                                        : NULL;
}

/*
 * Step 2 for a through model M: no pair ends up linked twice (store/m2m.c), on a create
 * (OBJS NULL) or an update of the N objects OBJS. An update that sets both keys of several
 * links would link one pair several times; one that sets one key must not bring two links
 * with the same other key together (found by sorting those keys).
 */
static int stage_pairs(store *db, const stage *s, const store_model *m, store_obj *const *objs,
                       size_t n)
{
    const rs_m2m *r = m->pair;
    if (!r)
        return STORE_OK;
    store_obj *near = staged_parent(s, m, r->near), *far = staged_parent(s, m, r->far);
    if (!objs)
        return rs_m2m_pair_check(db, m, near, far, NULL);
    bool set_near = s->st[r->near - m->fields] & ST_SET;
    bool set_far = s->st[r->far - m->fields] & ST_SET;
    if (!set_near && !set_far)
        return STORE_OK;
    if (n > 1 && set_near && set_far)
        return rs_error_set(db, STORE_ECONSTRAINT, "%s: the update would link one pair %zu "
                            "times", m->name, n);
    for (size_t i = 0; i < n; i++) {
        int rc = rs_m2m_pair_check(db, m, set_near ? near : rs_fk_parent(objs[i], r->near),
                                   set_far ? far : rs_fk_parent(objs[i], r->far), objs[i]);
        if (rc)
            return rc;
    }
    if (n < 2)
        return STORE_OK;
    store_obj **kept = malloc(n * sizeof *kept);
    if (!kept)
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    for (size_t i = 0; i < n; i++)
        kept[i] = rs_fk_parent(objs[i], set_near ? r->far : r->near);
    qsort(kept, n, sizeof *kept, cmp_ptr);
    int rc = STORE_OK;
    for (size_t i = 1; i < n && !rc; i++)
        if (kept[i] && kept[i] == kept[i - 1])
            rc = rs_error_set(db, STORE_ECONSTRAINT, "%s: the update would link one pair "
                              "twice", m->name);
    free(kept);
    return rc;
}

void rs_obj_prefetch(const store_model *m, const store_value *v, bool tails)
{
    for (; v->name; v++) {
        if (v->kind != STORE_KIND_REF || !v->u.ref)
            continue;
        const store_obj *p = v->u.ref;
        if (!tails) {
            __builtin_prefetch(p, 0);
            continue;
        }
        const store_fld *f = rs_schema_field_find(m, v->name);
        if (!f || f->type != STORE_FK || p->model != f->target || !rs_obj_live(p))
            continue;
        __builtin_prefetch(&p->w[f->head], 1);
        prefetch_last_child(p, f);
    }
}

int rs_obj_create(store *db, store_model *m, const store_value *v, store_obj **out)
{
    stage s;
    if (stage_new(&s, m))
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    int rc = check_values(db, m, v, true, &s, NULL);
    if (!rc)
        rc = stage_values(db, &s, m, v, true);
    if (!rc)
        rc = stage_indexes(db, &s, m, NULL, 1);
    if (!rc)
        rc = stage_pairs(db, &s, m, NULL, 0);
    if (!rc)
        rc = stage_uniqs(db, &s, m, NULL, 0);
    uint64_t id = m->next_id;
    if (!rc && id >= RS_ID_LIMIT)
        rc = rs_error_set(db, STORE_EFULL, "%s: every id below 2^40 was handed out", m->name);
    if (!rc && rs_arena_reserve(&m->arena, id))
        rc = rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    if (!rc && rs_txn_logging(db)) /* the bound takes a walk of the model's fields */
        rc = rs_txn_reserve(db, rs_txn_bound_create(m));
    if (!rc)
        rc = stage_images(db, &s, m, 1);
    if (rc)
        goto out_free_stage;
    store_obj *o = rs_arena_take(&m->arena, id); /* nothing below can fail */
    __atomic_store_n(&o->model, m, __ATOMIC_RELAXED); /* lock-free readers load it (rs_obj_model) */
    if (rs_txn_logging(db))
        rs_txn_log(db, (rs_undo){.kind = RS_UNDO_LIVE, .p = &m->arena,
                                 .a = id >> RS_CHUNK_SHIFT, .b = (void *)1});
    m->next_id++;
    commit(&s, o, id, true);
    rs_obj_publish(o, id); /* last: a reader that finds the id finds the object whole */
    rs_obj_mark_dirty(o);
    m->count++;
    if (out)
        *out = o;
out_free_stage:
    stage_free(&s, m);
    return rc;
}

int rs_obj_update(store *db, store_obj *o, const store_value *v)
{
    assert(rs_obj_live(o)); /* api/ checks it under the lock */
    store_model *m = o->model;
    stage s;
    if (stage_new(&s, m))
        return rs_error_set(db, STORE_ENOMEM, "%s %" PRIu64 ": out of memory", m->name, o->id);
    int rc = check_values(db, m, v, false, &s, o);
    if (!rc)
        rc = stage_values(db, &s, m, v, false);
    if (!rc)
        rc = stage_indexes(db, &s, m, o, 1);
    if (!rc)
        rc = stage_pairs(db, &s, m, &o, 1);
    if (!rc)
        rc = stage_uniqs(db, &s, m, &o, 1);
    if (!rc)
        rc = rs_txn_reserve(db, rs_txn_bound_update(m, count_values(v)));
    if (!rc)
        rc = stage_images(db, &s, m, 1);
    if (!rc) {
        commit(&s, o, o->id, false);
        rs_obj_mark_dirty(o);
        if (!rs_txn_logging(db))
            rs_oindex_trim(m);
    }
    stage_free(&s, m);
    return rc;
}

/* The string copies an update of N objects needs beyond the stage's own (for objects 1..N-1),
 * NS string fields each: copies[(i - 1) * NS + k]. */
typedef struct copies {
    char **s;
    size_t n;
} copies;

static void copies_free(copies *c)
{
    for (size_t k = 0; k < c->n; k++)
        rs_obj_str_free(c->s[k]);
    free(c->s);
}

/* Copies the staged strings of fields FIELDS (NS of them) for N - 1 more objects. */
static int copies_make(copies *c, store_model *m, const stage *s, const uint32_t *fields,
                       size_t ns, size_t n)
{
    c->n = 0;
    c->s = NULL;
    if (n < 2 || !ns)
        return STORE_OK;
    if ((n - 1) > SIZE_MAX / ns / sizeof *c->s || !(c->s = malloc((n - 1) * ns * sizeof *c->s)))
        return STORE_ENOMEM;
    for (size_t i = 1; i < n; i++)
        for (size_t k = 0; k < ns; k++) {
            const char *str = (const char *)(uintptr_t)s->w[fields[k]];
            char *d = rs_obj_str_new(m, str, rs_str_len(str));
            if (!d)
                return STORE_ENOMEM;
            c->s[c->n++] = d;
        }
    return STORE_OK;
}

/* Checks what an update of V asks of each of OBJS beyond the first, once S is checked:
 * their strings fit one record, and no .unique value goes to two objects. */
static int check_many(store *db, const store_model *m, const store_value *v, const stage *s,
                      store_obj *const *objs, size_t n)
{
    uint64_t given = 0;
    for (const store_value *p = v; p->name; p++)
        if (p->kind == STORE_KIND_STR && p->u.s)
            given += strlen(p->u.s);
    for (uint32_t j = 0; n > 1 && j < m->nfields; j++)
        if ((s->st[j] & ST_SET) && !(s->st[j] & ST_NULL) && m->fields[j].unique)
            return rs_error_set(db, STORE_ECONSTRAINT, "%s.%s: the update would give %zu "
                                "objects the same value", m->name, m->fields[j].name, n);
    int rc = STORE_OK;
    for (size_t i = 1; i < n && !rc; i++)
        rc = check_strings_total(db, m, v, objs[i], s, given);
    return rc;
}

int rs_obj_update_many(store *db, store_model *m, store_obj *const *objs, size_t n,
                       const store_value *v)
{
    assert(rs_lock_held_write(&db->lock));
    stage s;
    if (stage_new(&s, m))
        return rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    uint32_t *fields = malloc((m->nfields ? m->nfields : 1) * sizeof *fields);
    copies c = {NULL, 0};
    int rc = fields ? check_values(db, m, v, false, &s, n ? objs[0] : NULL)
                    : rs_error_set(db, STORE_ENOMEM, "%s: out of memory", m->name);
    if (!rc && !n) /* the values are checked: nothing else to do */
        goto free_copies;
    if (!rc)
        rc = stage_values(db, &s, m, v, false);
    if (!rc)
        rc = check_many(db, m, v, &s, objs, n);
    if (!rc)
        rc = stage_indexes(db, &s, m, objs[0], n);
    if (!rc)
        rc = stage_pairs(db, &s, m, objs, n);
    if (!rc)
        rc = stage_uniqs(db, &s, m, objs, n);
    size_t ns = 0;
    for (uint32_t j = 0; !rc && j < m->nfields; j++)
        if ((s.st[j] & ST_OWN) && rs_is_string(&m->fields[j]))
            fields[ns++] = j;
    if (!rc && copies_make(&c, m, &s, fields, ns, n))
        rc = rs_error_set(db, STORE_ENOMEM, "%s: out of memory copying strings for %zu "
                          "objects", m->name, n);
    size_t bound = rs_txn_bound_update(m, count_values(v));
    if (!rc)
        rc = bound > SIZE_MAX / n ? rs_error_set(db, STORE_ENOMEM, "%s: too many objects", m->name)
                                  : rs_txn_reserve(db, bound * n);
    if (!rc)
        rc = stage_images(db, &s, m, n);
    if (rc)
        goto free_copies;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; i && k < ns; k++) {
            s.w[fields[k]] = (uint64_t)(uintptr_t)c.s[(i - 1) * ns + k];
            s.st[fields[k]] |= ST_OWN;
        }
        commit(&s, objs[i], objs[i]->id, false);
        rs_obj_mark_dirty(objs[i]);
    }
    c.n = 0; /* every copy now belongs to an object */
    if (!rs_txn_logging(db))
        rs_oindex_trim(m);
free_copies:
    copies_free(&c);
    free(fields);
    stage_free(&s, m);
    return rc;
}

void rs_obj_strings_free(store_obj *o)
{
    store_model *m = o->model;
    for (uint32_t j = 0; j < m->nfields; j++)
        if (rs_is_string(&m->fields[j]))
            rs_obj_str_drop(o, &m->fields[j], (char *)(uintptr_t)rs_str_get(o, &m->fields[j]));
}

/* ---- Lookup by value ---------------------------------------------------------------------- */

int rs_obj_get_by(store *db, store_model *m, const store_fld *f, const store_value *v,
                  store_obj **out)
{
    *out = NULL;
    if (!f->unique && !f->indexed)
        return rs_error_set(db, STORE_EINVAL, "%s.%s: not .unique nor .index", m->name, f->name);
    if (value_is_null(v))
        return rs_error_set(db, STORE_ENOTFOUND, "%s.%s: null matches nothing", m->name,
                            f->name);
    int rc;
    if (v->kind == STORE_KIND_REF) {
        /* A deleted parent is not an error here: nothing points at it, so nothing matches,
         * whatever model it was of (its id is 0 whether or not its chunk gave its pages
         * back, when its model word reads NULL too). */
        if (f->type == STORE_FK && !v->u.ref->id)
            return rs_error_set(db, STORE_ENOTFOUND, "%s.%s: the %s given is deleted", m->name,
                                f->name, f->target->name);
        if (f->type != STORE_FK || rs_obj_model(v->u.ref) != f->target)
            return rs_error_set(db, STORE_EINVAL, "%s.%s: not a reference to a %s", m->name,
                                f->name, f->type == STORE_FK ? f->target->name : "FK");
    } else if ((rc = check_value(db, f, v, &(uint64_t){0}))) {
        return rc;
    }
    rs_probe p = {.w = 0, .len = 0};
    switch (v->kind) {
    case STORE_KIND_STR:
        p.w = (uint64_t)(uintptr_t)v->u.s;
        p.len = strlen(v->u.s);
        break;
    case STORE_KIND_REF:
        p.w = (uint64_t)(uintptr_t)v->u.ref;
        break;
    case STORE_KIND_BOOL:
        p.w = v->u.b;
        break;
    default:
        p.w = (uint64_t)v->u.i;
        break;
    }
    *out = rs_vindex_find(f, p, NULL);
    if (!*out)
        return rs_error_set(db, STORE_ENOTFOUND, "%s.%s: no object holds that value", m->name,
                            f->name);
    return STORE_OK;
}
