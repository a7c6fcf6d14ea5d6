/*
 * persist/catalog.c - the catalog record: format, schema, next ids and the snapshot digest.
 *
 *   OFFSET  SIZE  MEANING
 *   0       8     magic "RELSTORE"
 *   8       4     format version (RS_FORMAT_VERSION)
 *   12      8     XXH3-64 of bytes 20..end
 *   20      8     generation: 1 for the first snapshot, then 2, 3, ...
 *   28      8     time of the snapshot, nanoseconds since the epoch
 *   36      8     the store's join sequence
 *   44      24    the change log's digest: entries, checksums summed, bytes (persist/log.c)
 *   68      8     the LMDB transaction that wrote it: LMDB's newest meta page must not name
 *                 a later one (a damaged meta page would make LMDB open an older snapshot)
 *   76      4     number of models
 *   80      ...   each model: name (str), next_id (8), count (8), hsum (8), nfields (4), then
 *                 each field: fid (4), name (str), type (1), flags (1: null 1, unique 2,
 *                 index 4, ordered 8, default 16), on_delete (1), max_length (8), to (str),
 *                 related_name (str), and when flags has 16 (format 2) the default: its kind
 *                 (1: STORE_KIND_STR, INT, FLOAT or BOOL), then a u32 length n and n bytes
 *                 ending in a NUL, or 8 bytes of the integer or of the double, or 1 byte;
 *                 a STORE_M2M the model declares is an entry of type STORE_M2M with fid 0,
 *                 the far model in to, and the number of its through model (its place in
 *                 this list of models) in max_length
 *
 * A str is a u16 length n then n bytes, the last a NUL (n = 0: absent). Numbers are
 * little-endian. Format 1 (read, no longer written) is format 2 without defaults: a default
 * changes no record, so a file of format 1 opens as it is and its next snapshot writes 2. count and hsum are the number of records in the model's database and the
 * sum mod 2^64 of their checksums: the loader recomputes both, so a record lost, added or
 * altered is found even when its own checksum happens to be right.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "persist/bytes.h"
#include "persist/catalog.h"
#include "store/error.h"
#include "store/schema.h"

static const char MAGIC[8] = "RELSTORE";
enum { HEAD = 80, HASHED = 20 };

/* ---- Encoding ----------------------------------------------------------------------------- */

static size_t str_size(const char *s)
{
    return 2 + (s ? strlen(s) + 1 : 0);
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0;
    rs_put_u16(p, (uint16_t)n);
    if (n)
        memcpy(p + 2, s, n);
    return p + 2 + n;
}

/* Whether F's default is recorded: the kinds a field's default can have (store/schema.c). */
static bool has_default(const store_fld *f)
{
    store_kind k = f->dflt.kind;
    return (k == STORE_KIND_STR && f->dflt.u.s) || k == STORE_KIND_INT ||
           k == STORE_KIND_FLOAT || k == STORE_KIND_BOOL;
}

static size_t default_size(const store_fld *f)
{
    if (!has_default(f))
        return 0;
    return 1 + (f->dflt.kind == STORE_KIND_STR    ? 4 + strlen(f->dflt.u.s) + 1
                : f->dflt.kind == STORE_KIND_BOOL ? 1
                                                  : 8);
}

static size_t field_size(const store_fld *f)
{
    return 4 + str_size(f->name) + 3 + 8 + str_size(f->to) + str_size(f->related_name) +
           default_size(f);
}

static size_t m2m_size(const rs_m2m *r)
{
    return 4 + str_size(r->name) + 3 + 8 + str_size(r->other->name) +
           str_size(r->mirror->name);
}

static uint8_t *put_m2m(uint8_t *p, const store *db, const rs_m2m *r)
{
    rs_put_u32(p, 0);
    p = put_str(p + 4, r->name);
    p[0] = (uint8_t)STORE_M2M;
    p[1] = p[2] = 0;
    rs_put_u64(p + 3, (uint64_t)(r->through - db->models));
    p = put_str(p + 11, r->other->name);
    return put_str(p, r->mirror->name);
}

/* The many-to-many relations M declares. */
static uint32_t declared_m2m(const store_model *m)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < m->nm2m; k++)
        n += m->m2m[k].declared;
    return n;
}

static uint8_t *put_field(uint8_t *p, const store_fld *f)
{
    rs_put_u32(p, f->fid);
    p = put_str(p + 4, f->name);
    p[0] = (uint8_t)f->type;
    p[1] = (uint8_t)((f->null ? RS_CAT_NULL : 0) | (f->unique ? RS_CAT_UNIQUE : 0) |
                     (f->indexed ? RS_CAT_INDEX : 0) | (f->ordered ? RS_CAT_ORDERED : 0) |
                     (has_default(f) ? RS_CAT_DEFAULT : 0));
    p[2] = (uint8_t)f->on_delete;
    rs_put_u64(p + 3, f->max_length);
    p = put_str(p + 11, f->type == STORE_FK ? f->target->name : NULL);
    p = put_str(p, f->type == STORE_FK ? f->related_name : NULL);
    if (!has_default(f))
        return p;
    *p++ = (uint8_t)f->dflt.kind;
    switch (f->dflt.kind) {
    case STORE_KIND_STR: {
        size_t n = strlen(f->dflt.u.s) + 1;
        rs_put_u32(p, (uint32_t)n);
        memcpy(p + 4, f->dflt.u.s, n);
        return p + 4 + n;
    }
    case STORE_KIND_BOOL:
        *p = f->dflt.u.b;
        return p + 1;
    case STORE_KIND_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &f->dflt.u.f, 8);
        rs_put_u64(p, bits);
        return p + 8;
    }
    default: /* STORE_KIND_INT */
        rs_put_u64(p, (uint64_t)f->dflt.u.i);
        return p + 8;
    }
}

int rs_catalog_encode(const store *db, const rs_cat_head *head, const rs_cat_state *state,
                      uint8_t **out, size_t *len)
{
    size_t n = HEAD;
    for (uint32_t i = 0; i < db->nmodels; i++) {
        const store_model *m = &db->models[i];
        n += str_size(m->name) + 28;
        for (uint32_t j = 0; j < m->nfields; j++)
            n += field_size(&m->fields[j]);
        for (uint32_t k = 0; k < m->nm2m; k++)
            n += m->m2m[k].declared ? m2m_size(&m->m2m[k]) : 0;
    }
    uint8_t *b = malloc(n), *p = b + HEAD;
    if (!b)
        return rs_error_set(db, STORE_ENOMEM, "out of memory encoding the catalog");
    memcpy(b, MAGIC, 8);
    rs_put_u32(b + 8, RS_FORMAT_VERSION);
    rs_put_u64(b + 20, head->generation);
    rs_put_u64(b + 28, head->time_ns);
    rs_put_u64(b + 36, head->join_seq);
    rs_put_u64(b + 44, head->log.count);
    rs_put_u64(b + 52, head->log.hsum);
    rs_put_u64(b + 60, head->log.bytes);
    rs_put_u64(b + 68, head->txnid);
    rs_put_u32(b + 76, db->nmodels);
    for (uint32_t i = 0; i < db->nmodels; i++) {
        const store_model *m = &db->models[i];
        p = put_str(p, m->name);
        rs_put_u64(p, state[i].next_id);
        rs_put_u64(p + 8, state[i].count);
        rs_put_u64(p + 16, state[i].hsum);
        rs_put_u32(p + 24, m->nfields + declared_m2m(m));
        p += 28;
        for (uint32_t j = 0; j < m->nfields; j++)
            p = put_field(p, &m->fields[j]);
        for (uint32_t k = 0; k < m->nm2m; k++)
            if (m->m2m[k].declared)
                p = put_m2m(p, db, &m->m2m[k]);
    }
    rs_put_u64(b + 12, XXH3_64bits(b + HASHED, n - HASHED));
    *out = b;
    *len = n;
    return STORE_OK;
}

/* ---- Decoding ----------------------------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *p, *end;
    bool bad;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    return p;
}

static uint64_t take_u64(cursor *c)
{
    const uint8_t *p = take(c, 8);
    return p ? rs_get_u64(p) : 0;
}

static uint32_t take_u32(cursor *c)
{
    const uint8_t *p = take(c, 4);
    return p ? rs_get_u32(p) : 0;
}

static uint8_t take_u8(cursor *c)
{
    const uint8_t *p = take(c, 1);
    return p ? *p : 0;
}

/* A string: NULL when absent; when malformed, NULL with c->bad set. */
static const char *take_str(cursor *c, bool required)
{
    const uint8_t *p = take(c, 2);
    size_t n = p ? rs_get_u16(p) : 0;
    const char *s = n ? (const char *)take(c, n) : NULL;
    if (s && (s[n - 1] != 0 || memchr(s, 0, n - 1)))
        c->bad = true;
    if (required && !s)
        c->bad = true;
    return s;
}

/* A field's default, after its related_name (format 2): kind, then the value. */
static void take_default(cursor *c, store_value *d)
{
    d->kind = (store_kind)take_u8(c);
    switch (d->kind) {
    case STORE_KIND_STR: {
        uint32_t n = take_u32(c);
        const char *s = n ? (const char *)take(c, n) : NULL;
        if (!s || s[n - 1] != 0 || memchr(s, 0, n - 1))
            c->bad = true;
        d->u.s = s;
        break;
    }
    case STORE_KIND_BOOL: {
        uint8_t b = take_u8(c);
        c->bad |= b > 1;
        d->u.b = b;
        break;
    }
    case STORE_KIND_FLOAT: {
        uint64_t bits = take_u64(c);
        memcpy(&d->u.f, &bits, 8);
        break;
    }
    case STORE_KIND_INT:
        d->u.i = (int64_t)take_u64(c);
        break;
    default:
        c->bad = true;
    }
}

static int damaged(void)
{
    return rs_error_set(NULL, STORE_ECORRUPT, "the catalog is damaged");
}

static int out_of_memory(void)
{
    return rs_error_set(NULL, STORE_ENOMEM, "out of memory");
}

static int decode_model(cursor *c, rs_cat_model *m, uint32_t nmodels, uint32_t version)
{
    m->name = take_str(c, true);
    m->next_id = take_u64(c);
    m->count = take_u64(c);
    m->hsum = take_u64(c);
    m->nfields = take_u32(c);
    if (c->bad || m->nfields > STORE_FIELDS_MAX || m->nfields > (size_t)(c->end - c->p) / 16)
        return damaged();
    if (m->nfields && !(m->fields = calloc(m->nfields, sizeof *m->fields)))
        return out_of_memory();
    for (uint32_t j = 0; j < m->nfields && !c->bad; j++) {
        rs_cat_field *f = &m->fields[j];
        f->fid = take_u32(c);
        f->name = take_str(c, true);
        f->type = take_u8(c);
        f->flags = take_u8(c);
        f->on_delete = take_u8(c);
        f->max_length = take_u64(c);
        f->to = take_str(c, false);
        f->related_name = take_str(c, false);
        if (f->flags & RS_CAT_DEFAULT) {
            c->bad |= version < 2;
            take_default(c, &f->dflt);
        }
    }
    if (c->bad)
        return damaged();
    /* The many-to-many entries go after the fields, in their order. */
    uint32_t plain = 0;
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].type != STORE_M2M) {
            rs_cat_field f = m->fields[j];
            memmove(&m->fields[plain + 1], &m->fields[plain], (j - plain) * sizeof f);
            m->fields[plain++] = f;
        }
    m->nm2m = m->nfields - plain;
    m->m2m = m->fields + plain;
    m->nfields = plain;
    for (uint32_t k = 0; k < m->nm2m; k++)
        if (!m->m2m[k].to || !m->m2m[k].related_name || m->m2m[k].max_length >= nmodels)
            return damaged();
    return STORE_OK;
}

int rs_catalog_decode(rs_catalog *cat, const void *p, size_t len)
{
    memset(cat, 0, sizeof *cat);
    const uint8_t *b = p;
    if (len < HEAD || memcmp(b, MAGIC, 8))
        return damaged();
    cat->version = rs_get_u32(b + 8);
    if (cat->version < RS_FORMAT_OLDEST || cat->version > RS_FORMAT_VERSION)
        return rs_error_set(NULL, STORE_ECORRUPT, "format version %u; this relstore reads "
                            "versions %d to %d", cat->version, RS_FORMAT_OLDEST,
                            RS_FORMAT_VERSION);
    if (rs_get_u64(b + 12) != XXH3_64bits(b + HASHED, len - HASHED))
        return damaged();
    if (!(cat->bytes = malloc(len)))
        return out_of_memory();
    memcpy(cat->bytes, b, len);
    cat->generation = rs_get_u64(b + 20);
    cat->time_ns = rs_get_u64(b + 28);
    cat->join_seq = rs_get_u64(b + 36);
    cat->log.count = rs_get_u64(b + 44);
    cat->log.hsum = rs_get_u64(b + 52);
    cat->log.bytes = rs_get_u64(b + 60);
    cat->txnid = rs_get_u64(b + 68);
    cat->nmodels = rs_get_u32(b + 76);
    cursor c = {.p = cat->bytes + HEAD, .end = cat->bytes + len};
    int rc = STORE_OK;
    if (cat->nmodels > (len - HEAD) / 30) {
        rc = damaged();
        goto free_catalog;
    }
    if (cat->nmodels && !(cat->models = calloc(cat->nmodels, sizeof *cat->models))) {
        rc = out_of_memory();
        goto free_catalog;
    }
    for (uint32_t i = 0; !rc && i < cat->nmodels; i++)
        rc = decode_model(&c, &cat->models[i], cat->nmodels, cat->version);
    if (!rc && c.p != c.end)
        rc = damaged();
    if (!rc)
        return STORE_OK;
free_catalog:
    rs_catalog_free(cat);
    return rc;
}

uint64_t rs_catalog_generation(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint32_t version = len < HEAD ? 0 : rs_get_u32(b + 8);
    if (len < HEAD || memcmp(b, MAGIC, 8) || version < RS_FORMAT_OLDEST ||
        version > RS_FORMAT_VERSION ||
        rs_get_u64(b + 12) != XXH3_64bits(b + HASHED, len - HASHED))
        return 0;
    return rs_get_u64(b + 20);
}

void rs_catalog_free(rs_catalog *cat)
{
    for (uint32_t i = 0; cat->models && i < cat->nmodels; i++)
        free(cat->models[i].fields);
    free(cat->models);
    free(cat->bytes);
    memset(cat, 0, sizeof *cat);
}

const rs_cat_model *rs_catalog_model(const rs_catalog *cat, const char *name)
{
    for (uint32_t i = 0; i < cat->nmodels; i++)
        if (!strcmp(cat->models[i].name, name))
            return &cat->models[i];
    return NULL;
}

const rs_cat_field *rs_catalog_field(const rs_cat_model *cm, const char *name)
{
    for (uint32_t k = 0; k < cm->nfields; k++)
        if (!strcmp(cm->fields[k].name, name))
            return &cm->fields[k];
    return NULL;
}

/* ---- Checking a schema against a file ----------------------------------------------------- */

static const char *type_name(unsigned t)
{
    static const char *const names[] = {"?", "CHAR", "TEXT", "INT", "FLOAT", "BOOL", "FK"};
    return t <= STORE_FK ? names[t] : "?";
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Compares field F of the schema with its record CF in the file. */
static int field_matches(const store_fld *f, const rs_cat_field *cf)
{
    const char *mn = f->model->name, *fn = f->name;
    if (f->type != cf->type)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the file has a %s, the schema a %s",
                            mn, fn, type_name(cf->type), type_name(f->type));
    if (f->max_length != cf->max_length)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: max_length %zu in the schema, %llu in "
                            "the file", mn, fn, f->max_length, (unsigned long long)cf->max_length);
    if (f->null != !!(cf->flags & RS_CAT_NULL) || f->unique != !!(cf->flags & RS_CAT_UNIQUE))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: .null or .unique differs from the file",
                            mn, fn);
    if (f->type == STORE_FK &&
        (!same_str(f->target->name, cf->to) || !same_str(f->related_name, cf->related_name) ||
         f->on_delete != cf->on_delete))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the FK's target, related_name or "
                            "on_delete differs from the file (to %s, related_name %s)", mn, fn,
                            cf->to ? cf->to : "-", cf->related_name ? cf->related_name : "-");
    return STORE_OK;
}

static int model_matches(store_model *m, const rs_cat_model *cm)
{
    for (uint32_t k = 0; k < cm->nfields; k++) {
        const store_fld *f = rs_schema_field_find(m, cm->fields[k].name);
        if (!f)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: in the file, not in the schema",
                                m->name, cm->fields[k].name);
        int rc = field_matches(f, &cm->fields[k]);
        if (rc)
            return rc;
    }
    for (uint32_t j = 0; j < m->nfields; j++) {
        const store_fld *f = &m->fields[j];
        if (!rs_catalog_field(cm, f->name) && !f->null && f->dflt.kind == STORE_KIND_NONE)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: a new field needs .null or a "
                                "default to be added to a file", m->name, f->name);
    }
    return STORE_OK;
}

/* Numbers M's fields: as in the file, and new ones after the file's highest number. */
static void number_fields(store_model *m, const rs_cat_model *cm)
{
    uint32_t top = 0;
    for (uint32_t k = 0; k < cm->nfields; k++)
        top = cm->fields[k].fid > top ? cm->fields[k].fid : top;
    for (uint32_t j = 0; j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        const rs_cat_field *cf = rs_catalog_field(cm, f->name);
        f->fid = cf ? cf->fid : ++top;
    }
}

int rs_catalog_apply(store *db, const rs_catalog *cat)
{
    for (uint32_t i = 0; i < cat->nmodels; i++)
        if (!rs_schema_model_find(db, cat->models[i].name))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: in the file, not in the schema",
                                cat->models[i].name);
    /* Every model of the file is one of the schema's: more of them means one is listed twice
     * (and bounds all the work below by the schema's size). */
    if (cat->nmodels > db->nmodels)
        return rs_error_set(NULL, STORE_ECORRUPT, "the catalog lists a model twice");
    for (uint32_t i = 0; i < cat->nmodels; i++) {
        int rc = model_matches(rs_schema_model_find(db, cat->models[i].name), &cat->models[i]);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < cat->nmodels; i++)
        number_fields(rs_schema_model_find(db, cat->models[i].name), &cat->models[i]);
    return STORE_OK;
}
