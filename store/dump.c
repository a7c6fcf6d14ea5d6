/*
 * store/dump.c - a whole store as canonical text, for tests and the inspector.
 *
 *   Author next_id=3 count=2
 *   1 name="John Doe" books=[1,2,3]
 *   Book next_id=4 count=3
 *   1 title="Book 1" author=1
 *
 * Objects come in id order, fields in declaration order, then the reverse relations onto the
 * model as the children's ids in walk order. Strings are quoted with \", \\ and \xHH escapes
 * for control bytes; floats are printed exactly (%a); null is `null`.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/check.h"
#include "store/error.h"

typedef struct buf {
    char *p;
    size_t len, cap;
    bool failed;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...)
{
    for (int tries = 0; !b->failed && tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
        } else if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        } else {
            size_t cap = (b->cap + (size_t)n + 1) * 2;
            char *p = realloc(b->p, cap);
            if (!p)
                b->failed = true;
            else
                b->p = p, b->cap = cap;
        }
    }
}

static void put_string(buf *b, const char *s)
{
    put(b, "\"");
    for (size_t i = 0, n = rs_str_len(s); i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(b, "\\x%02x", c);
        else
            put(b, "%c", c);
    }
    put(b, "\"");
}

static void put_field(buf *b, const store_fld *f, const store_obj *o)
{
    uint64_t w = rs_field_word(o, f);
    put(b, " %s=", f->name);
    if (rs_field_null(f, o)) {
        put(b, "null");
        return;
    }
    double d;
    switch (f->type) {
    case STORE_CHAR:
    case STORE_TEXT:
        put_string(b, rs_str_decode(o, f, w));
        break;
    case STORE_INT:
        put(b, "%" PRId64, (int64_t)w);
        break;
    case STORE_FLOAT:
        memcpy(&d, &w, sizeof d);
        put(b, "%a", d);
        break;
    case STORE_BOOL:
        put(b, "%s", w ? "true" : "false");
        break;
    case STORE_FK:
        put(b, "%" PRIu64, ((const store_obj *)(uintptr_t)w)->id);
        break;
    case STORE_M2M: /* a relation, never a model's field */
        break;
    }
}

static void put_object(buf *b, const store_obj *o)
{
    const store_model *m = o->model;
    put(b, "%" PRIu64, o->id);
    for (uint32_t j = 0; j < m->nfields; j++)
        put_field(b, &m->fields[j], o);
    for (uint32_t r = 0; r < m->nrels; r++) {
        const store_fld *rel = m->rels[r];
        put(b, " %s=[", rel->related_name);
        const char *sep = "";
        for (const store_obj *c = rs_rel_first(o, rel); c; c = rs_fk_next(c, rel)) {
            put(b, "%s%" PRIu64, sep, c->id);
            sep = ",";
        }
        put(b, "]");
    }
    put(b, "\n");
}

/* Puts M's line, then its objects: the arena walks them in id order. */
static void put_model(buf *b, const store_model *m)
{
    put(b, "%s next_id=%" PRIu64 " count=%zu\n", m->name, m->next_id, m->count);
    uint64_t pos = 0;
    for (store_obj *o; !b->failed && (o = rs_arena_scan(&m->arena, &pos));)
        put_object(b, o);
}

int rs_dump_store(store *db, char **out)
{
    buf b = {.p = NULL};
    for (uint32_t i = 0; i < db->nmodels && !b.failed; i++)
        put_model(&b, &db->models[i]);
    put(&b, "%s", "");
    if (b.failed) {
        free(b.p);
        return rs_error_set(db, STORE_ENOMEM, "out of memory dumping the store");
    }
    *out = b.p;
    return STORE_OK;
}
