/*
 * tests/fuzz/fuzz_api.h - what the files of the fuzz_api target share: the schema as the
 * reference reads it, the reference's store (plain arrays beside the store under test), the
 * reader of the program, the ops and the check that aborts. fuzz_api.c defines all of it but
 * op_query(), which fuzz_api_query.c defines, the transaction part, which fuzz_api_txn.c
 * defines, and the many-to-many part, which fuzz_api_m2m.c defines.
 */
#ifndef RS_TESTS_FUZZ_FUZZ_API_H
#define RS_TESTS_FUZZ_FUZZ_API_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>

/* BOOK_TAGS and READING are the through models of the two many-to-many relations (see
 * fuzz_api_m2m.c): the first declared by the store, the second by the schema. */
enum {
    AUTHOR, BOOK, LOAN, BOOK_TAGS, READING, NMODELS, MAX_IDS = 400, NFIELDS = 5,
    TEXT_MAX = 40
};

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
enum { NRELS = 7 };
typedef struct rdef {
    int child, fk;
} rdef;
extern const rdef rels[NRELS];

/* The reference's objects, by model and id (0 is no id), the next id of each model and the
 * last ref.seq handed out. An id at or past the next id is no object; its OBJ, if set, is
 * that of a create rolled back (a deleted object to the store). */
extern ref refs[NMODELS][MAX_IDS];
extern uint64_t next_id[NMODELS];
extern uint64_t join_seq;

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

/* The object to hand the store for ID of M: live, dead (deleted, or created by a transaction
 * rolled back: the store must say so), or NULL (never made). */
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

/* The values of a create of model M: each field given (pick_value()) or now and then left to
 * its default, into RV (the reference's, every field) and V (the store's, ended by {0}; room
 * for NFIELDS + 1). Returns the failures the create must give, as a mask; a repeated .unique
 * value is the caller's to judge. */
unsigned pick_row(prog *g, int m, rval *rv, store_value *v);

/* Records the store's new object O of model M, with the fields RV, at the next id. */
void ref_create(int m, store_obj *o, const rval *rv);

/* Aborts unless store_check() passes and every object (at its address), field, count and
 * relation (in join order) of the store agrees with the reference, and check_txn() passes. */
void check_all(void);

/* Runs op OP, its arguments read from G: a create, a few creates, an update, a delete, a
 * get, a check, a query, a transaction op or a many-to-many op. */
void run_op(prog *g, unsigned op);

/* ---- The query op (fuzz_api_query.c) ------------------------------------------------------ */

/* Builds a random query from G, runs it every way on the store and on the reference, now and
 * then updates or deletes by it; aborts at the first difference. */
void op_query(prog *g);

/* ---- Transactions (fuzz_api_txn.c) ------------------------------------------------------- */

/* Forgets every level and rolled back pointer; at the start of each input. */
void txn_reset(void);

/* Whether the innermost open level is read-only (a change must fail with STORE_EINVAL). */
bool txn_readonly(void);

/* A transaction op from G: a begin, a commit or a rollback of the innermost level, a misuse
 * (a level not the innermost, a wrong flag), store_create_many(), store_get_or_create(),
 * store_update_or_create() or store_atomic(); then the whole stores are compared. */
void op_txn(prog *g);

/* Ends every open level, innermost first, each committed or rolled back as its begin chose;
 * at the end of the program, before the last comparison. */
void txn_end_all(void);

/* Aborts unless each pointer of a create rolled back reads as store.h says: a deleted object
 * (id 0) until its id is handed out again, then the object holding that id. */
void check_txn(void);

/* ---- Many-to-many (fuzz_api_m2m.c) ------------------------------------------------------- */

/* A many-to-many relation: its two sides (SIDE[0] declares the STORE_M2M field), its name on
 * each, its through model and that model's foreign key to each side. */
enum { NM2M = 2 };
typedef struct mdef {
    int side[2];
    const char *name[2];
    int through;
    int fk[2];
} mdef;
extern const mdef m2ms[NM2M];

/* Whether the fields ROW of an object of M would repeat, in a set of fields declared unique
 * together (a through model's two foreign keys among them), those of a live object other
 * than EXCEPT (0: none). A null among the set clashes with nothing. */
bool row_clashes(int m, const rval *row, uint64_t except);

/* Whether the rows A and B of M share the values of a set of fields unique together. */
bool rows_clash(int m, const rval *a, const rval *b);

/* Whether setting the fields FS[0 .. NV) to RV on the live objects IDS[0 .. N) of M would
 * leave two live objects sharing a set of fields unique together. */
bool update_clashes(int m, const uint64_t *ids, size_t n, const int *fs, const rval *rv,
                    int nv);

/* Aborts unless the store describes the two relations and the store-declared through model
 * as store.h says; after each open. */
void m2m_check_schema(void);

/* Aborts unless every live object of each side walks, with store_m2m() and through its
 * through model's relation, the objects and links the reference has, in its list's order. */
void check_m2m(void);

/* A many-to-many op from G: store_m2m_add(), _remove(), _clear(), _move(), a walk, or a
 * misuse; then the whole stores are compared. */
void op_m2m(prog *g);

#endif
