/*
 * persist/lmdb_format.h - what relstore knows of LMDB's file format, in one place.
 *
 * relstore reads an LMDB file with pread before LMDB maps it (the meta check of
 * persist/file.c, the page walk of persist/pagecheck.c), so it must know how LMDB lays out
 * its pages. Every such fact lives here, and no other file holds an offset into an LMDB page.
 * They describe the data format of the LMDB 0.9 series (data version 1 in every meta page)
 * as built for 64-bit Linux: page numbers, sizes and transaction ids are 8-byte size_t, all
 * numbers native-endian. They were checked against LMDB 0.9.24, the version Debian ships; the
 * format did not change within 0.9. store_open() refuses an LMDB library of any other series
 * (persist/file.c), and a build against another series' header fails below.
 *
 * Page (every page starts with a 16-byte header; page N lies at byte N * page size):
 *   OFFSET  SIZE  MEANING
 *   0       8     the page's own number
 *   8       2     padding
 *   10      2     flags: branch, leaf, overflow, ... (RS_MDB_P_*)
 *   12      2     lower: the end of the node pointers (branch and leaf pages)
 *   14      2     upper: the start of the nodes (branch and leaf pages)
 *   12      4     overflow pages only: how many pages the run spans, this one included
 *   16      2*n   branch and leaf pages: the offsets of their n nodes, from the page start
 * Pages 0 and 1 are the two meta pages; a tree's page number is "none" when all bits are set.
 *
 * Node (within a branch or leaf page, at the offset its pointer gives):
 *   0       2     lo: the low 16 bits of the data size (leaf) or of the child page (branch)
 *   2       2     hi: the next 16 bits of either
 *   4       2     flags (RS_MDB_F_*); on a branch page, bits 32-47 of the child page
 *   6       2     key size
 *   8       ...   the key, then (leaf) the data inline, or with RS_MDB_F_BIGDATA the 8-byte
 *                 number of the first page of an overflow run that holds the data after its
 *                 header
 *
 * Database record (48 bytes: the data of a leaf node with RS_MDB_F_SUBDATA in the main tree,
 * and the meta page's two databases):
 *   0       4     padding; in the meta page's free database, the page size
 *   4       2     flags (RS_MDB_DB_INTEGERKEY: keys are 8-byte numbers)
 *   6       2     depth: tree levels, 1 when the root is a leaf
 *   8       32    counts of branch, leaf and overflow pages and of entries (8 bytes each)
 *   40      8     the root page, or "none" for an empty tree
 *
 * Meta page (offsets from the page start, past its page header):
 *   16      4     magic number (RS_MDB_MAGIC)
 *   20      4     data format version (RS_MDB_DATA_VERSION)
 *   24      8     fixed map address (relstore uses none)
 *   32      8     map size when this meta page was written
 *   40      48    the free-page database (its padding: the page size)
 *   88      48    the main database, which names every named database
 *   136     8     the last page in use
 *   144     8     the transaction that wrote this meta page
 * The free-page database's records are lists: a count, then that many page numbers (8 bytes
 * each).
 */
#ifndef RS_PERSIST_LMDB_FORMAT_H
#define RS_PERSIST_LMDB_FORMAT_H

#include <lmdb.h>
#include <stdint.h>
#include <string.h>

/* The LMDB series this file describes: major.minor, any patch level. */
#define RS_MDB_FORMAT_MAJOR 0
#define RS_MDB_FORMAT_MINOR 9

_Static_assert(MDB_VERSION_MAJOR == RS_MDB_FORMAT_MAJOR && MDB_VERSION_MINOR == RS_MDB_FORMAT_MINOR,
               "persist/lmdb_format.h describes LMDB 0.9's on-disk format only");
_Static_assert(sizeof(size_t) == 8, "persist/lmdb_format.h describes 64-bit LMDB only");

/* Page header. */
enum {
    RS_MDB_PAGE_PGNO = 0,     /* u64 */
    RS_MDB_PAGE_FLAGS = 10,   /* u16 */
    RS_MDB_PAGE_LOWER = 12,   /* u16 */
    RS_MDB_PAGE_UPPER = 14,   /* u16 */
    RS_MDB_PAGE_OVPAGES = 12, /* u32, overflow pages only */
    RS_MDB_PAGE_HDR = 16,     /* the header's size: node pointers (u16 each) start here */
    RS_MDB_NUM_METAS = 2,     /* pages 0 and 1 */
};

/* Page flags. */
enum {
    RS_MDB_P_BRANCH = 0x01,
    RS_MDB_P_LEAF = 0x02,
    RS_MDB_P_OVERFLOW = 0x04,
    RS_MDB_P_LEAF2 = 0x20, /* a leaf of fixed-size keys, only under sorted duplicates */
};

/* Node header, and node flags. */
enum {
    RS_MDB_NODE_LO = 0,      /* u16 */
    RS_MDB_NODE_HI = 2,      /* u16 */
    RS_MDB_NODE_FLAGS = 4,   /* u16 */
    RS_MDB_NODE_KSIZE = 6,   /* u16 */
    RS_MDB_NODE_HDR = 8,     /* the header's size: the key starts here */
    RS_MDB_F_BIGDATA = 0x01, /* the data lies in an overflow run */
    RS_MDB_F_SUBDATA = 0x02, /* the data is a database record */
    RS_MDB_F_DUPDATA = 0x04, /* the data is a sorted-duplicate sub-page or tree */
};

/* Database record. */
enum {
    RS_MDB_DB_PAD = 0,   /* u32 */
    RS_MDB_DB_FLAGS = 4, /* u16 */
    RS_MDB_DB_DEPTH = 6, /* u16 */
    RS_MDB_DB_ROOT = 40, /* u64 */
    RS_MDB_DB_SIZE = 48,
    RS_MDB_DB_INTEGERKEY = 0x08, /* in the flags: the database was opened MDB_INTEGERKEY */
};
_Static_assert(RS_MDB_DB_INTEGERKEY == MDB_INTEGERKEY, "LMDB's integer-key flag moved");

/* Meta page, offsets from the page start. */
enum {
    RS_MDB_META_MAGIC = 16,    /* u32 */
    RS_MDB_META_VERSION = 20,  /* u32 */
    RS_MDB_META_MAPSIZE = 32,  /* u64 */
    RS_MDB_META_FREE_DB = 40,  /* database record */
    RS_MDB_META_PSIZE = 40,    /* u32: the free database's padding */
    RS_MDB_META_MAIN_DB = 88,  /* database record */
    RS_MDB_META_LAST_PG = 136, /* u64 */
    RS_MDB_META_TXNID = 144,   /* u64 */
    RS_MDB_META_END = 152,     /* the bytes of a meta page that relstore reads */
};
/* The meta page's fields follow each other as the table above says. */
_Static_assert(RS_MDB_META_PSIZE == RS_MDB_META_FREE_DB + RS_MDB_DB_PAD &&
                   RS_MDB_META_MAIN_DB == RS_MDB_META_FREE_DB + RS_MDB_DB_SIZE &&
                   RS_MDB_META_LAST_PG == RS_MDB_META_MAIN_DB + RS_MDB_DB_SIZE &&
                   RS_MDB_META_TXNID == RS_MDB_META_LAST_PG + 8 &&
                   RS_MDB_META_END == RS_MDB_META_TXNID + 8,
               "persist/lmdb_format.h: the meta page's offsets disagree");
#define RS_MDB_MAGIC 0xBEEFC0DEu
#define RS_MDB_DATA_VERSION 1u

/* A page number that names no page: the root of an empty tree. */
#define RS_MDB_P_INVALID (~(uint64_t)0)

/* The bytes of a page number in an overflow node and in a free-page list. */
enum { RS_MDB_PGNO_SIZE = 8 };

/* LMDB's cursors hold at most 32 levels of a tree: a deeper one is damage. */
enum { RS_MDB_MAX_DEPTH = 32 };

/* The page sizes relstore accepts in a meta page: a power of two within these bounds (LMDB
 * writes the system's page size; the bounds only keep a damaged value from being used). */
enum { RS_MDB_PSIZE_MIN = 512, RS_MDB_PSIZE_MAX = 65536 };

/* Native-endian numbers at P, which need not be aligned. */
static inline uint16_t rs_mdb_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t rs_mdb_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t rs_mdb_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Fields of a page header, node and database record. */
static inline uint16_t rs_mdb_page_flags(const uint8_t *page)
{
    return rs_mdb_u16(page + RS_MDB_PAGE_FLAGS);
}

static inline uint16_t rs_mdb_page_lower(const uint8_t *page)
{
    return rs_mdb_u16(page + RS_MDB_PAGE_LOWER);
}

static inline uint16_t rs_mdb_page_upper(const uint8_t *page)
{
    return rs_mdb_u16(page + RS_MDB_PAGE_UPPER);
}

static inline uint16_t rs_mdb_node_flags(const uint8_t *node)
{
    return rs_mdb_u16(node + RS_MDB_NODE_FLAGS);
}

static inline uint16_t rs_mdb_node_ksize(const uint8_t *node)
{
    return rs_mdb_u16(node + RS_MDB_NODE_KSIZE);
}

static inline uint64_t rs_mdb_db_root(const uint8_t *db)
{
    return rs_mdb_u64(db + RS_MDB_DB_ROOT);
}

static inline unsigned rs_mdb_db_depth(const uint8_t *db)
{
    return rs_mdb_u16(db + RS_MDB_DB_DEPTH);
}

/* The data size of the leaf node NODE (its inline size, or the overflow run's content). */
static inline uint64_t rs_mdb_node_dsize(const uint8_t *node)
{
    return rs_mdb_u16(node + RS_MDB_NODE_LO) | (uint64_t)rs_mdb_u16(node + RS_MDB_NODE_HI) << 16;
}

/* The child page of the branch node NODE: 48 bits spread over lo, hi and flags. */
static inline uint64_t rs_mdb_node_child(const uint8_t *node)
{
    return rs_mdb_node_dsize(node) | (uint64_t)rs_mdb_u16(node + RS_MDB_NODE_FLAGS) << 32;
}

/* The offset of node I of the branch or leaf page PAGE. */
static inline uint16_t rs_mdb_node_off(const uint8_t *page, unsigned i)
{
    return rs_mdb_u16(page + RS_MDB_PAGE_HDR + 2 * i);
}

#endif
