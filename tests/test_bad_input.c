/*
 * tests/test_bad_input.c - R11: every public call fed bad input, one table row per call.
 *
 * A row names one call and its arguments, the code it must return and a piece of text that
 * store_errmsg() must then hold to name the culprit (the model and field, or the argument).
 * Each row runs on a fresh store holding a few authors, books, reviews and a loan, two
 * objects deleted beforehand, and a second store whose objects serve as foreign ones. A
 * failing row must leave both stores byte-identical (canonical dump, which includes every
 * model's next id) and store_check() clean; OK rows (edges that must be accepted) are only
 * checked for their code and the invariants. Arguments that must be objects or models are
 * written as handles (H_*), and references inside a value list as REF(H_*), both resolved
 * once the stores exist; long strings live in buffers filled before the first row. A row may
 * run inside a transaction the runner opens first (IN_*) and ends after the call, committing
 * a write one, so that whatever a failed call left behind would still show in the dump.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <store_async.h>
#include <string.h>

#include "tests/helpers.h"

/* ---- What a row can name ------------------------------------------------------------------ */

typedef enum handle {
    H_NONE = 0, /* the row does not use the argument */
    H_NULL,     /* a NULL pointer */
    H_AUTHOR,
    H_BOOK,
    H_REVIEW,
    H_LOAN,
    H_X_AUTHOR, /* the Author model of the other store */
    H_ANN,      /* Author 1, email, age; wrote BOOK1 and BOOK2 */
    H_BOB,      /* Author 2, email; wrote BOOK3, edits BOOK1 */
    H_CAT,      /* Author 3, nothing else */
    H_BOOK1,    /* isbn, editor Bob, two reviews, one loan (RESTRICT) */
    H_BOOK2,    /* isbn */
    H_BOOK3,    /* no isbn, one review */
    H_REVIEW1,
    H_LOAN1,
    H_DEAD_AUTHOR, /* Author 4, deleted (with its book) before the row runs */
    H_DEAD_BOOK,   /* Book 4, deleted by that cascade */
    H_X_ANN,       /* objects of the other store */
    H_X_BOOK,
    H_TXN,       /* the innermost transaction level the runner opened (see within) */
    H_OUTER_TXN, /* the level outside it (IN_SAVEPOINT) */
    H_COUNT
} handle;

/* A reference inside a value list, resolved when the row runs (NULL stays a null reference). */
#define REF(h) ((store_obj *)(uintptr_t)(h))

typedef enum op {
    OP_CREATE = 1,
    OP_UPDATE,
    OP_DELETE,
    OP_GET,
    OP_GET_BY,
    OP_REVERSE, /* an empty iterator counts as STORE_EINVAL, any child as STORE_OK */
    OP_CHECK,
    OP_OPEN,             /* store_open() of the library schema */
    OP_SCHEMA_NEW,       /* store_schema_new(NULL) */
    OP_SCHEMA_ADD,       /* on a schema that declares Shelf already */
    OP_OPEN_SCHEMA,      /* Shelf, then MODEL and MODEL2 (both must be accepted), then open */
    OP_FIND,             /* a query of MODEL filtered by the list (ordered by ARG if set), found */
    OP_QUPDATE,          /* a query of every object of MODEL, updated with the list */
    OP_QDELETE,          /* a query of MODEL filtered by the list, deleted */
    OP_BEGIN,            /* store_begin() with FLAGS; the runner ends a transaction it opens */
    OP_COMMIT,           /* store_commit() of the handle */
    OP_ROLLBACK,         /* store_rollback() of the handle */
    OP_ATOMIC,           /* store_atomic() of FN, whose ARG is the list */
    OP_ATOMIC_ASYNC,     /* the same on a loop of its own; the row's arg: what is passed as NULL */
    OP_GET_OR_CREATE,    /* LOOKUP is the list, DEFAULTS (NULL if empty) the defaults */
    OP_UPDATE_OR_CREATE, /* the same */
    OP_CREATE_MANY,      /* ROWS and N; OUT gets the objects, FIRST_ID the first id */
    OP_END               /* one past the last */
} op;

typedef enum within {
    IN_NONE = 0,     /* the call runs outside any transaction */
    IN_WRITE,        /* inside a write transaction, committed after the call */
    IN_READONLY,     /* inside a read-only transaction, ended after the call */
    IN_SAVEPOINT,    /* inside a savepoint of a write transaction, both committed after it */
    IN_OTHER_THREAD, /* while another thread holds a write transaction (H_TXN) */
} within;

typedef struct row {
    const char *name;
    op op;
    bool no_db;       /* the store argument is NULL */
    handle h;         /* the model (create, get, get_by) or the object (update, delete...) */
    store_value v[6]; /* create and update: the list; get_by: v[0] is the value */
    bool no_list;     /* the value list (get_by: the value) is NULL */
    bool no_out;      /* OUT is NULL */
    const char *arg;  /* get_by: the field; reverse: the related name; schema: the model */
    uint64_t id;      /* get */
    const char *path; /* open */
    unsigned flags;   /* open, begin */
    bool no_schema;   /* open, schema_add: the schema is NULL */
    const store_field *fields;
    const char *model2;
    const store_field *fields2;
    within in;                      /* the transaction the call runs inside */
    int (*fn)(store *, void *);     /* atomic */
    store_value defaults[4];        /* get_or_create, update_or_create */
    const store_value *const *rows; /* create_many: NULL, or N value lists (or NULLs) */
    size_t n;
    int rc;
    const char *culprit; /* what store_errmsg() must contain when RC is not STORE_OK */
} row;

#define CREATE(m, ...) .op = OP_CREATE, .h = (m), .v = {__VA_ARGS__}
#define UPDATE(o, ...) .op = OP_UPDATE, .h = (o), .v = {__VA_ARGS__}
#define DELETE(o) .op = OP_DELETE, .h = (o)
#define GET(m, i) .op = OP_GET, .h = (m), .id = (i)
#define GET_BY(m, f, val) .op = OP_GET_BY, .h = (m), .arg = (f), .v = {val}
#define REVERSE(o, rel) .op = OP_REVERSE, .h = (o), .arg = (rel)
#define FIND(m, ...) .op = OP_FIND, .h = (m), .v = {__VA_ARGS__}
#define QUPDATE(m, ...) .op = OP_QUPDATE, .h = (m), .v = {__VA_ARGS__}
#define QDELETE(m, ...) .op = OP_QDELETE, .h = (m), .v = {__VA_ARGS__}
#define BEGIN(f) .op = OP_BEGIN, .flags = (f)
#define COMMIT(t) .op = OP_COMMIT, .h = (t)
#define ROLLBACK(t) .op = OP_ROLLBACK, .h = (t)
#define ATOMIC(f, ...) .op = OP_ATOMIC, .fn = (f), .v = {__VA_ARGS__}
#define ATOMIC_ASYNC(f, ...) .op = OP_ATOMIC_ASYNC, .fn = (f), .v = {__VA_ARGS__}
#define GET_OR_CREATE(m, ...) .op = OP_GET_OR_CREATE, .h = (m), .v = {__VA_ARGS__}
#define UPDATE_OR_CREATE(m, ...) .op = OP_UPDATE_OR_CREATE, .h = (m), .v = {__VA_ARGS__}
#define DEFAULTS(...) .defaults = {__VA_ARGS__}
#define LIST(...) ((const store_value[]){__VA_ARGS__, {0}})
#define MANY(m, ...)                                                                               \
    .op = OP_CREATE_MANY, .h = (m), .rows = (const store_value *const[]){__VA_ARGS__},             \
    .n = sizeof((const store_value *const[]){__VA_ARGS__}) / sizeof(const store_value *)
#define ADD(model, ...)                                                                            \
    .op = OP_SCHEMA_ADD, .arg = (model), .fields = (const store_field[])                           \
    {                                                                                              \
        __VA_ARGS__,                                                                               \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define DECLARE(model, ...)                                                                        \
    .op = OP_OPEN_SCHEMA, .arg = (model), .fields = (const store_field[])                          \
    {                                                                                              \
        __VA_ARGS__,                                                                               \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define ALSO(model, ...)                                                                           \
    .model2 = (model), .fields2 = (const store_field[])                                            \
    {                                                                                              \
        __VA_ARGS__,                                                                               \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define FAILS(code, who) .rc = STORE_##code, .culprit = (who)
#define OK .rc = STORE_OK

/* Values that complete a valid create of each model, for rows that spoil one more value. */
#define BOOK_OK STORE_V_STR("title", "T"), STORE_V_REF("author", REF(H_ANN))
#define REVIEW_OK STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("body", "fine")
#define LOAN_OK STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("who", "me")
#define KIND(field, k)                                                                             \
    {                                                                                              \
        .name = (field), .kind = (store_kind)(k), .u = {.i = 1 }                                   \
    }

/* ---- Long strings, filled once by strings_init() ------------------------------------------- */

#define E "\xc3\xa9"             /* é: 2 bytes */
#define CJK "\xe6\xbc\xa2"       /* 漢: 3 bytes */
#define EMOJI "\xf0\x9f\x98\x80" /* 😀: 4 bytes */

static char a13[14], a14[15], a32[33], a33[34], a64[65], a65[66], a255[256], a256[257];
static char e13[2 * 13 + 1], e14[2 * 14 + 1], e255[2 * 255 + 1], e256[2 * 256 + 1];
static char cjk32[3 * 32 + 1], cjk33[3 * 33 + 1], cjk255[3 * 255 + 1];
static char emoji13[4 * 13 + 1], emoji14[4 * 14 + 1], emoji255[4 * 255 + 1], emoji256[4 * 256 + 1];
static char a12emoji[12 + 4 + 1], a13e[13 + 2 + 1], text10k[10001];

/* DST becomes N copies of UNIT. */
static void repeat(char *dst, const char *unit, int n)
{
    size_t len = strlen(unit);
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * len, unit, len);
    dst[(size_t)n * len] = 0;
}

static void strings_init(void)
{
    repeat(a13, "a", 13), repeat(a14, "a", 14), repeat(a32, "a", 32), repeat(a33, "a", 33);
    repeat(a64, "m", 64), repeat(a65, "m", 65), repeat(a255, "a", 255), repeat(a256, "a", 256);
    repeat(e13, E, 13), repeat(e14, E, 14), repeat(e255, E, 255), repeat(e256, E, 256);
    repeat(cjk32, CJK, 32), repeat(cjk33, CJK, 33), repeat(cjk255, CJK, 255);
    repeat(emoji13, EMOJI, 13), repeat(emoji14, EMOJI, 14);
    repeat(emoji255, EMOJI, 255), repeat(emoji256, EMOJI, 256);
    repeat(a12emoji, "1", 12), strcat(a12emoji, EMOJI);
    repeat(a13e, "1", 13), strcat(a13e, E);
    repeat(text10k, "x", 10000);
}

/* FN of the atomic rows: an Author, then one from ARG (the row's list), so that a failing
 * second create shows whether the first was undone. */
static int create_two(store *d, void *arg)
{
    int rc = store_create(d, Author, LIST(STORE_V_STR("name", "First")), NULL);
    return rc ? rc : store_create(d, Author, arg, NULL);
}

/* ---- The rows ------------------------------------------------------------------------------ */

static const row rows[] = {
    /* NULL pointers, for every argument of every call, and handles of another store. */
    {"create: the store is NULL", .no_db = true, CREATE(H_AUTHOR, STORE_V_STR("name", "N")),
     FAILS(EINVAL, "the store")},
    {"create: the model is NULL", CREATE(H_NULL, STORE_V_STR("name", "N")),
     FAILS(EINVAL, "the model")},
    {"create: the value list is NULL", CREATE(H_AUTHOR, {0}), .no_list = true,
     FAILS(EINVAL, "the value list")},
    {"create: OUT may be NULL", CREATE(H_AUTHOR, STORE_V_STR("name", "N")), .no_out = true, OK},
    {"create: a model of another store", CREATE(H_X_AUTHOR, STORE_V_STR("name", "N")),
     FAILS(EINVAL, "model Author")},
    {"get: the store is NULL", .no_db = true, GET(H_AUTHOR, 1), FAILS(EINVAL, "the store")},
    {"get: the model is NULL", GET(H_NULL, 1), FAILS(EINVAL, "the model")},
    {"get: OUT is NULL", GET(H_AUTHOR, 1), .no_out = true, FAILS(EINVAL, "OUT")},
    {"get: a model of another store", GET(H_X_AUTHOR, 1), FAILS(EINVAL, "model Author")},
    {"get_by: the store is NULL", .no_db = true, GET_BY(H_AUTHOR, "name", STORE_V_STR("", "Ann")),
     FAILS(EINVAL, "the store")},
    {"get_by: the model is NULL", GET_BY(H_NULL, "name", STORE_V_STR("", "Ann")),
     FAILS(EINVAL, "the model")},
    {"get_by: the field is NULL", GET_BY(H_AUTHOR, NULL, STORE_V_STR("", "Ann")),
     FAILS(EINVAL, "the field")},
    {"get_by: the value is NULL", GET_BY(H_AUTHOR, "name", {0}), .no_list = true,
     FAILS(EINVAL, "the value")},
    {"get_by: OUT is NULL", GET_BY(H_AUTHOR, "name", STORE_V_STR("", "Ann")), .no_out = true,
     FAILS(EINVAL, "OUT")},
    {"get_by: a model of another store", GET_BY(H_X_AUTHOR, "name", STORE_V_STR("", "Ann")),
     FAILS(EINVAL, "model Author")},
    {"update: the store is NULL", .no_db = true, UPDATE(H_ANN, STORE_V_INT("age", 1)),
     FAILS(EINVAL, "the store")},
    {"update: the object is NULL", UPDATE(H_NULL, STORE_V_INT("age", 1)),
     FAILS(EINVAL, "the object")},
    {"update: the value list is NULL", UPDATE(H_ANN, {0}), .no_list = true,
     FAILS(EINVAL, "the value list")},
    {"update: an object of another store", UPDATE(H_X_ANN, STORE_V_INT("age", 1)),
     FAILS(EINVAL, "not of this store")},
    {"delete: the store is NULL", .no_db = true, DELETE(H_CAT), FAILS(EINVAL, "the store")},
    {"delete: the object is NULL", DELETE(H_NULL), FAILS(EINVAL, "the object")},
    {"delete: an object of another store", DELETE(H_X_BOOK), FAILS(EINVAL, "not of this store")},
    {"reverse: the object is NULL", REVERSE(H_NULL, "books"), FAILS(EINVAL, "the object")},
    {"reverse: the related name is NULL", REVERSE(H_ANN, NULL), FAILS(EINVAL, "the related name")},
    {"check: the store is NULL", .op = OP_CHECK, .no_db = true, FAILS(EINVAL, "the store")},
    {"open: OUT is NULL", .op = OP_OPEN, .no_out = true, FAILS(EINVAL, "OUT")},
    {"open: the schema is NULL", .op = OP_OPEN, .no_schema = true, FAILS(EINVAL, "the schema")},
    {"open: read-only, of a file that does not exist", .op = OP_OPEN,
     .path = "/nonexistent-relstore-dir/missing.db", .flags = STORE_OPEN_READONLY,
     FAILS(EINVAL, "/nonexistent-relstore-dir/missing.db")},
    {"open: unknown flags", .op = OP_OPEN, .flags = 1u << 7, FAILS(EINVAL, "flags")},
    {"schema_new: OUT is NULL", .op = OP_SCHEMA_NEW, FAILS(EINVAL, "OUT")},
    {"schema_add: the schema is NULL", .no_schema = true,
     ADD("Tag", {.name = "x", .type = STORE_INT}), FAILS(EINVAL, "the schema")},
    {"schema_add: the model name is NULL", ADD(NULL, {.name = "x", .type = STORE_INT}),
     FAILS(EINVAL, "the model name")},
    {"schema_add: the field list is NULL", .op = OP_SCHEMA_ADD, .arg = "Tag",
     FAILS(EINVAL, "the field list")},

    /* Unknown names. */
    {"create: an unknown field",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("nickname", 1)),
     FAILS(EINVAL, "nickname")},
    {"create: the implicit id cannot be set",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("id", 99)), FAILS(EINVAL, "\"id\"")},
    {"create: an empty field name", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("", 1)),
     FAILS(EINVAL, "\"\"")},
    {"create: a field of another model", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("email", "x@y")),
     FAILS(EINVAL, "email")},
    {"create: field names are case-sensitive", CREATE(H_AUTHOR, STORE_V_STR("Name", "N")),
     FAILS(EINVAL, "Name")},
    {"update: an unknown field after a good one",
     UPDATE(H_ANN, STORE_V_INT("age", 41), STORE_V_INT("shoe_size", 9)),
     FAILS(EINVAL, "shoe_size")},
    {"update: a relation name is not a field", UPDATE(H_ANN, STORE_V_REF("books", REF(H_BOOK3))),
     FAILS(EINVAL, "books")},
    {"get_by: an unknown field", GET_BY(H_AUTHOR, "nickname", STORE_V_STR("", "Ann")),
     FAILS(EINVAL, "nickname")},
    {"get_by: a field with no index", GET_BY(H_BOOK, "title", STORE_V_STR("", "Dune")),
     FAILS(EINVAL, "Book.title")},
    {"get_by: an INT with no index", GET_BY(H_AUTHOR, "age", STORE_V_INT("", 40)),
     FAILS(EINVAL, "Author.age")},
    {"get_by: a FK with no index", GET_BY(H_BOOK, "author", STORE_V_REF("", REF(H_ANN))),
     FAILS(EINVAL, "Book.author")},
    {"reverse: an unknown related name", REVERSE(H_ANN, "novels"), FAILS(EINVAL, "novels")},
    {"reverse: a field name is not a relation", REVERSE(H_ANN, "name"), FAILS(EINVAL, "\"name\"")},
    {"reverse: a relation onto another model", REVERSE(H_ANN, "reviews"), FAILS(EINVAL, "reviews")},
    {"reverse: a child's own FK's relation", REVERSE(H_BOOK1, "books"), FAILS(EINVAL, "books")},
    {"reverse: related names are case-sensitive", REVERSE(H_ANN, "Books"), FAILS(EINVAL, "Books")},

    /* Queries: each way a term, an order, a run or a change by query can be wrong. */
    {"find: an unknown field", FIND(H_BOOK, STORE_V_STR("colour", "red")), FAILS(EINVAL, "colour")},
    {"find: an unknown lookup", FIND(H_BOOK, STORE_V_STR("title__like", "x")),
     FAILS(EINVAL, "title__like")},
    {"find: a lookup after a lookup", FIND(H_BOOK, STORE_V_INT("pages__gt__lt", 1)),
     FAILS(EINVAL, "pages__gt__lt")},
    {"find: a value of the wrong kind", FIND(H_BOOK, STORE_V_STR("pages", "ten")),
     FAILS(EINVAL, "pages")},
    {"find: a string lookup on an INT", FIND(H_BOOK, STORE_V_STR("pages__contains", "1")),
     FAILS(EINVAL, "pages__contains")},
    {"find: an ordering lookup on a BOOL", FIND(H_AUTHOR, STORE_V_BOOL("active__lt", true)),
     FAILS(EINVAL, "active__lt")},
    {"find: an ordering lookup on a foreign key",
     FIND(H_BOOK, STORE_V_REF("author__gt", REF(H_ANN))), FAILS(EINVAL, "author__gt")},
    {"find: a reference to another model", FIND(H_BOOK, STORE_V_REF("author", REF(H_BOOK1))),
     FAILS(EINVAL, "author")},
    {"find: in without a list", FIND(H_BOOK, STORE_V_INT("id__in", 1)), FAILS(EINVAL, "id__in")},
    {"find: a list for equality", FIND(H_BOOK, STORE_V_LIST("id", (store_value[]){{0}})),
     FAILS(EINVAL, "id")},
    {"find: range of one", FIND(H_BOOK, STORE_V_LIST("pages__range",
                                                     (store_value[]){STORE_V_INT(NULL, 1), {0}})),
     FAILS(EINVAL, "pages__range")},
    {"find: a null in a list", FIND(H_BOOK, STORE_V_LIST("pages__in",
                                                         (store_value[]){STORE_V_NULL(NULL), {0}})),
     FAILS(EINVAL, "pages__in")},
    {"find: isnull takes a BOOL", FIND(H_BOOK, STORE_V_INT("isbn__isnull", 1)),
     FAILS(EINVAL, "isbn__isnull")},
    {"find: null with gt", FIND(H_BOOK, STORE_V_NULL("pages__gt")), FAILS(EINVAL, "pages__gt")},
    {"find: NaN", FIND(H_AUTHOR, STORE_V_FLOAT("rating", NAN)), FAILS(EINVAL, "rating")},
    {"find: a reverse relation without a field", FIND(H_AUTHOR, STORE_V_INT("books", 1)),
     FAILS(EINVAL, "books")},
    {"find: a path past a plain field", FIND(H_BOOK, STORE_V_STR("title__name", "x")),
     FAILS(EINVAL, "title__name")},
    {"find: an empty name", FIND(H_BOOK, STORE_V_STR("", "x")), FAILS(EINVAL, "not a path")},
    {"find: an order through a reverse relation", FIND(H_AUTHOR, STORE_V_INT("id__gt", 0)),
     .arg = "books__title", FAILS(EINVAL, "books__title")},
    {"find: an order by an unknown field", FIND(H_BOOK, STORE_V_INT("id__gt", 0)),
     .arg = "-colour", FAILS(EINVAL, "colour")},
    {"find: a parameter without a bind", FIND(H_BOOK, STORE_V_PARAM("title", "t")),
     FAILS(EINVAL, "\"t\"")},
    {"find: a model of another store", FIND(H_X_AUTHOR, STORE_V_STR("name", "Ann")),
     FAILS(EINVAL, "not of this store")},
    {"find: every edge accepted",
     FIND(H_BOOK, STORE_V_LIST("id__not_in", (store_value[]){{0}}),
          STORE_V_STR("title__icontains", ""), STORE_V_NULL("editor"),
          STORE_V_INT("reviews__count__gte", 0)),
     .arg = "-author__name", OK},
    {"update by query: an unknown field", QUPDATE(H_BOOK, STORE_V_INT("colour", 1)),
     FAILS(EINVAL, "colour")},
    {"update by query: a unique value for many", QUPDATE(H_BOOK, STORE_V_STR("isbn", "0000")),
     FAILS(ECONSTRAINT, "isbn")},
    {"update by query: a value that does not fit", QUPDATE(H_BOOK, STORE_V_STR("title", a256)),
     FAILS(EINVAL, "title")},
    {"update by query: a parent of another store",
     QUPDATE(H_BOOK, STORE_V_REF("author", REF(H_X_ANN))), FAILS(EINVAL, "author")},
    {"delete by query: a RESTRICT child outside",
     QDELETE(H_BOOK, STORE_V_REF("author", REF(H_ANN))), FAILS(ECONSTRAINT, "RESTRICT")},
    {"delete by query: a bad term", QDELETE(H_BOOK, STORE_V_STR("pages__startswith", "1")),
     FAILS(EINVAL, "pages__startswith")},
    {"get: an id never given", GET(H_AUTHOR, 999), FAILS(ENOTFOUND, "Author 999")},
    {"get: id 0", GET(H_AUTHOR, 0), FAILS(ENOTFOUND, "Author 0")},
    {"get: the largest id", GET(H_BOOK, UINT64_MAX), FAILS(ENOTFOUND, "Book 18446744073709551615")},
    {"get: the id of a deleted object", GET(H_AUTHOR, 4), FAILS(ENOTFOUND, "Author 4")},
    {"get_by: a value no object holds", GET_BY(H_AUTHOR, "email", STORE_V_STR("", "no@one")),
     FAILS(ENOTFOUND, "Author.email")},
    {"get_by: null matches nothing", GET_BY(H_AUTHOR, "email", STORE_V_NULL("")),
     FAILS(ENOTFOUND, "Author.email")},
    {"get_by: a NULL string matches nothing", GET_BY(H_BOOK, "isbn", STORE_V_STR("", NULL)),
     FAILS(ENOTFOUND, "Book.isbn")},
    {"get_by: an indexed value is found", GET_BY(H_AUTHOR, "name", STORE_V_STR("", "Ann")), OK},

    /* Transactions: each handle and flag that is wrong, and calls inside a transaction. */
    {"begin: the store is NULL", .no_db = true, BEGIN(0), FAILS(EINVAL, "the store")},
    {"begin: OUT is NULL", BEGIN(0), .no_out = true, FAILS(EINVAL, "OUT")},
    {"begin: an unknown flag", BEGIN(1u << 3), FAILS(EINVAL, "flags")},
    {"begin: every flag bit", BEGIN(~0u), FAILS(EINVAL, "flags")},
    {"begin: a read-only level inside a write transaction", BEGIN(STORE_TXN_READONLY),
     .in = IN_WRITE, FAILS(EINVAL, "read-only transaction inside a write")},
    {"begin: a write level inside a read-only transaction", BEGIN(0), .in = IN_READONLY,
     FAILS(EINVAL, "write transaction inside a read-only")},
    {"begin: a write transaction", BEGIN(0), OK},
    {"begin: a read-only transaction", BEGIN(STORE_TXN_READONLY), OK},
    {"begin: a read-only level inside a read-only one", BEGIN(STORE_TXN_READONLY),
     .in = IN_READONLY, OK},
    {"begin: a savepoint inside a savepoint", BEGIN(0), .in = IN_SAVEPOINT, OK},
    {"commit: the transaction is NULL", COMMIT(H_NULL), FAILS(EINVAL, "the transaction")},
    {"commit: the outer level while a savepoint is open", COMMIT(H_OUTER_TXN), .in = IN_SAVEPOINT,
     FAILS(EINVAL, "innermost")},
    {"commit: a transaction of another thread", COMMIT(H_TXN), .in = IN_OTHER_THREAD,
     FAILS(EINVAL, "this thread")},
    {"commit: the innermost level", COMMIT(H_TXN), .in = IN_SAVEPOINT, OK},
    {"commit: a read-only transaction", COMMIT(H_TXN), .in = IN_READONLY, OK},
    {"rollback: the transaction is NULL", ROLLBACK(H_NULL), FAILS(EINVAL, "the transaction")},
    {"rollback: the outer level while a savepoint is open", ROLLBACK(H_OUTER_TXN),
     .in = IN_SAVEPOINT, FAILS(EINVAL, "innermost")},
    {"rollback: a transaction of another thread", ROLLBACK(H_TXN), .in = IN_OTHER_THREAD,
     FAILS(EINVAL, "this thread")},
    {"rollback: the only level", ROLLBACK(H_TXN), .in = IN_WRITE, OK},
    {"atomic: FN is NULL", ATOMIC(NULL, {0}), FAILS(EINVAL, "FN")},
    {"atomic: the store is NULL", .no_db = true, ATOMIC(create_two, STORE_V_STR("name", "N")),
     FAILS(EINVAL, "the store")},
    {"atomic: FN's second create fails, so its first is undone",
     ATOMIC(create_two, STORE_V_STR("name", "N"), STORE_V_STR("age", "40")),
     FAILS(EINVAL, "Author.age")},
    {"atomic: a failing FN inside a write transaction undoes only its own",
     ATOMIC(create_two, STORE_V_STR("name", "N"), STORE_V_STR("age", "40")), .in = IN_WRITE,
     FAILS(EINVAL, "Author.age")},
    {"atomic: inside a read-only transaction", ATOMIC(create_two, STORE_V_STR("name", "N")),
     .in = IN_READONLY, FAILS(EINVAL, "write transaction inside a read-only")},
    {"atomic: FN's two creates are kept", ATOMIC(create_two, STORE_V_STR("name", "N")), OK},
    {"atomic_async: FN is NULL", ATOMIC_ASYNC(NULL, {0}), FAILS(EINVAL, "FN")},
    {"atomic_async: the store is NULL", .no_db = true,
     ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N")), FAILS(EINVAL, "the store")},
    {"atomic_async: the loop is NULL", ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N")),
     .arg = "loop", FAILS(EINVAL, "the loop")},
    {"atomic_async: the request is NULL", ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N")),
     .arg = "req", FAILS(EINVAL, "the request")},
    {"atomic_async: the callback is NULL", ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N")),
     .arg = "cb", FAILS(EINVAL, "the callback")},
    {"atomic_async: FN's second create fails, so its first is undone",
     ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N"), STORE_V_STR("age", "40")),
     FAILS(EINVAL, "Author.age")},
    {"atomic_async: FN's two creates are kept", ATOMIC_ASYNC(create_two, STORE_V_STR("name", "N")),
     OK},
    {"create: inside a read-only transaction", CREATE(H_AUTHOR, STORE_V_STR("name", "N")),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},
    {"update: inside a read-only transaction", UPDATE(H_ANN, STORE_V_INT("age", 1)),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},
    {"delete: inside a read-only transaction", DELETE(H_CAT), .in = IN_READONLY,
     FAILS(EINVAL, "read-only transaction")},
    {"update by query: inside a read-only transaction", QUPDATE(H_BOOK, STORE_V_INT("pages", 1)),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},
    {"create: a bad value inside a write transaction",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("age", "40")), .in = IN_WRITE,
     FAILS(EINVAL, "Author.age")},
    {"update: a unique value taken, inside a savepoint",
     UPDATE(H_BOB, STORE_V_INT("age", 50), STORE_V_STR("email", "ann@example.org")),
     .in = IN_SAVEPOINT, FAILS(ECONSTRAINT, "Author.email")},
    {"delete: a cascade meets RESTRICT inside a write transaction", DELETE(H_ANN), .in = IN_WRITE,
     FAILS(ECONSTRAINT, "Loan.book")},
    {"delete by query: a RESTRICT child inside a savepoint",
     QDELETE(H_BOOK, STORE_V_REF("author", REF(H_ANN))), .in = IN_SAVEPOINT,
     FAILS(ECONSTRAINT, "RESTRICT")},
    {"get_by: inside a read-only transaction", GET_BY(H_AUTHOR, "name", STORE_V_STR("", "Ann")),
     .in = IN_READONLY, OK},
    {"create: inside a savepoint", CREATE(H_AUTHOR, STORE_V_STR("name", "N")), .in = IN_SAVEPOINT,
     OK},

    /* store_get_or_create() and store_update_or_create(): LOOKUP, DEFAULTS and what matches. */
    {"get_or_create: the store is NULL", .no_db = true,
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), FAILS(EINVAL, "the store")},
    {"get_or_create: the model is NULL", GET_OR_CREATE(H_NULL, STORE_V_STR("name", "Ann")),
     FAILS(EINVAL, "the model")},
    {"get_or_create: a model of another store",
     GET_OR_CREATE(H_X_AUTHOR, STORE_V_STR("name", "Ann")), FAILS(EINVAL, "not of this store")},
    {"get_or_create: LOOKUP is NULL", GET_OR_CREATE(H_AUTHOR, {0}), .no_list = true,
     FAILS(EINVAL, "LOOKUP")},
    {"get_or_create: OUT is NULL", GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")),
     .no_out = true, FAILS(EINVAL, "OUT")},
    {"get_or_create: a lookup in LOOKUP",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name__startswith", "A")),
     FAILS(EINVAL, "name__startswith")},
    {"get_or_create: exact is a lookup too",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name__exact", "Ann")), FAILS(EINVAL, "name__exact")},
    {"get_or_create: a path through a foreign key",
     GET_OR_CREATE(H_BOOK, STORE_V_STR("author__name", "Ann")), FAILS(EINVAL, "author__name")},
    {"get_or_create: an unknown field", GET_OR_CREATE(H_AUTHOR, STORE_V_STR("nickname", "A")),
     FAILS(EINVAL, "nickname")},
    {"get_or_create: a value of the wrong kind", GET_OR_CREATE(H_AUTHOR, STORE_V_INT("name", 1)),
     FAILS(EINVAL, "name")},
    {"get_or_create: a parent of another store",
     GET_OR_CREATE(H_BOOK, STORE_V_STR("title", "Dune"), STORE_V_REF("author", REF(H_X_ANN))),
     FAILS(EINVAL, "author")},
    {"get_or_create: two Books match", GET_OR_CREATE(H_BOOK, STORE_V_REF("author", REF(H_ANN))),
     FAILS(EMULTIPLE, "more than one")},
    {"get_or_create: an empty LOOKUP matches every Author", GET_OR_CREATE(H_AUTHOR, {0}),
     FAILS(EMULTIPLE, "more than one")},
    {"get_or_create: a create with a unique value taken",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "New")),
     DEFAULTS(STORE_V_STR("email", "ann@example.org")), FAILS(ECONSTRAINT, "Author.email")},
    {"get_or_create: a create missing a required field",
     GET_OR_CREATE(H_BOOK, STORE_V_STR("title", "New")), FAILS(EINVAL, "Book.author")},
    {"get_or_create: a create whose default does not fit",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "New")), DEFAULTS(STORE_V_STR("email", a65)),
     FAILS(EINVAL, "Author.email")},
    {"get_or_create: a default replacing a lookup value with a bad one",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "New")), DEFAULTS(STORE_V_INT("name", 1)),
     FAILS(EINVAL, "Author.name")},
    {"get_or_create: a create to a deleted Author",
     GET_OR_CREATE(H_BOOK, STORE_V_STR("title", "New"), STORE_V_REF("author", REF(H_DEAD_AUTHOR))),
     FAILS(ECONSTRAINT, "Book.author")},
    {"get_or_create: an id no object holds is not created",
     GET_OR_CREATE(H_AUTHOR, STORE_V_INT("id", 999), STORE_V_STR("name", "New")),
     FAILS(EINVAL, "\"id\"")},
    {"get_or_create: inside a read-only transaction",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), .in = IN_READONLY,
     FAILS(EINVAL, "read-only transaction")},
    {"get_or_create: a failed create inside a savepoint",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "New")),
     DEFAULTS(STORE_V_STR("email", "bob@example.org")), .in = IN_SAVEPOINT,
     FAILS(ECONSTRAINT, "Author.email")},
    {"get_or_create: finds the one match, defaults unused",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("email", "bob@example.org")),
     DEFAULTS(STORE_V_INT("age", 3)), OK},
    {"get_or_create: creates when nothing matches",
     GET_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Dee")), DEFAULTS(STORE_V_INT("age", 3)), OK},
    {"get_or_create: an empty LOOKUP finds the only Loan", GET_OR_CREATE(H_LOAN, {0}), OK},
    {"update_or_create: the store is NULL", .no_db = true,
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), FAILS(EINVAL, "the store")},
    {"update_or_create: the model is NULL", UPDATE_OR_CREATE(H_NULL, STORE_V_STR("name", "Ann")),
     FAILS(EINVAL, "the model")},
    {"update_or_create: a model of another store",
     UPDATE_OR_CREATE(H_X_AUTHOR, STORE_V_STR("name", "Ann")), FAILS(EINVAL, "not of this store")},
    {"update_or_create: LOOKUP is NULL", UPDATE_OR_CREATE(H_AUTHOR, {0}), .no_list = true,
     FAILS(EINVAL, "LOOKUP")},
    {"update_or_create: OUT is NULL", UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")),
     DEFAULTS(STORE_V_INT("age", 41)), .no_out = true, FAILS(EINVAL, "OUT")},
    {"update_or_create: a lookup in LOOKUP", UPDATE_OR_CREATE(H_BOOK, STORE_V_INT("pages__gte", 0)),
     FAILS(EINVAL, "pages__gte")},
    {"update_or_create: an unknown field", UPDATE_OR_CREATE(H_BOOK, STORE_V_STR("colour", "red")),
     FAILS(EINVAL, "colour")},
    {"update_or_create: two Books match, neither updated",
     UPDATE_OR_CREATE(H_BOOK, STORE_V_REF("author", REF(H_ANN))), DEFAULTS(STORE_V_INT("pages", 1)),
     FAILS(EMULTIPLE, "more than one")},
    {"update_or_create: the one found given a value of the wrong kind",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), DEFAULTS(STORE_V_STR("age", "41")),
     FAILS(EINVAL, "Author.age")},
    {"update_or_create: the one found given another's unique value",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Bob")),
     DEFAULTS(STORE_V_INT("age", 50), STORE_V_STR("email", "ann@example.org")),
     FAILS(ECONSTRAINT, "Author.email")},
    {"update_or_create: a good default, then an unknown one",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")),
     DEFAULTS(STORE_V_INT("age", 41), STORE_V_INT("shoe_size", 9)), FAILS(EINVAL, "shoe_size")},
    {"update_or_create: the one found moved to a deleted Author",
     UPDATE_OR_CREATE(H_BOOK, STORE_V_STR("title", "Emma")),
     DEFAULTS(STORE_V_REF("author", REF(H_DEAD_AUTHOR))), FAILS(ECONSTRAINT, "Book.author")},
    {"update_or_create: a create with a unique value taken",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "New")),
     DEFAULTS(STORE_V_STR("email", "ann@example.org")), FAILS(ECONSTRAINT, "Author.email")},
    {"update_or_create: a bad default inside a write transaction",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")),
     DEFAULTS(STORE_V_INT("age", 41), STORE_V_NULL("name")), .in = IN_WRITE,
     FAILS(EINVAL, "Author.name")},
    {"update_or_create: inside a read-only transaction",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), DEFAULTS(STORE_V_INT("age", 41)),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},
    {"update_or_create: finds the one match and updates it",
     UPDATE_OR_CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), DEFAULTS(STORE_V_INT("age", 41)), OK},
    {"update_or_create: finds the one match, no DEFAULTS",
     UPDATE_OR_CREATE(H_BOOK, STORE_V_STR("title", "Emma")), OK},

    /* store_create_many(): ROWS, each row, and rows that clash with each other. */
    {"create_many: the store is NULL", .no_db = true,
     MANY(H_AUTHOR, LIST(STORE_V_STR("name", "N"))), FAILS(EINVAL, "the store")},
    {"create_many: the model is NULL", MANY(H_NULL, LIST(STORE_V_STR("name", "N"))),
     FAILS(EINVAL, "the model")},
    {"create_many: a model of another store", MANY(H_X_AUTHOR, LIST(STORE_V_STR("name", "N"))),
     FAILS(EINVAL, "not of this store")},
    {"create_many: ROWS is NULL for 2 rows", .op = OP_CREATE_MANY, .h = H_AUTHOR, .n = 2,
     FAILS(EINVAL, "ROWS")},
    {"create_many: row 1 is NULL", MANY(H_AUTHOR, LIST(STORE_V_STR("name", "N")), NULL),
     FAILS(EINVAL, "row 1")},
    {"create_many: a bad value in row 2",
     MANY(H_AUTHOR, LIST(STORE_V_STR("name", "A")), LIST(STORE_V_STR("name", "B")),
          LIST(STORE_V_STR("name", "C"), STORE_V_STR("age", "40"))),
     FAILS(EINVAL, "row 2: Author.age")},
    {"create_many: a unique value repeated in rows 0 and 1",
     MANY(H_AUTHOR, LIST(STORE_V_STR("name", "A"), STORE_V_STR("email", "same@example.org")),
          LIST(STORE_V_STR("name", "B"), STORE_V_STR("email", "same@example.org"))),
     FAILS(ECONSTRAINT, "row 1: Author.email")},
    {"create_many: row 0 takes a stored unique value",
     MANY(H_BOOK, LIST(BOOK_OK, STORE_V_STR("isbn", "9780441013593"))),
     FAILS(ECONSTRAINT, "row 0: Book.isbn")},
    {"create_many: row 1 names a parent of another store",
     MANY(H_BOOK, LIST(BOOK_OK),
          LIST(STORE_V_STR("title", "T"), STORE_V_REF("author", REF(H_X_ANN)))),
     FAILS(EINVAL, "row 1: Book.author")},
    {"create_many: row 1 names a deleted parent",
     MANY(H_REVIEW, LIST(REVIEW_OK),
          LIST(STORE_V_REF("book", REF(H_DEAD_BOOK)), STORE_V_STR("body", "b"))),
     FAILS(ECONSTRAINT, "row 1: Review.book")},
    {"create_many: a bad row 2 inside a write transaction",
     MANY(H_AUTHOR, LIST(STORE_V_STR("name", "A")), LIST(STORE_V_STR("name", "B")),
          LIST(STORE_V_STR("name", "C"), STORE_V_INT("nickname", 1))),
     .in = IN_WRITE, FAILS(EINVAL, "row 2: Author")},
    {"create_many: inside a read-only transaction", MANY(H_AUTHOR, LIST(STORE_V_STR("name", "N"))),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},
    {"create_many: no rows", .op = OP_CREATE_MANY, .h = H_AUTHOR,
     .rows = (const store_value *const[]){NULL}, OK},
    {"create_many: ROWS may be NULL for no rows", .op = OP_CREATE_MANY, .h = H_AUTHOR, OK},
    {"create_many: three rows",
     MANY(H_BOOK, LIST(BOOK_OK), LIST(BOOK_OK, STORE_V_STR("isbn", "1")),
          LIST(STORE_V_STR("title", "U"), STORE_V_REF("author", REF(H_CAT)))),
     OK},
    {"create_many: OUT may be NULL",
     MANY(H_AUTHOR, LIST(STORE_V_STR("name", "A")), LIST(STORE_V_STR("name", "B"))), .no_out = true,
     OK},

    /* Each wrong value kind for each field type, on create. */
    {"CHAR given an INT", CREATE(H_AUTHOR, STORE_V_INT("name", 7)), FAILS(EINVAL, "Author.name")},
    {"CHAR given a FLOAT", CREATE(H_AUTHOR, STORE_V_FLOAT("name", 7.5)),
     FAILS(EINVAL, "Author.name")},
    {"CHAR given a BOOL", CREATE(H_AUTHOR, STORE_V_BOOL("name", true)),
     FAILS(EINVAL, "Author.name")},
    {"CHAR given a REF", CREATE(H_AUTHOR, STORE_V_REF("name", REF(H_BOB))),
     FAILS(EINVAL, "Author.name")},
    {"TEXT given an INT",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_INT("body", 1)),
     FAILS(EINVAL, "Review.body")},
    {"TEXT given a FLOAT",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_FLOAT("body", 1.0)),
     FAILS(EINVAL, "Review.body")},
    {"TEXT given a BOOL",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_BOOL("body", false)),
     FAILS(EINVAL, "Review.body")},
    {"TEXT given a REF",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_REF("body", REF(H_BOOK2))),
     FAILS(EINVAL, "Review.body")},
    {"INT given a STR", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("age", "40")),
     FAILS(EINVAL, "Author.age")},
    {"INT given a FLOAT", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("age", 40.0)),
     FAILS(EINVAL, "Author.age")},
    {"INT given a BOOL", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_BOOL("age", true)),
     FAILS(EINVAL, "Author.age")},
    {"INT given a REF", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_REF("age", REF(H_ANN))),
     FAILS(EINVAL, "Author.age")},
    {"FLOAT given a STR", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("rating", "1")),
     FAILS(EINVAL, "Author.rating")},
    {"FLOAT given an INT", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("rating", 1)),
     FAILS(EINVAL, "Author.rating")},
    {"FLOAT given a BOOL", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_BOOL("rating", true)),
     FAILS(EINVAL, "Author.rating")},
    {"FLOAT given a REF",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_REF("rating", REF(H_ANN))),
     FAILS(EINVAL, "Author.rating")},
    {"BOOL given a STR", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("active", "yes")),
     FAILS(EINVAL, "Author.active")},
    {"BOOL given an INT", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("active", 1)),
     FAILS(EINVAL, "Author.active")},
    {"BOOL given a FLOAT", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("active", 1.0)),
     FAILS(EINVAL, "Author.active")},
    {"BOOL given a REF",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_REF("active", REF(H_ANN))),
     FAILS(EINVAL, "Author.active")},
    {"FK given a STR", CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_STR("author", "Ann")),
     FAILS(EINVAL, "Book.author")},
    {"FK given an INT id", CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_INT("author", 1)),
     FAILS(EINVAL, "Book.author")},
    {"FK given a FLOAT", CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_FLOAT("author", 1)),
     FAILS(EINVAL, "Book.author")},
    {"FK given a BOOL", CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_BOOL("author", true)),
     FAILS(EINVAL, "Book.author")},
    {"an unknown kind (99)", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), KIND("age", 99)),
     FAILS(EINVAL, "Author.age")},
    {"an unknown kind into a CHAR", CREATE(H_AUTHOR, KIND("name", 99)),
     FAILS(EINVAL, "Author.name")},
    {"kind NONE with a name",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), KIND("rating", STORE_KIND_NONE)),
     FAILS(EINVAL, "Author.rating")},
    {"a negative kind", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), KIND("active", -1)),
     FAILS(EINVAL, "Author.active")},
    {"update: CHAR given an INT", UPDATE(H_ANN, STORE_V_INT("name", 1)),
     FAILS(EINVAL, "Author.name")},
    {"update: INT given a STR", UPDATE(H_BOOK1, STORE_V_STR("pages", "300")),
     FAILS(EINVAL, "Book.pages")},
    {"update: FK given a BOOL", UPDATE(H_BOOK1, STORE_V_BOOL("author", true)),
     FAILS(EINVAL, "Book.author")},
    {"update: nullable FK given a STR", UPDATE(H_BOOK1, STORE_V_STR("editor", "Bob")),
     FAILS(EINVAL, "Book.editor")},
    {"update: FLOAT given an INT", UPDATE(H_ANN, STORE_V_INT("rating", 5)),
     FAILS(EINVAL, "Author.rating")},
    {"update: an unknown kind", UPDATE(H_ANN, KIND("active", 99)), FAILS(EINVAL, "Author.active")},
    {"get_by: CHAR given an INT", GET_BY(H_AUTHOR, "name", STORE_V_INT("", 1)),
     FAILS(EINVAL, "Author.name")},
    {"get_by: CHAR given a BOOL", GET_BY(H_AUTHOR, "email", STORE_V_BOOL("", true)),
     FAILS(EINVAL, "Author.email")},
    {"get_by: CHAR given a REF", GET_BY(H_BOOK, "isbn", STORE_V_REF("", REF(H_ANN))),
     FAILS(EINVAL, "Book.isbn")},
    {"get_by: an unknown kind", GET_BY(H_AUTHOR, "name", KIND("", 99)),
     FAILS(EINVAL, "Author.name")},
    {"FK to a Book where an Author is wanted",
     CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_REF("author", REF(H_BOOK1))),
     FAILS(EINVAL, "Book.author")},
    {"nullable FK to a Review", CREATE(H_BOOK, BOOK_OK, STORE_V_REF("editor", REF(H_REVIEW1))),
     FAILS(EINVAL, "Book.editor")},
    {"Review.book to an Author",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_ANN)), STORE_V_STR("body", "b")),
     FAILS(EINVAL, "Review.book")},
    {"Loan.book to a Loan",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_LOAN1)), STORE_V_STR("who", "w")),
     FAILS(EINVAL, "Loan.book")},
    {"update: FK moved to a Book", UPDATE(H_BOOK1, STORE_V_REF("author", REF(H_BOOK2))),
     FAILS(EINVAL, "Book.author")},
    {"FK to an Author of another store",
     CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_REF("author", REF(H_X_ANN))),
     FAILS(EINVAL, "Book.author")},
    {"update: FK moved to another store", UPDATE(H_BOOK2, STORE_V_REF("editor", REF(H_X_ANN))),
     FAILS(EINVAL, "Book.editor")},

    /* Strings at max_length (characters, not bytes) and one past it. */
    {"CHAR(255): 255 ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", a255)), OK},
    {"CHAR(255): 256 ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", a256)),
     FAILS(EINVAL, "Author.name")},
    {"CHAR(255): 255 two-byte chars", CREATE(H_AUTHOR, STORE_V_STR("name", e255)), OK},
    {"CHAR(255): 256 two-byte chars", CREATE(H_AUTHOR, STORE_V_STR("name", e256)),
     FAILS(EINVAL, "Author.name")},
    {"CHAR(255): 255 three-byte chars",
     CREATE(H_BOOK, STORE_V_STR("title", cjk255), STORE_V_REF("author", REF(H_CAT))), OK},
    {"CHAR(255): 255 four-byte chars", CREATE(H_AUTHOR, STORE_V_STR("name", emoji255)), OK},
    {"CHAR(255): 256 four-byte chars", CREATE(H_AUTHOR, STORE_V_STR("name", emoji256)),
     FAILS(EINVAL, "Author.name")},
    {"CHAR(13): 13 ASCII", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", a13)), OK},
    {"CHAR(13): 14 ASCII", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", a14)),
     FAILS(EINVAL, "Book.isbn")},
    {"CHAR(13): 13 two-byte chars", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", e13)), OK},
    {"CHAR(13): 14 two-byte chars", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", e14)),
     FAILS(EINVAL, "Book.isbn")},
    {"CHAR(13): 13 four-byte chars", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", emoji13)), OK},
    {"CHAR(13): 14 four-byte chars", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", emoji14)),
     FAILS(EINVAL, "Book.isbn")},
    {"CHAR(13): 12 ASCII and one emoji", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", a12emoji)),
     OK},
    {"CHAR(13): 13 ASCII and one e-acute", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", a13e)),
     FAILS(EINVAL, "Book.isbn")},
    {"CHAR(32): 32 ASCII",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("who", a32)), OK},
    {"CHAR(32): 33 ASCII",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("who", a33)),
     FAILS(EINVAL, "Loan.who")},
    {"CHAR(32): 32 three-byte chars",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("who", cjk32)), OK},
    {"CHAR(32): 33 three-byte chars",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("who", cjk33)),
     FAILS(EINVAL, "Loan.who")},
    {"CHAR(64): 64 ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("email", a64)),
     OK},
    {"CHAR(64): 65 ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("email", a65)),
     FAILS(EINVAL, "Author.email")},
    {"CHAR: the empty string", CREATE(H_AUTHOR, STORE_V_STR("name", "")), OK},
    {"TEXT: 10,000 characters",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("body", text10k)), OK},
    {"update: CHAR(255) given 256", UPDATE(H_BOOK1, STORE_V_STR("title", a256)),
     FAILS(EINVAL, "Book.title")},
    {"update: CHAR(32) given 33 three-byte chars", UPDATE(H_LOAN1, STORE_V_STR("who", cjk33)),
     FAILS(EINVAL, "Loan.who")},
    {"update: CHAR(13) given 14 two-byte chars", UPDATE(H_BOOK2, STORE_V_STR("isbn", e14)),
     FAILS(EINVAL, "Book.isbn")},
    {"update: CHAR(13) given 13 two-byte chars", UPDATE(H_BOOK2, STORE_V_STR("isbn", e13)), OK},

    /* Strings that are not UTF-8, and the edges of what is. */
    {"UTF-8: a lone continuation byte", CREATE(H_AUTHOR, STORE_V_STR("name", "\x80")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: a continuation byte mid-string",
     CREATE(H_AUTHOR, STORE_V_STR("name", "ab\xbf"
                                          "cd")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: overlong '/' in two bytes", CREATE(H_AUTHOR, STORE_V_STR("name", "\xc0\xaf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: overlong U+007F in two bytes", CREATE(H_AUTHOR, STORE_V_STR("name", "\xc1\xbf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: overlong '/' in three bytes", CREATE(H_AUTHOR, STORE_V_STR("name", "\xe0\x80\xaf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: overlong '/' in four bytes", CREATE(H_AUTHOR, STORE_V_STR("name", "\xf0\x80\x80\xaf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: surrogate U+D800", CREATE(H_AUTHOR, STORE_V_STR("name", "\xed\xa0\x80")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: surrogate U+DFFF", CREATE(H_AUTHOR, STORE_V_STR("name", "\xed\xbf\xbf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: two bytes cut at the end", CREATE(H_AUTHOR, STORE_V_STR("name", "abc\xc3")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: three bytes cut at the end", CREATE(H_AUTHOR, STORE_V_STR("name", "\xe2\x82")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: four bytes cut at the end", CREATE(H_AUTHOR, STORE_V_STR("name", "\xf0\x9f\x98")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: a sequence cut by ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", "\xe2\x82x")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: lead byte 0xF5", CREATE(H_AUTHOR, STORE_V_STR("name", "\xf5\x80\x80\x80")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: byte 0xFF", CREATE(H_AUTHOR, STORE_V_STR("name", "ok\xff")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: U+110000", CREATE(H_AUTHOR, STORE_V_STR("name", "\xf4\x90\x80\x80")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: U+10FFFF is fine", CREATE(H_AUTHOR, STORE_V_STR("name", "\xf4\x8f\xbf\xbf")), OK},
    {"UTF-8: U+D7FF is fine", CREATE(H_AUTHOR, STORE_V_STR("name", "\xed\x9f\xbf")), OK},
    {"UTF-8: U+E000 is fine", CREATE(H_AUTHOR, STORE_V_STR("name", "\xee\x80\x80")), OK},
    {"UTF-8: U+0080 is fine", CREATE(H_AUTHOR, STORE_V_STR("name", "\xc2\x80")), OK},
    /* The last bytes of a string of 8 or more are read as one word when they are ASCII. */
    {"UTF-8: a lone continuation after 10 ASCII",
     CREATE(H_AUTHOR, STORE_V_STR("name", "abcdefghij\x80")), FAILS(EINVAL, "Author.name")},
    {"UTF-8: an overlong form after 8 ASCII",
     CREATE(H_AUTHOR, STORE_V_STR("name", "abcdefgh\xc0\xaf")), FAILS(EINVAL, "Author.name")},
    {"UTF-8: two bytes cut after 9 ASCII", CREATE(H_AUTHOR, STORE_V_STR("name", "abcdefghi\xc3")),
     FAILS(EINVAL, "Author.name")},
    {"CHAR(13): 9 ASCII, an e-acute, 3 ASCII",
     CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", "abcdefghi\xc3\xa9xyz")), OK},
    {"CHAR(13): 9 ASCII, an e-acute, 4 ASCII",
     CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", "abcdefghi\xc3\xa9wxyz")),
     FAILS(EINVAL, "Book.isbn")},
    {"CHAR(13): an e-acute, 12 ASCII",
     CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", "\xc3\xa9" "abcdefghijkl")), OK},
    {"CHAR(13): an e-acute, 13 ASCII",
     CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", "\xc3\xa9" "abcdefghijklm")),
     FAILS(EINVAL, "Book.isbn")},
    {"UTF-8: TEXT with a surrogate",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("body", "ok \xed\xa0\x80")),
     FAILS(EINVAL, "Review.body")},
    {"UTF-8: update with an overlong form", UPDATE(H_ANN, STORE_V_STR("name", "\xc0\xaf")),
     FAILS(EINVAL, "Author.name")},
    {"UTF-8: update with 0xFE", UPDATE(H_LOAN1, STORE_V_STR("who", "\xfe")),
     FAILS(EINVAL, "Loan.who")},
    {"UTF-8: get_by with a lone continuation", GET_BY(H_AUTHOR, "name", STORE_V_STR("", "\x80")),
     FAILS(EINVAL, "Author.name")},

    /* Missing required fields, nulls where null is not allowed, a field given twice. */
    {"required: Author.name missing", CREATE(H_AUTHOR, STORE_V_STR("email", "new@x")),
     FAILS(EINVAL, "Author.name")},
    {"required: an empty list", CREATE(H_AUTHOR, {0}), FAILS(EINVAL, "Author.name")},
    {"required: Book.title missing", CREATE(H_BOOK, STORE_V_REF("author", REF(H_ANN))),
     FAILS(EINVAL, "Book.title")},
    {"required: Book.author missing", CREATE(H_BOOK, STORE_V_STR("title", "T")),
     FAILS(EINVAL, "Book.author")},
    {"required: Review.body missing", CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2))),
     FAILS(EINVAL, "Review.body")},
    {"required: Loan.book missing", CREATE(H_LOAN, STORE_V_STR("who", "w")),
     FAILS(EINVAL, "Loan.book")},
    {"null: STORE_V_NULL into CHAR", CREATE(H_AUTHOR, STORE_V_NULL("name")),
     FAILS(EINVAL, "Author.name")},
    {"null: a NULL string into CHAR", CREATE(H_AUTHOR, STORE_V_STR("name", NULL)),
     FAILS(EINVAL, "Author.name")},
    {"null: a NULL string into TEXT",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_BOOK2)), STORE_V_STR("body", NULL)),
     FAILS(EINVAL, "Review.body")},
    {"null: STORE_V_NULL into FK",
     CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_NULL("author")),
     FAILS(EINVAL, "Book.author")},
    {"null: a NULL reference into FK",
     CREATE(H_LOAN, STORE_V_REF("book", NULL), STORE_V_STR("who", "w")),
     FAILS(EINVAL, "Loan.book")},
    {"null: into an INT with a default", CREATE(H_BOOK, BOOK_OK, STORE_V_NULL("pages")),
     FAILS(EINVAL, "Book.pages")},
    {"null: into a FLOAT with a default",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_NULL("rating")),
     FAILS(EINVAL, "Author.rating")},
    {"null: into a BOOL with a default",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_NULL("active")),
     FAILS(EINVAL, "Author.active")},
    {"null: update CHAR to null", UPDATE(H_ANN, STORE_V_NULL("name")),
     FAILS(EINVAL, "Author.name")},
    {"null: update CHAR to a NULL string", UPDATE(H_BOOK1, STORE_V_STR("title", NULL)),
     FAILS(EINVAL, "Book.title")},
    {"null: update FK to a NULL reference", UPDATE(H_BOOK1, STORE_V_REF("author", NULL)),
     FAILS(EINVAL, "Book.author")},
    {"null: update BOOL to null", UPDATE(H_ANN, STORE_V_NULL("active")),
     FAILS(EINVAL, "Author.active")},
    {"null: into nullable CHAR", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_NULL("email")),
     OK},
    {"null: a NULL string into nullable CHAR", CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", NULL)),
     OK},
    {"null: into nullable INT", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_NULL("age")),
     OK},
    {"null: a NULL reference into nullable FK",
     CREATE(H_BOOK, BOOK_OK, STORE_V_REF("editor", NULL)), OK},
    {"null: update nullable FK to null", UPDATE(H_BOOK1, STORE_V_NULL("editor")), OK},
    {"twice: the same field twice",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("name", "M")),
     FAILS(EINVAL, "Author.name")},
    {"twice: once good, once bad",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("age", 1), STORE_V_NULL("age")),
     FAILS(EINVAL, "Author.age")},
    {"twice: an FK twice", CREATE(H_BOOK, BOOK_OK, STORE_V_REF("author", REF(H_BOB))),
     FAILS(EINVAL, "Book.author")},
    {"twice: update a field twice",
     UPDATE(H_BOOK2, STORE_V_INT("pages", 1), STORE_V_INT("pages", 2)),
     FAILS(EINVAL, "Book.pages")},

    /* Dangling foreign keys, unique values, on_delete rules, deleted objects. */
    {"FK to a deleted Author",
     CREATE(H_BOOK, STORE_V_STR("title", "T"), STORE_V_REF("author", REF(H_DEAD_AUTHOR))),
     FAILS(ECONSTRAINT, "Book.author")},
    {"nullable FK to a deleted Author",
     CREATE(H_BOOK, BOOK_OK, STORE_V_REF("editor", REF(H_DEAD_AUTHOR))),
     FAILS(ECONSTRAINT, "Book.editor")},
    {"FK to a deleted Book",
     CREATE(H_REVIEW, STORE_V_REF("book", REF(H_DEAD_BOOK)), STORE_V_STR("body", "b")),
     FAILS(ECONSTRAINT, "Review.book")},
    {"RESTRICT FK to a deleted Book",
     CREATE(H_LOAN, STORE_V_REF("book", REF(H_DEAD_BOOK)), STORE_V_STR("who", "w")),
     FAILS(ECONSTRAINT, "Loan.book")},
    {"update: FK moved to a deleted Author",
     UPDATE(H_BOOK1, STORE_V_REF("author", REF(H_DEAD_AUTHOR))), FAILS(ECONSTRAINT, "Book.author")},
    {"update: a good title and a deleted editor",
     UPDATE(H_BOOK2, STORE_V_STR("title", "New"), STORE_V_REF("editor", REF(H_DEAD_AUTHOR))),
     FAILS(ECONSTRAINT, "Book.editor")},
    {"unique: create with another author's email",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_STR("email", "ann@example.org")),
     FAILS(ECONSTRAINT, "Author.email")},
    {"unique: create with another book's isbn",
     CREATE(H_BOOK, BOOK_OK, STORE_V_STR("isbn", "9780441013593")),
     FAILS(ECONSTRAINT, "Book.isbn")},
    {"unique: update to another author's email",
     UPDATE(H_BOB, STORE_V_STR("email", "ann@example.org")), FAILS(ECONSTRAINT, "Author.email")},
    {"unique: update to another book's isbn, with a good title",
     UPDATE(H_BOOK3, STORE_V_STR("title", "U2"), STORE_V_STR("isbn", "9780141439587")),
     FAILS(ECONSTRAINT, "Book.isbn")},
    {"unique: update to one's own value", UPDATE(H_ANN, STORE_V_STR("email", "ann@example.org")),
     OK},
    {"unique: two nulls do not clash", CREATE(H_AUTHOR, STORE_V_STR("name", "N")), OK},
    {"index: a repeated indexed value is fine", CREATE(H_AUTHOR, STORE_V_STR("name", "Ann")), OK},
    {"RESTRICT: delete a Book on loan", DELETE(H_BOOK1), FAILS(ECONSTRAINT, "Loan.book")},
    {"RESTRICT: a cascade from the Author meets the loan", DELETE(H_ANN),
     FAILS(ECONSTRAINT, "Loan.book")},
    {"deleted: delete an Author again", DELETE(H_DEAD_AUTHOR), FAILS(EINVAL, "Author")},
    {"deleted: delete a cascaded Book again", DELETE(H_DEAD_BOOK), FAILS(EINVAL, "Book")},
    {"deleted: update a deleted Author", UPDATE(H_DEAD_AUTHOR, STORE_V_INT("age", 3)),
     FAILS(EINVAL, "Author")},
    {"deleted: update a deleted Book with nothing", UPDATE(H_DEAD_BOOK, {0}),
     FAILS(EINVAL, "Book")},
    {"delete: the loan, then nothing restricts", DELETE(H_LOAN1), OK},
    {"delete: SET_NULL and CASCADE together", DELETE(H_BOB), OK},
    {"delete: an Author with no children", DELETE(H_CAT), OK},

    /* Numeric edges that must be accepted. */
    {"INT64_MIN", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("age", INT64_MIN)), OK},
    {"INT64_MAX", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_INT("age", INT64_MAX)), OK},
    {"INT64_MIN pages", CREATE(H_BOOK, BOOK_OK, STORE_V_INT("pages", INT64_MIN)), OK},
    {"update to INT64_MAX", UPDATE(H_BOOK1, STORE_V_INT("pages", INT64_MAX)), OK},
    {"-0.0", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", -0.0)), OK},
    {"+infinity", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", INFINITY)),
     OK},
    {"-infinity", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", -INFINITY)),
     OK},
    {"NaN", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", NAN)),
     FAILS(EINVAL, "rating")},
    {"the smallest subnormal",
     CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", 4.9406564584124654e-324)),
     OK},
    {"-DBL_MAX", CREATE(H_AUTHOR, STORE_V_STR("name", "N"), STORE_V_FLOAT("rating", -DBL_MAX)), OK},
    {"update to NaN", UPDATE(H_ANN, STORE_V_FLOAT("rating", NAN)), FAILS(EINVAL, "rating")},

    /* store_schema_add(): names and declarations it refuses (a schema declaring Shelf). */
    {"schema: a model declared again", ADD("Shelf", {.name = "x", .type = STORE_INT}),
     FAILS(ESCHEMA, "Shelf")},
    {"schema: a model name starting with a digit", ADD("3D", {.name = "x", .type = STORE_INT}),
     FAILS(ESCHEMA, "3D")},
    {"schema: a model name with a dash", ADD("Book-Case", {.name = "x", .type = STORE_INT}),
     FAILS(ESCHEMA, "Book-Case")},
    {"schema: an empty model name", ADD("", {.name = "x", .type = STORE_INT}),
     FAILS(ESCHEMA, "model name")},
    {"schema: a field name with a dash", ADD("Tag", {.name = "first-name", .type = STORE_TEXT}),
     FAILS(ESCHEMA, "first-name")},
    {"schema: a field named id after others",
     ADD("Tag", {.name = "label", .type = STORE_TEXT}, {.name = "id", .type = STORE_INT}),
     FAILS(ESCHEMA, "Tag.id")},
    {"schema: a field declared twice, types differing",
     ADD("Tag", {.name = "label", .type = STORE_CHAR, .max_length = 8},
         {.name = "weight", .type = STORE_INT}, {.name = "label", .type = STORE_TEXT}),
     FAILS(ESCHEMA, "Tag.label")},
    {"schema: a non-ASCII field name", ADD("Tag", {.name = "caf" E, .type = STORE_TEXT}),
     FAILS(ESCHEMA, "caf" E)},

    /* store_open(): schemas it refuses, naming Model.field (Shelf: label CHAR(16), weight). */
    {"open: FK to an undeclared model",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Cupboard"}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: FK target names are case-sensitive",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "shelf"}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: CHAR with max_length 0 among good fields",
     DECLARE("Tag", {.name = "note", .type = STORE_TEXT},
             {.name = "code", .type = STORE_CHAR, .max_length = 0}),
     FAILS(ESCHEMA, "Tag.code")},
    {"open: SET_NULL on a FK without .null",
     DECLARE("Tag",
             {.name = "shelf", .type = STORE_FK, .to = "Shelf", .on_delete = STORE_SET_NULL}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: a related_name that is not an identifier",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Shelf", .related_name = "on shelf"}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: a related_name of id",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Shelf", .related_name = "id"}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: a related_name that is a field of the parent",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Shelf", .related_name = "weight"}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: two models giving the parent one related_name",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Shelf", .related_name = "items"}),
     ALSO("Box", {.name = "shelf", .type = STORE_FK, .to = "Shelf", .related_name = "items"}),
     FAILS(ESCHEMA, "Box.shelf")},
    {"open: default related names that clash by case",
     DECLARE("Tag", {.name = "shelf", .type = STORE_FK, .to = "Shelf"}),
     ALSO("TAG", {.name = "shelf", .type = STORE_FK, .to = "Shelf"}), FAILS(ESCHEMA, "TAG.shelf")},
    {"open: a field with no type (0)", DECLARE("Tag", {.name = "x"}), FAILS(ESCHEMA, "Tag.x")},
    {"open: an unknown on_delete rule",
     DECLARE("Tag",
             {.name = "shelf", .type = STORE_FK, .to = "Shelf", .on_delete = (store_on_delete)3}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: .index on a FLOAT", DECLARE("Tag", {.name = "w", .type = STORE_FLOAT, .index = true}),
     FAILS(ESCHEMA, "Tag.w")},
    {"open: a CHAR(3) default of four two-byte chars",
     DECLARE("Tag",
             {.name = "code", .type = STORE_CHAR, .max_length = 3, STORE_DEFAULT_STR(E E E E)}),
     FAILS(ESCHEMA, "Tag.code")},
    {"open: a CHAR(3) default of three two-byte chars is fine",
     DECLARE("Tag",
             {.name = "code", .type = STORE_CHAR, .max_length = 3, STORE_DEFAULT_STR(E E E)}),
     OK},
    {"open: a TEXT default that is not UTF-8",
     DECLARE("Tag", {.name = "note", .type = STORE_TEXT, STORE_DEFAULT_STR("\xed\xa0\x80")}),
     FAILS(ESCHEMA, "Tag.note")},
    {"open: a NULL string default",
     DECLARE("Tag", {.name = "code", .type = STORE_CHAR, .max_length = 4, STORE_DEFAULT_STR(NULL)}),
     FAILS(ESCHEMA, "Tag.code")},
    {"open: a default on a FK",
     DECLARE("Tag", {.name = "shelf",
                     .type = STORE_FK,
                     .to = "Shelf",
                     .null = true,
                     .default_value = {.kind = STORE_KIND_REF}}),
     FAILS(ESCHEMA, "Tag.shelf")},
    {"open: an INT default on a BOOL",
     DECLARE("Tag", {.name = "flag", .type = STORE_BOOL, STORE_DEFAULT_INT(1)}),
     FAILS(ESCHEMA, "Tag.flag")},
    {"open: a FLOAT default on an INT",
     DECLARE("Tag", {.name = "n", .type = STORE_INT, STORE_DEFAULT_FLOAT(1.0)}),
     FAILS(ESCHEMA, "Tag.n")},
    {"open: a default of unknown kind",
     DECLARE("Tag", {.name = "n", .type = STORE_INT, .default_value = {.kind = 99}}),
     FAILS(ESCHEMA, "Tag.n")},
    {"open: .to on a TEXT field",
     DECLARE("Tag", {.name = "note", .type = STORE_TEXT, .to = "Shelf"}),
     FAILS(ESCHEMA, "Tag.note")},
    {"open: a FK to its own model is fine",
     DECLARE("Tag", {.name = "parent",
                     .type = STORE_FK,
                     .to = "Tag",
                     .null = true,
                     .on_delete = STORE_SET_NULL,
                     .related_name = "children"}),
     OK},
};

enum { NROWS = sizeof rows / sizeof rows[0] };

/* ---- The stores a row runs on -------------------------------------------------------------- */

static store *xdb;          /* the other store */
static void *hv[H_COUNT];   /* handle -> pointer */
static uint64_t next_id[5]; /* Author, Book, Review, Loan of db; Author of xdb */

static store_obj *make(store *d, store_model *m, const store_value *v)
{
    store_obj *o = NULL;
    int rc = store_create(d, m, v, &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(d));
    return o;
}

/* Opens both stores and fills them; see the handles for what each object is. */
static void populate(void)
{
    library_setup();
    store_obj *ann = make(db, Author,
                          (store_value[]){STORE_V_STR("name", "Ann"),
                                          STORE_V_STR("email", "ann@example.org"),
                                          STORE_V_INT("age", 40),
                                          {0}});
    store_obj *bob = make(
        db, Author,
        (store_value[]){STORE_V_STR("name", "Bob"), STORE_V_STR("email", "bob@example.org"), {0}});
    store_obj *cat = make_author("Cat");
    store_obj *gone = make_author("Gone");
    store_obj *b1 = make(db, Book,
                         (store_value[]){STORE_V_STR("title", "Dune"),
                                         STORE_V_REF("author", ann),
                                         STORE_V_REF("editor", bob),
                                         STORE_V_STR("isbn", "9780441013593"),
                                         {0}});
    store_obj *b2 = make(db, Book,
                         (store_value[]){STORE_V_STR("title", "Emma"),
                                         STORE_V_REF("author", ann),
                                         STORE_V_STR("isbn", "9780141439587"),
                                         {0}});
    store_obj *b3 = make_book("Ulysses", bob);
    store_obj *gone_book = make_book("Gone with it", gone);
    store_obj *r1 = make_review(b1, "great");
    make_review(b1, "long");
    make_review(b3, "hard");
    store_obj *r4 = make_review(gone_book, "lost");
    store_obj *l1 = make_loan(b1, "reader");
    next_id[0] = store_id(gone) + 1;
    next_id[1] = store_id(gone_book) + 1;
    next_id[2] = store_id(r4) + 1;
    next_id[3] = store_id(l1) + 1;
    cr_assert_eq(store_id(gone), 4, "the get rows expect the deleted Author to be 4");
    /* Deleted last, so that no later create reuses their slots. */
    cr_assert_eq(store_delete(db, gone), STORE_OK);

    cr_assert_eq(store_open(&xdb, schema, NULL, NULL), STORE_OK);
    store_model *xa = store_model_find(xdb, "Author");
    store_obj *xann = make(xdb, xa, (store_value[]){STORE_V_STR("name", "Xann"), {0}});
    store_obj *xbook =
        make(xdb, store_model_find(xdb, "Book"),
             (store_value[]){STORE_V_STR("title", "X"), STORE_V_REF("author", xann), {0}});
    next_id[4] = store_id(xann) + 1;

    void *all[H_COUNT] = {
        [H_AUTHOR] = Author, [H_BOOK] = Book,        [H_REVIEW] = Review,
        [H_LOAN] = Loan,     [H_X_AUTHOR] = xa,      [H_ANN] = ann,
        [H_BOB] = bob,       [H_CAT] = cat,          [H_BOOK1] = b1,
        [H_BOOK2] = b2,      [H_BOOK3] = b3,         [H_REVIEW1] = r1,
        [H_LOAN1] = l1,      [H_DEAD_AUTHOR] = gone, [H_DEAD_BOOK] = gone_book,
        [H_X_ANN] = xann,    [H_X_BOOK] = xbook,
    };
    memcpy(hv, all, sizeof hv);
    check_invariants(db);
}

static void depopulate(void)
{
    store_close(xdb);
    xdb = NULL;
    library_teardown();
}

static void *resolve(handle h)
{
    if (h == H_NONE || h == H_NULL)
        return NULL;
    cr_assert(h < H_COUNT && hv[h], "handle %d is not set", (int)h);
    return hv[h];
}

/* ---- Running a row ------------------------------------------------------------------------- */

/* Declares Shelf in a new schema, for the schema rows. */
static store_schema *shelf_schema(void)
{
    static const store_field shelf[] = {
        {.name = "label", .type = STORE_CHAR, .max_length = 16},
        {.name = "weight", .type = STORE_FLOAT, .null = true},
        {0},
    };
    store_schema *s;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Shelf", shelf), STORE_OK);
    return s;
}

/* store_schema_add() on a schema declaring Shelf; a refused add leaves it as it was. */
static int run_schema_add(const row *r)
{
    store_schema *s = shelf_schema();
    int rc = store_schema_add(r->no_schema ? NULL : s, r->arg, r->fields);
    if (rc != STORE_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", store_errmsg(NULL));
        store *d = NULL;
        cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK, "%s: %s", r->name,
                     store_errmsg(NULL));
        cr_assert_not_null(store_model_find(d, "Shelf"));
        if (r->arg && strcmp(r->arg, "Shelf"))
            cr_assert_null(store_model_find(d, r->arg), "%s: the refused model was kept", r->name);
        store_close(d);
        /* The open succeeded, so store_errmsg(NULL) still says why the add failed. */
        cr_assert_str_eq(store_errmsg(NULL), msg);
    }
    store_schema_free(s);
    return rc;
}

/* Shelf, then the row's models, then store_open(); *OUT must stay untouched on failure. */
static int run_open_schema(const row *r)
{
    store_schema *s = shelf_schema();
    cr_assert_eq(store_schema_add(s, r->arg, r->fields), STORE_OK, "%s: %s", r->name,
                 store_errmsg(NULL));
    if (r->model2)
        cr_assert_eq(store_schema_add(s, r->model2, r->fields2), STORE_OK, "%s: %s", r->name,
                     store_errmsg(NULL));
    store *sentinel = (store *)&sentinel, *d = sentinel;
    int rc = store_open(&d, s, NULL, NULL);
    if (rc == STORE_OK)
        store_close(d);
    else
        cr_assert_eq(d, sentinel, "%s: store_open() set *OUT on failure", r->name);
    store_schema_free(s);
    return rc;
}

/* Builds and runs the query of row R on model M (TERMS: its filter, or its update's values). */
static int run_query(const row *r, store_model *m, const store_value *terms)
{
    store_query *q;
    int rc = store_query_new(db, m, &q);
    if (rc)
        return rc;
    size_t n;
    if (r->op != OP_QUPDATE)
        rc = store_query_filter(q, terms);
    if (!rc && r->arg)
        rc = store_query_order_by(q, (const char *const[]){r->arg, NULL});
    if (!rc && r->op == OP_FIND) {
        store_result res;
        rc = store_query_find(q, NULL, &res);
        store_result_free(&res);
    } else if (!rc) {
        rc = r->op == OP_QUPDATE ? store_query_update(q, NULL, terms, &n)
                                 : store_query_delete(q, NULL, &n);
    }
    store_query_free(q);
    return rc;
}

/* Resolves the references among the N values of V. */
static void resolve_refs(store_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == STORE_KIND_REF && v[i].u.ref)
            v[i].u.ref = resolve((handle)(uintptr_t)v[i].u.ref);
}

/* store_get_or_create() or store_update_or_create(); *CREATED must say whether MODEL grew. */
static int run_get_or_create(const row *r, store *d, store_model *m, const store_value *lookup,
                             store_obj **out)
{
    store_value defaults[4];
    memcpy(defaults, r->defaults, sizeof defaults);
    resolve_refs(defaults, 4);
    size_t before = store_model_count(m);
    bool created = false;
    int rc =
        r->op == OP_GET_OR_CREATE
            ? store_get_or_create(d, m, lookup, defaults[0].name ? defaults : NULL, out, &created)
            : store_update_or_create(d, m, lookup, defaults[0].name ? defaults : NULL, out,
                                     &created);
    if (rc == STORE_OK)
        cr_assert(out && *out && created == (store_model_count(m) == before + 1),
                  "%s: *CREATED is %d, the model went from %zu to %zu objects", r->name,
                  (int)created, before, store_model_count(m));
    return rc;
}

/* store_create_many() of copies of the row's lists; on success OUT holds consecutive ids. */
static int run_create_many(const row *r, store *d, store_model *m)
{
    enum { MAX_ROWS = 4, MAX_VALUES = 6 };
    store_value copies[MAX_ROWS][MAX_VALUES];
    const store_value *rows[MAX_ROWS];
    store_obj *objs[MAX_ROWS];
    uint64_t first = 0;
    cr_assert(!r->rows || r->n <= MAX_ROWS, "%s: more than %d rows", r->name, MAX_ROWS);
    for (size_t k = 0; r->rows && k < r->n; k++) {
        rows[k] = NULL;
        if (!r->rows[k])
            continue;
        size_t len = 0;
        while (r->rows[k][len].name)
            len++;
        cr_assert_lt(len, MAX_VALUES, "%s: row %zu is too long", r->name, k);
        memcpy(copies[k], r->rows[k], (len + 1) * sizeof copies[k][0]);
        resolve_refs(copies[k], len);
        rows[k] = copies[k];
    }
    int rc = store_create_many(d, m, r->rows ? rows : NULL, r->n, r->no_out ? NULL : objs,
                               r->no_out ? NULL : &first);
    for (size_t k = 0; rc == STORE_OK && !r->no_out && k < r->n; k++)
        cr_assert_eq(store_id(objs[k]), first + k, "%s: row %zu has id %" PRIu64, r->name, k,
                     store_id(objs[k]));
    return rc;
}

/* The callback of the async rows: counts its calls in *(int *)req->data. */
static void count_call(store_req *req)
{
    (*(int *)req->data)++;
}

/* store_atomic_async() on a loop of its own, run until it is idle; returns the call's code,
 * or the callback's when the call succeeded (it must then have run exactly once). */
static int run_atomic_async(const row *r, store *d, const store_value *list)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    int calls = 0;
    store_req req = {.data = &calls};
    bool null_loop = r->arg && !strcmp(r->arg, "loop"), null_req = r->arg && !strcmp(r->arg, "req");
    bool null_cb = r->arg && !strcmp(r->arg, "cb");
    int rc = store_atomic_async(null_loop ? NULL : &loop, null_req ? NULL : &req, d, r->fn,
                                (void *)list, null_cb ? NULL : count_call);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(calls, rc == STORE_OK, "%s: returned %d, the callback ran %d times", r->name, rc,
                 calls);
    if (rc == STORE_OK)
        rc = req.result;
    store_req_cleanup(&req);
    cr_assert_eq(uv_loop_close(&loop), 0);
    return rc;
}

/* store_begin() with the row's flags; a transaction it opens is committed at once. */
static int run_begin(const row *r, store *d)
{
    store_txn *t = NULL;
    int rc = store_begin(d, r->flags, r->no_out ? NULL : &t);
    if (rc == STORE_OK)
        cr_assert_eq(store_commit(t), STORE_OK, "%s: %s", r->name, store_errmsg(db));
    return rc;
}

/* Makes the call of row R; a create or a lookup puts its object in *OUT. */
static int call(const row *r, store_obj **out)
{
    store *d = r->no_db ? NULL : db;
    void *h = resolve(r->h);
    store_value v[6];
    memcpy(v, r->v, sizeof v);
    resolve_refs(v, 6);
    const store_value *list = r->no_list ? NULL : v;
    store_obj **o = r->no_out ? NULL : out;
    switch (r->op) {
    case OP_CREATE:
        return store_create(d, h, list, o);
    case OP_UPDATE:
        return store_update(d, h, list);
    case OP_DELETE:
        return store_delete(d, h);
    case OP_GET:
        return store_get(d, h, r->id, o);
    case OP_GET_BY:
        return store_get_by(d, h, r->arg, list, o);
    case OP_REVERSE: {
        store_iter it = store_reverse(h, r->arg);
        return store_count(&it) == 0 && !store_next(&it) ? STORE_EINVAL : STORE_OK;
    }
    case OP_CHECK:
        return store_check(d);
    case OP_OPEN: {
        store *sentinel = (store *)&sentinel, *nd = sentinel;
        store_options opts = {.flags = r->flags};
        int rc = store_open(r->no_out ? NULL : &nd, r->no_schema ? NULL : schema, r->path,
                            r->flags ? &opts : NULL);
        if (rc == STORE_OK)
            store_close(nd);
        else
            cr_assert_eq(nd, sentinel, "%s: store_open() set *OUT on failure", r->name);
        return rc;
    }
    case OP_SCHEMA_NEW:
        return store_schema_new(NULL);
    case OP_SCHEMA_ADD:
        return run_schema_add(r);
    case OP_OPEN_SCHEMA:
        return run_open_schema(r);
    case OP_FIND:
    case OP_QUPDATE:
    case OP_QDELETE:
        return run_query(r, h, list);
    case OP_BEGIN:
        return run_begin(r, d);
    case OP_COMMIT:
        return store_commit(h);
    case OP_ROLLBACK:
        return store_rollback(h);
    case OP_ATOMIC:
        return store_atomic(d, r->fn, (void *)list);
    case OP_ATOMIC_ASYNC:
        return run_atomic_async(r, d, list);
    case OP_GET_OR_CREATE:
    case OP_UPDATE_OR_CREATE:
        return run_get_or_create(r, d, h, list, o);
    case OP_CREATE_MANY:
        return run_create_many(r, d, h);
    case OP_END:
        break;
    }
    cr_assert_fail("%s: no such op %d", r->name, (int)r->op);
    return 0;
}

/* A write transaction held by another thread while a row hands its handle to a call. */
typedef struct holder {
    pthread_barrier_t met; /* once when the handle is there, once when the call is made */
    int rc;                /* store_begin()'s */
    store_txn *txn;
    bool ended; /* the call ended the transaction (wrongly): the holder leaves it */
} holder;

static void *hold_txn(void *arg)
{
    holder *x = arg;
    x->rc = store_begin(db, 0, &x->txn);
    pthread_barrier_wait(&x->met);
    pthread_barrier_wait(&x->met);
    if (!x->rc && !x->ended)
        x->rc = store_rollback(x->txn);
    return NULL;
}

/* Makes the call of row R while another thread holds a write transaction, H_TXN. */
static int call_beside(const row *r, store_obj **out)
{
    holder x = {.rc = -1};
    pthread_t t;
    cr_assert_eq(pthread_barrier_init(&x.met, NULL, 2), 0);
    cr_assert_eq(pthread_create(&t, NULL, hold_txn, &x), 0);
    pthread_barrier_wait(&x.met);
    hv[H_TXN] = x.txn;
    int rc = call(r, out);
    hv[H_TXN] = NULL;
    x.ended = rc == STORE_OK;
    pthread_barrier_wait(&x.met);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&x.met);
    cr_assert_eq(x.rc, STORE_OK, "%s: the holder's transaction: %s", r->name, store_strerror(x.rc));
    return rc;
}

/*
 * Makes the call of row R inside the transaction it asks for, then ends that transaction,
 * innermost level first, committing it: whatever a failed call left behind stays to be seen.
 */
static int run(const row *r, store_obj **out)
{
    if (r->in == IN_OTHER_THREAD)
        return call_beside(r, out);
    store_txn *level[2];
    int n = 0;
    if (r->in != IN_NONE)
        cr_assert_eq(store_begin(db, r->in == IN_READONLY ? STORE_TXN_READONLY : 0, &level[n++]),
                     STORE_OK, "%s: %s", r->name, store_errmsg(db));
    if (r->in == IN_SAVEPOINT)
        cr_assert_eq(store_begin(db, 0, &level[n++]), STORE_OK, "%s: %s", r->name,
                     store_errmsg(db));
    hv[H_TXN] = n ? level[n - 1] : NULL;
    hv[H_OUTER_TXN] = n > 1 ? level[0] : NULL;
    int rc = call(r, out);
    hv[H_TXN] = hv[H_OUTER_TXN] = NULL;
    if (rc == STORE_OK && (r->op == OP_COMMIT || r->op == OP_ROLLBACK))
        n = r->h == H_OUTER_TXN ? 0 : n - 1; /* the call ended that level (and those inside) */
    while (n > 0)
        cr_assert_eq(store_commit(level[--n]), STORE_OK, "%s: ending its transaction: %s", r->name,
                     store_errmsg(db));
    return rc;
}

/* Whether the row's detail goes to store_errmsg(NULL) rather than store_errmsg(db). */
static bool global_msg(const row *r)
{
    return r->no_db || r->op == OP_OPEN || r->op == OP_SCHEMA_NEW || r->op == OP_SCHEMA_ADD ||
           r->op == OP_OPEN_SCHEMA || r->op == OP_CHECK ||
           (r->op == OP_REVERSE && r->h == H_NULL) ||
           ((r->op == OP_COMMIT || r->op == OP_ROLLBACK) && r->h == H_NULL);
}

/*
 * Leaves a detail that does not contain R's culprit where R's detail will go, so that a
 * call that forgets to set one cannot pass on a stale message.
 */
static void clear_msg(const row *r)
{
    if (!r->culprit)
        return;
    bool global = global_msg(r);
    store_obj *o;
    store *d = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (global && attempt == 0)
            cr_assert_eq(store_open(&d, schema, NULL, &(store_options){.flags = 0x40}),
                         STORE_EINVAL);
        else if (global)
            store_schema_new(NULL);
        else if (attempt == 0)
            store_get(db, Loan, 424242, &o);
        else
            store_get_by(db, Review, "zq", &(store_value)STORE_V_INT("", 0), &o);
        if (!strstr(store_errmsg(global ? NULL : db), r->culprit))
            return;
    }
    cr_assert_fail("%s: cannot clear the detail of \"%s\"", r->name, r->culprit);
}

static const char *rc_name(int rc)
{
    static char buf[8][48];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, sizeof buf[0], "%d (%s)", rc, store_strerror(rc));
    return b;
}

/* Runs row R on the populated stores; returns whether it behaved, logging what did not. */
static bool check_row(const row *r)
{
    clear_msg(r);
    const char *before = dump_store(db), *xbefore = dump_store(xdb);
    store_obj *sentinel = (store_obj *)&sentinel, *out = sentinel;
    int rc = run(r, &out);
    const char *msg = store_errmsg(global_msg(r) ? NULL : db);
    bool good = true;
    if (rc != r->rc) {
        cr_log_error("row \"%s\": returned %s, expected %s; errmsg \"%s\"", r->name, rc_name(rc),
                     rc_name(r->rc), msg);
        good = false;
    }
    if (r->rc != STORE_OK && r->culprit && !strstr(msg, r->culprit)) {
        cr_log_error("row \"%s\": errmsg \"%s\" does not name \"%s\"", r->name, msg, r->culprit);
        good = false;
    }
    if (r->rc != STORE_OK && !(same_store(db, before) && same_store(xdb, xbefore))) {
        cr_log_error("row \"%s\": a failed call changed a store", r->name);
        good = false;
    }
    if (rc != STORE_OK && r->op == OP_CREATE && out != sentinel) {
        cr_log_error("row \"%s\": a failed create set *OUT", r->name);
        good = false;
    }
    if (rc == STORE_ENOTFOUND && out != NULL) {
        cr_log_error("row \"%s\": STORE_ENOTFOUND did not set *OUT to NULL", r->name);
        good = false;
    }
    store *both[] = {db, xdb};
    for (int i = 0; i < 2; i++) {
        int crc = store_check(both[i]);
        if (crc != STORE_OK) {
            cr_log_error("row \"%s\": store_check: %s", r->name, store_errmsg(both[i]));
            good = false;
        }
    }
    return good;
}

static void fini(void)
{
    fail_alloc_at(-1);
    if (xdb) {
        store_close(xdb);
        xdb = NULL;
    }
    library_teardown();
}

TestSuite(bad_input, .init = strings_init, .fini = fini);

/* ---- Tests --------------------------------------------------------------------------------- */

Test(bad_input, every_row_returns_its_code_names_the_culprit_and_changes_nothing)
{
    int failed = 0, ok_rows = 0;
    for (int i = 0; i < NROWS; i++) {
        populate();
        failed += !check_row(&rows[i]);
        ok_rows += rows[i].rc == STORE_OK;
        check_invariants(db);
        check_invariants(xdb);
        depopulate();
    }
    cr_log_info("%d rows (%d that must succeed), %d misbehaved", NROWS, ok_rows, failed);
    cr_assert_eq(failed, 0, "%d of %d rows misbehaved (see the log above)", failed, NROWS);
}

Test(bad_input, the_table_covers_every_call_and_both_outcomes)
{
    bool seen[OP_END] = {false};
    int ok_rows = 0;
    for (int i = 0; i < NROWS; i++) {
        seen[rows[i].op] = true;
        ok_rows += rows[i].rc == STORE_OK;
        cr_assert(rows[i].rc == STORE_OK || rows[i].culprit, "row \"%s\" names no culprit",
                  rows[i].name);
    }
    for (int op = OP_CREATE; op < OP_END; op++)
        cr_assert(seen[op], "no row for op %d", op);
    cr_assert_gt(ok_rows, 10);
    cr_assert_gt(NROWS - ok_rows, 120);
}

Test(bad_input, failed_rows_run_back_to_back_consume_no_id)
{
    /* One store for all the rows: no failed call may hand out an id or leave a trace. */
    populate();
    const char *before = dump_store(db), *xbefore = dump_store(xdb);
    for (int i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        if (r->rc == STORE_OK)
            continue;
        store_obj *sentinel = (store_obj *)&sentinel, *out = sentinel;
        int rc = run(r, &out);
        cr_assert_eq(rc, r->rc, "row \"%s\": %s", r->name, rc_name(rc));
    }
    cr_assert(same_store(db, before));
    cr_assert(same_store(xdb, xbefore));
    store_obj *b = make_book("After", hv[H_ANN]);
    store_obj *got[] = {
        make_author("After"),
        b,
        make_review(b, "after"),
        make_loan(b, "after"),
        make(xdb, hv[H_X_AUTHOR], (store_value[]){STORE_V_STR("name", "After"), {0}}),
    };
    for (int m = 0; m < 5; m++)
        cr_assert_eq(store_id(got[m]), next_id[m], "model %d: id %" PRIu64 ", expected %" PRIu64, m,
                     store_id(got[m]), next_id[m]);
    check_invariants(db);
    check_invariants(xdb);
    depopulate();
}

Test(bad_input, ok_rows_store_the_edge_values_exactly)
{
    /* A few OK rows read back, so that "accepted" also means "kept as given". */
    populate();
    store_obj *o;
    cr_assert_eq(store_create(db, Author,
                              (store_value[]){STORE_V_STR("name", e255),
                                              STORE_V_INT("age", INT64_MIN),
                                              STORE_V_FLOAT("rating", -0.0),
                                              {0}},
                              &o),
                 STORE_OK);
    cr_assert_str_eq(store_str(o, "name"), e255);
    cr_assert_eq(store_int(o, "age"), INT64_MIN);
    cr_assert(store_float(o, "rating") == 0.0 && signbit(store_float(o, "rating")));
    cr_assert_eq(
        store_update(
            db, o,
            (store_value[]){STORE_V_FLOAT("rating", INFINITY), STORE_V_INT("age", INT64_MAX),
                            {0}}),
        STORE_OK);
    cr_assert(isinf(store_float(o, "rating")) && store_float(o, "rating") > 0);
    cr_assert_eq(store_int(o, "age"), INT64_MAX);
    cr_assert_eq(store_update(db, o, (store_value[]){STORE_V_FLOAT("rating", -INFINITY), {0}}),
                 STORE_OK);
    cr_assert(isinf(store_float(o, "rating")) && store_float(o, "rating") < 0);
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR("", e255), &o),
                 STORE_OK);
    cr_assert_str_eq(store_str(o, "name"), e255);
    check_invariants(db);
    depopulate();
}

/* ---- Cascades: cycles and a long chain ------------------------------------------------------ */

/* Node parent FK Node .null CASCADE "children"; Pin node FK Node RESTRICT "pins". */
static store *chain_store(store_model **node, store_model **pin)
{
    static const store_field node_fields[] = {
        {.name = "parent",
         .type = STORE_FK,
         .to = "Node",
         .related_name = "children",
         .null = true},
        {.name = "n", .type = STORE_INT},
        {0},
    };
    static const store_field pin_fields[] = {
        {.name = "node",
         .type = STORE_FK,
         .to = "Node",
         .related_name = "pins",
         .on_delete = STORE_RESTRICT},
        {0},
    };
    store_schema *s;
    store *d;
    cr_assert_eq(store_schema_new(&s), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Node", node_fields), STORE_OK);
    cr_assert_eq(store_schema_add(s, "Pin", pin_fields), STORE_OK);
    cr_assert_eq(store_open(&d, s, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_schema_free(s);
    *node = store_model_find(d, "Node");
    *pin = store_model_find(d, "Pin");
    return d;
}

static store_obj *node_under(store *d, store_model *node, store_obj *parent, int64_t n)
{
    return make(d, node, (store_value[]){STORE_V_REF("parent", parent), STORE_V_INT("n", n), {0}});
}

Test(bad_input, a_cascade_cycle_deletes_each_member_once)
{
    store_model *node, *pin;
    store *d = chain_store(&node, &pin);
    store_obj *a = node_under(d, node, NULL, 1), *b = node_under(d, node, a, 2);
    store_obj *c = node_under(d, node, b, 3), *other = node_under(d, node, NULL, 4);
    cr_assert_eq(store_update(d, a, (store_value[]){STORE_V_REF("parent", c), {0}}), STORE_OK);
    /* A pin on the cycle refuses the whole delete... */
    store_obj *p = make(d, pin, (store_value[]){STORE_V_REF("node", c), {0}});
    const char *before = dump_store(d);
    cr_assert_eq(store_delete(d, b), STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(d), "Pin.node"), "errmsg: %s", store_errmsg(d));
    cr_assert(same_store(d, before));
    check_invariants(d);
    /* ...and without it the cycle goes, each member once, and nothing else. */
    cr_assert_eq(store_delete(d, p), STORE_OK);
    cr_assert_eq(store_delete(d, b), STORE_OK);
    cr_assert_eq(store_model_count(node), 1);
    cr_assert_eq(store_int(other, "n"), 4);
    check_invariants(d);
    store_close(d);
}

Test(bad_input, a_chain_of_a_million_links_meeting_a_restrict_changes_nothing, .timeout = 120)
{
    enum { LINKS = 1000000 };
    store_model *node, *pin;
    store *d = chain_store(&node, &pin);
    store_obj *root = node_under(d, node, NULL, 0), *last = root;
    for (int64_t i = 1; i < LINKS; i++)
        last = node_under(d, node, last, i);
    store_obj *p = make(d, pin, (store_value[]){STORE_V_REF("node", last), {0}});
    const char *before = dump_store(d);
    cr_assert_eq(store_delete(d, root), STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(d), "Pin.node"), "errmsg: %s", store_errmsg(d));
    cr_assert(same_store(d, before));
    check_invariants(d);
    cr_assert_eq(store_delete(d, p), STORE_OK);
    cr_assert_eq(store_delete(d, root), STORE_OK);
    cr_assert_eq(store_model_count(node), 0);
    check_invariants(d);
    store_close(d);
}
