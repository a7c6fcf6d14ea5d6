/*
 * store/error.h - the detail behind an error code, per thread and per store.
 */
#ifndef RS_STORE_ERROR_H
#define RS_STORE_ERROR_H

#include <stdint.h>

struct store;

/*
 * rs_error_set() - record the detail of a failure of the calling thread on DB (NULL: a call
 * with no store), and return RC, so that a failing path is one statement:
 *     return rs_error_set(db, STORE_EINVAL, "%s.%s: not a string", m->name, f->name);
 */
int rs_error_set(const struct store *db, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rs_error_get() - the calling thread's last detail on DB; "" if none. */
const char *rs_error_get(const struct store *db);

/* rs_error_serial() - a number that no other store of this process has had; 0 is never given. */
uint64_t rs_error_serial(void);

#endif
