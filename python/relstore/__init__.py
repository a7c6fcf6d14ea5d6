"""relstore for Python: Tortoise ORM's model API over relstore's in-process store.

    from relstore import models, fields, run_async, init

    class Author(models.Model):
        name = fields.CharField(max_length=255)

    async def main():
        await init()                      # in memory; init(path="books.db") keeps a file
        author = await Author.create(name="John Doe")

    run_async(main())

The objects live in memory in the C store (librelstore); a model instance is a view of one
of them, so author.books is there to iterate without a query. Calls complete at once: what
they return is awaitable, as in Tortoise, but never waits. snapshot() and close(), which
write the file, run on an executor thread so that the event loop never waits on the disk.
"""
import asyncio

from . import _core, fields, models
from .exceptions import (BaseORMException, ConfigurationError, DoesNotExist, FieldError,
                         IntegrityError, MultipleObjectsReturned, OperationalError,
                         ParamsError, TransactionManagementError, ValidationError)
from .models import Model, Q, QuerySet

__all__ = ["init", "close", "snapshot", "in_transaction", "run_async", "Tortoise", "models",
           "fields", "Model", "Q", "QuerySet", "BaseORMException", "ConfigurationError",
           "DoesNotExist", "FieldError", "IntegrityError", "MultipleObjectsReturned",
           "OperationalError", "ParamsError", "TransactionManagementError", "ValidationError"]


def _schema(classes):
    schema = []
    for cls in classes:
        decl = []
        for name, f in cls._meta.fields_map.items():
            decl.append((name, f.store_type, f._attrs()))
        schema.append((cls.__name__, decl))
    return schema


def _open(path=None, models=None, readonly=False, nosync=False):
    if models is None:
        classes = list(models_registry().values())
    else:
        classes = [m for m in models]
    if not classes:
        raise ConfigurationError("no models are defined")
    names = {c.__name__: c for c in classes}
    for cls in classes:
        for f in cls._meta.fields_map.values():
            target = getattr(f, "target", None)
            if target is not None and target not in names:
                raise ConfigurationError(f"{cls.__name__}.{f.model_field_name} refers to "
                                         f"{f.model_name}, which is not among the models")
    _core.open(_schema(classes), path, readonly, nosync)
    try:
        for cls in classes:
            _core.bind(cls.__name__, cls, models_module._descriptors(cls, names),
                       bool(cls._meta.callable_defaults))
    except BaseException:
        _core.close()
        raise


models_module = models


def models_registry():
    """The models defined so far, by name."""
    return dict(models._registry)


def init(path=None, models=None, readonly=False, nosync=False):
    """Opens the store: in memory (PATH None), or kept in the file PATH (loaded now, written
    by snapshot() and close()). MODELS: the model classes (default: every Model defined so
    far). Returns an awaitable, as Tortoise.init() is one; the open is done on return."""
    _open(path, models, readonly, nosync)
    return _core.ready(None)


async def snapshot():
    """Writes the changes since the last snapshot to the file, on an executor thread."""
    await asyncio.get_running_loop().run_in_executor(None, _core.snapshot)


async def close():
    """Snapshots (a store with a file) and closes the store, on an executor thread."""
    await asyncio.get_running_loop().run_in_executor(None, _core.close)


def check():
    """Verifies every invariant of the store (a test's tool): raises if one does not hold."""
    _core.check()


class in_transaction:
    """async with in_transaction(): ... - every change inside is kept, or none (an exception
    rolls them back). The store's transactions belong to a thread: on an event loop, the
    block's changes are the ones made by the coroutines running on it meanwhile."""

    def __init__(self, connection_name=None, readonly=False):
        self.readonly = readonly
        self.txn = None

    async def __aenter__(self):
        self.txn = _core.begin(self.readonly)
        return self

    async def __aexit__(self, exc_type, exc, tb):
        _core.end(self.txn, exc_type is None)
        return False

    def __enter__(self):
        self.txn = _core.begin(self.readonly)
        return self

    def __exit__(self, exc_type, exc, tb):
        _core.end(self.txn, exc_type is None)
        return False


def _path_of(db_url):
    if not db_url:
        return None
    scheme, _, rest = db_url.partition("://")
    if rest in ("", ":memory:"):
        return None
    return rest


class Tortoise:
    """Tortoise's entry points, for programs written for it: init(db_url=..., modules=...),
    generate_schemas(), close_connections(). db_url "relstore://FILE" (or "sqlite://FILE")
    keeps the store in FILE; ":memory:" or none keeps it in memory."""

    @staticmethod
    async def init(db_url=None, modules=None, config=None, **kwargs):
        classes = None
        if modules:
            import importlib
            classes = []
            for mods in modules.values():
                for name in mods:
                    module = importlib.import_module(name)
                    classes += [c for c in vars(module).values()
                                if isinstance(c, type) and issubclass(c, Model)
                                and not c._meta.abstract]
        _open(_path_of(db_url), classes)

    @staticmethod
    async def generate_schemas(safe=True):
        return None  # the store declares its models as it opens

    @staticmethod
    async def close_connections():
        await close()


def run_async(coro):
    """Runs CORO on a new event loop, then closes the store (as Tortoise's run_async)."""
    async def main():
        try:
            await coro
        finally:
            if _core.is_open():
                await close()
    asyncio.run(main())
