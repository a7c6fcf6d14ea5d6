/*
 * tests/tap.h - the checks of the plain test executables that also run under
 * ThreadSanitizer (Criterion aborts at start under TSan).
 *
 * Each check prints "ok N - what" or "not ok N - what"; tap_done() prints the closing line
 * "N passed, N failed" and gives the exit code.
 */
#ifndef RS_TESTS_TAP_H
#define RS_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_passed, tap_failed;

static inline __attribute__((format(printf, 2, 3))) bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", cond ? "ok" : "not ok", tap_passed + tap_failed + 1);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (cond)
        tap_passed++;
    else
        tap_failed++;
    return cond;
}

static inline int tap_done(void)
{
    printf("%d passed, %d failed\n", tap_passed, tap_failed);
    return tap_failed ? 1 : 0;
}

#endif
