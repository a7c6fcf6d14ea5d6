/*
 * tools/values.c - a store's values as text (see tools/values.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

void values_double(double d, char buf[VALUES_DOUBLE_MAX])
{
    /* 17 significant digits always read back (IEEE 754 binary64); the loop finds the fewest. */
    int digits = 1;
    for (; digits <= 17; digits++) {
        snprintf(buf, VALUES_DOUBLE_MAX, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* %g writes 10 with one digit as 1e+01: the same digits without an exponent while the
     * exponent is from -4 to 14 (as PostgreSQL and most languages print a double). */
    const char *e = strchr(buf, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (e && exp >= -4 && exp < 15)
        snprintf(buf, VALUES_DOUBLE_MAX, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, d);
    if (!strpbrk(buf, ".eEn")) /* nothing says it is not an integer ("n": inf, nan) */
        strcat(buf, ".0");
}

void values_json_str(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                putc(*p, out);
        }
    }
    putc('"', out);
}

static void json_double(FILE *out, double d)
{
    if (isnan(d)) {
        fputs("\"nan\"", out);
    } else if (isinf(d)) {
        fputs(d > 0 ? "\"inf\"" : "\"-inf\"", out);
    } else {
        char buf[VALUES_DOUBLE_MAX];
        values_double(d, buf);
        fputs(buf, out);
    }
}

void values_json_field(FILE *out, const store_obj *obj, const store_fld *f)
{
    if (store_field_is_null(obj, f)) {
        fputs("null", out);
        return;
    }
    switch (store_field_type(f)) {
    case STORE_CHAR:
    case STORE_TEXT:
        values_json_str(out, store_field_str(obj, f));
        return;
    case STORE_INT:
        fprintf(out, "%" PRId64, store_field_int(obj, f));
        return;
    case STORE_FLOAT:
        json_double(out, store_field_float(obj, f));
        return;
    case STORE_BOOL:
        fputs(store_field_bool(obj, f) ? "true" : "false", out);
        return;
    case STORE_FK:
        fprintf(out, "%" PRIu64, store_id(store_field_ref(obj, f)));
        return;
    case STORE_M2M: /* a relation, never a model's field */
        break;
    }
    fputs("null", out);
}

void values_json_value(FILE *out, const store_value *v)
{
    switch (v->kind) {
    case STORE_KIND_STR:
        values_json_str(out, v->u.s);
        return;
    case STORE_KIND_INT:
        fprintf(out, "%" PRId64, v->u.i);
        return;
    case STORE_KIND_FLOAT:
        json_double(out, v->u.f);
        return;
    case STORE_KIND_BOOL:
        fputs(v->u.b ? "true" : "false", out);
        return;
    default:
        fputs("null", out);
    }
}

static void quoted(FILE *out, const char *s, char q)
{
    putc(q, out);
    for (; *s; s++) {
        if (*s == q)
            putc(q, out);
        putc(*s, out);
    }
    putc(q, out);
}

void values_sql_str(FILE *out, const char *s)
{
    quoted(out, s, '\'');
}

void values_sql_ident(FILE *out, const char *name)
{
    quoted(out, name, '"');
}
