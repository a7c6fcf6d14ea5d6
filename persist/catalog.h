/*
 * persist/catalog.h - the schema and per-model state of a store file, as one record.
 */
#ifndef RS_PERSIST_CATALOG_H
#define RS_PERSIST_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/model.h"

/* The format this code writes; it reads RS_FORMAT_OLDEST to RS_FORMAT_VERSION (format 1 is
 * format 2 without defaults). */
#define RS_FORMAT_VERSION 2
#define RS_FORMAT_OLDEST 1

enum { RS_CAT_NULL = 1, RS_CAT_UNIQUE = 2, RS_CAT_INDEX = 4, RS_CAT_ORDERED = 8,
       RS_CAT_DEFAULT = 16 };

typedef struct rs_cat_field {
    uint32_t fid;
    const char *name;
    uint8_t type, flags, on_delete;
    uint64_t max_length;
    const char *to, *related_name; /* NULL when absent */
    store_value dflt;              /* kind STORE_KIND_NONE when none; .s points into BYTES */
} rs_cat_field;

typedef struct rs_cat_model {
    const char *name;
    uint64_t next_id;
    uint64_t count; /* records in the model's database */
    uint64_t hsum;  /* their checksums, summed mod 2^64 */
    uint32_t nfields;
    rs_cat_field *fields;
    uint32_t nm2m;     /* the many-to-many relations the model declares: their name, to, */
    rs_cat_field *m2m; /* related_name, and in max_length the through model's number (in
                          FIELDS' array, after the fields) */
} rs_cat_model;

/* The change log's digest (persist/log.c): entries, their checksums summed, their bytes. */
typedef struct rs_cat_log {
    uint64_t count, hsum, bytes;
} rs_cat_log;

/* A decoded catalog. Its strings point into BYTES, which it owns. */
typedef struct rs_catalog {
    uint32_t version;
    uint64_t generation; /* 1 for the first snapshot, then 2, 3, ... */
    uint64_t time_ns;    /* when that snapshot was taken, since the epoch */
    uint64_t join_seq;
    rs_cat_log log;
    uint64_t txnid; /* the LMDB transaction that wrote this catalog */
    uint32_t nmodels;
    rs_cat_model *models;
    uint8_t *bytes;
} rs_catalog;

/* Per-model figures of the file as it will be after a snapshot (count, hsum), in model order. */
typedef struct rs_cat_state {
    uint64_t next_id, count, hsum;
} rs_cat_state;

/* What a catalog says besides the schema, for rs_catalog_encode(). */
typedef struct rs_cat_head {
    uint64_t generation, time_ns, join_seq;
    rs_cat_log log;
    uint64_t txnid;
} rs_cat_head;

/* rs_catalog_generation() - the generation recorded in the catalog record of LEN bytes at P,
 * if it is a whole catalog (magic, version, checksum); 0 otherwise. Decodes nothing else. */
uint64_t rs_catalog_generation(const void *p, size_t len);

/*
 * rs_catalog_encode() - DB's schema with HEAD and the file state STATE (one per model) as a
 * catalog record, in *OUT (malloc'd) of *LEN bytes. Returns STORE_OK or STORE_ENOMEM, the
 * detail recorded on DB.
 */
int rs_catalog_encode(const store *db, const rs_cat_head *head, const rs_cat_state *state,
                      uint8_t **out, size_t *len);

/*
 * rs_catalog_decode() - decode LEN bytes at P (copied) into *CAT (the caller frees it).
 * Returns STORE_OK, STORE_ENOMEM, or STORE_ECORRUPT when the bytes are not a catalog (magic,
 * checksum, lengths, strings) or are one of a format version this code does not read
 * (CAT->version says which); on failure *CAT owns nothing. The detail, recorded on no
 * store, names no file: the caller's path is not known here.
 */
int rs_catalog_decode(rs_catalog *cat, const void *p, size_t len);

/* rs_catalog_free() - free what a decoded catalog owns. */
void rs_catalog_free(rs_catalog *cat);

/*
 * rs_catalog_apply() - check that schema of DB can read a file of catalog CAT, and number
 * DB's fields as the file does. Additive changes are accepted: a model not in the file, a
 * field not in the file that is .null or has a default (it gets a new number). Anything
 * else is STORE_ESCHEMA naming model and field, with DB unchanged.
 */
int rs_catalog_apply(store *db, const rs_catalog *cat);

/* rs_catalog_model() - CAT's model called NAME, or NULL. */
const rs_cat_model *rs_catalog_model(const rs_catalog *cat, const char *name);

/* rs_catalog_field() - the field called NAME of CM (a model of a catalog), or NULL. */
const rs_cat_field *rs_catalog_field(const rs_cat_model *cm, const char *name);

#endif
