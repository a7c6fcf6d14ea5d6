/*
 * tools/relstore.c - the inspector: look into a relstore file without its program.
 *
 *   relstore info FILE                       format, generation, models and their counts
 *   relstore verify FILE                     every check; exit 1 with the problem if any
 *   relstore dump FILE [--model M] [--json]  every object, one a line
 *   relstore find FILE MODEL [TERM...] [--order KEY]... [--offset N] [--limit N] [--json]
 *                                            the objects of MODEL a query finds, in its order
 *   relstore export FILE --sql OUT | --sqlite OUT
 *                                            the schema and every object as portable SQL, or
 *                                            as a new SQLite database (tools/export.c)
 *
 * dump --json prints JSON Lines, one object a line as {"model":M,"id":N,"fields":{...}}:
 * the fields have an object of their own, so none can clash with "model" or "id". A FK is
 * its parent's id, a null is null, and a FLOAT that is not finite is the string "inf",
 * "-inf" or "nan" (JSON has no number for them). Plain dump prints the same values as
 * M N field=value ... find prints its objects as dump does; find --json, a JSON array of
 * them, one a line.
 *
 * A TERM of find is PATH[__LOOKUP]=VALUE, or !PATH[__LOOKUP]=VALUE to exclude: a term of
 * store_query_filter() (store_query_exclude()), whose value is read as the kind the end of
 * PATH holds. So PATH is resolved here the way the query resolves it, but only to learn that
 * kind: a path that does not resolve is given to the query as it is, with a string, and the
 * query names what is wrong (exit 1). A value that does not read as its kind is a usage
 * error (exit 2). A FK given a number is its parent's id: "author=3" becomes "author__id=3",
 * which matches nothing when Author 3 does not exist.
 *
 * It opens FILE read-only with the schema recorded in the file (store_open() with a NULL
 * schema), so it needs nothing but the file, and it shares the file with other readers.
 * Opening already verifies every record's checksum, each model's digest and every foreign
 * key's target; verify adds store_check() over the loaded store.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <store.h>
#include <sys/stat.h>
#include <time.h>

#include "export.h"
#include "values.h"

static const char usage[] =
    "usage: relstore info FILE\n"
    "       relstore verify FILE\n"
    "       relstore dump FILE [--model MODEL] [--json]\n"
    "       relstore find FILE MODEL [TERM...] [--order [-]KEY]... [--offset N] [--limit N]\n"
    "                     [--json]\n"
    "       relstore export FILE --sql OUT|-\n"
    "       relstore export FILE --sqlite OUT\n";

/* What --help adds to the usage; a usage error points at it. */
static const char details[] =
    "\n"
    "dump --json: one object a line, {\"model\":M,\"id\":N,\"fields\":{NAME:VALUE,...}};\n"
    "a FK is the parent's id; a FLOAT that is not finite is \"inf\", \"-inf\" or \"nan\".\n"
    "\n"
    "find: the objects of MODEL that meet every TERM, printed as dump prints them (--json:\n"
    "a JSON array of them, one a line). A TERM is PATH=VALUE or PATH__LOOKUP=VALUE; a\n"
    "leading ! excludes the objects it matches.\n"
    "  PATH    a field, id, a chain through FKs (author__name), a reverse relation and a\n"
    "          field of the children (books__title: some child matches), RELATION__count\n"
    "  LOOKUP  not in not_in gt gte lt lte range isnull not_isnull contains icontains\n"
    "          startswith istartswith endswith iendswith iexact\n"
    "  VALUE   read as the type at the end of PATH; a FK takes its parent's id; isnull and\n"
    "          not_isnull take true or false; in, not_in and range take a comma-separated\n"
    "          list (range: two, inclusive); null is a null for = and not (to match the\n"
    "          string \"null\", write PATH__in=null)\n"
    "  --order KEY  a field, id, a chain through FKs or RELATION__count, -KEY descending;\n"
    "          repeat it to break ties (the last tie-break is id)\n"
    "  --offset N, --limit N  skip the first N found, keep at most N (after the order)\n"
    "e.g.  relstore find books.db Book author__name='John Doe' '!title=Book 2' --order -id\n"
    "      relstore find books.db Author books__count__gte=3 --json\n"
    "\n"
    "export: a table a model (\"id\" its primary key; FKs with their ON DELETE rule, unique\n"
    "constraints, indexes, defaults), then the rows: --sql OUT writes SQL that SQLite and\n"
    "PostgreSQL load (- for standard output), --sqlite OUT a SQLite database. OUT must not\n"
    "exist yet.\n";

/* Prints the usage on stderr. Returns the exit status of a usage error, 2. */
static int usage_error(void)
{
    fprintf(stderr, "%s(relstore --help tells what TERM, LOOKUP, VALUE and --json give)\n", usage);
    return 2;
}

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

static const char *rule_name(store_on_delete rule)
{
    return rule == STORE_RESTRICT ? "RESTRICT" : rule == STORE_SET_NULL ? "SET_NULL" : "CASCADE";
}

/* One line of info: F's name and type, then each of its attributes that is set. */
static void print_field(const store_fld *f)
{
    printf("  %s %s", store_field_name(f), type_name(store_field_type(f)));
    if (store_field_type(f) == STORE_FK)
        printf(" -> %s, related_name %s, %s, on_delete %s",
               store_model_name(store_field_target(f)), store_field_related_name(f),
               store_field_unique(f) ? "one-to-one" : "one-to-many",
               rule_name(store_field_on_delete(f)));
    if (store_field_max_length(f))
        printf(", max_length %zu", store_field_max_length(f));
    if (store_field_null(f))
        printf(", null");
    if (store_field_unique(f) && store_field_type(f) != STORE_FK)
        printf(", unique");
    if (store_field_indexed(f))
        printf(", index");
    if (store_field_ordered(f))
        printf(", ordered");
    store_value v;
    if (store_field_default(f, &v)) {
        printf(", default ");
        values_json_value(stdout, &v);
    }
    printf("\n");
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
        for (size_t j = 0; (f = store_field_at(m, j)); j++)
            print_field(f);
        const char *name;
        store_model *other, *through;
        bool declared;
        for (size_t k = 0; store_m2m_at(m, k, &name, &other, &through, &declared); k++)
            printf("  %s M2M %s %s, through %s%s\n", name, declared ? "->" : "<-",
                   store_model_name(other), store_model_name(through),
                   declared ? "" : " (the other side)");
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

/* OBJ of M as one line of JSON, {"model":M,"id":N,"fields":{...}}, without the newline: its
 * fields in their own object, so that no field name (a field may be called "model") can clash
 * with the object's own keys. */
static void object_json(const store_model *m, const store_obj *obj)
{
    fputs("{\"model\":", stdout);
    values_json_str(stdout, store_model_name(m));
    printf(",\"id\":%" PRIu64 ",\"fields\":{", store_id(obj));
    const store_fld *f;
    for (size_t j = 0; (f = store_field_at(m, j)); j++) {
        if (j)
            putchar(',');
        values_json_str(stdout, store_field_name(f));
        putchar(':');
        values_json_field(stdout, obj, f);
    }
    fputs("}}", stdout);
}

/* OBJ of M as one line: as JSON, or as "M N field=value ..." with JSON's values. */
static void dump_object(const store_model *m, const store_obj *obj, bool as_json)
{
    if (as_json) {
        object_json(m, obj);
    } else {
        printf("%s %" PRIu64, store_model_name(m), store_id(obj));
        const store_fld *f;
        for (size_t j = 0; (f = store_field_at(m, j)); j++) {
            printf(" %s=", store_field_name(f));
            values_json_field(stdout, obj, f);
        }
    }
    putchar('\n');
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
    for (size_t i = 0; (m = store_model_at(db, i)); i++) {
        if (only && strcmp(store_model_name(m), only))
            continue;
        /* In id order, at the cost of the objects: the next id may be far past the last. */
        uint64_t pos = 0;
        for (store_obj *obj; (obj = store_model_scan(m, &pos));)
            dump_object(m, obj, as_json);
    }
    store_close(db);
    return 0;
}

/* ---- find --------------------------------------------------------------------------------- */

/* The options of the command line. */
typedef struct opts {
    const char *only;   /* dump --model */
    bool as_json;       /* --json */
    const char **order; /* find --order keys, ended by NULL */
    size_t offset, limit;
    bool has_offset, has_limit;
    const char *sql, *sqlite; /* export --sql, --sqlite */
} opts;

static const char *const lookups[] = {
    "not",        "in",          "not_in",   "gt",         "gte",      "lt",
    "lte",        "range",       "isnull",   "not_isnull", "contains", "icontains",
    "startswith", "istartswith", "endswith", "iendswith",  "iexact",   NULL,
};

static bool is_lookup(const char *s)
{
    for (size_t i = 0; lookups[i]; i++)
        if (!strcmp(lookups[i], s))
            return true;
    return false;
}

static bool is_list_lookup(const char *s)
{
    return !strcmp(s, "in") || !strcmp(s, "not_in") || !strcmp(s, "range");
}

static int out_of_memory(void)
{
    fprintf(stderr, "relstore: out of memory\n");
    return 1;
}

/* Says why a query call failed; the library names the term. Returns the exit status, 1. */
static int query_failed(store *db, int rc)
{
    fprintf(stderr, "relstore: %s: %s\n", store_strerror(rc), store_errmsg(db));
    return 1;
}

/* A NUL-ended copy of the LEN bytes at S, or NULL. */
static char *copy_bytes(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* The model whose foreign key REL is: store_relation_find() gives the children's field. */
static store_model *child_model(store *db, const store_fld *rel)
{
    store_model *m;
    const store_fld *f;
    for (size_t i = 0; (m = store_model_at(db, i)); i++)
        for (size_t j = 0; (f = store_field_at(m, j)); j++)
            if (f == rel)
                return m;
    return NULL;
}

/* Whether a path can go on from M with NAME: "id", a field or a reverse relation. */
static bool names_something(const store_model *m, const char *name)
{
    return !strcmp(name, "id") || store_field_find(m, name) || store_relation_find(m, name);
}

/*
 * The type that the path TOK[0..N) reads from M, found as the query finds it (a FK followed
 * by more names is a hop to its parent, unless the last name is a lookup the parent has no
 * field for), with *USED the names the path took: STORE_INT for id and counts, 0 when the
 * path does not resolve.
 */
static store_type path_type(store *db, store_model *m, char **tok, size_t n, size_t *used)
{
    for (size_t i = 0; i < n && m; i++) {
        *used = i + 1;
        if (!strcmp(tok[i], "id"))
            return STORE_INT;
        const store_fld *f = store_field_find(m, tok[i]);
        if (f && store_field_type(f) == STORE_FK && i + 1 < n) {
            store_model *to = store_field_target(f);
            if (!(i + 2 == n && is_lookup(tok[i + 1]) && !names_something(to, tok[i + 1]))) {
                m = to;
                continue;
            }
        }
        if (f)
            return store_field_type(f);
        const store_fld *rel = store_relation_find(m, tok[i]);
        if (!rel || i + 1 == n)
            return 0;
        if (!strcmp(tok[i + 1], "count")) {
            *used = i + 2;
            return STORE_INT;
        }
        m = child_model(db, rel);
    }
    return 0;
}

/* What the key of a term reads. */
typedef struct key_info {
    store_type type;    /* at the end of the path: STORE_INT for id and counts; 0 unresolved */
    const char *lookup; /* "" for equal, else the end of the key */
    size_t path_len;    /* the bytes of the key before "__LOOKUP" */
} key_info;

/* Resolves KEY on M into *K. 0, or -1 when out of memory. */
static int key_resolve(store *db, store_model *m, const char *key, key_info *k)
{
    size_t len = strlen(key), n = 0, used = 0;
    char *buf = copy_bytes(key, len);
    char **tok = malloc((len / 2 + 1) * sizeof *tok); /* "a__b": one name per 3 bytes */
    if (!buf || !tok) {
        free(buf);
        free(tok);
        return -1;
    }
    for (char *s = buf, *sep;; s = sep + 2) {
        tok[n++] = s;
        if (!(sep = strstr(s, "__")))
            break;
        *sep = '\0';
    }
    *k = (key_info){.type = path_type(db, m, tok, n, &used), .lookup = "", .path_len = len};
    if (used + 1 == n && is_lookup(tok[used])) {
        k->lookup = key + (tok[used] - buf);
        k->path_len = (size_t)(tok[used] - buf) - 2;
    } else if (used != n) {
        k->type = 0;
    }
    free(tok);
    free(buf);
    return 0;
}

/* What a value of TYPE must look like, for a message. */
static const char *type_words(store_type type)
{
    switch (type) {
    case STORE_INT:
        return "an integer";
    case STORE_FLOAT:
        return "a number (inf and -inf included, not nan)";
    case STORE_BOOL:
        return "true or false";
    case STORE_FK:
        return "an id";
    default:
        return "a string";
    }
}

/* Reads TEXT as a value of TYPE (0: a string) into *V, its name untouched; false if TEXT
 * is not one. */
static bool parse_value(store_type type, const char *text, store_value *v)
{
    char *end;
    bool number = *text && !isspace((unsigned char)*text);
    errno = 0;
    switch (type) {
    case STORE_INT:
    case STORE_FK:
        v->kind = STORE_KIND_INT;
        v->u.i = strtoll(text, &end, 10);
        return number && !*end && !errno;
    case STORE_FLOAT:
        v->kind = STORE_KIND_FLOAT;
        v->u.f = strtod(text, &end);
        return number && !*end && !isnan(v->u.f);
    case STORE_BOOL:
        v->kind = STORE_KIND_BOOL;
        v->u.b = !strcmp(text, "true");
        return v->u.b || !strcmp(text, "false");
    default:
        v->kind = STORE_KIND_STR;
        v->u.s = text;
        return true;
    }
}

/* Reads TEXT, cut here at its commas, as values of TYPE into a list ended by {0}, in *OUT
 * (the caller's). STORE_OK, STORE_ENOMEM, or STORE_EINVAL with *BAD the item that is not
 * one. An empty TEXT is an empty list. */
static int parse_list(store_type type, char *text, store_value **out, const char **bad)
{
    size_t n = *text ? 1 : 0;
    for (const char *c = text; *c; c++)
        n += *c == ',';
    store_value *items = calloc(n + 1, sizeof *items);
    if (!items)
        return STORE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char *comma = strchr(text, ',');
        if (comma)
            *comma = '\0';
        if (!parse_value(type, text, &items[i])) {
            *bad = text;
            free(items);
            return STORE_EINVAL;
        }
        text = comma ? comma + 1 : text;
    }
    *out = items;
    return STORE_OK;
}

/* A TERM of find, read: the query's term, ended by {0}, and what it owns. */
typedef struct term {
    store_value v[2];
    bool exclude;       /* the term began with "!" */
    char *key;          /* the key, NUL-ended */
    char *name;         /* v[0].name */
    char *text;         /* a list's text, cut at its commas */
    store_value *items; /* a list's values */
} term;

static void term_free(term *t)
{
    free(t->key);
    free(t->name);
    free(t->text);
    free(t->items);
}

/* Reads TEXT into T's value, of TYPE for LOOKUP. STORE_OK, STORE_ENOMEM, or STORE_EINVAL
 * with *BAD what is not a value of TYPE. */
static int term_value(term *t, store_type type, const char *lookup, const char *text,
                      const char **bad)
{
    store_value *v = &t->v[0];
    *bad = text;
    if (is_list_lookup(lookup)) {
        if (!(t->text = copy_bytes(text, strlen(text))))
            return STORE_ENOMEM;
        int rc = parse_list(type, t->text, &t->items, bad);
        v->kind = STORE_KIND_LIST;
        v->u.list = t->items;
        return rc;
    }
    if (!strcmp(text, "null") && (!*lookup || !strcmp(lookup, "not"))) {
        v->kind = STORE_KIND_NULL;
        return STORE_OK;
    }
    return parse_value(type, text, v) ? STORE_OK : STORE_EINVAL;
}

/*
 * Reads ARG, a TERM of find whose "=" is checked, for model M into *T (term_free() it, even
 * on failure). A FK compared with ids (equal, not, in, not_in) is given as PATH__id. Returns
 * the exit status: 0, 2 (a value that does not read as its type, said) or 1 (out of memory).
 */
static int term_read(store *db, store_model *m, const char *arg, term *t)
{
    memset(t, 0, sizeof *t);
    t->exclude = arg[0] == '!';
    const char *key = arg + t->exclude, *text = strchr(key, '=') + 1;
    key_info k;
    if (!(t->key = copy_bytes(key, (size_t)(text - 1 - key))) || key_resolve(db, m, t->key, &k))
        return out_of_memory();
    const char *lk = k.lookup;
    bool via_id = k.type == STORE_FK && (!*lk || !strcmp(lk, "not") || is_list_lookup(lk));
    size_t size = strlen(t->key) + sizeof "__id";
    if (!(t->name = malloc(size)))
        return out_of_memory();
    if (via_id)
        snprintf(t->name, size, "%.*s__id%s%s", (int)k.path_len, t->key, *lk ? "__" : "", lk);
    else
        memcpy(t->name, t->key, strlen(t->key) + 1);
    t->v[0].name = t->name;
    bool null_test = !strcmp(lk, "isnull") || !strcmp(lk, "not_isnull");
    store_type type = null_test ? STORE_BOOL : via_id ? STORE_INT : k.type;
    const char *bad;
    int rc = term_value(t, type, lk, text, &bad);
    if (rc == STORE_ENOMEM)
        return out_of_memory();
    if (rc) {
        fprintf(stderr, "relstore: %s: \"%s\" is not %s\n", arg, bad,
                type_words(via_id ? STORE_FK : type));
        return 2;
    }
    return 0;
}

/* Whether each of the N TERMS has a key and an "="; says which has not. */
static bool terms_look_right(char **terms, int n)
{
    for (int i = 0; i < n; i++) {
        const char *key = terms[i] + (terms[i][0] == '!'), *eq = strchr(key, '=');
        if (!eq || eq == key) {
            fprintf(stderr, "relstore: %s: a term is PATH=VALUE or PATH__LOOKUP=VALUE\n", terms[i]);
            return false;
        }
    }
    return true;
}

/* Adds the N TERMS to Q, then O's order and slice. Returns the exit status. */
static int build_query(store *db, store_model *m, store_query *q, char **terms, int n,
                       const opts *o)
{
    int rc = STORE_OK;
    for (int i = 0; i < n && !rc; i++) {
        term t;
        int status = term_read(db, m, terms[i], &t);
        if (!status)
            rc = t.exclude ? store_query_exclude(q, t.v) : store_query_filter(q, t.v);
        term_free(&t);
        if (status)
            return status == 2 ? usage_error() : status;
    }
    if (!rc && o->order[0])
        rc = store_query_order_by(q, o->order);
    if (!rc && (o->has_offset || o->has_limit))
        rc = store_query_slice(q, o->offset, o->limit);
    return rc ? query_failed(db, rc) : 0;
}

/* Prints the N objects OBJS of M as dump does, or as a JSON array, one a line. */
static void print_found(const store_model *m, store_obj *const *objs, size_t n, bool as_json)
{
    if (!as_json) {
        for (size_t i = 0; i < n; i++)
            dump_object(m, objs[i], false);
        return;
    }
    fputs("[\n", stdout);
    for (size_t i = 0; i < n; i++) {
        object_json(m, objs[i]);
        fputs(i + 1 < n ? ",\n" : "\n", stdout);
    }
    fputs("]\n", stdout);
}

/* Runs Q and prints what it found. Returns the exit status. */
static int run_query(store *db, const store_model *m, const store_query *q, const opts *o)
{
    store_result res;
    int rc = store_query_find(q, NULL, &res);
    if (rc)
        return query_failed(db, rc);
    /* The query's limit 0 is no limit; --limit 0 is none. */
    size_t n = o->has_limit && !o->limit ? 0 : res.count;
    print_found(m, res.objs, n, o->as_json);
    store_result_free(&res);
    return 0;
}

/* relstore find: the objects of MODEL that the N TERMS find, in O's order and slice. Returns
 * the exit status. */
static int find(const char *path, const char *model, char **terms, int n, const opts *o)
{
    if (!terms_look_right(terms, n))
        return usage_error();
    store *db = open_file(path);
    if (!db)
        return 1;
    store_model *m = store_model_find(db, model);
    store_query *q = NULL;
    int status = 1;
    if (!m)
        fprintf(stderr, "relstore: %s: no model %s\n", path, model);
    else if ((status = store_query_new(db, m, &q)))
        status = query_failed(db, status);
    else if (!(status = build_query(db, m, q, terms, n, o)))
        status = run_query(db, m, q, o);
    store_query_free(q);
    store_close(db);
    return status;
}

/* ---- export ------------------------------------------------------------------------------- */

static int export(const char *path, const opts *o)
{
    store *db = open_file(path);
    if (!db)
        return 1;
    int status = o->sql ? export_sql(db, path, o->sql) : export_sqlite(db, path, o->sqlite);
    store_close(db);
    return status;
}

/* ---- Command line --------------------------------------------------------------------------- */

/* Reads N, a count for --offset or --limit: decimal digits only. */
static bool parse_count(const char *s, size_t *n)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    *n = (size_t)v;
    return !errno && (unsigned long long)*n == v;
}

/* Reads the options of ARGV into *O (getopt_long() moves the other arguments behind them,
 * from optind on). Returns -1 to go on, or the exit status: 0 after --help, 2. */
static int parse_options(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"order", required_argument, NULL, 'o'},
        {"offset", required_argument, NULL, 'O'},
        {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"sql", required_argument, NULL, 'q'},
        {"sqlite", required_argument, NULL, 'Q'},
        {NULL, 0, NULL, 0},
    };
    size_t norder = 0;
    for (int c; (c = getopt_long(argc, argv, "m:jh", longopts, NULL)) != -1;) {
        if (c == 'm') {
            o->only = optarg;
        } else if (c == 'q' || c == 'Q') {
            *(c == 'q' ? &o->sql : &o->sqlite) = optarg;
        } else if (c == 'j') {
            o->as_json = true;
        } else if (c == 'o') {
            o->order[norder++] = optarg;
        } else if (c == 'O' || c == 'l') {
            bool ok = parse_count(optarg, c == 'O' ? &o->offset : &o->limit);
            *(c == 'O' ? &o->has_offset : &o->has_limit) = true;
            if (!ok) {
                fprintf(stderr, "relstore: --%s %s: not a count\n", c == 'O' ? "offset" : "limit",
                        optarg);
                return usage_error();
            }
        } else {
            if (c != 'h')
                return usage_error();
            printf("%s%s", usage, details);
            return 0;
        }
    }
    return -1;
}

/* Runs the command in ARGS[0..N) with the options O. Returns the exit status. */
static int run(int n, char **args, const opts *o)
{
    bool find_options = o->order[0] || o->has_offset || o->has_limit;
    bool export_options = o->sql || o->sqlite;
    if (n >= 3 && !strcmp(args[0], "find") && !o->only && !export_options)
        return find(args[1], args[2], args + 3, n - 3, o);
    if (n == 2 && !strcmp(args[0], "export") && !find_options && !o->only && !o->as_json &&
        !o->sql != !o->sqlite)
        return export(args[1], o);
    if (n == 2 && !find_options && !export_options) {
        if (!strcmp(args[0], "info") && !o->only && !o->as_json)
            return info(args[1]);
        if (!strcmp(args[0], "verify") && !o->only && !o->as_json)
            return verify(args[1]);
        if (!strcmp(args[0], "dump"))
            return dump(args[1], o->only, o->as_json);
    }
    return usage_error();
}

int main(int argc, char **argv)
{
    /* Each --order takes an argument: ARGC + 1 slots hold them all and the NULL after. */
    const char **order = calloc((size_t)argc + 1, sizeof *order);
    if (!order)
        return out_of_memory();
    opts o = {.order = order};
    int status = parse_options(argc, argv, &o);
    if (status < 0)
        status = run(argc - optind, argv + optind, &o);
    free(order);
    /* What could not be written (a full disk, a closed pipe) fails the command. */
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "relstore: writing the output: %s\n", strerror(errno));
        return status ? status : 1;
    }
    return status;
}
