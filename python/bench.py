"""relstore's Python package against Python's own sqlite3 module, side by side in one process.

    PYTHONPATH=build/python python3 python/bench.py [--authors 10000] [--repeats 5]

The seed's models (Author has many Books through Book.author, related_name "books"), with
realistic strings (names of 10-30 bytes, titles of 20-60, words of a fixed list, seeded),
AUTHORS authors x 10 books. SQLite is an in-memory database with the index on the foreign
key that Tortoise would need (book.author_id), queried with prepared statements through
sqlite3's cache; each row is read as a tuple. relstore is awaited on an asyncio loop, as a
Tortoise program would. Per operation, the median of REPEATS runs, each timing a loop over
random ids (the same ids for both):

  get by id            await Book.get(id=i), then .title  |  SELECT ... WHERE id = ?
  author.books         every book of an author, each title read  |  WHERE author_id = ?
  filter+order+limit   Book.filter(author=a, title__gt="M").order_by("-title").limit(3)
  create               await Book.create(title=..., author=a)  |  INSERT, one commit per run
  bulk create          await Book.bulk_create([...1000 books])  |  executemany of 1000

Prints a markdown table (microseconds per operation, the ratio sqlite3 / relstore, and the
ratio to the Tortoise-on-SQLite figures the issue measured), what making the objects of a
bulk create costs alone, then each target, met or not.
"""
import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import time

# This file's folder holds the package's sources, without the built extension: the built
# package comes from PYTHONPATH (or an install), not from here.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(
    os.path.abspath(__file__))]

from relstore import fields, init, models  # noqa: E402
from relstore import close as rs_close  # noqa: E402

WORDS = ("the", "of", "night", "river", "garden", "silent", "empire", "letters", "winter",
         "house", "stone", "light", "journey", "secret", "history", "island", "memory",
         "war", "song", "machine", "ocean", "glass", "city", "fire", "road", "dream")

# Tortoise ORM on SQLite, the seed's models, measured for the issue (microseconds).
TORTOISE = {"get by id": 235.0, "author.books": 510.0, "create": 122.0}


def text(rng, lo, hi):
    n = rng.randint(lo, hi)
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rng.choice(WORDS))
    return " ".join(out)[:n].strip().capitalize()


class Author(models.Model):
    name = fields.CharField(max_length=30)
    books = fields.ReverseRelation["Book"]


class Book(models.Model):
    title = fields.CharField(max_length=60)
    author = fields.ForeignKeyField("models.Author", related_name="books")


def make_data(authors, seed=7):
    rng = random.Random(seed)
    names = [text(rng, 10, 30) for _ in range(authors)]
    titles = [text(rng, 20, 60) for _ in range(authors * 10)]
    return names, titles


def setup_sqlite(names, titles):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE author (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL)")
    db.execute("CREATE TABLE book (id INTEGER PRIMARY KEY, title VARCHAR(60) NOT NULL, "
               "author_id INTEGER NOT NULL REFERENCES author (id) ON DELETE CASCADE)")
    db.execute("CREATE INDEX book_author_id ON book (author_id)")
    db.executemany("INSERT INTO author (id, name) VALUES (?, ?)",
                   [(i + 1, n) for i, n in enumerate(names)])
    db.executemany("INSERT INTO book (id, title, author_id) VALUES (?, ?, ?)",
                   [(i + 1, t, i // 10 + 1) for i, t in enumerate(titles)])
    db.commit()
    return db


async def setup_relstore(names, titles):
    await init(models=[Author, Book])
    authors = await Author.bulk_create([Author(name=n) for n in names])
    await Book.bulk_create([Book(title=t, author=authors[i // 10])
                            for i, t in enumerate(titles)])


def timed(fn, n):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) / n * 1e6


async def atimed(fn, n):
    t = time.perf_counter()
    await fn()
    return (time.perf_counter() - t) / n * 1e6


async def run(args):
    names, titles = make_data(args.authors)
    nbooks = len(titles)
    sq = setup_sqlite(names, titles)
    await setup_relstore(names, titles)
    rng = random.Random(11)
    ops = 20000
    book_ids = [rng.randint(1, nbooks) for _ in range(ops)]
    author_ids = [rng.randint(1, args.authors) for _ in range(ops // 4)]
    rs_authors = [await Author.get(id=i) for i in author_ids]
    new_titles = [text(rng, 20, 60) for _ in range(2000)]
    results = {k: ([], []) for k in ("get by id", "author.books", "filter+order+limit",
                                     "create", "bulk create")}
    sink = 0
    making = []  # microseconds per object to make the Book objects of a bulk create

    for _ in range(args.repeats):
        # get by id
        def sq_get():
            nonlocal sink
            cur = sq.cursor()
            for i in book_ids:
                row = cur.execute("SELECT id, title, author_id FROM book WHERE id = ?",
                                  (i,)).fetchone()
                sink += len(row[1])

        async def rs_get():
            nonlocal sink
            for i in book_ids:
                b = await Book.get(id=i)
                sink += len(b.title)

        results["get by id"][0].append(timed(sq_get, ops))
        results["get by id"][1].append(await atimed(rs_get, ops))

        # author.books
        def sq_books():
            nonlocal sink
            cur = sq.cursor()
            for i in author_ids:
                for row in cur.execute("SELECT id, title, author_id FROM book "
                                       "WHERE author_id = ?", (i,)).fetchall():
                    sink += len(row[1])

        async def rs_books():
            nonlocal sink
            for a in rs_authors:
                for b in a.books:
                    sink += len(b.title)

        results["author.books"][0].append(timed(sq_books, len(author_ids)))
        results["author.books"][1].append(await atimed(rs_books, len(author_ids)))

        # filter + order + limit
        def sq_query():
            nonlocal sink
            cur = sq.cursor()
            for i in author_ids:
                sink += len(cur.execute("SELECT id, title, author_id FROM book WHERE "
                                        "author_id = ? AND title > 'M' ORDER BY title DESC "
                                        "LIMIT 3", (i,)).fetchall())

        async def rs_query():
            nonlocal sink
            for a in rs_authors:
                sink += len(await Book.filter(author=a, title__gt="M")
                            .order_by("-title").limit(3))

        results["filter+order+limit"][0].append(timed(sq_query, len(author_ids)))
        results["filter+order+limit"][1].append(await atimed(rs_query, len(author_ids)))

        # create (the new books are deleted again after each run, on both sides)
        def sq_create():
            cur = sq.cursor()
            for k, t in enumerate(new_titles):
                cur.execute("INSERT INTO book (title, author_id) VALUES (?, ?)",
                            (t, author_ids[k] if k < len(author_ids) else 1))
            sq.commit()

        async def rs_create():
            for k, t in enumerate(new_titles):
                await Book.create(title=t, author=rs_authors[k % len(rs_authors)])

        results["create"][0].append(timed(sq_create, len(new_titles)))
        results["create"][1].append(await atimed(rs_create, len(new_titles)))
        sq.execute("DELETE FROM book WHERE id > ?", (nbooks,))
        sq.commit()
        await Book.filter(id__gt=nbooks).delete()

        # bulk create of 1000
        batch = new_titles[:1000]

        def sq_bulk():
            sq.executemany("INSERT INTO book (title, author_id) VALUES (?, ?)",
                           [(t, 1 + k % args.authors) for k, t in enumerate(batch)])
            sq.commit()

        async def rs_bulk():
            await Book.bulk_create([Book(title=t, author=rs_authors[k % len(rs_authors)])
                                    for k, t in enumerate(batch)])

        def rs_objects():  # the part of rs_bulk that is Python's: making the objects
            [Book(title=t, author=rs_authors[k % len(rs_authors)]) for k, t in enumerate(batch)]

        results["bulk create"][0].append(timed(sq_bulk, len(batch)))
        results["bulk create"][1].append(await atimed(rs_bulk, len(batch)))
        making.append(timed(rs_objects, len(batch)))
        sq.execute("DELETE FROM book WHERE id > ?", (nbooks,))
        sq.commit()
        await Book.filter(id__gt=nbooks).delete()

    await rs_close()
    print(f"### Python: {args.authors} authors x 10 books, realistic strings, "
          f"median of {args.repeats}\n")
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version} (in memory, "
          "index on book.author_id). Microseconds per operation.\n")
    print("| operation | sqlite3 | relstore | sqlite3 / relstore | Tortoise / relstore |")
    print("| --- | ---: | ---: | ---: | ---: |")
    verdicts = []
    for op, (s, r) in results.items():
        s, r = statistics.median(s), statistics.median(r)
        tort = TORTOISE.get(op)
        tcol = f"{tort / r:,.0f}x" if tort else "-"
        print(f"| {op} | {s:.2f} | {r:.2f} | {s / r:.1f}x | {tcol} |")
        verdicts.append((f"{op}: sqlite3 / relstore", s / r, 3))
        if op in ("get by id", "author.books"):
            verdicts.append((f"{op}: Tortoise ({tort:g} us) / relstore", tort / r, 100))
    make = statistics.median(making)
    bulk_sq = statistics.median(results["bulk create"][0])
    print(f"\nOf a bulk create, making the Book objects alone (Book(title=..., author=...), "
          f"as Tortoise's API asks) takes {make:.2f} us per object: "
          f"{100 * make / bulk_sq:.0f}% of sqlite3's whole executemany.")
    print("\n| target | measured | goal | |\n| --- | ---: | --- | --- |")
    for what, ratio, goal in verdicts:
        print(f"| {what} | {ratio:,.1f}x | >= {goal}x | {'met' if ratio >= goal else 'MISSED'} |")
    return sink


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--authors", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
