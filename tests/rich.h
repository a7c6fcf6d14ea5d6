/*
 * tests/rich.h - a store of every field kind and relation, for the export tests.
 */
#ifndef RELSTORE_TESTS_RICH_H
#define RELSTORE_TESTS_RICH_H

#include <store.h>

/*
 * rich_store_write() - writes to the new file PATH, and closes, a store of four models:
 * Author (a unique CHAR, a nullable TEXT, a nullable indexed INT, an ordered FLOAT with a
 * default, a BOOL with a default, a self-referencing SET_NULL FK), Book (an indexed CHAR, a
 * FLOAT, an INT with a default, a CASCADE FK to Author, a many-to-many to Tag), Cover (a
 * one-to-one RESTRICT FK to Book, a CHAR with a UTF-8 default) and Tag (a unique CHAR); 229
 * authors (one deleted), with UTF-8, quotes, backslashes and control characters in strings,
 * nulls, doubles such as 1/3, 1e300, -0.0, 5e-324 and an infinity, the smallest integers.
 * Exits with a message on any failure.
 */
void rich_store_write(const char *path);

#endif
