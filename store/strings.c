/*
 * store/strings.c - the pages of a model's long strings (store/strings.h says why).
 */
#include "store/strings.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rs_strpage {
    rs_strpage *next, *prev;
    rs_strheap *heap;
    uint32_t used; /* bytes handed out, the header's included */
    uint32_t live; /* strings alive in the page */
};

/* What a page string costs beyond its bytes: its length and place, its tag, its NUL, and a
 * byte to start it at an even address at most. */
enum { PAGE_EXTRA = 6 };

_Static_assert(RS_STRPAGE_MAX + PAGE_EXTRA + sizeof(rs_strpage) <= RS_STRPAGE_SIZE,
               "a page holds the longest page string");
_Static_assert(RS_STRPAGE_MAX < (1 << RS_STR_LEN_BITS) &&
                   RS_STRPAGE_SIZE <= (size_t)1 << (24 - RS_STR_LEN_BITS),
               "a page string's length and place take 3 bytes");

static void page_unlink(rs_strheap *h, rs_strpage *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        h->pages = p->next;
    if (p->next)
        p->next->prev = p->prev;
    h->npages--;
    h->bytes -= RS_STRPAGE_SIZE;
}

/* A new page, made the one in use; NULL when out of memory (the heap is unchanged). */
static rs_strpage *page_new(rs_strheap *h)
{
    rs_strpage *p = malloc(RS_STRPAGE_SIZE);
    if (!p)
        return NULL;
    *p = (rs_strpage){.next = h->pages, .heap = h, .used = sizeof *p};
    if (h->pages)
        h->pages->prev = p;
    h->pages = p;
    h->npages++;
    h->bytes += RS_STRPAGE_SIZE;
    /* The page left behind holds a string at least (the page in use starts over when it
     * empties, so a string always fits it then): it goes back with its last one. */
    h->cur = p;
    return p;
}

/* A string of an allocation of its own: a copy of the LEN bytes at S, or NULL. */
static char *own_new(rs_strheap *h, const char *s, size_t len)
{
    uint64_t *own = malloc(2 * sizeof(uint64_t) + len + 1);
    if (!own)
        return NULL;
    own[0] = (uint64_t)(uintptr_t)h;
    own[1] = len;
    char *c = (char *)(own + 2);
    memcpy(c, s, len);
    c[len] = 0;
    h->nown++;
    h->bytes += 2 * sizeof(uint64_t) + len + 1;
    return c;
}

char *rs_strings_new(rs_strheap *h, const char *s, size_t len)
{
    if (len > RS_STRPAGE_MAX)
        return own_new(h, s, len);
    /* The string starts at an even address: the low bit of a slot's word tells an inline
     * string (store/model.h). */
    rs_strpage *p = h->cur;
    size_t start = p ? (p->used + 4 + 1) & ~(size_t)1 : 0;
    if (!p || start + len + 1 > RS_STRPAGE_SIZE) {
        if (h->npages >= RS_STRPAGE_SLACK &&
            h->npages * RS_STRPAGE_SIZE > RS_STRPAGE_DEAD * h->live)
            return own_new(h, s, len); /* the pages are mostly dead: see strings.h */
        if (!(p = page_new(h)))
            return NULL;
        start = (p->used + 4 + 1) & ~(size_t)1;
    }
    unsigned char *at = (unsigned char *)p + start - 4;
    uint32_t v = (uint32_t)len | (uint32_t)start << RS_STR_LEN_BITS;
    at[0] = (unsigned char)(v & 0xff);
    at[1] = (unsigned char)(v >> 8 & 0xff);
    at[2] = (unsigned char)(v >> 16);
    at[3] = RS_STR_TAG_PAGE;
    char *c = (char *)at + 4;
    memcpy(c, s, len);
    c[len] = 0;
    p->used = (uint32_t)(start + len + 1);
    p->live++;
    h->live += len + PAGE_EXTRA;
    return c;
}

void rs_strings_free(char *s)
{
    if (!s)
        return;
    unsigned char tag = (unsigned char)s[-1];
    assert(!(tag & 1) && "an inline string is not freed");
    if (tag != RS_STR_TAG_PAGE) {
        uint64_t *own = (uint64_t *)(void *)s - 2;
        rs_strheap *h = (rs_strheap *)(uintptr_t)own[0];
        h->nown--;
        h->bytes -= 2 * sizeof(uint64_t) + own[1] + 1;
        free(own);
        return;
    }
    uint32_t v = rs_strings_head(s);
    rs_strpage *p = (rs_strpage *)(void *)(s - (v >> RS_STR_LEN_BITS));
    rs_strheap *h = p->heap;
    assert(p->live > 0);
    h->live -= (v & ((1u << RS_STR_LEN_BITS) - 1)) + PAGE_EXTRA;
    if (--p->live)
        return;
    if (p == h->cur) {
        p->used = sizeof *p; /* empty: start again from the beginning */
        return;
    }
    page_unlink(h, p);
    free(p);
}

void rs_strings_free_all(rs_strheap *h)
{
    assert(!h->nown && "strings of their own are freed one by one first");
    for (rs_strpage *p = h->pages, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    h->bytes -= h->npages * RS_STRPAGE_SIZE;
    h->pages = h->cur = NULL;
    h->npages = 0;
}
