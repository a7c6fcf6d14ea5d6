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
#include "store/schema.h"

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
    if (f->default_value.kind == STORE_KIND_STR)
        free((char *)f->default_value.u.s);
}

static void decl_free(rs_decl *d)
{
    for (size_t i = 0; i < d->nfields; i++)
        field_free(&d->fields[i]);
    free(d->fields);
    free(d->name);
}

/* Copies F's strings into C (which starts as a copy of F); on failure C owns nothing. */
static int field_copy(store_field *c, const store_field *f)
{
    *c = *f;
    c->name = c->to = c->related_name = NULL;
    if (c->default_value.kind == STORE_KIND_STR)
        c->default_value.u.s = NULL;
    if (!(c->name = copy_str(f->name)))
        goto fail;
    if (f->to && !(c->to = copy_str(f->to)))
        goto fail;
    if (f->related_name && !(c->related_name = copy_str(f->related_name)))
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
    for (uint32_t i = 0; i < m->nfields; i++)
        if (m->fields[i].name[0] == name[0] && !strcmp(m->fields[i].name, name))
            return &m->fields[i];
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
    f->on_delete = decl->on_delete;
    f->dflt = decl->default_value;
    rs_hash_init(&f->vidx);
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

/* Gives a FK without related_name the Tortoise default: the model's name lowercased + "s".
 * A model name of STORE_NAME_MAX bytes leaves no room for the "s": the FK must name its
 * relation itself (a name cut or changed here would surprise whoever looks for it). */
static int default_related_name(store_fld *f)
{
    size_t n = strlen(f->model->name);
    if (n + 1 > STORE_NAME_MAX) {
        char mb[RS_SHORT_NAME_SIZE], fb[RS_SHORT_NAME_SIZE];
        return rs_error_set(NULL, STORE_ESCHEMA, "%s.%s: the default related_name (the "
                            "model's name lowercased + \"s\") would pass %d bytes: give the FK "
                            "a related_name",
                            rs_schema_short_name(mb, sizeof mb, f->model->name),
                            rs_schema_short_name(fb, sizeof fb, f->name), STORE_NAME_MAX);
    }
    char *r = malloc(n + 2);
    if (!r)
        return STORE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = f->model->name[i];
        r[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    memcpy(r + n, "s", 2);
    f->related_name = r;
    return STORE_OK;
}

static int models_build(store *db, const store_schema *s)
{
    if (s->ndecls && !(db->models = calloc(s->ndecls, sizeof *db->models)))
        return STORE_ENOMEM;
    for (size_t i = 0; i < s->ndecls; i++) {
        const rs_decl *d = &s->decls[i];
        store_model *m = &db->models[db->nmodels++];
        m->db = db;
        m->next_id = 1;
        if (!(m->name = copy_str(d->name)))
            return STORE_ENOMEM;
        if (d->nfields && !(m->fields = calloc(d->nfields, sizeof *m->fields)))
            return STORE_ENOMEM;
        while (m->nfields < d->nfields) {
            /* Counted before it is filled, so that a failure frees what it copied. */
            uint32_t j = m->nfields++;
            int rc = fld_init(m, &m->fields[j], &d->fields[j]);
            if (rc)
                return rc;
        }
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
            if (!f->related_name && (rc = default_related_name(f)))
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

/* Lays out M's slot: field words (two for a string, which may live there), null words,
 * sibling links, group links, relation heads. */
static void layout(store_model *m)
{
    uint32_t w = 0, nullable = 0;
    for (uint32_t j = 0; j < m->nfields; j++) {
        store_fld *f = &m->fields[j];
        f->word = w++;
        if (rs_is_string(f))
            w += (RS_INLINE_MAX + 2 + 7) / 8 - 1; /* room for a short string */
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

static void objects_free(store_model *m)
{
    uint64_t pos = 0;
    for (store_obj *o; (o = rs_arena_scan(&m->arena, &pos));)
        rs_obj_strings_free(o);
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
            free(f->name);
            free(f->to);
            free(f->related_name);
            if (f->dflt.kind == STORE_KIND_STR)
                free((char *)f->dflt.u.s);
        }
        rs_arena_free_all(&m->arena);
        free(m->fields);
        free(m->rels);
        free(m->name);
    }
    free(db->models);
    db->models = NULL;
    db->nmodels = 0;
}
