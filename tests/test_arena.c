/*
 * tests/test_arena.c - objects in the slots their ids name: chunk boundaries, chunks whose
 * objects all died, short strings kept inside the slot, and the change marks a snapshot
 * gathers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/model.h" /* the churn test reads the slot size */
#include "tests/helpers.h"

TestSuite(arena, .init = library_setup, .fini = library_teardown);

/* Ids 1..N of Author, named "A<id>". */
static void make_authors(int n)
{
    char name[32];
    for (int i = 1; i <= n; i++) {
        snprintf(name, sizeof name, "A%d", i);
        cr_assert_eq(store_id(make_author(name)), (uint64_t)i);
    }
}

Test(arena, every_object_is_found_by_id_across_chunk_boundaries)
{
    make_authors(3100); /* chunks of 1,024 ids: 0-1023, 1024-2047, 2048-3071, 3072- */
    char name[32];
    for (uint64_t id = 1; id <= 3100; id++) {
        store_obj *o;
        cr_assert_eq(store_get(db, Author, id, &o), STORE_OK, "id %lu", (unsigned long)id);
        snprintf(name, sizeof name, "A%lu", (unsigned long)id);
        cr_assert_str_eq(store_str(o, "name"), name);
    }
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 0, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_get(db, Author, 3101, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_get(db, Author, UINT64_MAX, &o), STORE_ENOTFOUND);
    check_invariants(db);
}

/* Whether the page holding P is resident. */
static bool resident(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char vec = 0;
    void *start = (void *)((uintptr_t)p & ~((uintptr_t)page - 1));
    cr_assert_eq(mincore(start, (size_t)page, &vec), 0);
    return vec & 1;
}

Test(arena, a_chunk_whose_objects_all_died_gives_its_pages_back_and_stays_readable)
{
    make_authors(1500);
    store_obj *mid;
    cr_assert_eq(store_get(db, Author, 500, &mid), STORE_OK);
    cr_assert(resident(mid));
    for (uint64_t id = 1; id < 1024; id++) {
        store_obj *o;
        cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
        cr_assert_eq(store_delete(db, o), STORE_OK);
    }
    /* The chunk of ids 0-1023 is empty and every id in it was handed out. */
    cr_assert_not(resident(mid), "the emptied chunk kept its pages");
    cr_assert_eq(store_id(mid), 0, "a stale pointer reads a dead slot");
    /* Handed back to the store, it is a deleted object, never followed. */
    const char *before = dump_store(db);
    cr_assert_eq(store_update(db, mid, (store_value[]){STORE_V_INT("age", 1), {0}}),
                 STORE_EINVAL);
    cr_assert_eq(store_delete(db, mid), STORE_EINVAL);
    cr_assert_eq(store_create(db, Book, (store_value[]){STORE_V_STR("title", "T"),
                                                       STORE_V_REF("author", mid), {0}},
                              NULL),
                 STORE_ECONSTRAINT);
    store_iter it = store_reverse(mid, "books");
    cr_assert_null(store_next(&it));
    cr_assert_eq(store_count(&it), 0);
    cr_assert_null(store_str(mid, "name"));
    cr_assert(same_store(db, before));
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 500, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_get(db, Author, 1024, &o), STORE_OK);
    cr_assert_str_eq(store_str(o, "name"), "A1024");
    cr_assert_eq(store_model_count(Author), 1500 - 1023);
    cr_assert_eq(store_id(make_author("new")), 1501);
    check_invariants(db);
}

Test(arena, a_chunk_with_ids_still_to_come_keeps_its_pages)
{
    make_authors(10);
    store_obj *first;
    cr_assert_eq(store_get(db, Author, 1, &first), STORE_OK);
    for (uint64_t id = 1; id <= 10; id++) {
        store_obj *o;
        cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
        cr_assert_eq(store_delete(db, o), STORE_OK);
    }
    store_obj *next = make_author("after");
    cr_assert_eq(store_id(next), 11);
    cr_assert_str_eq(store_str(next, "name"), "after");
    cr_assert_eq(store_model_count(Author), 1);
    check_invariants(db);
}

/* Whether string S lies inside object O's slot (the first 256 bytes from O). */
static bool in_slot(const store_obj *o, const char *s)
{
    return s >= (const char *)o && s < (const char *)o + 256;
}

Test(arena, strings_of_up_to_6_bytes_live_in_the_slot_longer_ones_apart)
{
    store_obj *a = make_author("six by"); /* 6 */
    store_obj *b = make_author("seven b"); /* 7 */
    store_obj *c = make_author("");
    store_obj *d = make_author("caf\xc3\xa9!"); /* 6 bytes, 5 characters */
    store_obj *e = make_author("fourteen bytes"); /* 14: inside a slot of old, apart now */
    cr_assert(in_slot(a, store_str(a, "name")));
    cr_assert_not(in_slot(b, store_str(b, "name")));
    cr_assert(in_slot(c, store_str(c, "name")));
    cr_assert(in_slot(d, store_str(d, "name")));
    cr_assert_not(in_slot(e, store_str(e, "name")));
    cr_assert_str_eq(store_str(a, "name"), "six by");
    cr_assert_str_eq(store_str(b, "name"), "seven b");
    cr_assert_str_eq(store_str(c, "name"), "");
    cr_assert_str_eq(store_str(d, "name"), "caf\xc3\xa9!");
    cr_assert_str_eq(store_str(e, "name"), "fourteen bytes");
    cr_assert_not(store_is_null(c, "name"), "an empty string is not null");
    check_invariants(db);
}

Test(arena, an_update_stores_a_new_string_and_the_index_follows)
{
    store_obj *a = make_author("short");
    cr_assert(in_slot(a, store_str(a, "name")));
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_STR("name", "tiny"), {0}}),
                 STORE_OK);
    cr_assert_str_eq(store_str(a, "name"), "tiny");
    cr_assert_not(in_slot(a, store_str(a, "name")), "the slot is written only before publishing");
    store_obj *found;
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR(NULL, "tiny"), &found),
                 STORE_OK);
    cr_assert_eq(found, a);
    cr_assert_eq(store_get_by(db, Author, "name", &(store_value)STORE_V_STR(NULL, "short"), &found),
                 STORE_ENOTFOUND);
    cr_assert_eq(store_update(db, a, (store_value[]){STORE_V_STR("name", "a name longer "
                                                                         "than the slot"),
                                                     {0}}),
                 STORE_OK);
    cr_assert_str_eq(store_str(a, "name"), "a name longer than the slot");
    check_invariants(db);
}

/* A store file in a new temporary folder DIR: its path in PATH. */
static void temp_file(char dir[64], char path[96])
{
    strcpy(dir, "/tmp/relstore-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, 96, "%s/s.db", dir);
}

/* Closes S, reopens it from PATH, and checks that it holds what it held. */
static store *reopened(store *s, const char *path)
{
    const char *before = dump_store(s);
    check_invariants(s);
    cr_assert_eq(store_close(s), STORE_OK);
    cr_assert_eq(store_open(&s, schema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    cr_assert(same_store(s, before));
    check_invariants(s);
    return s;
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(arena, short_and_long_strings_survive_a_snapshot_and_reopen)
{
    char dir[64], path[96];
    temp_file(dir, path);
    store *s;
    cr_assert_eq(store_open(&s, schema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(s, "Author");
    const char *names[] = {"", "x", "fourteen bytes", "fifteen bytes!!",
                           "caf\xc3\xa9 \xe2\x98\x95 and a longer tail"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", names[i]), {0}},
                                  NULL),
                     STORE_OK);
    store_obj *o;
    cr_assert_eq(store_get(s, A, 2, &o), STORE_OK);
    cr_assert_eq(store_update(s, o, (store_value[]){STORE_V_STR("name", "y"), {0}}), STORE_OK);
    s = reopened(s, path);
    A = store_model_find(s, "Author");
    cr_assert_eq(store_get(s, A, 2, &o), STORE_OK);
    cr_assert(in_slot(o, store_str(o, "name")), "a load puts short strings in the slot");
    cr_assert_eq(store_close(s), STORE_OK);
    remove_dir(dir);
}

Test(arena, marks_count_changes_once_and_a_snapshot_clears_them)
{
    char dir[64], path[96];
    temp_file(dir, path);
    store *s;
    cr_assert_eq(store_open(&s, schema, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_model *A = store_model_find(s, "Author");
    store_obj *objs[2100];
    for (int i = 0; i < 2100; i++)
        cr_assert_eq(store_create(s, A, (store_value[]){STORE_V_STR("name", "n"), {0}},
                                  &objs[i]),
                     STORE_OK);
    store_stats st;
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(st.dirty, 2100);
    cr_assert_eq(store_update(s, objs[5], (store_value[]){STORE_V_INT("age", 3), {0}}),
                 STORE_OK);
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(st.dirty, 2100, "a second change of a dirty object counts once");
    cr_assert_eq(store_snapshot(s), STORE_OK);
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(st.dirty + st.deleted, 0);
    cr_assert_eq(st.last_written, 2100);
    cr_assert_eq(store_update(s, objs[2000], (store_value[]){STORE_V_INT("age", 4), {0}}),
                 STORE_OK);
    cr_assert_eq(store_delete(s, objs[1]), STORE_OK);
    cr_assert_eq(store_delete(s, objs[1500]), STORE_OK);
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(st.dirty, 1);
    cr_assert_eq(st.deleted, 2);
    cr_assert_eq(store_snapshot(s), STORE_OK);
    cr_assert_eq(store_stat(s, &st), STORE_OK);
    cr_assert_eq(st.dirty + st.deleted, 0);
    cr_assert_eq(st.last_written, 1);
    cr_assert_eq(st.last_deleted, 2);
    s = reopened(s, path);
    cr_assert_eq(store_close(s), STORE_OK);
    remove_dir(dir);
}

/* The figure NAME ("VmSize", "VmRSS") of /proc/self/status, in KiB. */
static long status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

Test(arena, churn_gives_memory_back_and_never_gives_a_dead_address_to_a_new_id)
{
    /* 400 rounds of 1,024 creates then 1,024 deletes: 400 chunks' worth of ids. The memory
     * of emptied chunks goes back to the system, so the resident size stays flat; their
     * addresses are never carved again, so the address space grows by about the ids' slots
     * (store/arena.c). */
    store_obj *objs[1024];
    make_authors(1023); /* ids 1..1023: chunk 0 */
    store_obj *stale;
    cr_assert_eq(store_get(db, Author, 7, &stale), STORE_OK);
    long rss_before = 0, vm_before = 0;
    for (int round = 0; round < 400; round++) {
        for (uint64_t id = (uint64_t)round * 1024 + 1; id < (uint64_t)round * 1024 + 1024; id++) {
            store_obj *o;
            cr_assert_eq(store_get(db, Author, id, &o), STORE_OK);
            cr_assert_eq(store_delete(db, o), STORE_OK);
        }
        for (int i = 0; i < 1024; i++) {
            objs[i] = make_author(i % 2 ? "odd" : "even");
            cr_assert_neq(objs[i], stale, "a new id took a dead object's address");
        }
        cr_assert_eq(store_id(objs[0]), (uint64_t)round * 1024 + 1024);
        /* the last id of this chunk range dies now, so the next round frees a whole chunk */
        cr_assert_eq(store_delete(db, objs[0]), STORE_OK);
        if (round == 10) {
            rss_before = status_kib("VmRSS");
            vm_before = status_kib("VmSize");
        }
    }
    long rss_growth = status_kib("VmRSS") - rss_before;
    long vm_growth = status_kib("VmSize") - vm_before;
#ifndef __SANITIZE_ADDRESS__ /* its quarantine holds freed blocks back: the size grows there */
    cr_assert_lt(rss_growth, 4096, "the store kept %ld KiB over 390 rounds of churn", rss_growth);
#else
    (void)rss_growth;
#endif
    /* 390 rounds of 1,024 ids of an Author slot, and regions mapped up to twice ahead. */
    long slots_kib = 390L * (long)Author->arena.slot_size;
    cr_assert_lt(vm_growth, 3 * slots_kib + 4096, "address space grew by %ld KiB", vm_growth);
    /* A stale pointer never makes an old id findable again, nor reaches a new object. */
    store_obj *o;
    cr_assert_eq(store_get(db, Author, 7, &o), STORE_ENOTFOUND);
    cr_assert_eq(store_id(stale), 0);
    cr_assert_eq(store_update(db, stale, (store_value[]){STORE_V_INT("age", 1), {0}}),
                 STORE_EINVAL);
    cr_assert_eq(store_model_count(Author), 1023);
    check_invariants(db);
}
