/*
 * store/error.c - store_errmsg()'s memory: a few message slots per thread.
 *
 * Each thread keeps the detail of its last failure on each of the last few stores it failed
 * on, keyed by the store's address and its serial (so a store opened later at the same
 * address never sees an old message). Nothing here allocates or locks: a failure path can
 * always record its detail, even out of memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/error.h"
#include "store/model.h"

enum { SLOTS = 8, MSG_MAX = 256 };

struct slot {
    const struct store *db;
    uint64_t serial;
    uint64_t used; /* when it was last written, for replacing the oldest */
    char msg[MSG_MAX];
};

static _Thread_local struct slot slots[SLOTS];
static _Thread_local uint64_t clock_;
static uint64_t next_serial = 1;

uint64_t rs_error_serial(void)
{
    return __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
}

static uint64_t serial_of(const struct store *db)
{
    return db ? db->serial : 0;
}

static struct slot *find(const struct store *db)
{
    uint64_t serial = serial_of(db);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].db == db && slots[i].serial == serial && slots[i].used)
            return &slots[i];
    return NULL;
}

int rs_error_set(const struct store *db, int rc, const char *fmt, ...)
{
    struct slot *s = find(db);
    if (!s) {
        s = &slots[0];
        for (int i = 1; i < SLOTS; i++)
            if (slots[i].used < s->used)
                s = &slots[i];
        s->db = db;
        s->serial = serial_of(db);
    }
    s->used = ++clock_;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    return rc;
}

const char *rs_error_get(const struct store *db)
{
    struct slot *s = find(db);
    return s ? s->msg : "";
}
