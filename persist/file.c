/*
 * persist/file.c - opening and closing the LMDB file behind a store.
 *
 * Opening takes, in order: the LMDB library refused unless of the series whose file format
 * persist/lmdb_format.h describes (before any file is touched); descriptors 0-2 filled with
 * /dev/null if they are closed (so no data file lands on them and a stray write(2, ...) cannot
 * hit it); the path refused unless it is a regular file (symlinks followed; a FIFO would
 * block), opened without blocking and checked again; the file's entry in this process's
 * registry of open files, keyed by inode, and the file's locks (see "The locks" below: a
 * second read-write open, in this process or another, by any path, symlink or hard link, is
 * STORE_EBUSY; read-only opens in other processes go beside a writer, and within a process
 * share one environment); a check of LMDB's meta pages read with pread, so that a truncated
 * or foreign file is STORE_ECORRUPT before LMDB maps a page of it; the environment
 * (MDB_NOSUBDIR: one file, its
 * lock file PATH-lock refused unless regular too; MDB_NOTLS: reader slots are not tied to
 * threads; full sync unless asked otherwise; never MDB_WRITEMAP); a stale-reader check; then
 * one read transaction that checks the catalog against the schema and loads every object (a
 * read-only open walks the page tree inside it, see begin_read()). A
 * child made by fork() drops its copies of the lock descriptors before fork() returns in the
 * parent, so it never keeps a file locked.
 *
 * What an open writes to the data file: a read-write open creates a missing one (empty), and
 * LMDB then writes the two meta pages of an empty file; a read-write open pads a file that
 * ends short of its last page with zeros (check_size(): pages no tree reaches) before LMDB
 * maps it. Nothing else: no snapshot is written while opening, not even for a schema that
 * gained models or fields (adopt() only marks what the next snapshot must write), and a
 * read-only open writes nothing. LMDB writes its reader table in PATH-lock. A failed open
 * removes the data file and PATH-lock it made, while it still holds the file alone; meta
 * pages or padding written into a file it did not make stay.
 *
 * Errors: every function that can fail returns STORE_OK or a STORE_E* code with the detail
 * recorded where the failure happens; an LMDB code becomes a STORE_E* at its mdb_* call
 * (rs_file_mdb_error_at()), an errno through io_code() (rs_file_path_error() for opening a
 * path, rs_file_write_error() for a write that a full disk may have cut short).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist/file.h"
#include "persist/internal.h"
#include "persist/lmdb_format.h"
#include "store/error.h"
#include "store/object.h"
#include "store/schema.h"

enum { DEFAULT_MAP = 16 << 20 };
#define DEFAULT_MAP_MAX ((size_t)1 << 40)

/* STORE_E* for an errno of an I/O call: a full disk, a quota or a file size limit is
 * STORE_ENOSPC. */
static int io_code(int err)
{
    return err == ENOSPC || err == EFBIG || err == EDQUOT ? STORE_ENOSPC
           : err == ENOMEM                               ? STORE_ENOMEM
                                                         : STORE_EIO;
}

int rs_file_mdb_error_at(const store *db, const char *path, int rc, const char *what)
{
    int code = rc == MDB_MAP_FULL ? STORE_EFULL
               : rc == MDB_CORRUPTED || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH
                   ? STORE_ECORRUPT
                   : io_code(rc);
    return rs_error_set(db, code, "%s: %s: %s", path, what, mdb_strerror(rc));
}

int rs_file_mdb_error(const store *db, int rc, const char *what)
{
    return rs_file_mdb_error_at(db, db && db->persist ? db->persist->path : "", rc, what);
}

/*
 * A write cut short is how a disk that fills up shows first (LMDB reports it as EIO); the
 * next write is refused with the cause. So after an EIO, one page of zeros is written past
 * the end of the file FD and the file is truncated back: zeros past the end change nothing
 * a reader sees. Returns the errno of the refusal (ENOSPC, EDQUOT, EFBIG), or 0.
 */
static int full_disk(int fd)
{
    static const char zeros[1 << 16];
    long page = sysconf(_SC_PAGESIZE);
    struct stat st;
    if (page <= 0 || page > (long)sizeof zeros || fstat(fd, &st))
        return 0;
    off_t at = (st.st_size + page - 1) / page * page;
    ssize_t put = pwrite(fd, zeros, (size_t)page, at);
    int err = put < 0 ? errno : put < page ? ENOSPC : 0;
    if (put > 0 && ftruncate(fd, st.st_size))
        err = err ? err : errno;
    return io_code(err) == STORE_ENOSPC ? err : 0;
}

int rs_file_write_error(const store *db, const char *path, int fd, int rc, const char *what)
{
    int full = rc == EIO ? full_disk(fd) : 0;
    return rs_file_mdb_error_at(db, path, full ? full : rc, what);
}

/*
 * STORE_E* for the errno ERR of opening PATH (DOING names the call), with a detail that
 * says what is wrong with the path: a missing directory, a missing file, a file that is
 * there already, a part of the path that is not a directory are STORE_EINVAL.
 */
int rs_file_path_error(const store *db, const char *path, int err, const char *doing)
{
    if (err == ENOENT) {
        const char *slash = strrchr(path, '/');
        int len = slash ? (int)(slash - path) : 0;
        char *parent = malloc((size_t)len + 2);
        struct stat st;
        bool missing = false;
        if (parent) {
            memcpy(parent, len ? path : "/", len ? (size_t)len : 1);
            parent[len ? len : 1] = 0;
            missing = slash && stat(parent, &st) && errno == ENOENT;
            free(parent);
        }
        if (missing)
            return rs_error_set(db, STORE_EINVAL, "%s: %s: the directory %.*s does not exist",
                                path, doing, len, path);
        return rs_error_set(db, STORE_EINVAL, "%s: %s: no such file", path, doing);
    }
    if (err == EEXIST)
        return rs_error_set(db, STORE_EINVAL, "%s: %s: the file exists", path, doing);
    if (err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG || err == ELOOP)
        return rs_error_set(db, STORE_EINVAL, "%s: %s: %s", path, doing, strerror(err));
    return rs_error_set(db, io_code(err), "%s: %s: %s", path, doing, strerror(err));
}

void rs_file_dbname(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "m.%s", name);
}

/* ---- Descriptors 0-2 ---------------------------------------------------------------------- */

/* Opens /dev/null on each of 0, 1, 2 that is closed; returns a mask of those it filled. */
static int hold_std_fds(void)
{
    int held = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int got = open("/dev/null", O_RDWR);
        if (got >= 0 && got <= 2)
            held |= 1 << got;
        else if (got >= 0)
            close(got);
    }
    return held;
}

static void release_std_fds(int held)
{
    for (int fd = 0; fd <= 2; fd++)
        if (held & 1 << fd)
            close(fd);
}

/* The path P's environment is opened by: P's path with its symlinks resolved, once the file
 * is there (see "The locks"), else as given. */
static const char *lmdb_path(const struct rs_persist *p)
{
    return p->real_path ? p->real_path : p->path;
}

/* PATH-lock, malloc'd; NULL when memory runs out. */
static char *lock_path(const char *path)
{
    size_t n = strlen(path) + sizeof "-lock";
    char *lock = malloc(n);
    if (lock)
        snprintf(lock, n, "%s-lock", path);
    return lock;
}

/* ---- The locks ---------------------------------------------------------------------------- */

/*
 * Two locks on the data file, both held by our descriptor's open file description (released
 * when its last copy closes) and independent of each other and of LMDB's, which takes record
 * locks on PATH-lock only, never on the data file:
 *
 *   the writer's lock  an open file description lock (F_OFD_SETLK) on byte WRITER_BYTE,
 *                      write-locked by the one read-write store of the file: a second writer,
 *                      in any process, is STORE_EBUSY. Readers leave it alone, so a reader in
 *                      another process (an inspector) opens beside a running writer; LMDB's
 *                      reader table keeps the snapshot a read transaction uses from being
 *                      overwritten.
 *   the users' lock    a shared flock taken by every opener, writer or reader (a flock needs
 *                      no write access, so a file a reader may not write still opens); made
 *                      exclusive only by a failed open that made the file or PATH-lock, to
 *                      learn that it is alone before removing them (remove_made()).
 *
 * A read-only open cannot know the file will not change under it, so it walks the page tree
 * of the snapshot its read transaction pins (begin_read()) instead of the tree before LMDB
 * opens the file.
 *
 * LMDB keeps a reader's snapshot from being overwritten only if the reader registers in the
 * writer's reader table, in the lock file named after the path (PATH-lock). So every opener
 * gives LMDB the path with symlinks resolved (realpath(): one lock file for every symlink),
 * and a reader that may still not register where the writer looks is "unlisted": one
 * reaching a file of several hard links (each name has its lock file), or one LMDB runs
 * without locks (a lock file it cannot write, on a read-only file system). An unlisted
 * reader read-locks UNLISTED_BYTE, which the writer write-locks for as long as it has the
 * file, so the two exclude each other (STORE_EBUSY for the later one). A writer that finds
 * several hard links also takes the file only if no other opener has it (the users' flock
 * taken exclusive, then shared): a reader that opened before the link was made is listed
 * under another name.
 */
enum { WRITER_BYTE = 0, UNLISTED_BYTE = 1 };

/* Locks BYTE of FD's file for TYPE (F_RDLCK, F_WRLCK), without waiting: 0, or -1 (errno
 * EAGAIN or EACCES when another open of the file holds a lock in the way). */
static int lock_byte(int fd, short type, off_t byte)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    return fcntl(fd, F_OFD_SETLK, &l);
}

static bool lock_busy(void)
{
    return errno == EAGAIN || errno == EACCES;
}

/* The writer's locks on FD (the file ST): the writer's byte, then, with several hard links,
 * the file alone, then the unlisted readers' byte. P names the file in messages. */
static int lock_writer(const struct rs_persist *p, int fd, const struct stat *st)
{
    if (lock_byte(fd, F_WRLCK, WRITER_BYTE))
        return rs_error_set(NULL, lock_busy() ? STORE_EBUSY : STORE_EIO,
                            "%s: the file is open elsewhere%s", p->path,
                            lock_busy() ? ": by a read-write store" : " (locking failed)");
    if (st->st_nlink > 1 && flock(fd, LOCK_EX | LOCK_NB))
        return rs_error_set(NULL, errno == EWOULDBLOCK ? STORE_EBUSY : STORE_EIO,
                            "%s: the file is open elsewhere, and has %ju hard links: a writer "
                            "of such a file must have it alone%s", p->path,
                            (uintmax_t)st->st_nlink, errno == EWOULDBLOCK ? "" : " (flock failed)");
    if (lock_byte(fd, F_WRLCK, UNLISTED_BYTE))
        return rs_error_set(NULL, lock_busy() ? STORE_EBUSY : STORE_EIO,
                            "%s: the file is open elsewhere%s", p->path,
                            lock_busy() ? ": by a reader that cannot register with a writer "
                                          "(through a hard link, or on a read-only file system)"
                                        : " (locking failed)");
    return STORE_OK;
}

/*
 * A read-only P with its environment open: unlisted (see "The locks") when its file has
 * several hard links or LMDB runs without locks; then it read-locks the unlisted readers'
 * byte, or is STORE_EBUSY beside a writer.
 */
static int lock_reader(const struct rs_persist *p)
{
    struct stat st;
    unsigned flags = 0;
    if (fstat(p->fd, &st) || mdb_env_get_flags(p->env, &flags))
        return rs_error_set(NULL, STORE_EIO, "%s: %s", p->path, strerror(errno));
    /* LMDB opens without locks, and says nothing, when the lock file is on a read-only file
     * system (it does not even set MDB_NOLOCK): ask the file system. */
    char *lock = lock_path(lmdb_path(p));
    if (!lock)
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", p->path);
    if (access(lock, W_OK) && errno == EROFS)
        flags |= MDB_NOLOCK;
    free(lock);
    if (st.st_nlink <= 1 && !(flags & MDB_NOLOCK))
        return STORE_OK;
    if (!lock_byte(p->fd, F_RDLCK, UNLISTED_BYTE))
        return STORE_OK;
    return rs_error_set(NULL, lock_busy() ? STORE_EBUSY : STORE_EIO,
                        "%s: the file is open read-write elsewhere, and this reader could not "
                        "register with its writer (%s)%s", p->path,
                        flags & MDB_NOLOCK ? "its lock file cannot be written"
                                           : "the file has several hard links",
                        lock_busy() ? "" : " (locking failed)");
}

/* Whether some other open of FD's file, in any process, holds the writer's lock. */
static bool writer_live(int fd)
{
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = WRITER_BYTE,
                      .l_len = 1};
    return !fcntl(fd, F_OFD_GETLK, &l) && l.l_type != F_UNLCK;
}

/* ---- The files open in this process -------------------------------------------------------- */

static int check_size(const char *path, int fd, bool *fresh, bool pad, bool tree);

/*
 * LMDB allows one environment per file per process, and POSIX record locks never conflict
 * within a process, so a second environment of a file would re-initialise the lock file under
 * the first. The registry therefore keeps one entry per data file open in this process, keyed
 * by its inode (so every path, symlink and hard link finds it). An entry owns our descriptor
 * of the file, which holds the locks; a read-only entry also owns the one environment every
 * read-only store of the file shares (read transactions with MDB_NOTLS may run on any
 * thread), closed by the last of them. A read-write entry is never shared: its store owns its
 * environment (D4 may reopen it), and any other open of the file in this process is
 * STORE_EBUSY, as another process's writer is.
 */
struct rs_file {
    dev_t dev;
    ino_t ino;
    int fd;            /* ours, with the locks; -1 in a forked child */
    bool rw;           /* a read-write store's entry: never shared */
    bool orphan;       /* the parent's, seen from a forked child: never touched again */
    unsigned refs;     /* the stores and schema readers using it; under files_lock */
    unsigned maxdbs;   /* the named databases ENV has room for */
    MDB_env *env;      /* read-only: the shared environment, NULL until open (or if it failed) */
    pthread_mutex_t use; /* held while ENV is opened, and by each read that opens databases */
    struct rs_file *next;
};

/* A read-only environment has room for this many named databases at least, so that stores
 * of schemas with more models, and schema readers, can share it. */
enum { SHARED_MAXDBS = 128 };

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rs_file *files;
static pthread_once_t files_once = PTHREAD_ONCE_INIT;
static int fork_pipe[2] = {-1, -1}; /* the child's word that it holds no lock; under files_lock */

/*
 * Before fork(): no entry may change while the child copies them; while files are open, a
 * pipe for the child to say it has closed its copies of their descriptors.
 */
static void fork_prepare(void)
{
    pthread_mutex_lock(&files_lock);
    if (files && pipe2(fork_pipe, O_CLOEXEC))
        fork_pipe[0] = fork_pipe[1] = -1; /* then the child's copies close a little later */
}

/*
 * After fork() in the parent: waits until the child has closed its copies of the lock
 * descriptors (its end of the pipe closes with them, or when it dies), so that once fork()
 * returns, closing a store releases its file as if there were no child. If fork() failed,
 * the pipe closes at once.
 */
static void fork_parent(void)
{
    if (fork_pipe[1] >= 0) {
        char c;
        close(fork_pipe[1]);
        while (read(fork_pipe[0], &c, 1) < 0 && errno == EINTR)
            ;
        close(fork_pipe[0]);
        fork_pipe[0] = fork_pipe[1] = -1;
    }
    pthread_mutex_unlock(&files_lock);
}

/*
 * In a child made by fork(): the locks belong to the open file description the child shares
 * with its parent, so the child closes its copy of every lock descriptor at once (the parent's
 * close then releases the lock), then its end of the pipe. Descriptors are per process: nothing
 * of the parent's closes. The entries leave the registry, so the child's own opens start
 * afresh; its stores of the parent's files keep them until they are closed (STORE_EFORK),
 * which frees only memory.
 */
static void fork_child(void)
{
    for (struct rs_file *f = files, *next; f; f = next) {
        next = f->next;
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        f->env = NULL; /* the parent's: closing it here would clear its reader slots */
        f->orphan = true;
        f->next = NULL;
    }
    files = NULL;
    if (fork_pipe[1] >= 0) {
        close(fork_pipe[0]);
        close(fork_pipe[1]);
        fork_pipe[0] = fork_pipe[1] = -1;
    }
    pthread_mutex_unlock(&files_lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Takes F out of the registry if it is there; files_lock held. */
static void unlink_file(struct rs_file *f)
{
    for (struct rs_file **at = &files; *at; at = &(*at)->next) {
        if (*at == f) {
            *at = f->next;
            return;
        }
    }
}

/*
 * Drops a reference to F; the last closes its environment, then its descriptor (the locks),
 * both under files_lock: a fork() after the entry left the registry but before the close
 * would give the child a copy no handler knows of, keeping the locks.
 */
static void file_release(struct rs_file *f)
{
    pthread_mutex_lock(&files_lock);
    bool last = --f->refs == 0;
    if (last) {
        unlink_file(f);
        if (f->env)
            mdb_env_close(f->env);
        if (f->fd >= 0)
            close(f->fd);
    }
    pthread_mutex_unlock(&files_lock);
    if (!last)
        return;
    if (!f->orphan)
        pthread_mutex_destroy(&f->use); /* a child's copy may be locked by a parent's thread */
    free(f);
}

/* What a file of mode MODE is, for a message; NULL if it is a regular file. */
static const char *kind_of(mode_t mode)
{
    return S_ISREG(mode)    ? NULL
           : S_ISFIFO(mode) ? "is a FIFO"
           : S_ISDIR(mode)  ? "is a directory"
           : S_ISCHR(mode)  ? "is a character device"
           : S_ISBLK(mode)  ? "is a block device"
           : S_ISSOCK(mode) ? "is a socket"
                            : "is not a regular file";
}

/* Refuses PATH if it exists (symlinks followed) and is not a regular file: opening a
 * FIFO would block. A missing file is for open() to judge. */
static int check_kind(const store *errdb, const char *path)
{
    struct stat st;
    const char *kind = stat(path, &st) ? NULL : kind_of(st.st_mode);
    if (kind)
        return rs_error_set(errdb, STORE_EINVAL, "%s: %s, not a store file", path, kind);
    return STORE_OK;
}

/*
 * Opens P->path into *FD and fills *ST: refused unless a regular file, opened without
 * blocking (in case it was replaced since it was checked) and checked again. A read-write
 * open creates a missing file, exclusively, so that P->made_file says whether it did.
 */
static int open_regular(struct rs_persist *p, int *fd, struct stat *st)
{
    bool ro = p->flags & STORE_OPEN_READONLY;
    int rc = check_kind(NULL, p->path);
    if (rc)
        return rc;
    int how = O_CLOEXEC | O_NONBLOCK;
    *fd = ro ? -1 : open(p->path, O_RDWR | O_CREAT | O_EXCL | how, 0644);
    p->made_file = *fd >= 0;
    if (*fd < 0) /* there already (a dangling symlink, too: its target is created) */
        *fd = open(p->path, (ro ? O_RDONLY : O_RDWR | O_CREAT) | how, 0644);
    if (*fd < 0)
        return rs_file_path_error(NULL, p->path, errno, ro ? "opening read-only" : "opening");
    int fl;
    if (fstat(*fd, st) || (fl = fcntl(*fd, F_GETFL)) == -1 ||
        fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK)) {
        rc = rs_error_set(NULL, STORE_EIO, "%s: %s", p->path, strerror(errno));
        goto close_fd;
    }
    if (kind_of(st->st_mode)) {
        rc = rs_error_set(NULL, STORE_EINVAL, "%s: %s, not a store file", p->path,
                          kind_of(st->st_mode));
        goto close_fd;
    }
    return STORE_OK;
close_fd:
    close(*fd);
    *fd = -1;
    return rc;
}

/* The entry of the file ST in the registry, or NULL; files_lock held. */
static struct rs_file *find_file(const struct stat *st)
{
    struct rs_file *f = files;
    while (f && (f->dev != st->st_dev || f->ino != st->st_ino))
        f = f->next;
    return f;
}

/*
 * Registers a new entry for FD (of the file ST) with its locks, in P->file; files_lock held.
 * A read-only entry is returned with its USE lock held: the caller opens its environment.
 */
static int add_file(struct rs_persist *p, int fd, const struct stat *st)
{
    bool ro = p->flags & STORE_OPEN_READONLY;
    int rc = ro ? STORE_OK : lock_writer(p, fd, st);
    if (rc)
        return rc;
    if (flock(fd, LOCK_SH | LOCK_NB))
        return rs_error_set(NULL, errno == EWOULDBLOCK ? STORE_EBUSY : STORE_EIO,
                            "%s: the file is open elsewhere%s", p->path,
                            errno == EWOULDBLOCK ? ": an opener that failed is removing it"
                                                 : " (flock failed)");
    /* A failed open removes the file it made (remove_made()): one that opened it before
     * and locks it after must see that PATH no longer names it. */
    struct stat now;
    if (stat(p->path, &now) || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
        return rs_error_set(NULL, STORE_EBUSY, "%s: the file was removed or replaced while "
                            "it was being opened", p->path);
    struct rs_file *f = calloc(1, sizeof *f);
    if (!f) {
        if (p->made_file && !flock(fd, LOCK_EX | LOCK_NB)) /* nobody else has it */
            unlink(p->path);
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", p->path);
    }
    *f = (struct rs_file){.dev = st->st_dev, .ino = st->st_ino, .fd = fd, .rw = !ro,
                          .refs = 1, .next = files};
    pthread_mutex_init(&f->use, NULL);
    if (ro)
        pthread_mutex_lock(&f->use);
    files = f;
    p->file = f;
    p->fd = fd;
    return STORE_OK;
}

/*
 * Takes P->path's entry: a new one (*FIRST set; see add_file()), or, for a read-only P, the
 * entry of a file already open read-only in this process, whose environment P then shares.
 */
static int take_file(struct rs_persist *p, bool *first)
{
    bool ro = p->flags & STORE_OPEN_READONLY;
    int fd;
    struct stat st;
    pthread_once(&files_once, register_fork_handlers);
    for (;;) {
        /* The descriptor is opened under files_lock, which fork() waits for (fork_prepare()):
         * a child forked between the open and the registration would get a copy no handler
         * knows of, and that copy would keep the flock taken next. */
        pthread_mutex_lock(&files_lock);
        int rc = open_regular(p, &fd, &st);
        if (rc) {
            pthread_mutex_unlock(&files_lock);
            return rc;
        }
        struct rs_file *f = find_file(&st);
        if (!f || (f->rw || !ro)) {
            rc = f ? rs_error_set(NULL, STORE_EBUSY, "%s: the file is open elsewhere: by a "
                                  "%s store of this process", p->path,
                                  f->rw ? "read-write" : "read-only")
                   : add_file(p, fd, &st);
            if (rc)
                close(fd); /* under the lock: it may hold locks (see file_release()) */
            pthread_mutex_unlock(&files_lock);
            *first = !rc;
            return rc;
        }
        f->refs++;
        pthread_mutex_unlock(&files_lock);
        pthread_mutex_lock(&f->use); /* wait for its first opener */
        bool open = f->env != NULL;
        pthread_mutex_unlock(&f->use);
        if (open) {
            close(fd); /* the entry's descriptor holds the locks for both */
            p->file = f;
            p->fd = f->fd;
            *first = false;
            return STORE_OK;
        }
        file_release(f); /* its first opener failed and took it out: try afresh */
    }
}

/*
 * The first opener of P's entry: checks the file's meta pages and page tree, then opens the
 * environment; a read-only one is published in the entry for others to share, or on failure
 * the entry leaves the registry (so that waiting openers try afresh).
 */
static int open_first(struct rs_persist *p)
{
    bool ro = p->flags & STORE_OPEN_READONLY, fresh = false;
    int rc = check_size(p->path, p->fd, &fresh, !ro, !ro); /* read-only: see begin_read() */
    if (!rc && fresh && ro)
        rc = rs_error_set(NULL, STORE_EINVAL, "%s: an empty file cannot be opened read-only",
                          p->path);
    if (ro && p->maxdbs < SHARED_MAXDBS)
        p->maxdbs = SHARED_MAXDBS;
    if (!rc)
        rc = rs_file_env_open(NULL, p);
    if (!rc && ro)
        rc = lock_reader(p);
    if (ro) {
        p->file->env = p->env;
        p->file->maxdbs = p->maxdbs;
        if (rc) {
            pthread_mutex_lock(&files_lock);
            unlink_file(p->file);
            pthread_mutex_unlock(&files_lock);
        }
        pthread_mutex_unlock(&p->file->use);
    }
    return rc;
}

/* A read-only P joins its entry's environment, if it has room for P's databases. */
static int join_env(struct rs_persist *p)
{
    if (p->maxdbs > p->file->maxdbs)
        return rs_error_set(NULL, STORE_EBUSY, "%s: the file is open read-only in this process "
                            "with room for %u databases; this schema needs %u", p->path,
                            p->file->maxdbs, p->maxdbs);
    p->env = p->file->env;
    p->maxdbs = p->file->maxdbs;
    MDB_envinfo info;
    pthread_mutex_lock(&p->file->use); /* begin_read() may be remapping the environment */
    if (!mdb_env_info(p->env, &info))
        p->map_size = info.me_mapsize;
    pthread_mutex_unlock(&p->file->use);
    return STORE_OK;
}

/* Attaches P to its file: descriptors 0-2 held, the entry taken, the environment open. On
 * failure the caller still releases P (detach()). */
static int attach(struct rs_persist *p)
{
    int held = hold_std_fds();
    bool first = false;
    int rc = take_file(p, &first);
    if (!rc && !p->real_path && !(p->real_path = realpath(p->path, NULL)) && errno == ENOMEM)
        rc = rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", p->path);
    if (!rc)
        rc = first ? open_first(p) : join_env(p);
    release_std_fds(held);
    return rc;
}

/* Detaches P from its file: a read-write P's own environment first, then the entry. */
static void detach(struct rs_persist *p)
{
    if (p->env && !(p->flags & STORE_OPEN_READONLY))
        mdb_env_close(p->env);
    p->env = NULL;
    if (p->file)
        file_release(p->file);
    p->file = NULL;
    p->fd = -1;
}

/* ---- The meta pages ----------------------------------------------------------------------- */

/*
 * Reads the first meta page of FD (PATH), or the SECOND, which lies at the first's page size
 * *PSIZE, into M, and sets *PSIZE, *LAST and *TXNID from it. STORE_ECORRUPT unless it is an
 * LMDB meta page of the data version relstore reads, with a sound page size (the second:
 * the first's; LMDB refuses a file whose second meta page is damaged, we do it without a
 * signal).
 */
static int read_meta(const char *path, int fd, bool second, uint8_t m[RS_MDB_META_END],
                     uint32_t *psize, uint64_t *last, uint64_t *txnid)
{
    off_t off = second ? (off_t)*psize : 0;
    bool ok = pread(fd, m, RS_MDB_META_END, off) == RS_MDB_META_END &&
              rs_mdb_u32(m + RS_MDB_META_MAGIC) == RS_MDB_MAGIC &&
              rs_mdb_u32(m + RS_MDB_META_VERSION) == RS_MDB_DATA_VERSION;
    uint32_t ps = ok ? rs_mdb_u32(m + RS_MDB_META_PSIZE) : 0;
    ok = ok && ps >= RS_MDB_PSIZE_MIN && ps <= RS_MDB_PSIZE_MAX && !(ps & (ps - 1)) &&
         (!second || ps == *psize);
    if (!ok && second)
        return rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: the second meta page", path);
    if (!ok)
        return rs_error_set(NULL, STORE_ECORRUPT, "%s: not a relstore file (no LMDB meta page)",
                            path);
    *psize = ps;
    *last = rs_mdb_u64(m + RS_MDB_META_LAST_PG);
    *txnid = rs_mdb_u64(m + RS_MDB_META_TXNID);
    return STORE_OK;
}

/*
 * D2: the page tree the newest meta page reaches must be sound and lie inside the file
 * (persist/pagecheck.c; a truncated file would give SIGBUS where LMDB touches its missing
 * pages). Otherwise ECORRUPT. The file may still end before the last page the meta names:
 * pages a transaction allocated and freed again are never written, so a process that dies
 * between a commit and the extension that follows it (rs_file_extend()) leaves such a file.
 * Nothing reaches those pages; when PAD, the file is extended with zeros to cover them
 * before LMDB opens it (a read-only open leaves the file as it is). Without TREE, only the
 * meta pages and the size: a read-only open walks the tree later (begin_read()).
 */
static int check_size(const char *path, int fd, bool *fresh, bool pad, bool tree)
{
    struct stat st;
    if (fstat(fd, &st))
        return rs_error_set(NULL, STORE_EIO, "%s: %s", path, strerror(errno));
    *fresh = st.st_size == 0;
    if (*fresh)
        return STORE_OK;
#ifdef RS_PLANT_NO_SIZE_CHECK
    (void)pad;
    return STORE_OK; /* planted bug (tools/planted.sh): LMDB maps whatever the file is */
#endif
    uint8_t m0[RS_MDB_META_END], m1[RS_MDB_META_END];
    uint32_t ps0 = 0;
    uint64_t last0, last1, tx0, tx1;
    int rc = read_meta(path, fd, false, m0, &ps0, &last0, &tx0);
    if (!rc)
        rc = read_meta(path, fd, true, m1, &ps0, &last1, &tx1);
    if (rc)
        return rc;
    bool newer = tx1 > tx0;
    uint64_t last = newer ? last1 : last0;
    /* Every page LMDB uses lies inside its map: a last page past the map is damage, never a
     * reason to pad the file (a flipped high byte would ask for exabytes). */
    uint64_t map = rs_mdb_u64((newer ? m1 : m0) + RS_MDB_META_MAPSIZE);
    if (last > (uint64_t)INT64_MAX / ps0 - 1 || (map && last >= map / ps0))
        return rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: a last page of %llu", path,
                            (unsigned long long)last);
    rc = tree ? rs_pagecheck_file(fd, path, (uint64_t)st.st_size, ps0, newer ? m1 : m0,
                                  newer ? m0 : m1)
              : STORE_OK;
    if (rc)
        return rc;
    off_t need = (off_t)((last + 1) * ps0);
    if (pad && st.st_size < need && ftruncate(fd, need))
        return rs_error_set(NULL, io_code(errno), "%s: extending to %lld bytes: %s", path,
                            (long long)need, strerror(errno));
    return STORE_OK;
}

int rs_file_extend(const store *db, struct rs_persist *p, bool committed)
{
    MDB_envinfo info;
    MDB_stat stat;
    struct stat st;
    if (mdb_env_info(p->env, &info) || mdb_env_stat(p->env, &stat) || fstat(p->fd, &st))
        return rs_error_set(db, STORE_EIO, "%s: cannot read the file's size", p->path);
    off_t need = (off_t)(info.me_last_pgno + 1) * stat.ms_psize;
    if (st.st_size >= need || !ftruncate(p->fd, need))
        return STORE_OK;
    if (committed)
        return rs_error_set(db, io_code(errno), "%s: snapshot %llu is committed, but extending "
                            "the file to %lld bytes failed: %s; the next snapshot does it "
                            "first", p->path, (unsigned long long)p->generation,
                            (long long)need, strerror(errno));
    return rs_error_set(db, io_code(errno), "%s: extending the file to %lld bytes, which the "
                        "last snapshot left short: %s", p->path, (long long)need,
                        strerror(errno));
}

/* ---- The environment ---------------------------------------------------------------------- */

static int env_open(const store *errdb, struct rs_persist *p);

int rs_file_env_open(const store *errdb, struct rs_persist *p)
{
    int held = hold_std_fds(); /* D9, also when a snapshot reopens a broken environment */
    int rc = env_open(errdb, p);
    release_std_fds(held);
    return rc;
}

/*
 * LMDB opens PATH-lock and would block on a FIFO there; refuses anything irregular. Notes
 * in P->made_lock whether it is missing, so LMDB makes it for this open.
 */
static int check_lock_file(const store *errdb, struct rs_persist *p)
{
    char *lock = lock_path(lmdb_path(p));
    if (!lock)
        return rs_error_set(errdb, STORE_ENOMEM, "%s: out of memory", p->path);
    struct stat st;
    p->made_lock = lstat(lock, &st) && errno == ENOENT;
    int rc = check_kind(errdb, lock);
    free(lock);
    return rc;
}

static int env_open(const store *errdb, struct rs_persist *p)
{
    int rc = check_lock_file(errdb, p);
    if (rc)
        return rc;
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS;
    if (p->flags & STORE_OPEN_READONLY)
        flags |= MDB_RDONLY;
    if (p->flags & STORE_OPEN_NOSYNC)
        flags |= MDB_NOSYNC;
#ifdef RS_PLANT_NO_SYNC
    flags |= MDB_NOSYNC; /* planted bug (tools/planted.sh): never sync */
#endif
    rc = mdb_env_create(&p->env);
    if (rc)
        return rs_file_mdb_error_at(errdb, p->path, rc, "creating the environment");
    rc = mdb_env_set_mapsize(p->env, p->map_size);
    if (!rc)
        rc = mdb_env_set_maxdbs(p->env, p->maxdbs);
    if (!rc)
        rc = mdb_env_open(p->env, lmdb_path(p), flags, 0644);
    if (rc) {
        rc = rs_file_mdb_error_at(errdb, p->path, rc, "opening");
        goto close_env;
    }
    MDB_envinfo info;
    if (!mdb_env_info(p->env, &info) && info.me_mapsize > p->map_size) /* a file keeps its map */
        __atomic_store_n(&p->map_size, info.me_mapsize, __ATOMIC_RELAXED);
    /* Freeing the slots of dead readers is best effort, but a failed allocation fails the
     * open like any other (R7); the environment is closed again. */
    int dead;
    rc = mdb_reader_check(p->env, &dead);
    if (rc == ENOMEM) {
        rc = rs_file_mdb_error_at(errdb, p->path, rc, "checking for dead readers");
        goto close_env;
    }
    return STORE_OK;
close_env:
    mdb_env_close(p->env);
    p->env = NULL;
    return rc;
}

/* ---- The catalog ------------------------------------------------------------------------------ */

/*
 * Reads and decodes the catalog in TXN into *CAT (the caller frees it), *FOUND set; or, when
 * the file has none and is empty (a new store), *FOUND cleared and *CAT untouched. STORE_OK
 * or a code with the detail in store_errmsg(NULL).
 */
static int read_catalog(const struct rs_persist *p, MDB_txn *txn, rs_catalog *cat, bool *found)
{
    MDB_dbi dbi;
    MDB_val key = {.mv_size = strlen(RS_CATALOG_KEY), .mv_data = RS_CATALOG_KEY}, val;
    int rc = mdb_dbi_open(txn, RS_CATALOG_DB, 0, &dbi);
    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        rc = mdb_stat(txn, 1, &st); /* the main database: empty in a new file */
        if (rc)
            return rs_file_mdb_error_at(NULL, p->path, rc, "reading the catalog");
        if (st.ms_entries)
            return rs_error_set(NULL, STORE_ECORRUPT, "%s: not a relstore file (no catalog)",
                                p->path);
        *found = false;
        return STORE_OK;
    }
    if (!rc)
        rc = mdb_get(txn, dbi, &key, &val);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
        return rs_error_set(NULL, STORE_ECORRUPT, "%s: no catalog", p->path);
    if (rc)
        return rs_file_mdb_error_at(NULL, p->path, rc, "reading the catalog");
    rc = rs_catalog_decode(cat, val.mv_data, val.mv_size); /* the detail names no path */
    if (rc)
        return rc;
    *found = true;
    return STORE_OK;
}

/*
 * Marks every object of M changed, so that the next snapshot writes it: M gained fields
 * since the file was written, and the values they took on load (their defaults) must be
 * saved, or a later change of default would change objects nobody touched.
 */
static void rewrite_all(store_model *m)
{
    uint64_t pos = 0;
    for (store_obj *o; (o = rs_arena_scan(&m->arena, &pos));)
        rs_obj_mark_dirty(o);
}

/* Takes the file's figures from CAT; notes whether the schema has moved on from it. */
static void adopt(store *db, struct rs_persist *p, const rs_catalog *cat)
{
    p->generation = cat->generation;
    p->format = cat->version;
    p->time_ns = cat->time_ns;
    p->log = cat->log;
    for (uint32_t i = 0; i < db->nmodels; i++) {
        const rs_cat_model *cm = rs_catalog_model(cat, db->models[i].name);
        p->state[i] = (rs_cat_state){.next_id = cm ? cm->next_id : 1,
                                     .count = cm ? cm->count : 0,
                                     .hsum = cm ? cm->hsum : 0};
        /* A model or field the file lacks means the catalog must be written again. */
        if (!cm || cm->nfields != db->models[i].nfields)
            p->stale = true;
        if (cm && cm->nfields != db->models[i].nfields && !(p->flags & STORE_OPEN_READONLY))
            rewrite_all(&db->models[i]);
    }
    if (cat->nmodels != db->nmodels)
        p->stale = true;
}

/* ---- The loader's source: databases of an LMDB read transaction (persist/kv.h) ------------ */

/* The source: a read transaction, and the file's path for the details. */
typedef struct lmdb_source {
    MDB_txn *txn;
    const char *path;
} lmdb_source;

typedef struct lmdb_walk {
    MDB_cursor *cur;
    const char *path;
    bool started;
} lmdb_walk;

static int kv_open(void *ctx, const char *name, size_t *count, void **cursor)
{
    const lmdb_source *src = ctx;
    MDB_dbi dbi;
    MDB_stat st;
    int rc = mdb_dbi_open(src->txn, name, MDB_INTEGERKEY, &dbi);
    if (rc == MDB_NOTFOUND)
        return 1; /* persist/kv.h: no such database */
    if (rc == MDB_INCOMPATIBLE)
        return rs_error_set(NULL, STORE_ECORRUPT, "%s: not a database of relstore", name);
    if (!rc)
        rc = mdb_stat(src->txn, dbi, &st);
    if (rc)
        return rs_file_mdb_error_at(NULL, src->path, rc, "reading a database");
    lmdb_walk *w = calloc(1, sizeof *w);
    if (!w)
        return rs_error_set(NULL, STORE_ENOMEM, "out of memory loading");
    rc = mdb_cursor_open(src->txn, dbi, &w->cur);
    if (rc) {
        free(w);
        return rs_file_mdb_error_at(NULL, src->path, rc, "reading a database");
    }
    w->path = src->path;
    *count = st.ms_entries;
    *cursor = w;
    return STORE_OK;
}

static int kv_next(void *cursor, const void **key, size_t *klen, const void **val,
                   size_t *vlen)
{
    lmdb_walk *w = cursor;
    MDB_val k, v;
    int rc = mdb_cursor_get(w->cur, &k, &v, w->started ? MDB_NEXT : MDB_FIRST);
    w->started = true;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rs_file_mdb_error_at(NULL, w->path, rc, "reading a database");
    *key = k.mv_data;
    *klen = k.mv_size;
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 1;
}

static void kv_close(void *cursor)
{
    lmdb_walk *w = cursor;
    mdb_cursor_close(w->cur);
    free(w);
}

static int load_txn(store *db, struct rs_persist *p);

/* Loads DB from P's file; one such read transaction at a time per environment. */
static int load(store *db, struct rs_persist *p)
{
    pthread_mutex_lock(&p->file->use);
    int rc = load_txn(db, p);
    pthread_mutex_unlock(&p->file->use);
    return rc;
}

/* A meta page naming a later transaction than the catalog its tree holds was damaged: LMDB
 * would be opening an older snapshot than the newest. (A compacted copy names an earlier
 * one: that is fine, the tree is the snapshot copied.) The meta page is the one TXN reads:
 * a writer in another process may have committed others since. */
static int check_txnid(const struct rs_persist *p, MDB_txn *txn, const rs_catalog *cat)
{
    size_t id = mdb_txn_id(txn);
    if (id <= cat->txnid)
        return STORE_OK;
    return rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: the newest meta page names "
                        "transaction %zu, its snapshot was written by %llu", p->path, id,
                        (unsigned long long)cat->txnid);
}

/*
 * For a read-only P, D2 on the snapshot TXN pins: the meta page naming TXN's transaction,
 * read with pread, and the page tree it reaches (rs_pagecheck_file()), which LMDB will not
 * reuse while TXN lives, whatever a writer in another process commits meanwhile. Without a
 * live writer the other meta page must not hide a newer snapshot, as for a read-write open;
 * with one, the other meta page is the writer's to change and is left alone. *MOVED when
 * neither meta page names TXN's transaction any more (a writer committed twice since TXN
 * began): the caller begins again.
 */
static int check_pinned(const struct rs_persist *p, MDB_txn *txn, bool *moved)
{
    uint8_t m[2][RS_MDB_META_END];
    uint32_t ps = 0;
    uint64_t last[2], id[2];
    int rc = read_meta(p->path, p->fd, false, m[0], &ps, &last[0], &id[0]);
    if (!rc)
        rc = read_meta(p->path, p->fd, true, m[1], &ps, &last[1], &id[1]);
    if (rc)
        return rc;
    uint64_t want = mdb_txn_id(txn);
    int at = id[0] == want ? 0 : id[1] == want ? 1 : -1;
    *moved = at < 0;
    if (at < 0)
        return STORE_OK;
    struct stat st;
    if (fstat(p->fd, &st))
        return rs_error_set(NULL, STORE_EIO, "%s: %s", p->path, strerror(errno));
    /* The other meta page can hide a newer snapshot only if it names an older transaction
     * (one naming a newer one was committed after TXN began), and only without a writer,
     * who may be rewriting it and its tree. */
    bool other = id[!at] < want && !writer_live(p->fd);
    rc = rs_pagecheck_file(p->fd, p->path, (uint64_t)st.st_size, ps, m[at],
                           other ? m[!at] : NULL);
    /* A writer that started during the walk may have been rewriting the other meta's tree. */
    if (rc == STORE_ECORRUPT && other && writer_live(p->fd))
        rc = rs_pagecheck_file(p->fd, p->path, (uint64_t)st.st_size, ps, m[at], NULL);
    /* The meta page walked must still be the one read: a writer that committed twice since
     * TXN began rewrites it in place, and the pread may have caught it halfway. */
    uint8_t again[RS_MDB_META_END];
    if (pread(p->fd, again, sizeof again, at ? (off_t)ps : 0) != (ssize_t)sizeof again ||
        memcmp(again, m[at], sizeof again))
        *moved = true;
    return *moved ? STORE_OK : rc;
}

/* Tries at beginning a read-only open's checked read before STORE_EBUSY: a writer would have
 * to commit twice between each begin and its pread of the meta pages, every time. */
enum { PINNED_TRIES = 1000 };

/*
 * Begins a read transaction on P's environment into *TXN, the entry's USE lock held. A map
 * the writer of another process has grown since the environment opened (MDB_MAP_RESIZED) is
 * adopted and the read begun again. For a read-only P, the snapshot's page tree is checked
 * first (check_pinned()): nothing is read through LMDB before. STORE_OK or a code with the
 * detail; on failure no transaction is left.
 */
static int begin_read(struct rs_persist *p, MDB_txn **txn)
{
    for (int tries = 0; tries < PINNED_TRIES; tries++) {
        int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, txn);
        /* The entry's USE lock is held, which every use of a shared environment takes (a
         * load, a schema read, joining it, a backup): no transaction of it is live. */
        if (rc == MDB_MAP_RESIZED && !(rc = mdb_env_set_mapsize(p->env, 0)))
            continue;
        if (rc)
            return rs_file_mdb_error_at(NULL, p->path, rc, "beginning a read");
        if (!(p->flags & STORE_OPEN_READONLY))
            return STORE_OK;
        bool moved;
        rc = check_pinned(p, *txn, &moved);
        if (!rc && !moved)
            return STORE_OK;
        mdb_txn_abort(*txn);
        *txn = NULL;
        if (rc)
            return rc;
    }
    return rs_error_set(NULL, STORE_EBUSY, "%s: the file's writer commits faster than a read "
                        "can begin", p->path);
}

/* Reads the catalog, checks it against DB's schema and loads the objects, in one read
 * transaction; a new file (no catalog) leaves DB empty and P stale. */
static int load_txn(store *db, struct rs_persist *p)
{
    MDB_txn *txn;
    int rc = begin_read(p, &txn);
    if (rc)
        return rc;
    rs_catalog cat;
    bool found;
    rc = read_catalog(p, txn, &cat, &found);
    if (rc)
        goto abort_txn;
    if (!found) {
        p->stale = true; /* the first snapshot writes the catalog */
        goto abort_txn;
    }
    lmdb_source src = {.txn = txn, .path = p->path};
    rs_kv kv = {.ctx = &src, .open = kv_open, .next = kv_next, .close = kv_close};
    rc = rs_catalog_apply(db, &cat);
    if (!rc)
        rc = check_txnid(p, txn, &cat);
    if (!rc)
        rc = rs_load_store(db, &kv, &cat);
    if (!rc)
        adopt(db, p, &cat);
    rs_catalog_free(&cat);
abort_txn:
    mdb_txn_abort(txn);
    return rc;
}

/* A schema that declares what catalog CAT records, in *OUT. */
static int schema_of(const rs_catalog *cat, store_schema **out)
{
    store_schema *s = calloc(1, sizeof *s);
    if (!s)
        return rs_error_set(NULL, STORE_ENOMEM, "out of memory");
    int rc;
    for (uint32_t i = 0; i < cat->nmodels; i++) {
        const rs_cat_model *cm = &cat->models[i];
        store_field *fields = calloc(cm->nfields + cm->nm2m + 1, sizeof *fields);
        if (!fields) {
            rc = rs_error_set(NULL, STORE_ENOMEM, "out of memory");
            goto free_schema;
        }
        for (uint32_t j = 0; j < cm->nfields; j++) {
            const rs_cat_field *cf = &cm->fields[j];
            fields[j] = (store_field){
                .name = cf->name, .type = (store_type)cf->type, .max_length = cf->max_length,
                .to = cf->to, .related_name = cf->related_name,
                .on_delete = (store_on_delete)cf->on_delete, .null = cf->flags & RS_CAT_NULL,
                .unique = cf->flags & RS_CAT_UNIQUE, .index = cf->flags & RS_CAT_INDEX,
                .ordered = cf->flags & RS_CAT_ORDERED, .default_value = cf->dflt};
        }
        for (uint32_t k = 0; k < cm->nm2m; k++) { /* its through model is in the file */
            const rs_cat_field *cf = &cm->m2m[k];
            fields[cm->nfields + k] = (store_field){
                .name = cf->name, .type = STORE_M2M, .to = cf->to,
                .related_name = cf->related_name,
                .through = cat->models[cf->max_length].name};
        }
        rc = rs_schema_add(s, cm->name, fields);
        free(fields);
        if (rc)
            goto free_schema;
    }
    *out = s;
    return STORE_OK;
free_schema:
    rs_schema_free(s);
    return rc;
}

/*
 * After a failed open: removes PATH-lock if LMDB made it for this open, and the data file
 * if this open made it, but only while P holds the file alone: its one user in this process,
 * and able to make the users' flock exclusive (every other opener holds it shared). A file
 * some other opener shares is left as it is.
 */
static void remove_made(struct rs_persist *p)
{
    if (!p->file || !(p->made_lock || p->made_file))
        return;
    pthread_mutex_lock(&files_lock);
    bool alone = p->file->refs == 1 && p->file->fd >= 0 &&
                 !flock(p->file->fd, LOCK_EX | LOCK_NB);
    char *lock = alone && p->made_lock ? lock_path(lmdb_path(p)) : NULL;
    if (lock)
        unlink(lock);
    if (alone && p->made_file)
        unlink(p->path);
    pthread_mutex_unlock(&files_lock);
    free(lock);
}

/*
 * Refuses an LMDB library of another series than the one whose file format relstore knows
 * (persist/lmdb_format.h): the meta check and the page walk read LMDB's pages themselves, so
 * under a library that lays them out otherwise they would refuse sound files as damaged, or
 * pass damage to it unchecked. The library asked is the one loaded, which may not be the one
 * relstore was built against. Any patch level of 0.9 is accepted: LMDB keeps one data format
 * across the series (the data version, which read_meta() checks in every file, is 1 in all
 * of 0.9) and its patch releases fix bugs, so a bound on the patch would refuse the fixes
 * distributions ship (Debian bookworm has 0.9.24, later releases later 0.9.x) and guard
 * nothing. Touches no file. STORE_ENOTSUP: the fault lies in the system below the store, not
 * in the arguments or the file.
 */
static int check_lmdb(const char *path)
{
    int major = -1, minor = -1, patch = -1;
    mdb_version(&major, &minor, &patch);
    if (major == RS_MDB_FORMAT_MAJOR && minor == RS_MDB_FORMAT_MINOR)
        return STORE_OK;
    return rs_error_set(NULL, STORE_ENOTSUP, "%s: LMDB %d.%d.%d is not supported: relstore's page "
                        "check knows the on-disk format of LMDB %d.%d only", path, major, minor,
                        patch, RS_MDB_FORMAT_MAJOR, RS_MDB_FORMAT_MINOR);
}

static void persist_free(struct rs_persist *p)
{
    detach(p); /* the last user's close releases the locks */
    pthread_mutex_destroy(&p->snap);
    pthread_mutex_destroy(&p->tick_lock);
    pthread_cond_destroy(&p->tick);
    free(p->state);
    free(p->path);
    free(p->real_path);
    free(p);
}

static int persist_new(store *db, const char *path, const store_options *opts,
                       struct rs_persist **out)
{
    struct rs_persist *p = calloc(1, sizeof *p);
    if (!p)
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", path);
    p->fd = -1;
    pthread_mutex_init(&p->snap, NULL);
    pthread_mutex_init(&p->tick_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->tick, &ca);
    pthread_condattr_destroy(&ca);
    size_t n = strlen(path) + 1;
    p->path = malloc(n);
    p->state = calloc(db->nmodels ? db->nmodels : 1, sizeof *p->state);
    if (!p->path || !p->state) {
        persist_free(p);
        return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory", path);
    }
    memcpy(p->path, path, n);
    p->pid = getpid();
    p->maxdbs = db->nmodels + 2; /* each model, the catalog and the change log */
    p->flags = opts ? opts->flags : 0;
    p->durability = opts ? opts->durability : STORE_DURABLE_MANUAL;
    p->interval_ms = opts && opts->interval_ms ? opts->interval_ms : 1000;
    p->map_max = opts && opts->map_max ? opts->map_max : DEFAULT_MAP_MAX;
    p->map_size = opts && opts->map_size ? opts->map_size : DEFAULT_MAP;
    if (p->map_size > p->map_max)
        p->map_size = p->map_max;
    for (uint32_t i = 0; i < db->nmodels; i++)
        p->state[i].next_id = 1;
    *out = p;
    return STORE_OK;
}

int rs_file_open(store *db, const char *path, const store_options *opts)
{
    struct rs_persist *p = NULL;
    int rc = check_lmdb(path);
    if (rc)
        return rc;
    rc = persist_new(db, path, opts, &p);
    if (rc)
        return rc;
    rc = attach(p);
    if (rc)
        goto free_persist;
    rc = load(db, p);
    if (rc)
        goto free_persist;
    db->persist = p;
    if (p->durability == STORE_DURABLE_INTERVAL && !(p->flags & STORE_OPEN_READONLY)) {
        rc = rs_durable_start(db);
        if (rc)
            goto detach_db;
    }
    return STORE_OK;
detach_db:
    db->persist = NULL;
free_persist:
    remove_made(p); /* the files this open made, while it holds them alone */
    persist_free(p);
    return rc;
}

int rs_file_close(store *db)
{
    struct rs_persist *p = db->persist;
    if (getpid() != p->pid) {
        /* A forked child: the environment, the lock and the thread are the parent's. */
        db->persist = NULL;
        p->env = NULL;
        p->ticking = false;
        persist_free(p);
        return rs_error_set(db, STORE_EFORK, "store_close: called from a forked child");
    }
    rs_durable_stop(p);
    int rc = p->flags & STORE_OPEN_READONLY ? STORE_OK : rs_snapshot_write(db);
    db->persist = NULL;
    persist_free(p);
    return rc;
}

bool rs_file_each_write(const store *db)
{
    return db->persist->durability == STORE_DURABLE_EACH_WRITE;
}

void rs_file_stat(const store *db, store_stats *st)
{
    const struct rs_persist *p = db->persist;
    if (!p)
        return;
    st->generation = p->generation;
    st->snapshot_time_ns = p->time_ns;
    st->last_written = p->last_written;
    st->last_deleted = p->last_deleted;
    st->last_bytes = p->last_bytes;
    st->map_size = __atomic_load_n(&p->map_size, __ATOMIC_RELAXED);
    st->log_entries = (size_t)p->log.count;
    st->last_error = __atomic_load_n(&p->last_error, __ATOMIC_RELAXED);
    st->format_version = p->format ? p->format : RS_FORMAT_VERSION;
}

/* Reads the catalog of P's file into *CAT; P's entry's USE lock held by the caller. */
static int read_file_catalog(struct rs_persist *p, rs_catalog *cat)
{
    MDB_txn *txn;
    int rc = begin_read(p, &txn);
    if (rc)
        return rc;
    bool found;
    rc = read_catalog(p, txn, cat, &found);
    mdb_txn_abort(txn);
    if (!rc && !found)
        rc = rs_error_set(NULL, STORE_EINVAL, "%s: the file records no schema yet", p->path);
    return rc;
}

int rs_file_read_schema(const char *path, store_schema **out)
{
    /* Through the registry like any read-only open: never a second environment. */
    struct rs_persist p = {.fd = -1, .path = (char *)path, .flags = STORE_OPEN_READONLY,
                           .map_size = DEFAULT_MAP, .map_max = DEFAULT_MAP_MAX, .maxdbs = 2};
    rs_catalog cat;
    int rc = check_lmdb(path);
    if (rc)
        return rc;
    rc = attach(&p);
    if (rc)
        goto detach_file;
    pthread_mutex_lock(&p.file->use);
    rc = read_file_catalog(&p, &cat);
    pthread_mutex_unlock(&p.file->use);
    if (rc)
        goto detach_file;
    rc = schema_of(&cat, out);
    rs_catalog_free(&cat);
    if (rc)
        goto detach_file;
    detach(&p);
    free(p.real_path);
    return STORE_OK;
detach_file:
    remove_made(&p); /* the files this open made, while it holds them alone */
    detach(&p);
    free(p.real_path);
    return rc;
}

int rs_file_share_begin(const store *db, struct rs_persist *p)
{
    if (!(p->flags & STORE_OPEN_READONLY))
        return STORE_OK;
    pthread_mutex_lock(&p->file->use);
    if (!writer_live(p->fd))
        return STORE_OK;
    pthread_mutex_unlock(&p->file->use);
    return rs_error_set(db, STORE_EBUSY, "%s: a writer in another process has the file: back "
                        "it up through that store (a read-only store holds the snapshot of "
                        "its open, the file a newer one)", p->path);
}

void rs_file_share_end(struct rs_persist *p)
{
    if (p->flags & STORE_OPEN_READONLY)
        pthread_mutex_unlock(&p->file->use);
}
