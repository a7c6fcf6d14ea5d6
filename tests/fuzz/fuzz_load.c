/*
 * tests/fuzz/fuzz_load.c - R8: the loader, fed from memory through persist/kv.h.
 *
 * The input describes a file's content: records of Author and Book (an id, then bytes) and
 * change-log entries (bytes). Checksums are made right (records seeded with their id, log
 * entries with their generation; one record in four keeps the input's), and the catalog is
 * written to agree with what is there (counts, checksum sums, the log's digest, next ids
 * past every id), so that what gets fuzzed is what lies behind those checks: fields,
 * values, foreign keys, join orders, unique values, the log's changes. rs_load_store() must
 * return STORE_OK with a store that passes store_check(), or an error and no store; a
 * crash, a leak or a store that fails its check is a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "persist/catalog.h"
#include "persist/codec.h"
#include "persist/internal.h"
#include "persist/log.h"
#include "store/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const store_field author_fields[] = {
    {.name = "name", .type = STORE_CHAR, .max_length = 20, .index = true},
    {.name = "age", .type = STORE_INT, .null = true},
    {0},
};
static const store_field book_fields[] = {
    {.name = "title", .type = STORE_CHAR, .max_length = 40},
    {.name = "author", .type = STORE_FK, .to = "Author", .related_name = "books",
     .on_delete = STORE_CASCADE},
    {.name = "editor", .type = STORE_FK, .to = "Author", .related_name = "edited", .null = true,
     .on_delete = STORE_SET_NULL},
    {.name = "isbn", .type = STORE_CHAR, .max_length = 13, .null = true, .unique = true},
    {0},
};

enum { NDB = 3, MAX_PAIRS = 64 };

/* One database in memory: pairs in increasing key order, keys unique. */
typedef struct memdb {
    const char *name;
    size_t n;
    uint64_t keys[MAX_PAIRS];
    uint8_t *vals[MAX_PAIRS];
    size_t lens[MAX_PAIRS];
} memdb;

typedef struct memwalk {
    const memdb *db;
    size_t at;
} memwalk;

static memdb dbs[NDB];

static int mem_open(void *ctx, const char *name, size_t *count, void **cursor)
{
    (void)ctx;
    for (int i = 0; i < NDB; i++) {
        if (strcmp(dbs[i].name, name) || !dbs[i].n)
            continue;
        memwalk *w = calloc(1, sizeof *w);
        if (!w)
            return STORE_ENOMEM;
        w->db = &dbs[i];
        *count = dbs[i].n;
        *cursor = w;
        return STORE_OK;
    }
    return 1;
}

static int mem_next(void *cursor, const void **key, size_t *klen, const void **val,
                    size_t *vlen)
{
    memwalk *w = cursor;
    if (w->at == w->db->n)
        return 0;
    *key = &w->db->keys[w->at];
    *klen = 8;
    *val = w->db->vals[w->at];
    *vlen = w->db->lens[w->at];
    w->at++;
    return 1;
}

static void mem_close(void *cursor)
{
    free(cursor);
}

typedef struct prog {
    const uint8_t *p, *end;
} prog;

static unsigned byte(prog *g)
{
    return g->p < g->end ? *g->p++ : 0;
}

/* Puts KEY -> LEN bytes taken from G into DB (a repeated key is ignored), keeping order. */
static uint8_t *put(memdb *db, uint64_t key, size_t len, prog *g)
{
    if (db->n == MAX_PAIRS)
        return NULL;
    size_t at = 0;
    while (at < db->n && db->keys[at] < key)
        at++;
    if (at < db->n && db->keys[at] == key)
        return NULL;
    uint8_t *v = calloc(1, len ? len : 1);
    if (!v)
        abort();
    for (size_t i = 0; i < len; i++)
        v[i] = (uint8_t)byte(g);
    memmove(&db->keys[at + 1], &db->keys[at], (db->n - at) * sizeof db->keys[0]);
    memmove(&db->vals[at + 1], &db->vals[at], (db->n - at) * sizeof db->vals[0]);
    memmove(&db->lens[at + 1], &db->lens[at], (db->n - at) * sizeof db->lens[0]);
    db->keys[at] = key;
    db->vals[at] = v;
    db->lens[at] = len;
    db->n++;
    return v;
}

static store *open_memory(store_schema **s)
{
    store *db;
    if (store_schema_new(s) || store_schema_add(*s, "Author", author_fields) ||
        store_schema_add(*s, "Book", book_fields) || store_open(&db, *s, NULL, NULL))
        abort();
    return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char names[NDB][32];
    rs_file_dbname(names[0], sizeof names[0], "Author");
    rs_file_dbname(names[1], sizeof names[1], "Book");
    strcpy(names[2], RS_LOG_DB);
    for (int i = 0; i < NDB; i++)
        dbs[i] = (memdb){.name = names[i]};
    prog g = {data, data + size};
    rs_cat_state state[2] = {{0}};
    for (int m = 0; m < 2; m++) {
        unsigned n = byte(&g) % 24;
        uint64_t top = 0;
        for (unsigned k = 0; k < n; k++) {
            uint64_t id = byte(&g) % 40 + 1;
            size_t len = 8 + byte(&g) % 72;
            uint8_t *rec = put(&dbs[m], id, len, &g);
            if (!rec)
                continue;
            if (k % 4 != 3) {
                uint64_t h = XXH3_64bits_withSeed(rec + 8, len - 8, id);
                memcpy(rec, &h, 8);
            }
            state[m].count++;
            state[m].hsum += rs_codec_hash(rec);
            top = id > top ? id : top;
        }
        state[m].next_id = top + 1 + byte(&g) % 3;
    }
    rs_cat_head head = {.generation = 1, .join_seq = byte(&g)};
    unsigned entries = byte(&g) % 3;
    for (unsigned gen = 1; gen <= entries; gen++) {
        size_t len = 12 + byte(&g) * 2;
        uint8_t *e = put(&dbs[2], gen, len, &g);
        uint64_t h = XXH3_64bits_withSeed(e + 8, len - 8, gen);
        memcpy(e, &h, 8);
        head.log.count++;
        head.log.hsum += rs_log_hash(e);
        head.log.bytes += len;
        head.generation = gen + 1;
    }
    store_schema *s1, *s2;
    store *tmp = open_memory(&s1), *db = open_memory(&s2);
    uint8_t *catbytes;
    size_t catlen;
    rs_catalog cat;
    if (rs_catalog_encode(tmp, &head, state, &catbytes, &catlen))
        abort();
    if (rs_catalog_decode(&cat, catbytes, catlen) || rs_catalog_apply(db, &cat))
        abort(); /* our own catalog of our own schema */
    rs_kv kv = {.ctx = NULL, .open = mem_open, .next = mem_next, .close = mem_close};
    if (rs_load_store(db, &kv, &cat) == STORE_OK && store_check(db) != STORE_OK) {
        fprintf(stderr, "fuzz_load: a loaded store fails its check: %s\n", store_errmsg(db));
        abort();
    }
    rs_catalog_free(&cat);
    free(catbytes);
    store_close(db);
    store_close(tmp);
    store_schema_free(s1);
    store_schema_free(s2);
    for (int i = 0; i < NDB; i++)
        for (size_t k = 0; k < dbs[i].n; k++)
            free(dbs[i].vals[k]);
    return 0;
}
