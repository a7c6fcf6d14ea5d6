/*
 * bench/query_data.c - the query benchmark's data and the parameters of its runs, drawn
 * from one xorshift generator, so that a seed gives the same bytes on every machine and both
 * systems load exactly the same authors and books.
 *
 * Every string lives in one pool owned by the data; nothing here knows either system.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/query.h"

static const char *const first_names[] = {
    "Ada",     "Alice",     "Amelia",    "Anna",    "Arthur",  "Beatrice", "Benjamin", "Carlos",
    "Charles", "Charlotte", "Chen",      "Daniel",  "David",   "Eleanor",  "Elena",    "Emily",
    "Ethan",   "Fatima",    "Francis",   "Gabriel", "George",  "Grace",    "Hannah",   "Harold",
    "Helen",   "Henry",     "Isabel",    "Jacob",   "James",   "Jane",     "John",     "Joseph",
    "Julia",   "Karl",      "Katherine", "Laura",   "Leo",     "Lucy",     "Margaret", "Maria",
    "Mark",    "Martha",    "Matthew",   "Mei",     "Michael", "Nadia",    "Nathan",   "Olivia",
    "Omar",    "Oscar",     "Patricia",  "Paul",    "Rachel",  "Robert",   "Rosa",     "Samuel",
    "Sarah",   "Sofia",     "Thomas",    "Victor",  "Walter",  "William",  "Yuki",     "Zoe",
};

static const char *const last_names[] = {
    "Abbott",    "Adeyemi",    "Alvarez",   "Andersson",  "Baker",      "Barnes",      "Bauer",
    "Becker",    "Bennett",    "Bishop",    "Blackwood",  "Brennan",    "Brooks",      "Caldwell",
    "Campbell",  "Carter",     "Castillo",  "Chambers",   "Chandler",   "Christensen", "Clarke",
    "Coleman",   "Collins",    "Cooper",    "Crawford",   "Cunningham", "Dalton",      "Davies",
    "Delacroix", "Dixon",      "Donovan",   "Dubois",     "Edwards",    "Ellison",     "Evans",
    "Fairbanks", "Ferguson",   "Fernandez", "Fischer",    "Fitzgerald", "Fletcher",    "Foster",
    "Gallagher", "Garcia",     "Gardner",   "Goldberg",   "Gonzalez",   "Graham",      "Gray",
    "Hamilton",  "Hargreaves", "Harrison",  "Hartmann",   "Hawkins",    "Henderson",   "Hoffmann",
    "Holloway",  "Hughes",     "Ivanova",   "Jackson",    "Jensen",     "Johansson",   "Kaminski",
    "Kennedy",   "Kowalski",   "Lambert",   "Larsen",     "Lawrence",   "Lindqvist",   "Lopez",
    "Macdonald", "Marchetti",  "Martinez",  "McAllister", "Mendoza",    "Mitchell",    "Montgomery",
    "Moreau",    "Morrison",   "Nakamura",  "Novak",      "Nowak",      "O'Connor",    "Okafor",
    "Olsen",     "Patterson",  "Pemberton", "Petrov",     "Popescu",    "Quinn",       "Ramirez",
    "Reynolds",  "Richardson", "Robinson",  "Rossi",      "Russo",      "Sanderson",   "Schneider",
    "Schwartz",  "Sinclair",   "Sorensen",  "Stevenson",  "Sullivan",   "Sutherland",  "Tanaka",
    "Thompson",  "Thornton",   "Underwood", "Valentine",  "Vasquez",    "Wagner",      "Wakefield",
    "Wallace",   "Washington", "Weber",     "Whitaker",   "Williamson", "Winchester",  "Wright",
    "Yamamoto",  "Zimmermann",
};

/* A title's first word: a few are much more common than the rest, as in a real catalogue. */
static const char *const title_starts[] = {
    "The",    "The",     "The",    "The",    "A",      "A",        "An",      "Beyond",
    "Return", "Secrets", "Night",  "Under",  "After",  "Letters",  "Notes",   "Song",
    "House",  "Winter",  "Summer", "Last",   "First",  "City",     "Garden",  "River",
    "Shadow", "Silent",  "Broken", "Hidden", "Empire", "Children", "Memoirs", "Journey",
};

static const char *const title_words[] = {
    "of",      "the",          "and",        "in",        "a",       "on",         "at",
    "to",      "from",         "under",      "across",    "beyond",  "without",    "before",
    "sea",     "stars",        "kingdom",    "forgotten", "light",   "darkness",   "garden",
    "winter",  "mountain",     "river",      "city",      "glass",   "silver",     "golden",
    "iron",    "paper",        "storm",      "fire",      "ashes",   "bones",      "dreams",
    "promise", "history",      "science",    "art",       "war",     "peace",      "love",
    "memory",  "island",       "house",      "road",      "journey", "stranger",   "daughter",
    "son",     "mother",       "father",     "king",      "queen",   "thief",      "empire",
    "machine", "ghost",        "secret",     "silence",   "music",   "theory",     "practice",
    "guide",   "introduction", "principles", "complete",  "short",   "little",     "long",
    "last",    "first",        "hidden",     "broken",    "quiet",   "wild",       "ancient",
    "modern",  "northern",     "southern",   "eastern",   "western", "lost",       "found",
    "hundred", "thousand",     "years",      "days",      "nights",  "summer",     "autumn",
    "spring",  "letters",      "stories",    "poems",     "essays",  "chronicles", "tales",
};

#define COUNT(a) (sizeof(a) / sizeof *(a))

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static size_t below(rng *r, size_t n)
{
    return (size_t)(next(r) % n);
}

/* A copy of the LEN bytes at S in D's pool, with a NUL; NULL if out of memory. The pool is
 * sized for the data up front (qb_data_new()), so it never moves. */
static const char *keep(qb_data *d, const char *s, size_t len)
{
    if (d->used + len + 1 > d->cap)
        return NULL;
    char *p = d->pool + d->used;
    memcpy(p, s, len);
    p[len] = '\0';
    d->used += len + 1;
    return p;
}

/* An author's name of 10-30 bytes into BUF; its length. About 200,000 names are drawn
 * evenly: at 100,000 authors, an author's name is held by 1.5 authors on average. */
static size_t make_name(rng *r, char *buf)
{
    for (;;) {
        const char *first = first_names[below(r, COUNT(first_names))];
        const char *last = last_names[below(r, COUNT(last_names))];
        size_t initial = below(r, 27); /* 26: none */
        int n = initial < 26 ? snprintf(buf, 32, "%s %c. %s", first, (int)('A' + initial), last)
                             : snprintf(buf, 32, "%s %s", first, last);
        if (n >= 10 && n <= 30)
            return (size_t)n;
    }
}

/* A title of 20-60 bytes into BUF (at least 61 bytes); its length. */
static size_t make_title(rng *r, char *buf)
{
    size_t want = 20 + below(r, 41);
    size_t len = (size_t)snprintf(buf, 61, "%s", title_starts[below(r, COUNT(title_starts))]);
    while (len < want && len + 2 <= 60) { /* room for a space and a one-letter word */
        const char *w = title_words[below(r, COUNT(title_words))];
        size_t wl = strlen(w);
        if (len + 1 + wl > 60)
            continue; /* a shorter word will come: "a" fits */
        buf[len++] = ' ';
        memcpy(buf + len, w, wl + 1);
        len += wl;
    }
    return len;
}

static void fill_book(rng *r, qb_book *b, long authors)
{
    b->pages = 50 + (int64_t)below(r, 500) + (int64_t)below(r, 500);
    b->price = (double)(199 + below(r, 9801)) / 100.0;
    b->author = 1 + below(r, (size_t)authors);
}

qb_data *qb_data_new(long authors, uint64_t seed)
{
    qb_data *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    rng r = {seed | 1};
    d->authors = authors;
    d->books = (size_t)authors * 10;
    d->cap = (size_t)authors * 31 + d->books * 61;
    d->names = malloc((size_t)authors * sizeof *d->names);
    d->book = malloc(d->books * sizeof *d->book);
    d->pool = malloc(d->cap);
    bool ok = d->names && d->book && d->pool;
    char buf[64];
    for (long a = 0; ok && a < authors; a++) {
        size_t n = make_name(&r, buf);
        ok = (d->names[a] = keep(d, buf, n)) != NULL;
    }
    for (size_t b = 0; ok && b < d->books; b++) {
        size_t n = make_title(&r, buf);
        ok = (d->book[b].title = keep(d, buf, n)) != NULL;
        fill_book(&r, &d->book[b], authors);
    }
    if (!ok) {
        qb_data_free(d);
        return NULL;
    }
    return d;
}

void qb_data_free(qb_data *d)
{
    if (!d)
        return;
    free(d->names);
    free(d->book);
    free(d->pool);
    free(d);
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The books' pages, sorted (for ranges that hold 1% of the books); NULL if out of memory. */
static int64_t *sorted_pages(const qb_data *d)
{
    int64_t *v = malloc(d->books * sizeof *v);
    for (size_t b = 0; v && b < d->books; b++)
        v[b] = d->book[b].pages;
    if (v)
        qsort(v, d->books, sizeof *v, by_value);
    return v;
}

/* The parameters of one run of QUERY: what each query reads of them. PAGES: the books'
 * pages, sorted, for QB_UPDATE. */
static void draw(const qb_data *d, int query, rng *r, const int64_t *pages, qb_param *p)
{
    const qb_book *b = &d->book[below(r, d->books)]; /* a book: its author has one */
    p->author = b->author;
    p->name = d->names[b->author - 1];
    size_t w = strcspn(b->title, " ");
    snprintf(p->prefix, sizeof p->prefix, "%.*s ", (int)w, b->title);
    snprintf(p->glob, sizeof p->glob, "%s*", p->prefix);
    switch (query) {
    case QB_FK_TOP:
        p->lo = 200 + (int64_t)below(r, 700);
        break;
    case QB_RANGE_COUNT:
    case QB_RANGE_SCAN:
        p->lo = 50 + (int64_t)below(r, 950);
        p->hi = p->lo + 10 + (int64_t)below(r, 41);
        break;
    case QB_MANY_BOOKS:
        p->lo = 13 + (int64_t)below(r, 5);
        break;
    case QB_UPDATE: { /* a range from one book's pages to those of the book 1% further on */
        size_t at = below(r, d->books - d->books / 100);
        p->lo = pages[at];
        p->hi = pages[at + d->books / 100];
        p->price = (double)(199 + below(r, 9801)) / 100.0;
        break;
    }
    default:
        break;
    }
}

qb_param *qb_params(const qb_data *d, int query, size_t n, uint64_t seed)
{
    qb_param *p = calloc(n ? n : 1, sizeof *p);
    int64_t *pages = query == QB_UPDATE ? sorted_pages(d) : NULL;
    if (query == QB_UPDATE && !pages) {
        free(p);
        return NULL;
    }
    rng r = {(seed ^ (uint64_t)(qb_base(query) + 1) * 0x9e3779b97f4a7c15u) | 1};
    for (size_t i = 0; p && i < n; i++)
        draw(d, query, &r, pages, &p[i]);
    free(pages);
    return p;
}
