/*
 * tools/values.h - a store's values as text, for the inspector: JSON (dump, find) and SQL
 * literals (export). Nothing here allocates.
 */
#ifndef RELSTORE_TOOLS_VALUES_H
#define RELSTORE_TOOLS_VALUES_H

#include <stdio.h>
#include <store.h>

/* The longest text values_double() writes, its NUL included. */
enum { VALUES_DOUBLE_MAX = 32 };

/*
 * values_double() - finite D in the fewest significant digits that read back (strtod) as the
 * same double: 9.99, not 9.9900000000000002; 0.1, 10.0, 1e+300, 5e-324 (an exponent only
 * below 1e-4 and from 1e15 on). A ".0" is added where the digits alone would read as an
 * integer (3.0), so that the text still says FLOAT.
 */
void values_double(double d, char buf[VALUES_DOUBLE_MAX]);

/* values_json_str() - S as a JSON string on OUT: the quote, the backslash and the control
 * characters escaped, every other byte as it is (a store's strings are valid UTF-8, so the
 * text is too). */
void values_json_str(FILE *out, const char *s);

/* values_json_field() - OBJ's field F as a JSON value on OUT: null, a string, a number, true
 * or false, a FK as its parent's id; a FLOAT that is not finite as the string "inf", "-inf"
 * or "nan" (JSON has no number for them). */
void values_json_field(FILE *out, const store_obj *obj, const store_fld *f);

/* values_json_value() - V (a field's default: STR, INT, FLOAT or BOOL) as values_json_field()
 * writes a value of that kind. */
void values_json_value(FILE *out, const store_value *v);

/* values_sql_str() - S as an SQL string literal on OUT: in single quotes, each quote
 * doubled; UTF-8 as it is. */
void values_sql_str(FILE *out, const char *s);

/* values_sql_ident() - NAME as a quoted SQL identifier on OUT ("Book"; a quote doubled). */
void values_sql_ident(FILE *out, const char *name);

#endif
