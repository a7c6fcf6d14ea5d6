/*
 * store/schema.h - declared models, and their compilation into a store's models.
 */
#ifndef RS_STORE_SCHEMA_H
#define RS_STORE_SCHEMA_H

#include <store.h>

#include "store/model.h"

/* A declared set of fields unique together: their names, copied. */
typedef struct rs_uniq_decl {
    size_t n;
    char **names;
} rs_uniq_decl;

/* One declared model: its name, a copy of its field list, its sets unique together. */
typedef struct rs_decl {
    char *name;
    size_t nfields;
    store_field *fields; /* every string copied */
    size_t nuniq;
    rs_uniq_decl *uniq;
} rs_decl;

struct store_schema {
    size_t ndecls;
    rs_decl *decls;
};

/* rs_schema_add() - store_schema_add() after the argument checks. */
int rs_schema_add(store_schema *s, const char *model, const store_field *fields);

/* rs_schema_unique() - store_schema_unique() after the NULL checks. */
int rs_schema_unique(store_schema *s, const char *model, const char *const *fields);

/* rs_schema_free() - store_schema_free(). */
void rs_schema_free(store_schema *s);

/*
 * rs_schema_compile() - check schema S as a whole and build DB's models from it: fields
 * resolved to words, foreign keys to their target model and reverse relation, empty arenas
 * and indexes. On failure returns STORE_ESCHEMA (naming model and field in
 * store_errmsg(NULL)) or STORE_ENOMEM, and DB has no models.
 */
int rs_schema_compile(store *db, const store_schema *s);

/* rs_schema_models_free() - free DB's models and everything their objects own. */
void rs_schema_models_free(store *db);

/* rs_schema_model_find() - DB's model called NAME, or NULL. */
store_model *rs_schema_model_find(const store *db, const char *name);

/* rs_schema_field_find() - MODEL's field called NAME, or NULL. */
store_fld *rs_schema_field_find(const store_model *m, const char *name);

/* rs_schema_relation_find() - the foreign key behind MODEL's reverse relation NAME, or NULL. */
store_fld *rs_schema_relation_find(const store_model *m, const char *name);

/* rs_schema_m2m_find() - MODEL's side of its many-to-many relation NAME, or NULL. */
rs_m2m *rs_schema_m2m_find(const store_model *m, const char *name);

/* rs_schema_m2m_find_fk() - the NTH (from 0) foreign key of model T to model SIDE, or NULL. */
store_fld *rs_schema_m2m_find_fk(const store_model *t, const store_model *side, int nth);

/*
 * rs_schema_short_name() - NAME fit for a message: itself when short, otherwise its first
 * RS_SHORT_NAME_KEEP bytes, "..." and its length, written into BUF (RS_SHORT_NAME_SIZE
 * bytes will do). Details live in a buffer of 256 bytes: two names of STORE_NAME_MAX bytes
 * would leave no room to say what is wrong.
 */
enum { RS_SHORT_NAME_KEEP = 32, RS_SHORT_NAME_SIZE = 64 };
const char *rs_schema_short_name(char *buf, size_t size, const char *name);

/* rs_schema_utf8_chars() - how many code points the LEN bytes at S hold, or -1 if not UTF-8. */
long rs_schema_utf8_chars(const char *s, size_t len);

#endif
