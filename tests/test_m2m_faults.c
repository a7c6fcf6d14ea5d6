/*
 * tests/test_m2m_faults.c - the many-to-many calls (store_m2m_add(), store_m2m_remove(),
 * store_m2m_clear(), store_m2m_move()) and store_reverse_one() when things go wrong:
 *
 *   - bad input, one table row per case, as in tests/test_bad_input.c: each row names the
 *     call, its arguments and the context it runs in (plain, from a store_query_visit()
 *     callback, inside a read-only transaction, on a store opened read-only); it must
 *     return its code, leave a detail in store_errmsg() that names the culprit, and leave
 *     both stores (the row's and a second one whose objects serve as foreign ones)
 *     byte-identical by their canonical dumps, with store_check() clean;
 *   - allocation failures in turn, as in tests/test_failalloc_txn_calls.c: the call is made
 *     again and again with the n-th allocation failing (n = 0, 1, 2, ...), then with every
 *     allocation from the n-th on failing, until it gets through, outside a transaction and
 *     inside one (ended by a commit, which keeps what the call made, or by a rollback, which
 *     gives back the store from before the begin). Each failure is STORE_ENOMEM with the
 *     store unchanged and store_check() clean;
 *   - a RESTRICT under the through model: a Note pointing at a link refuses the clear of its
 *     list, all or nothing.
 *
 *   Book     title CHAR(60), tags M2M Tag "books" (through Book_tags, declared by the store)
 *   Tag      name CHAR(30) .unique
 *   Playlist name CHAR(30), songs M2M Song "playlists" through Entry
 *   Song     title CHAR(60)
 *   Entry    playlist FK Playlist CASCADE "entries", song FK Song RESTRICT "entries",
 *            note CHAR(60) .null, plays INT default 0
 *   Note     entry FK Entry RESTRICT "notes", text CHAR(30)
 *   Mark     entry FK Entry CASCADE "marks", label CHAR(30)
 *   Chart    name CHAR(30), hits M2M Song "charts" through Rank
 *   Rank     chart FK Chart CASCADE "ranks", song FK Song CASCADE "ranks", v0 ... v17 INT
 *            default 0 (a payload of more values than store_m2m_add() keeps on its stack)
 *   Person   name CHAR(30); Passport person FK Person .unique "passport", number CHAR(12)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/lock.h"
#include "store/model.h"
#include "store/txn.h"
#include "tests/helpers.h"

enum { WIDE = 18 }; /* Rank's payload fields */

static const char *const wide_names[WIDE] = {"v0",  "v1",  "v2",  "v3",  "v4",  "v5",
                                             "v6",  "v7",  "v8",  "v9",  "v10", "v11",
                                             "v12", "v13", "v14", "v15", "v16", "v17"};

static store_schema *faults_schema(void)
{
    store_schema *sc;
    cr_assert_eq(store_schema_new(&sc), STORE_OK);
    int rc = store_schema_add(sc, "Book", (store_field[]){
        {.name = "title", .type = STORE_CHAR, .max_length = 60},
        {.name = "tags", .type = STORE_M2M, .to = "Tag", .related_name = "books"},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "Tag", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30, .unique = true}, {0}});
    rc = rc ? rc : store_schema_add(sc, "Playlist", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30},
        {.name = "songs", .type = STORE_M2M, .to = "Song", .related_name = "playlists",
         .through = "Entry"},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "Song", (store_field[]){
        {.name = "title", .type = STORE_CHAR, .max_length = 60}, {0}});
    rc = rc ? rc : store_schema_add(sc, "Entry", (store_field[]){
        {.name = "playlist", .type = STORE_FK, .to = "Playlist", .related_name = "entries"},
        {.name = "song", .type = STORE_FK, .to = "Song", .related_name = "entries",
         .on_delete = STORE_RESTRICT},
        {.name = "note", .type = STORE_CHAR, .max_length = 60, .null = true},
        {.name = "plays", .type = STORE_INT, STORE_DEFAULT_INT(0)},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "Note", (store_field[]){
        {.name = "entry", .type = STORE_FK, .to = "Entry", .related_name = "notes",
         .on_delete = STORE_RESTRICT},
        {.name = "text", .type = STORE_CHAR, .max_length = 30},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "Mark", (store_field[]){
        {.name = "entry", .type = STORE_FK, .to = "Entry", .related_name = "marks"},
        {.name = "label", .type = STORE_CHAR, .max_length = 30},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "Chart", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30},
        {.name = "hits", .type = STORE_M2M, .to = "Song", .related_name = "charts",
         .through = "Rank"},
        {0}});
    store_field rank[2 + WIDE + 1] = {
        {.name = "chart", .type = STORE_FK, .to = "Chart", .related_name = "ranks"},
        {.name = "song", .type = STORE_FK, .to = "Song", .related_name = "ranks"},
    };
    for (int i = 0; i < WIDE; i++)
        rank[2 + i] = (store_field){.name = wide_names[i], .type = STORE_INT,
                                    STORE_DEFAULT_INT(0)};
    rc = rc ? rc : store_schema_add(sc, "Rank", rank);
    rc = rc ? rc : store_schema_add(sc, "Person", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30}, {0}});
    rc = rc ? rc : store_schema_add(sc, "Passport", (store_field[]){
        {.name = "person", .type = STORE_FK, .to = "Person", .related_name = "passport",
         .unique = true},
        {.name = "number", .type = STORE_CHAR, .max_length = 12},
        {0}});
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(NULL));
    return sc;
}

static store_schema *fs;

static store_model *model(store *x, const char *name)
{
    store_model *m = store_model_find(x, name);
    cr_assert_not_null(m, "no model %s", name);
    return m;
}

static store_obj *make_in(store *x, const char *m, const store_value *values)
{
    store_obj *o = NULL;
    int rc = store_create(x, model(x, m), values, &o);
    cr_assert_eq(rc, STORE_OK, "%s: %s", m, store_errmsg(x));
    return o;
}

static store_obj *named(store *x, const char *m, const char *field, const char *value)
{
    return make_in(x, m, (store_value[]){STORE_V_STR(field, value), {0}});
}

static store_obj *link_in(store *x, store_obj *a, const char *name, store_obj *b,
                          const store_value *payload)
{
    store_obj *l = NULL;
    int rc = store_m2m_add(x, a, name, b, payload, &l);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(x));
    cr_assert_not_null(l);
    return l;
}

/* The values of FIELD of the objects linked to O in NAME, "a,b,c"; checks store_count(). */
static const char *walk(const store_obj *o, const char *name, const char *field)
{
    static char buf[4096];
    buf[0] = 0;
    store_iter it = store_m2m(o, name);
    size_t n = 0;
    for (store_obj *x; (x = store_next(&it)); n++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", n ? "," : "",
                 store_str(x, field));
    cr_assert_eq(store_count(&it), n);
    return buf;
}

static size_t m2m_count(const store_obj *o, const char *name)
{
    store_iter it = store_m2m(o, name);
    size_t n = store_count(&it), walked = 0;
    while (store_next(&it))
        walked++;
    cr_assert_eq(walked, n, "store_count() says %zu, the walk gave %zu", n, walked);
    return n;
}

/* ==== Bad input ============================================================================ */

typedef enum handle {
    H_NONE = 0, /* the row does not use the argument */
    H_NULL,     /* a NULL pointer */
    H_MIX,      /* Playlist 1: One (note "opener"), Two */
    H_ROCK,     /* Playlist 2: no songs */
    H_ONE,      /* Song 1: in Mix */
    H_TWO,      /* Song 2: in Mix */
    H_THREE,    /* Song 3: in no playlist (it was in Gone) */
    H_DUNE,     /* Book 1: tagged sf */
    H_SF,       /* Tag 1 */
    H_OLD,      /* Tag 2: no books */
    H_TOP,      /* Chart 1: no hits */
    H_ANN,      /* Person 1: has Passport 1 */
    H_BEA,      /* Person 2: no passport */
    H_PASSPORT, /* Passport 1 */
    H_ENTRY1,   /* Entry 1: Mix and One */
    H_DEAD_PLAYLIST, /* Playlist 3, Gone: deleted (with its entry) before the row runs */
    H_DEAD_SONG,     /* Song 4: deleted */
    H_DEAD_PERSON,   /* Person 3: deleted */
    H_X_MIX,         /* objects of the other store */
    H_X_ONE,
    H_X_ANN,
    H_COUNT
} handle;

typedef enum op { OP_ADD = 1, OP_REMOVE, OP_CLEAR, OP_MOVE, OP_REVERSE_ONE, OP_END } op;

typedef enum within {
    IN_PLAIN = 0, /* outside any transaction */
    IN_VISIT,     /* from a store_query_visit() callback */
    IN_READONLY,  /* inside a read-only transaction */
    IN_RO_STORE,  /* on a store opened read-only (from a file written first) */
    IN_END
} within;

typedef struct row {
    const char *name;
    op op;
    bool no_db;  /* the store argument is NULL */
    handle obj;  /* OBJ (store_reverse_one: PARENT) */
    handle other;
    const char *rel; /* NAME (store_reverse_one: RELATED_NAME) */
    const store_value *payload;
    size_t from, to;
    within in;
    int rc;
    handle want;         /* store_reverse_one: the object it must return (H_NULL: none) */
    const char *culprit; /* what store_errmsg() must hold when RC is not STORE_OK */
} row;

#define ADD(o, n, x) .op = OP_ADD, .obj = (o), .rel = (n), .other = (x)
#define REMOVE(o, n, x) .op = OP_REMOVE, .obj = (o), .rel = (n), .other = (x)
#define CLEAR(o, n) .op = OP_CLEAR, .obj = (o), .rel = (n)
#define MOVE(o, n, f, t) .op = OP_MOVE, .obj = (o), .rel = (n), .from = (f), .to = (t)
#define ONE(o, n) .op = OP_REVERSE_ONE, .obj = (o), .rel = (n)
#define PAYLOAD(...) .payload = (const store_value[]){__VA_ARGS__, {0}}
#define FAILS(code, who) .rc = STORE_##code, .culprit = (who)
#define OK .rc = STORE_OK

static const row rows[] = {
    /* store_m2m_add */
    {"add: NULL store", .no_db = true, ADD(H_MIX, "songs", H_THREE),
     FAILS(EINVAL, "store_m2m_add: the store is NULL")},
    {"add: NULL object", ADD(H_NULL, "songs", H_THREE), FAILS(EINVAL, "the object is NULL")},
    {"add: NULL other", ADD(H_MIX, "songs", H_NULL), FAILS(EINVAL, "the object is NULL")},
    {"add: deleted object", ADD(H_DEAD_PLAYLIST, "songs", H_THREE), FAILS(EINVAL, "deleted")},
    {"add: deleted other", ADD(H_MIX, "songs", H_DEAD_SONG), FAILS(EINVAL, "deleted")},
    {"add: object of another store", ADD(H_X_MIX, "songs", H_THREE),
     FAILS(EINVAL, "not of this store")},
    {"add: other of another store", ADD(H_MIX, "songs", H_X_ONE),
     FAILS(EINVAL, "not of this store")},
    {"add: NULL name", ADD(H_MIX, NULL, H_THREE), FAILS(EINVAL, "the name is NULL")},
    {"add: unknown name", ADD(H_MIX, "nope", H_THREE),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"nope\"")},
    {"add: a FK's related name", ADD(H_MIX, "entries", H_THREE),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"entries\"")},
    {"add: a field's name", ADD(H_MIX, "name", H_THREE),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"name\"")},
    {"add: the far side's name on the near side", ADD(H_MIX, "playlists", H_THREE),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"playlists\"")},
    {"add: the declaring side's name on the far side", ADD(H_THREE, "songs", H_MIX),
     FAILS(EINVAL, "Song has no many-to-many relation \"songs\"")},
    {"add: the through model's relation name", ADD(H_DUNE, "book_tags", H_SF),
     FAILS(EINVAL, "no many-to-many relation \"book_tags\"")},
    {"add: other of the wrong model", ADD(H_MIX, "songs", H_DUNE),
     FAILS(EINVAL, "links Song objects, not Book")},
    {"add: other of the wrong model, far side", ADD(H_ONE, "playlists", H_TWO),
     FAILS(EINVAL, "links Playlist objects, not Song")},
    {"add: other of the object's own model", ADD(H_MIX, "songs", H_ROCK),
     FAILS(EINVAL, "links Song objects, not Playlist")},
    {"add: payload naming the near key", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_REF("playlist", NULL)),
     FAILS(EINVAL, "Entry.playlist: set by store_m2m_add()")},
    {"add: payload naming the far key", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_STR("note", "fine"), STORE_V_REF("song", NULL)),
     FAILS(EINVAL, "Entry.song: set by store_m2m_add()")},
    {"add: payload naming a key, far side", ADD(H_THREE, "playlists", H_MIX),
     PAYLOAD(STORE_V_REF("song", NULL)), FAILS(EINVAL, "Entry.song: set by")},
    {"add: other of the wrong model, far side of the store's through model",
     ADD(H_SF, "books", H_ROCK), FAILS(EINVAL, "links Book objects, not Playlist")},
    {"add: payload naming a key of the store's through model", ADD(H_DUNE, "tags", H_OLD),
     PAYLOAD(STORE_V_REF("book", NULL)), FAILS(EINVAL, "Book_tags.book: set by")},
    {"add: payload on the store's through model", ADD(H_OLD, "books", H_DUNE),
     PAYLOAD(STORE_V_INT("rank", 1)), FAILS(EINVAL, "Book_tags: no field \"rank\"")},
    {"add: payload with an unknown field", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_STR("nope", "x")), FAILS(EINVAL, "Entry: no field \"nope\"")},
    {"add: the pair linked already, payload unknown to the through model",
     ADD(H_DUNE, "tags", H_SF), PAYLOAD(STORE_V_INT("rank", 1)),
     OK}, /* linked already: nothing changes, the payload is not applied */
    {"add: payload of the wrong kind", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_INT("note", 3)), FAILS(EINVAL, "Entry.note")},
    {"add: payload of the wrong kind for an INT", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_STR("plays", "many")), FAILS(EINVAL, "Entry.plays")},
    {"add: payload with a field twice", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_INT("plays", 1), STORE_V_INT("plays", 2)),
     FAILS(EINVAL, "Entry.plays: given twice")},
    {"add: payload too long a string", ADD(H_MIX, "songs", H_THREE),
     PAYLOAD(STORE_V_STR("note", "0123456789012345678901234567890123456789012345678901234567890"
                                 "123")),
     FAILS(EINVAL, "Entry.note")},
    {"add: wide payload with an unknown field", ADD(H_TOP, "hits", H_THREE),
     PAYLOAD(STORE_V_INT("v0", 0), STORE_V_INT("v1", 1), STORE_V_INT("v2", 2),
             STORE_V_INT("v3", 3), STORE_V_INT("v4", 4), STORE_V_INT("v5", 5),
             STORE_V_INT("v6", 6), STORE_V_INT("v7", 7), STORE_V_INT("v8", 8),
             STORE_V_INT("v9", 9), STORE_V_INT("v10", 10), STORE_V_INT("v11", 11),
             STORE_V_INT("v12", 12), STORE_V_INT("v13", 13), STORE_V_INT("v14", 14),
             STORE_V_INT("v15", 15), STORE_V_INT("v16", 16), STORE_V_INT("v99", 17)),
     FAILS(EINVAL, "Rank: no field \"v99\"")},
    {"add: wide payload naming a key last", ADD(H_TOP, "hits", H_THREE),
     PAYLOAD(STORE_V_INT("v0", 0), STORE_V_INT("v1", 1), STORE_V_INT("v2", 2),
             STORE_V_INT("v3", 3), STORE_V_INT("v4", 4), STORE_V_INT("v5", 5),
             STORE_V_INT("v6", 6), STORE_V_INT("v7", 7), STORE_V_INT("v8", 8),
             STORE_V_INT("v9", 9), STORE_V_INT("v10", 10), STORE_V_INT("v11", 11),
             STORE_V_INT("v12", 12), STORE_V_INT("v13", 13), STORE_V_INT("v14", 14),
             STORE_V_INT("v15", 15), STORE_V_INT("v16", 16), STORE_V_REF("chart", NULL)),
     FAILS(EINVAL, "Rank.chart: set by store_m2m_add()")},
    {"add: the pair linked already, with a payload", ADD(H_MIX, "songs", H_ONE),
     PAYLOAD(STORE_V_STR("note", "not applied"), STORE_V_INT("plays", 99)), OK},
    {"add: on a read-only store", ADD(H_MIX, "songs", H_THREE), .in = IN_RO_STORE,
     FAILS(EINVAL, "read-only")},
    {"add: from a visit callback", ADD(H_MIX, "songs", H_THREE), .in = IN_VISIT,
     FAILS(EBUSY, "store_m2m_add: called while this thread reads the store")},
    {"add: inside a read-only transaction", ADD(H_MIX, "songs", H_THREE), .in = IN_READONLY,
     FAILS(EINVAL, "store_m2m_add: called inside a read-only transaction")},

    /* store_m2m_remove */
    {"remove: NULL store", .no_db = true, REMOVE(H_MIX, "songs", H_ONE),
     FAILS(EINVAL, "store_m2m_remove: the store is NULL")},
    {"remove: NULL object", REMOVE(H_NULL, "songs", H_ONE), FAILS(EINVAL, "the object is NULL")},
    {"remove: NULL other", REMOVE(H_MIX, "songs", H_NULL), FAILS(EINVAL, "the object is NULL")},
    {"remove: deleted object", REMOVE(H_DEAD_PLAYLIST, "songs", H_THREE),
     FAILS(EINVAL, "deleted")},
    {"remove: deleted other", REMOVE(H_MIX, "songs", H_DEAD_SONG), FAILS(EINVAL, "deleted")},
    {"remove: object of another store", REMOVE(H_X_MIX, "songs", H_ONE),
     FAILS(EINVAL, "not of this store")},
    {"remove: other of another store", REMOVE(H_MIX, "songs", H_X_ONE),
     FAILS(EINVAL, "not of this store")},
    {"remove: NULL name", REMOVE(H_MIX, NULL, H_ONE), FAILS(EINVAL, "the name is NULL")},
    {"remove: unknown name", REMOVE(H_MIX, "nope", H_ONE),
     FAILS(EINVAL, "no many-to-many relation \"nope\"")},
    {"remove: a FK's related name", REMOVE(H_ONE, "entries", H_MIX),
     FAILS(EINVAL, "Song has no many-to-many relation \"entries\"")},
    {"remove: other of the wrong model", REMOVE(H_MIX, "songs", H_ENTRY1),
     FAILS(EINVAL, "links Song objects, not Entry")},
    {"remove: an absent pair", REMOVE(H_MIX, "songs", H_THREE),
     FAILS(ENOTFOUND, "Playlist 1 and Song 3 are not linked in songs")},
    {"remove: an absent pair, far side", REMOVE(H_ONE, "playlists", H_ROCK),
     FAILS(ENOTFOUND, "not linked")},
    {"remove: a pair linked in another relation", REMOVE(H_TOP, "hits", H_ONE),
     FAILS(ENOTFOUND, "not linked")},
    {"remove: a song whose one link went with a deleted playlist",
     REMOVE(H_THREE, "playlists", H_ROCK),
     FAILS(ENOTFOUND, "not linked")},
    {"remove: on a read-only store", REMOVE(H_MIX, "songs", H_ONE), .in = IN_RO_STORE,
     FAILS(EINVAL, "read-only")},
    {"remove: from a visit callback", REMOVE(H_MIX, "songs", H_ONE), .in = IN_VISIT,
     FAILS(EBUSY, "store_m2m_remove: called while this thread reads the store")},
    {"remove: inside a read-only transaction", REMOVE(H_MIX, "songs", H_ONE), .in = IN_READONLY,
     FAILS(EINVAL, "store_m2m_remove: called inside a read-only transaction")},
    {"remove: an absent pair inside a read-only transaction", REMOVE(H_MIX, "songs", H_THREE),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},

    /* store_m2m_clear */
    {"clear: NULL store", .no_db = true, CLEAR(H_MIX, "songs"),
     FAILS(EINVAL, "store_m2m_clear: the store is NULL")},
    {"clear: NULL object", CLEAR(H_NULL, "songs"), FAILS(EINVAL, "the object is NULL")},
    {"clear: deleted object", CLEAR(H_DEAD_PLAYLIST, "songs"), FAILS(EINVAL, "deleted")},
    {"clear: deleted object, far side", CLEAR(H_DEAD_SONG, "playlists"),
     FAILS(EINVAL, "deleted")},
    {"clear: object of another store", CLEAR(H_X_MIX, "songs"),
     FAILS(EINVAL, "not of this store")},
    {"clear: NULL name", CLEAR(H_MIX, NULL), FAILS(EINVAL, "the name is NULL")},
    {"clear: unknown name", CLEAR(H_MIX, "nope"),
     FAILS(EINVAL, "no many-to-many relation \"nope\"")},
    {"clear: a FK's related name", CLEAR(H_MIX, "entries"),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"entries\"")},
    {"clear: a one-to-one's name", CLEAR(H_ANN, "passport"),
     FAILS(EINVAL, "Person has no many-to-many relation \"passport\"")},
    {"clear: an empty list", CLEAR(H_ROCK, "songs"), OK},
    {"clear: on a read-only store", CLEAR(H_MIX, "songs"), .in = IN_RO_STORE,
     FAILS(EINVAL, "read-only")},
    {"clear: an empty list on a read-only store", CLEAR(H_ROCK, "songs"), .in = IN_RO_STORE,
     FAILS(EINVAL, "read-only")},
    {"clear: from a visit callback", CLEAR(H_MIX, "songs"), .in = IN_VISIT,
     FAILS(EBUSY, "store_m2m_clear: called while this thread reads the store")},
    {"clear: inside a read-only transaction", CLEAR(H_MIX, "songs"), .in = IN_READONLY,
     FAILS(EINVAL, "store_m2m_clear: called inside a read-only transaction")},

    /* store_m2m_move */
    {"move: NULL store", .no_db = true, MOVE(H_MIX, "songs", 0, 1),
     FAILS(EINVAL, "store_m2m_move: the store is NULL")},
    {"move: NULL object", MOVE(H_NULL, "songs", 0, 1), FAILS(EINVAL, "the object is NULL")},
    {"move: deleted object", MOVE(H_DEAD_PLAYLIST, "songs", 0, 0), FAILS(EINVAL, "deleted")},
    {"move: object of another store", MOVE(H_X_MIX, "songs", 0, 1),
     FAILS(EINVAL, "not of this store")},
    {"move: NULL name", MOVE(H_MIX, NULL, 0, 1), FAILS(EINVAL, "the name is NULL")},
    {"move: unknown name", MOVE(H_MIX, "nope", 0, 1),
     FAILS(EINVAL, "no many-to-many relation \"nope\"")},
    {"move: a FK's related name", MOVE(H_MIX, "entries", 0, 1),
     FAILS(EINVAL, "Playlist has no many-to-many relation \"entries\"")},
    {"move: FROM at the length", MOVE(H_MIX, "songs", 2, 0),
     FAILS(EINVAL, "Playlist 1.songs: position 2 of 2 links")},
    {"move: TO at the length", MOVE(H_MIX, "songs", 0, 2),
     FAILS(EINVAL, "Playlist 1.songs: position 2 of 2 links")},
    {"move: both far out", MOVE(H_MIX, "songs", SIZE_MAX, SIZE_MAX), FAILS(EINVAL, "of 2 links")},
    {"move: TO far out, FROM equal", MOVE(H_MIX, "songs", 7, 7), FAILS(EINVAL, "position 7")},
    {"move: an empty list", MOVE(H_ROCK, "songs", 0, 0),
     FAILS(EINVAL, "Playlist 2.songs: position 0 of 0 links")},
    {"move: far side past its length", MOVE(H_ONE, "playlists", 0, 1),
     FAILS(EINVAL, "Song 1.playlists: position 1 of 1 links")},
    {"move: to its own place", MOVE(H_MIX, "songs", 1, 1), OK},
    {"move: on a read-only store", MOVE(H_MIX, "songs", 0, 1), .in = IN_RO_STORE,
     FAILS(EINVAL, "read-only")},
    {"move: from a visit callback", MOVE(H_MIX, "songs", 0, 1), .in = IN_VISIT,
     FAILS(EBUSY, "store_m2m_move: called while this thread reads the store")},
    {"move: inside a read-only transaction", MOVE(H_MIX, "songs", 0, 1), .in = IN_READONLY,
     FAILS(EINVAL, "store_m2m_move: called inside a read-only transaction")},
    {"move: out of range inside a read-only transaction", MOVE(H_MIX, "songs", 5, 1),
     .in = IN_READONLY, FAILS(EINVAL, "read-only transaction")},

    /* store_reverse_one */
    {"reverse_one: the one child", ONE(H_ANN, "passport"), OK, .want = H_PASSPORT},
    {"reverse_one: no child", ONE(H_BEA, "passport"), OK, .want = H_NULL},
    {"reverse_one: the one child, read-only store", ONE(H_ANN, "passport"), .in = IN_RO_STORE,
     OK, .want = H_PASSPORT},
    {"reverse_one: the one child, from a visit callback", ONE(H_ANN, "passport"),
     .in = IN_VISIT, OK, .want = H_PASSPORT},
    {"reverse_one: the one child, in a read-only transaction", ONE(H_ANN, "passport"),
     .in = IN_READONLY, OK, .want = H_PASSPORT},
    {"reverse_one: NULL parent", ONE(H_NULL, "passport"), .want = H_NULL,
     FAILS(EINVAL, "store_reverse_one: the object is NULL")},
    {"reverse_one: NULL name", ONE(H_ANN, NULL), .want = H_NULL,
     FAILS(EINVAL, "store_reverse_one: the related name is NULL")},
    {"reverse_one: unknown name", ONE(H_ANN, "nope"), .want = H_NULL,
     FAILS(EINVAL, "Person: no reverse relation \"nope\"")},
    {"reverse_one: a non-unique relation", ONE(H_MIX, "entries"), .want = H_NULL,
     FAILS(EINVAL, "Playlist: not a one-to-one relation")},
    {"reverse_one: a non-unique relation with children", ONE(H_ENTRY1, "marks"),
     .want = H_NULL, FAILS(EINVAL, "Entry: not a one-to-one relation")},
    {"reverse_one: the store's through relation", ONE(H_DUNE, "book_tags"), .want = H_NULL,
     FAILS(EINVAL, "not a one-to-one")},
    {"reverse_one: a many-to-many name", ONE(H_MIX, "songs"), .want = H_NULL,
     FAILS(EINVAL, "Playlist: no reverse relation \"songs\"")},
    {"reverse_one: a field's name", ONE(H_ANN, "name"), .want = H_NULL,
     FAILS(EINVAL, "no reverse relation \"name\"")},
    {"reverse_one: a foreign key's name on the child", ONE(H_PASSPORT, "person"),
     .want = H_NULL, FAILS(EINVAL, "Passport: no reverse relation \"person\"")},
    /* A deleted parent whose chunk still holds living objects keeps its model word: the
     * call must still find it dead (under the lock) and say so. */
    {"reverse_one: a deleted parent", ONE(H_DEAD_PERSON, "passport"), .want = H_NULL,
     FAILS(EINVAL, "deleted")},
};

enum { NROWS = (int)(sizeof rows / sizeof rows[0]) };

/* ---- The stores a row runs on ---------------------------------------------------------------- */

static store *rdb, *xdb; /* the row's store and the other one */
static store_obj *h[H_COUNT];
static char row_dir[64], row_path[128];

/* The living objects of populate(), by model and id, for a store reopened from its file. */
static const struct {
    handle h;
    const char *model;
    uint64_t id;
} live[] = {
    {H_MIX, "Playlist", 1}, {H_ROCK, "Playlist", 2}, {H_ONE, "Song", 1},
    {H_TWO, "Song", 2},     {H_THREE, "Song", 3},    {H_DUNE, "Book", 1},
    {H_SF, "Tag", 1},       {H_OLD, "Tag", 2},       {H_TOP, "Chart", 1},     {H_ANN, "Person", 1},
    {H_BEA, "Person", 2},   {H_PASSPORT, "Passport", 1}, {H_ENTRY1, "Entry", 1},
};

/* Fills X as the handles say; DEAD (may be NULL) gets the three deleted objects. */
static void populate(store *x, store_obj **dead)
{
    store_obj *mix = named(x, "Playlist", "name", "Mix");
    named(x, "Playlist", "name", "Rock");
    store_obj *gone = named(x, "Playlist", "name", "Gone");
    store_obj *one = named(x, "Song", "title", "One"), *two = named(x, "Song", "title", "Two");
    store_obj *three = named(x, "Song", "title", "Three");
    store_obj *dead_song = named(x, "Song", "title", "Dead");
    store_obj *e1 = link_in(x, mix, "songs", one,
                            (store_value[]){STORE_V_STR("note", "opener"), {0}});
    link_in(x, two, "playlists", mix, NULL);
    link_in(x, gone, "songs", three, NULL);
    make_in(x, "Mark", (store_value[]){STORE_V_REF("entry", e1), STORE_V_STR("label", "m"), {0}});
    store_obj *dune = named(x, "Book", "title", "Dune"), *sf = named(x, "Tag", "name", "sf");
    link_in(x, dune, "tags", sf, NULL);
    named(x, "Tag", "name", "old");
    named(x, "Chart", "name", "Top");
    store_obj *ann = named(x, "Person", "name", "Ann");
    named(x, "Person", "name", "Bea");
    store_obj *cy = named(x, "Person", "name", "Cy");
    make_in(x, "Passport",
            (store_value[]){STORE_V_REF("person", ann), STORE_V_STR("number", "X1"), {0}});
    make_in(x, "Passport",
            (store_value[]){STORE_V_REF("person", cy), STORE_V_STR("number", "X3"), {0}});
    cr_assert_eq(store_delete(x, gone), STORE_OK, "%s", store_errmsg(x));
    cr_assert_eq(store_delete(x, dead_song), STORE_OK, "%s", store_errmsg(x));
    cr_assert_eq(store_delete(x, cy), STORE_OK, "%s", store_errmsg(x));
    if (dead) {
        dead[0] = gone;
        dead[1] = dead_song;
        dead[2] = cy;
    }
}

static void resolve(store *x, store_obj **into)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        store_obj *o = NULL;
        cr_assert_eq(store_get(x, model(x, live[i].model), live[i].id, &o), STORE_OK,
                     "%s %llu", live[i].model, (unsigned long long)live[i].id);
        into[live[i].h] = o;
    }
}

/* Opens and fills the row's store (from a file, read-only, for IN_RO_STORE) and the other. */
static void stores_up(const row *r)
{
    memset(h, 0, sizeof h);
    store_obj *dead[3] = {NULL, NULL, NULL};
    if (r->in == IN_RO_STORE) {
        test_dir_new(row_dir, row_path, "m2m_faults");
        cr_assert_eq(store_open(&rdb, fs, row_path, NULL), STORE_OK, "%s", store_errmsg(NULL));
        populate(rdb, NULL);
        cr_assert_eq(store_close(rdb), STORE_OK);
        cr_assert_eq(store_open(&rdb, fs, row_path,
                                &(store_options){.flags = STORE_OPEN_READONLY}),
                     STORE_OK, "%s", store_errmsg(NULL));
    } else {
        cr_assert_eq(store_open(&rdb, fs, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
        populate(rdb, dead);
    }
    resolve(rdb, h);
    h[H_DEAD_PLAYLIST] = dead[0];
    h[H_DEAD_SONG] = dead[1];
    h[H_DEAD_PERSON] = dead[2];
    cr_assert_eq(store_open(&xdb, fs, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    populate(xdb, NULL);
    store_obj *x[H_COUNT] = {NULL};
    resolve(xdb, x);
    h[H_X_MIX] = x[H_MIX];
    h[H_X_ONE] = x[H_ONE];
    h[H_X_ANN] = x[H_ANN];
}

static void stores_down(const row *r)
{
    store_close(rdb);
    store_close(xdb);
    rdb = xdb = NULL;
    if (r && r->in == IN_RO_STORE)
        test_dir_remove(row_dir);
    library_teardown(); /* frees the dumps (no library store is open here) */
}

static store_obj *handle_obj(const row *r, handle x)
{
    if (x == H_NONE || x == H_NULL)
        return NULL;
    cr_assert_not_null(h[x], "row \"%s\": handle %d is not set in this context", r->name, x);
    return h[x];
}

/* ---- Running a row --------------------------------------------------------------------------- */

typedef struct outcome {
    int rc;
    store_obj *one; /* store_reverse_one()'s answer */
    char msg[512];  /* the detail right after the call */
} outcome;

/* Whether R's detail goes to the calls without a store (store_errmsg(NULL)). */
static bool global_msg(const row *r)
{
    return r->no_db || (r->op == OP_REVERSE_ONE && r->obj == H_NULL);
}

static void call(const row *r, outcome *out)
{
    store *d = r->no_db ? NULL : rdb;
    store_obj *o = handle_obj(r, r->obj), *x = handle_obj(r, r->other);
    switch (r->op) {
    case OP_ADD: {
        store_obj *sentinel = (store_obj *)&sentinel, *l = sentinel;
        out->rc = store_m2m_add(d, o, r->rel, x, r->payload, &l);
        if (out->rc == STORE_OK) {
            /* Every OK row adds a pair linked already: *LINK is its link. */
            store_obj *want = NULL;
            store_iter it = store_reverse(o, store_obj_model(o) == store_model_find(rdb, "Book")
                                                 ? "book_tags"
                                                 : "entries");
            for (store_obj *e; (e = store_next(&it));)
                if (store_ref(e, "song") == x || store_ref(e, "tag") == x)
                    want = e;
            if (l != want)
                out->rc = 999; /* reported as a wrong code */
        } else if (l != sentinel) {
            out->rc = 998;
        }
        break;
    }
    case OP_REMOVE:
        out->rc = store_m2m_remove(d, o, r->rel, x);
        break;
    case OP_CLEAR:
        out->rc = store_m2m_clear(d, o, r->rel);
        break;
    case OP_MOVE:
        out->rc = store_m2m_move(d, o, r->rel, r->from, r->to);
        break;
    case OP_REVERSE_ONE:
        out->one = store_reverse_one(o, r->rel);
        out->rc = out->one == handle_obj(r, r->want) ? r->rc : 997;
        break;
    default:
        cr_assert_fail("row \"%s\": no op", r->name);
    }
    snprintf(out->msg, sizeof out->msg, "%s", store_errmsg(global_msg(r) ? NULL : rdb));
}

typedef struct visit_arg {
    const row *r;
    outcome *out;
    int calls;
} visit_arg;

static bool visit_call(store_obj *obj, void *arg)
{
    (void)obj;
    visit_arg *v = arg;
    v->calls++;
    call(v->r, v->out);
    return false; /* once is enough */
}

static void run_in_context(const row *r, outcome *out)
{
    switch (r->in) {
    case IN_PLAIN:
    case IN_RO_STORE:
        call(r, out);
        break;
    case IN_VISIT: {
        store_query *q;
        cr_assert_eq(store_query_new(rdb, model(rdb, "Song"), &q), STORE_OK);
        visit_arg v = {r, out, 0};
        int rc = store_query_visit(q, NULL, visit_call, &v);
        store_query_free(q);
        cr_assert_eq(rc, STORE_OK, "row \"%s\": the visit: %s", r->name, store_errmsg(rdb));
        cr_assert_eq(v.calls, 1, "row \"%s\": the callback ran %d times", r->name, v.calls);
        break;
    }
    case IN_READONLY: {
        store_txn *t = NULL;
        cr_assert_eq(store_begin(rdb, STORE_TXN_READONLY, &t), STORE_OK, "%s",
                     store_errmsg(rdb));
        call(r, out);
        cr_assert_eq(store_commit(t), STORE_OK, "row \"%s\": the read-only transaction's end",
                     r->name);
        break;
    }
    default:
        cr_assert_fail("row \"%s\": no context", r->name);
    }
}

/* Leaves a detail that does not contain R's culprit where R's detail will go, so that a
 * call that forgets to set one cannot pass on a stale message. */
static void clear_msg(const row *r)
{
    if (!r->culprit)
        return;
    if (global_msg(r))
        cr_assert_eq(store_schema_new(NULL), STORE_EINVAL);
    else
        cr_assert_eq(store_get(rdb, model(rdb, "Song"), 424242, &(store_obj *){NULL}),
                     STORE_ENOTFOUND);
    const char *msg = store_errmsg(global_msg(r) ? NULL : rdb);
    cr_assert(msg[0] && !strstr(msg, r->culprit), "row \"%s\": cannot clear the detail (%s)",
              r->name, msg);
}

static const char *rc_name(int rc)
{
    static char buf[4][48];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%d (%s)", rc, store_strerror(rc));
    return b;
}

/* Runs row R on fresh stores; whether it behaved, logging what did not. */
static bool check_row(const row *r)
{
    stores_up(r);
    clear_msg(r);
    const char *before = dump_store(rdb), *xbefore = dump_store(xdb);
    outcome out = {.rc = -12345};
    run_in_context(r, &out);
    bool good = true;
    if (out.rc != r->rc) {
        cr_log_error("row \"%s\": returned %s, expected %s; errmsg \"%s\"", r->name,
                     rc_name(out.rc), rc_name(r->rc), out.msg);
        good = false;
    }
    if (r->rc != STORE_OK && !strstr(out.msg, r->culprit)) {
        cr_log_error("row \"%s\": errmsg \"%s\" does not name \"%s\"", r->name, out.msg,
                     r->culprit);
        good = false;
    }
    /* Every row, the OK ones too, is a call that must change nothing. */
    if (!same_store(rdb, before) || !same_store(xdb, xbefore)) {
        cr_log_error("row \"%s\": the call changed a store", r->name);
        good = false;
    }
    store *both[] = {rdb, xdb};
    for (int i = 0; i < 2; i++) {
        int crc = store_check(both[i]);
        if (crc != STORE_OK) {
            cr_log_error("row \"%s\": store_check: %s", r->name, store_errmsg(both[i]));
            good = false;
        }
    }
    stores_down(r);
    return good;
}

static void bad_setup(void)
{
    fail_alloc_at(-1);
    fs = faults_schema();
}

static void bad_teardown(void)
{
    stores_down(NULL);
    store_schema_free(fs);
    fs = NULL;
}

TestSuite(m2m_bad_input, .init = bad_setup, .fini = bad_teardown);

Test(m2m_bad_input, every_row_returns_its_code_names_the_culprit_and_changes_nothing)
{
    int failed = 0;
    for (int i = 0; i < NROWS; i++)
        failed += !check_row(&rows[i]);
    cr_log_info("%d rows, %d misbehaved", NROWS, failed);
    cr_assert_eq(failed, 0, "%d of %d rows misbehaved (see the log above)", failed, NROWS);
}

Test(m2m_bad_input, the_table_covers_every_call_in_every_context)
{
    bool seen[OP_END][IN_END];
    memset(seen, 0, sizeof seen);
    int ok_rows = 0;
    for (int i = 0; i < NROWS; i++) {
        seen[rows[i].op][rows[i].in] = true;
        ok_rows += rows[i].rc == STORE_OK;
        cr_assert(rows[i].rc == STORE_OK || rows[i].culprit, "row \"%s\" names no culprit",
                  rows[i].name);
    }
    for (int op = OP_ADD; op < OP_END; op++)
        for (int in = IN_PLAIN; in < IN_END; in++)
            cr_assert(seen[op][in], "no row for op %d in context %d", op, in);
    cr_assert_geq(ok_rows, 8);
    cr_assert_geq(NROWS - ok_rows, 80);
}

/* The rows above each run on fresh stores; here the failing ones of the four changing calls
 * run back to back on one, which must end as it began. */
Test(m2m_bad_input, failed_rows_run_back_to_back_leave_no_trace)
{
    row plain = {.in = IN_PLAIN};
    stores_up(&plain);
    const char *before = dump_store(rdb);
    int ran = 0;
    for (int i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        if (r->rc == STORE_OK || r->in != IN_PLAIN || r->op == OP_REVERSE_ONE)
            continue;
        outcome out = {.rc = 0};
        call(r, &out);
        cr_assert_eq(out.rc, r->rc, "row \"%s\": %s", r->name, rc_name(out.rc));
        ran++;
    }
    cr_assert_gt(ran, 50);
    cr_assert(same_store(rdb, before));
    check_invariants(rdb);
    stores_down(&plain);
}

/* ==== Allocation failures ================================================================== */

/* How many failures a call may take before it must have got through. */
enum { MAX_FAILURES = 100000, NSONGS = 50 };

static store *s;
static store_obj *mix, *top, *fresh, *songs[NSONGS], *made;
static uint64_t next_entry, next_rank;
static size_t entries_before, marks_before, songs_before;

/* Mix holds NSONGS songs, S0 ... S49, every tenth entry with a Mark (CASCADE) and every
 * third with a note past the inline room; Fresh is in no playlist; Top has no hits. */
static void fa_setup(void)
{
    fail_alloc_at(-1);
    fs = faults_schema();
    cr_assert_eq(store_open(&s, fs, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    mix = named(s, "Playlist", "name", "Mix");
    top = named(s, "Chart", "name", "Top");
    char title[32];
    for (int i = 0; i < NSONGS; i++) {
        snprintf(title, sizeof title, "S%d", i);
        songs[i] = named(s, "Song", "title", title);
        store_obj *e = link_in(s, mix, "songs", songs[i],
                               i % 3 ? NULL
                                     : (store_value[]){STORE_V_STR("note", "a note long enough "
                                                                           "to be kept apart"),
                                                       {0}});
        if (i % 10 == 0)
            make_in(s, "Mark",
                    (store_value[]){STORE_V_REF("entry", e), STORE_V_STR("label", title), {0}});
    }
    fresh = named(s, "Song", "title", "Fresh");
    made = NULL;
}

static void fa_teardown(void)
{
    fail_alloc_at(-1);
    store_close(s);
    s = NULL;
    store_schema_free(fs);
    fs = NULL;
    library_teardown(); /* frees the dumps */
}

TestSuite(m2m_failalloc, .init = fa_setup, .fini = fa_teardown);

static void arm(long n, bool for_good)
{
    if (for_good)
        fail_alloc_from(n);
    else
        fail_alloc_at(n);
}

/* No transaction of the calling thread is open on s, and its lock is free. */
static void no_transaction_open(void)
{
    cr_assert_null(s->txn, "a write transaction is left open");
    cr_assert_null(rs_txn_mine(s), "the thread still holds a transaction");
    cr_assert_not(rs_lock_held(&s->lock), "the thread still holds the lock");
    store_txn *t = NULL;
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_rollback(t), STORE_OK);
}

/* T is open and the innermost level of the calling thread's write transaction. */
static void still_open(store_txn *t)
{
    cr_assert_eq(s->txn, t, "the innermost write level changed");
    cr_assert_null(t->inner, "a level was left open inside");
    cr_assert_eq(rs_txn_mine(s), t, "the thread's transaction changed");
    cr_assert(rs_lock_held_write(&s->lock), "the write lock was given back");
}

typedef struct scenario {
    void (*inside)(void); /* in a transaction: a change made before the call, or NULL */
    int (*call)(void);    /* the call under test */
    void (*verify)(void); /* checks the result once the call got through */
    bool quiet_outside;   /* outside a transaction the call allocates nothing */
} scenario;

/* Runs SC's call until it gets through, checking each failure against the dump BEFORE; T
 * is the transaction it is made in, or NULL. Returns how many failures it took. */
static long fail_until_through(const scenario *sc, bool for_good, const char *before,
                               store_txn *t)
{
    next_entry = store_model_next_id(model(s, "Entry"));
    next_rank = store_model_next_id(model(s, "Rank"));
    entries_before = store_model_count(model(s, "Entry"));
    marks_before = store_model_count(model(s, "Mark"));
    songs_before = store_model_count(model(s, "Song"));
    long n = 0;
    for (;; n++) {
        arm(n, for_good);
        int rc = sc->call();
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK) {
            cr_assert_not(hit, "allocation %ld failed, yet the call succeeded", n);
            break;
        }
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s (%s)", n, store_strerror(rc),
                     store_errmsg(s));
        cr_assert(hit, "allocation %ld: STORE_ENOMEM, and no allocation failed", n);
        cr_assert(same_store(s, before), "allocation %ld: the failed call changed the store", n);
        check_invariants(s);
        if (t)
            still_open(t);
        else
            no_transaction_open();
        cr_assert_lt(n, MAX_FAILURES, "the call never gets through");
    }
    cr_log_info("got through after %ld failures", n);
    return n;
}

static void run_outside(const scenario *sc, bool for_good)
{
    const char *before = dump_store(s);
    long n = fail_until_through(sc, for_good, before, NULL);
    if (sc->quiet_outside)
        cr_assert_eq(n, 0, "the call allocated outside a transaction");
    else
        cr_assert_gt(n, 0, "the call made no allocation that could fail");
    sc->verify();
    check_invariants(s);
    no_transaction_open();
}

static void run_inside(const scenario *sc, bool for_good, bool commit)
{
    const char *before = dump_store(s);
    store_txn *t = NULL;
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK, "%s", store_errmsg(s));
    if (sc->inside)
        sc->inside();
    const char *inside = dump_store(s);
    size_t room = s->capundo;
    long n = fail_until_through(sc, for_good, inside, t);
    cr_assert_gt(n, 0, "the call made no allocation that could fail");
    if (!sc->inside) /* the transaction's first change: it made the undo log */
        cr_assert(!room && s->capundo, "the call made no undo log (%zu, %zu)", room,
                  s->capundo);
    sc->verify();
    check_invariants(s);
    const char *after = dump_store(s);
    fail_alloc_from(0);
    int rc = commit ? store_commit(t) : store_rollback(t);
    long tried = fail_alloc_count();
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s with every allocation failing: %s (%s)",
                 commit ? "store_commit" : "store_rollback", store_strerror(rc), store_errmsg(s));
    cr_assert_eq(tried, 0, "the %s tried %ld allocations", commit ? "commit" : "rollback",
                 tried);
    cr_assert(same_store(s, commit ? after : before), "the %s left another store",
              commit ? "commit" : "rollback");
    check_invariants(s);
    no_transaction_open();
}

#define SCENARIO(name, ...)                                                                     \
    static const scenario name = {__VA_ARGS__};                                                 \
    Test(m2m_failalloc, name##_outside_at_each_allocation)                                      \
    {                                                                                           \
        run_outside(&name, false);                                                              \
    }                                                                                           \
    Test(m2m_failalloc, name##_outside_when_allocations_fail_for_good)                          \
    {                                                                                           \
        run_outside(&name, true);                                                               \
    }                                                                                           \
    Test(m2m_failalloc, name##_inside_at_each_allocation_then_commits)                          \
    {                                                                                           \
        run_inside(&name, false, true);                                                         \
    }                                                                                           \
    Test(m2m_failalloc, name##_inside_at_each_allocation_then_rolls_back)                       \
    {                                                                                           \
        run_inside(&name, false, false);                                                        \
    }                                                                                           \
    Test(m2m_failalloc, name##_inside_when_allocations_fail_for_good_then_commits)              \
    {                                                                                           \
        run_inside(&name, true, true);                                                          \
    }                                                                                           \
    Test(m2m_failalloc, name##_inside_when_allocations_fail_for_good_then_rolls_back)           \
    {                                                                                           \
        run_inside(&name, true, false);                                                         \
    }

/* A change made inside the transaction before the call: a new song. */
static void add_song(void)
{
    named(s, "Song", "title", "Made inside the transaction, with a long title");
}

/* The expected walk of Mix: S0 ... S49 with position FROM moved to TO, and REMOVED left out
 * (-1: none). */
static const char *mix_titles(int from, int to, int removed)
{
    static char buf[1024];
    int order[NSONGS], n = 0;
    for (int i = 0; i < NSONGS; i++)
        if (i != removed)
            order[n++] = i;
    if (from >= 0) {
        int x = order[from];
        if (from < to)
            memmove(&order[from], &order[from + 1], (size_t)(to - from) * sizeof order[0]);
        else
            memmove(&order[to + 1], &order[to], (size_t)(from - to) * sizeof order[0]);
        order[to] = x;
    }
    buf[0] = 0;
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sS%d", i ? "," : "", order[i]);
    return buf;
}

/* ---- store_m2m_add() ---- */

static int add_plain(void)
{
    return store_m2m_add(s, fresh, "playlists", mix, NULL, &made);
}

static void added_plain(void)
{
    cr_assert_eq(store_id(made), next_entry, "failed adds used ids");
    cr_assert_eq(store_obj_model(made), model(s, "Entry"));
    cr_assert_eq(store_ref(made, "playlist"), mix);
    cr_assert_eq(store_ref(made, "song"), fresh);
    cr_assert(store_is_null(made, "note"));
    cr_assert_eq(store_int(made, "plays"), 0);
    cr_assert_eq(store_model_count(model(s, "Entry")), entries_before + 1);
    char want[1024];
    snprintf(want, sizeof want, "%s,Fresh", mix_titles(-1, -1, -1));
    cr_assert_str_eq(walk(mix, "songs", "title"), want);
    cr_assert_str_eq(walk(fresh, "playlists", "name"), "Mix");
    /* Once more: linked already, the same link and no allocation. */
    store_obj *again = NULL;
    fail_alloc_from(0);
    int rc = store_m2m_add(s, mix, "songs", fresh, NULL, &again);
    fail_alloc_at(-1);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(again, made);
}

/* Outside a transaction the link takes a slot of a chunk Entry has already, and no string:
 * nothing to allocate, so it must get through with every allocation failing. */
SCENARIO(adding_a_link_without_payload, .call = add_plain, .verify = added_plain,
         .quiet_outside = true)

static int add_first_rank(void)
{
    return store_m2m_add(s, top, "hits", fresh, NULL, &made);
}

static void added_first_rank(void)
{
    cr_assert_eq(store_id(made), next_rank, "failed adds used ids");
    cr_assert_eq(store_id(made), 1);
    cr_assert_eq(store_obj_model(made), model(s, "Rank"));
    for (int i = 0; i < WIDE; i++)
        cr_assert_eq(store_int(made, wide_names[i]), 0, "%s", wide_names[i]);
    cr_assert_str_eq(walk(top, "hits", "title"), "Fresh");
    cr_assert_str_eq(walk(fresh, "charts", "name"), "Top");
    cr_assert_eq(store_model_count(model(s, "Rank")), 1);
}

/* The through model's first link: its arena takes its first chunk. */
SCENARIO(adding_the_first_link_of_a_through_model_without_payload, .call = add_first_rank,
         .verify = added_first_rank)

static int add_payload(void)
{
    return store_m2m_add(
        s, mix, "songs", fresh,
        (store_value[]){STORE_V_STR("note", "a payload note past the inline room of a slot"),
                        STORE_V_INT("plays", 9), {0}},
        &made);
}

static void added_payload(void)
{
    cr_assert_eq(store_id(made), next_entry, "failed adds used ids");
    cr_assert_str_eq(store_str(made, "note"), "a payload note past the inline room of a slot");
    cr_assert_eq(store_int(made, "plays"), 9);
    cr_assert_eq(store_ref(made, "song"), fresh);
    cr_assert_eq(m2m_count(mix, "songs"), NSONGS + 1);
    cr_assert_str_eq(walk(fresh, "playlists", "name"), "Mix");
}

/* Outside a transaction it allocates nothing: the note goes to the page of strings the
 * fixture's links started (store/strings.h), which has room. */
SCENARIO(adding_a_link_with_payload, .inside = add_song, .call = add_payload,
         .verify = added_payload, .quiet_outside = true)

static int add_wide(void)
{
    store_value v[WIDE + 1];
    for (int i = 0; i < WIDE; i++)
        v[i] = (store_value)STORE_V_INT(wide_names[i], 1000 + 7 * i);
    v[WIDE] = (store_value){0};
    return store_m2m_add(s, top, "hits", fresh, v, &made);
}

static void added_wide(void)
{
    cr_assert_eq(store_id(made), next_rank, "failed adds used ids");
    cr_assert_eq(store_obj_model(made), model(s, "Rank"));
    cr_assert_eq(store_ref(made, "chart"), top);
    cr_assert_eq(store_ref(made, "song"), fresh);
    for (int i = 0; i < WIDE; i++)
        cr_assert_eq(store_int(made, wide_names[i]), 1000 + 7 * i, "%s", wide_names[i]);
    cr_assert_str_eq(walk(top, "hits", "title"), "Fresh");
    cr_assert_str_eq(walk(fresh, "charts", "name"), "Top");
    cr_assert_eq(store_model_count(model(s, "Rank")), 1);
}

SCENARIO(adding_a_link_with_a_payload_of_more_than_sixteen_values, .call = add_wide,
         .verify = added_wide)

/* ---- store_m2m_remove() ---- */

static int remove_s10(void)
{
    return store_m2m_remove(s, songs[10], "playlists", mix);
}

static void removed_s10(void)
{
    cr_assert_str_eq(walk(mix, "songs", "title"), mix_titles(-1, -1, 10));
    cr_assert_eq(m2m_count(songs[10], "playlists"), 0);
    cr_assert_eq(store_model_count(model(s, "Entry")), entries_before - 1);
    cr_assert_eq(store_model_count(model(s, "Mark")), marks_before - 1, "its Mark stayed");
    cr_assert_eq(store_model_count(model(s, "Song")), songs_before);
    cr_assert_eq(store_m2m_remove(s, mix, "songs", songs[10]), STORE_ENOTFOUND);
}

SCENARIO(removing_a_link_with_a_cascade_below_it, .inside = add_song, .call = remove_s10,
         .verify = removed_s10)

/* ---- store_m2m_clear() ---- */

static int clear_mix(void)
{
    return store_m2m_clear(s, mix, "songs");
}

static void cleared_mix(void)
{
    cr_assert_str_eq(walk(mix, "songs", "title"), "");
    cr_assert_eq(store_model_count(model(s, "Entry")), entries_before - NSONGS);
    cr_assert_eq(store_model_count(model(s, "Mark")), 0);
    cr_assert_eq(store_model_count(model(s, "Song")), songs_before, "a clear deleted songs");
    for (int i = 0; i < NSONGS; i++)
        cr_assert_eq(m2m_count(songs[i], "playlists"), 0);
    cr_assert_eq(store_model_count(model(s, "Playlist")), 1);
}

SCENARIO(clearing_a_list_of_fifty_links, .call = clear_mix, .verify = cleared_mix)
SCENARIO(clearing_a_list_of_fifty_links_after_a_change, .inside = add_song,
         .call = clear_mix, .verify = cleared_mix)

/* ---- store_m2m_move() ---- */

static int move_3_to_40(void)
{
    return store_m2m_move(s, mix, "songs", 3, 40);
}

static void moved_3_to_40(void)
{
    cr_assert_str_eq(walk(mix, "songs", "title"), mix_titles(3, 40, -1));
    cr_assert_str_eq(walk(songs[3], "playlists", "name"), "Mix");
    cr_assert_eq(store_model_count(model(s, "Entry")), entries_before);
    /* The links themselves, in the same order. */
    store_iter it = store_reverse(mix, "entries");
    for (int i = 0; i < 40; i++)
        store_next(&it);
    cr_assert_eq(store_ref(store_next(&it), "song"), songs[3]);
}

SCENARIO(moving_a_link_down_the_list, .call = move_3_to_40, .verify = moved_3_to_40,
         .quiet_outside = true)

static int move_45_to_0(void)
{
    return store_m2m_move(s, mix, "songs", 45, 0);
}

static void moved_45_to_0(void)
{
    cr_assert_str_eq(walk(mix, "songs", "title"), mix_titles(45, 0, -1));
}

SCENARIO(moving_a_link_to_the_front_after_a_change, .inside = add_song, .call = move_45_to_0,
         .verify = moved_45_to_0, .quiet_outside = true)

/* ==== A RESTRICT under the through model ==================================================== */

static store_obj *rmix, *rother, *rsongs[6], *rentries[6];

/* Mix holds six songs R0 ... R5; Other holds R2. Entries 1 and 3 of Mix carry a Mark
 * (CASCADE); which entries carry a Note (RESTRICT) is up to each test. */
static void restrict_setup(void)
{
    fail_alloc_at(-1);
    fs = faults_schema();
    cr_assert_eq(store_open(&s, fs, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    rmix = named(s, "Playlist", "name", "Mix");
    rother = named(s, "Playlist", "name", "Other");
    char title[8];
    for (int i = 0; i < 6; i++) {
        snprintf(title, sizeof title, "R%d", i);
        rsongs[i] = named(s, "Song", "title", title);
        rentries[i] = link_in(s, rmix, "songs", rsongs[i], NULL);
        if (i == 1 || i == 3)
            make_in(s, "Mark", (store_value[]){STORE_V_REF("entry", rentries[i]),
                                               STORE_V_STR("label", title), {0}});
    }
    link_in(s, rother, "songs", rsongs[2], NULL);
}

TestSuite(m2m_restrict, .init = restrict_setup, .fini = fa_teardown);

static store_obj *note_on(store_obj *entry, const char *text)
{
    return make_in(s, "Note",
                   (store_value[]){STORE_V_REF("entry", entry), STORE_V_STR("text", text), {0}});
}

/* A clear of Mix refused by a Note on entry NOTED, with nothing changed. */
static void clear_refused(const char *why)
{
    const char *before = dump_store(s);
    int rc = store_m2m_clear(s, rmix, "songs");
    cr_assert_eq(rc, STORE_ECONSTRAINT, "%s: %s (%s)", why, store_strerror(rc), store_errmsg(s));
    cr_assert(strstr(store_errmsg(s), "Note") && strstr(store_errmsg(s), "RESTRICT"),
              "%s: %s", why, store_errmsg(s));
    cr_assert(same_store(s, before), "%s: the refused clear changed the store", why);
    cr_assert_str_eq(walk(rmix, "songs", "title"), "R0,R1,R2,R3,R4,R5");
    cr_assert_eq(store_model_count(model(s, "Mark")), 2);
    check_invariants(s);
}

Test(m2m_restrict, a_note_on_the_first_link_refuses_the_whole_clear)
{
    note_on(rentries[0], "first");
    clear_refused("first");
}

Test(m2m_restrict, a_note_on_the_last_link_refuses_the_whole_clear)
{
    note_on(rentries[5], "last");
    clear_refused("last");
}

Test(m2m_restrict, notes_in_the_middle_refuse_the_whole_clear_until_they_are_gone)
{
    store_obj *n2 = note_on(rentries[2], "two"), *n4 = note_on(rentries[4], "four");
    clear_refused("two and four");
    cr_assert_eq(store_delete(s, n2), STORE_OK);
    clear_refused("four");
    cr_assert_eq(store_delete(s, n4), STORE_OK);
    cr_assert_eq(store_m2m_clear(s, rmix, "songs"), STORE_OK, "%s", store_errmsg(s));
    cr_assert_str_eq(walk(rmix, "songs", "title"), "");
    cr_assert_eq(store_model_count(model(s, "Mark")), 0, "the cascade below the links");
    cr_assert_eq(store_model_count(model(s, "Entry")), 1, "Other's link went too");
    cr_assert_eq(store_model_count(model(s, "Song")), 6);
    cr_assert_str_eq(walk(rsongs[2], "playlists", "name"), "Other");
    check_invariants(s);
}

Test(m2m_restrict, the_far_side_clear_and_a_remove_meet_the_same_restrict)
{
    note_on(rentries[2], "shared song");
    const char *before = dump_store(s);
    /* R2 is in Mix (noted) and Other: clearing its playlists deletes neither link. */
    cr_assert_eq(store_m2m_clear(s, rsongs[2], "playlists"), STORE_ECONSTRAINT, "%s",
                 store_errmsg(s));
    cr_assert(same_store(s, before));
    cr_assert_str_eq(walk(rsongs[2], "playlists", "name"), "Mix,Other");
    cr_assert_eq(store_m2m_remove(s, rmix, "songs", rsongs[2]), STORE_ECONSTRAINT, "%s",
                 store_errmsg(s));
    cr_assert(strstr(store_errmsg(s), "Note"), "%s", store_errmsg(s));
    cr_assert(same_store(s, before));
    /* The delete of the playlist cascades to the links and meets the note as well. */
    cr_assert_eq(store_delete(s, rmix), STORE_ECONSTRAINT);
    cr_assert(same_store(s, before));
    /* A pair without a note goes. */
    cr_assert_eq(store_m2m_remove(s, rsongs[2], "playlists", rother), STORE_OK);
    cr_assert_str_eq(walk(rsongs[2], "playlists", "name"), "Mix");
    check_invariants(s);
}

Test(m2m_restrict, a_refused_clear_inside_a_transaction_changes_nothing_of_it)
{
    note_on(rentries[4], "four");
    const char *before = dump_store(s);
    store_txn *t = NULL;
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK, "%s", store_errmsg(s));
    store_obj *extra = named(s, "Song", "title", "Extra");
    link_in(s, rmix, "songs", extra, NULL);
    cr_assert_eq(store_m2m_move(s, rmix, "songs", 6, 0), STORE_OK, "%s", store_errmsg(s));
    const char *inside = dump_store(s);
    cr_assert_eq(store_m2m_clear(s, rmix, "songs"), STORE_ECONSTRAINT, "%s", store_errmsg(s));
    cr_assert(same_store(s, inside), "the refused clear changed the transaction's store");
    cr_assert_eq(s->txn, t, "the transaction is not open any more");
    cr_assert_str_eq(walk(rmix, "songs", "title"), "Extra,R0,R1,R2,R3,R4,R5");
    check_invariants(s);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(s, before), "the rollback did not give back the store");
    check_invariants(s);
    /* And committed: the same refusal, the transaction's own changes kept. */
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK, "%s", store_errmsg(s));
    extra = named(s, "Song", "title", "Extra");
    link_in(s, rmix, "songs", extra, NULL);
    inside = dump_store(s);
    cr_assert_eq(store_m2m_clear(s, rmix, "songs"), STORE_ECONSTRAINT);
    cr_assert(same_store(s, inside));
    cr_assert_eq(store_commit(t), STORE_OK);
    cr_assert(same_store(s, inside), "the commit changed the store");
    cr_assert_str_eq(walk(rmix, "songs", "title"), "R0,R1,R2,R3,R4,R5,Extra");
    check_invariants(s);
}

/* Allocation failures meeting the restrict: whatever fails first, nothing changes. */
Test(m2m_restrict, a_refused_clear_stays_refused_while_allocations_fail)
{
    note_on(rentries[5], "last");
    const char *before = dump_store(s);
    long n = 0;
    for (;; n++) {
        fail_alloc_at(n);
        int rc = store_m2m_clear(s, rmix, "songs");
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        cr_assert(rc == STORE_ENOMEM || rc == STORE_ECONSTRAINT, "allocation %ld: %s", n,
                  store_strerror(rc));
        cr_assert(same_store(s, before), "allocation %ld: the store changed", n);
        check_invariants(s);
        if (!hit) {
            cr_assert_eq(rc, STORE_ECONSTRAINT);
            break;
        }
        cr_assert_lt(n, MAX_FAILURES);
    }
    cr_assert_gt(n, 0, "the clear made no allocation");
}
