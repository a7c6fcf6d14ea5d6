/*
 * persist/log.h - the change log: small snapshots as one record each.
 */
#ifndef RS_PERSIST_LOG_H
#define RS_PERSIST_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/model.h"

/* One change of a snapshot: the record of object ID of model MODEL (LEN bytes at OFF of
 * the batch's bytes, checksum HASH), or its deletion (TOMB). */
typedef struct rs_change {
    uint32_t model; /* index in the store's models */
    bool tomb;
    uint64_t id;
    size_t off, len;
    uint64_t hash;
    const store_obj *obj; /* while gathering: the object to encode */
} rs_change;

/* One change read back from a log entry. REC points into the entry; LEN 0: a deletion. */
typedef struct rs_log_change {
    const char *model;
    uint64_t id;
    const uint8_t *rec;
    uint32_t len;
} rs_log_change;

typedef struct rs_log_reader {
    const uint8_t *p, *end;
    uint32_t groups, changes; /* left to read: groups, and changes in this group */
    const char *model;
} rs_log_reader;

/* rs_log_size() - the bytes of the log entry holding the N CHANGES (grouped by model). */
size_t rs_log_size(const store *db, const rs_change *changes, size_t n);

/*
 * rs_log_encode() - the log entry of snapshot GEN for the N CHANGES (records in BYTES) into
 * OUT, of rs_log_size() bytes. Returns its checksum (also its first 8 bytes).
 */
uint64_t rs_log_encode(const store *db, const rs_change *changes, size_t n,
                       const uint8_t *bytes, uint64_t gen, uint8_t *out);

/* rs_log_hash() - the checksum stored in an entry of at least 8 bytes. */
uint64_t rs_log_hash(const void *p);

/* rs_log_open() - check the LEN bytes at P as the entry of snapshot GEN: 0, or -1. */
int rs_log_open(rs_log_reader *r, const void *p, size_t len, uint64_t gen);

/* rs_log_next() - the next change into *C: 1, 0 at the clean end, -1 if malformed. */
int rs_log_next(rs_log_reader *r, rs_log_change *c);

#endif
