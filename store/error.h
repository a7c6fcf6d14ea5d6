/*
 * store/error.h - the detail behind an error code, per thread and per store.
 *
 * A store owns its threads' details (the list in struct store's errmsgs, store/error.c): a
 * detail stays, at the same address, until the same thread fails on the same store again or
 * the store is closed; failures on other stores never evict it. When memory runs out at a
 * thread's first failure on a store, the detail goes to a fixed per-thread spare slot instead,
 * which holds one store's detail at a time (a later such failure on another store takes it).
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

/* rs_error_forget() - free every thread's detail on DB, entries of exited threads included;
 * called while the store is being closed, when no other thread uses it. */
void rs_error_forget(struct store *db);

/* rs_error_serial() - a number that no other store of this process has had; 0 is never given. */
uint64_t rs_error_serial(void);

#endif
