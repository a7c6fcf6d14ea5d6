/*
 * tests/fuzz/fuzz_api_query_ref.h - a query of the fuzz_api target as the reference keeps it
 * (its terms, condition tree, order and slice, beside what the store is handed), and the
 * reference's reading and answering of it, which fuzz_api_query_ref.c defines and
 * fuzz_api_query.c calls to know what the store must answer.
 */
#ifndef RS_TESTS_FUZZ_FUZZ_API_QUERY_REF_H
#define RS_TESTS_FUZZ_FUZZ_API_QUERY_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"

/* ---- Paths -------------------------------------------------------------------------------- */

/* The lookups a term may end in (LK_EQ: none written, equal). */
enum {
    LK_EQ, LK_NOT, LK_IN, LK_NOT_IN, LK_GT, LK_GTE, LK_LT, LK_LTE, LK_RANGE, LK_ISNULL,
    LK_NOT_ISNULL, LK_CONTAINS, LK_ICONTAINS, LK_STARTSWITH, LK_ISTARTSWITH, LK_ENDSWITH,
    LK_IENDSWITH, LK_IEXACT, NLOOKUPS
};

/* The lookups by their names in a term ("" for equal). */
extern const char *const lookup_names[NLOOKUPS];

enum { END_FIELD, END_ID, END_COUNT, HOPS_MAX = 8, TOKENS_MAX = 16 };

/* A path resolved: hops, then what it reads at the end, then the lookup. */
typedef struct rpath {
    int nhops;
    int hop_m[HOPS_MAX], hop_f[HOPS_MAX]; /* a hop through model HOP_M's foreign key HOP_F ... */
    bool rev[HOPS_MAX];                   /* ... to the parent, or (REV) to the children */
    int end, end_m, end_f; /* END_FIELD: END_M's field END_F; END_COUNT: the children through
                              END_M's foreign key END_F; END_ID: the id of an END_M */
    int lookup;
} rpath;

/*
 * Resolves NAME from model M into *P, as store.h says: a field, "id", a foreign key followed
 * by more is a hop to the parent, a reverse relation is followed by "count" or a path of the
 * child model; with WITH_LOOKUP, a last token may be a lookup. Whether NAME resolves.
 */
bool parse_path(int m, const char *name, bool with_lookup, rpath *p);

/* Whether P goes through a reverse relation (so that it may read many values). */
bool through_children(const rpath *p);

/* The kind of value the end of P reads. */
store_kind end_kind(const rpath *p);

/* Ordering lookups fit numbers and strings, string lookups strings, the others anything. */
bool lookup_fits(int lk, store_kind k);

/* Whether lookup LK takes a list (in, not_in, range). */
bool is_list_lookup(int lk);

/* ---- Queries ------------------------------------------------------------------------------ */

enum { LIST_MAX = 6 };

/* What a term compares with: ONE, or the N items of its list. */
typedef struct rcmp {
    rval one;
    rval items[LIST_MAX + 1];
    int n;
} rcmp;

/* The room of a query: what one may hold, and what the store is handed for it. */
enum {
    TERMS_MAX = 96, NODES_MAX = 192, ROOT_MAX = 96, KEYS_MAX = 4, KIDS_MAX = 4, PARAMS = 3,
    TEXTS_MAX = 768, LISTS_MAX = 128, NAMES_MAX = 128, AGGS_MAX = 4, DESC_MAX = 6144
};

typedef enum node_kind { N_TERM, N_AND, N_OR, N_NOT } node_kind;

typedef struct rnode {
    node_kind kind;
    int term; /* N_TERM */
    int kids[KIDS_MAX], nkids;
} rnode;

/* A term: its path (if it resolves) and the value given, a parameter's name included. */
typedef struct rterm {
    rpath p;
    store_value v;
} rterm;

/* What a generated path ends in, to make values that fit it. KNOWN false: it resolves to
 * nothing, or not to what the generator meant. */
typedef struct gend {
    bool known;
    store_kind kind;
    int end, m, f; /* as rpath's end, end_m, end_f */
} gend;

/* A query: made by fuzz_api_query.c, read by the reference; one at a time. */
typedef struct qctx {
    /* What the store is handed lives here as long as the query. */
    char texts[TEXTS_MAX][TEXT_MAX];
    int ntexts;
    store_value lists[LISTS_MAX][LIST_MAX + 2];
    int nlists;
    char names[NAMES_MAX][128];
    int nnames;
    /* The query as the reference keeps it. */
    int m, err;
    rterm terms[TERMS_MAX];
    int nterms;
    rnode nodes[NODES_MAX];
    store_cond conds[NODES_MAX]; /* the store's number of each node */
    int nnodes;
    int root[ROOT_MAX], nroot;
    rpath keys[KEYS_MAX];
    bool desc[KEYS_MAX];
    int nkeys;
    size_t offset, limit;
    /* Parameters: what each was first made for, and the binds of this run. */
    bool used[PARAMS];
    gend pgen[PARAMS];
    int plk[PARAMS];
    store_value binds[PARAMS + 2];
    rcmp x[TERMS_MAX]; /* each term's value in this run */
    char desc_text[DESC_MAX];
    size_t ndesc;
} qctx;

/* Rebuilds the reference's lists of children from its foreign keys; before each query. */
void build_kids(void);

/* The code the building call given term V must return: STORE_EINVAL if its path does not
 * resolve, its lookup does not fit, or its value (unless a parameter) does not fit; else
 * STORE_OK. Fills *T. */
int term_check(qctx *c, const store_value *v, rterm *t);

/* Binds C's terms for a run with BINDS into C->x: STORE_OK, or STORE_EINVAL (a parameter
 * without a bind, or with one that does not fit). */
int bind_terms(qctx *c, const store_value *binds);

/* The ids C finds (terms bound), in order and sliced, into IDS; how many. */
size_t ref_find(const qctx *c, uint64_t *ids);

/* The reference's aggregate A over IDS[0..N): STORE_OK with *OUT, *ON and *SCALE (the size
 * of the terms of a float result, for its tolerance) set, or STORE_EINVAL (a path that does
 * not fit, an int64 sum whose total overflows, whatever its partial sums did). */
int ref_aggregate(const qctx *c, const store_agg *a, const uint64_t *ids, size_t n,
                  rval *out, size_t *on, long double *scale);

#endif
