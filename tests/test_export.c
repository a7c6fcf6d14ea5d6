/*
 * tests/test_export.c - relstore export --sql and --sqlite, checked through SQLite.
 *
 * A store of every field kind and relation (a self-referencing SET_NULL FK, CASCADE and
 * RESTRICT FKs, a one-to-one, a many-to-many, uniques, indexes, an ordered index, defaults of
 * every kind, nulls, UTF-8 and quotes in strings, doubles that only their shortest exact form
 * keeps, an infinity) is written to a file; the inspector (RELSTORE_TOOL) exports it. The SQL
 * is loaded into a fresh SQLite database with foreign keys on, and the --sqlite file opened;
 * in each, every row of every table is compared with the store's object, value for value
 * (doubles bit for bit), and every column, primary key, foreign key (target and ON DELETE
 * rule), unique constraint, index and default with the schema; foreign_key_check finds
 * nothing, and the rules act (a delete cascades, a RESTRICT refuses). Then: an existing
 * output file is refused and left as it was; a cycle of FKs between two models is refused by
 * --sql, which PostgreSQL could not load, and exported by --sqlite; plain dump prints UTF-8
 * and shortest floats.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/rich.h"

static char dir[64], path[128];

static void setup(void)
{
    test_dir_new(dir, path, "export");
}

static void teardown(void)
{
    test_dir_remove(dir);
}

TestSuite(export, .init = setup, .fini = teardown, .timeout = 120);

static store_obj *make(store *db, const char *model, const store_value *v)
{
    store_obj *o;
    int rc = store_create(db, store_model_find(db, model), v, &o);
    cr_assert_eq(rc, STORE_OK, "create %s: %s", model, store_errmsg(db));
    return o;
}

/* Runs the inspector with ARGS (a shell fragment); its exit status. */
static int tool(const char *args)
{
    const char *t = getenv("RELSTORE_TOOL");
    cr_assert_not_null(t, "RELSTORE_TOOL names the inspector");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s", t, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_text(const char *p)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* The rich store, exported by the inspector with HOW (sql or sqlite) into DIR/NAME, whose
 * path goes to OUT (160 bytes). */
static void rich_export(const char *how, const char *name, char *out)
{
    rich_store_write(path);
    char args[512];
    snprintf(out, 160, "%s/%s", dir, name);
    snprintf(args, sizeof args, "export '%s' --%s '%s'", path, how, out);
    cr_assert_eq(tool(args), 0, "export --%s", how);
}

/* One row of a query on SQ, as text, or NULL (sqlite3_mprintf'd). */
static char *one_text(sqlite3 *sq, const char *sql)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(sq, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(sq));
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* The SQL literal the export gives default V. */
static void default_literal(const store_value *v, char *buf, size_t size)
{
    switch (v->kind) {
    case STORE_KIND_STR:
        snprintf(buf, size, "'%s'", v->u.s);
        break;
    case STORE_KIND_INT:
        snprintf(buf, size, "%" PRId64, v->u.i);
        break;
    case STORE_KIND_FLOAT: /* the fewest digits that read back */
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(buf, size, "%.*g", digits, v->u.f);
            if (strtod(buf, NULL) == v->u.f)
                break;
        }
        break;
    default:
        snprintf(buf, size, "%s", v->u.b ? "TRUE" : "FALSE");
    }
}

/* Model M's table in SQ against its schema: columns, keys, constraints, indexes. */
static void compare_schema(sqlite3 *sq, store_model *m)
{
    const char *mn = store_model_name(m);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT name, type, \"notnull\", dflt_value, pk FROM "
             "pragma_table_info('%s') ORDER BY cid", mn);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(sq, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(sq));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no table", mn);
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "id");
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), "BIGINT");
    cr_expect_eq(sqlite3_column_int(st, 4), 1, "%s.id is the primary key", mn);
    const store_fld *f;
    for (size_t j = 0; (f = store_field_at(m, j)); j++) {
        const char *fn = store_field_name(f);
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s.%s: no column", mn, fn);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), fn);
        char type[64];
        static const char *const types[] = {"", "VARCHAR", "TEXT", "BIGINT", "DOUBLE PRECISION",
                                            "BOOLEAN", "BIGINT"};
        snprintf(type, sizeof type, "%s", types[store_field_type(f)]);
        if (store_field_max_length(f))
            snprintf(type, sizeof type, "VARCHAR(%zu)", store_field_max_length(f));
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), type, "%s.%s", mn, fn);
        cr_expect_eq(sqlite3_column_int(st, 2), !store_field_null(f), "%s.%s: NOT NULL", mn, fn);
        store_value v;
        const char *dflt = (const char *)sqlite3_column_text(st, 3);
        if (store_field_default(f, &v)) {
            char want[64];
            default_literal(&v, want, sizeof want);
            cr_expect(dflt && !strcmp(dflt, want), "%s.%s: default %s, want %s", mn, fn,
                      dflt ? dflt : "none", want);
        } else {
            cr_expect_null(dflt, "%s.%s: a default %s", mn, fn, dflt);
        }
        cr_expect_eq(sqlite3_column_int(st, 4), 0);

        /* A FK: its target and rule. */
        snprintf(sql, sizeof sql, "SELECT \"table\" || ' ' || \"to\" || ' ' || on_delete FROM "
                 "pragma_foreign_key_list('%s') WHERE \"from\" = '%s'", mn, fn);
        char *fk = one_text(sq, sql);
        if (store_field_type(f) == STORE_FK) {
            char want[96];
            store_on_delete r = store_field_on_delete(f);
            snprintf(want, sizeof want, "%s id %s", store_model_name(store_field_target(f)),
                     r == STORE_RESTRICT ? "RESTRICT" : r == STORE_SET_NULL ? "SET NULL"
                                                                             : "CASCADE");
            cr_expect(fk && !strcmp(fk, want), "%s.%s: FK %s, want %s", mn, fn, fk, want);
        } else {
            cr_expect_null(fk, "%s.%s: a FK", mn, fn);
        }
        sqlite3_free(fk);

        /* An index of its own: unique where .unique, plain for .index, .ordered and FKs. */
        snprintf(sql, sizeof sql, "SELECT group_concat(l.\"unique\") FROM pragma_index_list('%s') "
                 "l WHERE (SELECT count(*) FROM pragma_index_info(l.name)) = 1 AND (SELECT name "
                 "FROM pragma_index_info(l.name)) = '%s'", mn, fn);
        char *idx = one_text(sq, sql);
        const char *want = store_field_unique(f) ? "1"
                           : store_field_indexed(f) || store_field_ordered(f) ||
                                   store_field_type(f) == STORE_FK
                               ? "0"
                               : NULL;
        cr_expect(want ? idx && !strcmp(idx, want) : !idx, "%s.%s: indexes %s, want %s", mn, fn,
                  idx ? idx : "none", want ? want : "none");
        sqlite3_free(idx);
    }
    cr_expect_eq(sqlite3_step(st), SQLITE_DONE, "%s: more columns than fields", mn);
    sqlite3_finalize(st);
}

/* Column I of the row at ST against OBJ's field F. FROM_SQL: an infinity is 'Infinity'. */
static void compare_value(sqlite3_stmt *st, int i, const store_obj *obj, const store_fld *f,
                          bool from_sql)
{
    const char *fn = store_field_name(f);
    uint64_t id = store_id(obj);
    int t = sqlite3_column_type(st, i);
    if (store_field_is_null(obj, f)) {
        cr_expect_eq(t, SQLITE_NULL, "%s of %" PRIu64 ": not NULL", fn, id);
        return;
    }
    switch (store_field_type(f)) {
    case STORE_CHAR:
    case STORE_TEXT:
        cr_expect_eq(t, SQLITE_TEXT, "%s of %" PRIu64, fn, id);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, i), store_field_str(obj, f),
                         "%s of %" PRIu64, fn, id);
        break;
    case STORE_INT:
        cr_expect_eq(t, SQLITE_INTEGER, "%s of %" PRIu64, fn, id);
        cr_expect_eq(sqlite3_column_int64(st, i), store_field_int(obj, f), "%s of %" PRIu64, fn,
                     id);
        break;
    case STORE_FLOAT: {
        double d = store_field_float(obj, f);
        if (isinf(d) && from_sql) {
            cr_expect_str_eq((const char *)sqlite3_column_text(st, i),
                             d > 0 ? "Infinity" : "-Infinity");
            break;
        }
        cr_expect_eq(t, SQLITE_FLOAT, "%s of %" PRIu64 ": type %d", fn, id, t);
        double got = sqlite3_column_double(st, i);
        cr_expect(!memcmp(&got, &d, sizeof d), "%s of %" PRIu64 ": %.17g, want %.17g", fn, id,
                  got, d);
        break;
    }
    case STORE_BOOL:
        cr_expect_eq(t, SQLITE_INTEGER, "%s of %" PRIu64, fn, id);
        cr_expect_eq(sqlite3_column_int(st, i), store_field_bool(obj, f), "%s of %" PRIu64, fn,
                     id);
        break;
    default:
        cr_expect_eq((uint64_t)sqlite3_column_int64(st, i), store_id(store_field_ref(obj, f)),
                     "%s of %" PRIu64, fn, id);
    }
}

/* Every table of SQ against the store at PATH: schema and rows. */
static void compare(sqlite3 *sq, bool from_sql)
{
    store *db;
    store_options ro = {.flags = STORE_OPEN_READONLY};
    cr_assert_eq(store_open(&db, NULL, path, &ro), STORE_OK, "%s", store_errmsg(NULL));
    size_t models = 0;
    store_model *m;
    for (size_t i = 0; (m = store_model_at(db, i)); i++, models++) {
        compare_schema(sq, m);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY id", store_model_name(m));
        sqlite3_stmt *st;
        cr_assert_eq(sqlite3_prepare_v2(sq, sql, -1, &st, NULL), SQLITE_OK, "%s",
                     sqlite3_errmsg(sq));
        uint64_t pos = 0;
        size_t rows = 0;
        for (store_obj *obj; (obj = store_model_scan(m, &pos)); rows++) {
            cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %zu rows, the store has more",
                         store_model_name(m), rows);
            cr_expect_eq((uint64_t)sqlite3_column_int64(st, 0), store_id(obj));
            const store_fld *f;
            for (size_t j = 0; (f = store_field_at(m, j)); j++)
                compare_value(st, (int)j + 1, obj, f, from_sql);
        }
        cr_expect_eq(sqlite3_step(st), SQLITE_DONE, "%s: more rows than objects",
                     store_model_name(m));
        cr_expect_eq(rows, store_model_count(m));
        sqlite3_finalize(st);
    }
    char *tables = one_text(sq, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'");
    char want[16];
    snprintf(want, sizeof want, "%zu", models);
    cr_expect_str_eq(tables, want, "one table a model (through models included)");
    sqlite3_free(tables);
    cr_expect_null(one_text(sq, "SELECT 1 FROM pragma_foreign_key_check"),
                   "a row whose foreign key has no target");
    /* The many-to-many's links: a pair once, as the store has it. */
    char *pair = one_text(sq, "SELECT group_concat(i.name) FROM pragma_index_list('Book_tags') l, "
                              "pragma_index_info(l.name) i WHERE l.origin = 'u'");
    cr_expect(pair && !strcmp(pair, "book,tag"), "Book_tags: unique on %s", pair);
    sqlite3_free(pair);
    store_close(db);

    /* The rules act: Author 1's books go with him, taking their links; a book with a cover
     * stays (RESTRICT); his mentee loses her mentor (SET NULL). */
    cr_assert_eq(sqlite3_exec(sq, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
    cr_expect_neq(sqlite3_exec(sq, "DELETE FROM \"Book\" WHERE id = 1", NULL, NULL, NULL),
                  SQLITE_OK, "a book with a cover was deleted despite RESTRICT");
    cr_expect_eq(sqlite3_exec(sq, "DELETE FROM \"Cover\"; DELETE FROM \"Author\" WHERE id = 2",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(sq));
    cr_expect_null(one_text(sq, "SELECT 1 FROM \"Book\" WHERE author = 2"));
    cr_expect_null(one_text(sq, "SELECT 1 FROM \"Author\" WHERE mentor = 2"));
}

Test(export, sql_loads_into_sqlite_with_every_row_and_constraint)
{
    char out[160];
    rich_export("sql", "books.sql", out);
    char *text = read_text(out);
    cr_expect(strstr(text, "'O''Brien 2'"), "a quote is doubled");
    cr_expect(strstr(text, "9.99,"), "a price in its shortest form");
    sqlite3 *sq;
    cr_assert_eq(sqlite3_open(":memory:", &sq), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(sq, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(sq, text, NULL, NULL, &err);
    cr_assert_eq(rc, SQLITE_OK, "loading the SQL: %s", err ? err : "?");
    free(text);
    compare(sq, true);
    sqlite3_close(sq);
}

Test(export, sqlite_writes_a_database_with_every_row_and_constraint)
{
    char out[160];
    rich_export("sqlite", "books.sqlite", out);
    sqlite3 *sq;
    cr_assert_eq(sqlite3_open_v2(out, &sq, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    compare(sq, false);
    sqlite3_close(sq);
}

Test(export, an_existing_output_file_is_refused_and_left_alone)
{
    rich_store_write(path);
    char args[512], out[160];
    for (int kind = 0; kind < 2; kind++) {
        snprintf(out, sizeof out, "%s/taken.%d", dir, kind);
        FILE *f = fopen(out, "w");
        fputs("mine", f);
        fclose(f);
        snprintf(args, sizeof args, "export '%s' --%s '%s' 2>/dev/null", path,
                 kind ? "sqlite" : "sql", out);
        cr_expect_eq(tool(args), 1);
        char *text = read_text(out);
        cr_expect_str_eq(text, "mine");
        free(text);
        snprintf(out, sizeof out, "%s/taken.%d.partial", dir, kind);
        cr_expect_neq(access(out, F_OK), 0, "a partial file was left");
    }
    snprintf(args, sizeof args, "export '%s' --sql a --sqlite b 2>/dev/null", path);
    cr_expect_eq(tool(args), 2, "--sql and --sqlite together are a usage error");
    snprintf(args, sizeof args, "export '%s' 2>/dev/null", path);
    cr_expect_eq(tool(args), 2, "export without --sql or --sqlite is a usage error");
}

Test(export, a_cycle_of_foreign_keys_is_refused_by_sql_and_exported_by_sqlite)
{
    static const store_field a[] = {
        {.name = "b", .type = STORE_FK, .to = "B", .related_name = "as", .null = true,
         .on_delete = STORE_SET_NULL},
        {0}};
    static const store_field b[] = {
        {.name = "a", .type = STORE_FK, .to = "A", .related_name = "bs"}, {0}};
    store_schema *s;
    store_schema_new(&s);
    cr_assert_eq(store_schema_add(s, "A", a), STORE_OK);
    cr_assert_eq(store_schema_add(s, "B", b), STORE_OK);
    store *db;
    cr_assert_eq(store_open(&db, s, path, NULL), STORE_OK, "%s", store_errmsg(NULL));
    store_obj *x = make(db, "A", (store_value[]){{0}});
    store_obj *y = make(db, "B", (store_value[]){STORE_V_REF("a", x), {0}});
    cr_assert_eq(store_update(db, x, (store_value[]){STORE_V_REF("b", y), {0}}), STORE_OK);
    cr_assert_eq(store_close(db), STORE_OK);
    store_schema_free(s);

    char args[512], out[160];
    snprintf(out, sizeof out, "%s/cycle.sql", dir);
    snprintf(args, sizeof args, "export '%s' --sql '%s' 2>&1 | grep -q 'in a cycle'", path, out);
    cr_expect_eq(tool(args), 0, "--sql does not name the cycle");
    cr_expect_neq(access(out, F_OK), 0, "--sql wrote a file for a cycle");
    snprintf(out, sizeof out, "%s/cycle.sqlite", dir);
    snprintf(args, sizeof args, "export '%s' --sqlite '%s'", path, out);
    cr_assert_eq(tool(args), 0);
    sqlite3 *sq;
    cr_assert_eq(sqlite3_open_v2(out, &sq, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *row = one_text(sq, "SELECT a.id || ' ' || a.b || ' ' || b.a FROM A a, B b");
    cr_expect_str_eq(row, "1 1 1");
    sqlite3_free(row);
    cr_expect_null(one_text(sq, "SELECT 1 FROM pragma_foreign_key_check"));
    sqlite3_close(sq);
}

Test(export, dump_prints_utf8_and_the_shortest_floats)
{
    rich_store_write(path);
    char args[512], out[160];
    snprintf(out, sizeof out, "%s/dump.txt", dir);
    snprintf(args, sizeof args, "dump '%s' > '%s'", path, out);
    cr_assert_eq(tool(args), 0);
    char *text = read_text(out);
    cr_expect(strstr(text, "Author 1 name=\"Zoë 0\""), "UTF-8 as it is");
    cr_expect(strstr(text, "Author 2 name=\"李白 1\" bio=\"line one\\nline\\ttwo of 1, 'quoted' "
                           "\\\\ end\" born=1901 rating=0.3333333333333333 active=true mentor=1"),
              "escapes and a third in 16 digits");
    cr_expect(strstr(text, "title=\"Title 0.0 — “quoted”\" price=9.99 pages=-1 author=1"),
              "9.99, not 9.9900000000000002");
    cr_expect(strstr(text, "rating=1e+300"));
    cr_expect(strstr(text, "rating=5e-324"));
    cr_expect(strstr(text, "rating=\"inf\""));
    cr_expect(strstr(text, "rating=0.5 active=false"), "a default 0.5 and false");
    cr_expect(!strstr(text, "\\u00"), "no \\u escapes of printable text");
    free(text);
    snprintf(args, sizeof args, "info '%s' > '%s'", path, out);
    cr_assert_eq(tool(args), 0);
    text = read_text(out);
    cr_expect(strstr(text, "  name CHAR, max_length 30, unique\n"));
    cr_expect(strstr(text, "  bio TEXT, null\n"));
    cr_expect(strstr(text, "  born INT, null, index\n"));
    cr_expect(strstr(text, "  rating FLOAT, ordered, default 0.5\n"));
    cr_expect(strstr(text, "  active BOOL, default true\n"));
    cr_expect(strstr(text, "  mentor FK -> Author, related_name mentees, one-to-many, on_delete "
                           "SET_NULL, null\n"));
    cr_expect(strstr(text, "  book FK -> Book, related_name cover, one-to-one, on_delete "
                           "RESTRICT\n"));
    cr_expect(strstr(text, "  color CHAR, max_length 10, default \"rouge ♦\"\n"), "%s", text);
    cr_expect(strstr(text, "  pages INT, default -1\n"));
    free(text);
}
