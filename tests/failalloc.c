/*
 * tests/failalloc.c - the allocation wrappers behind fail_alloc_at() and fail_alloc_from().
 *
 * The counters are per thread, so a test that arms a failure on its own thread is not
 * disturbed by allocations a library thread pool makes elsewhere. LMDB, linked from its
 * archive into test executables, also allocates with strdup() (paths, database names) and
 * posix_memalign() (the buffers of a compacting copy); those are wrapped too, so every
 * allocation LMDB makes is counted and can fail. A failure sets errno to ENOMEM, as libc's.
 */
#include <errno.h>
#include <stddef.h>

#include "tests/failalloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **out, size_t align, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_posix_memalign(void **out, size_t align, size_t n);

static _Thread_local long target = -1; /* index of the first allocation to fail */
static _Thread_local bool forever;     /* every allocation from target on fails */
static _Thread_local long seen;        /* allocations since armed */
static _Thread_local bool hit;

void fail_alloc_at(long n)
{
    target = n;
    forever = false;
    seen = 0;
    hit = false;
}

void fail_alloc_from(long n)
{
    fail_alloc_at(n);
    forever = n >= 0;
}

bool fail_alloc_hit(void)
{
    return hit;
}

long fail_alloc_count(void)
{
    return seen;
}

static bool should_fail(void)
{
    long i = seen++;
    if (target < 0)
        return false;
    if (i == target || (forever && i > target)) {
        hit = true;
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    return should_fail() ? ENOMEM : __real_posix_memalign(out, align, n);
}
