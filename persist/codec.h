/*
 * persist/codec.h - one object as the bytes of one LMDB record, and back.
 */
#ifndef RS_PERSIST_CODEC_H
#define RS_PERSIST_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/model.h"

enum rs_tag {
    RS_TAG_NULL = 0,
    RS_TAG_INT = 1,
    RS_TAG_FLOAT = 2,
    RS_TAG_BOOL = 3,
    RS_TAG_STR = 4,
    RS_TAG_REF = 5,
};

/* One decoded field of a record. Strings point into the record's bytes (not NUL-ended). */
typedef struct rs_rec_field {
    uint32_t fid;
    enum rs_tag tag;
    union {
        int64_t i;
        double f;
        bool b;
        struct {
            const char *s;
            uint32_t len;
        } str;
        struct {
            uint64_t id, seq;
        } ref;
    } u;
} rs_rec_field;

/* A cursor over a record's fields, made by rs_codec_open(). */
typedef struct rs_rec_reader {
    const uint8_t *p, *end;
    uint32_t left;
} rs_rec_reader;

/* rs_codec_tag_of() - the tag a non-null value of a field of TYPE (a valid store_type) is
 * written with. */
enum rs_tag rs_codec_tag_of(store_type type);

/* rs_codec_size() - the bytes O's record takes. */
size_t rs_codec_size(const store_obj *o);

/*
 * rs_codec_encode() - write O's record into OUT (rs_codec_size(o) bytes); returns its checksum
 * (also stored in its first 8 bytes), which the snapshot digest sums.
 */
uint64_t rs_codec_encode(const store_obj *o, uint8_t *out);

/*
 * rs_codec_open() - check the LEN bytes at P as the record of id ID (checksum, field count)
 * and start reading its fields. Returns 0, or -1 if the bytes are not such a record.
 */
int rs_codec_open(rs_rec_reader *r, const void *p, size_t len, uint64_t id);

/*
 * rs_codec_next() - the next field into *F: 1, 0 at the clean end, or -1 if the bytes are
 * malformed (an unknown tag, a length past the end, a string not UTF-8, bytes left over).
 */
int rs_codec_next(rs_rec_reader *r, rs_rec_field *f);

/* rs_codec_hash() - the checksum stored in a record of at least 8 bytes. */
uint64_t rs_codec_hash(const void *p);

#endif
