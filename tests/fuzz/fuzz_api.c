/*
 * tests/fuzz/fuzz_api.c - R8: sequences of API calls, checked against a naive model.
 *
 * The input is a program: each op is a byte choosing the call, then bytes for its
 * arguments. The store (in memory) has Author (name CHAR(6), age INT .null), Book (title
 * CHAR(6), author FK CASCADE "books", editor FK .null SET_NULL "edited") and Loan (book FK
 * RESTRICT "loans"). Beside it, a reference model keeps the same objects in plain arrays and
 * applies each rule the obvious way (a delete computes its whole cascade, refuses on a
 * RESTRICT child outside it, then nulls SET_NULL children). After every call the code
 * returned must be the one the reference predicts; after every few calls store_check() must
 * pass; at the end every object, field and relation (in join order) must agree. Any
 * difference aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { AUTHOR, BOOK, LOAN, NMODELS, MAX_IDS = 400 };

typedef struct ref {
    bool live;
    char text[16];      /* name or title */
    bool age_null;
    int64_t age;
    uint64_t fk[2];     /* Book: author, editor; Loan: book */
    uint64_t seq[2];    /* when it joined each parent's relation */
    store_obj *obj;     /* the store's object (kept after its delete, never dereferenced) */
} ref;

static ref refs[NMODELS][MAX_IDS];
static uint64_t next_id[NMODELS], join_seq;
static store *db;
static store_model *models[NMODELS];

#define CHECK(cond)                                                                             \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_api: %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,           \
                    store_errmsg(db));                                                         \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 6},
    {.name = "age", .type = STORE_INT, .null = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 6},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited", .null = true,
     .on_delete = STORE_SET_NULL},
    {0},
};
static const store_field loan_fields[] = {
    {.name = "book", .type = STORE_FK, .to = "Book", .related_name = "loans",
     .on_delete = STORE_RESTRICT},
    {0},
};

/* ---- Reading the program ------------------------------------------------------------------ */

typedef struct prog {
    const uint8_t *p, *end;
} prog;

static unsigned byte(prog *g)
{
    return g->p < g->end ? *g->p++ : 0;
}

/* An id of model M: mostly a used one (live or dead), sometimes one never handed out. */
static uint64_t pick_id(prog *g, int m)
{
    unsigned b = byte(g);
    uint64_t n = next_id[m];
    return b >= 240 || n <= 1 ? (uint64_t)b % (n + 3) : (uint64_t)b % (n - 1) + 1;
}

/* A string of 0 to 8 characters: over 6 is too long for its field. */
static void pick_text(prog *g, char *out)
{
    unsigned len = byte(g) % 9;
    for (unsigned i = 0; i < len; i++)
        out[i] = (char)('a' + byte(g) % 26);
    out[len] = 0;
}

/* ---- The reference ------------------------------------------------------------------------ */

static ref *live_ref(int m, uint64_t id)
{
    return id && id < MAX_IDS && refs[m][id].live ? &refs[m][id] : NULL;
}

/* The object to hand the store for ID of M: live, dead (deleted: the store must say so), or
 * NULL (never made). */
static store_obj *obj_of(int m, uint64_t id)
{
    return id && id < MAX_IDS ? refs[m][id].obj : NULL;
}

typedef struct doomed {
    bool set[NMODELS][MAX_IDS];
} doomed;

/* Whether deleting M's ID is allowed; fills D with its cascade. */
static bool cascade(int m, uint64_t id, doomed *d)
{
    d->set[m][id] = true;
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint64_t b = 1; b < next_id[BOOK]; b++) {
            ref *r = live_ref(BOOK, b);
            if (r && !d->set[BOOK][b] && d->set[AUTHOR][r->fk[0]])
                d->set[BOOK][b] = changed = true;
        }
    }
    for (uint64_t l = 1; l < next_id[LOAN]; l++) {
        ref *r = live_ref(LOAN, l);
        if (r && d->set[BOOK][r->fk[0]] && !d->set[LOAN][l])
            return false; /* RESTRICT */
    }
    return true;
}

static void apply_delete(const doomed *d)
{
    for (int m = 0; m < NMODELS; m++)
        for (uint64_t id = 1; id < next_id[m]; id++)
            if (d->set[m][id])
                refs[m][id].live = false;
    for (uint64_t b = 1; b < next_id[BOOK]; b++) {
        ref *r = live_ref(BOOK, b);
        if (r && r->fk[1] && d->set[AUTHOR][r->fk[1]])
            r->fk[1] = 0;
    }
}

/* ---- The ops ------------------------------------------------------------------------------ */

static void op_create(prog *g, int m)
{
    store_value v[4] = {{0}};
    char text[16];
    pick_text(g, text);
    uint64_t fk0 = 0, fk1 = 0;
    int expect = STORE_OK;
    if (m == AUTHOR) {
        v[0] = (store_value)STORE_V_STR("name", text);
        if (byte(g) & 1)
            v[1] = (store_value)STORE_V_INT("age", (int64_t)byte(g) - 128);
        expect = strlen(text) > 6 ? STORE_EINVAL : STORE_OK;
    } else if (m == BOOK) {
        fk0 = pick_id(g, AUTHOR);
        fk1 = byte(g) & 1 ? pick_id(g, AUTHOR) : 0;
        v[0] = (store_value)STORE_V_STR("title", text);
        v[1] = (store_value)STORE_V_REF("author", obj_of(AUTHOR, fk0));
        v[2] = (store_value)STORE_V_REF("editor", obj_of(AUTHOR, fk1));
        if (strlen(text) > 6 || !obj_of(AUTHOR, fk0))
            expect = STORE_EINVAL; /* too long, or a null author */
        else if (!live_ref(AUTHOR, fk0) || (obj_of(AUTHOR, fk1) && !live_ref(AUTHOR, fk1)))
            expect = STORE_ECONSTRAINT; /* a deleted parent */
        if (!obj_of(AUTHOR, fk1))
            fk1 = 0;
    } else {
        fk0 = pick_id(g, BOOK);
        v[0] = (store_value)STORE_V_REF("book", obj_of(BOOK, fk0));
        expect = !obj_of(BOOK, fk0) ? STORE_EINVAL : !live_ref(BOOK, fk0) ? STORE_ECONSTRAINT
                                                                          : STORE_OK;
    }
    store_obj *o = NULL;
    int rc = store_create(db, models[m], v, &o);
    CHECK(rc == expect || (expect != STORE_OK && (rc == STORE_EINVAL ||
                                                  rc == STORE_ECONSTRAINT)));
    CHECK((rc == STORE_OK) == (expect == STORE_OK));
    if (rc)
        return;
    uint64_t id = next_id[m]++;
    CHECK(store_id(o) == id && id < MAX_IDS);
    ref *r = &refs[m][id];
    *r = (ref){.live = true, .obj = o, .age_null = true, .fk = {fk0, fk1}};
    memcpy(r->text, text, sizeof text);
    if (m == AUTHOR && v[1].name) {
        r->age_null = false;
        r->age = v[1].u.i;
    }
    r->seq[0] = fk0 ? ++join_seq : 0;
    r->seq[1] = fk1 ? ++join_seq : 0;
}

static void op_update(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o = obj_of(m, id);
    if (!o || m == LOAN)
        return;
    ref *r = live_ref(m, id);
    char text[16];
    pick_text(g, text);
    store_value v[3] = {{0}};
    uint64_t fk = 0;
    int which = byte(g) % 3, expect = r ? STORE_OK : STORE_EINVAL;
    if (which == 0) {
        v[0] = (store_value)STORE_V_STR(m == AUTHOR ? "name" : "title", text);
        if (strlen(text) > 6)
            expect = STORE_EINVAL;
    } else if (m == AUTHOR) {
        v[0] = which == 1 ? (store_value)STORE_V_INT("age", (int64_t)byte(g))
                          : (store_value)STORE_V_NULL("age");
    } else {
        fk = pick_id(g, AUTHOR);
        v[0] = (store_value)STORE_V_REF(which == 1 ? "author" : "editor", obj_of(AUTHOR, fk));
        if (!obj_of(AUTHOR, fk) && which == 1)
            expect = STORE_EINVAL;
        else if (obj_of(AUTHOR, fk) && !live_ref(AUTHOR, fk) && r)
            expect = STORE_ECONSTRAINT;
        if (!obj_of(AUTHOR, fk))
            fk = 0;
    }
    int rc = store_update(db, o, v);
    CHECK((rc == STORE_OK) == (expect == STORE_OK));
    if (rc)
        return;
    if (which == 0)
        memcpy(r->text, text, sizeof text);
    else if (m == AUTHOR)
        r->age_null = which == 2, r->age = which == 1 ? v[0].u.i : 0;
    else if (r->fk[which - 1] != fk) {
        r->fk[which - 1] = fk; /* a new parent: the child joins at the end */
        r->seq[which - 1] = fk ? ++join_seq : 0;
    }
}

static void op_delete(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o = obj_of(m, id);
    if (!o)
        return;
    static doomed d;
    memset(&d, 0, sizeof d);
    bool live = live_ref(m, id) != NULL, allowed = live && cascade(m, id, &d);
    int rc = store_delete(db, o);
    CHECK(live ? (allowed ? rc == STORE_OK : rc == STORE_ECONSTRAINT) : rc == STORE_EINVAL);
    if (!rc)
        apply_delete(&d);
}

static void op_get(prog *g, int m)
{
    uint64_t id = pick_id(g, m);
    store_obj *o;
    int rc = store_get(db, models[m], id, &o);
    CHECK(live_ref(m, id) ? rc == STORE_OK && o == refs[m][id].obj : rc == STORE_ENOTFOUND);
}

/* Checks the relation NAME of parent PM's PID against the children of CM through FK K. */
static void check_relation(int pm, uint64_t pid, const char *name, int cm, int k)
{
    store_iter it = store_reverse(refs[pm][pid].obj, name);
    uint64_t last_seq = 0;
    size_t n = 0;
    for (store_obj *c; (c = store_next(&it)); n++) {
        ref *r = live_ref(cm, store_id(c));
        CHECK(r && r->obj == c && r->fk[k] == pid && r->seq[k] > last_seq);
        last_seq = r->seq[k];
    }
    size_t want = 0;
    for (uint64_t id = 1; id < next_id[cm]; id++)
        want += live_ref(cm, id) && refs[cm][id].fk[k] == pid;
    CHECK(n == want && store_count(&it) == want);
}

static void check_all(void)
{
    CHECK(store_check(db) == STORE_OK);
    for (int m = 0; m < NMODELS; m++) {
        CHECK(store_model_next_id(models[m]) == next_id[m]);
        for (uint64_t id = 1; id < next_id[m]; id++) {
            ref *r = live_ref(m, id);
            store_obj *o;
            int rc = store_get(db, models[m], id, &o);
            CHECK(r ? rc == STORE_OK : rc == STORE_ENOTFOUND);
            if (!r)
                continue;
            if (m != LOAN)
                CHECK(!strcmp(store_str(o, m == AUTHOR ? "name" : "title"), r->text));
            if (m == AUTHOR) {
                CHECK(store_is_null(o, "age") == r->age_null);
                CHECK(r->age_null || store_int(o, "age") == r->age);
                check_relation(AUTHOR, id, "books", BOOK, 0);
                check_relation(AUTHOR, id, "edited", BOOK, 1);
            } else if (m == BOOK) {
                CHECK(store_id(store_ref(o, "author")) == r->fk[0]);
                CHECK(store_id(store_ref(o, "editor")) == r->fk[1]);
                check_relation(BOOK, id, "loans", LOAN, 0);
            } else {
                CHECK(store_id(store_ref(o, "book")) == r->fk[0]);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_schema *s;
    if (store_schema_new(&s) || store_schema_add(s, "Author", author_fields) ||
        store_schema_add(s, "Book", book_fields) || store_schema_add(s, "Loan", loan_fields) ||
        store_open(&db, s, NULL, NULL))
        abort();
    const char *names[NMODELS] = {"Author", "Book", "Loan"};
    for (int m = 0; m < NMODELS; m++) {
        models[m] = store_model_find(db, names[m]);
        next_id[m] = 1;
    }
    memset(refs, 0, sizeof refs);
    join_seq = 0;
    prog g = {data, data + size};
    for (int ops = 0; g.p < g.end && ops < 2000; ops++) {
        unsigned op = byte(&g);
        int m = (int)(op / 5 % NMODELS);
        bool full = next_id[m] >= MAX_IDS - 1;
        switch (op % 5) {
        case 0:
            if (!full)
                op_create(&g, m);
            break;
        case 1:
            op_update(&g, m);
            break;
        case 2:
            op_delete(&g, m);
            break;
        case 3:
            op_get(&g, m);
            break;
        default:
            if (op & 0x80)
                check_all();
            break;
        }
    }
    check_all();
    store_close(db);
    store_schema_free(s);
    return 0;
}
