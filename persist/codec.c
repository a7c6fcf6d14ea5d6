/*
 * persist/codec.c - the record: one object's fields as bytes, checksummed.
 *
 * A record is the value stored under the object's id (the key, a native-endian u64 for
 * MDB_INTEGERKEY). All numbers are little-endian.
 *
 *   OFFSET  SIZE  MEANING
 *   0       8     XXH3-64 of bytes 8..end, seeded with the id: binds the record to its key
 *   8       2     n, the number of fields that follow
 *   10      ...   n fields, each: fid (2), tag (1), then by tag:
 *                   0 null    nothing
 *                   1 int     8, two's complement
 *                   2 float   8, IEEE-754 bits
 *                   3 bool    1, 0 or 1
 *                   4 string  4 length, then the bytes (UTF-8, no NUL)
 *                   5 ref     8 parent id, 8 join sequence (the child's place in the relation)
 *
 * Fields are named by their catalog number (fid), never by position, so a record written
 * before a field was added still decodes: the new field takes its default. Decoding trusts
 * nothing: every length is checked against the record's end, and a record either decodes
 * whole or is reported damaged.
 */
#include <string.h>
#include <xxhash.h>

#include "persist/bytes.h"
#include "persist/codec.h"
#include "store/schema.h"

enum { HEADER = 10, FIELD_HEAD = 3 };

enum rs_tag rs_codec_tag_of(store_type type)
{
    static const enum rs_tag tags[] = {
        [STORE_CHAR] = RS_TAG_STR, [STORE_TEXT] = RS_TAG_STR,   [STORE_INT] = RS_TAG_INT,
        [STORE_FLOAT] = RS_TAG_FLOAT, [STORE_BOOL] = RS_TAG_BOOL, [STORE_FK] = RS_TAG_REF,
    };
    return tags[type];
}

static enum rs_tag tag_of(const store_fld *f, const store_obj *o)
{
    return rs_field_null(f, o) ? RS_TAG_NULL : rs_codec_tag_of(f->type);
}

static size_t payload_size(enum rs_tag tag, const store_fld *f, const store_obj *o)
{
    switch (tag) {
    case RS_TAG_INT:
    case RS_TAG_FLOAT:
        return 8;
    case RS_TAG_BOOL:
        return 1;
    case RS_TAG_STR:
        return 4 + rs_str_len(rs_str_get(o, f));
    case RS_TAG_REF:
        return 16;
    default:
        return 0;
    }
}

size_t rs_codec_size(const store_obj *o)
{
    const store_model *m = o->model;
    size_t n = HEADER;
    for (uint32_t j = 0; j < m->nfields; j++) {
        const store_fld *f = &m->fields[j];
        n += FIELD_HEAD + payload_size(tag_of(f, o), f, o);
    }
    return n;
}

static uint8_t *put_field(uint8_t *p, const store_fld *f, const store_obj *o)
{
    enum rs_tag tag = tag_of(f, o);
    uint64_t w = rs_field_word(o, f);
    rs_put_u16(p, (uint16_t)f->fid);
    p[2] = (uint8_t)tag;
    p += FIELD_HEAD;
    switch (tag) {
    case RS_TAG_INT:
    case RS_TAG_FLOAT:
        rs_put_u64(p, w);
        return p + 8;
    case RS_TAG_BOOL:
        *p = w != 0;
        return p + 1;
    case RS_TAG_STR: {
        const char *s = rs_str_decode(o, f, w);
        uint32_t len = (uint32_t)rs_str_len(s);
        rs_put_u32(p, len);
        memcpy(p + 4, s, len);
        return p + 4 + len;
    }
    case RS_TAG_REF:
        rs_put_u64(p, ((const store_obj *)(uintptr_t)w)->id);
        rs_put_u64(p + 8, rs_fk_seq(o, f));
        return p + 16;
    default:
        return p;
    }
}

static uint64_t checksum(const uint8_t *body, size_t len, uint64_t id)
{
    return XXH3_64bits_withSeed(body, len, id);
}

uint64_t rs_codec_encode(const store_obj *o, uint8_t *out)
{
    const store_model *m = o->model;
    uint8_t *p = out + HEADER;
    rs_put_u16(out + 8, (uint16_t)m->nfields);
    for (uint32_t j = 0; j < m->nfields; j++)
        p = put_field(p, &m->fields[j], o);
    uint64_t h = checksum(out + 8, (size_t)(p - out - 8), o->id);
    rs_put_u64(out, h);
    return h;
}

uint64_t rs_codec_hash(const void *p)
{
    return rs_get_u64(p);
}

int rs_codec_open(rs_rec_reader *r, const void *p, size_t len, uint64_t id)
{
    const uint8_t *b = p;
    if (len < HEADER || checksum(b + 8, len - 8, id) != rs_get_u64(b))
        return -1;
    r->p = b + HEADER;
    r->end = b + len;
    r->left = rs_get_u16(b + 8);
    return 0;
}

int rs_codec_next(rs_rec_reader *r, rs_rec_field *f)
{
    if (!r->left)
        return r->p == r->end ? 0 : -1;
    size_t room = (size_t)(r->end - r->p);
    if (room < FIELD_HEAD)
        return -1;
    f->fid = rs_get_u16(r->p);
    f->tag = (enum rs_tag)r->p[2];
    const uint8_t *q = r->p + FIELD_HEAD;
    room -= FIELD_HEAD;
    size_t need;
    switch (f->tag) {
    case RS_TAG_NULL:
        need = 0;
        break;
    case RS_TAG_INT:
    case RS_TAG_FLOAT:
        need = 8;
        if (room >= need)
            f->u.i = (int64_t)rs_get_u64(q); /* a float's bits, read as u.f */
        break;
    case RS_TAG_BOOL:
        need = 1;
        if (room >= need && *q > 1)
            return -1;
        if (room >= need)
            f->u.b = *q;
        break;
    case RS_TAG_STR:
        if (room < 4)
            return -1;
        f->u.str.len = rs_get_u32(q);
        need = 4 + (size_t)f->u.str.len;
        f->u.str.s = (const char *)q + 4;
        if (room >= need && (memchr(f->u.str.s, 0, f->u.str.len) ||
                             rs_schema_utf8_chars(f->u.str.s, f->u.str.len) < 0))
            return -1;
        break;
    case RS_TAG_REF:
        need = 16;
        if (room >= need) {
            f->u.ref.id = rs_get_u64(q);
            f->u.ref.seq = rs_get_u64(q + 8);
        }
        break;
    default:
        return -1;
    }
    if (room < need)
        return -1;
    r->p = q + need;
    r->left--;
    return 1;
}
