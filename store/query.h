/*
 * store/query.h - queries: terms compiled against a model, conditions, order, slice, and
 * their evaluation on one object (store/query.c); planning and running (store/qrun.c).
 *
 * A built query is read-only while it runs, so many threads may run it at once; the values
 * a run binds to parameters live in that run's rs_qbind array, never in the query.
 */
#ifndef RS_STORE_QUERY_H
#define RS_STORE_QUERY_H

#include <store.h>

#include "store/model.h"

/* The lookups, as Tortoise names them. */
typedef enum rs_lookup {
    RS_LK_EQ,
    RS_LK_NOT,
    RS_LK_IN,
    RS_LK_NOT_IN,
    RS_LK_GT,
    RS_LK_GTE,
    RS_LK_LT,
    RS_LK_LTE,
    RS_LK_RANGE,
    RS_LK_ISNULL,
    RS_LK_NOT_ISNULL,
    RS_LK_CONTAINS,
    RS_LK_ICONTAINS,
    RS_LK_STARTSWITH,
    RS_LK_ISTARTSWITH,
    RS_LK_ENDSWITH,
    RS_LK_IENDSWITH,
    RS_LK_IEXACT,
} rs_lookup;

/* The longest chain of hops a path may take. */
#define RS_PATH_MAX STORE_PATH_MAX

/* What a path ends at. */
typedef enum rs_final {
    RS_FINAL_FIELD, /* a field of the last model reached (a foreign key: its parent) */
    RS_FINAL_ID,    /* the object's id */
    RS_FINAL_COUNT, /* the count of a reverse relation of the last model reached */
} rs_final;

/* A path: hops through foreign keys (forward, to the parent) or reverse relations (to the
 * children: "some child matches"), then what it reads. */
typedef struct rs_path {
    uint8_t nhops;
    bool rev[RS_PATH_MAX];
    const store_fld *hop[RS_PATH_MAX]; /* the foreign key of each hop */
    rs_final final;
    const store_fld *fld; /* FIELD: the field; COUNT: the reverse relation's foreign key */
} rs_path;

/* A value read from an object, or given: kind NULL, INT, FLOAT, BOOL, STR or REF. */
typedef struct rs_qval {
    store_kind kind;
    union {
        int64_t i;
        double f;
        bool b;
        const store_obj *ref;
        struct {
            const char *s;
            size_t len;
        } str;
    } u;
} rs_qval;

/* A term: PATH, LOOKUP, and its value (or list), or the parameter that gives it. */
typedef struct rs_term {
    char *name; /* as given, for messages */
    rs_path path;
    rs_lookup lookup;
    char *param; /* non-NULL: the value is bound when the query runs */
    rs_qval val; /* single-valued lookups */
    rs_qval *list;
    size_t nlist; /* in, not_in (sorted, no repeats), range (2) */
} rs_term;

/* A condition node: a term, or an AND / OR of others, or a NOT. */
typedef enum rs_cond_kind { RS_COND_TERM, RS_COND_AND, RS_COND_OR, RS_COND_NOT } rs_cond_kind;

typedef struct rs_cond {
    rs_cond_kind kind;
    uint32_t term;  /* TERM: index in the query's terms */
    uint32_t *kids; /* AND, OR: condition numbers; NOT: one */
    uint32_t nkids;
} rs_cond;

/* An order key. */
typedef struct rs_key {
    rs_path path;
    bool desc;
} rs_key;

struct store_query {
    store *db;
    store_model *model;
    int err; /* the sticky error, or STORE_OK */
    rs_term *terms;
    uint32_t nterms, capterms;
    rs_cond *conds; /* condition N is conds[N - 1] */
    uint32_t nconds, capconds;
    uint32_t *root; /* the conditions every match meets (AND) */
    uint32_t nroot, caproot;
    rs_key *keys;
    uint32_t nkeys;
    size_t offset, limit;
};

/* A run's view of a term's value: the term's own, or the one bound to its parameter. */
typedef struct rs_qbind {
    const rs_qval *val;
    const rs_qval *list;
    size_t nlist;
} rs_qbind;

/* A query with at most this many terms binds its parameters without allocating. */
#define RS_QRUN_TERMS 8

/* A run: the query, and each term's value for this run. */
typedef struct rs_qrun {
    const store_query *q;
    rs_qbind *binds; /* one per term; NULL when the query has no parameter */
    rs_qval *owned;  /* the bound values converted */
    rs_qbind bind_room[RS_QRUN_TERMS]; /* BINDS and OWNED when the query is small */
    rs_qval owned_room[RS_QRUN_TERMS];
} rs_qrun;

/* rs_query_add_terms() - compile TERMS into conditions, the numbers of which go to *OUT (an
 * array of at least as many as TERMS holds; *N set). STORE_OK, STORE_EINVAL or STORE_ENOMEM,
 * detail set; the query's sticky error is set by the caller. */
int rs_query_add_terms(store_query *q, const store_value *terms, uint32_t **out, uint32_t *n);

/* rs_query_cond_new() - a new condition node of KIND over KIDS (copied); its number > 0, or
 * a STORE_E* code. */
int rs_query_cond_new(store_query *q, rs_cond_kind kind, const uint32_t *kids, uint32_t n);

/* rs_query_root_add() - every match must meet condition C. */
int rs_query_root_add(store_query *q, uint32_t c);

/* rs_query_order() - compile KEYS into Q's order (replacing it). */
int rs_query_order(store_query *q, const char *const *keys);

/* rs_query_path() - compile PATH (no lookup) of one value per object, for an order key or an
 * aggregate. */
int rs_query_path(store *db, store_model *m, const char *path, rs_path *out);

/* rs_query_free() - free Q and everything it owns. */
void rs_query_free(store_query *q);

/* rs_query_bind() - R for a run of Q with BINDS: STORE_OK, STORE_EINVAL (a parameter without
 * a bind, or of the wrong kind) or STORE_ENOMEM, detail set. */
int rs_query_bind(rs_qrun *r, const store_query *q, const store_value *binds);

/* rs_query_unbind() - free what rs_query_bind() allocated. */
void rs_query_unbind(rs_qrun *r);

/* No root condition known to hold: for rs_query_matches() to check them all. */
#define RS_QUERY_ALL UINT64_C(0)

/* rs_query_known() - the set of root conditions holding only the one at K in the root list
 * (conditions past the 64th are always checked). */
static inline uint64_t rs_query_known(uint32_t k)
{
    return k < 64 ? UINT64_C(1) << k : 0;
}

/* rs_query_matches() - whether O meets every root condition of R's query but those in KNOWN
 * (bit K: the one at K in its root list, which the caller knows O meets; RS_QUERY_ALL for
 * none). */
bool rs_query_matches(const rs_qrun *r, const store_obj *o, uint64_t known);

/* rs_query_read() - the value at the end of PATH (which has no reverse hop) read from O. */
rs_qval rs_query_read(const rs_path *path, const store_obj *o);

/* rs_query_cmp() - the order of values A and B of one kind, nulls first: <0, 0, >0. */
int rs_query_cmp(const rs_qval *a, const rs_qval *b);

#endif
