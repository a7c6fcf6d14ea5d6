/*
 * tests/test_m2m.c - one-to-one and many-to-many relations: the through model the store
 * declares and one with payload, links walked from both sides in link order, a pair linked
 * once (by store_m2m_add() and by any create or update of a link), deletes of either side,
 * the through model's RESTRICT, moves within one side's list, clear, transactions, a model
 * linked with itself, schema errors, and everything again after a reopen.
 *
 *   Book     title CHAR(60), tags M2M Tag "books" (through Book_tags, declared by the store)
 *   Tag      name CHAR(30) .unique
 *   Playlist name CHAR(30), songs M2M Song "playlists" through Entry
 *   Song     title CHAR(60)
 *   Entry    playlist FK Playlist CASCADE "entries", song FK Song RESTRICT "entries",
 *            note CHAR(30) .null
 *   User     name CHAR(30), follows M2M User "followers" (through User_follows)
 *   Person   name CHAR(30); Passport person FK Person .unique "passport", number CHAR(12)
 */
#include <stdio.h>
#include <string.h>

#include <store_async.h>

#include "tests/helpers.h"

static store_schema *ms;
static store *s;
static store_model *MBook, *Tag, *Playlist, *Song, *Entry, *User, *Person, *Passport,
    *BookTags;
static char dir[64], path[128];

static store_schema *m2m_schema(void)
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
        {.name = "note", .type = STORE_CHAR, .max_length = 30, .null = true},
        {0}});
    rc = rc ? rc : store_schema_add(sc, "User", (store_field[]){
        {.name = "name", .type = STORE_CHAR, .max_length = 30},
        {.name = "follows", .type = STORE_M2M, .to = "User", .related_name = "followers"},
        {0}});
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

static void find_models(void)
{
    MBook = store_model_find(s, "Book");
    Tag = store_model_find(s, "Tag");
    Playlist = store_model_find(s, "Playlist");
    Song = store_model_find(s, "Song");
    Entry = store_model_find(s, "Entry");
    User = store_model_find(s, "User");
    Person = store_model_find(s, "Person");
    Passport = store_model_find(s, "Passport");
    BookTags = store_model_find(s, "Book_tags");
    cr_assert(MBook && Tag && Playlist && Song && Entry && User && Person && Passport);
}

static void reopen(const char *at)
{
    if (s)
        cr_assert_eq(store_close(s), STORE_OK, "%s", store_errmsg(s));
    s = NULL;
    cr_assert_eq(store_open(&s, ms, at, NULL), STORE_OK, "%s", store_errmsg(NULL));
    find_models();
}

static void setup(void)
{
    ms = m2m_schema();
    test_dir_new(dir, path, "m2m");
    s = NULL;
    reopen(NULL);
}

static void teardown(void)
{
    store_close(s);
    s = NULL;
    store_schema_free(ms);
    test_dir_remove(dir);
}

TestSuite(m2m, .init = setup, .fini = teardown);

static store_obj *make(store_model *m, const char *field, const char *value)
{
    store_obj *o;
    int rc = store_create(s, m, (store_value[]){STORE_V_STR(field, value), {0}}, &o);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(s));
    return o;
}

static store_obj *link_pair(store_obj *a, const char *name, store_obj *b)
{
    store_obj *l = NULL;
    int rc = store_m2m_add(s, a, name, b, NULL, &l);
    cr_assert_eq(rc, STORE_OK, "%s", store_errmsg(s));
    cr_assert_not_null(l);
    return l;
}

/* The values of FIELD of the objects linked to O in NAME, "a,b,c"; checks store_count(). */
static const char *walk(const store_obj *o, const char *name, const char *field)
{
    static char buf[512];
    buf[0] = 0;
    store_iter it = store_m2m(o, name);
    size_t n = 0;
    for (store_obj *x; (x = store_next(&it)); n++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", n ? "," : "",
                 store_str(x, field));
    cr_assert_eq(store_count(&it), n);
    return buf;
}

static void check(void)
{
    cr_assert_eq(store_check(s), STORE_OK, "%s", store_errmsg(s));
}

Test(m2m, the_store_declares_the_through_model_with_two_keys_named_after_the_models)
{
    cr_assert_not_null(BookTags);
    cr_assert_str_eq(store_field_name(store_field_at(BookTags, 0)), "book");
    cr_assert_str_eq(store_field_name(store_field_at(BookTags, 1)), "tag");
    cr_assert_null(store_field_at(BookTags, 2));
    cr_assert_not_null(store_relation_find(MBook, "book_tags"));
    cr_assert_not_null(store_relation_find(Tag, "book_tags"));
    cr_assert_null(store_field_find(MBook, "tags")); /* a relation, not a field */
    store_model *uf = store_model_find(s, "User_follows");
    cr_assert_not_null(uf);
    cr_assert_str_eq(store_field_name(store_field_at(uf, 0)), "user");
    cr_assert_str_eq(store_field_name(store_field_at(uf, 1)), "user_rel");
    cr_assert_not_null(store_relation_find(User, "user_follows"));
    cr_assert_not_null(store_relation_find(User, "user_follows_rel"));
}

Test(m2m, links_are_walked_from_both_sides_in_the_order_they_were_made)
{
    store_obj *dune = make(MBook, "title", "Dune"), *emma = make(MBook, "title", "Emma");
    store_obj *sf = make(Tag, "name", "sf"), *classic = make(Tag, "name", "classic"),
              *long_ = make(Tag, "name", "long");
    link_pair(dune, "tags", classic);
    link_pair(dune, "tags", sf);
    link_pair(emma, "tags", classic);
    link_pair(sf, "books", emma); /* from the far side */
    link_pair(dune, "tags", long_);
    cr_assert_str_eq(walk(dune, "tags", "name"), "classic,sf,long");
    cr_assert_str_eq(walk(emma, "tags", "name"), "classic,sf");
    cr_assert_str_eq(walk(classic, "books", "title"), "Dune,Emma");
    cr_assert_str_eq(walk(sf, "books", "title"), "Dune,Emma");
    cr_assert_str_eq(walk(long_, "books", "title"), "Dune");
    cr_assert_eq(store_model_count(BookTags), 5);
    /* The links themselves, through the through model's relation: the same order. */
    store_iter it = store_reverse(dune, "book_tags");
    cr_assert_eq(store_ref(store_next(&it), "tag"), classic);
    cr_assert_eq(store_ref(store_next(&it), "tag"), sf);
    check();
}

Test(m2m, adding_a_linked_pair_again_changes_nothing_and_gives_the_existing_link)
{
    store_obj *dune = make(MBook, "title", "Dune"), *sf = make(Tag, "name", "sf");
    store_obj *l = link_pair(dune, "tags", sf);
    const char *before = strdup(dump_store(s));
    store_obj *again = NULL;
    cr_assert_eq(store_m2m_add(s, dune, "tags", sf, NULL, &again), STORE_OK);
    cr_assert_eq(again, l);
    cr_assert_eq(store_m2m_add(s, sf, "books", dune, NULL, &again), STORE_OK);
    cr_assert_eq(again, l);
    cr_assert(same_store(s, before));
    free((void *)before);
}

Test(m2m, removing_a_pair_deletes_its_link_and_an_absent_pair_is_enotfound)
{
    store_obj *dune = make(MBook, "title", "Dune"), *sf = make(Tag, "name", "sf"),
              *old = make(Tag, "name", "old");
    link_pair(dune, "tags", sf);
    link_pair(dune, "tags", old);
    cr_assert_eq(store_m2m_remove(s, sf, "books", dune), STORE_OK);
    cr_assert_str_eq(walk(dune, "tags", "name"), "old");
    const char *before = strdup(dump_store(s));
    cr_assert_eq(store_m2m_remove(s, dune, "tags", sf), STORE_ENOTFOUND);
    cr_assert(strstr(store_errmsg(s), "not linked"), "%s", store_errmsg(s));
    cr_assert(same_store(s, before));
    free((void *)before);
    check();
}

Test(m2m, a_pair_is_linked_once_whatever_call_makes_the_link)
{
    store_obj *dune = make(MBook, "title", "Dune"), *emma = make(MBook, "title", "Emma");
    store_obj *sf = make(Tag, "name", "sf"), *old = make(Tag, "name", "old");
    link_pair(dune, "tags", sf);
    store_obj *l2 = link_pair(emma, "tags", sf);
    link_pair(emma, "tags", old);
    const char *before = strdup(dump_store(s));
    /* A create of the through model. */
    cr_assert_eq(store_create(s, BookTags,
                              (store_value[]){STORE_V_REF("book", dune), STORE_V_REF("tag", sf),
                                              {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(s), "already linked"), "%s", store_errmsg(s));
    /* An update moving a link onto a linked pair, by either key. */
    cr_assert_eq(store_update(s, l2, (store_value[]){STORE_V_REF("book", dune), {0}}),
                 STORE_ECONSTRAINT);
    cr_assert_eq(store_update(s, l2, (store_value[]){STORE_V_REF("tag", old), {0}}),
                 STORE_ECONSTRAINT);
    /* An update by query bringing two links of emma onto one pair. */
    store_query *q;
    cr_assert_eq(store_query_new(s, BookTags, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_REF("book", emma), {0}}),
                 STORE_OK);
    size_t n = 0;
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_REF("tag", old), {0}}, &n),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(s, before));
    /* Moving a link to a free pair is fine, and to the pair it has already too. */
    cr_assert_eq(store_update(s, l2, (store_value[]){STORE_V_REF("tag", sf), {0}}), STORE_OK);
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_REF("book", dune), {0}},
                                    &n),
                 STORE_ECONSTRAINT); /* emma-sf would become dune-sf, which exists */
    store_query_free(q);
    free((void *)before);
    check();
}

Test(m2m, deleting_either_side_deletes_its_links_and_never_the_far_objects)
{
    store_obj *dune = make(MBook, "title", "Dune"), *emma = make(MBook, "title", "Emma");
    store_obj *sf = make(Tag, "name", "sf"), *old = make(Tag, "name", "old");
    link_pair(dune, "tags", sf);
    link_pair(dune, "tags", old);
    link_pair(emma, "tags", sf);
    cr_assert_eq(store_delete(s, dune), STORE_OK);
    cr_assert_eq(store_model_count(Tag), 2);
    cr_assert_eq(store_model_count(BookTags), 1);
    cr_assert_str_eq(walk(sf, "books", "title"), "Emma");
    cr_assert_str_eq(walk(old, "books", "title"), "");
    cr_assert_eq(store_delete(s, sf), STORE_OK);
    cr_assert_eq(store_model_count(MBook), 1);
    cr_assert_eq(store_model_count(BookTags), 0);
    cr_assert_str_eq(walk(emma, "tags", "name"), "");
    check();
}

Test(m2m, a_through_model_with_payload_and_its_own_restrict)
{
    store_obj *mix = make(Playlist, "name", "Mix"), *one = make(Song, "title", "One"),
              *two = make(Song, "title", "Two");
    store_obj *e = NULL;
    cr_assert_eq(store_m2m_add(s, mix, "songs", one,
                               (store_value[]){STORE_V_STR("note", "opener"), {0}}, &e),
                 STORE_OK, "%s", store_errmsg(s));
    cr_assert_eq(store_obj_model(e), Entry);
    cr_assert_str_eq(store_str(e, "note"), "opener");
    link_pair(two, "playlists", mix);
    cr_assert_str_eq(walk(mix, "songs", "title"), "One,Two");
    cr_assert_str_eq(child_ids(mix, "entries"), "1,2");
    /* The payload may not set the keys. */
    cr_assert_eq(store_m2m_add(s, mix, "songs", two,
                               (store_value[]){STORE_V_REF("song", one), {0}}, NULL),
                 STORE_EINVAL);
    /* Entry.song is RESTRICT: a song in a playlist cannot be deleted; the playlist can. */
    const char *before = strdup(dump_store(s));
    cr_assert_eq(store_delete(s, one), STORE_ECONSTRAINT);
    cr_assert(same_store(s, before));
    cr_assert_eq(store_m2m_clear(s, two, "playlists"), STORE_OK);
    cr_assert_str_eq(walk(mix, "songs", "title"), "One");
    cr_assert_eq(store_delete(s, mix), STORE_OK);
    cr_assert_eq(store_model_count(Entry), 0);
    cr_assert_eq(store_delete(s, one), STORE_OK);
    free((void *)before);
    check();
}

Test(m2m, a_link_moves_within_one_side_and_the_other_side_keeps_its_order)
{
    store_obj *mix = make(Playlist, "name", "Mix");
    const char *titles[] = {"A", "B", "C", "D", "E"};
    store_obj *songs[5];
    for (int i = 0; i < 5; i++) {
        songs[i] = make(Song, "title", titles[i]);
        link_pair(mix, "songs", songs[i]);
    }
    store_obj *other = make(Playlist, "name", "Other");
    link_pair(songs[2], "playlists", other);
    cr_assert_eq(store_m2m_move(s, mix, "songs", 0, 3), STORE_OK, "%s", store_errmsg(s));
    cr_assert_str_eq(walk(mix, "songs", "title"), "B,C,D,A,E");
    cr_assert_eq(store_m2m_move(s, mix, "songs", 4, 0), STORE_OK);
    cr_assert_str_eq(walk(mix, "songs", "title"), "E,B,C,D,A");
    cr_assert_eq(store_m2m_move(s, mix, "songs", 2, 2), STORE_OK);
    cr_assert_eq(store_m2m_move(s, mix, "songs", 1, 4), STORE_OK);
    cr_assert_str_eq(walk(mix, "songs", "title"), "E,C,D,A,B");
    cr_assert_str_eq(walk(songs[2], "playlists", "name"), "Mix,Other");
    const char *before = strdup(dump_store(s));
    cr_assert_eq(store_m2m_move(s, mix, "songs", 5, 0), STORE_EINVAL);
    cr_assert_eq(store_m2m_move(s, mix, "songs", 0, 5), STORE_EINVAL);
    cr_assert(same_store(s, before));
    free((void *)before);
    check();
}

Test(m2m, links_and_their_order_survive_a_snapshot_and_a_reopen)
{
    reopen(path);
    store_obj *dune = make(MBook, "title", "Dune"), *emma = make(MBook, "title", "Emma");
    store_obj *mix = make(Playlist, "name", "Mix");
    const char *names[] = {"sf", "classic", "long", "short"};
    for (int i = 0; i < 4; i++) {
        store_obj *t = make(Tag, "name", names[i]);
        link_pair(i % 2 ? dune : emma, "tags", t);
        link_pair(t, "books", i % 2 ? emma : dune);
        store_obj *song = make(Song, "title", names[i]);
        link_pair(mix, "songs", song);
    }
    cr_assert_eq(store_snapshot(s), STORE_OK);
    cr_assert_eq(store_m2m_move(s, mix, "songs", 3, 0), STORE_OK);
    cr_assert_eq(store_m2m_move(s, dune, "tags", 0, 3), STORE_OK);
    char want_mix[64], want_dune[64], want_classic[64];
    snprintf(want_mix, sizeof want_mix, "%s", walk(mix, "songs", "title"));
    snprintf(want_dune, sizeof want_dune, "%s", walk(dune, "tags", "name"));
    store_obj *classic;
    cr_assert_eq(store_get_by(s, Tag, "name", &(store_value)STORE_V_STR(NULL, "classic"),
                              &classic),
                 STORE_OK);
    snprintf(want_classic, sizeof want_classic, "%s", walk(classic, "books", "title"));
    cr_assert_str_eq(want_mix, "short,sf,classic,long");
    const char *before = strdup(dump_store(s));
    reopen(path);
    cr_assert(same_store(s, before));
    cr_assert_eq(store_get(s, Playlist, 1, &mix), STORE_OK);
    cr_assert_eq(store_get(s, MBook, 1, &dune), STORE_OK);
    cr_assert_eq(store_get_by(s, Tag, "name", &(store_value)STORE_V_STR(NULL, "classic"),
                              &classic),
                 STORE_OK);
    cr_assert_str_eq(walk(mix, "songs", "title"), want_mix);
    cr_assert_str_eq(walk(dune, "tags", "name"), want_dune);
    cr_assert_str_eq(walk(classic, "books", "title"), want_classic);
    (void)emma;
    free((void *)before);
    check();
}

Test(m2m, a_rollback_undoes_adds_removes_moves_and_clears)
{
    store_obj *dune = make(MBook, "title", "Dune");
    store_obj *tags[4];
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        tags[i] = make(Tag, "name", names[i]);
        if (i < 3)
            link_pair(dune, "tags", tags[i]);
    }
    const char *before = strdup(dump_store(s));
    uint64_t next = store_model_next_id(BookTags);
    store_txn *t;
    cr_assert_eq(store_begin(s, 0, &t), STORE_OK);
    link_pair(dune, "tags", tags[3]);
    cr_assert_eq(store_m2m_remove(s, dune, "tags", tags[0]), STORE_OK);
    cr_assert_eq(store_m2m_move(s, dune, "tags", 0, 2), STORE_OK);
    cr_assert_str_eq(walk(dune, "tags", "name"), "c,d,b");
    cr_assert_eq(store_m2m_clear(s, tags[1], "books"), STORE_OK);
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(s, before));
    cr_assert_eq(store_model_next_id(BookTags), next);
    cr_assert_str_eq(walk(dune, "tags", "name"), "a,b,c");
    free((void *)before);
    check();
}

Test(m2m, a_model_linked_with_itself_has_two_sides)
{
    store_obj *ann = make(User, "name", "ann"), *bob = make(User, "name", "bob"),
              *cy = make(User, "name", "cy");
    link_pair(ann, "follows", bob);
    link_pair(ann, "follows", cy);
    link_pair(cy, "follows", ann);
    link_pair(bob, "followers", cy); /* cy follows bob */
    cr_assert_str_eq(walk(ann, "follows", "name"), "bob,cy");
    cr_assert_str_eq(walk(ann, "followers", "name"), "cy");
    cr_assert_str_eq(walk(bob, "followers", "name"), "ann,cy");
    cr_assert_str_eq(walk(cy, "follows", "name"), "ann,bob");
    store_obj *l = NULL;
    cr_assert_eq(store_m2m_add(s, bob, "followers", ann, NULL, &l), STORE_OK); /* exists */
    cr_assert_eq(store_model_count(store_model_find(s, "User_follows")), 4);
    cr_assert_eq(store_delete(s, cy), STORE_OK);
    cr_assert_str_eq(walk(ann, "followers", "name"), "");
    cr_assert_str_eq(walk(bob, "followers", "name"), "ann");
    check();
}

Test(m2m, bad_arguments_are_einval_and_change_nothing)
{
    store_obj *dune = make(MBook, "title", "Dune"), *sf = make(Tag, "name", "sf");
    store_obj *mix = make(Playlist, "name", "Mix");
    const char *before = strdup(dump_store(s));
    cr_assert_eq(store_m2m_add(NULL, dune, "tags", sf, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_m2m_add(s, NULL, "tags", sf, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_m2m_add(s, dune, NULL, sf, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_m2m_add(s, dune, "tags", NULL, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_m2m_add(s, dune, "books", sf, NULL, NULL), STORE_EINVAL);
    cr_assert(strstr(store_errmsg(s), "no many-to-many relation \"books\""), "%s",
              store_errmsg(s));
    cr_assert_eq(store_m2m_add(s, dune, "tags", mix, NULL, NULL), STORE_EINVAL);
    cr_assert(strstr(store_errmsg(s), "links Tag objects, not Playlist"), "%s",
              store_errmsg(s));
    cr_assert_eq(store_m2m_add(s, dune, "tags", sf,
                               (store_value[]){STORE_V_STR("nope", "x"), {0}}, NULL),
                 STORE_EINVAL);
    cr_assert_eq(store_m2m_remove(s, dune, "tags", NULL), STORE_EINVAL);
    cr_assert_eq(store_m2m_clear(s, dune, "title"), STORE_EINVAL);
    cr_assert_eq(store_m2m_move(s, dune, "tags", 0, 0), STORE_EINVAL); /* no links */
    store_iter it = store_m2m(dune, "nope");
    cr_assert_null(store_next(&it));
    it = store_m2m(NULL, "tags");
    cr_assert_null(store_next(&it));
    cr_assert(same_store(s, before));
    store_obj *gone = make(Tag, "name", "gone");
    cr_assert_eq(store_delete(s, gone), STORE_OK);
    cr_assert_eq(store_m2m_add(s, dune, "tags", gone, NULL, NULL), STORE_EINVAL);
    free((void *)before);
}

Test(m2m, a_unique_foreign_key_is_a_one_to_one)
{
    store_obj *ann = make(Person, "name", "ann"), *bob = make(Person, "name", "bob");
    cr_assert_null(store_reverse_one(ann, "passport"));
    store_obj *p;
    cr_assert_eq(store_create(s, Passport,
                              (store_value[]){STORE_V_REF("person", ann),
                                              STORE_V_STR("number", "X1"), {0}},
                              &p),
                 STORE_OK);
    cr_assert_eq(store_reverse_one(ann, "passport"), p);
    cr_assert_eq(store_create(s, Passport,
                              (store_value[]){STORE_V_REF("person", ann),
                                              STORE_V_STR("number", "X2"), {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    cr_assert_eq(store_update(s, p, (store_value[]){STORE_V_REF("person", bob), {0}}),
                 STORE_OK);
    cr_assert_null(store_reverse_one(ann, "passport"));
    cr_assert_eq(store_reverse_one(bob, "passport"), p);
    /* Not a one-to-one, unknown, NULL. */
    store_obj *dune = make(MBook, "title", "Dune");
    cr_assert_null(store_reverse_one(dune, "book_tags"));
    cr_assert(strstr(store_errmsg(s), "not a one-to-one"), "%s", store_errmsg(s));
    cr_assert_null(store_reverse_one(bob, "nope"));
    cr_assert_null(store_reverse_one(NULL, "passport"));
    cr_assert_null(store_reverse_one(bob, NULL));
    check();
}

/* ---- The schema's rules ------------------------------------------------------------------ */

static int open_with(const store_field *a, const store_field *b, const store_field *t)
{
    store_schema *sc;
    cr_assert_eq(store_schema_new(&sc), STORE_OK);
    int rc = store_schema_add(sc, "A", a);
    rc = rc ? rc : store_schema_add(sc, "B", b);
    if (t)
        rc = rc ? rc : store_schema_add(sc, "T", t);
    store *x = NULL;
    rc = rc ? rc : store_open(&x, sc, NULL, NULL);
    store_close(x);
    store_schema_free(sc);
    return rc;
}

#define FIELDS(...) ((store_field[]){__VA_ARGS__, {0}})
#define NAME {.name = "name", .type = STORE_CHAR, .max_length = 10}
#define FK(n, target, ...) {.name = n, .type = STORE_FK, .to = target, __VA_ARGS__}

static void refused(int rc, const char *words)
{
    cr_assert_eq(rc, STORE_ESCHEMA, "%d: %s", rc, store_errmsg(NULL));
    cr_assert(strstr(store_errmsg(NULL), words), "\"%s\" lacks \"%s\"", store_errmsg(NULL),
              words);
}

Test(m2m, the_schema_rules_of_many_to_many)
{
    const store_field *b = FIELDS(NAME);
    cr_assert_eq(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B"}), b,
                           NULL),
                 STORE_OK, "%s", store_errmsg(NULL));
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "C"}), b, NULL),
            "M2M to unknown model \"C\"");
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B",
                                    .through = "X"}), b, NULL),
            "unknown through model \"X\"");
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B", .null = true}),
                      b, NULL),
            "an M2M takes .to, .related_name and .through only");
    refused(open_with(FIELDS(NAME, FK("b", "B", .through = "T")), b, FIELDS(NAME)),
            "only an M2M has .through");
    /* The through model: one key to each side, neither .null. */
    const store_field *a = FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B",
                                         .through = "T"});
    cr_assert_eq(open_with(a, b, FIELDS(FK("a", "A"), FK("b", "B"), NAME)), STORE_OK, "%s",
                 store_errmsg(NULL));
    refused(open_with(a, b, FIELDS(FK("a", "A"), NAME)), "needs exactly one foreign key to A "
                                                         "and one to B");
    refused(open_with(a, b, FIELDS(FK("a", "A"), FK("b", "B"), FK("b2", "B",
                                                                   .related_name = "t2s"))),
            "needs exactly one foreign key to A and one to B");
    refused(open_with(a, b, FIELDS(FK("a", "A"), FK("b", "B", .null = true))),
            "may not be .null");
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B", .through = "A"}),
                      FIELDS(NAME, FK("a", "A")), NULL),
            "must be a third model");
    /* Names: the relation's on both sides, and the store's through model's. */
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B",
                                    .related_name = "name"}), b, NULL),
            "related_name \"name\" is already a name on B");
    refused(open_with(FIELDS(NAME, {.name = "bs", .type = STORE_M2M, .to = "B"}),
                      FIELDS(NAME, FK("x", "A", .related_name = "bs")), NULL),
            "the name is already a relation on A");
    store_schema *sc;
    cr_assert_eq(store_schema_new(&sc), STORE_OK);
    cr_assert_eq(store_schema_add(sc, "A", FIELDS(NAME, {.name = "bs", .type = STORE_M2M,
                                                         .to = "B"})), STORE_OK);
    cr_assert_eq(store_schema_add(sc, "B", b), STORE_OK);
    cr_assert_eq(store_schema_add(sc, "A_bs", b), STORE_OK);
    store *x = NULL;
    refused(store_open(&x, sc, NULL, NULL), "A_bs, is already a model: give .through");
    store_schema_free(sc);
}

Test(m2m, a_many_to_many_added_to_an_existing_file_opens)
{
    store_schema *old;
    cr_assert_eq(store_schema_new(&old), STORE_OK);
    cr_assert_eq(store_schema_add(old, "Book", FIELDS({.name = "title", .type = STORE_CHAR,
                                                       .max_length = 60})), STORE_OK);
    cr_assert_eq(store_schema_add(old, "Tag", FIELDS({.name = "name", .type = STORE_CHAR,
                                                      .max_length = 30, .unique = true})),
                 STORE_OK);
    store *x;
    cr_assert_eq(store_open(&x, old, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *o;
    cr_assert_eq(store_create(x, store_model_find(x, "Book"),
                              (store_value[]){STORE_V_STR("title", "Dune"), {0}}, &o),
                 STORE_OK);
    cr_assert_eq(store_create(x, store_model_find(x, "Tag"),
                              (store_value[]){STORE_V_STR("name", "sf"), {0}}, &o),
                 STORE_OK);
    cr_assert_eq(store_close(x), STORE_OK);
    store_schema_free(old);
    reopen(path); /* the full schema: Book.tags and its through model are new */
    store_obj *dune, *sf;
    cr_assert_eq(store_get(s, MBook, 1, &dune), STORE_OK);
    cr_assert_eq(store_get(s, Tag, 1, &sf), STORE_OK);
    link_pair(dune, "tags", sf);
    reopen(path);
    cr_assert_eq(store_get(s, MBook, 1, &dune), STORE_OK);
    cr_assert_str_eq(walk(dune, "tags", "name"), "sf");
    check();
}

/* ---- On a loop ------------------------------------------------------------------------- */

static int calls;

static void on_done(store_req *req)
{
    calls++;
    *(int *)req->data = req->result;
}

/* Runs the request just submitted (SUBMITTED: the submit's code) to its callback, which
 * stores the request's code where req->data points. */
static void run(uv_loop_t *loop, int submitted)
{
    cr_assert_eq(submitted, STORE_OK, "%s", store_errmsg(s));
    int before = calls;
    uv_run(loop, UV_RUN_DEFAULT);
    cr_assert_eq(calls, before + 1);
}

Test(m2m, the_async_calls_link_unlink_clear_and_walk_on_the_pool)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    store_obj *mix = make(Playlist, "name", "Mix"), *one = make(Song, "title", "One"),
              *two = make(Song, "title", "Two");
    store_req req;
    int result_box = -100;
    req.data = &result_box;
    store_value note[] = {STORE_V_STR("note", "first"), {0}};
    run(&loop, store_m2m_add_async(&loop, &req, s, mix, "songs", one, note, on_done));
    cr_assert_eq(result_box, STORE_OK, "%s", store_errmsg(s));
    cr_assert_not_null(req.obj);
    cr_assert_str_eq(store_str(req.obj, "note"), "first");
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_add_async(&loop, &req, s, two, "playlists", mix, NULL, on_done));
    cr_assert_eq(result_box, STORE_OK, "%s", store_errmsg(s));
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_async(&loop, &req, s, mix, "songs", on_done));
    cr_assert_eq(result_box, STORE_OK);
    cr_assert_eq(req.count, 2);
    cr_assert_eq(req.objs[0], one);
    cr_assert_eq(req.objs[1], two);
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_move_async(&loop, &req, s, mix, "songs", 1, 0, on_done));
    cr_assert_eq(result_box, STORE_OK, "%s", store_errmsg(s));
    cr_assert_str_eq(walk(mix, "songs", "title"), "Two,One");
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_move_async(&loop, &req, s, mix, "songs", 2, 0, on_done));
    cr_assert_eq(result_box, STORE_EINVAL);
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_move_async(&loop, &req, s, mix, "songs", 1, 0, on_done));
    cr_assert_eq(result_box, STORE_OK);
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_remove_async(&loop, &req, s, mix, "songs", one, on_done));
    cr_assert_eq(result_box, STORE_OK);
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_remove_async(&loop, &req, s, mix, "songs", one, on_done));
    cr_assert_eq(result_box, STORE_ENOTFOUND);
    cr_assert(strstr(store_errmsg(s), "not linked"), "%s", store_errmsg(s));
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_async(&loop, &req, s, mix, "nope", on_done));
    cr_assert_eq(result_box, STORE_EINVAL);
    store_req_cleanup(&req);
    req.data = &result_box;
    run(&loop, store_m2m_clear_async(&loop, &req, s, mix, "songs", on_done));
    cr_assert_eq(result_box, STORE_OK);
    cr_assert_eq(store_model_count(Entry), 0);
    store_req_cleanup(&req);
    cr_assert_eq(store_m2m_add_async(&loop, &req, s, mix, NULL, one, NULL, on_done),
                 STORE_EINVAL);
    cr_assert_eq(store_m2m_clear_async(&loop, &req, s, NULL, "songs", on_done), STORE_EINVAL);
    cr_assert_eq(uv_loop_close(&loop), 0);
    check();
}

/* ---- Fields unique together ---------------------------------------------------------------
 *
 *   Owner  name CHAR(30)
 *   Seat   row CHAR(20), number INT .null, price FLOAT default 1.0,
 *          holder FK Owner .null SET_NULL "seats";
 *          unique together (row, number) and (holder, row)
 */

static store_schema *seat_schema(bool with_unique)
{
    store_schema *sc;
    cr_assert_eq(store_schema_new(&sc), STORE_OK);
    cr_assert_eq(store_schema_add(sc, "Owner", FIELDS(NAME)), STORE_OK);
    cr_assert_eq(store_schema_add(sc, "Seat", FIELDS(
        {.name = "row", .type = STORE_CHAR, .max_length = 20},
        {.name = "number", .type = STORE_INT, .null = true},
        {.name = "price", .type = STORE_FLOAT, STORE_DEFAULT_FLOAT(1.0)},
        FK("holder", "Owner", .null = true, .on_delete = STORE_SET_NULL,
           .related_name = "seats"))), STORE_OK);
    if (with_unique) {
        cr_assert_eq(store_schema_unique(sc, "Seat", (const char *[]){"row", "number", NULL}),
                     STORE_OK, "%s", store_errmsg(NULL));
        cr_assert_eq(store_schema_unique(sc, "Seat", (const char *[]){"holder", "row", NULL}),
                     STORE_OK, "%s", store_errmsg(NULL));
    }
    return sc;
}

static store *us;
static store_model *Owner, *Seat;

static void seats_open(const char *at, bool with_unique, int want)
{
    store_schema *sc = seat_schema(with_unique);
    us = NULL;
    int rc = store_open(&us, sc, at, NULL);
    store_schema_free(sc);
    cr_assert_eq(rc, want, "%s", store_errmsg(NULL));
    if (rc)
        return;
    Owner = store_model_find(us, "Owner");
    Seat = store_model_find(us, "Seat");
}

static store_obj *seat(const char *row, int64_t number, store_obj *holder, int want)
{
    store_obj *o = NULL;
    store_value v[] = {STORE_V_STR("row", row),
                       number < 0 ? (store_value)STORE_V_NULL("number")
                                  : (store_value)STORE_V_INT("number", number),
                       STORE_V_REF("holder", holder), {0}};
    cr_assert_eq(store_create(us, Seat, v, &o), want, "%s", store_errmsg(us));
    return o;
}

static void uniq_setup(void)
{
    ms = NULL;
    s = NULL;
    test_dir_new(dir, path, "uniq");
    seats_open(NULL, true, STORE_OK);
}

static void uniq_teardown(void)
{
    store_close(us);
    us = NULL;
    test_dir_remove(dir);
}

TestSuite(unique_together, .init = uniq_setup, .fini = uniq_teardown);

Test(unique_together, a_create_repeating_the_values_is_refused_and_nulls_never_clash)
{
    store_obj *ann;
    cr_assert_eq(store_create(us, Owner, (store_value[]){STORE_V_STR("name", "ann"), {0}}, &ann),
                 STORE_OK);
    seat("A", 1, ann, STORE_OK);
    seat("A", 2, NULL, STORE_OK);
    seat("B", 1, NULL, STORE_OK);
    const char *before = strdup(dump_store(us));
    seat("A", 1, NULL, STORE_ECONSTRAINT);
    cr_assert(strstr(store_errmsg(us), "(row, number)"), "%s", store_errmsg(us));
    seat("A", 3, ann, STORE_ECONSTRAINT); /* ann holds a seat in row A */
    cr_assert(strstr(store_errmsg(us), "(holder, row)"), "%s", store_errmsg(us));
    cr_assert(same_store(us, before));
    seat("A", -1, NULL, STORE_OK); /* null numbers never clash */
    seat("A", -1, NULL, STORE_OK);
    seat("B", 2, ann, STORE_OK);
    free((void *)before);
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
}

Test(unique_together, updates_single_and_by_query_are_checked)
{
    store_obj *a1 = seat("A", 1, NULL, STORE_OK), *a2 = seat("A", 2, NULL, STORE_OK);
    store_obj *b1 = seat("B", 1, NULL, STORE_OK);
    (void)a2;
    const char *before = strdup(dump_store(us));
    cr_assert_eq(store_update(us, b1, (store_value[]){STORE_V_STR("row", "A"), {0}}),
                 STORE_ECONSTRAINT);
    cr_assert_eq(store_update(us, a1, (store_value[]){STORE_V_INT("number", 2), {0}}),
                 STORE_ECONSTRAINT);
    store_query *q;
    cr_assert_eq(store_query_new(us, Seat, &q), STORE_OK);
    size_t n = 0;
    /* Every seat to row C: (C, 1) twice. */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("row", "C"), {0}}, &n),
                 STORE_ECONSTRAINT);
    /* Both fields set on three seats: one pair three times. */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_STR("row", "D"),
                                                             STORE_V_INT("number", 9), {0}},
                                    &n),
                 STORE_ECONSTRAINT);
    cr_assert(same_store(us, before));
    /* Fine: a field of no set; a number to null; row B to B (its own values). */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_FLOAT("price", 2.5), {0}},
                                    &n),
                 STORE_OK);
    cr_assert_eq(store_update(us, a1, (store_value[]){STORE_V_NULL("number"), {0}}), STORE_OK);
    cr_assert_eq(store_update(us, b1, (store_value[]){STORE_V_STR("row", "B"), {0}}), STORE_OK);
    /* Now (A, null) and (A, 2), (B, 1): every seat to number 1 clashes (B, 1) kept... */
    cr_assert_eq(store_query_update(q, NULL, (store_value[]){STORE_V_INT("number", 1), {0}}, &n),
                 STORE_ECONSTRAINT);
    /* ...and a1 can take (A, 1) back once freed. */
    cr_assert_eq(store_update(us, a1, (store_value[]){STORE_V_INT("number", 1), {0}}), STORE_OK);
    store_query_free(q);
    free((void *)before);
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
}

Test(unique_together, deletes_set_nulls_and_rollbacks_keep_the_table_right)
{
    store_obj *ann;
    cr_assert_eq(store_create(us, Owner, (store_value[]){STORE_V_STR("name", "ann"), {0}}, &ann),
                 STORE_OK);
    store_obj *a1 = seat("A", 1, ann, STORE_OK);
    seat("B", 1, ann, STORE_OK);
    const char *before = strdup(dump_store(us));
    store_txn *t;
    cr_assert_eq(store_begin(us, 0, &t), STORE_OK);
    cr_assert_eq(store_delete(us, a1), STORE_OK);
    seat("A", 1, ann, STORE_OK); /* the values are free again */
    cr_assert_eq(store_delete(us, ann), STORE_OK); /* holder set null: out of (holder, row) */
    seat("B", 2, NULL, STORE_OK);
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
    cr_assert_eq(store_rollback(t), STORE_OK);
    cr_assert(same_store(us, before));
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
    seat("A", 1, NULL, STORE_ECONSTRAINT);
    seat("A", 5, ann, STORE_ECONSTRAINT);
    cr_assert_eq(store_delete(us, ann), STORE_OK);
    seat("A", 5, NULL, STORE_OK);
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
    free((void *)before);
}

Test(unique_together, a_reopen_rebuilds_the_table_and_a_file_that_repeats_the_values_does_not_open)
{
    store_close(us);
    seats_open(path, false, STORE_OK); /* no unique sets: repeats are allowed */
    seat("A", 1, NULL, STORE_OK);
    seat("A", 1, NULL, STORE_OK);
    seat("B", 1, NULL, STORE_OK);
    cr_assert_eq(store_close(us), STORE_OK);
    us = NULL;
    seats_open(path, true, STORE_ESCHEMA);
    cr_assert(strstr(store_errmsg(NULL), "Seat 1 and 2 share their values of (row, number)"),
              "%s", store_errmsg(NULL));
    seats_open(path, false, STORE_OK);
    store_obj *two;
    cr_assert_eq(store_get(us, Seat, 2, &two), STORE_OK);
    cr_assert_eq(store_delete(us, two), STORE_OK);
    cr_assert_eq(store_close(us), STORE_OK);
    seats_open(path, true, STORE_OK);
    seat("A", 1, NULL, STORE_ECONSTRAINT);
    seat("C", 1, NULL, STORE_OK);
    cr_assert_eq(store_check(us), STORE_OK, "%s", store_errmsg(us));
}

Test(unique_together, the_rules_of_declaring_a_set)
{
    store_schema *sc = seat_schema(false);
    cr_assert_eq(store_schema_unique(NULL, "Seat", (const char *[]){"row", NULL}), STORE_EINVAL);
    cr_assert_eq(store_schema_unique(sc, NULL, (const char *[]){"row", NULL}), STORE_EINVAL);
    cr_assert_eq(store_schema_unique(sc, "Seat", NULL), STORE_EINVAL);
    refused(store_schema_unique(sc, "Nope", (const char *[]){"row", NULL}),
            "no model \"Nope\" declared yet");
    refused(store_schema_unique(sc, "Seat", (const char *[]){NULL}), "needs a field");
    refused(store_schema_unique(sc, "Seat", (const char *[]){"row", "nope", NULL}),
            "no field \"nope\"");
    refused(store_schema_unique(sc, "Seat", (const char *[]){"row", "price", NULL}),
            "a FLOAT field cannot be unique together");
    refused(store_schema_unique(sc, "Seat", (const char *[]){"row", "row", NULL}),
            "named twice");
    refused(store_schema_unique(sc, "Seat", (const char *[]){"id", NULL}), "no field \"id\"");
    store_schema_free(sc);
}

/* ---- Queries through many-to-many -------------------------------------------------------- */

/* The titles (FIELD) of what Q finds, "a,b"; Q freed. */
static const char *found(store_query *q, const char *field)
{
    static char buf[256];
    buf[0] = 0;
    store_result r;
    cr_assert_eq(store_query_find(q, NULL, &r), STORE_OK, "%s", store_errmsg(s));
    for (size_t i = 0; i < r.count; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "",
                 store_str(r.objs[i], field));
    store_result_free(&r);
    store_query_free(q);
    return buf;
}

static store_query *query(store_model *m, const store_value *terms, const char *order)
{
    store_query *q;
    cr_assert_eq(store_query_new(s, m, &q), STORE_OK);
    if (terms)
        cr_assert_eq(store_query_filter(q, terms), STORE_OK, "%s", store_errmsg(s));
    if (order)
        cr_assert_eq(store_query_order_by(q, (const char *[]){order, NULL}), STORE_OK, "%s",
                     store_errmsg(s));
    return q;
}

Test(m2m, queries_go_through_many_to_many_from_either_side)
{
    store_obj *dune = make(MBook, "title", "Dune"), *emma = make(MBook, "title", "Emma"),
              *ulysses = make(MBook, "title", "Ulysses");
    store_obj *sf = make(Tag, "name", "sf"), *classic = make(Tag, "name", "classic"),
              *long_ = make(Tag, "name", "long");
    link_pair(dune, "tags", sf);
    link_pair(dune, "tags", classic);
    link_pair(emma, "tags", classic);
    link_pair(ulysses, "tags", classic);
    link_pair(ulysses, "tags", long_);
    link_pair(dune, "tags", long_);
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_STR("tags__name", "long"), {0}},
                                 NULL), "title"), "Dune,Ulysses");
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_REF("tags", classic), {0}},
                                 NULL), "title"), "Dune,Emma,Ulysses");
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_INT("tags__count__gte", 2), {0}},
                                 "-tags__count"), "title"), "Dune,Ulysses");
    cr_assert_str_eq(found(query(Tag, (store_value[]){STORE_V_STR("books__title__startswith",
                                                                  "U"), {0}}, "name"), "name"),
                     "classic,long");
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_INT("tags__id", 1), {0}}, NULL),
                           "title"), "Dune");
    cr_assert_str_eq(found(query(Tag, (store_value[]){STORE_V_INT("books__count", 3), {0}}, NULL),
                           "name"), "classic");
    /* Each term is its own "some linked object": a book tagged sf and also long. */
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_STR("tags__name", "sf"),
                                                        STORE_V_STR("tags__name", "long"), {0}},
                                 NULL), "title"), "Dune");
    /* Exclude: books with no tag named long. */
    store_query *q = query(MBook, NULL, NULL);
    cr_assert_eq(store_query_exclude(q, (store_value[]){STORE_V_STR("tags__name", "long"), {0}}),
                 STORE_OK);
    cr_assert_str_eq(found(q, "title"), "Emma");
    /* `tags = obj` drives from obj's links: as many to look at as it has links. */
    q = query(MBook, (store_value[]){STORE_V_REF("tags", long_), {0}}, NULL);
    char plan[256];
    cr_assert_eq(store_query_explain(q, NULL, plan, sizeof plan), STORE_OK);
    cr_assert(strstr(plan, "links of 1 Tag through Book_tags.tag: 2 to look at"), "%s", plan);
    size_t n;
    cr_assert_eq(store_query_count(q, NULL, &n), STORE_OK);
    cr_assert_eq(n, 2);
    store_query_free(q);
    make(Tag, "name", "spare"); /* so that a scan of the tags costs more */
    q = query(Tag, (store_value[]){STORE_V_REF("books", dune), {0}}, "name");
    cr_assert_eq(store_query_explain(q, NULL, plan, sizeof plan), STORE_OK);
    cr_assert(strstr(plan, "links of 1 Book through Book_tags.book: 3 to look at"), "%s", plan);
    cr_assert_str_eq(found(q, "name"), "classic,long,sf");
    /* A deleted far object has no links; one of the wrong model is refused. */
    store_obj *gone = make(Tag, "name", "gone");
    link_pair(emma, "tags", gone);
    cr_assert_eq(store_delete(s, gone), STORE_OK);
    cr_assert_str_eq(found(query(MBook, (store_value[]){STORE_V_REF("tags", gone), {0}}, NULL),
                           "title"), "");
    cr_assert_eq(store_query_new(s, MBook, &q), STORE_OK);
    cr_assert_eq(store_query_filter(q, (store_value[]){STORE_V_REF("tags", dune), {0}}),
                 STORE_EINVAL);
    store_query_free(q);
    /* The payload of a through model the schema declares, by its relation's name. */
    store_obj *mix = make(Playlist, "name", "Mix"), *chill = make(Playlist, "name", "Chill"),
              *one = make(Song, "title", "One");
    cr_assert_eq(store_m2m_add(s, mix, "songs", one,
                               (store_value[]){STORE_V_STR("note", "opener"), {0}}, NULL),
                 STORE_OK);
    link_pair(chill, "songs", one);
    cr_assert_str_eq(found(query(Playlist, (store_value[]){STORE_V_STR("entries__note",
                                                                       "opener"), {0}}, NULL),
                           "name"), "Mix");
    cr_assert_str_eq(found(query(Playlist, (store_value[]){STORE_V_STR("songs__title", "One"),
                                                           {0}}, "name"), "name"),
                     "Chill,Mix");
    check();
}

Test(m2m, a_file_opened_without_a_schema_knows_its_many_to_many_relations)
{
    reopen(path);
    store_obj *dune = make(MBook, "title", "Dune"), *sf = make(Tag, "name", "sf"),
              *old = make(Tag, "name", "old");
    link_pair(dune, "tags", old);
    link_pair(dune, "tags", sf);
    cr_assert_eq(store_close(s), STORE_OK);
    s = NULL;
    store *ro;
    cr_assert_eq(store_open(&ro, NULL, path, &(store_options){.flags = STORE_OPEN_READONLY}),
                 STORE_OK, "%s", store_errmsg(NULL));
    store_model *book = store_model_find(ro, "Book"), *tag = store_model_find(ro, "Tag");
    const char *name;
    store_model *other, *through;
    bool declared;
    cr_assert(store_m2m_at(book, 0, &name, &other, &through, &declared));
    cr_assert_str_eq(name, "tags");
    cr_assert_eq(other, tag);
    cr_assert_str_eq(store_model_name(through), "Book_tags");
    cr_assert(declared);
    cr_assert_not(store_m2m_at(book, 1, NULL, NULL, NULL, NULL));
    cr_assert(store_m2m_at(tag, 0, &name, &other, NULL, &declared));
    cr_assert_str_eq(name, "books");
    cr_assert_not(declared);
    store_obj *b;
    cr_assert_eq(store_get(ro, book, 1, &b), STORE_OK);
    store_iter it = store_m2m(b, "tags");
    cr_assert_str_eq(store_str(store_next(&it), "name"), "old");
    cr_assert_str_eq(store_str(store_next(&it), "name"), "sf");
    const store_fld *fk = store_field_at(through, 0);
    cr_assert_str_eq(store_field_related_name(fk), "book_tags");
    cr_assert_eq(store_field_on_delete(fk), STORE_CASCADE);
    cr_assert_not(store_field_unique(fk));
    cr_assert_eq(store_close(ro), STORE_OK);
}

/* Runs CALL with the n-th allocation failing, n = 0, 1, 2, ..., once (ONCE) or from n on,
 * until it gets through: each failure must be STORE_ENOMEM with the store as before. */
static void each_allocation(store *x, int (*call)(store *x, void *arg), void *arg, bool once)
{
    const char *before = strdup(dump_store(x));
    for (long n = 0;; n++) {
        once ? fail_alloc_at(n) : fail_alloc_from(n);
        int rc = call(x, arg);
        bool hit = fail_alloc_hit();
        fail_alloc_at(-1);
        if (rc == STORE_OK)
            break;
        cr_assert(hit, "failed without an allocation failing: %s", store_errmsg(x));
        cr_assert_eq(rc, STORE_ENOMEM, "allocation %ld: %s", n, store_errmsg(x));
        cr_assert(same_store(x, before), "allocation %ld changed the store", n);
        cr_assert_eq(store_check(x), STORE_OK, "%s", store_errmsg(x));
        cr_assert_lt(n, 10000);
    }
    free((void *)before);
    cr_assert_eq(store_check(x), STORE_OK, "%s", store_errmsg(x));
}

static int create_seats(store *x, void *arg)
{
    (void)arg;
    store_txn *t = NULL;
    int rc = store_begin(x, 0, &t);
    for (int i = 0; !rc && i < 40; i++) {
        char row[8];
        snprintf(row, sizeof row, "R%d", i % 7);
        rc = store_create(x, Seat, (store_value[]){STORE_V_STR("row", row),
                                                   STORE_V_INT("number", 100 + i), {0}}, NULL);
    }
    if (t)
        rc ? store_rollback(t) : store_commit(t);
    return rc;
}

static int renumber(store *x, void *arg)
{
    (void)arg;
    store_query *q;
    int rc = store_query_new(x, Seat, &q);
    if (rc)
        return rc;
    rc = store_query_filter(q, (store_value[]){STORE_V_INT("number__gte", 100), {0}});
    size_t n = 0;
    if (!rc)
        rc = store_query_update(q, NULL, (store_value[]){STORE_V_STR("row", "Z"), {0}}, &n);
    store_query_free(q);
    return rc;
}

Test(unique_together, allocation_failures_change_nothing)
{
    each_allocation(us, create_seats, NULL, true);
    cr_assert_eq(store_model_count(Seat), 40);
    store_obj *o;
    cr_assert_eq(store_get(us, Seat, 40, &o), STORE_OK);
    cr_assert_eq(store_delete(us, o), STORE_OK);
    each_allocation(us, renumber, NULL, false);
    cr_assert_eq(store_model_count(Seat), 39);
    /* The schema call: out of memory leaves the schema unchanged. */
    store_schema *sc = seat_schema(false);
    for (long n = 0;; n++) {
        fail_alloc_at(n);
        int rc = store_schema_unique(sc, "Seat", (const char *[]){"row", "holder", NULL});
        fail_alloc_at(-1);
        if (!rc)
            break;
        cr_assert_eq(rc, STORE_ENOMEM);
    }
    store *x;
    cr_assert_eq(store_open(&x, sc, NULL, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *xs = store_model_find(x, "Seat");
    cr_assert_eq(store_create(x, xs, (store_value[]){STORE_V_STR("row", "A"), {0}}, NULL),
                 STORE_OK);
    cr_assert_eq(store_create(x, xs, (store_value[]){STORE_V_STR("row", "A"), {0}}, NULL),
                 STORE_OK); /* holder null: no clash */
    store_close(x);
    store_schema_free(sc);
}
