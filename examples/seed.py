"""The seed's program (a Tortoise ORM post on one-to-many relations) on relstore: its models
and functions exactly as the post writes them, with the import line changed from
`from tortoise import models, fields`. The lines after them run it, as a Tortoise program
would: Tortoise.init(), then the two functions. Prints Book 1, Book 2, Book 3.

    PYTHONPATH=build/python python3 examples/seed.py
"""
from relstore import models, fields


class Author(models.Model):
    name = fields.CharField(max_length=255)
    books = fields.ReverseRelation["Book"]

    def __str__(self):
        return self.name


class Book(models.Model):
    title = fields.CharField(max_length=255)
    author = fields.ForeignKeyField("models.Author", related_name="books")

    def __str__(self):
        return self.title


async def create_author_with_books():
    author = await Author.create(name="John Doe")
    await Book.create(title="Book 1", author=author)
    await Book.create(title="Book 2", author=author)
    await Book.create(title="Book 3", author=author)


async def get_books_of_author(author_id):
    author = await Author.get(id=author_id)
    books = author.books
    for book in books:
        print(book.title)


if __name__ == "__main__":
    from relstore import Tortoise, run_async

    async def main():
        await Tortoise.init(db_url="sqlite://:memory:", modules={"models": ["__main__"]})
        await Tortoise.generate_schemas()
        await create_author_with_books()
        await get_books_of_author(1)

    run_async(main())
