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
 *     is long enough for its data; a sub-database record has a database record's size and its
 *     tree is walked in turn; no node uses sorted duplicates (relstore never does);
 *   - the free-page lists hold page numbers no greater than the last page.
 * Pages nothing reaches may lie past the file's end (persist/file.c says when).
 *
 * LMDB opens the meta page with the larger transaction id, and a meta page has no checksum:
 * a damaged id on the newest could make LMDB open the older snapshot, silently. So both
 * meta pages' trees are searched for their catalogs: if the other one holds a later
 * generation (our own count of snapshots, which unlike LMDB's transaction ids survives a
 * compacted copy) than the one LMDB would open, the file is damaged.
 *
 * Any damage is STORE_ECORRUPT, the detail recorded where it is found: the file is never
 * handed to LMDB. What is inside records (our bytes) is checked later by their checksums.
 * Reads only; the memory is one page per level of a tree and a bitmap of the file's pages.
 *
 * The layout is LMDB 0.9's on 64-bit Linux, described in persist/lmdb_format.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist/catalog.h"
#include "persist/internal.h"
#include "persist/lmdb_format.h"
#include "store/error.h"

typedef struct walk {
    int fd;
    const char *path;
    uint32_t psize;
    uint64_t pages; /* pages the file holds (and the meta allows) */
    uint64_t last;  /* the meta's last page: free pages may lie past the file's end */
    uint8_t *seen;  /* one bit per page */
    uint8_t *buf;   /* one page */
    bool searching; /* looking for a catalog (find_key()): damage means "not found" */
    bool oom;       /* an allocation failed: the answer is STORE_ENOMEM, the detail recorded */
} walk;

/* STORE_ECORRUPT, with WHY in the detail; while searching, damage is no failure and the
 * detail is left alone. */
static int bad(walk *w, const char *why)
{
    if (w->searching)
        return STORE_ECORRUPT;
    return rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: %s", w->path, why);
}

static int out_of_memory(walk *w)
{
    w->oom = true;
    return rs_error_set(NULL, STORE_ENOMEM, "%s: out of memory checking the file", w->path);
}

/* Reads page PGNO into w->buf, marking it seen; STORE_ECORRUPT if outside the file or seen
 * before. */
static int read_page(walk *w, uint64_t pgno)
{
    if (pgno < RS_MDB_NUM_METAS || pgno >= w->pages)
        return bad(w, "a page number outside the file");
    if (w->seen[pgno / 8] & (1u << (pgno % 8)))
        return bad(w, "a page reached twice");
    w->seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
    if (pread(w->fd, w->buf, w->psize, (off_t)(pgno * w->psize)) != (ssize_t)w->psize)
        return bad(w, "a page cannot be read");
    if (rs_mdb_u64(w->buf + RS_MDB_PAGE_PGNO) != pgno)
        return bad(w, "a page does not carry its own number");
    return STORE_OK;
}

/* Marks the overflow run at PGNO, which must hold SIZE bytes of data. */
static int check_overflow(walk *w, uint64_t pgno, uint64_t size)
{
    uint8_t head[RS_MDB_PAGE_HDR];
    if (pgno < RS_MDB_NUM_METAS || pgno >= w->pages ||
        pread(w->fd, head, sizeof head, (off_t)(pgno * w->psize)) != (ssize_t)sizeof head)
        return bad(w, "an overflow page outside the file");
    uint32_t n = rs_mdb_u32(head + RS_MDB_PAGE_OVPAGES);
    if (rs_mdb_u64(head + RS_MDB_PAGE_PGNO) != pgno ||
        !(rs_mdb_page_flags(head) & RS_MDB_P_OVERFLOW) || n == 0 || n > w->pages - pgno ||
        (uint64_t)n * w->psize < size + RS_MDB_PAGE_HDR)
        return bad(w, "a damaged overflow page");
    for (uint64_t p = pgno; p < pgno + n; p++) {
        if (w->seen[p / 8] & (1u << (p % 8)))
            return bad(w, "a page reached twice");
        w->seen[p / 8] |= (uint8_t)(1u << (p % 8));
    }
    return STORE_OK;
}

static int walk_tree(walk *w, uint64_t root, unsigned depth, bool free_db, bool intkey);

/* A free-page list: a count, then that many page numbers, none a meta page or past the last
 * page (a page freed in the transaction that allocated it may lie past the file's end). */
static int check_idl(walk *w, const uint8_t *data, uint64_t size)
{
    enum { WORD = RS_MDB_PGNO_SIZE };
    if (size < WORD || size % WORD)
        return bad(w, "a damaged free-page list");
    uint64_t n = rs_mdb_u64(data);
    if (n != size / WORD - 1)
        return bad(w, "a damaged free-page list");
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t pgno = rs_mdb_u64(data + WORD * i);
        if (pgno < RS_MDB_NUM_METAS || pgno > w->last)
            return bad(w, "a free page past the last page, or a meta page");
    }
    return STORE_OK;
}

/* A free-page list of SIZE bytes held in the overflow run at PGNO (checked). */
static int check_idl_run(walk *w, uint64_t pgno, uint64_t size)
{
    uint8_t *list = malloc(size ? size : 1);
    if (!list)
        return out_of_memory(w);
    off_t at = (off_t)(pgno * w->psize + RS_MDB_PAGE_HDR);
    int rc = pread(w->fd, list, size, at) == (ssize_t)size
                 ? check_idl(w, list, size)
                 : bad(w, "a damaged free-page list");
    free(list);
    return rc;
}

/* Checks the sub-database record DATA of a main-tree leaf, then walks its tree. */
static int walk_subdb(walk *w, const uint8_t *data)
{
    uint64_t root = rs_mdb_db_root(data);
    unsigned depth = rs_mdb_db_depth(data);
    if (root == RS_MDB_P_INVALID)
        return STORE_OK;
    if (depth == 0 || depth > RS_MDB_MAX_DEPTH)
        return bad(w, "a database of impossible depth");
    return walk_tree(w, root, depth, false,
                     rs_mdb_u16(data + RS_MDB_DB_FLAGS) & RS_MDB_DB_INTEGERKEY);
}

/* Checks node I of the page in BUF (copied by the caller into PAGE). */
static int check_node(walk *w, const uint8_t *page, unsigned i, bool branch, uint64_t *child)
{
    uint16_t lower = rs_mdb_page_lower(page), upper = rs_mdb_page_upper(page);
    uint16_t off = rs_mdb_node_off(page, i);
    if (off < upper || off < lower || (size_t)off + RS_MDB_NODE_HDR > w->psize)
        return bad(w, "a node outside its page");
    const uint8_t *node = page + off;
    uint16_t ksize = rs_mdb_node_ksize(node), flags = rs_mdb_node_flags(node);
    if ((size_t)off + RS_MDB_NODE_HDR + ksize > w->psize)
        return bad(w, "a key past its page");
    if (branch) {
        *child = rs_mdb_node_child(node);
        return STORE_OK;
    }
    uint64_t dsize = rs_mdb_node_dsize(node);
    if (flags & ~(RS_MDB_F_BIGDATA | RS_MDB_F_SUBDATA) || (flags & RS_MDB_F_DUPDATA))
        return bad(w, "a node with unknown or duplicate flags");
    size_t inline_size = flags & RS_MDB_F_BIGDATA ? RS_MDB_PGNO_SIZE : dsize;
    if ((size_t)off + RS_MDB_NODE_HDR + ksize + inline_size > w->psize)
        return bad(w, "data past its page");
    if ((flags & RS_MDB_F_SUBDATA) && (dsize != RS_MDB_DB_SIZE || (flags & RS_MDB_F_BIGDATA)))
        return bad(w, "a damaged database record");
    *child = flags & RS_MDB_F_BIGDATA ? rs_mdb_u64(node + RS_MDB_NODE_HDR + ksize)
                                      : RS_MDB_P_INVALID;
    return STORE_OK;
}

/* Walks the leaf in PAGE: its overflow runs, sub-databases and free lists. */
static int walk_leaf(walk *w, const uint8_t *page, unsigned n, bool free_db)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t over;
        int rc = check_node(w, page, i, false, &over);
        if (rc)
            return rc;
        const uint8_t *node = page + rs_mdb_node_off(page, i);
        uint16_t ksize = rs_mdb_node_ksize(node), flags = rs_mdb_node_flags(node);
        const uint8_t *data = node + RS_MDB_NODE_HDR + ksize;
        uint64_t dsize = rs_mdb_node_dsize(node);
        if (over != RS_MDB_P_INVALID) {
            rc = check_overflow(w, over, dsize);
            if (!rc && free_db)
                rc = check_idl_run(w, over, dsize);
        } else if (free_db) {
            rc = check_idl(w, data, dsize);
        }
        if (!rc && (flags & RS_MDB_F_SUBDATA))
            rc = walk_subdb(w, data);
        if (rc)
            return rc;
    }
    return STORE_OK;
}

/* Whether every key of the page has the size an integer-keyed database needs (8 bytes; a
 * branch page's first key is empty): LMDB compares such keys as 8-byte numbers. */
static bool int_keys(const uint8_t *page, unsigned n, bool branch)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t ksize = rs_mdb_node_ksize(page + rs_mdb_node_off(page, i));
        if (ksize != 8 && !(branch && i == 0 && ksize == 0))
            return false;
    }
    return true;
}

/* Walks the tree rooted at ROOT, DEPTH levels deep (1: the root is a leaf). */
static int walk_tree(walk *w, uint64_t root, unsigned depth, bool free_db, bool intkey)
{
    int rc = read_page(w, root);
    if (rc)
        return rc;
    uint8_t *page = malloc(w->psize); /* a copy: children reuse w->buf */
    if (!page)
        return out_of_memory(w);
    memcpy(page, w->buf, w->psize);
    uint16_t flags = rs_mdb_page_flags(page);
    uint16_t lower = rs_mdb_page_lower(page), upper = rs_mdb_page_upper(page);
    bool branch = flags & RS_MDB_P_BRANCH, leaf = flags & RS_MDB_P_LEAF;
    if (branch == leaf || (flags & (RS_MDB_P_OVERFLOW | RS_MDB_P_LEAF2)) ||
        (depth > 1) != branch)
        rc = bad(w, "a page of the wrong kind for its place");
    else if (lower < RS_MDB_PAGE_HDR || (lower - RS_MDB_PAGE_HDR) % 2 || lower > upper ||
             upper > w->psize)
        rc = bad(w, "a page with damaged bounds");
    unsigned n = rc ? 0 : (lower - RS_MDB_PAGE_HDR) / 2;
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
    if (depth == 0 || depth > RS_MDB_MAX_DEPTH || read_page(w, root))
        return NULL;
    uint8_t *page = malloc(w->psize), *found = NULL;
    if (!page) {
        out_of_memory(w);
        return NULL;
    }
    memcpy(page, w->buf, w->psize);
    uint16_t pflags = rs_mdb_page_flags(page);
    uint16_t lower = rs_mdb_page_lower(page), upper = rs_mdb_page_upper(page);
    bool branch = pflags & RS_MDB_P_BRANCH;
    unsigned n = lower >= RS_MDB_PAGE_HDR && lower <= upper && upper <= w->psize
                     ? (lower - RS_MDB_PAGE_HDR) / 2
                     : 0;
    if (branch != (depth > 1) || branch == !!(pflags & RS_MDB_P_LEAF))
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
        const uint8_t *node = page + rs_mdb_node_off(page, i);
        uint16_t ksize = rs_mdb_node_ksize(node);
        if (ksize != klen || memcmp(node + RS_MDB_NODE_HDR, key, klen))
            continue;
        *flags = rs_mdb_node_flags(node);
        *len = (size_t)rs_mdb_node_dsize(node);
        if (*len > (64u << 20))
            break;
        if (!(found = malloc(*len ? *len : 1))) {
            out_of_memory(w);
            break;
        }
        const uint8_t *data = node + RS_MDB_NODE_HDR + ksize;
        bool big = *flags & RS_MDB_F_BIGDATA;
        off_t at = big ? (off_t)(child * w->psize + RS_MDB_PAGE_HDR) : 0;
        if (big ? check_overflow(w, child, *len) || pread(w->fd, found, *len, at) != (ssize_t)*len
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
    const uint8_t *main_db = meta + RS_MDB_META_MAIN_DB;
    if (rs_mdb_db_root(main_db) == RS_MDB_P_INVALID)
        return 0;
    uint8_t *db = find_key(w, rs_mdb_db_root(main_db), rs_mdb_db_depth(main_db), RS_CATALOG_DB,
                           &len, &flags);
    if (db && len == RS_MDB_DB_SIZE && (flags & RS_MDB_F_SUBDATA) &&
        rs_mdb_db_root(db) != RS_MDB_P_INVALID) {
        uint8_t *cat = find_key(w, rs_mdb_db_root(db), rs_mdb_db_depth(db), RS_CATALOG_KEY, &len,
                                &flags);
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

int rs_pagecheck_file(int fd, const char *path, uint64_t file_size, uint32_t psize,
                      const uint8_t *meta, const uint8_t *other)
{
    uint64_t last = rs_mdb_u64(meta + RS_MDB_META_LAST_PG);
    uint64_t other_last = other ? rs_mdb_u64(other + RS_MDB_META_LAST_PG) : last;
    walk w = {.fd = fd, .path = path, .psize = psize, .last = last};
    w.pages = pages_below(file_size / psize, last);
    /* The other meta's tree may reach past this one's last page (it may be the newer one,
     * hidden by a damaged transaction id): the bitmap covers both. */
    uint64_t both = last > other_last ? last : other_last;
    size_t seen_bytes = (size_t)(pages_below(file_size / psize, both) / 8 + 1);
    w.seen = calloc(seen_bytes, 1);
    w.buf = malloc(psize);
    int rc = STORE_OK;
    if (!w.seen || !w.buf) {
        rc = out_of_memory(&w);
        goto free_walk;
    }
    const uint8_t *dbs[2] = {meta + RS_MDB_META_FREE_DB, meta + RS_MDB_META_MAIN_DB};
    for (int d = 0; d < 2 && !rc; d++) {
        uint64_t root = rs_mdb_db_root(dbs[d]);
        unsigned depth = rs_mdb_db_depth(dbs[d]);
        if (root == RS_MDB_P_INVALID)
            continue;
        rc = depth == 0 || depth > RS_MDB_MAX_DEPTH
                 ? bad(&w, "a database of impossible depth")
                 : walk_tree(&w, root, depth, d == 0, d == 0);
    }
    if (rc || !other)
        goto free_walk;
    w.searching = true;
    memset(w.seen, 0, seen_bytes);
    uint64_t chosen = catalog_generation(&w, meta);
    memset(w.seen, 0, seen_bytes);
    w.pages = pages_below(file_size / psize, other_last); /* its own extent */
    uint64_t hidden = catalog_generation(&w, other);
    if (w.oom)
        rc = STORE_ENOMEM; /* the detail is recorded */
    else if (hidden > chosen)
        rc = rs_error_set(NULL, STORE_ECORRUPT, "%s: damaged: a meta page hides the newest "
                          "snapshot (generation %llu)", path, (unsigned long long)hidden);
free_walk:
    free(w.seen);
    free(w.buf);
    return rc;
}
