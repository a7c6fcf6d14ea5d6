/*
 * store/schema.c - declaring models, and turning the declarations into a store's models.
 *
 * A schema is a plain list of declarations, each with a deep copy of the caller's fields;
 * nothing is resolved until store_open(), so models may name each other in any order.
 * Compiling checks the whole schema (every rule that store_open() documents), resolves each
 * foreign key to its target model and reverse relation, and lays out each model's slot
 * (see store/model.h). A compiled model never changes while the store is open, so field and
 * relation lookups need no lock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/error.h"
#include "store/object.h"
#include "store/oindex.h"
#include "store/schema.h"
#include "store/uniq.h"

/* ---- Small helpers ------------------------------------------------------------------------ */

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

/* Whether S is a name: [A-Za-z_][A-Za-z0-9_]*, at most STORE_NAME_MAX bytes. */
static bool is_identifier(const char *s)
{
    if (!s || strlen(s) > STORE_NAME_MAX ||
        !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

long rs_schema_utf8_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;
    while (p < end) {
        uint64_t eight;
        if (end - p >= 8 && (memcpy(&eight, p, 8), !(eight & UINT64_C(0x8080808080808080)))) {
            p += 8; /* eight ASCII characters at once */
            n += 8;
            continue;
        }
        /* The last few bytes of a string of 8 or more: the 8 that end it, read at once */
        if (end - p < 8 && len >= 8 &&
            (memcpy(&eight, end - 8, 8), !(eight & UINT64_C(0x8080808080808080)))) {
            n += end - p;
            break;
        }
        unsigned c = *p;
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3, cp = c & 0x07;
        } else {
            return -1;
        }
        if ((size_t)(end - p) <= extra)
            return -1;
        for (size_t i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return -1;
        p += extra + 1;
        n++;
    }
    return n;
}

/* ---- Declaring -------------------------------------------------------------------------- */

static void field_free(store_field *f)
{
    free((char *)f->name);
    free((char *)f->to);
    free((char *)f->related_name);
    free((char *)f->through);
    if (f->default_value.kind == STORE_KIND_STR)
        free((char *)f->default_value.u.s);
}

static void uniq_decl_free(rs_uniq_decl *u)
{
    for (size_t k = 0; k < u->n; k++)
        free(u->names[k]);
    free(u->names);
}

static void decl_free(rs_decl *d)
{
    for (size_t i = 0; i < d->nfields; i++)
        field_free(&d->fields[i]);
    free(d->fields);
    for (size_t i = 0; i < d->nuniq; i++)
        uniq_decl_free(&d->uniq[i]);
    free(d->uniq);
    free(d->name);
}

/* Copies F's strings into C (which starts as a copy of F); on failure C owns nothing. */
static int field_copy(store_field *c, const store_field *f)
{
    *c = *f;
    c->name = c->to = c->related_name = c->through = NULL;
    if (c->default_value.kind == STORE_KIND_STR)
        c->default_value.u.s = NULL;
    if (!(c->name = copy_str(f->name)))
        goto fail;
    if (f->to && !(c->to = copy_str(f->to)))
        goto fail;
    if (f->related_name && !(c->related_name = copy_str(f->related_name)))
        goto fail;
    if (f->through && !(c->through = copy_str(f->through)))
        goto fail;
    if (f->default_value.kind == STORE_KIND_STR && f->default_value.u.s &&
        !(c->default_value.u.s = copy_str(f->default_value.u.s)))
        goto fail;
    return STORE_OK;
fail:
    field_free(c);
    return STORE_ENOMEM;
}

static int check_decl(const store_schema *s, const char *model, const store_field *fields,
                      size_t *nfields)
{
    if (!is_identifier(model))
        return rs_error_set(NULL, STORE_ESCHEMA, "model name \"%s\" is not an identifier of at "
                            "most %d bytes", model, STORE_NAME_MAX);
    for (size_t i = 0; i < s->ndecls; i++)
        if (!strcmp(s->decls[i].name, model))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: model declared twice", model);
    size_t n = 0;
    for (const store_field *f = fields; f->name; f++, n++) {
        if (n == STORE_FIELDS_MAX)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: more than %d fields", model,
                                STORE_FIELDS_MAX);
        if (!is_identifier(f->name))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: field name \"%s\" is not an identifier",
                                model, f->name);
        if (!strcmp(f->name, "id"))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.id: every model has an implicit id",
                                model);
        for (const store_field *g = fields; g < f; g++)
            if (!strcmp(g->name, f->name))
                return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: field declared twice", model,
                                    f->name);
    }
    *nfields = n;
    return STORE_OK;
}

int rs_schema_add(store_schema *s, const char *model, const store_field *fields)
{
    size_t n = 0;
    int rc = check_decl(s, model, fields, &n);
    if (rc)
        return rc;
    rs_decl d = {.nfields = 0};
    rs_decl *decls = realloc(s->decls, (s->ndecls + 1) * sizeof *decls);
    if (!decls)
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", model);
    s->decls = decls;
    if (!(d.name = copy_str(model)))
        goto out_nomem;
    if (n && !(d.fields = calloc(n, sizeof *d.fields)))
        goto out_nomem;
    for (; d.nfields < n; d.nfields++)
        if (field_copy(&d.fields[d.nfields], &fields[d.nfields]))
            goto out_nomem;
    s->decls[s->ndecls++] = d;
    return STORE_OK;
out_nomem:
    decl_free(&d);
    return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", model);
}

static rs_decl *decl_find(const store_schema *s, const char *name)
{
    for (size_t i = 0; i < s->ndecls; i++)
        if (!strcmp(s->decls[i].name, name))
            return &s->decls[i];
    return NULL;
}

/* The name of the through model the store declares for M2M field FIELD of model MODEL,
 * MODEL_FIELD, into BUF of THROUGH_NAME_SIZE bytes; its length. */
enum { THROUGH_NAME_SIZE = 2 * STORE_NAME_MAX + 2 };
static int through_name(char *buf, const char *model, const char *field)
{
    return snprintf(buf, THROUGH_NAME_SIZE, "%s_%s", model, field);
}

int rs_schema_unique(store_schema *s, const char *model, const char *const *fields)
{
    rs_decl *d = decl_find(s, model);
    if (!d)
        return rs_error_set(NULL, STORE_ESCHEMA, "store_schema_unique: no model \"%s\" declared "
                            "yet (declare it first)", model);
    size_t n = 0;
    for (; fields[n]; n++) {
        const store_field *f = NULL;
        for (size_t j = 0; j < d->nfields; j++)
            if (!strcmp(d->fields[j].name, fields[n]))
                f = &d->fields[j];
        if (!f)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: unique together: no field \"%s\"",
                                model, fields[n]);
        if (f->type == STORE_FLOAT || f->type == STORE_M2M)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: a %s field cannot be unique "
                                "together", model, f->name,
                                f->type == STORE_FLOAT ? "FLOAT" : "M2M");
        for (size_t k = 0; k < n; k++)
            if (!strcmp(fields[k], fields[n]))
                return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: named twice in one unique "
                                    "together", model, fields[n]);
        if (n == RS_UNIQ_FIELDS_MAX)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s: more than %d fields unique together",
                                model, RS_UNIQ_FIELDS_MAX);
    }
    if (!n)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s: unique together needs a field", model);
    rs_uniq_decl u = {.n = 0, .names = calloc(n, sizeof(char *))};
    rs_uniq_decl *more = u.names ? realloc(d->uniq, (d->nuniq + 1) * sizeof *more) : NULL;
    if (more)
        d->uniq = more;
    for (; more && u.n < n; u.n++)
        if (!(u.names[u.n] = copy_str(fields[u.n])))
            break;
    if (!more || u.n < n) {
        uniq_decl_free(&u);
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", model);
    }
    d->uniq[d->nuniq++] = u;
    return STORE_OK;
}

void rs_schema_free(store_schema *s)
{
    for (size_t i = 0; i < s->ndecls; i++)
        decl_free(&s->decls[i]);
    free(s->decls);
    free(s);
}

/* ---- Compiling ---------------------------------------------------------------------------- */

store_fld *rs_schema_field_find(const store_model *m, const char *name)
{
    /* Not rs_model_field(): building its word a byte at a time costs more instructions than
     * this loop, which a create's throughput feels; a read by name waits on memory instead,
     * and there the word's independence from the slot wins (api/store.c). A caller that
     * names fields by the pointers store_field_name() gives (a binding that keeps them) is
     * matched without a string compared. */
    for (uint32_t i = 0; i < m->nfields; i++) {
        const char *n = m->fields[i].name;
        if (n == name || (n[0] == name[0] && !strcmp(n, name)))
            return &m->fields[i];
    }
    return NULL;
}

store_fld *rs_schema_relation_find(const store_model *m, const char *name)
{
    for (uint32_t i = 0; i < m->nrels; i++)
        if (!strcmp(m->rels[i]->related_name, name))
            return m->rels[i];
    return NULL;
}

store_model *rs_schema_model_find(const store *db, const char *name)
{
    for (uint32_t i = 0; i < db->nmodels; i++)
        if (!strcmp(db->models[i].name, name))
            return &db->models[i];
    return NULL;
}

/* Checks field F of model M on its own (no other model needed). */
static int check_field(const store_model *m, const store_fld *f)
{
    const char *mn = m->name, *fn = f->name;
    if ((unsigned)f->type < STORE_CHAR || (unsigned)f->type > STORE_FK)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: unknown field type %d", mn, fn,
                            (int)f->type);
    if (f->type == STORE_CHAR && f->max_length == 0)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: CHAR needs a max_length", mn, fn);
    if (f->type == STORE_FLOAT && (f->unique || f->indexed))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: a FLOAT field cannot be unique or "
                            "indexed", mn, fn);
    if (f->type != STORE_FK && (f->to || f->related_name))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: only a FK has .to and .related_name",
                            mn, fn);
    if (f->type == STORE_FK) {
        if ((unsigned)f->on_delete > STORE_SET_NULL)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: unknown on_delete rule %d", mn, fn,
                                (int)f->on_delete);
        if (f->on_delete == STORE_SET_NULL && !f->null)
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: SET_NULL needs .null = true", mn,
                                fn);
    }
    const store_value *d = &f->dflt;
    if (d->kind == STORE_KIND_NONE)
        return STORE_OK;
    if (f->type == STORE_FK || d->kind != rs_kind_of(f->type) ||
        (d->kind == STORE_KIND_STR && !d->u.s))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the default does not fit the field", mn,
                            fn);
    if (d->kind == STORE_KIND_FLOAT && isnan(d->u.f))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: a NaN default (NaN is not a value)",
                            mn, fn);
    if (d->kind == STORE_KIND_STR) {
        long chars = rs_schema_utf8_chars(d->u.s, strlen(d->u.s));
        if (chars < 0 || (f->type == STORE_CHAR && (size_t)chars > f->max_length))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the default does not fit the field",
                                mn, fn);
    }
    return STORE_OK;
}

/* Builds field F of model M from its declaration; on failure F owns only what it copied. */
static int fld_init(store_model *m, store_fld *f, const store_field *decl)
{
    f->model = m;
    f->fid = (uint32_t)(f - m->fields) + 1;
    f->type = decl->type;
    f->max_length = decl->max_length;
    f->null = decl->null;
    f->unique = decl->unique;
    f->indexed = decl->index;
    f->ordered = decl->ordered;
    f->on_delete = decl->on_delete;
    f->dflt = decl->default_value;
    rs_hash_init(&f->vidx);
    rs_oindex_init(f);
    if (f->dflt.kind == STORE_KIND_STR)
        f->dflt.u.s = NULL; /* not ours until copied below */
    if (!(f->name = copy_str(decl->name)))
        return STORE_ENOMEM;
    if (decl->to && !(f->to = copy_str(decl->to)))
        return STORE_ENOMEM;
    if (decl->related_name && !(f->related_name = copy_str(decl->related_name)))
        return STORE_ENOMEM;
    if (decl->default_value.kind == STORE_KIND_STR && decl->default_value.u.s &&
        !(f->dflt.u.s = copy_str(decl->default_value.u.s)))
        return STORE_ENOMEM;
    return STORE_OK;
}

const char *rs_schema_short_name(char *buf, size_t size, const char *name)
{
    size_t n = strlen(name);
    if (n <= RS_SHORT_NAME_KEEP + 16)
        return name;
    snprintf(buf, size, "%.*s... (%zu bytes)", RS_SHORT_NAME_KEEP, name, n);
    return buf;
}

/* Lowercases the N bytes at FROM into TO. */
static void lower_into(char *to, const char *from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        to[i] = from[i] >= 'A' && from[i] <= 'Z' ? (char)(from[i] - 'A' + 'a') : from[i];
}

/* The Tortoise default related_name of field FIELD (a KIND: "FK" or "M2M") of model M: the
 * model's name lowercased + "s", in *OUT (malloc'd). A model name of STORE_NAME_MAX bytes
 * leaves no room for the "s": the field must name its relation itself (a name cut or
 * changed here would surprise whoever looks for it). */
static int default_related_name(const store_model *m, const char *field, const char *kind,
                                char **out)
{
    size_t n = strlen(m->name);
    if (n + 1 > STORE_NAME_MAX) {
        char mb[RS_SHORT_NAME_SIZE], fb[RS_SHORT_NAME_SIZE];
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the default related_name (the "
                            "model's name lowercased + \"s\") would pass %d bytes: give the %s "
                            "a related_name",
                            rs_schema_short_name(mb, sizeof mb, m->name),
                            rs_schema_short_name(fb, sizeof fb, field), STORE_NAME_MAX, kind);
    }
    char *r = malloc(n + 2);
    if (!r)
        return STORE_ENOMEM;
    lower_into(r, m->name, n);
    memcpy(r + n, "s", 2);
    *out = r;
    return STORE_OK;
}

/* Starts model M of DB called NAME with the N fields FIELDS that are not STORE_M2M. */
static int model_init(store *db, store_model *m, const char *name, const store_field *fields,
                      size_t n)
{
    size_t plain = 0;
    for (size_t j = 0; j < n; j++)
        plain += fields[j].type != STORE_M2M;
    m->db = db;
    m->next_id = 1;
    if (!(m->name = copy_str(name)))
        return STORE_ENOMEM;
    if (plain && !(m->fields = calloc(plain, sizeof *m->fields)))
        return STORE_ENOMEM;
    for (size_t j = 0; j < n; j++) {
        if (fields[j].type == STORE_M2M)
            continue;
        /* Counted before it is filled, so that a failure frees what it copied. */
        uint32_t k = m->nfields++;
        int rc = fld_init(m, &m->fields[k], &fields[j]);
        if (rc)
            return rc;
        const store_fld *f = &m->fields[k];
        m->any_index |= f->unique || f->indexed || f->ordered;
        if (f->dflt.kind == STORE_KIND_STR && f->dflt.u.s)
            m->dflt_str_bytes += strlen(f->dflt.u.s);
        /* Found by one word compare (rs_model_field()) from here on. */
        uint64_t key = rs_name_key(m->fields[k].name);
        if (key && m->nfast < RS_FAST_FIELDS && k <= UINT8_MAX) {
            m->fast_key[m->nfast] = key;
            m->fast_fld[m->nfast++] = (uint8_t)k; /* fast_strw: set by layout() */
        } else if (key) {
            m->fast_some = true; /* a short name left out: the long way must look too */
        }
    }
    return STORE_OK;
}

/* Builds M's sets of fields unique together from its declaration D (checked when declared). */
static int uniq_init(store_model *m, const rs_decl *d)
{
    if (d->nuniq && !(m->uniq = calloc(d->nuniq, sizeof *m->uniq)))
        return STORE_ENOMEM;
    for (size_t i = 0; i < d->nuniq; i++) {
        rs_uniq *u = &m->uniq[m->nuniq++];
        rs_hash_init(&u->idx);
        if (!(u->fields = calloc(d->uniq[i].n, sizeof *u->fields)))
            return STORE_ENOMEM;
        for (; u->n < d->uniq[i].n; u->n++)
            u->fields[u->n] = rs_schema_field_find(m, d->uniq[i].names[u->n]);
    }
    return STORE_OK;
}


/* Checks the declaration F of a STORE_M2M field of model MN on its own, and that a field of
 * another type has no .through. */
static int check_m2m_decl(const store_schema *s, const char *mn, const store_field *f)
{
    if (f->type != STORE_M2M)
        return f->through ? rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: only an M2M has .through",
                                         mn, f->name)
                          : STORE_OK;
    if (f->null || f->unique || f->index || f->ordered || f->max_length || f->on_delete ||
        f->default_value.kind != STORE_KIND_NONE)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: an M2M takes .to, .related_name and "
                            ".through only (the through model's foreign keys carry the rules)",
                            mn, f->name);
    if (!f->to || !decl_find(s, f->to))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: M2M to unknown model \"%s\"", mn,
                            f->name, f->to ? f->to : "(none)");
    if (f->through && !decl_find(s, f->through))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: unknown through model \"%s\"", mn,
                            f->name, f->through);
    if (!f->through && strlen(mn) + 1 + strlen(f->name) > STORE_NAME_MAX) {
        char mb[RS_SHORT_NAME_SIZE], fb[RS_SHORT_NAME_SIZE];
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the name of the through model the "
                            "store would declare (MODEL_FIELD) passes %d bytes: give .through",
                            rs_schema_short_name(mb, sizeof mb, mn),
                            rs_schema_short_name(fb, sizeof fb, f->name), STORE_NAME_MAX);
    }
    if (!f->through) {
        char name[THROUGH_NAME_SIZE];
        through_name(name, mn, f->name);
        if (decl_find(s, name))
            return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the through model the store would "
                                "declare, %s, is already a model: give .through", mn, f->name,
                                name);
    }
    return STORE_OK;
}

/*
 * Declares the through model of M2M field F of model MN (store.h: "Many-to-many"): MN_F with
 * a foreign key to each side, named after it lowercased, cascading, whose reverse relations
 * are named after the through model lowercased ("_rel" for the second one of a model with
 * itself).
 */
static int auto_through(store *db, store_model *t, const char *mn, const store_field *f)
{
    size_t nl = strlen(mn), tl = strlen(f->to);
    char name[THROUGH_NAME_SIZE];
    int n = through_name(name, mn, f->name);
    bool self = !strcmp(mn, f->to);
    /* A name of STORE_NAME_MAX bytes with "_rel" would not be a name: such a relation of a
     * model with itself needs .through. */
    if (self && ((size_t)n + 4 > STORE_NAME_MAX || tl + 4 > STORE_NAME_MAX))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the names of the through model the "
                            "store would declare pass %d bytes: give .through", mn, f->name,
                            STORE_NAME_MAX);
    char near[STORE_NAME_MAX + 1], far[STORE_NAME_MAX + 5], rel[STORE_NAME_MAX + 1],
        rel2[STORE_NAME_MAX + 5];
    lower_into(near, mn, nl + 1);
    lower_into(far, f->to, tl + 1);
    lower_into(rel, name, (size_t)n + 1);
    memcpy(rel2, rel, (size_t)n + 1);
    if (self) {
        memcpy(far + tl, "_rel", 5);
        memcpy(rel2 + n, "_rel", 5);
    }
    store_field fields[] = {
        {.name = near, .type = STORE_FK, .to = mn, .related_name = rel},
        {.name = far, .type = STORE_FK, .to = f->to, .related_name = rel2},
    };
    return model_init(db, t, name, fields, 2);
}

static int models_build(store *db, const store_schema *s)
{
    size_t nauto = 0;
    for (size_t i = 0; i < s->ndecls; i++)
        for (size_t j = 0; j < s->decls[i].nfields; j++) {
            const store_field *f = &s->decls[i].fields[j];
            int rc = check_m2m_decl(s, s->decls[i].name, f);
            if (rc)
                return rc;
            nauto += f->type == STORE_M2M && !f->through;
        }
    if (s->ndecls + nauto && !(db->models = calloc(s->ndecls + nauto, sizeof *db->models)))
        return STORE_ENOMEM;
    for (size_t i = 0; i < s->ndecls; i++) {
        const rs_decl *d = &s->decls[i];
        store_model *m = &db->models[db->nmodels++];
        int rc = model_init(db, m, d->name, d->fields, d->nfields);
        if (!rc)
            rc = uniq_init(m, d);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < s->ndecls; i++)
        for (size_t j = 0; j < s->decls[i].nfields; j++) {
            const store_field *f = &s->decls[i].fields[j];
            if (f->type != STORE_M2M || f->through)
                continue;
            char name[THROUGH_NAME_SIZE];
            through_name(name, s->decls[i].name, f->name);
            if (rs_schema_model_find(db, name)) /* another relation's through model */
                return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the through model the store "
                                    "would declare, %s, is declared for another M2M: give "
                                    ".through", s->decls[i].name, f->name, name);
            int rc = auto_through(db, &db->models[db->nmodels++], s->decls[i].name, f);
            if (rc)
                return rc;
        }
    return STORE_OK;
}

/* Resolves every FK to its target and checks each field and each relation name. */
static int relations_resolve(store *db)
{
    for (uint32_t i = 0; i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        for (uint32_t j = 0; j < m->nfields; j++) {
            store_fld *f = &m->fields[j];
            int rc = check_field(m, f);
            if (rc)
                return rc;
            if (f->type != STORE_FK)
                continue;
            if (!f->to || !(f->target = rs_schema_model_find(db, f->to)))
                return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: FK to unknown model \"%s\"",
                                    m->name, f->name, f->to ? f->to : "(none)");
            if (!f->related_name &&
                (rc = default_related_name(m, f->name, "FK", &f->related_name)))
                return rc;
            if (!is_identifier(f->related_name))
                return rs_error_set(NULL, STORE_ESCHEMA,
                                    "%s.%s: related_name \"%s\" is not an identifier", m->name,
                                    f->name, f->related_name);
            f->target->nrels++;
        }
    }
    for (uint32_t i = 0; i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        if (m->nrels && !(m->rels = calloc(m->nrels, sizeof *m->rels)))
            return STORE_ENOMEM;
        m->nrels = 0;
    }
    for (uint32_t i = 0; i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        for (uint32_t j = 0; j < m->nfields; j++) {
            store_fld *f = &m->fields[j];
            if (f->type != STORE_FK)
                continue;
            store_model *t = f->target;
            if (!strcmp(f->related_name, "id") || rs_schema_field_find(t, f->related_name) ||
                rs_schema_relation_find(t, f->related_name))
                return rs_error_set(NULL, STORE_ESCHEMA,
                                    "%s.%s: related_name \"%s\" is already a name on %s",
                                    m->name, f->name, f->related_name, t->name);
            t->rels[t->nrels++] = f;
        }
    }
    return STORE_OK;
}

store_fld *rs_schema_m2m_find_fk(const store_model *t, const store_model *side, int nth)
{
    for (uint32_t j = 0; j < t->nfields; j++)
        if (t->fields[j].type == STORE_FK && t->fields[j].target == side && nth-- == 0)
            return &t->fields[j];
    return NULL;
}

rs_m2m *rs_schema_m2m_find(const store_model *m, const char *name)
{
    for (uint32_t i = 0; i < m->nm2m; i++)
        if (!strcmp(m->m2m[i].name, name))
            return &m->m2m[i];
    return NULL;
}

/* Whether NAME is already a name on M: a field, a reverse relation, a many-to-many. */
static bool name_taken(const store_model *m, const char *name)
{
    return !strcmp(name, "id") || rs_schema_field_find(m, name) ||
           rs_schema_relation_find(m, name) || rs_schema_m2m_find(m, name);
}

/* Finds the two foreign keys of through model T between M and O (store.h: exactly one to
 * each side; of a model with itself, two, the first to the declaring side). */
static int through_keys(const store_model *m, const char *fname, store_model *o,
                        store_model *t, store_fld **near, store_fld **far)
{
    bool self = m == o;
    *near = rs_schema_m2m_find_fk(t, m, 0);
    *far = rs_schema_m2m_find_fk(t, o, self ? 1 : 0);
    if (t == m || t == o)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the through model must be a third "
                            "model, not %s", m->name, fname, t->name);
    if (!*near || !*far || rs_schema_m2m_find_fk(t, o, self ? 2 : 1) ||
        (!self && rs_schema_m2m_find_fk(t, m, 1)))
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the through model %s needs exactly "
                            "one foreign key to %s and one to %s", m->name, fname,
                            t->name, m->name, o->name);
    if ((*near)->null || (*far)->null)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the through model's %s.%s may not be "
                            ".null (a link links two objects)", m->name, fname, t->name,
                            (*near)->null ? (*near)->name : (*far)->name);
    if (t->pair)
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: %s is already the through model of "
                            "%s.%s", m->name, fname, t->name, t->pair->model->name,
                            t->pair->name);
    return STORE_OK;
}

/* Resolves every STORE_M2M field of S (whose declared models are DB's first ones, in order;
 * the through models the store declares follow, in the order of their fields). */
static int m2m_resolve(store *db, const store_schema *s)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t nauto = s->ndecls;
        for (size_t i = 0; i < s->ndecls; i++)
            for (size_t j = 0; j < s->decls[i].nfields; j++) {
                const store_field *f = &s->decls[i].fields[j];
                if (f->type != STORE_M2M)
                    continue;
                store_model *m = &db->models[i], *o = rs_schema_model_find(db, f->to);
                store_model *t = f->through ? rs_schema_model_find(db, f->through)
                                            : &db->models[nauto++];
                if (pass == 0) { /* count */
                    m->nm2m++;
                    o->nm2m++;
                    continue;
                }
                store_fld *near, *far;
                int rc = through_keys(m, f->name, o, t, &near, &far);
                if (rc)
                    return rc;
                char *related = NULL;
                if (f->related_name && !(related = copy_str(f->related_name)))
                    return STORE_ENOMEM;
                if (!related && (rc = default_related_name(m, f->name, "M2M", &related)))
                    return rc;
                if (name_taken(m, f->name))
                    rc = rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the name is already a "
                                      "relation on %s", m->name, f->name, m->name);
                else if (!is_identifier(related))
                    rc = rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: related_name \"%s\" is not "
                                      "an identifier", m->name, f->name, related);
                else if (name_taken(o, related) || (m == o && !strcmp(related, f->name)))
                    rc = rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: related_name \"%s\" is "
                                      "already a name on %s", m->name, f->name, related,
                                      o->name);
                if (rc) {
                    free(related);
                    return rc;
                }
                rs_m2m *a = &m->m2m[m->nm2m++], *b = &o->m2m[o->nm2m++];
                *a = (rs_m2m){.name = copy_str(f->name), .model = m, .other = o, .through = t,
                              .near = near, .far = far, .mirror = b, .declared = true};
                *b = (rs_m2m){.name = related, .model = o, .other = m, .through = t,
                              .near = far, .far = near, .mirror = a};
                if (!a->name)
                    return STORE_ENOMEM;
                t->pair = a;
            }
        for (uint32_t i = 0; pass == 0 && i < db->nmodels; i++) {
            store_model *m = &db->models[i];
            if (m->nm2m && !(m->m2m = calloc(m->nm2m, sizeof *m->m2m)))
                return STORE_ENOMEM;
            m->nm2m = 0;
        }
    }
    return STORE_OK;
}

/* Lays out M's slot: field words (two for a string, which may live there), null words,
 * sibling links, group links, relation heads. */
static void layout(store_model *m)
{
    uint32_t w = 0, nullable = 0;
    for (uint32_t j = 0; j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        f->word = w++;
        if (rs_is_string(f))
            w += RS_INLINE_WORDS - 1; /* room for a short string */
        if (rs_is_string(f) && m->nstrw < 2)
            m->strw[m->nstrw++] = f->word;
        for (uint32_t i = 0; i < m->nfast; i++)
            if (m->fast_fld[i] == j)
                m->fast_strw[i] = rs_is_string(f) ? f->word + 1 : 0;
        if (f->null && !rs_is_string(f) && f->type != STORE_FK)
            f->nullb = nullable++;
    }
    m->nullw = w;
    w += (nullable + 63) / 64;
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].type == STORE_FK) {
            m->fields[j].link = w;
            w += 3;
        }
    for (uint32_t j = 0; j < m->nfields; j++)
        if (m->fields[j].indexed && !m->fields[j].unique) {
            m->fields[j].ilink = w;
            w += 2;
        }
    for (uint32_t r = 0; r < m->nrels; r++) {
        m->rels[r]->head = w;
        w += 3;
    }
    size_t size = sizeof(store_obj) + w * sizeof(uint64_t);
    rs_arena_init(&m->arena, size);
}

int rs_schema_compile(store *db, const store_schema *s)
{
    int rc = models_build(db, s);
    if (!rc)
        rc = relations_resolve(db);
    if (!rc)
        rc = m2m_resolve(db, s);
    if (rc) {
        if (rc == STORE_ENOMEM)
            rs_error_set(NULL, rc, "out of memory compiling the schema");
        rs_schema_models_free(db);
        return rc;
    }
    for (uint32_t i = 0; i < db->nmodels; i++)
        layout(&db->models[i]);
    return STORE_OK;
}

/* Frees M's strings: those of an allocation of their own one by one (a walk over the
 * objects only when there are some), then the pages at once. */
static void objects_free(store_model *m)
{
    uint64_t pos = 0;
    for (store_obj *o; m->strs.nown && (o = rs_arena_scan(&m->arena, &pos));)
        rs_obj_strings_free(o);
    rs_strings_free_all(&m->strs);
}

void rs_schema_models_free(store *db)
{
    for (uint32_t i = 0; i < db->nmodels; i++) {
        store_model *m = &db->models[i];
        if (m->fields)
            objects_free(m);
        for (uint32_t j = 0; j < m->nfields; j++) {
            store_fld *f = &m->fields[j];
            rs_hash_free(&f->vidx);
            rs_otree_free(&f->otree);
            free(f->name);
            free(f->to);
            free(f->related_name);
            if (f->dflt.kind == STORE_KIND_STR)
                free((char *)f->dflt.u.s);
        }
        for (uint32_t j = 0; j < m->nm2m; j++)
            free(m->m2m[j].name);
        for (uint32_t j = 0; j < m->nuniq; j++) {
            rs_hash_free(&m->uniq[j].idx);
            free(m->uniq[j].fields);
        }
        free(m->uniq);
        free(m->m2m);
        rs_arena_free_all(&m->arena);
        free(m->fields);
        free(m->rels);
        free(m->name);
    }
    free(db->models);
    db->models = NULL;
    db->nmodels = 0;
}
