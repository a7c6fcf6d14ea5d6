/*
 * persist/log.c - the change log entry: every change of one small snapshot in one record.
 *
 * LMDB rewrites a whole page, and the pages above it, for each record it changes: ten
 * changes scattered over a large model touch ten leaves and most branches, some 100 KiB.
 * A small snapshot is therefore written as one entry of the "log" database instead, keyed
 * by the snapshot's generation, touching a page or two; a later, larger snapshot (or a log
 * grown past its limit) folds the log into the models' databases. The loader applies the
 * log on top of the models' records, in generation order.
 *
 *   OFFSET  SIZE  MEANING
 *   0       8     XXH3-64 of bytes 8..end, seeded with the generation (the entry's key)
 *   8       4     g, the number of model groups
 *   12      ...   g groups: the model's name (u16 length n counting the NUL, n bytes), the
 *                 number of changes (4), then each change: id (8), record length L (4; 0: the
 *                 object was deleted), L bytes of record (persist/codec.c)
 *
 * Numbers are little-endian. Decoding checks every length against the entry's end.
 */
#include <string.h>
#include <xxhash.h>

#include "persist/bytes.h"
#include "persist/log.h"

enum { HEAD = 12, CHANGE_HEAD = 12 };

size_t rs_log_size(const store *db, const rs_change *changes, size_t n)
{
    size_t size = HEAD;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || changes[k].model != changes[k - 1].model)
            size += 2 + strlen(db->models[changes[k].model].name) + 1 + 4;
        size += CHANGE_HEAD + (changes[k].tomb ? 0 : changes[k].len);
    }
    return size;
}

uint64_t rs_log_encode(const store *db, const rs_change *changes, size_t n,
                       const uint8_t *bytes, uint64_t gen, uint8_t *out)
{
    uint8_t *p = out + HEAD, *count = NULL;
    uint32_t groups = 0, in_group = 0;
    for (size_t k = 0; k < n; k++) {
        const rs_change *c = &changes[k];
        if (k == 0 || c->model != changes[k - 1].model) {
            if (count)
                rs_put_u32(count, in_group);
            const char *name = db->models[c->model].name;
            size_t len = strlen(name) + 1;
            rs_put_u16(p, (uint16_t)len);
            memcpy(p + 2, name, len);
            count = p + 2 + len;
            p = count + 4;
            groups++;
            in_group = 0;
        }
        rs_put_u64(p, c->id);
        rs_put_u32(p + 8, c->tomb ? 0 : (uint32_t)c->len);
        p += CHANGE_HEAD;
        if (!c->tomb) {
            memcpy(p, bytes + c->off, c->len);
            p += c->len;
        }
        in_group++;
    }
    if (count)
        rs_put_u32(count, in_group);
    rs_put_u32(out + 8, groups);
    uint64_t h = XXH3_64bits_withSeed(out + 8, (size_t)(p - out) - 8, gen);
    rs_put_u64(out, h);
    return h;
}

uint64_t rs_log_hash(const void *p)
{
    return rs_get_u64(p);
}

int rs_log_open(rs_log_reader *r, const void *p, size_t len, uint64_t gen)
{
    const uint8_t *b = p;
    if (len < HEAD || XXH3_64bits_withSeed(b + 8, len - 8, gen) != rs_get_u64(b))
        return -1;
    r->p = b + HEAD;
    r->end = b + len;
    r->groups = rs_get_u32(b + 8);
    r->changes = 0;
    r->model = NULL;
    return 0;
}

/* Starts the next group; -1 if malformed. */
static int next_group(rs_log_reader *r)
{
    size_t room = (size_t)(r->end - r->p);
    if (room < 2)
        return -1;
    size_t n = rs_get_u16(r->p);
    if (n < 2 || room < 2 + n + 4 || r->p[2 + n - 1] != 0 || memchr(r->p + 2, 0, n - 1))
        return -1;
    r->model = (const char *)r->p + 2;
    r->changes = rs_get_u32(r->p + 2 + n);
    r->groups--;
    r->p += 2 + n + 4;
    return 0;
}

int rs_log_next(rs_log_reader *r, rs_log_change *c)
{
    while (!r->changes) {
        if (!r->groups)
            return r->p == r->end ? 0 : -1;
        if (next_group(r))
            return -1;
    }
    size_t room = (size_t)(r->end - r->p);
    if (room < CHANGE_HEAD)
        return -1;
    c->model = r->model;
    c->id = rs_get_u64(r->p);
    c->len = rs_get_u32(r->p + 8);
    if (room - CHANGE_HEAD < c->len)
        return -1;
    c->rec = c->len ? r->p + CHANGE_HEAD : NULL;
    r->p += CHANGE_HEAD + c->len;
    r->changes--;
    return 1;
}
