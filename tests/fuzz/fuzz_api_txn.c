/*
 * tests/fuzz/fuzz_api_txn.c - R8: the transaction ops of fuzz_api.c's programs, and their
 * part of the reference.
 *
 * The ops: store_begin() (a write transaction, a savepoint inside an open one, now and then a
 * STORE_TXN_READONLY one when none is open, in which every change must fail with
 * STORE_EINVAL), store_commit() and store_rollback() of the innermost level, misuses that
 * must give STORE_EINVAL and change nothing (ending a level that is not the innermost, a NULL
 * handle, unknown flags, a read-only level inside a write one or the reverse) or STORE_EBUSY
 * (store_close() inside a transaction), store_create_many() (all or nothing, consecutive
 * ids), store_get_or_create() and store_update_or_create() (equality on Author's fields,
 * name being an .index: several matches are STORE_EMULTIPLE), and store_atomic() around a
 * few ops of the program, its function's code deciding commit or rollback.
 *
 * The reference reads store.h's contract and nothing of the library's code. Each begin pushes
 * a copy of its whole state: every object with its fields and join sequence numbers (so the
 * order of every relation), each model's next id and the last sequence number. A commit
 * drops the copy; a rollback puts it back, so ids are handed out again, and keeps the pointer
 * of each object created since the begin as a "ghost": store.h says it reads a deleted object
 * until its id is handed out again, then the object holding that id. After each op the whole
 * stores are compared (check_all()); at the end of the program every open level is ended,
 * innermost first, committed or rolled back as its begin chose, before the last comparison.
 * Only a begin leaves a level open; store_atomic()'s function ends the levels it opened
 * before it returns, so the store's levels and the reference's always match.
 */
#include <stdint.h>
#include <string.h>
#include <store.h>

#include "tests/fuzz/fuzz_api.h"

enum { DEPTH_MAX = 6, ROWS_MAX = 6, AUTHOR_FIELDS = 3 };

/* An open level: the store's handle (NULL: store_atomic()'s, which it ends itself), and the
 * reference's state at its begin (the objects are in SAVED at the same depth). */
typedef struct level {
    store_txn *txn;
    bool readonly;
    bool end_commit; /* at the end of the program: committed, else rolled back */
    uint64_t next_id[NMODELS];
    uint64_t join_seq;
} level;

static level levels[DEPTH_MAX];
static ref saved[DEPTH_MAX][NMODELS][MAX_IDS]; /* the objects below each level's next ids */
static int depth;
static store_obj *ghosts[NMODELS][MAX_IDS]; /* the last rolled back create of each id */

void txn_reset(void)
{
    depth = 0;
    memset(ghosts, 0, sizeof ghosts);
}

bool txn_readonly(void)
{
    return depth && levels[depth - 1].readonly;
}

/* ---- The reference's levels --------------------------------------------------------------- */

/* Opens a level of the reference for TXN: a copy of the whole state. */
static void push(store_txn *txn, bool readonly, bool end_commit)
{
    CHECK(depth < DEPTH_MAX);
    level *l = &levels[depth];
    *l = (level){.txn = txn, .readonly = readonly, .end_commit = end_commit,
                 .join_seq = join_seq};
    for (int m = 0; m < NMODELS; m++) {
        l->next_id[m] = next_id[m];
        memcpy(saved[depth][m], refs[m], next_id[m] * sizeof(ref));
    }
    depth++;
}

/* A commit: the changes stay, now those of the level outside. */
static void pop_commit(void)
{
    CHECK(depth > 0);
    depth--;
}

/* A rollback: the state of the begin again; the creates since are ghosts, their ids free. */
static void pop_rollback(void)
{
    CHECK(depth > 0);
    const level *l = &levels[--depth];
    for (int m = 0; m < NMODELS; m++) {
        for (uint64_t id = l->next_id[m]; id < next_id[m]; id++) {
            ghosts[m][id] = refs[m][id].obj;
            refs[m][id] = (ref){.obj = refs[m][id].obj}; /* no object; the pointer is dead */
        }
        memcpy(refs[m], saved[depth][m], l->next_id[m] * sizeof(ref));
        next_id[m] = l->next_id[m];
    }
    join_seq = l->join_seq;
}

/* Ends the levels above BASE, innermost first, each as its begin chose. */
static void end_above(int base)
{
    while (depth > base) {
        level *l = &levels[depth - 1];
        CHECK(l->txn);
        bool commit = l->end_commit;
        int rc = commit ? store_commit(l->txn) : store_rollback(l->txn);
        CHECK(rc == STORE_OK);
        if (commit)
            pop_commit();
        else
            pop_rollback();
        check_all();
    }
}

void txn_end_all(void)
{
    end_above(0);
}

void check_txn(void)
{
    for (int m = 0; m < NMODELS; m++)
        for (uint64_t id = 1; id < MAX_IDS; id++) {
            const store_obj *o = ghosts[m][id];
            bool live = live_ref(m, id) != NULL;
            if (o)
                CHECK(store_id(o) == (live ? id : 0) &&
                      store_obj_model(o) == (live ? models[m] : NULL) &&
                      store_is_null(o, fdefs[m][0].name) == !live);
        }
}

/* ---- Begin, commit, rollback -------------------------------------------------------------- */

static void op_begin(prog *g)
{
    unsigned b = byte(g);
    if (depth == DEPTH_MAX)
        return;
    bool ro = depth ? levels[depth - 1].readonly : b % 8 == 0;
    store_txn *t = NULL;
    int rc = store_begin(db, ro ? STORE_TXN_READONLY : 0, &t);
    CHECK(rc == STORE_OK && t);
    push(t, ro, b & 0x10);
}

/* Ends the innermost level, by COMMIT or rollback (store_atomic()'s is not ours to end). */
static void op_end(bool commit)
{
    if (!depth || !levels[depth - 1].txn)
        return;
    store_txn *t = levels[depth - 1].txn;
    int rc = commit ? store_commit(t) : store_rollback(t);
    CHECK(rc == STORE_OK);
    if (commit)
        pop_commit();
    else
        pop_rollback();
}

/* A call that must fail and change nothing: ending a level not the innermost, a NULL handle,
 * a begin with unknown flags or of the wrong kind, store_close() inside a transaction. */
static void op_misuse(prog *g)
{
    unsigned b = byte(g);
    int k = depth > 1 ? (int)(byte(g) % (unsigned)(depth - 1)) : -1;
    store_txn *t = (store_txn *)&t;
    switch (b % 6) {
    case 0: /* a level outside the innermost */
        if (k >= 0 && levels[k].txn)
            CHECK((b & 8 ? store_commit(levels[k].txn) : store_rollback(levels[k].txn)) ==
                  STORE_EINVAL);
        break;
    case 1:
        CHECK((b & 8 ? store_commit(NULL) : store_rollback(NULL)) == STORE_EINVAL);
        break;
    case 2:
        CHECK(store_begin(db, b & 8 ? 1u << 3 : ~0u, &t) == STORE_EINVAL);
        break;
    case 3: /* a write level inside a read-only one, a read-only one inside a write one */
        if (depth)
            CHECK(store_begin(db, txn_readonly() ? 0 : STORE_TXN_READONLY, &t) == STORE_EINVAL);
        break;
    case 4:
        CHECK((b & 8 ? store_begin(NULL, 0, &t) : store_begin(db, 0, NULL)) == STORE_EINVAL);
        break;
    default: /* the store stays open */
        if (depth)
            CHECK(store_close(db) == STORE_EBUSY);
        break;
    }
}

/* ---- store_create_many() ------------------------------------------------------------------ */

/* Whether row I of RV (of M) repeats, with an earlier row or a live object, the values of
 * fields unique together (a link's pair among them). */
static bool row_repeats(int m, rval rv[][NFIELDS], int i)
{
    for (int j = 0; j < i; j++)
        if (rows_clash(m, rv[i], rv[j]))
            return true;
    return row_clashes(m, rv[i], 0);
}

/* Whether row I of RV (Books) repeats the code of an earlier row or of a live Book. */
static bool code_repeats(rval rv[][NFIELDS], int i)
{
    for (int j = 0; j < i; j++)
        if (rv[i][3].kind == STORE_KIND_INT && rv[j][3].kind == STORE_KIND_INT &&
            rv[i][3].i == rv[j][3].i)
            return true;
    return code_taken(&rv[i][3], 0);
}

static void op_create_many(prog *g)
{
    int m = (int)(byte(g) % NMODELS), n = (int)(byte(g) % (ROWS_MAX + 1));
    if (next_id[m] + (uint64_t)n >= MAX_IDS - 1)
        return;
    rval rv[ROWS_MAX][NFIELDS] = {{{0}}};
    store_value v[ROWS_MAX][NFIELDS + 1];
    const store_value *rows[ROWS_MAX];
    unsigned fail = 0, b = byte(g);
    for (int i = 0; i < n; i++) {
        fail |= pick_row(g, m, rv[i], v[i]);
        if ((m == BOOK && code_repeats(rv, i)) || row_repeats(m, rv, i))
            fail |= BIT(STORE_ECONSTRAINT);
        rows[i] = v[i];
    }
    if (txn_readonly() && n)
        fail |= BIT(STORE_EINVAL);
    store_obj *out[ROWS_MAX] = {0};
    uint64_t first = 0;
    int rc = store_create_many(db, models[m], rows, (size_t)n, b & 1 ? out : NULL,
                               b & 2 ? &first : NULL);
    if (!n) { /* nothing to create: done, or refused; nothing changes either way */
        CHECK(rc == STORE_OK || rc == STORE_EINVAL);
        return;
    }
    CHECK(code_allowed(fail, rc));
    if (rc) { /* store.h: the message names the row */
        CHECK(txn_readonly() || strstr(store_errmsg(db), "row "));
        return;
    }
    CHECK(!(b & 2) || first == next_id[m]);
    for (int i = 0; i < n; i++) {
        store_obj *o = out[i];
        if (!(b & 1))
            CHECK(store_get(db, models[m], next_id[m], &o) == STORE_OK);
        ref_create(m, o, rv[i]);
    }
}

/* ---- store_get_or_create(), store_update_or_create() ---------------------------------------- */

/* The store's value for Author's field F from the reference's V (a string points into V). */
static store_value author_value(int f, const rval *v)
{
    const char *name = fdefs[AUTHOR][f].name;
    switch (v->kind) {
    case STORE_KIND_STR:
        return (store_value)STORE_V_STR(name, v->s);
    case STORE_KIND_INT:
        return (store_value)STORE_V_INT(name, v->i);
    case STORE_KIND_FLOAT:
        return (store_value)STORE_V_FLOAT(name, v->f);
    default:
        return (store_value)STORE_V_NULL(name);
    }
}

/* Whether a field holding A equals B as a query's equal does (a null equals only a null;
 * -0.0 equals 0.0). */
static bool equals(const rval *a, const rval *b)
{
    if (a->kind == STORE_KIND_NULL || b->kind == STORE_KIND_NULL)
        return a->kind == b->kind;
    if (a->kind == STORE_KIND_STR)
        return !strcmp(a->s, b->s);
    return a->kind == STORE_KIND_FLOAT ? a->f == b->f : a->i == b->i;
}

/* Some of Author's fields, with values and the store's list of them. */
typedef struct fieldset {
    bool has[AUTHOR_FIELDS];
    rval v[AUTHOR_FIELDS];
    int rc[AUTHOR_FIELDS]; /* what the value would make a create or an update give */
    store_value list[AUTHOR_FIELDS + 1];
} fieldset;

/* Fills S's list from what it has. */
static void fieldset_list(fieldset *s)
{
    int n = 0;
    for (int f = 0; f < AUTHOR_FIELDS; f++)
        if (s->has[f])
            s->list[n++] = author_value(f, &s->v[f]);
    s->list[n] = (store_value){0};
}

/* A lookup: the fields chosen by a byte, each mostly the value of one Author (so that it
 * matches, and, names repeating, sometimes matches several), else any. */
static void pick_lookup(prog *g, fieldset *s)
{
    unsigned b = byte(g);
    const ref *src = live_ref(AUTHOR, pick_id(g, AUTHOR));
    *s = (fieldset){.has = {b % 8 != 0, (b & 8) != 0, (b & 16) != 0}};
    for (int f = 0; f < AUTHOR_FIELDS; f++) {
        if (!s->has[f])
            continue;
        store_value unused;
        if (src && byte(g) % 4)
            s->v[f] = src->v[f];
        else
            s->rc[f] = pick_value(g, AUTHOR, f, &s->v[f], &unused);
    }
    fieldset_list(s);
}

/* Defaults: some fields with any values. */
static void pick_defaults(prog *g, fieldset *s)
{
    unsigned b = byte(g);
    *s = (fieldset){.has = {(b & 1) != 0, (b & 2) != 0, (b & 4) != 0}};
    for (int f = 0; f < AUTHOR_FIELDS; f++) {
        store_value unused;
        if (s->has[f])
            s->rc[f] = pick_value(g, AUTHOR, f, &s->v[f], &unused);
    }
    fieldset_list(s);
}

/* The one live Author LK matches in *ID; how many it matches. */
static int matches(const fieldset *lk, uint64_t *id)
{
    int n = 0;
    for (uint64_t a = 1; a < next_id[AUTHOR]; a++) {
        const ref *r = live_ref(AUTHOR, a);
        bool ok = r != NULL;
        for (int f = 0; ok && f < AUTHOR_FIELDS; f++)
            ok = !lk->has[f] || equals(&r->v[f], &lk->v[f]);
        if (ok) {
            *id = a;
            n++;
        }
    }
    return n;
}

/* The new Author of LK and DF (DF wins a field in both), into RV; the failures it must give
 * (a value that does not fit, no name), as a mask. */
static unsigned merged(const fieldset *lk, const fieldset *df, rval *rv)
{
    unsigned fail = 0;
    for (int f = 0; f < AUTHOR_FIELDS; f++) {
        const fieldset *s = df->has[f] ? df : lk->has[f] ? lk : NULL;
        rv[f] = s ? s->v[f] : (rval){.kind = STORE_KIND_NULL};
        fail |= s && s->rc[f] ? BIT(s->rc[f]) : 0;
    }
    return fail | (rv[0].kind == STORE_KIND_NULL ? BIT(STORE_EINVAL) : 0);
}

static fieldset lookup, defaults; /* of the call being made */

/* Checks the code RC, the object OUT and CREATED of a call given LOOKUP and DEFAULTS (UPDATE:
 * store_update_or_create()), LOOKUP matching N objects (ID: the last); records a success. */
static void or_create_result(bool update, int n, uint64_t id, int rc, store_obj *out,
                             bool created)
{
    rval rv[NFIELDS];
    unsigned fail = n > 1 ? BIT(STORE_EMULTIPLE) : n ? 0 : merged(&lookup, &defaults, rv);
    for (int f = 0; n == 1 && update && f < AUTHOR_FIELDS; f++)
        fail |= defaults.has[f] && defaults.rc[f] ? BIT(defaults.rc[f]) : 0;
    bool changes = !n || (update && defaults.list[0].name);
    if (txn_readonly() && (changes || fail))
        fail |= BIT(STORE_EINVAL); /* read-only: a find may pass, a change may not */
    else if (txn_readonly() && rc == STORE_EINVAL)
        return;
    CHECK(code_allowed(fail, rc));
    if (rc)
        return;
    if (!n) {
        CHECK(created);
        ref_create(AUTHOR, out, rv);
        return;
    }
    CHECK(!created && out == refs[AUTHOR][id].obj);
    for (int f = 0; update && f < AUTHOR_FIELDS; f++)
        if (defaults.has[f])
            ref_set(&refs[AUTHOR][id], AUTHOR, f, &defaults.v[f]);
}

/* store_get_or_create(), or with UPDATE store_update_or_create(), on Author. DEFAULTS with
 * no field is given as NULL, or (to get) now and then as an empty list. */
static void op_or_create(prog *g, bool update)
{
    if (next_id[AUTHOR] >= MAX_IDS - 1) /* no id left for the Author it may create */
        return;
    pick_lookup(g, &lookup);
    pick_defaults(g, &defaults);
    unsigned b = byte(g);
    const store_value *df = defaults.list[0].name || (!update && b & 1) ? defaults.list : NULL;
    uint64_t id = 0;
    int n = matches(&lookup, &id);
    store_obj *out = NULL;
    bool created = !(b & 2), *cp = b & 4 ? NULL : &created;
    int rc = update ? store_update_or_create(db, models[AUTHOR], lookup.list, df, &out, cp)
                    : store_get_or_create(db, models[AUTHOR], lookup.list, df, &out, cp);
    if (!cp)
        created = !n;
    or_create_result(update, n, id, rc, out, created);
}

/* ---- store_atomic() ----------------------------------------------------------------------- */

typedef struct atomic_arg {
    prog *g;
    int code; /* what the function returned */
    bool ran;
} atomic_arg;

/* The function run by store_atomic(): a few ops of the program (begins among them, whose
 * levels it ends), then a code, mostly STORE_OK. */
static int atomic_fn(store *s, void *arg)
{
    static const int codes[8] = {STORE_OK, STORE_OK,          STORE_OK,        STORE_OK,
                                 STORE_OK, STORE_ECONSTRAINT, STORE_ENOTFOUND, 7};
    atomic_arg *a = arg;
    CHECK(s == db && !a->ran);
    a->ran = true;
    push(NULL, false, false);
    int base = depth;
    for (int n = (int)(byte(a->g) % 4); n > 0; n--)
        run_op(a->g, byte(a->g));
    end_above(base);
    a->code = codes[byte(a->g) % 8];
    return a->code;
}

static void op_atomic(prog *g)
{
    if (depth == DEPTH_MAX)
        return;
    atomic_arg a = {.g = g};
    bool ro = txn_readonly();
    int rc = store_atomic(db, atomic_fn, &a);
    if (ro) { /* a write level inside a read-only one: FN never runs */
        CHECK(rc == STORE_EINVAL && !a.ran);
        return;
    }
    CHECK(a.ran && rc == a.code);
    if (rc)
        pop_rollback();
    else
        pop_commit();
}

/* ---- The op ------------------------------------------------------------------------------- */

void op_txn(prog *g)
{
    unsigned b = byte(g) % 16;
    if (b < 4)
        op_begin(g);
    else if (b < 6)
        op_end(true);
    else if (b < 8)
        op_end(false);
    else if (b < 9)
        op_misuse(g);
    else if (b < 11)
        op_create_many(g);
    else if (b < 13)
        op_or_create(g, false);
    else if (b < 15)
        op_or_create(g, true);
    else
        op_atomic(g);
    check_all();
}
