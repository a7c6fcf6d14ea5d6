/*
 * tests/helpers.h - the fixture every store test shares: a small library schema, and the
 * tools to prove that a call changed nothing (a canonical dump) and broke nothing
 * (store_check()).
 *
 *   Author  name CHAR(255) .index, email CHAR(64) .null .unique, age INT .null,
 *           rating FLOAT default 0.5, active BOOL default true
 *   Book    title CHAR(255), author FK Author CASCADE "books",
 *           editor FK Author .null SET_NULL "edited", pages INT default 0,
 *           isbn CHAR(13) .null .unique
 *   Review  book FK Book CASCADE "reviews", body TEXT
 *   Loan    book FK Book RESTRICT "loans", who CHAR(32)
 */
#ifndef RS_TESTS_HELPERS_H
#define RS_TESTS_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <store.h>

#include "tests/failalloc.h"

extern store_schema *schema;
extern store *db;
extern store_model *Author, *Book, *Review, *Loan;

/* The fixture: builds the schema and opens an empty store in memory. */
void library_setup(void);
void library_teardown(void);

/* The library schema, for tests that open their own stores. The caller frees it. */
store_schema *library_schema(void);

/* The whole store as canonical text; freed by library_teardown(). */
const char *dump_store(store *s);

/* Whether S's dump equals BEFORE. */
bool same_store(store *s, const char *before);

/* Asserts store_check(S) == STORE_OK, printing the problem if not. */
void check_invariants(store *s);

/* A new store in memory of one model NAME with FIELDS, its schema in *SCHEMA (the caller
 * closes the one and frees the other); asserts success. */
store *one_model_store(store_schema **schema, const char *name, const store_field *fields);

/* Shorthands that assert success. */
store_obj *make_author(const char *name);
store_obj *make_book(const char *title, store_obj *author);
store_obj *make_review(store_obj *book, const char *body);
store_obj *make_loan(store_obj *book, const char *who);

/* The ids of OBJ's children in RELATED_NAME, as "1,2,3" (static buffer). */
const char *child_ids(const store_obj *obj, const char *related_name);

/* A new empty folder for a test's files, /tmp/relstore-TAG-XXXXXX, into DIR (64 bytes), and
 * the store file inside it, DIR/books.db, into PATH (128 bytes). */
void test_dir_new(char *dir, char *path, const char *tag);

/* Removes DIR and everything in it; whether that worked (a warning is logged if not). A .fini
 * calls it without asserting: a failed assertion there does not fail the test. */
bool test_dir_remove(const char *dir);

/* The fixture of tests with files: library_setup(), then a new empty folder for the test's
 * files in TEST_DIR (test_dir_new(), tagged with the suite's name) and the store file inside
 * it in TEST_PATH; library_files_teardown() is library_teardown(), then test_dir_remove(). */
extern char test_dir[64], test_path[128];
void library_files_setup(void);
void library_files_teardown(void);

#endif
