/*
 * tests/fuzz/fuzz_api.h - what the files of the fuzz_api target share: the schema as the
 * reference reads it, the reference's store (plain arrays beside the store under test), the
 * reader of the program and the check that aborts. fuzz_api.c defines all of it but
 * op_query(), which fuzz_api_query.c defines.
 */
#ifndef RS_TESTS_FUZZ_FUZZ_API_H
#define RS_TESTS_FUZZ_FUZZ_API_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>

enum { AUTHOR, BOOK, LOAN, NMODELS, MAX_IDS = 400, NFIELDS = 5, TEXT_MAX = 40 };

/* A value as the reference keeps it. REF: I is the parent's id (-1: no object of the model). */
typedef struct rval {
    store_kind kind; /* STORE_KIND_NULL, _STR, _INT, _FLOAT, _BOOL or _REF */
    int64_t i;
    double f;
    bool b;
    char s[TEXT_MAX];
} rval;

typedef struct ref {
    bool live;
    rval v[NFIELDS];         /* the fields, in declaration order */
    uint64_t seq[NFIELDS];   /* a foreign key: when it joined its parent's relation */
    store_obj *obj;          /* the store's object (kept after its delete, never dereferenced) */
} ref;

/* The schema as the reference reads it. */
typedef struct fdef {
    const char *name;
    store_type type;
    bool null, unique;
    int to;              /* STORE_FK: the parent model */
    const char *rel;     /* STORE_FK: the reverse relation on the parent */
    store_on_delete del; /* STORE_FK */
} fdef;

extern const fdef fdefs[NMODELS][NFIELDS];
extern const int nfields[NMODELS];
extern const char *const model_names[NMODELS];

/* The reverse relations: the child model and its foreign key. */
enum { NRELS = 3 };
typedef struct rdef {
    int child, fk;
} rdef;
extern const rdef rels[NRELS];

/* The reference's objects, by model and id (0 is no id), and the next id of each model. */
extern ref refs[NMODELS][MAX_IDS];
extern uint64_t next_id[NMODELS];

/* The store under test (in memory) and its models, for the run of one input. */
extern store *db;
extern store_model *models[NMODELS];

/* Aborts, naming the condition and store_errmsg(db), unless COND holds. */
#define CHECK(cond)                                                                             \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_api: %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,           \
                    store_errmsg(db));                                                         \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* ---- Reading the program ------------------------------------------------------------------ */

/* The bytes of the program not read yet. */
typedef struct prog {
    const uint8_t *p, *end;
} prog;

/* The next byte of G; 0 once the program has ended. */
unsigned byte(prog *g);

/* An id of model M: mostly a used one (live or dead), sometimes one never handed out. */
uint64_t pick_id(prog *g, int m);

/* A string of 0 to MAX characters (from a few pieces, ASCII and not) into OUT; returns how
 * many. */
unsigned pick_text(prog *g, char *out, unsigned max);

/* Mostly small numbers (so that they repeat), sometimes the ends of int64. */
int64_t pick_int(prog *g);

/* A float from a small pool: zeros of both signs, infinities, the ends of double. */
double pick_float(prog *g);

/* ---- The reference's store ---------------------------------------------------------------- */

/* The live object ID of M, or NULL. */
ref *live_ref(int m, uint64_t id);

/* The object to hand the store for ID of M: live, dead (deleted: the store must say so), or
 * NULL (never made). */
store_obj *obj_of(int m, uint64_t id);

/* The model and id of the store's object O (live or dead); false if O is none of ours. */
bool obj_ident(const store_obj *o, int *m, uint64_t *id);

/* Whether a live Book other than EXCEPT holds CODE (a null holds nothing). */
bool code_taken(const rval *code, uint64_t except);

/* The objects a delete takes: the ones named, then their cascade. */
typedef struct doomed {
    bool set[NMODELS][MAX_IDS];
} doomed;

/* Adds to D the cascade of what it holds; whether no RESTRICT child is left outside it. */
bool cascade(doomed *d);

/* Deletes D's objects from the reference and nulls their SET_NULL children. */
void apply_delete(const doomed *d);

/* Sets field F of R (of model M) to V; a foreign key given a new parent joins its relation at
 * the end. */
void ref_set(ref *r, int m, int f, const rval *v);

/* The failure codes a call may return, as a mask; 0: it must succeed. */
#define BIT(rc) (1u << -(rc))

/* Whether RC is a code MASK allows (0: only STORE_OK). */
bool code_allowed(unsigned mask, int rc);

/*
 * A value for field F of model M, into *RV (the reference's) and *SV (the store's, named for
 * F; a string points into RV). Returns the failure it must cause in a create or an update:
 * STORE_EINVAL (too long, a null where none is allowed), STORE_ECONSTRAINT (a deleted
 * parent), else STORE_OK; a repeated .unique value is the caller's to judge.
 */
int pick_value(prog *g, int m, int f, rval *rv, store_value *sv);

/* Aborts unless store_check() passes and every object, field, count and relation (in join
 * order) of the store agrees with the reference. */
void check_all(void);

/* ---- The query op (fuzz_api_query.c) ------------------------------------------------------ */

/* Builds a random query from G, runs it every way on the store and on the reference, now and
 * then updates or deletes by it; aborts at the first difference. */
void op_query(prog *g);

#endif
