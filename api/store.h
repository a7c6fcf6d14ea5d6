/*
 * store.h - relstore: an embeddable, in-process relational object store.
 *
 * Models and their relations are declared the way Tortoise ORM declares them: an Author has
 * many Books through a foreign key with related_name "books". Objects live in memory; every
 * reverse relation is reached in O(1) and walked in O(k). See README.md for a tour.
 *
 * Conventions: every fallible call returns int, STORE_OK (0) or a negative STORE_E* code;
 * store_strerror() names a code and store_errmsg() gives the detail of the calling thread's
 * last failure. A failed call changes nothing. Any call may be made from any thread.
 * Lookups share the store's lock and changes take it alone; a waiting change holds off the
 * lookups that arrive after it, so readers never starve a writer. Reads never nest: each
 * call takes the lock at most once and calls nothing of the caller's while holding it.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define STORE_API __attribute__((visibility("default")))
#else
#define STORE_API
#endif

/* Error codes. Append only: a released value never changes. */
#define STORE_ERRNO_MAP(XX)                                                                     \
    XX(EINVAL, -1, "invalid argument")                                                          \
    XX(ENOTFOUND, -2, "no such object")                                                         \
    XX(ECONSTRAINT, -3, "constraint violated")                                                  \
    XX(ENOMEM, -4, "out of memory")                                                             \
    XX(EIO, -5, "input/output error")                                                           \
    XX(ENOSPC, -6, "no space left on device")                                                   \
    XX(EFULL, -7, "store reached its size cap")                                                 \
    XX(ESCHEMA, -8, "schema mismatch")                                                          \
    XX(ECORRUPT, -9, "store file is damaged")                                                   \
    XX(EBUSY, -10, "resource busy")                                                             \
    XX(ECANCELED, -11, "request canceled")                                                      \
    XX(EFORK, -12, "store used from a forked child")                                            \
    XX(EMULTIPLE, -13, "more than one object matched")                                          \
    XX(ENOTSUP, -14, "not supported by this build")

enum {
    STORE_OK = 0,
#define STORE_XX_ENUM(name, value, text) STORE_##name = (value),
    STORE_ERRNO_MAP(STORE_XX_ENUM)
#undef STORE_XX_ENUM
};

/* Limits: a model, field or relation name is an identifier of at most STORE_NAME_MAX bytes;
 * a model has at most STORE_FIELDS_MAX fields. */
#define STORE_NAME_MAX 255
#define STORE_FIELDS_MAX 2000
/* A query path ("author__publisher__name") crosses at most STORE_PATH_MAX relations. */
#define STORE_PATH_MAX 8

/*
 * The most bytes (without the NUL) a CHAR or TEXT string may hold, and all the strings of one
 * object together: 1 GiB. An object is stored as one record, an LMDB value of under 4 GiB
 * holding every field, so the hard bound is near 4 GiB; the store stops well before it (as
 * SQLite does at 1,000,000,000 bytes), since an object that size defeats an in-memory store
 * and a snapshot that must copy it. A create or update that gives a longer string, or strings
 * that would make the object's strings longer together, is refused with STORE_EINVAL naming
 * the model and field, before anything is copied.
 */
#define STORE_STR_MAX 0x40000000u

/* Field types. */
typedef enum store_type {
    STORE_CHAR = 1, /* UTF-8 string of at most max_length characters (code points) */
    STORE_TEXT,     /* UTF-8 string of up to STORE_STR_MAX bytes */
    STORE_INT,      /* int64_t */
    STORE_FLOAT,    /* double, not NaN (STORE_EINVAL: queries need equality and order);
                       the infinities are values */
    STORE_BOOL,     /* bool */
    STORE_FK,       /* a reference to an object of model `to` */
    STORE_M2M,      /* many-to-many with model `to`, through the links of model `through`
                       (see "Many-to-many" below); takes no value of its own */
} store_type;

/* What deleting a parent does to the children that point at it through a foreign key. */
typedef enum store_on_delete {
    STORE_CASCADE = 0, /* delete them too (the default, as in Tortoise) */
    STORE_RESTRICT,    /* refuse the delete: STORE_ECONSTRAINT, nothing deleted */
    STORE_SET_NULL,    /* set their foreign key to null (the field must be .null) */
} store_on_delete;

/* The kind of a value passed in a store_value. */
typedef enum store_kind {
    STORE_KIND_NONE = 0, /* ends a list; as a default: no default */
    STORE_KIND_STR,
    STORE_KIND_INT,
    STORE_KIND_FLOAT,
    STORE_KIND_BOOL,
    STORE_KIND_REF,
    STORE_KIND_NULL,
    STORE_KIND_LIST,  /* .u.list: values ended by {0}, for the lookups in, not_in, range */
    STORE_KIND_PARAM, /* .u.s: a parameter's name, bound when a query runs */
} store_kind;

typedef struct store store;               /* an open store */
typedef struct store_schema store_schema; /* models declared, not yet opened */
typedef struct store_model store_model;   /* a model of an open store */
typedef struct store_obj store_obj;       /* an object; owned by the store */
typedef struct store_fld store_fld;       /* a field of a model, resolved once */

/* A value for one field, in the lists given to store_create() and store_update(). */
typedef struct store_value {
    const char *name; /* the field's name; NULL ends the list */
    store_kind kind;
    union {
        const char *s;
        int64_t i;
        double f;
        bool b;
        store_obj *ref;
        const struct store_value *list;
    } u;
} store_value;

#define STORE_V_STR(field, v) {.name = (field), .kind = STORE_KIND_STR, .u = {.s = (v)}}
#define STORE_V_INT(field, v) {.name = (field), .kind = STORE_KIND_INT, .u = {.i = (v)}}
#define STORE_V_FLOAT(field, v) {.name = (field), .kind = STORE_KIND_FLOAT, .u = {.f = (v)}}
#define STORE_V_BOOL(field, v) {.name = (field), .kind = STORE_KIND_BOOL, .u = {.b = (v)}}
#define STORE_V_REF(field, v) {.name = (field), .kind = STORE_KIND_REF, .u = {.ref = (v)}}
#define STORE_V_NULL(field) {.name = (field), .kind = STORE_KIND_NULL}
/* STORE_V_STR(field, NULL) and STORE_V_REF(field, NULL) are nulls too, wherever a value is
 * taken (a nullable CHAR or a foreign key stored from a NULL pointer is null). */
/* A list, for __in, __not_in and __range: the items are a compound literal ended by {0}, e.g.
 * STORE_V_LIST("id__in", (store_value[]){STORE_V_INT(NULL, 1), STORE_V_INT(NULL, 5), {0}}).
 * The items' names are ignored. */
#define STORE_V_LIST(field, ...)                                                                \
    {.name = (field), .kind = STORE_KIND_LIST, .u = {.list = (__VA_ARGS__)}}
/* A parameter: the value named PARAM in the binds given when the query runs. */
#define STORE_V_PARAM(field, param)                                                             \
    {.name = (field), .kind = STORE_KIND_PARAM, .u = {.s = (param)}}

/* A field's default, for store_field.default_value: `STORE_DEFAULT_INT(0)` and so on. */
#define STORE_DEFAULT_STR(v) .default_value = {.kind = STORE_KIND_STR, .u = {.s = (v)}}
#define STORE_DEFAULT_INT(v) .default_value = {.kind = STORE_KIND_INT, .u = {.i = (v)}}
#define STORE_DEFAULT_FLOAT(v) .default_value = {.kind = STORE_KIND_FLOAT, .u = {.f = (v)}}
#define STORE_DEFAULT_BOOL(v) .default_value = {.kind = STORE_KIND_BOOL, .u = {.b = (v)}}

/*
 * A field of a model, as the caller declares it; a list of them ends with { 0 }.
 *
 * Every model has an implicit primary key `id` (uint64_t, 1, 2, 3, ...), so no field may be
 * called "id". A field without .null and without a default must be given on create.
 */
typedef struct store_field {
    const char *name;
    store_type type;
    size_t max_length;         /* STORE_CHAR: required, in characters */
    const char *to;            /* STORE_FK: the parent model's name; STORE_M2M: the far one */
    const char *related_name;  /* STORE_FK: the reverse relation on the parent; STORE_M2M:
                                  the relation's name on the far model. Default: the
                                  model's name lowercased + "s" */
    store_on_delete on_delete; /* STORE_FK */
    bool null;                 /* the field may be null */
    bool unique;               /* no two objects share a non-null value (not FLOAT); on a
                                  STORE_FK: one-to-one (store_reverse_one()) */
    bool index;                /* looked up by value with store_get_by() (not FLOAT) */
    store_value default_value; /* .kind STORE_KIND_NONE: no default (not FK) */
    const char *through;       /* STORE_M2M: the model whose objects are the links; NULL: one
                                  the store declares, named MODEL_FIELD ("Book_tags") */
    bool ordered;              /* an ordered index (any type but M2M): ranges, startswith,
                                  order_by, offsets, counts and MIN / MAX without a scan
                                  (see "Queries" below) */
} store_field;

/* store_options.flags. STORE_OPEN_READONLY takes neither STORE_OPEN_NOSYNC nor a durability
 * other than STORE_DURABLE_MANUAL (a read-only store writes nothing): store_open() refuses
 * them, and unknown flags, with STORE_EINVAL. */
enum {
    STORE_OPEN_READONLY = 1 << 0, /* no changes, no snapshots; other readers may share the
                                     file, and one writer in another process may run beside:
                                     the store holds the last snapshot as of the open */
    STORE_OPEN_NOSYNC = 1 << 1,   /* commits are not flushed to the disk: a snapshot survives a
                                     process crash, NOT a power loss or an OS crash */
};

/*
 * When changes become durable (a store with a file). What a crash can lose:
 *   STORE_DURABLE_MANUAL      everything since the last store_snapshot() (or open)
 *   STORE_DURABLE_EACH_WRITE  nothing that a mutating call has returned STORE_OK for: each
 *                             create, update and delete is in a completed snapshot first
 *   STORE_DURABLE_INTERVAL    at most the last interval_ms of changes: a background thread
 *                             snapshots every interval_ms while anything is pending
 * store_close() snapshots pending changes under every policy.
 *
 * Under STORE_DURABLE_EACH_WRITE, a create, update or delete that succeeded in memory but
 * whose snapshot failed returns that snapshot's code (STORE_EIO, STORE_ENOSPC, STORE_EFULL,
 * STORE_ENOMEM): the one exception to "a failed call changes nothing". The change is made
 * (a create sets *OUT and uses its id) and stays pending; the next snapshot retries it. So
 * after such a code, do not repeat the call: snapshot again.
 */
typedef enum store_durability {
    STORE_DURABLE_MANUAL = 0,
    STORE_DURABLE_EACH_WRITE,
    STORE_DURABLE_INTERVAL,
} store_durability;

/* store_open() options; NULL means all defaults. */
typedef struct store_options {
    unsigned flags;  /* STORE_OPEN_* */
    size_t map_size; /* the file's initial map size in bytes; 0: 16 MiB. It doubles by itself
                        when full, up to map_max */
    size_t map_max;  /* the largest the map (and so the file) may grow; 0: 1 TiB. Reaching it
                        makes store_snapshot() fail with STORE_EFULL */
    store_durability durability; /* STORE_DURABLE_MANUAL unless set; any other value than
                                    the three is STORE_EINVAL */
    unsigned interval_ms;        /* STORE_DURABLE_INTERVAL: the period; 0: 1000 */
} store_options;

/* What store_stat() reports. */
typedef struct store_stats {
    size_t objects;            /* live objects, all models */
    size_t dirty;              /* objects created or changed since the last snapshot */
    size_t deleted;            /* objects deleted since the last snapshot */
    uint64_t generation;       /* the file's last snapshot: 1, 2, ...; 0 if none */
    uint64_t snapshot_time_ns; /* when it was taken, nanoseconds since the epoch */
    size_t last_written;       /* records the last snapshot of this process wrote */
    size_t last_deleted;       /* records it deleted */
    size_t last_bytes;         /* bytes of records it wrote */
    size_t map_size;           /* the file's map size now */
    size_t log_entries;        /* small snapshots kept in the change log, not yet folded into
                                  the models' records (they are folded by a larger one) */
    int last_error;            /* STORE_DURABLE_INTERVAL: the last background snapshot's code */
    uint32_t format_version;   /* the file's format: 2 (defaults recorded), or 1 for a file
                                  no snapshot of this version has written yet */
} store_stats;

/*
 * A walk over the children of one object in one reverse relation, returned by value.
 * Its fields are private.
 */
typedef struct store_iter {
    store_obj *priv_next;
    size_t priv_left;
    size_t priv_count;
    size_t priv_link;
} store_iter;

/*
 * store_strerror() - the name of error code RC, e.g. "no such object".
 *
 * The string is static. An unknown code gives "unknown error".
 */
STORE_API const char *store_strerror(int rc);

/*
 * store_errmsg() - the detail of the calling thread's last failure on DB.
 *
 * For example "Book.title: 300 characters, max_length is 255". With DB NULL: the last failure
 * of a call that had no store (store_schema_*(), a failed store_open()). "" when there was none.
 * Failures on other stores, and other threads' failures on DB, never change it. The string
 * belongs to DB (to the calling thread when DB is NULL); it keeps showing this detail until
 * the calling thread's next failing call on DB, or until DB is closed. DB holds one detail for
 * each thread that failed on it, threads that exited included, until it is closed. Only if
 * memory runs out at a thread's first failure on DB does the detail go to one spare slot of
 * the thread, where the thread's next such failure on another store replaces it.
 */
STORE_API const char *store_errmsg(store *db);

/* ---- Schema ---------------------------------------------------------------------------- */

/*
 * store_schema_new() - an empty schema, in *OUT.
 *
 * Returns STORE_OK, STORE_EINVAL (OUT is NULL) or STORE_ENOMEM. Free it with
 * store_schema_free() once the stores opened with it are open (they keep their own copy).
 */
STORE_API int store_schema_new(store_schema **out);

/*
 * store_schema_add() - declare MODEL with FIELDS (a list ended by { 0 }).
 *
 * Names and strings are copied; FIELDS may be freed once this returns. Models may refer to
 * each other in any order: references are resolved and checked by store_open(). Returns
 * STORE_OK, STORE_EINVAL (a NULL argument), STORE_ESCHEMA (MODEL is already declared, a name
 * is empty or not an identifier, a field is named "id" or twice) or STORE_ENOMEM; on failure
 * the schema is unchanged and store_errmsg(NULL) says why. A FK without related_name gets
 * MODEL's name lowercased + "s": a MODEL of STORE_NAME_MAX bytes leaves no room for the "s",
 * so store_open() refuses such a FK with STORE_ESCHEMA: give it a related_name.
 */
STORE_API int store_schema_add(store_schema *s, const char *model, const store_field *fields);

/*
 * store_schema_unique() - declare that no two objects of MODEL (declared before) share all
 * the values of FIELDS (a list of field names ended by NULL): Tortoise's unique_together.
 * An object with a null among them clashes with none. Checked as .unique is: a create or
 * update that would repeat the values is STORE_ECONSTRAINT, naming the fields; a file
 * whose objects already repeat them does not open (STORE_ESCHEMA, naming two of them).
 * Returns STORE_OK, STORE_EINVAL (a NULL argument), STORE_ESCHEMA (MODEL not declared yet,
 * no fields or more than 16, a field unknown, named twice, FLOAT or STORE_M2M) or
 * STORE_ENOMEM; on failure the schema is unchanged.
 */
STORE_API int store_schema_unique(store_schema *s, const char *model, const char *const *fields);

/* store_schema_free() - free S; NULL is allowed. Stores opened with S are not affected. */
STORE_API void store_schema_free(store_schema *s);

/* ---- Opening and closing ---------------------------------------------------------------- */

/*
 * store_open() - open a store of schema S, in *OUT, kept in the file PATH.
 *
 * PATH NULL gives a store in memory only. Otherwise PATH is one file (LMDB adds PATH-lock
 * beside it), created if missing; the last snapshot in it is loaded: every object with its
 * id and fields, every relation in its order, the next id of each model.
 *
 * The schema is checked first: a foreign key to an unknown model, two reverse relations of
 * one model with the same name (or one named like a field), STORE_CHAR without max_length,
 * STORE_SET_NULL on a field without .null, a default that does not fit its field, .unique or
 * .index on a FLOAT give STORE_ESCHEMA. Then it is checked against the file's: a model or a
 * field the file lacks is added if the field is .null or has a default; any other difference
 * (a type, a max_length, a removed field or model, a changed FK) is STORE_ESCHEMA.
 *
 * S NULL opens PATH with the schema recorded in it, read-only (STORE_OPEN_READONLY must be
 * given): for tools such as the relstore inspector. The schema includes the defaults the
 * file's last snapshot recorded (a file of format 1 recorded none).
 *
 * Returns STORE_OK, STORE_EINVAL (OUT is NULL, S is NULL without PATH and
 * STORE_OPEN_READONLY, unknown flags or durability, STORE_OPEN_READONLY with
 * STORE_OPEN_NOSYNC or with a durability other than STORE_DURABLE_MANUAL, PATH in a
 * directory that does not exist, PATH or PATH-lock a directory or anything else but a
 * regular file, a read-only open of a missing or empty file), STORE_ESCHEMA, STORE_EBUSY (a
 * read-write open of a file that a read-write store has open, in this process or another, by
 * any name; any open of a file that this process has open the other way; a read-only open
 * that a writer's commits kept from beginning a read a thousand times), STORE_ECORRUPT (the file is
 * damaged, truncated or not a relstore file), STORE_ENOSPC (the disk is full, or a quota or
 * file size limit is reached: a new file cannot be started, a short one padded), STORE_ENOTSUP
 * (the LMDB library loaded is not of the 0.9 series, the one whose file format relstore
 * checks; no file is touched then), STORE_EIO or STORE_ENOMEM. On failure store_errmsg(NULL)
 * names PATH and says what was wrong, *OUT is untouched, and so is the file; a data file or a
 * PATH-lock that this call created is removed (unless another opener shares it by then).
 */
STORE_API int store_open(store **out, const store_schema *s, const char *path,
                         const store_options *opts);

/*
 * store_close() - take a snapshot of unsaved changes (a store with a file), then close DB
 * and free everything it owns: every store_obj, string and iterator of it becomes invalid.
 * NULL is allowed. Returns STORE_OK, or the snapshot's failure code (the store is closed all
 * the same, and the file holds the last snapshot that succeeded); from a forked child,
 * STORE_EFORK, touching nothing of the parent's file; STORE_EBUSY, closing nothing, while
 * async requests of DB are out (store_async.h: run the loop until their callbacks have
 * come). No other thread may be using DB.
 */
STORE_API int store_close(store *db);

/*
 * store_snapshot() - make every change since the last snapshot durable, atomically: in one
 * LMDB write transaction, committed with a full sync (unless STORE_OPEN_NOSYNC). Only the
 * changed and deleted objects are written; with no change, nothing is. Readers and writers
 * wait only while the changes are gathered, not while they are written. A crash at any
 * instant leaves the file at this snapshot or the one before.
 *
 * Returns STORE_OK, STORE_EINVAL (DB NULL or read-only), STORE_EIO (LMDB's message in
 * store_errmsg()), STORE_ENOSPC (the disk is full, or a quota or file size limit is reached,
 * from the first write that meets it), STORE_EFULL (the map reached map_max), STORE_ENOMEM or
 * STORE_EFORK (called from a forked child); on failure the store is unchanged, every change
 * is still pending, and the next snapshot tries again. One exception: when the commit
 * succeeded but the file could not then be extended to its last page (STORE_ENOSPC or
 * STORE_EIO, store_errmsg() saying "snapshot N is committed"), the snapshot is made and
 * durable (store_stat() shows its generation) and none of its changes is pending; the next
 * snapshot, or store_close(), extends the file before anything else and fails with the same
 * code, writing nothing, while it cannot. In memory only: STORE_OK, nothing to do.
 */
STORE_API int store_snapshot(store *db);

/*
 * store_backup() - copy the last snapshot of DB into a new file PATH, compacted (no free
 * pages), and flush it to the disk, while the store stays in use. The copy opens as a store.
 * Returns STORE_OK, STORE_EINVAL (NULL argument, a store in memory only, PATH exists, its
 * directory does not exist), STORE_ENOSPC (the disk is full, or a quota or file size limit is
 * reached), STORE_ENOMEM, STORE_EIO, STORE_EFORK, or STORE_EBUSY (a read-only store whose
 * file a writer in another process has open: back it up through the writer); store_errmsg(db)
 * names PATH. A file that
 * was at PATH is never touched; on any other failure the file this call created is removed,
 * so the same call can simply be made again.
 */
STORE_API int store_backup(store *db, const char *path);

/* store_stat() - figures about DB into *OUT: STORE_OK or STORE_EINVAL (NULL argument). */
STORE_API int store_stat(store *db, store_stats *out);

/* store_model_find() - the model called NAME, or NULL if there is none (or an argument is NULL). */
STORE_API store_model *store_model_find(store *db, const char *name);

/*
 * Walking a schema, for tools that open a file they did not declare (store_open() with a NULL
 * schema): store_model_at() is the I-th model in declaration order, store_field_at() the I-th
 * field of MODEL; each is NULL past the last (or for a NULL argument).
 */
STORE_API store_model *store_model_at(store *db, size_t i);
STORE_API const store_fld *store_field_at(const store_model *model, size_t i);
STORE_API const char *store_field_name(const store_fld *fld);         /* NULL if FLD is NULL */
STORE_API store_type store_field_type(const store_fld *fld);          /* 0 if FLD is NULL */
STORE_API store_model *store_field_target(const store_fld *fld);      /* a FK's parent model */
/* A FK's reverse relation on its parent, its rule, and whether it is .unique (one-to-one);
 * NULL, STORE_CASCADE and false for a NULL FLD or another type. */
STORE_API const char *store_field_related_name(const store_fld *fld);
STORE_API store_on_delete store_field_on_delete(const store_fld *fld);
STORE_API bool store_field_unique(const store_fld *fld);
/* store_field_ordered() - whether FLD has an ordered index (.ordered); false for NULL. */
STORE_API bool store_field_ordered(const store_fld *fld);
/* store_field_null(), store_field_indexed(), store_field_max_length() - whether FLD takes a
 * null (.null), whether it was declared .index (a .unique field has a hash index without
 * it), and its .max_length (0 for other types than CHAR); false and 0 for a NULL FLD. */
STORE_API bool store_field_null(const store_fld *fld);
STORE_API bool store_field_indexed(const store_fld *fld);
STORE_API size_t store_field_max_length(const store_fld *fld);
/* store_field_default() - FLD's default (.default_value) into *OUT, a string owned by the
 * store: true, or false when FLD has none (or an argument is NULL). A store opened with a
 * NULL schema has the defaults its file's last snapshot recorded (none in a file of format
 * 1: store_stats.format_version). */
STORE_API bool store_field_default(const store_fld *fld, store_value *out);
/* store_m2m_at() - the I-th many-to-many relation MODEL is a side of: its NAME on MODEL, the
 * model at the OTHER end and the THROUGH model (each out pointer may be NULL); whether MODEL
 * declares it (its STORE_M2M field) in *DECLARED. false past the last, or for a NULL MODEL. */
STORE_API bool store_m2m_at(const store_model *model, size_t i, const char **name,
                            store_model **other, store_model **through, bool *declared);

/* store_model_next_id() - the id MODEL's next object will get; ids below it may exist. */
STORE_API uint64_t store_model_next_id(const store_model *model);

/* store_model_name() - MODEL's name, owned by the store; NULL if MODEL is NULL. */
STORE_API const char *store_model_name(const store_model *model);

/*
 * store_model_count() - how many objects of MODEL live now (0 if MODEL is NULL). The count is
 * read under the store's lock: it is exact at the instant of the call.
 */
STORE_API size_t store_model_count(const store_model *model);

/*
 * store_model_scan() - the living object of MODEL with the smallest id >= *POS, or NULL when
 * there is none (or an argument is NULL); *POS moves past the object returned, and is left
 * as it was with NULL. A walk over every object of a model, in id order:
 *
 *     uint64_t pos = 0;
 *     for (store_obj *o; (o = store_model_scan(books, &pos)); )
 *         printf("%" PRIu64 "\n", store_id(o));
 *
 * The object belongs to the store and stays valid until it is deleted or the store is closed.
 * Each call takes the store's read lock once and keeps nothing between calls, so any change
 * may be made during a walk, the object just returned deleted included: the walk goes on
 * from *POS, returning an object created meanwhile (its id is past every id handed out
 * before) and no object deleted before the walk reaches it. A walk costs the objects the
 * store holds, not the range of ids handed out: it steps through the slots of the chunks of
 * 1024 consecutive ids that hold living objects, and skips each chunk without one in a step.
 * store_model_next_id() may be far past the last object.
 */
STORE_API store_obj *store_model_scan(store_model *model, uint64_t *pos);

/* ---- Objects ------------------------------------------------------------------------------ */

/*
 * store_create() - create an object of MODEL from VALUES.
 *
 * Strings are copied; VALUES may be freed once this returns. On success, if OUT is not NULL,
 * *OUT is the new object, owned by the store and valid until it is deleted or the store is
 * closed. Its id is the model's next id. On failure the store is unchanged (no id is used)
 * and *OUT untouched. Returns STORE_OK, STORE_EINVAL (an unknown field, a value of the wrong
 * kind, a string too long or not UTF-8, a null in a field without .null, a required field
 * missing, a field given twice, a reference to an object of another model),
 * STORE_ECONSTRAINT (a reference to a deleted object, a unique value that repeats),
 * STORE_EFULL (the model has handed out every id below 2^40) or STORE_ENOMEM;
 * store_errmsg(db) names the model and field.
 */
STORE_API int store_create(store *db, store_model *model, const store_value *values,
                           store_obj **out);

/*
 * store_get() - the object of MODEL with ID, in *OUT. Two loads (the slot of an id is at a
 * place computed from it), no lock: a concurrent create is seen whole or not at all, a
 * concurrent delete before or after.
 *
 * Returns STORE_OK, STORE_ENOTFOUND (no such id; *OUT is set to NULL) or STORE_EINVAL (a
 * NULL argument).
 */
STORE_API int store_get(store *db, store_model *model, uint64_t id, store_obj **out);

/*
 * store_get_by() - the object of MODEL whose FIELD equals VALUE, in *OUT.
 *
 * FIELD must be .unique or .index; for an .index field with several matches, the one with
 * the smallest id, found in O(1) however many objects share the value: an .index keeps them
 * in id order, so store_update() pays instead when it moves an object into a value's group
 * among holders with larger ids (a walk of up to half the group; a create or a delete is
 * O(1)). VALUE is a value as for store_create() (its name is ignored; a null value
 * matches nothing, and so does a deleted object given for a foreign key: STORE_ENOTFOUND). Returns STORE_OK, STORE_ENOTFOUND (*OUT set to NULL) or STORE_EINVAL (a
 * NULL argument, an unknown field, a field with no index, a value of the wrong kind).
 */
STORE_API int store_get_by(store *db, store_model *model, const char *field,
                           const store_value *value, store_obj **out);

/*
 * store_update() - set the fields named in VALUES on OBJ; the others keep their values.
 *
 * Moving a foreign key moves OBJ from the old parent's reverse relation to the end of the
 * new one's. The strings OBJ handed out for the fields set become invalid. Same codes and
 * same all-or-nothing rule as store_create(), plus STORE_ECONSTRAINT when a unique value
 * would repeat another object's, and STORE_EINVAL when OBJ is deleted (however many objects
 * were created since: see "Deleted objects" below).
 */
STORE_API int store_update(store *db, store_obj *obj, const store_value *values);

/*
 * store_delete() - delete OBJ, applying each reverse relation's on_delete rule.
 *
 * CASCADE deletes the children, through every level (cycles end: each object is deleted
 * once); SET_NULL sets the children's foreign key to null; RESTRICT refuses the whole delete
 * when a child would be left pointing at a deleted object. All or nothing: on failure no
 * object is deleted or changed. On success OBJ and every object deleted with it become
 * invalid. Returns STORE_OK, STORE_EINVAL (a NULL argument, OBJ already deleted),
 * STORE_ECONSTRAINT (a RESTRICT relation has children; store_errmsg() names the child) or
 * STORE_ENOMEM.
 */
STORE_API int store_delete(store *db, store_obj *obj);

/* ---- Reading fields ----------------------------------------------------------------------- */

/*
 * Deleted objects. A pointer to a deleted object stays safe to pass to any call while the
 * store is open: its address is never given to another object. store_update() and
 * store_delete() refuse it with STORE_EINVAL, store_create() refuses it as a parent with
 * STORE_ECONSTRAINT, and nothing changes. Read, it is an empty object: store_id() is 0,
 * store_obj_model() NULL, every field null (NULL, 0, 0.0, false), store_ref() NULL and
 * store_reverse() an empty walk. Each object costs its slot's bytes of address space (not
 * memory) from its create until the store closes.
 *
 * Field reads take no lock: they read one word of the object. A number read that races with
 * an update of the same field gets the old or the new value, never a mix. A string handed out
 * belongs to the store and stays valid until that field is updated, the object is deleted or
 * the store is closed: the update (or delete) frees the old string, so a thread that reads
 * strings other threads may update or delete at the same time must hold those changes off
 * (or copy through the async API, whose requests run under the lock).
 *
 * The name-taking accessors look the field up by name on every call; hot loops resolve the
 * field once with store_field_find() and use the store_field_*() accessors, which do no
 * string compare. A null value, a field of another type or an unknown name reads as NULL,
 * 0, 0.0 or false.
 */
STORE_API uint64_t store_id(const store_obj *obj); /* 0 if OBJ is NULL */
STORE_API store_model *store_obj_model(const store_obj *obj);
STORE_API const char *store_str(const store_obj *obj, const char *field);
STORE_API int64_t store_int(const store_obj *obj, const char *field);
STORE_API double store_float(const store_obj *obj, const char *field);
STORE_API bool store_bool(const store_obj *obj, const char *field);
STORE_API store_obj *store_ref(const store_obj *obj, const char *field); /* the parent */
STORE_API bool store_is_null(const store_obj *obj, const char *field);  /* true if unknown */

/*
 * store_field_find() - the handle of MODEL's field NAME, or NULL (no such field, NULL
 * argument). Handles belong to the store and live as long as it.
 */
STORE_API const store_fld *store_field_find(const store_model *model, const char *name);

/*
 * store_relation_find() - the handle of the reverse relation RELATED_NAME of MODEL (the
 * parent side), or NULL. It is the handle of the child model's foreign key field, so it also
 * serves store_field_ref() on the children.
 */
STORE_API const store_fld *store_relation_find(const store_model *model,
                                               const char *related_name);

/* The handle-taking accessors: FLD must be a field of OBJ's model (checked only by assert). */
STORE_API const char *store_field_str(const store_obj *obj, const store_fld *fld);
STORE_API int64_t store_field_int(const store_obj *obj, const store_fld *fld);
STORE_API double store_field_float(const store_obj *obj, const store_fld *fld);
STORE_API bool store_field_bool(const store_obj *obj, const store_fld *fld);
STORE_API store_obj *store_field_ref(const store_obj *obj, const store_fld *fld);
STORE_API bool store_field_is_null(const store_obj *obj, const store_fld *fld);

/* ---- Reverse relations -------------------------------------------------------------------- */

/*
 * store_reverse() - walk the children of OBJ in its reverse relation RELATED_NAME, in the
 * order they joined OBJ (creation order, unless a foreign key was moved).
 *
 *     store_iter it = store_reverse(john, "books");
 *     for (store_obj *b; (b = store_next(&it)); )
 *         printf("%s\n", store_str(b, "title"));
 *
 * Reaching the relation costs one lookup of the name and no probe of any index; the walk
 * follows links between the children and allocates nothing. The iterator is a view: deleting
 * the object store_next() just returned is allowed; any other change to this relation ends
 * the walk's guarantees (threads that write what others walk must hold them off). An unknown
 * RELATED_NAME or a NULL argument gives an empty iterator and sets store_errmsg().
 */
STORE_API store_iter store_reverse(const store_obj *obj, const char *related_name);

/* store_reverse_fld() - store_reverse() with a handle from store_relation_find(). */
STORE_API store_iter store_reverse_fld(const store_obj *obj, const store_fld *rel);

/* store_next() - the next child, or NULL at the end. */
STORE_API store_obj *store_next(store_iter *it);

/* store_count() - how many children the relation had when the walk began, however far it has
 * gone. O(1). */
STORE_API size_t store_count(const store_iter *it);

/*
 * store_reverse_one() - the one child of PARENT in its reverse relation RELATED_NAME, whose
 * foreign key is .unique (a one-to-one: a second child is refused with STORE_ECONSTRAINT),
 * or NULL when it has none. NULL also for a NULL or deleted PARENT, an unknown name or a
 * relation whose foreign key is not .unique, which set store_errmsg(). O(1).
 */
STORE_API store_obj *store_reverse_one(const store_obj *parent, const char *related_name);

/* ---- Many-to-many ------------------------------------------------------------------------
 *
 * A STORE_M2M field declares a many-to-many relation between its model and the model `to`:
 *
 *     {.name = "tags", .type = STORE_M2M, .to = "Tag", .related_name = "books"}
 *
 * Each linked pair is one object of the relation's through model, its link. With .through,
 * that is a model the schema declares with exactly one foreign key to each side (for a
 * relation of a model with itself: two, the first to the declaring side) and any payload
 * fields; both foreign keys must not be .null, and their on_delete rules are the ones that
 * apply. Without it, store_open() declares the model MODEL_FIELD ("Book_tags"), whose fields
 * are two foreign keys named after the two models, lowercased ("book", "tag"; a relation of
 * a model with itself: "book" and "book_rel"), each with on_delete STORE_CASCADE and the
 * through model's name lowercased as related_name ("book_tags"; "book_tags_rel" for the
 * second of a model with itself). The through model is a model like any other: store_create(),
 * store_reverse() and queries reach its links, and a link made by store_create() counts.
 *
 * NAME in the calls below is the relation's name on OBJ's side: the field's name on its
 * model ("tags"), its related_name on the far model ("books"). No pair is linked twice: a
 * create or update of a through object that would link a linked pair again is
 * STORE_ECONSTRAINT. Finding a pair walks the shorter of the two objects' lists. Deleting an
 * object deletes its links (by the through model's rules: a RESTRICT refuses the delete),
 * never the far objects. Links are walked from either side in the order they were made,
 * unless store_m2m_move() changed that side's order. Inside a transaction these calls join
 * it; a failed one changes nothing.
 */

/*
 * store_m2m_add() - link OBJ and OTHER in NAME: a new object of the through model, with
 * PAYLOAD (its other fields, a list ended by {0}, or NULL), in *LINK if LINK is not NULL.
 * The pair already linked: STORE_OK, nothing changes (PAYLOAD is not applied), and *LINK is
 * the existing link. Returns STORE_OK, STORE_EINVAL (a NULL or deleted argument, an unknown
 * NAME, OTHER not of the far model, PAYLOAD naming one of the two foreign keys, a read-only
 * store), or what store_create() of the link returns.
 */
STORE_API int store_m2m_add(store *db, store_obj *obj, const char *name, store_obj *other,
                            const store_value *payload, store_obj **link);

/*
 * store_m2m_remove() - unlink OBJ and OTHER in NAME: their link is deleted (with whatever its
 * own on_delete rules reach). Returns STORE_OK, STORE_ENOTFOUND (the pair is not linked),
 * STORE_EINVAL as store_m2m_add(), or what store_delete() of the link returns.
 */
STORE_API int store_m2m_remove(store *db, store_obj *obj, const char *name, store_obj *other);

/*
 * store_m2m_clear() - delete every link of OBJ in NAME, all or nothing. Returns STORE_OK (also
 * when there was none), STORE_EINVAL as store_m2m_add(), STORE_ECONSTRAINT (a RESTRICT rule
 * on a link's own children), STORE_ENOMEM.
 */
STORE_API int store_m2m_clear(store *db, store_obj *obj, const char *name);

/*
 * store_m2m_move() - move the link at position FROM of OBJ's list in NAME to position TO
 * (0-based, as Realm's List.move): the links between shift by one. Only OBJ's side changes
 * order; the far objects keep theirs. O(n) in the list's length, and the links that change
 * place are written by the next snapshot. Returns STORE_OK, STORE_EINVAL (as store_m2m_add(),
 * or FROM or TO not below the list's length) or STORE_ENOMEM (inside a transaction).
 */
STORE_API int store_m2m_move(store *db, store_obj *obj, const char *name, size_t from,
                             size_t to);

/*
 * store_m2m() - walk the objects linked to OBJ in NAME, in its list's order; store_count()
 * is O(1). As store_reverse(): a view taking the read lock once; deleting or unlinking the
 * object store_next() just returned is allowed. An unknown NAME or a NULL argument gives an
 * empty iterator and sets store_errmsg(). To read the links themselves (their payload),
 * walk the through model's relation with store_reverse() ("book_tags"): the same order.
 */
STORE_API store_iter store_m2m(const store_obj *obj, const char *name);

/* ---- Queries ------------------------------------------------------------------------------ */

/*
 * A query asks for the objects of one model that meet conditions, in an order, sliced. It is
 * built once (store_query_new(), then filters, order, slice) and run many times, by many
 * threads at once (the building calls are not thread-safe; the running calls are, and take
 * the store's read lock once). The semantics are Tortoise ORM's.
 *
 * A term is a store_value whose name is PATH or PATH__LOOKUP:
 *   - PATH is a field of the model ("title"), "id", a chain through foreign keys
 *     ("author__name", "author__publisher__name"; at most STORE_PATH_MAX relations in a
 *     path), a reverse relation followed by a path of
 *     the child model ("books__title": true when SOME child matches, so an object appears at
 *     most once; an object without children never matches), or a reverse relation followed
 *     by "count" ("books__count": the number of children, which the parent keeps: O(1)).
 *     A foreign key compared with STORE_V_REF matches that parent ("author" = john);
 *     "author__id" compares the parent's id. A many-to-many name goes to the linked objects
 *     the same way ("tags__name": SOME linked tag; "tags__count": how many, O(1)), and
 *     compared with STORE_V_REF matches the objects linked to it ("tags" = sf, driven from
 *     sf's links); it crosses two relations (to the link, then to the far object) of the
 *     STORE_PATH_MAX. The through model's own relation reaches the payload
 *     ("entries__note").
 *   - LOOKUP is one of: (none: equal), not, in, not_in, gt, gte, lt, lte, range (inclusive,
 *     a list of two), isnull, not_isnull (a BOOL value), contains, icontains, startswith,
 *     istartswith, endswith, iendswith, iexact. in, not_in and range take STORE_V_LIST;
 *     ordering lookups fit INT, FLOAT, CHAR, TEXT, id and counts; the string lookups fit
 *     CHAR and TEXT; a foreign key takes equal, not, in, not_in and the null tests.
 *   - Values: a CHAR or TEXT field takes STORE_V_STR, an INT field, id and counts
 *     STORE_V_INT, a FLOAT field STORE_V_FLOAT or STORE_V_INT, a BOOL field STORE_V_BOOL, a
 *     foreign key STORE_V_REF to an object of its target (a deleted object, of whatever
 *     model, matches nothing: no live child points at it). STORE_V_PARAM stands for any of
 *     them, looked up by name in the binds each run is given.
 *   - Nulls: equal to STORE_V_NULL matches null, "not" STORE_V_NULL matches non-null. Any
 *     other comparison with a null is false, except not and not_in, which match nulls. An
 *     empty in matches nothing, an empty not_in everything. A path through a null foreign
 *     key reads null.
 *   - Strings compare as bytes, case-sensitive. The i- lookups fold ASCII letters A-Z only
 *     (other bytes compare as they are).
 * Logic is two-valued: NOT (exclude, store_cond_not) flips each term, so excluding x = "a"
 * keeps the objects whose x is null. Each term through a reverse relation is its own "some
 * child matches": exclude("books__title" = "X") keeps the authors with no book called X.
 *
 * A building call given an unknown path, a lookup that does not fit, or a value of the wrong
 * kind returns STORE_EINVAL, naming the term in store_errmsg(db). The error sticks: later
 * building calls do nothing and return it, and so does every run. Out of memory while
 * building is STORE_ENOMEM, and sticks the same way.
 *
 * Ordered indexes: a field declared .ordered keeps its model's objects in the order of its
 * values (nulls first), so that a run needs no scan for: gt, gte, lt, lte, range,
 * startswith (a range of bytes: prefixes of up to 256 bytes), equal, isnull and not_isnull
 * on that field at the root of the query (several terms on one field narrow one stretch);
 * an order whose first key is that field, ascending or descending, and any other key "id"
 * (the walk stops at the slice's end); an offset into such an order with no other condition
 * (found by rank, not by walking past the skipped objects); the count of such a stretch;
 * and MIN / MAX of the field over such a stretch or the whole model. Each of those costs
 * O(log n) plus the objects it returns. The planner picks, at each run, whichever of the
 * plans it knows visits the fewest objects. An ordered index costs about 16 to 24 bytes per
 * object and each create, update of the field or delete one insert or delete in a B+tree;
 * it is built in bulk when a file opens, so declaring .ordered on a field of an existing
 * file needs no change to the file.
 */
typedef struct store_query store_query;

/* A condition of a query, for OR / AND / NOT groups: > 0 a condition, < 0 a STORE_E* code. */
typedef int store_cond;

/* store_query_new() - a query over every object of MODEL, in *OUT. STORE_OK, STORE_EINVAL
 * or STORE_ENOMEM. The query is the caller's: free it with store_query_free() before the
 * store is closed. */
STORE_API int store_query_new(store *db, store_model *model, store_query **out);

/* store_query_free() - free Q; NULL is allowed. */
STORE_API void store_query_free(store_query *q);

/* store_query_filter() - keep the objects that meet every term of TERMS (a list ended by
 * {0}). Strings and lists are copied. */
STORE_API int store_query_filter(store_query *q, const store_value *terms);

/* store_query_exclude() - keep the objects that meet none of the terms of TERMS. */
STORE_API int store_query_exclude(store_query *q, const store_value *terms);

/* store_cond_terms() - a condition: every term of TERMS holds. */
STORE_API store_cond store_cond_terms(store_query *q, const store_value *terms);

/* store_cond_any(), store_cond_all() - a condition: one of the N CONDS holds (OR), every one
 * holds (AND). An OR of none is false, an AND of none true. */
STORE_API store_cond store_cond_any(store_query *q, const store_cond *conds, size_t n);
STORE_API store_cond store_cond_all(store_query *q, const store_cond *conds, size_t n);

/* store_cond_not() - a condition: C does not hold. */
STORE_API store_cond store_cond_not(store_query *q, store_cond c);

/* store_query_where() - keep the objects that meet C (a condition of Q, or a negative code
 * from the call that made it, which is returned). */
STORE_API int store_query_where(store_query *q, store_cond c);

/*
 * store_query_order_by() - order the results by KEYS (ended by NULL), each a path of one value
 * per object: a field, a chain through foreign keys, "id", or RELATION__count; "-" before it
 * for descending. A foreign key orders by its parent's id. Ties are broken by id ascending;
 * nulls come before every value ascending, after every value descending. Without an order,
 * results come in id order. A path through a reverse relation is STORE_EINVAL. A later call
 * replaces the order.
 */
STORE_API int store_query_order_by(store_query *q, const char *const *keys);

/* store_query_slice() - skip the first OFFSET results, then keep at most LIMIT (0: no limit).
 * Applied after the order. A later call replaces the slice. */
STORE_API int store_query_slice(store_query *q, size_t offset, size_t limit);

/* The objects a query found, in order: OBJS[0 .. COUNT). */
typedef struct store_result {
    store_obj **objs;
    size_t count;
} store_result;

/*
 * store_query_find() - the objects Q matches with BINDS (values named after Q's parameters,
 * ended by {0}; NULL when Q has none), in order and sliced, in *OUT. The array is the
 * caller's, freed with store_result_free(); the objects are the store's (as store_get()).
 * Returns STORE_OK, STORE_EINVAL (Q's sticky error, a parameter without a bind or with a
 * value that does not fit) or STORE_ENOMEM; on failure *OUT is {NULL, 0}.
 */
STORE_API int store_query_find(const store_query *q, const store_value *binds,
                               store_result *out);

/* store_result_free() - free R's array and set R to {NULL, 0}; NULL is allowed. */
STORE_API void store_result_free(store_result *r);

/* store_query_count() - how many objects store_query_find() would return, in *OUT. O(1) for
 * a query with no condition, or with only `fk = parent`, and no slice beyond the count. */
STORE_API int store_query_count(const store_query *q, const store_value *binds, size_t *out);

/* store_query_exists() - whether store_query_find() would return any object. Stops at the
 * first match. */
STORE_API int store_query_exists(const store_query *q, const store_value *binds, bool *out);

/* store_query_first() - the first object store_query_find() would return, or STORE_ENOTFOUND
 * (*OUT NULL). */
STORE_API int store_query_first(const store_query *q, const store_value *binds,
                                store_obj **out);

/* store_query_get() - the one object store_query_find() would return: STORE_ENOTFOUND when
 * there is none, STORE_EMULTIPLE when there are several (*OUT NULL in both cases). */
STORE_API int store_query_get(const store_query *q, const store_value *binds, store_obj **out);

/*
 * store_query_visit() - call FN(obj, ARG) for each object store_query_find() would return, in
 * order, until FN returns false. FN runs under the store's read lock: it may read the store
 * (fields, walks, lookups, queries), and a change from it is refused with STORE_EBUSY.
 * Returns what store_query_find() would; nothing is allocated per object (a query ordered by
 * other than id, or driven by an index or a relation, collects its matches first).
 */
STORE_API int store_query_visit(const store_query *q, const store_value *binds,
                                bool (*fn)(store_obj *obj, void *arg), void *arg);

/*
 * store_query_update() - give every object store_query_find() would return the VALUES (as
 * store_update()), all or nothing, under the write lock taken once; *N (if not NULL) is how
 * many. A .unique field set to one value on more than one object is STORE_ECONSTRAINT. VALUES
 * are checked even when nothing matches: a reference to a deleted object is
 * STORE_ECONSTRAINT, a value that does not fit STORE_EINVAL, whatever the store holds.
 * Returns what store_update() would, or STORE_EBUSY from a store_query_visit() callback; on
 * failure nothing changed. Under STORE_DURABLE_EACH_WRITE the whole update is one snapshot.
 */
STORE_API int store_query_update(const store_query *q, const store_value *binds,
                                 const store_value *values, size_t *n);

/*
 * store_query_delete() - delete every object store_query_find() would return, with the
 * on_delete rules of every relation applied (as store_delete()), all or nothing, under the
 * write lock taken once; *N (if not NULL) is how many matched (not counting what the
 * cascades took). STORE_ECONSTRAINT (a RESTRICT child outside the deletion) changes nothing.
 */
STORE_API int store_query_delete(const store_query *q, const store_value *binds, size_t *n);

/* One group of store_query_group_count(): a value of the path, and how many objects hold it. */
typedef struct store_group {
    store_value key; /* KIND_STR, KIND_INT, KIND_FLOAT, KIND_BOOL, KIND_REF or KIND_NULL */
    size_t count;
} store_group;

/* The groups: GROUPS[0 .. COUNT), in the key's order (null first). */
typedef struct store_groups {
    store_group *groups;
    size_t count;
} store_groups;

/*
 * store_query_group_count() - the objects store_query_find() would return, grouped by the
 * value of PATH (a path of one value per object, as for store_query_order_by(): a field, a
 * foreign key, a chain through foreign keys), with how many fall in each group, into *OUT:
 * GROUP BY PATH with COUNT(*). A foreign key's groups are its parents (KIND_REF, in id
 * order); a string key points into the store as store_query_aggregate()'s do. The array is
 * the caller's: store_groups_free(). Returns STORE_OK, STORE_EINVAL (PATH does not fit, or the
 * query's error) or STORE_ENOMEM; on failure *OUT is {NULL, 0}.
 */
STORE_API int store_query_group_count(const store_query *q, const store_value *binds,
                                      const char *path, store_groups *out);

/* store_groups_free() - free G's array and set G to {NULL, 0}; NULL is allowed. */
STORE_API void store_groups_free(store_groups *g);

/*
 * store_query_explain() - how a run of Q with BINDS would go, in one line of text into BUF
 * (SIZE bytes with its NUL; cut short if longer), for people, not programs: the objects it
 * starts from and how many ("scan Book", "index Author.name (1 value)", "children of 1 Author
 * through Book.author", "ids of Book (3)", "index Author.name (1 value), then children
 * through Book.author", "ordered index Book.year (120 of 10000 entries)"), how many root
 * conditions each is checked against, and how the order is made ("in index order" when the
 * ordered index gives it). Takes the read lock. Returns what store_query_count() would, and writes
 * nothing on failure.
 */
STORE_API int store_query_explain(const store_query *q, const store_value *binds, char *buf,
                                  size_t size);

/*
 * store_query_scan() - the match of Q (with BINDS) with the smallest id >= *POS, in *OUT, or
 * NULL at the end; *POS moves past it. A walk that builds nothing, in id order, like
 * store_model_scan() (whose rules it follows: the read lock is taken once per call and nothing
 * is kept between calls, so the store may change during the walk):
 *
 *     uint64_t pos = 0;
 *     store_obj *o;
 *     while (store_query_scan(q, NULL, &pos, &o) == STORE_OK && o)
 *         ...
 *
 * Each call steps through the model's slots until a match: a whole walk costs a scan of the
 * model, whatever index the query could use (store_query_find() uses it). A query with an
 * order or a slice is STORE_EINVAL (the walk is in id order, unsliced).
 */
STORE_API int store_query_scan(const store_query *q, const store_value *binds, uint64_t *pos,
                               store_obj **out);

/* Aggregates, for store_query_aggregate(). */
typedef enum store_agg_op {
    STORE_AGG_COUNT = 1,
    STORE_AGG_SUM,
    STORE_AGG_AVG,
    STORE_AGG_MIN,
    STORE_AGG_MAX,
} store_agg_op;

typedef struct store_agg {
    store_agg_op op;  /* 0 ends the list */
    const char *path; /* "pages", "author__name", "books__count"; COUNT: NULL counts objects */
    store_value out;  /* set by the call: KIND_INT, KIND_FLOAT, KIND_STR, KIND_BOOL or
                         KIND_NULL */
    size_t n;         /* set by the call: the non-null inputs */
} store_agg;

/*
 * store_query_aggregate() - compute AGGS (ended by op 0) over the objects store_query_find()
 * would return. COUNT is KIND_INT (of the objects, or of the non-null values of PATH); SUM of
 * INT values is KIND_INT (STORE_EINVAL if the total overflows int64; a partial sum may leave
 * the range, so the result does not depend on the order objects are visited in), of FLOAT
 * values KIND_FLOAT; AVG is KIND_FLOAT; MIN and MAX keep the value's kind (strings compare
 * as bytes, false before true; a string result points into the store and stays valid until
 * that object is updated or deleted), and refuse a bare foreign key with STORE_EINVAL (its
 * parent's id, PATH__id, has an order). With no
 * non-null input, SUM, AVG, MIN and MAX are KIND_NULL. PATH is a path of one value per object,
 * as for store_query_order_by(); SUM and AVG take INT, FLOAT, id and counts.
 */
STORE_API int store_query_aggregate(const store_query *q, const store_value *binds,
                                    store_agg *aggs);

/* ---- Transactions ------------------------------------------------------------------------
 *
 * store_begin() with flags 0 opens a write transaction: the calling thread takes the store's
 * write lock and keeps it until the outermost store_commit() or store_rollback(). Its own
 * calls (create, update, delete, the queries, their changes, get_by, walks) join the
 * transaction and see its changes; other threads' writes and locked reads (queries,
 * get_by, store_stat, every async request but store_get_async(), snapshots, the background
 * snapshots of STORE_DURABLE_INTERVAL) wait for its end, so they never see part of it and
 * no snapshot holds part of it. store_begin() again on the same thread opens a savepoint:
 * a nested handle whose commit keeps its changes in the level outside and whose rollback
 * undoes only them. A handle is ended by store_commit() or store_rollback() (which free
 * it), the innermost first. A call that fails inside a transaction changes nothing and
 * leaves the transaction open.
 *
 * A rollback is exact: objects created since the begin are gone and their ids are handed
 * out again; deleted objects are back at their ids and addresses with their fields, their
 * places in every relation and index; updates are undone. Every store_obj * of an object
 * that existed before the begin stays valid; a pointer to an object created inside the
 * transaction reads a deleted object after the rollback, until its id is handed out again
 * (then it reads the new object). The memory a transaction needs to undo itself is
 * reserved as it goes (a change that cannot reserve it fails with STORE_ENOMEM, changing
 * nothing), so a rollback cannot fail. A store_str() pointer ends at the update or delete of
 * its field, inside a transaction as outside; the memory of a long string that a
 * transaction replaced or deleted is freed at the outermost commit (a rollback puts it back).
 *
 * Under STORE_DURABLE_EACH_WRITE the calls inside a transaction take no snapshot; the
 * outermost store_commit() takes one for the whole transaction, so a crash leaves all of it
 * or none of it in the file. If that snapshot fails, its code is returned: the changes are
 * committed in memory and still pending, as for a single call (the next snapshot retries).
 *
 * Lock-free reads on other threads (store_get(), store_get_async(), field reads,
 * store_next() on an iterator they hold) are not isolated: they see a transaction's changes
 * as they are made, and a rollback as it is undone, word by word as they see a
 * store_update() (never a torn value), and may see an object created inside the
 * transaction before it commits. Take a
 * read-only transaction, or use the locked calls, to read a consistent store.
 *
 * STORE_TXN_READONLY opens a read-only transaction: the thread takes the read lock and keeps
 * it, so its walks and queries see a store no writer changes (other readers share it);
 * a change inside it is STORE_EINVAL. Only another read-only level nests inside one, and
 * only a write level inside a write transaction.
 *
 * From the thread holding a transaction, store_snapshot() and store_close() are STORE_EBUSY;
 * from another thread, store_close() is STORE_EBUSY while any transaction is open. A
 * thread that exits with transactions open has them rolled back and their locks given
 * back (their handles are freed). A thread holds transactions on at most 4 stores at once.
 */
typedef struct store_txn store_txn;

enum { STORE_TXN_READONLY = 1 << 0 };

/*
 * store_begin() - open a transaction (or a savepoint inside the calling thread's) on DB, in
 * *OUT. Waits for the lock. Returns STORE_OK, STORE_EINVAL (a NULL argument, unknown FLAGS,
 * a write transaction on a store opened read-only or inside a read-only one, a read-only
 * one inside a write one), STORE_EBUSY (from a store_query_visit() callback: the thread
 * reads the store) or STORE_ENOMEM.
 */
STORE_API int store_begin(store *db, unsigned flags, store_txn **out);

/* store_commit() - end TXN, keeping its changes (see above); frees TXN. Returns STORE_OK,
 * STORE_EINVAL (NULL, a handle of another thread, or not the innermost level: nothing
 * ends), or the code of the EACH_WRITE snapshot of an outermost commit. */
STORE_API int store_commit(store_txn *txn);

/* store_rollback() - end TXN, undoing every change since its begin; frees TXN. Returns
 * STORE_OK, or STORE_EINVAL as store_commit(). */
STORE_API int store_rollback(store_txn *txn);

/*
 * store_atomic() - run FN(DB, ARG) in a transaction (a savepoint inside the calling thread's
 * transaction): committed if FN returns STORE_OK, rolled back otherwise, and FN's code
 * returned. Returns what store_begin() and store_commit() would, or FN's code.
 */
STORE_API int store_atomic(store *db, int (*fn)(store *db, void *arg), void *arg);

/*
 * store_get_or_create() - the object of MODEL whose fields equal every value of LOOKUP
 * (plain field names, no lookups: equality), in *OUT with *CREATED false; if there is none,
 * a new object from LOOKUP and DEFAULTS (DEFAULTS may be NULL; a field in both takes the
 * DEFAULTS value) with *CREATED true. Under the write lock: two threads cannot both create.
 * Returns STORE_OK, STORE_EMULTIPLE (several objects match: nothing created), or what
 * store_create() and store_query_filter() would. CREATED may be NULL.
 */
STORE_API int store_get_or_create(store *db, store_model *model, const store_value *lookup,
                                  const store_value *defaults, store_obj **out, bool *created);

/*
 * store_update_or_create() - as store_get_or_create(), but an object found is updated with
 * DEFAULTS (all or nothing) before it is returned.
 */
STORE_API int store_update_or_create(store *db, store_model *model, const store_value *lookup,
                                     const store_value *defaults, store_obj **out,
                                     bool *created);

/*
 * store_create_many() - create N objects of MODEL from ROWS[0 .. N) (each a value list as for
 * store_create()), all or nothing, under the write lock taken once, with consecutive ids:
 * the first in *FIRST_ID (may be NULL), the objects in OUT[0 .. N) (may be NULL). On failure
 * nothing is created, no id is used, and store_errmsg() names the row ("row 3: ...").
 * Under STORE_DURABLE_EACH_WRITE the whole batch is one snapshot.
 */
STORE_API int store_create_many(store *db, store_model *model, const store_value *const *rows,
                                size_t n, store_obj **out, uint64_t *first_id);

/* ---- Checking ----------------------------------------------------------------------------- */

/*
 * store_check() - verify every internal invariant of DB: each index entry points at a live
 * object holding its key, each reverse relation holds exactly the children pointing back, in
 * a consistent doubly linked order with the right count, ids are below the next id, counts
 * agree. Takes the read lock; O(objects). Returns STORE_OK, STORE_EINVAL (DB is NULL) or
 * STORE_ECORRUPT with the first problem in store_errmsg(db).
 */
STORE_API int store_check(store *db);

#ifdef __cplusplus
}
#endif

#endif
