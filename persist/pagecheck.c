/*
 * persist/pagecheck.c - D2: walk LMDB's page tree with pread before LMDB maps the file.
 *
 * LMDB 0.9 trusts its file: a damaged branch page sends it to a wild page number, a damaged
 * node length makes it read past a page, and a truncated file gives SIGBUS. Before
 * mdb_env_open, this walk reads every page the newest meta page reaches (the free-page tree,
 * the main tree, and every named database it lists) and checks what LMDB will rely on:
 *
 *   - each page lies inside the file and at or below the meta's last page, and is reached
 *     once; its header names its own number and a page kind that fits where it is reached
 *     (branch above, leaf at depth 1, overflow pages where a leaf says so);
 *   - lower and upper bounds are ordered and inside the page, every node pointer and every
 *     node (header, key, inline data) lies between upper and the page's end;
 *   - a branch node's child is a page of the file; an overflow run lies inside the file and
 *     is long enough for its data; a sub-database record is 48 bytes and its tree is walked
 *     in turn; no node uses sorted duplicates (relstore never does);
 *   - the free-page lists hold page numbers no greater than the last page.
 * Pages nothing reaches may lie past the file's end (persist/file.c says when).
 *
 * LMDB opens the meta page with the larger transaction id, and a meta page has no checksum:
 * a damaged id on the newest could make LMDB open the older snapshot, silently. So both
 * meta pages' trees are searched for their catalogs: if the other one holds a later
 * generation (our own count of snapshots, which unlike LMDB's transaction ids survives a
 * compacted copy) than the one LMDB would open, the file is damaged.
 *
 * Any failure is STORE_ECORRUPT: the file is never handed to LMDB. What is inside records
 * (our bytes) is checked later by their checksums. Reads only; the memory is one page and a
 * bitmap of the file's pages.
 *
 * The layout is LMDB 0.9's on 64-bit Linux (8-byte page numbers and sizes):
 *   page header  0 pgno (8) | 8 pad (2) | 10 flags (2) | 12 lower (2) | 14 upper (2),
 *                overflow pages: 12 number of pages (4); node pointers from 16 (2 each)
 *   node         0 lo (2) | 2 hi (2) | 4 flags (2) | 6 key size (2) | 8 key, then data;
 *                branch child = lo | hi << 16 | flags << 32; leaf data size = lo | hi << 16
 *   database     40 root page (8), 6 depth (2); meta page: 40 free db, 88 main db, 136 last
 *                page, 144 txnid
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist/catalog.h"
#include "persist/internal.h"
#include "store/error.h"

enum {
    P_BRANCH = 0x01,
    P_LEAF = 0x02,
    P_OVERFLOW = 0x04,
    P_LEAF2 = 0x20,
    F_BIGDATA = 0x01,
    F_SUBDATA = 0x02,
    F_DUPDATA = 0x04,
    HDR = 16,
    NODE = 8,
    DB_SIZE = 48,
    MDB_INTKEY = 0x08, /* MDB_INTEGERKEY in a database record's flags */
    MAX_DEPTH = 32,
};
#define P_INVALID (~(uint64_t)0)

typedef struct walk {
    int fd;
    const char *path;
    uint32_t psize;
    uint64_t pages; /* pages the file holds (and the meta allows) */
    uint64_t last;  /* the meta's last page: free pages may lie past the file's end */
    uint8_t *seen;  /* one bit per page */
    uint8_t *buf;   /* one page */
    const char *why;
    bool oom; /* an allocation failed: the answer is STORE_ENOMEM, whatever the walk says */
} walk;

static uint16_t u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int bad(walk *w, const char *why)
{
    w->why = why;
    return -1;
}

static int out_of_memory(walk *w)
{
    w->oom = true;
    return bad(w, "out of memory");
}

/* Reads page PGNO into w->buf, marking it seen; -1 if outside the file or seen before. */
static int read_page(walk *w, uint64_t pgno)
{
    if (pgno < 2 || pgno >= w->pages)
        return bad(w, "a page number outside the file");
    if (w->seen[pgno / 8] & (1u << (pgno % 8)))
        return bad(w, "a page reached twice");
    w->seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
    if (pread(w->fd, w->buf, w->psize, (off_t)(pgno * w->psize)) != (ssize_t)w->psize)
        return bad(w, "a page cannot be read");
    if (u64(w->buf) != pgno)
        return bad(w, "a page does not carry its own number");
    return 0;
}

/* Marks the overflow run at PGNO, which must hold SIZE bytes of data. */
static int check_overflow(walk *w, uint64_t pgno, uint64_t size)
{
    uint8_t head[HDR];
    if (pgno < 2 || pgno >= w->pages ||
        pread(w->fd, head, HDR, (off_t)(pgno * w->psize)) != HDR)
        return bad(w, "an overflow page outside the file");
    uint32_t n = u32(head + 12);
    if (u64(head) != pgno || !(u16(head + 10) & P_OVERFLOW) || n == 0 || n > w->pages - pgno ||
        (uint64_t)n * w->psize < size + HDR)
        return bad(w, "a damaged overflow page");
    for (uint64_t p = pgno; p < pgno + n; p++) {
        if (w->seen[p / 8] & (1u << (p % 8)))
            return bad(w, "a page reached twice");
        w->seen[p / 8] |= (uint8_t)(1u << (p % 8));
    }
    return 0;
}

static int walk_tree(walk *w, uint64_t root, unsigned depth, bool free_db, bool intkey);

/* A free-page list: a count, then that many page numbers, none a meta page or past the last
 * page (a page freed in the transaction that allocated it may lie past the file's end). */
static int check_idl(walk *w, const uint8_t *data, uint64_t size)
{
    if (size < 8 || size % 8)
        return bad(w, "a damaged free-page list");
    uint64_t n = u64(data);
    if (n != size / 8 - 1)
        return bad(w, "a damaged free-page list");
    for (uint64_t i = 1; i <= n; i++)
        if (u64(data + 8 * i) < 2 || u64(data + 8 * i) > w->last)
            return bad(w, "a free page past the last page, or a meta page");
    return 0;
}

/* Checks the sub-database record DATA of a main-tree leaf, then walks its tree. */
static int walk_subdb(walk *w, const uint8_t *data)
{
    uint64_t root = u64(data + 40);
    unsigned depth = u16(data + 6);
    if (root == P_INVALID)
        return 0;
    if (depth == 0 || depth > MAX_DEPTH)
        return bad(w, "a database of impossible depth");
    return walk_tree(w, root, depth, false, u16(data + 4) & MDB_INTKEY);
}

/* Checks node I of the page in BUF (copied by the caller into PAGE). */
static int check_node(walk *w, const uint8_t *page, unsigned i, bool branch, uint64_t *child)
{
    uint16_t lower = u16(page + 12), upper = u16(page + 14);
    uint16_t off = u16(page + HDR + 2 * i);
    if (off < upper || off < lower || (size_t)off + NODE > w->psize)
        return bad(w, "a node outside its page");
    const uint8_t *node = page + off;
    uint16_t ksize = u16(node + 6), flags = u16(node + 4);
    if ((size_t)off + NODE + ksize > w->psize)
        return bad(w, "a key past its page");
    if (branch) {
        *child = u16(node) | (uint64_t)u16(node + 2) << 16 | (uint64_t)flags << 32;
        return 0;
    }
    uint64_t dsize = u16(node) | (uint64_t)u16(node + 2) << 16;
    if (flags & ~(F_BIGDATA | F_SUBDATA) || (flags & F_DUPDATA))
        return bad(w, "a node with unknown or duplicate flags");
    size_t inline_size = flags & F_BIGDATA ? 8 : dsize;
    if ((size_t)off + NODE + ksize + inline_size > w->psize)
        return bad(w, "data past its page");
    if ((flags & F_SUBDATA) && (dsize != DB_SIZE || (flags & F_BIGDATA)))
        return bad(w, "a damaged database record");
    *child = flags & F_BIGDATA ? u64(node + NODE + ksize) : P_INVALID;
    return 0;
}

/* Walks the leaf in PAGE: its overflow runs, sub-databases and free lists. */
static int walk_leaf(walk *w, const uint8_t *page, unsigned n, bool free_db)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t over;
        if (check_node(w, page, i, false, &over))
            return -1;
        const uint8_t *node = page + u16(page + HDR + 2 * i);
        uint16_t ksize = u16(node + 6), flags = u16(node + 4);
        uint64_t dsize = u16(node) | (uint64_t)u16(node + 2) << 16;
        if (over != P_INVALID) {
            if (check_overflow(w, over, dsize))
                return -1;
            if (free_db) {
                uint8_t *data = malloc(dsize ? dsize : 1);
                if (!data)
                    return out_of_memory(w);
                ssize_t got = pread(w->fd, data, dsize, (off_t)(over * w->psize + HDR));
                int rc = got == (ssize_t)dsize ? check_idl(w, data, dsize) : -1;
                free(data);
                if (rc)
                    return bad(w, "a damaged free-page list");
            }
        } else if (free_db && check_idl(w, node + NODE + ksize, dsize)) {
            return -1;
        }
        if ((flags & F_SUBDATA) && walk_subdb(w, node + NODE + ksize))
            return -1;
    }
    return 0;
}

/* Whether every key of the page has the size an integer-keyed database needs (8 bytes; a
 * branch page's first key is empty): LMDB compares such keys as 8-byte numbers. */
static bool int_keys(const uint8_t *page, unsigned n, bool branch)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t ksize = u16(page + u16(page + HDR + 2 * i) + 6);
        if (ksize != 8 && !(branch && i == 0 && ksize == 0))
            return false;
    }
    return true;
}

/* Walks the tree rooted at ROOT, DEPTH levels deep (1: the root is a leaf). */
static int walk_tree(walk *w, uint64_t root, unsigned depth, bool free_db, bool intkey)
{
    if (read_page(w, root))
        return -1;
    uint8_t *page = malloc(w->psize); /* a copy: children reuse w->buf */
    if (!page)
        return out_of_memory(w);
    memcpy(page, w->buf, w->psize);
    uint16_t flags = u16(page + 10), lower = u16(page + 12), upper = u16(page + 14);
    bool branch = flags & P_BRANCH, leaf = flags & P_LEAF;
    int rc = 0;
    if (branch == leaf || (flags & (P_OVERFLOW | P_LEAF2)) || (depth > 1) != branch)
        rc = bad(w, "a page of the wrong kind for its place");
    else if (lower < HDR || (lower - HDR) % 2 || lower > upper || upper > w->psize)
        rc = bad(w, "a page with damaged bounds");
    unsigned n = rc ? 0 : (lower - HDR) / 2;
    if (!rc && branch && n == 0)
        rc = bad(w, "an empty branch page");
    for (unsigned i = 0; !rc && i < n; i++) {
        uint64_t child;
        rc = check_node(w, page, i, branch, &child);
        if (!rc && branch)
            rc = walk_tree(w, child, depth - 1, free_db, intkey);
    }
    if (!rc && intkey && !int_keys(page, n, branch))
        rc = bad(w, "a key of the wrong size in an integer-keyed database");
    if (!rc && leaf)
        rc = walk_leaf(w, page, n, free_db);
    free(page);
    return rc;
}

/* ---- Finding the catalog of a meta page's tree -------------------------------------------- */

/*
 * The data of the leaf node with KEY in the tree at ROOT (DEPTH levels), copied (malloc'd,
 * *LEN bytes, *FLAGS the node's flags), or NULL. It visits every page of the tree: the trees
 * searched this way (the main tree and the catalog's) hold a handful of keys. Any damage
 * simply means "not found".
 */
static uint8_t *find_key(walk *w, uint64_t root, unsigned depth, const char *key, size_t *len,
                         uint16_t *flags)
{
    if (depth == 0 || depth > MAX_DEPTH || read_page(w, root))
        return NULL;
    uint8_t *page = malloc(w->psize), *found = NULL;
    if (!page) {
        out_of_memory(w);
        return NULL;
    }
    memcpy(page, w->buf, w->psize);
    uint16_t pflags = u16(page + 10), lower = u16(page + 12), upper = u16(page + 14);
    bool branch = pflags & P_BRANCH;
    unsigned n = lower >= HDR && lower <= upper && upper <= w->psize ? (lower - HDR) / 2 : 0;
    if (branch != (depth > 1) || branch == !!(pflags & P_LEAF))
        n = 0;
    size_t klen = strlen(key);
    for (unsigned i = 0; i < n && !found; i++) {
        uint64_t child;
        if (check_node(w, page, i, branch, &child))
            break;
        if (branch) {
            found = find_key(w, child, depth - 1, key, len, flags);
            continue;
        }
        const uint8_t *node = page + u16(page + HDR + 2 * i);
        uint16_t ksize = u16(node + 6);
        if (ksize != klen || memcmp(node + NODE, key, klen))
            continue;
        *flags = u16(node + 4);
        *len = u16(node) | (size_t)u16(node + 2) << 16;
        if (*len > (64u << 20))
            break;
        if (!(found = malloc(*len ? *len : 1))) {
            out_of_memory(w);
            break;
        }
        const uint8_t *data = node + NODE + ksize;
        bool big = *flags & F_BIGDATA;
        if (big ? check_overflow(w, child, *len) ||
                      pread(w->fd, found, *len, (off_t)(child * w->psize + HDR)) != (ssize_t)*len
                : (memcpy(found, data, *len), false)) {
            free(found);
            found = NULL;
            break;
        }
    }
    free(page);
    return found;
}

/* The generation recorded in the catalog of META's tree, or 0 if it cannot be found whole. */
static uint64_t catalog_generation(walk *w, const uint8_t *meta)
{
    size_t len;
    uint16_t flags;
    uint64_t gen = 0;
    const uint8_t *main_db = meta + 88;
    if (u64(main_db + 40) == P_INVALID)
        return 0;
    uint8_t *db = find_key(w, u64(main_db + 40), u16(main_db + 6), RS_CATALOG_DB, &len, &flags);
    if (db && len == DB_SIZE && (flags & F_SUBDATA) && u64(db + 40) != P_INVALID) {
        uint8_t *cat = find_key(w, u64(db + 40), u16(db + 6), RS_CATALOG_KEY, &len, &flags);
        if (cat)
            gen = rs_catalog_generation(cat, len);
        free(cat);
    }
    free(db);
    return gen;
}

/* The pages a walk may read: those of the file, and none past LAST. */
static uint64_t pages_below(uint64_t file_pages, uint64_t last)
{
    return last < file_pages ? last + 1 : file_pages;
}

int rs_pagecheck(int fd, const char *path, uint64_t file_size, uint32_t psize,
                 const uint8_t *meta, const uint8_t *other)
{
    uint64_t last = u64(meta + 136), other_last = u64(other + 136);
    walk w = {.fd = fd, .path = path, .psize = psize, .last = last};
    w.pages = pages_below(file_size / psize, last);
    /* The other meta's tree may reach past this one's last page (it may be the newer one,
     * hidden by a damaged transaction id): the bitmap covers both. */
    uint64_t both = last > other_last ? last : other_last;
    size_t seen_bytes = (size_t)(pages_below(file_size / psize, both) / 8 + 1);
    w.seen = calloc(seen_bytes, 1);
    w.buf = malloc(psize);
    int rc = 0;
    if (!w.seen || !w.buf) {
        rc = rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory checking the file", path);
        goto out;
    }
    const uint8_t *dbs[2] = {meta + 40, meta + 88};
    for (int d = 0; d < 2 && !rc; d++) {
        uint64_t root = u64(dbs[d] + 40);
        unsigned depth = u16(dbs[d] + 6);
        if (root == P_INVALID)
            continue;
        if (depth == 0 || depth > MAX_DEPTH || walk_tree(&w, root, depth, d == 0, d == 0))
            rc = w.oom ? rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory checking the file",
                                      path)
                       : rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: %s", path,
                                      w.why ? w.why : "a database of impossible depth");
    }
    if (!rc) {
        memset(w.seen, 0, seen_bytes);
        uint64_t chosen = catalog_generation(&w, meta);
        memset(w.seen, 0, seen_bytes);
        w.pages = pages_below(file_size / psize, other_last); /* its own extent */
        uint64_t hidden = catalog_generation(&w, other);
        if (w.oom)
            rc = rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory checking the file", path);
        else if (hidden > chosen)
            rc = rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: a meta page hides the newest "
                              "snapshot (generation %llu)", path, (unsigned long long)hidden);
    }
out:
    free(w.seen);
    free(w.buf);
    return rc;
}
