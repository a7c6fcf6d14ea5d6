/*
 * tools/export.c - relstore export: a store as portable SQL, or as a SQLite database.
 *
 * The schema becomes one table a model, named as the model, with "id" BIGINT as its primary
 * key and a column a field: CHAR as VARCHAR(max_length), TEXT as TEXT, INT as BIGINT, FLOAT
 * as DOUBLE PRECISION, BOOL as BOOLEAN, a FK as BIGINT REFERENCES its parent's table with its
 * ON DELETE rule (CASCADE, RESTRICT, SET NULL) and DEFERRABLE INITIALLY DEFERRED, so that rows
 * may arrive in any order inside the one transaction. NOT NULL unless .null; UNIQUE where
 * .unique (a one-to-one FK too); DEFAULT where the file records a default; CREATE INDEX for
 * .index and .ordered fields and FKs that are not unique (a FK's index is what relstore's
 * reverse relation gives for free: without it, author.books scans every book). The through
 * model of a many-to-many relation gets UNIQUE on its two FKs: no pair is linked twice. The through model of a many-to-many
 * relation is a model like any other, so its table holds the links. Tables come parents
 * first: PostgreSQL needs a table to exist before another refers to it, so --sql refuses a
 * schema whose models refer to each other in a cycle (a model referring to itself is fine).
 *
 * --sql writes BEGIN, the CREATE statements, the rows in INSERTs of up to ROWS_PER_INSERT
 * rows in id order, then COMMIT: SQLite and PostgreSQL both load it (`sqlite3 db < FILE`,
 * `psql -f FILE`). Strings are UTF-8 literals, floats in their shortest exact form, booleans
 * TRUE and FALSE; an infinite FLOAT is 'Infinity' or '-Infinity', which PostgreSQL reads as
 * a double and SQLite as text (--sqlite stores the double itself). --sqlite builds the same
 * tables in a new SQLite database through prepared statements, with foreign keys enforced.
 *
 * Either writes FILE.partial and links it as FILE once complete and flushed to the disk, so
 * FILE is never half written; an existing FILE is refused, never overwritten. --sql - writes
 * to standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "values.h"

enum { ROWS_PER_INSERT = 100 };

/* ---- The order of the tables ----------------------------------------------------------- */

/*
 * The models of DB parents first, in a new array (the caller frees it) of *N: each model
 * after every other model one of its FKs refers to. When some models refer to each other in
 * a cycle, the array holds every model in declaration order and *CYCLE is one in the cycle;
 * else *CYCLE is NULL. NULL (said) when memory runs out.
 */
static store_model **parents_first(store *db, size_t *n, store_model **cycle)
{
    size_t total = 0;
    while (store_model_at(db, total))
        total++;
    store_model **order = calloc(total + 1, sizeof *order);
    bool *placed = calloc(total + 1, sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        fprintf(stderr, "relstore: out of memory\n");
        return NULL;
    }
    *n = 0;
    for (bool progress = true; progress && *n < total;) {
        progress = false;
        for (size_t i = 0; i < total; i++) {
            store_model *m = store_model_at(db, i);
            bool ready = !placed[i];
            const store_fld *f;
            for (size_t j = 0; ready && (f = store_field_at(m, j)); j++) {
                store_model *t = store_field_target(f);
                for (size_t k = 0; t && t != m && k < total; k++)
                    if (store_model_at(db, k) == t && !placed[k])
                        ready = false;
            }
            if (ready) {
                placed[i] = true;
                order[(*n)++] = m;
                progress = true;
            }
        }
    }
    *cycle = NULL;
    for (size_t i = 0; *n < total && i < total; i++) {
        if (!placed[i] && !*cycle)
            *cycle = store_model_at(db, i);
        order[i] = store_model_at(db, i);
    }
    *n = total;
    free(placed);
    return order;
}

/* ---- The schema -------------------------------------------------------------------------- */

static const char *sql_type(const store_fld *f)
{
    switch (store_field_type(f)) {
    case STORE_CHAR:
        return "VARCHAR";
    case STORE_TEXT:
        return "TEXT";
    case STORE_FLOAT:
        return "DOUBLE PRECISION";
    case STORE_BOOL:
        return "BOOLEAN";
    default: /* INT, FK */
        return "BIGINT";
    }
}

static const char *sql_rule(store_on_delete rule)
{
    return rule == STORE_RESTRICT ? "RESTRICT" : rule == STORE_SET_NULL ? "SET NULL" : "CASCADE";
}

/* A finite or infinite double as an SQL literal. */
static void sql_double(FILE *out, double d)
{
    if (isinf(d) || isnan(d)) {
        fputs(isnan(d) ? "'NaN'" : d > 0 ? "'Infinity'" : "'-Infinity'", out);
        return;
    }
    char buf[VALUES_DOUBLE_MAX];
    values_double(d, buf);
    fputs(buf, out);
}

/* V, a default, as an SQL literal. */
static void sql_value(FILE *out, const store_value *v)
{
    switch (v->kind) {
    case STORE_KIND_STR:
        values_sql_str(out, v->u.s);
        break;
    case STORE_KIND_INT:
        fprintf(out, "%" PRId64, v->u.i);
        break;
    case STORE_KIND_FLOAT:
        sql_double(out, v->u.f);
        break;
    default:
        fputs(v->u.b ? "TRUE" : "FALSE", out);
    }
}

/*
 * When M is the through model of a many-to-many relation of DB: its two FKs to the relation's
 * sides into *NEAR and *FAR (the store links no pair twice: a UNIQUE constraint on the two
 * says so in SQL). false otherwise, or when the model has other FKs to those sides.
 */
static bool through_pair(store *db, const store_model *m, const store_fld **near,
                         const store_fld **far)
{
    store_model *side;
    for (size_t i = 0; (side = store_model_at(db, i)); i++) {
        store_model *other, *through;
        bool declared;
        for (size_t k = 0; store_m2m_at(side, k, NULL, &other, &through, &declared); k++) {
            if (!declared || through != m)
                continue;
            const store_fld *f, *pair[3] = {NULL};
            size_t n = 0;
            for (size_t j = 0; n < 3 && (f = store_field_at(m, j)); j++)
                if (store_field_type(f) == STORE_FK &&
                    (store_field_target(f) == side || store_field_target(f) == other))
                    pair[n++] = f;
            *near = pair[0];
            *far = pair[1];
            return n == 2;
        }
    }
    return false;
}

/* CREATE TABLE for M (of DB), then its CREATE INDEX statements. */
static void create_table(FILE *out, store *db, const store_model *m)
{
    fputs("CREATE TABLE ", out);
    values_sql_ident(out, store_model_name(m));
    fputs(" (\n  \"id\" BIGINT NOT NULL PRIMARY KEY", out);
    const store_fld *f;
    for (size_t j = 0; (f = store_field_at(m, j)); j++) {
        fputs(",\n  ", out);
        values_sql_ident(out, store_field_name(f));
        fprintf(out, " %s", sql_type(f));
        if (store_field_max_length(f))
            fprintf(out, "(%zu)", store_field_max_length(f));
        if (!store_field_null(f))
            fputs(" NOT NULL", out);
        if (store_field_unique(f))
            fputs(" UNIQUE", out);
        store_value v;
        if (store_field_default(f, &v)) {
            fputs(" DEFAULT ", out);
            sql_value(out, &v);
        }
        if (store_field_type(f) == STORE_FK) {
            fputs(" REFERENCES ", out);
            values_sql_ident(out, store_model_name(store_field_target(f)));
            fprintf(out, " (\"id\") ON DELETE %s DEFERRABLE INITIALLY DEFERRED",
                    sql_rule(store_field_on_delete(f)));
        }
    }
    const store_fld *near, *far;
    if (through_pair(db, m, &near, &far)) {
        fputs(",\n  UNIQUE (", out);
        values_sql_ident(out, store_field_name(near));
        fputs(", ", out);
        values_sql_ident(out, store_field_name(far));
        fputs(")", out);
    }
    fputs("\n);\n", out);
    for (size_t j = 0; (f = store_field_at(m, j)); j++) {
        if (store_field_unique(f) || !(store_field_indexed(f) || store_field_ordered(f) ||
                                       store_field_type(f) == STORE_FK))
            continue;
        char name[512];
        snprintf(name, sizeof name, "%s_%s_idx", store_model_name(m), store_field_name(f));
        fputs("CREATE INDEX ", out);
        values_sql_ident(out, name);
        fputs(" ON ", out);
        values_sql_ident(out, store_model_name(m));
        fputs(" (", out);
        values_sql_ident(out, store_field_name(f));
        fputs(");\n", out);
    }
}

/* ---- The rows as SQL --------------------------------------------------------------------- */

static void sql_field(FILE *out, const store_obj *obj, const store_fld *f)
{
    if (store_field_is_null(obj, f)) {
        fputs("NULL", out);
        return;
    }
    switch (store_field_type(f)) {
    case STORE_CHAR:
    case STORE_TEXT:
        values_sql_str(out, store_field_str(obj, f));
        break;
    case STORE_INT:
        fprintf(out, "%" PRId64, store_field_int(obj, f));
        break;
    case STORE_FLOAT:
        sql_double(out, store_field_float(obj, f));
        break;
    case STORE_BOOL:
        fputs(store_field_bool(obj, f) ? "TRUE" : "FALSE", out);
        break;
    default: /* FK */
        fprintf(out, "%" PRIu64, store_id(store_field_ref(obj, f)));
    }
}

/* INSERT INTO "M" ("id", ...) VALUES */
static void insert_head(FILE *out, const store_model *m)
{
    fputs("INSERT INTO ", out);
    values_sql_ident(out, store_model_name(m));
    fputs(" (\"id\"", out);
    const store_fld *f;
    for (size_t j = 0; (f = store_field_at(m, j)); j++) {
        fputs(", ", out);
        values_sql_ident(out, store_field_name(f));
    }
    fputs(") VALUES\n", out);
}

/* M's objects in id order, ROWS_PER_INSERT to an INSERT. */
static void insert_rows(FILE *out, store_model *m)
{
    uint64_t pos = 0;
    size_t in_batch = 0;
    for (store_obj *obj; (obj = store_model_scan(m, &pos));) {
        if (in_batch == 0)
            insert_head(out, m);
        else
            fputs(",\n", out);
        fprintf(out, "(%" PRIu64, store_id(obj));
        const store_fld *f;
        for (size_t j = 0; (f = store_field_at(m, j)); j++) {
            fputs(", ", out);
            sql_field(out, obj, f);
        }
        putc(')', out);
        if (++in_batch == ROWS_PER_INSERT) {
            fputs(";\n", out);
            in_batch = 0;
        }
    }
    if (in_batch)
        fputs(";\n", out);
}

/* The whole export as SQL on OUT, the tables in ORDER (N). */
static void write_sql(FILE *out, store *db, const char *path, store_model **order, size_t n)
{
    size_t objects = 0;
    for (size_t i = 0; i < n; i++)
        objects += store_model_count(order[i]);
    fprintf(out, "-- relstore export of %s: %zu models, %zu objects\nBEGIN;\n", path, n,
            objects);
    for (size_t i = 0; i < n; i++)
        create_table(out, db, order[i]);
    for (size_t i = 0; i < n; i++)
        insert_rows(out, order[i]);
    fputs("COMMIT;\n", out);
}

/* ---- Files ------------------------------------------------------------------------------- */

/* OUT.partial, malloc'd; NULL (said) when out of memory. */
static char *partial_path(const char *out)
{
    size_t len = strlen(out) + sizeof ".partial";
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s.partial", out);
    else
        fprintf(stderr, "relstore: out of memory\n");
    return p;
}

/* Refuses OUT if something is there already. */
static bool free_to_write(const char *out)
{
    struct stat st;
    if (!lstat(out, &st)) {
        fprintf(stderr, "relstore: %s exists; export writes a new file only\n", out);
        return false;
    }
    return true;
}

/* Flushes TMP to the disk and gives it the name OUT (link(): never over a file that appeared
 * meanwhile), then drops TMP. 0, or -1 (said; TMP removed). */
static int publish(const char *tmp, const char *out)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    const char *failed = fd < 0 || fsync(fd) ? tmp : link(tmp, out) ? out : NULL;
    int err = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    if (failed)
        fprintf(stderr, "relstore: %s: %s\n", failed, strerror(err));
    return failed ? -1 : 0;
}

int export_sql(store *db, const char *path, const char *out)
{
    size_t n;
    store_model *cycle;
    store_model **order = parents_first(db, &n, &cycle);
    if (!order)
        return 1;
    if (cycle) {
        fprintf(stderr, "relstore: %s: %s and the models it refers to refer to each other in "
                "a cycle: portable SQL cannot create their tables (export --sqlite can)\n",
                path, store_model_name(cycle));
        free(order);
        return 1;
    }
    int status = 0;
    if (!strcmp(out, "-")) {
        write_sql(stdout, db, path, order, n);
    } else {
        char *tmp = free_to_write(out) ? partial_path(out) : NULL;
        if (tmp)
            unlink(tmp); /* a leftover of an export that died */
        FILE *f = tmp ? fopen(tmp, "wx") : NULL;
        if (!f) {
            if (tmp)
                fprintf(stderr, "relstore: %s: %s\n", tmp, strerror(errno));
            free(tmp);
            free(order);
            return 1;
        }
        write_sql(f, db, path, order, n);
        bool ok = !fflush(f) && !ferror(f);
        int err = errno;
        ok = !fclose(f) && ok;
        if (!ok) {
            fprintf(stderr, "relstore: %s: %s\n", tmp, strerror(err ? err : errno));
            unlink(tmp);
            status = 1;
        } else if (publish(tmp, out)) {
            status = 1;
        }
        free(tmp);
    }
    free(order);
    return status;
}

/* ---- SQLite ------------------------------------------------------------------------------ */

/* Says what SQLite reported about DB; returns -1. */
static int sqlite_failed(sqlite3 *db, const char *what)
{
    fprintf(stderr, "relstore: SQLite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

/* Binds OBJ's field F to parameter I of ST. */
static int bind_field(sqlite3_stmt *st, int i, const store_obj *obj, const store_fld *f)
{
    if (store_field_is_null(obj, f))
        return sqlite3_bind_null(st, i);
    switch (store_field_type(f)) {
    case STORE_CHAR:
    case STORE_TEXT:
        return sqlite3_bind_text(st, i, store_field_str(obj, f), -1, SQLITE_STATIC);
    case STORE_INT:
        return sqlite3_bind_int64(st, i, store_field_int(obj, f));
    case STORE_FLOAT:
        return sqlite3_bind_double(st, i, store_field_float(obj, f));
    case STORE_BOOL:
        return sqlite3_bind_int(st, i, store_field_bool(obj, f));
    default: /* FK */
        return sqlite3_bind_int64(st, i, (sqlite3_int64)store_id(store_field_ref(obj, f)));
    }
}

/* M's objects into SQ, one prepared INSERT. 0 or -1 (said). */
static int sqlite_rows(sqlite3 *sq, store_model *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return sqlite_failed(NULL, "preparing an insert");
    fputs("INSERT INTO ", mem);
    values_sql_ident(mem, store_model_name(m));
    fputs(" VALUES (?", mem);
    for (size_t j = 0; store_field_at(m, j); j++)
        fputs(", ?", mem);
    fputs(")", mem);
    fclose(mem);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(sq, text, -1, &st, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return sqlite_failed(sq, "preparing an insert");
    uint64_t pos = 0;
    for (store_obj *obj; rc == SQLITE_OK && (obj = store_model_scan(m, &pos));) {
        sqlite3_reset(st);
        rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)store_id(obj));
        const store_fld *f;
        for (size_t j = 0; rc == SQLITE_OK && (f = store_field_at(m, j)); j++)
            rc = bind_field(st, (int)j + 2, obj, f);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    int status = rc == SQLITE_OK ? 0 : sqlite_failed(sq, store_model_name(m));
    sqlite3_finalize(st);
    return status;
}

/* The tables of ORDER (N) and their rows into the new database TMP. 0 or -1 (said). */
static int build_sqlite(store *db, const char *tmp, store_model **order, size_t n)
{
    sqlite3 *sq = NULL;
    if (sqlite3_open_v2(tmp, &sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        int status = sqlite_failed(sq, tmp);
        sqlite3_close(sq);
        return status;
    }
    char *ddl = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&ddl, &len);
    int status = mem ? 0 : sqlite_failed(NULL, "the schema");
    if (mem) {
        /* The file is renamed into place only once whole: no journal is needed meanwhile. */
        fputs("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;\n"
              "BEGIN;\n", mem);
        for (size_t i = 0; i < n; i++)
            create_table(mem, db, order[i]);
        fclose(mem);
        char *err = NULL;
        if (sqlite3_exec(sq, ddl, NULL, NULL, &err) != SQLITE_OK) {
            fprintf(stderr, "relstore: SQLite: the schema: %s\n", err ? err : "failed");
            status = -1;
        }
        sqlite3_free(err);
        free(ddl);
    }
    for (size_t i = 0; !status && i < n; i++)
        status = sqlite_rows(sq, order[i]);
    /* The foreign keys are deferred: COMMIT checks them all. */
    if (!status && sqlite3_exec(sq, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        status = sqlite_failed(sq, "commit");
    if (sqlite3_close(sq) != SQLITE_OK && !status)
        status = sqlite_failed(sq, "close");
    return status;
}

int export_sqlite(store *db, const char *path, const char *out)
{
    (void)path;
    size_t n;
    store_model *cycle; /* a cycle is fine: SQLite checks the keys at the commit */
    store_model **order = free_to_write(out) ? parents_first(db, &n, &cycle) : NULL;
    char *tmp = order ? partial_path(out) : NULL;
    if (!tmp) {
        free(order);
        return 1;
    }
    unlink(tmp); /* a leftover of an export that died */
    int status = build_sqlite(db, tmp, order, n) || publish(tmp, out) ? 1 : 0;
    if (status)
        unlink(tmp);
    free(tmp);
    free(order);
    return status;
}
