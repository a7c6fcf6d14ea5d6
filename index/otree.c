/*
 * index/otree.c - the ordered index of index/otree.h: a B+tree with subtree counts.
 *
 * Leaves are chained both ways. Inner node X has X->n children; sep[i] (i >= 1) is the first
 * entry under kid[i], kept exact through inserts, deletes and merges (a separator never names
 * an entry that is gone: TIE may look its object up), and cnt[i] the number of entries under
 * kid[i]. A probe goes down to the last child whose separator is not after it.
 *
 * How many nodes N inserts may need, so that rs_otree_reserve() can promise them: a leaf
 * that takes inserts may split at once (it may be full or nearly), and once more without
 * another 30 inserts (an append at the end of the tree keeps the full leaf full); after
 * that each split needs 30 inserts more into the leaf (both halves of a split keep at least
 * 31 entries; a leaf an append starts holds 1). So N inserts split at most
 * 2 min(N, leaves) + N / 30 + 1 leaves, and the same argument one level up bounds the inner
 * splits by 2 min(leaf splits, inner nodes) + leaf splits / 15 + the height + 1 (a new
 * root). Past a large change, rs_otree_trim() gives the spares it did not use back.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "index/otree.h"

enum {
    LEAF_MAX = 62,
    INNER_MAX = 32,
    MERGE_LOW = LEAF_MAX / 4,      /* a leaf under this after a delete looks to merge */
    MERGE_FIT = LEAF_MAX * 3 / 4,  /* into a neighbour, if the two fit in this */
    HEIGHT_MAX = 24,
    SPARE_KEEP = 8,                /* spares kept past a trim */
};

struct rs_onode {
    uint16_t n;
    bool leaf;
    uint64_t epoch; /* last saved under this epoch (the undo hooks) */
    rs_onode *prev, *next; /* leaves: the neighbours; a spare: the next spare */
    union {
        rs_oent e[LEAF_MAX];
        struct {
            rs_oent sep[INNER_MAX];
            rs_onode *kid[INNER_MAX];
            size_t cnt[INNER_MAX];
        } in;
    } u;
};

typedef struct step {
    rs_onode *node;
    uint32_t at;
} step;

/* ---- Comparing ------------------------------------------------------------------------------ */

static int cmp(const rs_otree *t, const rs_oprobe *p, const rs_oent *e)
{
    if (p->key != e->key)
        return p->key < e->key ? -1 : 1;
    if (t->tie && p->full) {
        int r = t->tie(t->ctx, p->full, e->id);
        if (r)
            return r;
    }
    return p->id < e->id ? -1 : p->id > e->id;
}

/* The child of inner node X a probe P goes down to: the last whose separator is not after P. */
static uint32_t route(const rs_otree *t, const rs_onode *x, const rs_oprobe *p)
{
    uint32_t lo = 1, hi = x->n; /* the answer is in [lo - 1, hi - 1] */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cmp(t, p, &x->u.in.sep[mid]) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

/* The first entry of leaf X not before P (STRICT: after P). */
static uint32_t bound(const rs_otree *t, const rs_onode *x, const rs_oprobe *p, bool strict)
{
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = cmp(t, p, &x->u.e[mid]);
        if (c > 0 || (strict && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- Nodes ---------------------------------------------------------------------------------- */

/* The undo hooks' epoch now: 0 when nothing is saved. */
static uint64_t epoch_now(const rs_otree *t)
{
    return t->undo.epoch ? *t->undo.epoch : 0;
}

/* Node X, or the header, is about to change: saved first when the hooks ask. */
static void touch(rs_otree *t, rs_onode *x)
{
    uint64_t ep = epoch_now(t);
    if (ep && x->epoch != ep) {
        t->undo.save(t->undo.ctx, x, sizeof *x);
        x->epoch = ep;
    }
}

static void touch_tree(rs_otree *t)
{
    uint64_t ep = epoch_now(t);
    if (ep && t->epoch != ep) {
        t->undo.save(t->undo.ctx, t, sizeof *t);
        t->epoch = ep;
    }
}

static rs_onode *take(rs_otree *t)
{
    rs_onode *x = t->spare;
    assert(x && "an insert beyond the room reserved");
    touch(t, x);
    t->spare = x->next;
    t->nspare--;
    uint64_t ep = x->epoch;
    memset(x, 0, offsetof(rs_onode, u));
    x->epoch = ep;
    return x;
}

static void give(rs_otree *t, rs_onode *x)
{
    touch(t, x);
    x->next = t->spare;
    t->spare = x;
    t->nspare++;
}

static size_t kids_total(const rs_onode *x)
{
    size_t s = 0;
    for (uint32_t i = 0; i < x->n; i++)
        s += x->u.in.cnt[i];
    return s;
}

static void inner_put(rs_onode *x, uint32_t at, const rs_oent *sep, rs_onode *kid, size_t cnt)
{
    uint32_t move = x->n - at;
    memmove(&x->u.in.sep[at + 1], &x->u.in.sep[at], move * sizeof(rs_oent));
    memmove(&x->u.in.kid[at + 1], &x->u.in.kid[at], move * sizeof(rs_onode *));
    memmove(&x->u.in.cnt[at + 1], &x->u.in.cnt[at], move * sizeof(size_t));
    x->u.in.sep[at] = *sep;
    x->u.in.kid[at] = kid;
    x->u.in.cnt[at] = cnt;
    x->n++;
}

static void inner_cut(rs_onode *x, uint32_t at)
{
    uint32_t move = x->n - at - 1;
    memmove(&x->u.in.sep[at], &x->u.in.sep[at + 1], move * sizeof(rs_oent));
    memmove(&x->u.in.kid[at], &x->u.in.kid[at + 1], move * sizeof(rs_onode *));
    memmove(&x->u.in.cnt[at], &x->u.in.cnt[at + 1], move * sizeof(size_t));
    x->n--;
}

/* The entry E became the first under the node PATH[H - 1] leads to: the separator naming
 * that subtree's first entry, in the nearest ancestor reached by a child other than the
 * first, becomes E. */
static void fix_sep(step *path, uint32_t h, const rs_oent *e)
{
    while (h-- > 0)
        if (path[h].at > 0) {
            path[h].node->u.in.sep[path[h].at] = *e;
            return;
        }
}

/* ---- Public calls --------------------------------------------------------------------------- */

void rs_otree_init(rs_otree *t, rs_otree_tie tie, const void *ctx)
{
    memset(t, 0, sizeof *t);
    t->tie = tie;
    t->ctx = ctx;
}

static void free_node(rs_onode *x)
{
    if (!x->leaf)
        for (uint32_t i = 0; i < x->n; i++)
            free_node(x->u.in.kid[i]);
    free(x);
}

void rs_otree_free(rs_otree *t)
{
    if (t->root)
        free_node(t->root);
    while (t->spare) {
        rs_onode *x = t->spare;
        t->spare = x->next;
        free(x);
    }
    rs_otree_undo undo = t->undo;
    rs_otree_init(t, t->tie, t->ctx);
    t->undo = undo;
}

/* The nodes N inserts may take (see the top of this file). */
static size_t need(const rs_otree *t, size_t n)
{
    size_t leaves = 2 * (n < t->nleaves ? n : t->nleaves) + n / 30 + 1;
    size_t inner = 2 * (leaves < t->ninner ? leaves : t->ninner) + leaves / 15 + t->height + 1;
    return leaves + inner;
}

size_t rs_otree_shortfall(const rs_otree *t, size_t n)
{
    size_t want = need(t, n);
    return want > t->nspare ? want - t->nspare : 0;
}

/* An insert touches the nodes on its path, its leaf, a neighbour it spills into, the new
 * leaf and the next one's back link, a new node per level and a new root; a delete its
 * path, its leaf, the neighbour it merges with and that one's neighbours in the chain. */
size_t rs_otree_undo_bound(const rs_otree *t)
{
    return 2 * (size_t)t->height + 8;
}

size_t rs_otree_undo_size(void)
{
    return sizeof(rs_onode) > sizeof(rs_otree) ? sizeof(rs_onode) : sizeof(rs_otree);
}

int rs_otree_reserve(rs_otree *t, size_t n)
{
    size_t want = need(t, n);
    if (t->nspare >= want)
        return 0;
    touch_tree(t);
    while (t->nspare < want) {
        rs_onode *x = malloc(sizeof *x);
        if (!x)
            return -1;
        x->epoch = epoch_now(t); /* new since the epoch began: nothing to save */
        if (x->epoch)
            t->undo.made(t->undo.ctx, x);
        give(t, x);
    }
    return 0;
}

void rs_otree_trim(rs_otree *t)
{
    if (epoch_now(t))
        return; /* a spare may be a node the saved bytes name */
    while (t->nspare > SPARE_KEEP) {
        rs_onode *x = t->spare;
        t->spare = x->next;
        t->nspare--;
        free(x);
    }
}

/* Puts E at AT in leaf X, which has room. */
static void leaf_put(rs_onode *x, uint32_t at, const rs_oent *e)
{
    memmove(&x->u.e[at + 1], &x->u.e[at], (x->n - at) * sizeof *e);
    x->u.e[at] = *e;
    x->n++;
}

/*
 * Before full leaf X (child S->at of S->node, which counts E already) splits: when a
 * neighbour under the same parent has room for two or more, X gives it half of that room's
 * worth of entries from its near end, and E goes where it now belongs. Leaves stay fuller
 * than splits alone leave them (about 80% instead of 70% under random inserts). Whether E
 * found a place.
 */
static bool spill(rs_otree *t, step *s, rs_onode *x, uint32_t at, const rs_oent *e)
{
    rs_onode *pn = s->node;
    uint32_t i = s->at;
    rs_onode *r = i + 1 < pn->n ? pn->u.in.kid[i + 1] : NULL;
    rs_onode *l = i > 0 ? pn->u.in.kid[i - 1] : NULL;
    if (r && r->n + 2 <= LEAF_MAX) {
        touch(t, r);
        uint32_t m = (LEAF_MAX - r->n) / 2;
        memmove(&r->u.e[m], r->u.e, r->n * sizeof *e);
        memcpy(r->u.e, &x->u.e[x->n - m], m * sizeof *e);
        r->n = (uint16_t)(r->n + m);
        x->n = (uint16_t)(x->n - m);
        pn->u.in.cnt[i] -= m;
        pn->u.in.cnt[i + 1] += m;
        if (at <= x->n) {
            leaf_put(x, at, e);
        } else {
            leaf_put(r, at - x->n, e);
            pn->u.in.cnt[i]--;
            pn->u.in.cnt[i + 1]++;
        }
        pn->u.in.sep[i + 1] = r->u.e[0];
        return true;
    }
    if (l && l->n + 2 <= LEAF_MAX) {
        touch(t, l);
        uint32_t m = (LEAF_MAX - l->n) / 2;
        memcpy(&l->u.e[l->n], x->u.e, m * sizeof *e);
        l->n = (uint16_t)(l->n + m);
        memmove(x->u.e, &x->u.e[m], (x->n - m) * sizeof *e);
        x->n = (uint16_t)(x->n - m);
        pn->u.in.cnt[i - 1] += m;
        pn->u.in.cnt[i] -= m;
        if (at <= m) {
            leaf_put(l, l->n - m + at, e);
            pn->u.in.cnt[i - 1]++;
            pn->u.in.cnt[i]--;
        } else {
            leaf_put(x, at - m, e);
        }
        pn->u.in.sep[i] = x->u.e[0];
        return true;
    }
    return false;
}

void rs_otree_insert(rs_otree *t, const rs_oprobe *p)
{
    rs_oent e = {p->key, p->id};
    touch_tree(t);
    t->count++;
    if (!t->root) {
        rs_onode *x = take(t);
        x->leaf = true;
        t->nleaves++;
        x->n = 1;
        x->u.e[0] = e;
        t->root = x;
        t->height = 1;
        return;
    }
    step path[HEIGHT_MAX];
    uint32_t h = 0;
    rs_onode *x = t->root;
    while (!x->leaf) {
        uint32_t i = route(t, x, p);
        touch(t, x);
        x->u.in.cnt[i]++;
        path[h++] = (step){x, i};
        x = x->u.in.kid[i];
    }
    uint32_t at = bound(t, x, p, true);
    touch(t, x);
    if (x->n < LEAF_MAX) {
        memmove(&x->u.e[at + 1], &x->u.e[at], (x->n - at) * sizeof e);
        x->u.e[at] = e;
        x->n = (uint16_t)(x->n + 1u);
        return;
    }
    if (h > 0 && spill(t, &path[h - 1], x, at, &e))
        return;
    /* A full leaf splits: in half, or at the end of the tree after its last entry. */
    rs_onode *r = take(t);
    r->leaf = true;
    t->nleaves++;
    uint32_t keep = at == LEAF_MAX && !x->next ? LEAF_MAX : LEAF_MAX / 2;
    memcpy(r->u.e, &x->u.e[keep], (LEAF_MAX - keep) * sizeof e);
    r->n = (uint16_t)(LEAF_MAX - keep);
    x->n = (uint16_t)(keep);
    r->next = x->next;
    r->prev = x;
    if (x->next) {
        touch(t, x->next);
        x->next->prev = r;
    }
    x->next = r;
    rs_onode *into = at <= keep && keep < LEAF_MAX ? x : r;
    uint32_t pos = into == x ? at : at - keep;
    memmove(&into->u.e[pos + 1], &into->u.e[pos], (into->n - pos) * sizeof e);
    into->u.e[pos] = e;
    into->n = (uint16_t)(into->n + 1u);
    /* The new node goes up: its first entry, itself, its count; the old keeps LEFT. */
    rs_oent sep = r->u.e[0];
    rs_onode *kid = r;
    size_t left = x->n, right = r->n;
    while (h > 0) {
        step s = path[--h];
        rs_onode *pn = s.node;
        pn->u.in.cnt[s.at] = left;
        if (pn->n < INNER_MAX) {
            inner_put(pn, s.at + 1, &sep, kid, right);
            return;
        }
        rs_onode *q = take(t);
        t->ninner++;
        uint32_t half = INNER_MAX / 2;
        q->n = (uint16_t)(INNER_MAX - half);
        memcpy(q->u.in.sep, &pn->u.in.sep[half], q->n * sizeof(rs_oent));
        memcpy(q->u.in.kid, &pn->u.in.kid[half], q->n * sizeof(rs_onode *));
        memcpy(q->u.in.cnt, &pn->u.in.cnt[half], q->n * sizeof(size_t));
        pn->n = (uint16_t)half;
        if (s.at + 1 <= half)
            inner_put(pn, s.at + 1, &sep, kid, right);
        else
            inner_put(q, s.at + 1 - half, &sep, kid, right);
        sep = q->u.in.sep[0];
        kid = q;
        left = kids_total(pn);
        right = kids_total(q);
    }
    rs_onode *root = take(t);
    t->ninner++;
    root->n = 2;
    root->u.in.kid[0] = t->root;
    root->u.in.cnt[0] = left;
    root->u.in.kid[1] = kid;
    root->u.in.cnt[1] = right;
    root->u.in.sep[0] = (rs_oent){0, 0};
    root->u.in.sep[1] = sep;
    t->root = root;
    t->height++;
}

/* Takes node X, reached by PATH[0 .. H), out of the tree. */
static void drop(rs_otree *t, step *path, uint32_t h, rs_onode *x)
{
    if (x->leaf) {
        if (x->prev) {
            touch(t, x->prev);
            x->prev->next = x->next;
        }
        if (x->next) {
            touch(t, x->next);
            x->next->prev = x->prev;
        }
        t->nleaves--;
    } else {
        t->ninner--;
    }
    give(t, x);
    if (h == 0) {
        t->root = NULL;
        t->height = 0;
        return;
    }
    step s = path[h - 1];
    rs_onode *pn = s.node;
    inner_cut(pn, s.at);
    if (pn->n == 0) {
        drop(t, path, h - 1, pn);
        return;
    }
    if (s.at == 0) /* the second child came first: its separator is the subtree's first */
        fix_sep(path, h - 1, &pn->u.in.sep[0]);
}

/* A root with one child gives its place to the child. */
static void shrink(rs_otree *t)
{
    while (t->root && !t->root->leaf && t->root->n == 1) {
        rs_onode *old = t->root;
        t->root = old->u.in.kid[0];
        t->height--;
        t->ninner--;
        give(t, old);
    }
}

/* Leaf X (PATH[0 .. H) leads to it) fell under a quarter: merged with a neighbour under the
 * same parent when the two fit in three quarters, the right one into the left. */
static void merge(rs_otree *t, step *path, uint32_t h, rs_onode *x)
{
    if (h == 0 || x->n >= MERGE_LOW)
        return;
    rs_onode *pn = path[h - 1].node;
    uint32_t i = path[h - 1].at;
    rs_onode *l = x, *r;
    uint32_t ri;
    if (i + 1 < pn->n && x->n + pn->u.in.kid[i + 1]->n <= MERGE_FIT) {
        r = pn->u.in.kid[i + 1];
        ri = i + 1;
    } else if (i > 0 && pn->u.in.kid[i - 1]->n + x->n <= MERGE_FIT) {
        l = pn->u.in.kid[i - 1];
        r = x;
        ri = i;
    } else {
        return;
    }
    touch(t, l);
    touch(t, r);
    memcpy(&l->u.e[l->n], r->u.e, r->n * sizeof(rs_oent));
    l->n = (uint16_t)((uint32_t)l->n + r->n);
    pn->u.in.cnt[ri - 1] += pn->u.in.cnt[ri];
    path[h - 1].at = ri; /* drop R: never its parent's first child */
    drop(t, path, h, r);
}

bool rs_otree_delete(rs_otree *t, const rs_oprobe *p)
{
    if (!t->root)
        return false;
    step path[HEIGHT_MAX];
    uint32_t h = 0;
    rs_onode *x = t->root;
    while (!x->leaf) {
        uint32_t i = route(t, x, p);
        path[h++] = (step){x, i};
        x = x->u.in.kid[i];
    }
    uint32_t at = bound(t, x, p, false);
    if (at == x->n || cmp(t, p, &x->u.e[at]) != 0)
        return false;
    touch_tree(t);
    touch(t, x);
    for (uint32_t k = 0; k < h; k++) {
        touch(t, path[k].node);
        path[k].node->u.in.cnt[path[k].at]--;
    }
    t->count--;
    memmove(&x->u.e[at], &x->u.e[at + 1], (x->n - at - 1) * sizeof(rs_oent));
    x->n = (uint16_t)(x->n - 1u);
    if (x->n == 0) {
        drop(t, path, h, x);
    } else {
        if (at == 0)
            fix_sep(path, h, &x->u.e[0]);
        merge(t, path, h, x);
    }
    shrink(t);
    return true;
}

int rs_otree_build(rs_otree *t, const rs_oent *e, size_t n)
{
    assert(!t->root && !t->count);
    if (!n)
        return 0;
    size_t nleaves = (n + LEAF_MAX - 1) / LEAF_MAX;
    rs_onode **level = malloc(nleaves * sizeof *level);
    if (!level)
        return -1;
    size_t made = 0;
    for (; made < nleaves; made++) {
        rs_onode *x = calloc(1, sizeof *x);
        if (!x)
            goto fail;
        x->leaf = true;
        size_t from = made * LEAF_MAX, m = n - from < LEAF_MAX ? n - from : LEAF_MAX;
        memcpy(x->u.e, &e[from], m * sizeof *e);
        x->n = (uint16_t)m;
        t->nleaves++;
        x->prev = made ? level[made - 1] : NULL;
        if (made)
            level[made - 1]->next = x;
        level[made] = x;
    }
    /* Each level above: inner nodes of INNER_MAX children (the last takes what is left). */
    size_t width = nleaves;
    uint32_t height = 1;
    while (width > 1) {
        size_t up = (width + INNER_MAX - 1) / INNER_MAX, k = 0;
        for (; k < up; k++) {
            rs_onode *x = calloc(1, sizeof *x);
            if (!x) {
                /* Free this level's nodes made so far, then the level below whole. */
                for (size_t j = 0; j < k; j++)
                    free_node(level[j]);
                for (size_t j = k * INNER_MAX; j < width; j++)
                    free_node(level[j]);
                free(level);
                t->nleaves = 0;
                t->ninner = 0;
                return -1;
            }
            size_t from = k * INNER_MAX;
            x->n = (uint16_t)(width - from < INNER_MAX ? width - from : INNER_MAX);
            for (uint32_t i = 0; i < x->n; i++) {
                rs_onode *kid = level[from + i];
                x->u.in.kid[i] = kid;
                x->u.in.cnt[i] = kid->leaf ? kid->n : kids_total(kid);
                x->u.in.sep[i] = kid->leaf ? kid->u.e[0] : kid->u.in.sep[0];
            }
            t->ninner++;
            level[k] = x;
        }
        width = up;
        height++;
    }
    t->root = level[0];
    t->height = height;
    t->count = n;
    free(level);
    return 0;
fail:
    for (size_t j = 0; j < made; j++)
        free(level[j]);
    free(level);
    t->nleaves = 0;
    return -1;
}

rs_ocursor rs_otree_seek(const rs_otree *t, const rs_oprobe *p, size_t *rank)
{
    size_t before = 0;
    const rs_onode *x = t->root;
    if (!x) {
        if (rank)
            *rank = 0;
        return (rs_ocursor){NULL, 0};
    }
    while (!x->leaf) {
        uint32_t i = route(t, x, p);
        for (uint32_t k = 0; rank && k < i; k++) /* the counts only when a rank is asked */
            before += x->u.in.cnt[k];
        x = x->u.in.kid[i];
    }
    uint32_t at = bound(t, x, p, false);
    if (rank)
        *rank = before + at;
    rs_ocursor c = {x, at};
    return at < x->n ? c : rs_otree_next((rs_ocursor){x, x->n - 1u});
}

rs_ocursor rs_otree_at(const rs_otree *t, size_t rank)
{
    const rs_onode *x = t->root;
    if (!x || rank >= t->count)
        return (rs_ocursor){NULL, 0};
    while (!x->leaf) {
        uint32_t i = 0;
        while (rank >= x->u.in.cnt[i]) {
            rank -= x->u.in.cnt[i];
            i++;
        }
        x = x->u.in.kid[i];
    }
    return (rs_ocursor){x, (uint32_t)rank};
}

rs_ocursor rs_otree_last(const rs_otree *t)
{
    return t->count ? rs_otree_at(t, t->count - 1) : (rs_ocursor){NULL, 0};
}

const rs_oent *rs_otree_entry(rs_ocursor c)
{
    return &c.leaf->u.e[c.at];
}

rs_ocursor rs_otree_next(rs_ocursor c)
{
    if (!c.leaf)
        return c;
    if (c.at + 1u < c.leaf->n)
        return (rs_ocursor){c.leaf, c.at + 1};
    const rs_onode *x = c.leaf->next;
    return x ? (rs_ocursor){x, 0} : (rs_ocursor){NULL, 0};
}

rs_ocursor rs_otree_prev(rs_ocursor c)
{
    if (!c.leaf)
        return c;
    if (c.at > 0)
        return (rs_ocursor){c.leaf, c.at - 1};
    const rs_onode *x = c.leaf->prev;
    return x ? (rs_ocursor){x, x->n - 1u} : (rs_ocursor){NULL, 0};
}

/* ---- Checking ------------------------------------------------------------------------------- */

typedef struct walk {
    const rs_otree *t;
    const rs_onode *last_leaf;
    const rs_oent *last;
    size_t leaves, inner;
} walk;

/* Whether entry A comes before entry B. */
static bool before(const rs_otree *t, const rs_oent *a, const rs_oent *b)
{
    rs_oprobe p = {a->key, NULL, a->id};
    if (a->key == b->key && t->tie)
        return a->id != b->id; /* the order within a key is the caller's: not checked here */
    return cmp(t, &p, b) < 0;
}

static const char *check_node(walk *w, const rs_onode *x, uint32_t depth, size_t *count,
                              const rs_oent **first)
{
    if (x->leaf) {
        if (depth != w->t->height)
            return "a leaf at the wrong depth";
        if (x->n == 0 || x->n > LEAF_MAX)
            return "a leaf with no entry, or too many";
        if (x->prev != w->last_leaf || (w->last_leaf && w->last_leaf->next != x))
            return "the leaf chain is broken";
        for (uint32_t i = 0; i < x->n; i++) {
            if (w->last && !before(w->t, w->last, &x->u.e[i]))
                return "entries out of order";
            w->last = &x->u.e[i];
        }
        w->leaves++;
        w->last_leaf = x;
        *count = x->n;
        *first = &x->u.e[0];
        return NULL;
    }
    w->inner++;
    if (x->n == 0 || x->n > INNER_MAX || (x == w->t->root && x->n < 2))
        return "an inner node with too few or too many children";
    size_t total = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        size_t c;
        const rs_oent *f;
        const char *bad = check_node(w, x->u.in.kid[i], depth + 1, &c, &f);
        if (bad)
            return bad;
        if (c != x->u.in.cnt[i])
            return "a child's count is wrong";
        if (i > 0 && (f->key != x->u.in.sep[i].key || f->id != x->u.in.sep[i].id))
            return "a separator is not its subtree's first entry";
        if (i == 0)
            *first = f;
        total += c;
    }
    *count = total;
    return NULL;
}

const char *rs_otree_check(const rs_otree *t)
{
    walk w = {.t = t};
    if (!t->root)
        return t->count || t->height || t->nleaves || t->ninner ? "an empty tree that counts"
                                                              : NULL;
    size_t count;
    const rs_oent *first;
    const char *bad = check_node(&w, t->root, 1, &count, &first);
    if (bad)
        return bad;
    if (w.last_leaf->next)
        return "the last leaf has a next";
    if (count != t->count)
        return "the tree's count is wrong";
    if (w.leaves != t->nleaves || w.inner != t->ninner)
        return "the counts of leaves or inner nodes are wrong";
    return NULL;
}

size_t rs_otree_bytes(const rs_otree *t)
{
    return (t->nleaves + t->ninner + t->nspare) * sizeof(rs_onode);
}
