/*
 * tools/relstore.c - the inspector: look into a relstore file without its program.
 *
 *   relstore info FILE                       format, generation, models and their counts
 *   relstore verify FILE                     every check; exit 1 with the problem if any
 *   relstore dump FILE [--model M] [--json]  every object, one a line
 *
 * dump --json prints JSON Lines, one object a line as {"model":M,"id":N,"fields":{...}}:
 * the fields have an object of their own, so none can clash with "model" or "id". A FK is
 * its parent's id, a null is null, and a FLOAT that is not finite is the string "inf",
 * "-inf" or "nan" (JSON has no number for them). Plain dump prints the same values as
 * M N field=value ...
 *
 * It opens FILE read-only with the schema recorded in the file (store_open() with a NULL
 * schema), so it needs nothing but the file, and it shares the file with other readers.
 * Opening already verifies every record's checksum, each model's digest and every foreign
 * key's target; verify adds store_check() over the loaded store.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] =
    "usage: relstore info FILE\n"
    "       relstore verify FILE\n"
    "       relstore dump FILE [--model MODEL] [--json]\n"
    "\n"
    "dump --json: one object a line, {\"model\":M,\"id\":N,\"fields\":{NAME:VALUE,...}};\n"
    "a FK is the parent's id; a FLOAT that is not finite is \"inf\", \"-inf\" or \"nan\".\n";

static store *open_file(const char *path)
{
    store *db;
    store_options ro = {.flags = STORE_OPEN_READONLY};
    int rc = store_open(&db, NULL, path, &ro);
    if (rc) {
        fprintf(stderr, "relstore: %s: %s\n", store_strerror(rc), store_errmsg(NULL));
        return NULL;
    }
    return db;
}

static const char *type_name(store_type t)
{
    static const char *const names[] = {"?", "CHAR", "TEXT", "INT", "FLOAT", "BOOL", "FK"};
    return (unsigned)t <= STORE_FK ? names[t] : "?";
}

static int info(const char *path)
{
    store *db = open_file(path);
    if (!db)
        return 1;
    store_stats st;
    store_stat(db, &st);
    struct stat fs;
    char when[64] = "never";
    if (st.generation) {
        time_t secs = (time_t)(st.snapshot_time_ns / 1000000000u);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&secs));
    }
    printf("file: %s\n", path);
    printf("format version: %" PRIu32 "\n", st.format_version);
    printf("size: %lld bytes\n", stat(path, &fs) ? -1LL : (long long)fs.st_size);
    printf("snapshot: generation %" PRIu64 ", taken %s\n", st.generation, when);
    printf("change log: %zu entries\n", st.log_entries);
    printf("objects: %zu\n", st.objects);
    store_model *m;
    for (size_t i = 0; (m = store_model_at(db, i)); i++) {
        printf("model %s: %zu objects, next id %" PRIu64 "\n", store_model_name(m),
               store_model_count(m), store_model_next_id(m));
        const store_fld *f;
        for (size_t j = 0; (f = store_field_at(m, j)); j++) {
            printf("  %s %s", store_field_name(f), type_name(store_field_type(f)));
            if (store_field_type(f) == STORE_FK)
                printf(" -> %s", store_model_name(store_field_target(f)));
            printf("\n");
        }
    }
    store_close(db);
    return 0;
}

static int verify(const char *path)
{
    store *db = open_file(path);
    if (!db)
        return 1;
    int rc = store_check(db);
    if (rc) {
        fprintf(stderr, "relstore: %s: %s\n", store_strerror(rc), store_errmsg(db));
        store_close(db);
        return 1;
    }
    store_stats st;
    store_stat(db, &st);
    size_t models = 0;
    while (store_model_at(db, models))
        models++;
    printf("ok: %zu objects in %zu models, generation %" PRIu64 "\n", st.objects, models,
           st.generation);
    store_close(db);
    return 0;
}

/* A double as JSON: a number when finite; JSON has none for the others, so the strings
 * "inf", "-inf" and "nan" (the field's type, FLOAT, tells them from a string). */
static json_t *float_json(double d)
{
    if (isnan(d))
        return json_string("nan");
    if (isinf(d))
        return json_string(d > 0 ? "inf" : "-inf");
    return json_real(d);
}

/* OBJ's field F as a JSON value (a new reference; NULL only when out of memory). */
static json_t *field_json(const store_obj *obj, const store_fld *f)
{
    if (store_field_is_null(obj, f))
        return json_null();
    switch (store_field_type(f)) {
    case STORE_CHAR:
    case STORE_TEXT:
        return json_string(store_field_str(obj, f));
    case STORE_INT:
        return json_integer(store_field_int(obj, f));
    case STORE_FLOAT:
        return float_json(store_field_float(obj, f));
    case STORE_BOOL:
        return json_boolean(store_field_bool(obj, f));
    case STORE_FK:
        return json_integer((json_int_t)store_id(store_field_ref(obj, f)));
    }
    return json_null();
}

/* OBJ as {"model": M, "id": N, "fields": {...}}: its fields in their own object, so that no
 * field name (a field may be called "model") can clash with the object's own keys. NULL
 * when out of memory: a field is never left out. */
static json_t *object_json(const store_model *m, const store_obj *obj)
{
    json_t *o = json_object(), *fields = json_object();
    int rc = !o || !fields;
    rc = rc || json_object_set_new(o, "model", json_string(store_model_name(m)));
    rc = rc || json_object_set_new(o, "id", json_integer((json_int_t)store_id(obj)));
    const store_fld *f;
    for (size_t j = 0; !rc && (f = store_field_at(m, j)); j++)
        rc = json_object_set_new(fields, store_field_name(f), field_json(obj, f));
    rc = rc || json_object_set(o, "fields", fields);
    json_decref(fields);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int dump_object(const store_model *m, const store_obj *obj, bool as_json)
{
    json_t *o = object_json(m, obj);
    if (!o) {
        fprintf(stderr, "relstore: out of memory\n");
        return -1;
    }
    int rc = 0;
    if (as_json) {
        rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        putchar('\n');
    } else {
        json_t *fields = json_object_get(o, "fields");
        printf("%s %" PRIu64, store_model_name(m), store_id(obj));
        const store_fld *f;
        for (size_t j = 0; !rc && (f = store_field_at(m, j)); j++) {
            char *v = json_dumps(json_object_get(fields, store_field_name(f)),
                                 JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
            rc = v ? 0 : -1;
            printf(" %s=%s", store_field_name(f), v ? v : "?");
            free(v);
        }
        putchar('\n');
    }
    json_decref(o);
    return rc;
}

static int dump(const char *path, const char *only, bool as_json)
{
    store *db = open_file(path);
    if (!db)
        return 1;
    if (only && !store_model_find(db, only)) {
        fprintf(stderr, "relstore: %s: no model %s\n", path, only);
        store_close(db);
        return 1;
    }
    store_model *m;
    int rc = 0;
    for (size_t i = 0; !rc && (m = store_model_at(db, i)); i++) {
        if (only && strcmp(store_model_name(m), only))
            continue;
        /* In id order, at the cost of the objects: the next id may be far past the last. */
        uint64_t pos = 0;
        for (store_obj *obj; !rc && (obj = store_model_scan(m, &pos));)
            rc = dump_object(m, obj, as_json);
    }
    store_close(db);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *only = NULL;
    bool as_json = false;
    for (int c; (c = getopt_long(argc, argv, "m:jh", longopts, NULL)) != -1;) {
        switch (c) {
        case 'm':
            only = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[optind], *path = argv[optind + 1];
    if (!strcmp(cmd, "info") && !only && !as_json)
        return info(path);
    if (!strcmp(cmd, "verify") && !only && !as_json)
        return verify(path);
    if (!strcmp(cmd, "dump"))
        return dump(path, only, as_json);
    fputs(usage, stderr);
    return 2;
}
