/*
 * tools/export.h - relstore export: DB (opened from PATH) as portable SQL or as a SQLite
 * database in the new file OUT (see tools/export.c). Each returns the command's exit status:
 * 0, or 1 with the reason on standard error.
 */
#ifndef RELSTORE_TOOLS_EXPORT_H
#define RELSTORE_TOOLS_EXPORT_H

#include <store.h>

int export_sql(store *db, const char *path, const char *out); /* OUT "-": standard output */
int export_sqlite(store *db, const char *path, const char *out);

#endif
