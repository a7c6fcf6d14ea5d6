"""The Python package against its promise: Tortoise's model API on relstore.

Run by make test (meson test python), with the built package on PYTHONPATH:
    PYTHONPATH=build/python python3 -m unittest discover -s python/tests
"""
import asyncio
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import relstore
from relstore import (DoesNotExist, IntegrityError, MultipleObjectsReturned, Q,
                      ValidationError, fields, in_transaction, models)


class Author(models.Model):
    name = fields.CharField(max_length=30, unique=True)
    born = fields.IntField(null=True, index=True)
    rating = fields.FloatField(default=0.5)
    active = fields.BooleanField(default=True)
    bio = fields.TextField(null=True)
    books = fields.ReverseRelation["Book"]


class Tag(models.Model):
    name = fields.CharField(max_length=20, unique=True)


class Book(models.Model):
    title = fields.CharField(max_length=60)
    pages = fields.IntField(default=100)
    author = fields.ForeignKeyField("models.Author", related_name="books",
                                    on_delete=fields.CASCADE)
    tags = fields.ManyToManyField("models.Tag", related_name="books")


_serial = iter(range(1000, 10 ** 9))


class Ticket(models.Model):
    """A default computed by Python, once per object."""
    number = fields.IntField(default=lambda: next(_serial))
    note = fields.CharField(max_length=20, default="new")


class Cover(models.Model):
    book = fields.OneToOneField("models.Book", related_name="cover",
                                on_delete=fields.RESTRICT)
    color = fields.CharField(max_length=10, default="red")


class Person(models.Model):
    """Fields whose names run into each other ("F" + "Name" is "FName")."""
    Age = fields.IntField()
    Name = fields.CharField(max_length=20)
    FName = fields.CharField(max_length=20)


MODELS = [Author, Tag, Book, Cover, Ticket]


class StoreCase(unittest.IsolatedAsyncioTestCase):
    path = None

    async def asyncSetUp(self):
        await relstore.init(path=self.path, models=MODELS)
        self.john = await Author.create(name="John Doe", born=1950)
        self.jane = await Author.create(name="Jane Roe", born=1960, rating=4.5)
        for i in range(1, 4):
            await Book.create(title=f"Book {i}", author=self.john, pages=100 * i)
        await Book.create(title="Other", author=self.jane)

    async def asyncTearDown(self):
        if relstore._core.is_open():
            relstore.check()
            await relstore.close()


class ObjectsTest(StoreCase):
    async def test_create_gives_ids_and_defaults(self):
        self.assertEqual((self.john.id, self.jane.id), (1, 2))
        self.assertEqual(self.john.pk, 1)
        self.assertEqual(self.john.rating, 0.5)
        self.assertIs(self.john.active, True)
        self.assertIsNone(self.john.bio)
        self.assertEqual(self.jane.rating, 4.5)

    async def test_get_and_get_or_none(self):
        a = await Author.get(id=1)
        self.assertEqual(a.name, "John Doe")
        self.assertEqual(a, self.john)
        self.assertEqual(hash(a), hash(self.john))
        self.assertEqual((await Author.get(name="Jane Roe")).id, 2)
        self.assertIsNone(await Author.get_or_none(id=99))
        self.assertIsNone(await Author.get_or_none(name="Nobody"))
        with self.assertRaises(DoesNotExist) as e:
            await Author.get(id=99)
        self.assertIn("99", str(e.exception))
        with self.assertRaises(DoesNotExist):
            await Book.get(title="Nothing")
        with self.assertRaises(MultipleObjectsReturned):
            await Book.get(author=self.john)

    async def test_foreign_key_reads_the_parent(self):
        b = await Book.get(id=1)
        self.assertEqual(b.author, self.john)
        self.assertEqual(b.author_id, 1)
        self.assertEqual(await b.author, self.john)  # awaitable, as Tortoise's
        self.assertEqual(b.author.name, "John Doe")

    async def test_save_creates_and_updates(self):
        a = Author(name="New One")
        self.assertIsNone(a.id)
        self.assertEqual(a.rating, 0.5)
        await a.save()
        self.assertEqual(a.id, 3)
        a.name = "Renamed"
        self.assertEqual(a.name, "Renamed")
        await a.save()
        self.assertEqual((await Author.get(id=3)).name, "Renamed")

    async def test_delete_cascades_and_keeps_the_values(self):
        await self.john.delete()
        self.assertIsNone(self.john.id)
        self.assertEqual(self.john.name, "John Doe")
        self.assertEqual(await Book.all().count(), 1)
        self.assertIsNone(await Author.get_or_none(id=1))

    async def test_update_from_dict_and_refresh(self):
        self.john.update_from_dict({"born": 1951})
        self.assertEqual(self.john.born, 1951)
        await self.john.refresh_from_db()
        self.assertEqual(self.john.born, 1950)

    async def test_get_or_create_and_update_or_create(self):
        a, created = await Author.get_or_create(name="John Doe")
        self.assertFalse(created)
        self.assertEqual(a, self.john)
        a, created = await Author.get_or_create(name="Third", defaults={"born": 1990})
        self.assertTrue(created)
        self.assertEqual((a.id, a.born), (3, 1990))
        a, created = await Author.update_or_create(name="Third", defaults={"born": 1991})
        self.assertFalse(created)
        self.assertEqual(a.born, 1991)

    async def test_bulk_create_returns_the_objects_with_ids(self):
        new = [Author(name=f"Bulk {i}") for i in range(5)]
        made = await Author.bulk_create(new)
        self.assertEqual([a.id for a in made], [3, 4, 5, 6, 7])
        self.assertIs(made[0], new[0])
        self.assertEqual((await Author.get(id=7)).name, "Bulk 4")
        with self.assertRaises(IntegrityError):
            await Author.bulk_create([Author(name="Fresh"), Author(name="John Doe")])
        self.assertIsNone(await Author.get_or_none(name="Fresh"), "all or nothing")

    async def test_bulk_create_rows_of_every_shape(self):
        rows = [Book(title="B1", author=self.jane), Book(title="B2", author_id=1, pages=7),
                Book(title="B3", author=self.john, pages=9)]
        made = await Book.bulk_create(rows)
        self.assertEqual([(b.title, b.author.name, b.pages) for b in made],
                         [("B1", "Jane Roe", 100), ("B2", "John Doe", 7), ("B3", "John Doe", 9)])
        made = relstore._core.create_many(Book, [{"title": "D1", "author": self.jane},
                                                 {"title": "D2", "author_id": 2}])
        self.assertEqual([b.author for b in made], [self.jane, self.jane])
        with self.assertRaises(ValueError):
            await Book.bulk_create([made[0]])  # saved already
        with self.assertRaises(ValidationError) as e:
            await Book.bulk_create([Book(title="ok", author=self.jane),
                                    Book(title="x" * 61, author=self.jane)])
        self.assertIn("row 1", str(e.exception))
        with self.assertRaises(IntegrityError):
            await Book.bulk_create([Book(title="ok", author_id=99)])
        rated = await Author.bulk_create([Author(name=f"R{i}", rating=i) for i in range(3)])
        self.assertEqual([(a.name, a.rating) for a in rated], [("R0", 0.0), ("R1", 1.0),
                                                                ("R2", 2.0)])
        self.assertIsInstance(rated[2].rating, float)
        with self.assertRaises(ValidationError) as e:  # one call site, a bad value in row 1
            await Author.bulk_create([Author(name=n, rating=1) for n in ("S0", 5, "S2")])
        self.assertIn("name", str(e.exception))
        self.assertEqual(await Book.filter(title="ok").count(), 0, "all or nothing")

    async def test_unsaved_objects_keep_their_keywords(self):
        b = Book(title="Kw", author=self.jane)
        self.assertEqual(b._pending, {"title": "Kw", "author": self.jane})
        b.pages = 5  # set after: one dict of values
        self.assertEqual((b.title, b.pages), ("Kw", 5))
        kept = [Book(title="Plain", author=self.john), b]
        await Book.bulk_create(kept)  # one row as made, one changed since
        self.assertEqual([(x.title, x.pages, x.author) for x in kept],
                         [("Plain", 100, self.john), ("Kw", 5, self.jane)])
        self.assertIsNone(kept[0]._pending)
        c = Book(title="Dropped", author=self.john)
        c._pending = None
        self.assertIsNone(c.title)
        d = Book(title="Saved", author=self.john)
        await d.save()
        self.assertEqual((await Book.get(id=d.id)).title, "Saved")
        import gc
        import weakref
        box = []
        e = Book(title=box)  # a cycle through the keyword values
        box.append(e)
        gone = weakref.ref(e)
        del e, box
        gc.collect()
        self.assertIsNone(gone(), "the collector sees the keyword values")

    async def test_class_calls_are_the_class_own(self):
        b = Book(title="Unsaved", author=self.john)  # made in C (object_vectorcall)
        self.assertEqual((b.title, b.author, b.id, Book().title), ("Unsaved", self.john, None,
                                                                   None))
        with self.assertRaises(TypeError):
            Book("positional")
        self.assertIs(Book.create, Book.create)
        self.assertIn("Book.create", repr(Book.create))
        self.assertEqual((await self.john.get(id=2)).name, "Jane Roe")  # from an instance too

        class Shelf(models.Model):
            label = fields.CharField(max_length=10)
            made = []

            @classmethod
            def create(cls, **values):  # the class's own create is kept
                cls.made.append(values)
                return super().create(**values)

        self.assertNotIsInstance(vars(Shelf)["create"], relstore._core.ClassCall)
        self.assertNotIn("get", vars(Shelf))
        await relstore.close()
        await relstore.init(models=MODELS + [Shelf])
        s = await Shelf.create(label="top")
        self.assertEqual((Shelf.made, s.label, s.id), ([{"label": "top"}], "top", 1))
        self.assertEqual((await Shelf.filter(label="top").get()).id, 1)

    async def test_class_calls_act_as_class_methods(self):
        self.assertIs(Book.create.__self__, Book)
        self.assertEqual((Book.create.__name__, Book.create.__qualname__), ("create", "Book.create"))
        self.assertEqual((await Book.filter.__func__(Book, title="Other")), [await Book.get(id=4)])
        self.assertEqual((await Author.get.__func__(Author, id=1)).name, "John Doe")

        class Library(models.Model):  # another model's call kept as an attribute stays its own
            new_book = Book.create
            titled = Book.filter
        self.assertIs(Library.titled(title="x").model, Book)
        self.assertEqual((await Library.new_book(title="Lib", author=self.jane)).author, self.jane)
        with mock.patch.object(models.Model, "create", lambda cls=None, **kw: "patched"):
            self.assertEqual(Author.create(name="P"), "patched")  # a patch of the base is seen
        self.assertIsNone(await Author.get_or_none(name="P"))
        self.assertEqual((await Author.create(name="After")).name, "After")
        seen = []  # objects are made in C unless the metaclass's call is another one

        def call(cls, *args, **kwargs):
            seen.append(cls)
            return type.__call__(cls, *args, **kwargs)
        with mock.patch.object(models.ModelMeta, "__call__", call):
            self.assertEqual(Book(title="Seen").title, "Seen")
        Book(title="Unseen")
        self.assertEqual(seen, [Book])

    async def test_querysets_of_names_that_run_into_each_other(self):
        await relstore.close()
        await relstore.init(models=MODELS + [Person])
        await Person.create(Age=30, Name="Bob", FName="Alice")
        await Person.create(Age=30, Name="Alice", FName="Bob")
        await Person.create(Age=40, Name="Bob", FName="Bob")
        names = lambda ps: [(p.Name, p.FName) for p in ps]
        for _ in range(2):  # a second time through the kept queries
            self.assertEqual(names(await Person.filter(Age=30).filter(Name="Bob")),
                             [("Bob", "Alice")])
            self.assertEqual(names(await Person.filter(Age=30, FName="Bob")), [("Alice", "Bob")])
            self.assertEqual(names(await Person.filter(Age=30).exclude(Name="Bob")),
                             [("Alice", "Bob")])
            with self.assertRaises(ValidationError):
                await Person.filter(Age=30, XName="Bob")


class DefaultsTest(StoreCase):
    async def test_a_callable_default_is_computed_once_per_object(self):
        t1 = await Ticket.create()
        t2 = Ticket()
        self.assertEqual(t2.number, t2.number, "computed as the object is made, not per read")
        await t2.save()
        t3, t4 = await Ticket.bulk_create([Ticket(), Ticket(number=5)])
        self.assertEqual([t.number for t in (t1, t2, t3)], sorted({t1.number, t2.number,
                                                                   t3.number}))
        self.assertEqual((t4.number, t4.note), (5, "new"))
        self.assertEqual((await Ticket.get(id=t2.id)).number, t2.number)


class ErrorsTest(StoreCase):
    async def test_unique_is_integrity_error_with_detail(self):
        with self.assertRaises(IntegrityError) as e:
            await Author.create(name="John Doe")
        self.assertIn("name", str(e.exception))

    async def test_bad_values_are_validation_errors(self):
        with self.assertRaises(ValidationError):
            await Author.create(name="x" * 31)  # max_length
        with self.assertRaises(ValidationError):
            await Author.create(name="Bad", born="1950")  # type
        with self.assertRaises(ValidationError):
            await Author.create(name="Bad", nope=1)  # no such field
        with self.assertRaises(ValidationError):
            await Book.create(title="No author")  # required
        with self.assertRaises(ValidationError):
            await Author.create(name="Big", born=2 ** 70)

    async def test_restrict_refuses_the_delete(self):
        b = await Book.get(id=1)
        await Cover.create(book=b)
        with self.assertRaises(IntegrityError):
            await b.delete()
        self.assertIsNotNone(await Book.get_or_none(id=1))

    async def test_a_closed_store_is_an_error_not_a_crash(self):
        a = self.john
        await relstore.close()
        with self.assertRaises(relstore.OperationalError):
            a.name
        with self.assertRaises(relstore.OperationalError):
            await Author.get(id=1)


class QueryTest(StoreCase):
    async def test_filter_exclude_order_limit_offset(self):
        titles = lambda objs: [o.title for o in objs]
        self.assertEqual(titles(await Book.filter(author=self.john)),
                         ["Book 1", "Book 2", "Book 3"])
        self.assertEqual(titles(await Book.filter(author__name="John Doe").order_by("-pages")),
                         ["Book 3", "Book 2", "Book 1"])
        self.assertEqual(titles(await Book.all().order_by("-id").limit(2).offset(1)),
                         ["Book 3", "Book 2"])
        self.assertEqual(titles(await Book.exclude(title__startswith="Book")), ["Other"])
        self.assertEqual(titles(await Book.filter(pages__gte=200, pages__lt=300)), ["Book 2"])
        self.assertEqual(titles(await Book.filter(title__in=["Book 1", "Other"])),
                         ["Book 1", "Other"])
        self.assertEqual(titles(await Book.filter(author_id=2)), ["Other"])
        self.assertEqual(titles(await Book.all()[1:3]), ["Book 2", "Book 3"])
        self.assertEqual(await Book.all().limit(0), [])

    async def test_q_objects(self):
        q = Q(title="Book 1") | Q(author__name="Jane Roe")
        self.assertEqual([b.id for b in await Book.filter(q)], [1, 4])
        self.assertEqual([b.id for b in await Book.filter(~q)], [2, 3])
        self.assertEqual([b.id for b in await Book.filter(Q(q, Q(pages=100), join_type="AND"))],
                         [1, 4])

    async def test_count_exists_first_values(self):
        self.assertEqual(await Book.filter(author=self.john).count(), 3)
        self.assertTrue(await Book.exists(title="Other"))
        self.assertFalse(await Book.filter(title="None").exists())
        self.assertEqual((await Book.all().order_by("-id").first()).title, "Other")
        self.assertIsNone(await Book.filter(title="None").first())
        self.assertEqual(await Author.filter(born__lt=1955).values_list("name", flat=True),
                         ["John Doe"])
        self.assertEqual(await Book.filter(id=4).values("title", "author__name"),
                         [{"title": "Other", "author__name": "Jane Roe"}])
        self.assertEqual(await Author.filter(books__count=3).count(), 1)

    async def test_update_and_delete_querysets(self):
        self.assertEqual(await Book.filter(author=self.john).update(pages=7), 3)
        self.assertEqual([b.pages for b in await Book.filter(author=self.john)], [7, 7, 7])
        self.assertEqual(await Book.filter(pages=7).delete(), 3)
        self.assertEqual(await Book.all().count(), 1)

    async def test_async_for(self):
        seen = [b.title async for b in Book.filter(author=self.jane)]
        self.assertEqual(seen, ["Other"])

    async def test_an_unknown_field_names_the_term(self):
        with self.assertRaises(ValidationError) as e:
            await Book.filter(nope=1)
        self.assertIn("nope", str(e.exception))


class QuerySetTest(StoreCase):
    """The building calls (in C, _core.Query) and the kept queries: a queryset of plain terms
    is built once per shape and run with each call's values, which must answer as a query
    built for those values would."""

    def titles(self, objs):
        return [o.title for o in objs]

    async def test_building_makes_new_querysets(self):
        q = Book.filter(author=self.john)
        q2 = q.filter(pages__gt=100).order_by("-pk").limit(2).offset(1)
        self.assertIsInstance(q2, relstore.QuerySet)
        self.assertEqual((len(q._where), q._order, q._limit, q._offset), (1, (), 0, 0))
        self.assertEqual((len(q2._where), q2._order, q2._limit, q2._offset),
                         (2, ("-id",), 2, 1))
        self.assertEqual(Book.all().order_by("pk")._order, ("id",))
        self.assertEqual(self.titles(await q2), ["Book 2"])
        self.assertEqual(self.titles(await q), ["Book 1", "Book 2", "Book 3"])
        with self.assertRaises(AttributeError):
            q._limit = 3
        with self.assertRaises(TypeError):
            Book.all().order_by(3)
        with self.assertRaises(relstore.ParamsError):
            Book.all().limit(-1)
        with self.assertRaises(relstore.ParamsError):
            Book.all().offset(-1)
        with self.assertRaises(AttributeError):
            Book.filter("not a Q")

    async def test_one_shape_with_other_values(self):
        shape = lambda a, p: Book.filter(author=a, pages__gt=p).order_by("-pages").limit(2)
        for a, p, want in ((self.john, 150, ["Book 3", "Book 2"]), (self.jane, 0, ["Other"]),
                           (self.john, 250, ["Book 3"]), (self.john, 300, []),
                           (self.jane, 100, []), (self.john, 0, ["Book 3", "Book 2"])):
            self.assertEqual(self.titles(await shape(a, p)), want, (a.name, p))
        for ids, want in (([1, 2], ["Book 1", "Book 2"]), ([4], ["Other"]), ([], []),
                          ([3, 3, 9, 1], ["Book 1", "Book 3"])):
            self.assertEqual(self.titles(await Book.filter(id__in=ids)), want, ids)
        for t, want in (("Book 2", ["Book 1", "Book 3", "Other"]), ("x", ["Book 1", "Book 2",
                                                                          "Book 3", "Other"])):
            self.assertEqual(self.titles(await Book.exclude(title=t)), want)
        for born, want in ((None, []), (1950, ["John Doe"]), (1960, ["Jane Roe"])):
            self.assertEqual([a.name for a in await Author.filter(born=born)], want)
        for aid, want in ((1, 3), (2, 1), (99, 0)):
            self.assertEqual(await Book.filter(author_id=aid).count(), want)

    async def test_a_value_that_does_not_fit_is_refused_each_time(self):
        for _ in range(3):
            with self.assertRaises(ValidationError):
                await Book.filter(pages="many")
            self.assertEqual(self.titles(await Book.filter(pages=100)), ["Book 1", "Other"])

    async def test_every_action_runs_a_kept_shape(self):
        for a, n in ((self.john, 3), (self.jane, 1)):
            q = Book.filter(author=a)
            self.assertEqual(await q.count(), n)
            self.assertTrue(await q.exists())
            self.assertEqual((await q.first()).author, a)
        self.assertEqual((await Book.filter(title="Other").get()).author, self.jane)
        with self.assertRaises(MultipleObjectsReturned):
            await Book.filter(author=self.john).get()
        self.assertEqual(await Book.filter(author=self.jane).update(pages=9), 1)
        self.assertEqual(await Book.filter(author=self.john).update(pages=8), 3)
        self.assertEqual(await Book.filter(pages=8).delete(), 3)
        self.assertEqual(await Book.filter(pages=9).delete(), 1)
        self.assertEqual(await Book.all().count(), 0)

    async def test_more_shapes_than_are_kept(self):
        for n in range(1, 700):  # each limit is a shape of its own: more than the 512 kept
            self.assertEqual(len(await Book.all().order_by("-id").limit(n)), min(n, 4))
        self.assertEqual(self.titles(await Book.filter(title="Other")), ["Other"])

    async def test_kept_queries_go_with_their_store(self):
        self.assertEqual(await Book.filter(author_id=1, pages__gte=200).count(), 2)
        await relstore.close()
        await relstore.init(models=MODELS)
        a = await Author.create(name="New")
        await Book.create(title="Only", author=a, pages=500)
        self.assertEqual(await Book.filter(author_id=1, pages__gte=200).count(), 1)


class RelationsTest(StoreCase):
    async def test_reverse_relation_is_there_without_a_query(self):
        author = await Author.get(id=1)
        self.assertEqual([b.title for b in author.books], ["Book 1", "Book 2", "Book 3"])
        self.assertEqual(len(author.books), 3)
        self.assertEqual(await author.books.all(), list(author.books))
        self.assertEqual([b.id for b in await author.books], [1, 2, 3])
        self.assertEqual([b.title for b in await author.books.filter(pages__gt=100)],
                         ["Book 2", "Book 3"])
        self.assertEqual(await author.books.count(), 3)
        self.assertEqual(len(self.jane.books), 1)
        await Book.create(title="Book 4", author=author)
        self.assertEqual(len(author.books), 4)

    async def test_one_to_one(self):
        b = await Book.get(id=2)
        self.assertIsNone(b.cover)
        c = await Cover.create(book=b)
        self.assertEqual(b.cover, c)
        self.assertEqual(c.color, "red")
        with self.assertRaises(IntegrityError):
            await Cover.create(book=b)

    async def test_many_to_many(self):
        sf, fun = await Tag.create(name="sf"), await Tag.create(name="fun")
        b1, b2 = await Book.get(id=1), await Book.get(id=2)
        await b1.tags.add(sf, fun)
        await b2.tags.add(sf)
        self.assertEqual([t.name for t in b1.tags], ["sf", "fun"])
        self.assertEqual([b.id for b in sf.books], [1, 2])
        self.assertEqual(len(fun.books), 1)
        self.assertEqual([b.id for b in await Book.filter(tags__name="sf")], [1, 2])
        await b1.tags.remove(sf)
        self.assertEqual([t.name for t in b1.tags], ["fun"])
        await sf.books.clear()
        self.assertEqual(len(b2.tags), 0)


class TransactionTest(StoreCase):
    async def test_commit_and_rollback(self):
        async with in_transaction():
            await Author.create(name="In")
        self.assertIsNotNone(await Author.get_or_none(name="In"))
        with self.assertRaises(ZeroDivisionError):
            async with in_transaction():
                await Author.create(name="Out")
                await Book.filter(author=self.john).delete()
                1 / 0
        self.assertIsNone(await Author.get_or_none(name="Out"))
        self.assertEqual(await Book.filter(author=self.john).count(), 3)


class MisuseTest(StoreCase):
    """What a careless or hostile program can do: an error, never a crash."""

    async def test_close_while_objects_are_in_use(self):
        a = self.john
        books = self.john.books
        task = asyncio.create_task(relstore.close())
        await asyncio.sleep(0)  # the close has begun on its thread
        with self.assertRaises(relstore.OperationalError):
            a.name
        with self.assertRaises(relstore.OperationalError):
            list(books)
        await task
        self.assertEqual(repr(a), "<Author: 1>")  # the id is the wrapper's own
        self.assertEqual(a.id, 1)

    async def test_changes_during_a_walk(self):
        it = iter(self.john.books)
        first = next(it)
        await (await Book.get(id=2)).delete()
        self.assertEqual([b.id for b in it], [3])
        for b in self.john.books:
            await self.john.delete()  # the parent and every child go
        self.assertEqual(await Book.filter(author_id=1).count(), 0)
        self.assertIsNotNone(first)

    async def test_a_list_whose_items_are_made_as_it_is_read(self):
        class Made(list):
            def __iter__(self):
                return (x * 2 for x in list.__iter__(self))
        self.assertEqual([b.title for b in await Book.filter(title__in=Made(["Other"]))], [])
        self.assertEqual(len(await Book.filter(title__in=Made(["Book 1"[:3]]))), 0)

    async def test_awaitables_and_descriptors(self):
        r = Author.get(id=1)
        self.assertEqual(await r, self.john)
        with self.assertRaises(RuntimeError):
            await r
        with self.assertRaises(ValueError):
            relstore._core.ready(1).throw(ValueError("x"))
        a = await Author.get(id=1)
        a.__class__ = Book
        with self.assertRaises(TypeError):
            a.title
        with self.assertRaises(TypeError):
            Book.__dict__["title"].__set__(12345678, "x")

        class Bare:
            x = relstore._core.Field.__new__(relstore._core.Field)
        with self.assertRaises(TypeError):
            Bare().x
        with self.assertRaises(TypeError):
            hash(Author(name="unsaved"))
        self.assertEqual(hash(self.john), hash(await Author.get(id=1)))

    async def test_keyword_values_changed_while_they_become_a_dict(self):
        box = {}

        class Name(str):  # its hash runs while the object's values become a dict
            def __hash__(self):
                o = box.pop("o", None)
                if o is not None and box["how"] == "drop":
                    o._pending = None
                elif o is not None:
                    o.title
                return str.__hash__(self)
            __eq__ = str.__eq__
        for how, title in (("drop", None), ("read", "T")):
            b = Book(**{"title": "T", Name("pages"): 5, "author": self.john})
            box.update(o=b, how=how)
            self.assertEqual(b.title, title, how)

    async def test_a_finalizer_that_closes_the_store_during_bulk_create(self):
        box = {"close": True}

        class Title(str):  # dropped by bulk_create once the rows are made: closes the store
            def __del__(self):
                if box.pop("close", False):
                    relstore._core.close()
        rows = [Book(title=Title("first"), author=self.john), Book(title="second",
                                                                   author=self.john)]
        await Book.bulk_create(rows)
        self.assertFalse(relstore._core.is_open())
        await relstore.init(models=MODELS)  # another store: the rows are of the closed one
        with self.assertRaises(relstore.OperationalError):
            rows[1].title

    async def test_an_int_for_a_float_field(self):
        a = await Author.create(name="Int rating", rating=3)
        self.assertEqual(a.rating, 3.0)
        self.assertIsInstance(a.rating, float)

    async def test_a_transaction_of_another_thread(self):
        import threading
        import time
        started = threading.Event()

        def worker():
            with in_transaction():
                relstore._core.create(Author, {"name": "From a thread"})
                started.set()
                time.sleep(0.05)

        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        # waits for the worker's transaction without holding the GIL (no deadlock)
        await Author.create(name="After it")
        t.join()
        self.assertEqual(await Author.filter(name__in=["From a thread", "After it"]).count(), 2)


class OpenTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_declaration_that_raises_leaves_no_store_open(self):
        class Bad:
            def __bool__(self):
                raise ValueError("no")

        class Odd(models.Model):
            n = fields.IntField(null=Bad())
        with self.assertRaises(ValueError):
            await relstore.init(models=[Odd])
        self.assertFalse(relstore._core.is_open())
        models._registry.pop("Odd", None)


class FileTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_file_store_is_reopened_with_its_objects(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "books.db")
            await relstore.init(path=path, models=MODELS)
            john = await Author.create(name="Zoë ☃", rating=1 / 3)
            await Book.create(title="Kept", author=john)
            await relstore.snapshot()
            await Book.create(title="Saved by close", author=john)
            await relstore.close()
            await relstore.init(path=path, models=MODELS)
            a = await Author.get(id=1)
            self.assertEqual((a.name, a.rating), ("Zoë ☃", 1 / 3))
            self.assertEqual([b.title for b in a.books], ["Kept", "Saved by close"])
            await relstore.close()
            await relstore.init(path=path, models=MODELS, readonly=True)
            self.assertEqual(await Book.all().count(), 2)
            with self.assertRaises(ValidationError):
                await Author.create(name="No")
            await relstore.close()


class SeedTest(unittest.TestCase):
    def test_the_seed_program_prints_the_books(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "seed.py")
        out = subprocess.run([sys.executable, example], capture_output=True, text=True,
                             env=dict(os.environ), timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "Book 1\nBook 2\nBook 3\n")


if __name__ == "__main__":
    unittest.main()
