/*
 * tests/iofault.h - faults at the I/O calls that write a store's file, for the test
 * executables that link tests/iofault.c (the library has no hook).
 *
 * The interposed calls are pwrite, pwrite64, pwritev, writev, fdatasync, fsync, msync,
 * ftruncate and ftruncate64 (the library's extension of its file: it is built with 64-bit
 * file offsets). A call counts when it is aimed at the watched file (an fd of the same device
 * and inode; msync always counts while a file is watched). Counted calls are numbered from
 * 1 since iofault_arm(); the plan says what happens at call number AT:
 *
 *   IOF_KILL   the process dies by SIGKILL before the call is made (as if the power went
 *              at that instant for a process crash: what earlier calls wrote is in the file);
 *   IOF_FAIL   the call is not made and fails with ERRNO (EIO, ENOSPC...): at AT only, or
 *              at AT and every later call (FOREVER);
 *   IOF_SHORT  a write writes half its bytes and reports that (a short write), once.
 *
 * Every counted call is also noted (kind, offset, length) in a log that a forked child
 * shares with its parent (iofault_init() maps it before any fork).
 */
#ifndef RS_TESTS_IOFAULT_H
#define RS_TESTS_IOFAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { IOF_NONE, IOF_KILL, IOF_FAIL, IOF_SHORT } iof_action;

typedef enum { IOF_WRITE, IOF_SYNC, IOF_TRUNCATE } iof_kind;

typedef struct iof_call {
    iof_kind kind;
    int64_t off; /* writes: the offset; truncate: the new length */
    int64_t len; /* writes: the bytes asked for */
    bool done;   /* the call was made (and succeeded) */
} iof_call;

enum { IOF_LOG_MAX = 4096 };

/* The state, shared across fork() (a MAP_SHARED mapping). */
typedef struct iof_state {
    uint64_t dev, ino;      /* the watched file; ino 0: nothing watched */
    iof_action action;
    long at;                /* the call number the action is for */
    int err;                /* IOF_FAIL: the errno */
    bool forever;           /* IOF_FAIL: also every later call */
    long calls;             /* counted calls since iofault_arm() */
    long logged;            /* entries of log (at most IOF_LOG_MAX) */
    iof_call log[IOF_LOG_MAX];
} iof_state;

/* The shared state; iofault_init() must have run. */
extern iof_state *iof;

/* iofault_init() - map the shared state (once per process, before any fork). */
void iofault_init(void);

/* iofault_watch() - watch the file at PATH (it must exist); NULL stops watching. */
void iofault_watch(const char *path);

/* iofault_arm() - restart the count and the log, with ACTION at call number AT (ERR and
 * FOREVER for IOF_FAIL). IOF_NONE only counts. */
void iofault_arm(iof_action action, long at, int err, bool forever);

/* iofault_disarm() - no more faults; counting and logging go on. */
void iofault_disarm(void);

/* One recorded event: a write (its bytes, what the file held there before, and whether the
 * fd writes synchronously, as LMDB's meta-page fd does), a sync of the file, or a
 * truncation to length OFF. */
typedef struct iof_rec {
    iof_kind kind;
    int64_t off;
    int64_t len;
    bool sync;           /* a write made durable by the call itself (O_DSYNC) */
    unsigned char *data; /* a write's LEN bytes */
    unsigned char *pre;  /* the LEN bytes the file held there before (zeros past its end) */
} iof_rec;

/* iofault_record() - start recording the watched file's events (forgetting earlier ones),
 * or stop. What a call wrote is recorded once it has returned. */
void iofault_record(bool on);

/* iofault_records() - the events recorded, in order, in *OUT; their number. They stay
 * until the next iofault_record(true). */
size_t iofault_records(const iof_rec **out);

/* iofault_meta_call() - the number of the last counted write that touched the first
 * 2 * PAGE bytes (LMDB's two meta pages), or 0 if none did. */
long iofault_meta_call(long page);

#endif
