/*
 * store/strings.h - where a model's strings live when its slots cannot hold them.
 *
 * A string of up to RS_INLINE_MAX bytes lives inside its object's slot (store/model.h). A
 * longer one used to be a malloc() of its own: 16 bytes of the allocator's header, 8 of
 * length, and the bytes wherever the allocator found room, so that a walk over a parent's
 * children met one more cache miss per child. Now each model has a heap of pages, and a
 * string is appended to the page in use, with its length and place before it:
 *
 *   [length | offset in the page << 10, 3 bytes, little-endian][tag 2][the bytes][NUL]
 *
 * the bytes at an even address (a byte of padding before the header when needed), since the
 * low bit of a slot's string word marks a string inside the slot. The offset finds the
 * page's header when the string is freed; pages are plain allocations (an alignment that
 * found the header by rounding the address cost the allocator as much as the strings saved).
 * Objects created (or loaded) together have their strings side by side, in id order, so the
 * titles of an author's books lie on a few adjacent cache lines. A page counts the strings
 * alive in it and goes back to the allocator when the last one is freed; the page in use
 * starts again from its beginning instead. A string is never moved, so a pointer to it stays
 * good until its object is updated or deleted (store.h), as before.
 *
 * Since strings never move, a page stays while any of its strings lives: objects that die in
 * great numbers around a few that live on (a table of jobs that keeps one in a hundred)
 * would pin pages holding little. So a new page is made only while the pages are not mostly
 * dead: once they hold more than RS_STRPAGE_DEAD times the bytes of their living strings
 * (past RS_STRPAGE_SLACK pages), a string that does not fit the page in use gets an
 * allocation of its own instead, until deaths give pages back or new strings fill them.
 * The pages a model holds thus stay within RS_STRPAGE_DEAD times the most bytes its living
 * page strings ever took (plus the slack), whatever the number of strings ever written.
 *
 * Strings longer than RS_STRPAGE_MAX bytes, and those above, get an allocation of their own:
 *
 *   [the heap, 8 bytes][length, 8 bytes][the bytes][NUL]
 *
 * whose tag (the length's top byte, the byte before the string) is 0. A page string's tag 2
 * and an inline string's odd tag tell the three apart (rs_str_len()).
 *
 * Every call runs under the store's write lock (or while nobody else can reach the store).
 */
#ifndef RS_STORE_STRINGS_H
#define RS_STORE_STRINGS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a page. */
#define RS_STRPAGE_SIZE ((size_t)16384)
/* The longest string kept in a page, and the bits of the header its length takes. */
#define RS_STRPAGE_MAX ((size_t)1000)
#define RS_STR_LEN_BITS 10
/* New pages stop while the pages hold more than RS_STRPAGE_DEAD times the bytes of their
 * living strings, past RS_STRPAGE_SLACK pages. */
#define RS_STRPAGE_DEAD 4
#define RS_STRPAGE_SLACK 4
/* The tag byte before a page string. */
#define RS_STR_TAG_PAGE 2

typedef struct rs_strpage rs_strpage;

/* rs_strings_head() - the 3 bytes before page string S: its length | its offset in the page
 * << RS_STR_LEN_BITS. */
static inline uint32_t rs_strings_head(const char *s)
{
    const unsigned char *at = (const unsigned char *)s - 4;
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16;
}

typedef struct rs_strheap {
    rs_strpage *cur;   /* the page strings are appended to, or NULL */
    rs_strpage *pages; /* every page (cur among them), a doubly linked list */
    size_t npages;
    size_t nown;       /* strings of an allocation of their own, alive */
    size_t live;       /* bytes the living page strings take, their overhead included */
    size_t bytes;      /* bytes of pages and own allocations */
} rs_strheap;

/* rs_strings_new() - a store string in heap H: a copy of the LEN bytes at S (which need not be
 * NUL-ended), NUL-ended; NULL when out of memory. */
char *rs_strings_new(rs_strheap *h, const char *s, size_t len);

/* rs_strings_free() - free store string S (from rs_strings_new(), of any heap); NULL is allowed. */
void rs_strings_free(char *s);

/* rs_strings_free_all() - free every page of H at once (the store is closing), once the
 * strings of an allocation of their own (H->nown) are freed. */
void rs_strings_free_all(rs_strheap *h);

#endif
