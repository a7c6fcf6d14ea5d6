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
 * once the stores exist; long strings live in buffers filled before the first row.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
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
    OP_OPEN,        /* store_open() of the library schema */
    OP_SCHEMA_NEW,  /* store_schema_new(NULL) */
    OP_SCHEMA_ADD,  /* on a schema that declares Shelf already */
    OP_OPEN_SCHEMA, /* Shelf, then MODEL and MODEL2 (both must be accepted), then open */
    OP_FIND,        /* a query of MODEL filtered by the list (ordered by ARG if set), found */
    OP_QUPDATE,     /* a query of every object of MODEL, updated with the list */
    OP_QDELETE,     /* a query of MODEL filtered by the list, deleted */
    OP_END          /* one past the last */
} op;

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
    unsigned flags;   /* open */
    bool no_schema;   /* open, schema_add: the schema is NULL */
    const store_field *fields;
    const char *model2;
    const store_field *fields2;
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

/* Makes the call of row R; a create or a lookup puts its object in *OUT. */
static int run(const row *r, store_obj **out)
{
    store *d = r->no_db ? NULL : db;
    void *h = resolve(r->h);
    store_value v[6];
    memcpy(v, r->v, sizeof v);
    for (int i = 0; i < 6; i++)
        if (v[i].kind == STORE_KIND_REF && v[i].u.ref)
            v[i].u.ref = resolve((handle)(uintptr_t)v[i].u.ref);
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
    case OP_END:
        break;
    }
    cr_assert_fail("%s: no such op %d", r->name, (int)r->op);
    return 0;
}

/* Whether the row's detail goes to store_errmsg(NULL) rather than store_errmsg(db). */
static bool global_msg(const row *r)
{
    return r->no_db || r->op == OP_OPEN || r->op == OP_SCHEMA_NEW || r->op == OP_SCHEMA_ADD ||
           r->op == OP_OPEN_SCHEMA || r->op == OP_CHECK || (r->op == OP_REVERSE && r->h == H_NULL);
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
