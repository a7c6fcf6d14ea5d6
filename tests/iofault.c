/*
 * tests/iofault.c - the I/O interposer of tests/iofault.h.
 *
 * Linked into a test executable, these definitions take the place of libc's for the
 * executable and for liblmdb (symbol interposition); each forwards to libc's own (found
 * with dlsym(RTLD_NEXT)) unless the plan says otherwise. Nothing here allocates: the state
 * is one shared mapping made by iofault_init().
 */
/* Interposing both pwrite and pwrite64 (ftruncate and ftruncate64) needs their plain names,
 * not the 64-bit aliases. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tests/iofault.h"

iof_state *iof;

/* The recording (this process only). */
static bool recording;
static iof_rec *recs;
static size_t nrecs, caprecs;

void iofault_record(bool on)
{
    for (size_t i = 0; on && i < nrecs; i++) {
        free(recs[i].data);
        free(recs[i].pre);
    }
    if (on)
        nrecs = 0;
    recording = on;
}

size_t iofault_records(const iof_rec **out)
{
    *out = recs;
    return nrecs;
}

/* What the file FD holds at OFF .. OFF+LEN now (zeros past its end), malloc'd; before a
 * write there, when recording. */
static unsigned char *pre_image(int fd, int64_t off, int64_t len)
{
    if (!recording || len <= 0)
        return NULL;
    unsigned char *pre = calloc(1, (size_t)len);
    if (!pre)
        abort();
    /* FD may be write-only (LMDB's meta-page fd is): read through a descriptor of our own. */
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    int rfd = open(name, O_RDONLY);
    if (rfd < 0)
        abort();
    ssize_t got = pread(rfd, pre, (size_t)len, off);
    close(rfd);
    if (got < 0)
        abort(); /* short past the end: the rest stays zero */
    return pre;
}

/* Appends an event; DATA (LEN bytes, or NULL) is copied from the iovecs IOV (N of them); PRE
 * (taken over) is what the file held there before. */
static void record(iof_kind kind, int64_t off, int64_t len, bool sync, const struct iovec *iov,
                   int n, unsigned char *pre)
{
    if (!recording) {
        free(pre);
        return;
    }
    if (nrecs == caprecs) {
        caprecs = caprecs ? 2 * caprecs : 64;
        recs = realloc(recs, caprecs * sizeof *recs);
        if (!recs)
            abort();
    }
    iof_rec *r = &recs[nrecs++];
    *r = (iof_rec){.kind = kind, .off = off, .len = len, .sync = sync, .data = NULL, .pre = pre};
    if (kind != IOF_WRITE)
        return;
    if (!(r->data = malloc(len ? (size_t)len : 1)))
        abort();
    size_t at = 0;
    for (int i = 0; i < n && at < (size_t)len; i++) {
        size_t take = iov[i].iov_len < (size_t)len - at ? iov[i].iov_len : (size_t)len - at;
        memcpy(r->data + at, iov[i].iov_base, take);
        at += take;
    }
}

/* Whether writes to FD are durable when the call returns (O_DSYNC or O_SYNC). */
static bool sync_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_DSYNC) == O_DSYNC;
}

void iofault_init(void)
{
    if (iof)
        return;
    void *p = mmap(NULL, sizeof *iof, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("iofault: mmap");
        abort();
    }
    iof = p;
}

void iofault_watch(const char *path)
{
    struct stat st;
    iof->ino = 0;
    if (path && stat(path, &st) == 0) {
        iof->dev = (uint64_t)st.st_dev;
        iof->ino = (uint64_t)st.st_ino;
    }
}

void iofault_arm(iof_action action, long at, int err, bool forever)
{
    iof->action = IOF_NONE;
    iof->calls = 0;
    iof->logged = 0;
    iof->at = at;
    iof->err = err;
    iof->forever = forever;
    __atomic_store_n(&iof->action, action, __ATOMIC_RELEASE);
}

void iofault_disarm(void)
{
    __atomic_store_n(&iof->action, IOF_NONE, __ATOMIC_RELEASE);
}

long iofault_meta_call(long page)
{
    long last = 0;
    for (long i = 0; i < iof->logged; i++)
        if (iof->log[i].kind == IOF_WRITE && iof->log[i].off < 2 * page)
            last = i + 1;
    return last;
}

/* ---- The interposed calls ---------------------------------------------------------------- */

static bool watched(int fd)
{
    struct stat st;
    if (!iof || !iof->ino || fstat(fd, &st))
        return false;
    return (uint64_t)st.st_dev == iof->dev && (uint64_t)st.st_ino == iof->ino;
}

enum { GO, FAIL, SHORT };

/*
 * Numbers a counted call, logs it, and says what to do: GO (make it), FAIL (errno set), or
 * SHORT. IOF_KILL never returns. *ENTRY is the call's log entry, or NULL past the log's end.
 */
static int decide(iof_kind kind, int64_t off, int64_t len, iof_call **entry)
{
    long n = __atomic_add_fetch(&iof->calls, 1, __ATOMIC_ACQ_REL);
    *entry = NULL;
    long slot = __atomic_fetch_add(&iof->logged, 1, __ATOMIC_ACQ_REL);
    if (slot < IOF_LOG_MAX) {
        *entry = &iof->log[slot];
        **entry = (iof_call){.kind = kind, .off = off, .len = len, .done = false};
    } else {
        __atomic_store_n(&iof->logged, IOF_LOG_MAX, __ATOMIC_RELEASE);
    }
    iof_action action = __atomic_load_n(&iof->action, __ATOMIC_ACQUIRE);
    if (action == IOF_KILL && n == iof->at)
        kill(getpid(), SIGKILL);
    if (action == IOF_FAIL && (n == iof->at || (iof->forever && n > iof->at))) {
        errno = iof->err;
        return FAIL;
    }
    if (action == IOF_SHORT && n == iof->at && kind == IOF_WRITE && len > 1)
        return SHORT;
    return GO;
}

static void done(iof_call *entry, bool ok)
{
    if (entry && ok)
        entry->done = true;
}

/* After a write of the N iovecs IOV at OFF on FD returned R: marks its entry E done and, when
 * FD is watched (MINE), records it with its pre-image PRE (taken over). Returns R. */
static ssize_t wrote(iof_call *e, bool mine, int fd, int64_t off, ssize_t r,
                     const struct iovec *iov, int n, unsigned char *pre)
{
    done(e, r >= 0);
    if (r > 0 && mine)
        record(IOF_WRITE, off, r, sync_fd(fd), iov, n, pre);
    else
        free(pre);
    return r;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* The project builds with hidden visibility; these must be seen by liblmdb. */
#define INTERPOSE __attribute__((visibility("default")))

static ssize_t do_pwrite(int fd, const void *buf, size_t n, int64_t off, bool wide)
{
    iof_call *e = NULL;
    bool mine = watched(fd);
    int what = mine ? decide(IOF_WRITE, off, (int64_t)n, &e) : GO;
    if (what == FAIL)
        return -1;
    if (what == SHORT)
        n /= 2;
    unsigned char *pre = mine ? pre_image(fd, off, (int64_t)n) : NULL;
    ssize_t r = wide ? NEXT(pwrite64)(fd, buf, n, off) : NEXT(pwrite)(fd, buf, n, (off_t)off);
    struct iovec one = {.iov_base = (void *)buf, .iov_len = n};
    return wrote(e, mine, fd, off, r, &one, 1, pre);
}

INTERPOSE ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return do_pwrite(fd, buf, n, off, false);
}

INTERPOSE ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return do_pwrite(fd, buf, n, off, true);
}

static int64_t iov_bytes(const struct iovec *iov, int n)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += (int64_t)iov[i].iov_len;
    return sum;
}

INTERPOSE ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    iof_call *e = NULL;
    bool mine = watched(fd);
    int what = mine ? decide(IOF_WRITE, off, iov_bytes(iov, n), &e) : GO;
    if (what == FAIL)
        return -1;
    unsigned char *pre = mine ? pre_image(fd, off, iov_bytes(iov, n)) : NULL;
    ssize_t r = what == SHORT ? NEXT(pwrite)(fd, iov[0].iov_base, iov[0].iov_len / 2, off)
                              : NEXT(pwritev)(fd, iov, n, off);
    return wrote(e, mine, fd, off, r, iov, n, pre);
}

INTERPOSE ssize_t writev(int fd, const struct iovec *iov, int n)
{
    iof_call *e = NULL;
    int what = GO;
    bool mine = watched(fd);
    int64_t off = mine ? (int64_t)lseek(fd, 0, SEEK_CUR) : 0;
    if (mine)
        what = decide(IOF_WRITE, off, iov_bytes(iov, n), &e);
    if (what == FAIL)
        return -1;
    unsigned char *pre = mine ? pre_image(fd, off, iov_bytes(iov, n)) : NULL;
    ssize_t r = what == SHORT ? NEXT(write)(fd, iov[0].iov_base, iov[0].iov_len / 2)
                              : NEXT(writev)(fd, iov, n);
    return wrote(e, mine, fd, off, r, iov, n, pre);
}

static int do_sync(int fd, int (*real)(int))
{
    iof_call *e = NULL;
    if (watched(fd) && decide(IOF_SYNC, 0, 0, &e) == FAIL)
        return -1;
    int r = real(fd);
    done(e, r == 0);
    if (r == 0 && watched(fd))
        record(IOF_SYNC, 0, 0, false, NULL, 0, NULL);
    return r;
}

INTERPOSE int fsync(int fd)
{
    return do_sync(fd, NEXT(fsync));
}

INTERPOSE int fdatasync(int fd)
{
    return do_sync(fd, NEXT(fdatasync));
}

INTERPOSE int msync(void *addr, size_t len, int flags)
{
    iof_call *e = NULL;
    if (iof && iof->ino && decide(IOF_SYNC, 0, (int64_t)len, &e) == FAIL)
        return -1;
    int r = NEXT(msync)(addr, len, flags);
    done(e, r == 0);
    return r;
}

static int do_truncate(int fd, int64_t len, bool wide)
{
    iof_call *e = NULL;
    if (watched(fd) && decide(IOF_TRUNCATE, len, 0, &e) == FAIL)
        return -1;
    int r = wide ? NEXT(ftruncate64)(fd, len) : NEXT(ftruncate)(fd, (off_t)len);
    done(e, r == 0);
    if (r == 0 && watched(fd))
        record(IOF_TRUNCATE, len, 0, false, NULL, 0, NULL);
    return r;
}

INTERPOSE int ftruncate(int fd, off_t len)
{
    return do_truncate(fd, len, false);
}

/* The library is built with 64-bit file offsets, so its ftruncate() calls reach libc as
 * ftruncate64() (LMDB's, built without, stay ftruncate()). */
INTERPOSE int ftruncate64(int fd, off64_t len)
{
    return do_truncate(fd, len, true);
}
