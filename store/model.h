/*
 * store/model.h - the in-memory shape of a store: models, fields, objects.
 *
 * An object is one fixed-size slot of its model's arena:
 *
 *   WORD            MEANING
 *   id              the object's id; 0 once deleted
 *   model           its model
 *   w[word]         one word per field, in field order: int64, double bits, bool, string,
 *                   parent pointer; a string field has RS_INLINE_WORDS words (below)
 *   w[nullw ..)     null bits of the nullable INT/FLOAT/BOOL fields (strings and foreign
 *                   keys are null when their pointer is NULL)
 *   w[link], +1, +2 per foreign key of the model: next and prev sibling under the parent,
 *                   and when the object joined the parent's relation (the store's join
 *                   sequence), so that a reloaded store walks children in the same order
 *   w[ilink], +1    per .index field (not .unique): next and prev holder of the same value
 *   w[head], +1, +2 per reverse relation onto the model: first child, last child, count
 *
 * Keeping a reverse relation's head inside the parent's slot means store_reverse() reads
 * the parent it was given and probes no index: the parent's slot is already in cache.
 *
 * A string field's word(s) hold one of:
 *   - 0: null;
 *   - a pointer to the string in its model's string pages (store/strings.h), or to an
 *     allocation of its own for a long one: its bytes, NUL-ended, with their length and a
 *     tag before them; both start at an even address, so the low bit is 0;
 *   - the string itself, when a create or a load gives one of at most RS_INLINE_MAX bytes:
 *     byte 0 is 2 * length + 1 (odd, so the low bit is 1), the bytes and the NUL follow.
 * Either way rs_str_len() finds the length in the byte(s) before the string, and a short
 * string costs no cache miss of its own. A string is never modified in place: an update
 * stores a new string, then frees the old (the slot's own room is written only before
 * the object is published), so a reader sees the one string or the other, but must not use
 * the old one after the update (store.h says so to the caller).
 *
 * Words are read with atomic loads and written with atomic stores (free on x86-64 and
 * arm64) so that a field read without the lock never sees a torn value, and the race
 * detector knows the lock-free reads are intended.
 */
#ifndef RS_STORE_MODEL_H
#define RS_STORE_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <store.h>

#include "index/hash.h"
#include "index/otree.h"
#include "store/arena.h"
#include "store/lock.h"
#include "store/strings.h"

_Static_assert(sizeof(void *) <= sizeof(uint64_t), "pointers fit a word");
_Static_assert(sizeof(double) == sizeof(uint64_t), "doubles fit a word");
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "an iterator's link word holds two words");

struct store_obj {
    uint64_t id;
    store_model *model;
    uint64_t w[];
};

struct store_fld {
    store_model *model; /* the model the field belongs to */
    char *name;
    uint32_t fid;   /* the field's number in the file's catalog; never reused */
    store_type type;
    uint32_t word;  /* w[word] holds the value (CHAR, TEXT: w[word ..+ RS_INLINE_WORDS)) */
    uint32_t nullb; /* for nullable INT/FLOAT/BOOL: the bit in the null words */
    size_t max_length;
    bool null, unique, indexed, ordered;
    store_value dflt; /* .s copied; kind NONE: none */
    rs_hash vidx;     /* .unique or .index: value key -> first holder (store/vindex.c) */
    uint32_t ilink;   /* .index, not .unique: w[ilink] next, +1 prev, in the value's group */
    rs_otree otree;   /* .ordered: every object by its value, nulls first (store/oindex.c) */
    /* STORE_FK only */
    char *to;
    char *related_name;
    store_model *target;
    store_on_delete on_delete;
    uint32_t link; /* w[link] next, +1 prev, +2 join sequence, in the child */
    uint32_t head; /* w[head] first, +1 last, +2 count, in the parent */
};

/*
 * A many-to-many relation as one of its two sides sees it (store/m2m.c). Its links are the
 * objects of THROUGH: NEAR is the through model's foreign key to this side, so each object of
 * this side lists its links in its reverse relation of NEAR (in link order, with the count in
 * its head), and FAR is the foreign key to the other side. The two sides of a relation are
 * each other's MIRROR; a relation of a model with itself has both sides on that model.
 */
typedef struct rs_m2m {
    char *name;          /* the field's name on the declaring side, its related_name on the
                            other */
    store_model *model;  /* this side */
    store_model *other;  /* the far side */
    store_model *through;
    store_fld *near, *far;
    struct rs_m2m *mirror;
    bool declared;       /* the side whose STORE_M2M field declared the relation */
} rs_m2m;

/* A set of fields whose values no two objects share (store_schema_unique(), store/uniq.c). */
typedef struct rs_uniq {
    uint32_t n;
    store_fld **fields;
    rs_hash idx; /* the key of the values -> the object holding them */
} rs_uniq;

enum { RS_FAST_FIELDS = 8 };

/* rs_name_key() - NAME's bytes as a word, zeros after, when it has fewer than 8; else 0.
 * Reads NAME up to its NUL only. */
static inline uint64_t rs_name_key(const char *name)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!c)
            return k;
        k |= (uint64_t)c << (8 * i);
    }
    return 0;
}

struct store_model {
    store *db;
    char *name;
    uint32_t nfields;
    store_fld *fields;
    uint32_t nrels;
    store_fld **rels; /* the foreign keys (of any model) whose target is this one */
    uint32_t nm2m;
    rs_m2m *m2m;      /* the many-to-many relations this model is a side of */
    rs_m2m *pair;     /* a through model: the declaring side of its relation; else NULL */
    uint32_t nuniq;
    rs_uniq *uniq;    /* its sets of fields unique together */
    /* Summaries of the fields, for the create path: whether one is unique, indexed or ordered
     * (else a create stages no index), and the bytes of its string defaults together. */
    bool any_index;
    size_t dflt_str_bytes;
    uint32_t nullw;   /* first null word */
    /* The fields whose names have fewer than 8 bytes (the first RS_FAST_FIELDS of them), each
     * name's bytes as a word, zeros after: a call by name finds such a field by comparing one
     * word, reading this line of the model only (api/store.c). */
    uint32_t nfast;
    bool fast_some;   /* some short names are not among them */
    uint8_t fast_fld[RS_FAST_FIELDS];
    uint32_t fast_strw[RS_FAST_FIELDS]; /* a string field's word + 1; 0: not a string */
    uint64_t fast_key[RS_FAST_FIELDS];
    uint32_t nstrw;   /* string fields (up to 2) whose strings a walk asks for ahead */
    uint32_t strw[2]; /* their words */
    /* The objects, each in the slot of its id, with the changes since the last snapshot
     * as marks (only when the store has a file): RS_MARK_DIRTY for created or updated
     * objects, RS_MARK_TOMB for deleted ids, and the _OUT planes for what a snapshot in
     * progress is writing (see persist/snapshot.c). */
    rs_arena arena;
    rs_strheap strs;  /* its strings longer than a slot holds (store/strings.h) */
    uint64_t next_id; /* the id the next create gets */
    size_t count;     /* live objects */
};

/* The longest string (in bytes, without its NUL) kept inside its object's slot, and the words
 * a string field takes: one, so that a Book of the benchmark (title, pages, author) is a
 * 64-byte slot, a cache line, rather than 72 bytes that straddled two lines one get in two.
 * Room for 14 bytes (two words) kept short names inline, but real names and titles are
 * longer: they paid the word and went to the pages anyway. */
#define RS_INLINE_MAX 6
#define RS_INLINE_WORDS ((RS_INLINE_MAX + 2 + 7) / 8)

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "rs_str_len() reads the top byte of a length word as the byte before a string");

struct store {
    /* Lookups share it, changes take it alone; reads never nest (store/lock.h). */
    rs_lock lock;
    uint64_t serial; /* for store_errmsg(): no two stores share one */
    uint32_t nmodels;
    store_model *models;
    bool track;        /* record changes for snapshots: the store has a file */
    bool readonly;     /* opened STORE_OPEN_READONLY: changes are refused */
    uint64_t join_seq; /* the last join sequence handed out */
    struct rs_persist *persist; /* the file behind the store, or NULL (persist/) */
    size_t async_out;  /* async requests submitted whose callbacks have not run (atomic) */
    struct rs_errmsg *errmsgs; /* each failing thread's store_errmsg() (store/error.c) */
    /* Transactions (store/txn.h): the innermost open write transaction, whose thread holds
     * the write lock (NULL: none; read without the lock only to refuse a close), its undo
     * log, and the read-only transactions open on any thread (atomic). */
    store_txn *txn;
    struct rs_undo *undo;
    size_t nundo, capundo;
    char **retired; /* strings the open transaction replaced or deleted: freed at its commit */
    size_t nretired, capretired;
    size_t nlost;   /* objects it deleted: their chunks settle at its commit */
    unsigned char *imgs; /* bytes of ordered index nodes saved before they changed */
    size_t nimgs, capimgs;
    uint64_t oepoch;      /* the ordered indexes' undo epoch: 0 outside a write transaction,
                             a new value at each level's begin and end (index/otree.h) */
    uint64_t oepoch_last; /* the last epoch handed out */
    size_t txn_readers;
};

/* ---- Word access -------------------------------------------------------------------------- */

/* rs_obj_model() - O's model, read atomically: a reader holding no lock may meet a slot that
 * its chunk's reuse is clearing (store/arena.c), which clears this word atomically too. NULL
 * for a dead object whose chunk gave its pages back. */
static inline store_model *rs_obj_model(const store_obj *o)
{
    return __atomic_load_n(&o->model, __ATOMIC_RELAXED);
}

static inline uint64_t rs_word(const store_obj *o, uint32_t i)
{
    return __atomic_load_n(&o->w[i], __ATOMIC_ACQUIRE);
}

/* rs_txn_log_word_at() - log the word at W of DB's objects, about to change (store/txn.c). */
void rs_txn_log_word_at(store *db, uint64_t *w);

/* rs_word_set() - every store into a slot's words goes through here (or rs_obj_publish(),
 * rs_obj_bury()), so that a write transaction logs the old value first (store/txn.h). */
static inline void rs_word_set(store_obj *o, uint32_t i, uint64_t v)
{
    store *db = o->model->db;
    if (__builtin_expect(db->txn != NULL, 0))
        rs_txn_log_word_at(db, &o->w[i]);
    __atomic_store_n(&o->w[i], v, __ATOMIC_RELEASE);
}

static inline void *rs_word_ptr(const store_obj *o, uint32_t i)
{
    return (void *)(uintptr_t)rs_word(o, i);
}

static inline void rs_word_set_ptr(store_obj *o, uint32_t i, const void *p)
{
    rs_word_set(o, i, (uint64_t)(uintptr_t)p);
}

/* ---- The slot's words, by name ------------------------------------------------------------
 *
 * The layout above is computed here and nowhere else: code outside store/ reads and writes a
 * slot only through these (tests/layering.sh checks it). F is a field of O's model; FK a
 * foreign key, whose child words live in the child and head words in the parent. */

/* rs_field_word() - the word holding O's field F: int64, double bits, bool, or a pointer. */
static inline uint64_t rs_field_word(const store_obj *o, const store_fld *f)
{
    return rs_word(o, f->word);
}

/* rs_field_word_set() - store W as O's field F (of a type that takes one word). */
static inline void rs_field_word_set(store_obj *o, const store_fld *f, uint64_t w)
{
    rs_word_set(o, f->word, w);
}

/* rs_field_null_mark() - mark O's nullable INT, FLOAT or BOOL field F null, or not. */
static inline void rs_field_null_mark(store_obj *o, const store_fld *f, bool null)
{
    uint32_t i = f->model->nullw + f->nullb / 64;
    uint64_t bit = UINT64_C(1) << (f->nullb % 64), bits = rs_word(o, i);
    rs_word_set(o, i, null ? bits | bit : bits & ~bit);
}

/* rs_field_null_set() - mark O's nullable INT, FLOAT or BOOL field F null. */
static inline void rs_field_null_set(store_obj *o, const store_fld *f)
{
    rs_field_null_mark(o, f, true);
}

/* rs_fk_parent() - the parent O's foreign key FK points to, or NULL. */
static inline store_obj *rs_fk_parent(const store_obj *o, const store_fld *fk)
{
    return rs_word_ptr(o, fk->word);
}

/* rs_fk_parent_set() - make P the parent O's foreign key FK points to. */
static inline void rs_fk_parent_set(store_obj *o, const store_fld *fk, const store_obj *p)
{
    rs_word_set_ptr(o, fk->word, p);
}

/* rs_fk_next(), rs_fk_prev() - O's next and previous sibling under its parent in FK. */
static inline store_obj *rs_fk_next(const store_obj *o, const store_fld *fk)
{
    return rs_word_ptr(o, fk->link);
}

static inline store_obj *rs_fk_prev(const store_obj *o, const store_fld *fk)
{
    return rs_word_ptr(o, fk->link + 1);
}

static inline void rs_fk_next_set(store_obj *o, const store_fld *fk, const store_obj *next)
{
    rs_word_set_ptr(o, fk->link, next);
}

static inline void rs_fk_prev_set(store_obj *o, const store_fld *fk, const store_obj *prev)
{
    rs_word_set_ptr(o, fk->link + 1, prev);
}

/* rs_fk_seq() - when O joined its parent's relation of FK (the store's join sequence). */
static inline uint64_t rs_fk_seq(const store_obj *o, const store_fld *fk)
{
    return rs_word(o, fk->link + 2);
}

static inline void rs_fk_seq_set(store_obj *o, const store_fld *fk, uint64_t seq)
{
    rs_word_set(o, fk->link + 2, seq);
}

/* rs_rel_first(), rs_rel_last(), rs_rel_count() - the head of P's reverse relation of FK. */
static inline store_obj *rs_rel_first(const store_obj *p, const store_fld *fk)
{
    return rs_word_ptr(p, fk->head);
}

static inline store_obj *rs_rel_last(const store_obj *p, const store_fld *fk)
{
    return rs_word_ptr(p, fk->head + 1);
}

static inline size_t rs_rel_count(const store_obj *p, const store_fld *fk)
{
    return (size_t)rs_word(p, fk->head + 2);
}

static inline void rs_rel_first_set(store_obj *p, const store_fld *fk, const store_obj *c)
{
    rs_word_set_ptr(p, fk->head, c);
}

static inline void rs_rel_last_set(store_obj *p, const store_fld *fk, const store_obj *c)
{
    rs_word_set_ptr(p, fk->head + 1, c);
}

static inline void rs_rel_count_set(store_obj *p, const store_fld *fk, size_t n)
{
    rs_word_set(p, fk->head + 2, n);
}

/* rs_rel_clear() - empty P's reverse relation of FK (the children keep their own words). */
static inline void rs_rel_clear(store_obj *p, const store_fld *fk)
{
    for (uint32_t i = 0; i < 3; i++)
        rs_word_set(p, fk->head + i, 0);
}

/* rs_rel_walk() - a walk over P's children in FK, for store_next(): the iterator keeps the
 * next-link word, so that each step is one load. */
static inline store_iter rs_rel_walk(const store_obj *p, const store_fld *fk)
{
    store_iter it = {.priv_next = rs_rel_first(p, fk), .priv_link = fk->link};
    it.priv_count = it.priv_left = rs_rel_count(p, fk);
    return it;
}

/* rs_m2m_walk() - a walk over the objects linked to P in many-to-many R: the walk over P's
 * links, with the word of each link's far foreign key (+ 1) in the high half of priv_link,
 * so that each step hands out the far object instead of the link. */
static inline store_iter rs_m2m_walk(const store_obj *p, const rs_m2m *r)
{
    store_iter it = rs_rel_walk(p, r->near);
    it.priv_link |= (size_t)(r->far->word + 1) << 32;
    return it;
}

/* rs_rel_walk_next() - the next child of IT (of a many-to-many walk: the next far object),
 * or NULL. */
static inline store_obj *rs_rel_walk_next(store_iter *it)
{
    if (!it->priv_left || !it->priv_next)
        return NULL;
    store_obj *o = it->priv_next;
    it->priv_next = rs_word_ptr(o, (uint32_t)it->priv_link);
    it->priv_left--;
    uint32_t far = (uint32_t)(it->priv_link >> 32);
    return far ? rs_word_ptr(o, far - 1) : o;
}

/* rs_group_next(), rs_group_prev() - O's neighbours among the holders of its value of the
 * .index field F (store/vindex.c says how the ring is kept). */
static inline store_obj *rs_group_next(const store_obj *o, const store_fld *f)
{
    return rs_word_ptr(o, f->ilink);
}

static inline store_obj *rs_group_prev(const store_obj *o, const store_fld *f)
{
    return rs_word_ptr(o, f->ilink + 1);
}

static inline void rs_group_next_set(store_obj *o, const store_fld *f, const store_obj *next)
{
    rs_word_set_ptr(o, f->ilink, next);
}

static inline void rs_group_prev_set(store_obj *o, const store_fld *f, const store_obj *prev)
{
    rs_word_set_ptr(o, f->ilink + 1, prev);
}

/* rs_str_len() - the length of store string S, kept in the byte(s) before it. */
static inline size_t rs_str_len(const char *s)
{
    unsigned char tag = (unsigned char)s[-1];
    if (tag & 1)
        return tag >> 1; /* inside a slot */
    if (tag == RS_STR_TAG_PAGE)
        return rs_strings_head(s) & ((1u << RS_STR_LEN_BITS) - 1);
    uint64_t len;
    memcpy(&len, s - sizeof len, sizeof len);
    return (size_t)len;
}

/* rs_str_at() - the string that W, read from O's string word I, stands for, or NULL. */
static inline const char *rs_str_at(const store_obj *o, uint32_t i, uint64_t w)
{
    return w & 1 ? (const char *)(uintptr_t)&o->w[i] + 1 : (const char *)(uintptr_t)w;
}

/* rs_str_inline() - where a short string of O's field F lives: inside the slot. */
static inline char *rs_str_inline(const store_obj *o, const store_fld *f)
{
    return (char *)(uintptr_t)&o->w[f->word] + 1;
}

/* rs_str_decode() - the string that word W (read from O's field F) stands for, or NULL. */
static inline const char *rs_str_decode(const store_obj *o, const store_fld *f, uint64_t w)
{
    return rs_str_at(o, f->word, w);
}

/* rs_fast_find() - where KEY (rs_name_key(), not 0) stands among M's words of short names,
 * or -1. */
static inline int rs_fast_find(const store_model *m, uint64_t key)
{
    for (uint32_t i = 0; i < m->nfast; i++)
        if (m->fast_key[i] == key)
            return (int)i;
    return -1;
}

/* rs_str_fast() - O's string whose field's short name has KEY (rs_name_key(), not 0), in M's
 * words of short names: one compare a field, and the string's word read without reading the
 * field. Sets *FOUND (whether M has a field of that name, of any type); NULL when it has none,
 * when that field is no string, or when the string is null. */
static inline const char *rs_str_fast(const store_obj *o, const store_model *m, uint64_t key,
                                      bool *found)
{
    int i = rs_fast_find(m, key);
    *found = i >= 0;
    uint32_t w = i >= 0 ? m->fast_strw[i] : 0;
    return w ? rs_str_at(o, w - 1, rs_word(o, w - 1)) : NULL;
}

/* rs_str_get() - O's string field F, or NULL when it is null. */
static inline const char *rs_str_get(const store_obj *o, const store_fld *f)
{
    return rs_str_decode(o, f, rs_word(o, f->word));
}

/*
 * rs_strings_ahead() - ask for the strings of COUNT objects of M from FIRST on, children
 * walked in a reverse relation: created together, their strings were appended side by side
 * to M's pages (store/strings.h), as their slots sit side by side. For each of the first two
 * string fields, the run from FIRST's string on is asked for, RS_STR_GUESS bytes an object,
 * at most RS_AHEAD_MAX. Reading FIRST's words waits for its slot, which the walk's first step
 * would wait for anyway; a wrong guess costs prefetches, never a wrong answer.
 */
enum { RS_STR_GUESS = 64, RS_AHEAD_MAX = 2048 };

static inline void rs_strings_ahead(const store_model *m, const store_obj *first, size_t count)
{
    size_t bytes = count * RS_STR_GUESS < RS_AHEAD_MAX ? count * RS_STR_GUESS : RS_AHEAD_MAX;
    for (uint32_t k = 0; first && k < m->nstrw; k++) {
        uint64_t w = rs_word(first, m->strw[k]);
        if (!w || (w & 1)) /* null, or inside the slot */
            continue;
        for (size_t off = 0; off < bytes; off += 64)
            __builtin_prefetch((const char *)(uintptr_t)w - 4 + off);
    }
}

static inline bool rs_null_bit(const store_obj *o, const store_fld *f)
{
    uint64_t bits = rs_word(o, f->model->nullw + f->nullb / 64);
    return bits >> (f->nullb % 64) & 1;
}

/*
 * rs_model_field() - M's field NAME, or NULL. A name of fewer than 8 bytes is one word,
 * compared with M's words of such names: its bytes can be read while the object's slot (and
 * so M) is still on its way, and no field's name is read. A longer name is compared inline, a
 * byte at a time past a first byte that matches (a call to strcmp() cost more).
 */
static inline store_fld *rs_model_field(const store_model *m, const char *name)
{
    uint64_t key = rs_name_key(name);
    int i = key ? rs_fast_find(m, key) : -1;
    if (i >= 0)
        return &m->fields[m->fast_fld[i]];
    if (key && !m->fast_some)
        return NULL; /* every short name is among them */
    for (uint32_t j = 0; j < m->nfields; j++) {
        const char *a = m->fields[j].name, *b = name;
        if (*a != *b)
            continue;
        while (*a && *a == *b)
            a++, b++;
        if (*a == *b)
            return &m->fields[j];
    }
    return NULL;
}

/* rs_is_string() - whether F holds a string (CHAR or TEXT). */
static inline bool rs_is_string(const store_fld *f)
{
    return f->type == STORE_CHAR || f->type == STORE_TEXT;
}

/* rs_kind_of() - the kind of value a field of TYPE (a valid store_type) takes. */
static inline store_kind rs_kind_of(store_type type)
{
    static const store_kind kinds[] = {
        [STORE_CHAR] = STORE_KIND_STR, [STORE_TEXT] = STORE_KIND_STR,
        [STORE_INT] = STORE_KIND_INT,  [STORE_FLOAT] = STORE_KIND_FLOAT,
        [STORE_BOOL] = STORE_KIND_BOOL, [STORE_FK] = STORE_KIND_REF,
    };
    return kinds[type];
}

/* rs_field_null() - whether O's field F is null. */
static inline bool rs_field_null(const store_fld *f, const store_obj *o)
{
    if (f->type == STORE_FK || rs_is_string(f))
        return rs_word(o, f->word) == 0;
    return f->null && rs_null_bit(o, f);
}

#endif
