"""Models, querysets and relations, named as Tortoise ORM names them (tortoise.models).

    class Author(models.Model):
        name = fields.CharField(max_length=255)

    author = await Author.create(name="John Doe")
    for book in author.books: ...
    await Book.filter(author__name="John Doe").order_by("-id").limit(2)

Every call completes at once, in memory: the awaitables they return hold their value
already (no thread hop, no trip through the event loop). A queryset runs when it is awaited.
"""
from . import _core
from .exceptions import (ConfigurationError, DoesNotExist, FieldError, IntegrityError,
                         MultipleObjectsReturned, OperationalError, ParamsError,
                         TransactionManagementError, ValidationError)
from .fields import Field, ForeignKeyField, ManyToManyField

_ready = _core.ready
_registry = {}  # model name -> class, in the order the classes were defined


class ModelMeta(type):
    """Collects a model's fields into cls._meta and registers the model by its name."""

    def __new__(mcs, name, bases, attrs):
        meta_decl = attrs.pop("Meta", None)
        cls = super().__new__(mcs, name, bases, attrs)
        fields = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(getattr(base, "_meta", None), "fields_map", {}))
        for key, value in attrs.items():
            if isinstance(value, Field):
                if key in ("id", "pk"):
                    continue  # every model has its id
                value.model_field_name = key
                value.model = cls
                fields[key] = value
        abstract = bool(getattr(meta_decl, "abstract", False)) or name == "Model" and \
            attrs.get("__module__") == __name__
        cls._meta = _Meta(cls, fields, abstract)
        if cls._meta.callable_defaults and "__init__" not in attrs:
            cls.__init__ = _init_with_defaults  # computed once, as the object is made
        _core.fast_new(mcs, cls)  # Book(title=...) made in C
        if name == "Model" and attrs.get("__module__") == __name__:
            # get, create and filter: the C class methods, as callables that each model class
            # finds bound to itself once (_core.ClassCall: no bound method made per call)
            for call in ("get", "create", "filter"):
                setattr(cls, call, _core.ClassCall(cls, call))
        if not abstract:
            _registry[name] = cls
        return cls


def _init_with_defaults(self, **kwargs):
    for name, f in self._meta.callable_defaults.items():
        if name not in kwargs:
            kwargs[name] = f.default()
    _core.Object.__init__(self, **kwargs)


class _Meta:
    def __init__(self, cls, fields, abstract):
        self.model = cls
        self.fields_map = fields
        self.abstract = abstract
        self.callable_defaults = {k: f for k, f in fields.items()
                                  if callable(f.default) and not isinstance(f, ManyToManyField)}

    @property
    def fields(self):
        return set(self.fields_map)


class _Lazy:
    """An awaitable that runs FN(*args) when awaited, for querysets' terminal calls."""

    __slots__ = ("fn", "args")

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __await__(self):
        return _ready(self.fn(*self.args)).__await__()


class Q:
    """Q(title="Book 1") | Q(title="Book 2"), & and ~ as in Tortoise; Q(q1, q2, join_type="OR")."""

    AND = "AND"
    OR = "OR"

    def __init__(self, *args, join_type="AND", **kwargs):
        if join_type not in ("AND", "OR"):
            raise ParamsError("join_type is AND or OR")
        self.children = list(args)
        self.join_type = join_type
        self.filters = kwargs
        self.negated = False

    def __and__(self, other):
        return Q(self, other, join_type="AND")

    def __or__(self, other):
        return Q(self, other, join_type="OR")

    def __invert__(self):
        q = Q(self)
        q.negated = True
        return q

    def _tree(self):
        parts = [c._tree() for c in self.children]
        if self.filters:
            parts.append(("terms", dict(self.filters)))
        tree = ("or" if self.join_type == "OR" else "and", parts)
        return ("not", tree) if self.negated else tree


class QuerySet(_core.Query):
    """The objects of a model that meet conditions, in an order, sliced; run when awaited.
    Each call returns a new queryset (the conditions are shared tuples: cheap to copy).

    QuerySet(model, where=(), order=(), offset=0, limit=0). The building calls (filter,
    exclude, all, order_by, limit, offset) and the await that runs it are _core.Query's, in C;
    the attributes model, _where, _order, _offset and _limit are read-only."""

    __slots__ = ()

    def _tree(self):
        where = self._where
        if not where:
            return None
        return where[0] if len(where) == 1 else ("and", list(where))

    def _run(self, action, values=None, limit=None):
        return _core.query(self.model, self._where, self._order, self._offset,
                           self._limit if limit is None else limit, action, values)

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise ParamsError("a queryset takes a slice with no step")
        start = key.start or 0
        q = self.offset(start)
        return q.limit(key.stop - start) if key.stop is not None else q

    def prefetch_related(self, *names):
        return self  # the related objects are in memory already

    def select_related(self, *names):
        return self

    def distinct(self):
        return self  # each object appears once already

    def using_db(self, connection):
        return self

    # running (await: _core.Query)
    def __aiter__(self):
        return _AsyncIter(self._run("find"))

    def first(self):
        return _Lazy(self._run, "first")

    def get(self, *args, **kwargs):
        return _Lazy(self.filter(*args, **kwargs)._run, "get")

    def get_or_none(self, *args, **kwargs):
        q = self.filter(*args, **kwargs)
        return _Lazy(q._get_or_none)

    def _get_or_none(self):
        try:
            return self._run("get")
        except DoesNotExist:
            return None

    def count(self):
        return _Lazy(self._run, "count")

    def exists(self):
        return _Lazy(self._run, "exists")

    def update(self, **values):
        return _Lazy(self._run, "update", values)

    def delete(self):
        return _Lazy(self._run, "delete")

    def values_list(self, *names, flat=False):
        return _Lazy(self._values_list, names, flat)

    def _values_list(self, names, flat):
        rows = [tuple(_path_value(o, n) for n in names) for o in self._run("find")]
        return [r[0] for r in rows] if flat and len(names) == 1 else rows

    def values(self, *names):
        return _Lazy(self._values, names)

    def _values(self, names):
        objs = self._run("find")
        names = names or ("id", *self.model._meta.fields_map)
        return [{n: _path_value(o, n) for n in names} for o in objs]

    def __repr__(self):
        return f"<QuerySet of {self.model.__name__}: where {self._tree()}, order {self._order}>"


def _path_value(obj, path):
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
        if isinstance(obj, Model) and part.endswith("_id"):
            obj = obj.id
    return obj.id if isinstance(obj, Model) else obj


class _AsyncIter:
    __slots__ = ("items", "i")

    def __init__(self, items):
        self.items = items
        self.i = 0

    def __aiter__(self):
        return self

    def __anext__(self):
        if self.i >= len(self.items):
            raise StopAsyncIteration
        self.i += 1
        return _ready(self.items[self.i - 1])


class ReverseRelation(_core.Relation):
    """author.books: the children, in the order they joined. Iterate over it, take its len(),
    await it or its .all(), or narrow it with .filter()."""

    def _queryset(self):
        model = self._child_model()
        return QuerySet(model).filter(**{self._fk_name(): self.instance})

    def _child_model(self):
        return _reverse[(type(self.instance), self.name)][0]

    def _fk_name(self):
        return _reverse[(type(self.instance), self.name)][1]

    def all(self):
        return _ready(self._list())

    def __await__(self):
        return _ready(self._list()).__await__()

    def __aiter__(self):
        return _AsyncIter(self._list())

    def filter(self, *args, **kwargs):
        return self._queryset().filter(*args, **kwargs)

    def exclude(self, *args, **kwargs):
        return self._queryset().exclude(*args, **kwargs)

    def order_by(self, *keys):
        return self._queryset().order_by(*keys)

    def limit(self, n):
        return self._queryset().limit(n)

    def offset(self, n):
        return self._queryset().offset(n)

    def count(self):
        return _ready(len(self))

    def first(self):
        return _ready(next(iter(self), None))

    def __bool__(self):
        return len(self) > 0

    def __contains__(self, obj):
        return any(o == obj for o in self)

    def __getitem__(self, i):
        return self._list()[i]

    def __repr__(self):
        return f"<{self.name} of {self.instance!r}: {len(self)}>"


class ManyToManyRelation(ReverseRelation):
    """book.tags: the linked objects. add(), remove(), clear() change the links."""

    def _queryset(self):
        far, name = _m2m[(type(self.instance), self.name)]
        return QuerySet(far).filter(**{name: self.instance})

    def add(self, *objs):
        for o in objs:
            _core.m2m(self.instance, self.name, "add", o)
        return _ready(None)

    def remove(self, *objs):
        for o in objs:
            _core.m2m(self.instance, self.name, "remove", o)
        return _ready(None)

    def clear(self):
        _core.m2m(self.instance, self.name, "clear", None)
        return _ready(None)


_reverse = {}  # (parent class, relation name) -> (child class, FK name)
_m2m = {}      # (class, relation name) -> (far class, the far side's name of the relation)


class Model(_core.Object, metaclass=ModelMeta):
    """The base of relstore models: declare fields as class attributes."""

    class Meta:
        abstract = True

    # the class's queries (create(), get() by id and filter() are done in C: _core.Object)
    @classmethod
    def _create_slow(cls, **values):
        for name, f in cls._meta.callable_defaults.items():
            if name not in values:
                values[name] = f.default()
        return _ready(_core.create(cls, values))

    @classmethod
    def _get_query(cls, *args, **kwargs):
        return QuerySet(cls).get(*args, **kwargs)

    @classmethod
    def get_or_none(cls, *args, **kwargs):
        if not args and len(kwargs) == 1:
            key, value = next(iter(kwargs.items()))
            if key in ("id", "pk") and isinstance(value, int):
                try:
                    return _ready(_core.get(cls, value))
                except DoesNotExist:
                    return _ready(None)
        return QuerySet(cls).get_or_none(*args, **kwargs)

    @classmethod
    def get_or_create(cls, defaults=None, **kwargs):
        obj = QuerySet(cls).filter(**kwargs)._get_or_none()
        if obj is not None:
            return _ready((obj, False))
        return _ready((_core.create(cls, dict(kwargs, **(defaults or {}))), True))

    @classmethod
    def update_or_create(cls, defaults=None, **kwargs):
        obj = QuerySet(cls).filter(**kwargs)._get_or_none()
        if obj is not None:
            _core.update(obj, defaults or {})
            return _ready((obj, False))
        return _ready((_core.create(cls, dict(kwargs, **(defaults or {}))), True))

    @classmethod
    def bulk_create(cls, objects, batch_size=None, **kwargs):
        return _ready(_core.create_many(cls, list(objects)))

    @classmethod
    def exclude(cls, *args, **kwargs):
        return QuerySet(cls).exclude(*args, **kwargs)

    @classmethod
    def all(cls):
        return QuerySet(cls)

    @classmethod
    def first(cls):
        return QuerySet(cls).first()

    @classmethod
    def exists(cls, *args, **kwargs):
        return QuerySet(cls).filter(*args, **kwargs).exists()

    @classmethod
    def annotate(cls, **kwargs):
        raise ParamsError("annotate() is not supported; use the store's aggregates")

    # one object
    def save(self, *args, **kwargs):
        _core.save(self)
        return _ready(None)

    def delete(self, *args, **kwargs):
        _core.delete(self)
        return _ready(None)

    def fetch_related(self, *names):
        return _ready(None)  # in memory already

    def refresh_from_db(self, *args, **kwargs):
        self._pending = None
        return _ready(None)

    def update_from_dict(self, data):
        for key, value in data.items():
            setattr(self, key, value)
        return self

    def clone(self, pk=None):
        values = {n: getattr(self, n) for n in self._meta.fields_map
                  if not isinstance(self._meta.fields_map[n], ManyToManyField)}
        return type(self)(**values)

    def __str__(self):
        return f"<{type(self).__name__}>"

    def __repr__(self):
        if self.id is not None:
            return f"<{type(self).__name__}: {self.id}>"
        return f"<{type(self).__name__}>"


def _descriptors(cls, models):
    """The Field and Relation descriptors of CLS, set on the class, for _core.bind()."""
    out = []
    for name, f in cls._meta.fields_map.items():
        if isinstance(f, ManyToManyField):
            d = _core.Relation(name, _core.REL_M2M)
            far = models[f.target]
            _m2m[(cls, name)] = (far, f.related_name or cls.__name__.lower() + "s")
            _m2m[(far, f.related_name or cls.__name__.lower() + "s")] = (cls, name)
        else:
            d = _core.Field(name, f)
            if isinstance(f, ForeignKeyField):
                fk_id = name + "_id"
                if fk_id not in cls.__dict__:
                    setattr(cls, fk_id, _FkId(name))
        setattr(cls, name, d)
        out.append(d)
    for other in models.values():
        for name, f in other._meta.fields_map.items():
            if isinstance(f, ForeignKeyField) and f.target == cls.__name__:
                rel = f.related_name or other.__name__.lower() + "s"
                kind = _core.REL_ONE if f.one_to_one or f.unique else _core.REL_REVERSE
                d = _core.Relation(rel, kind)
                setattr(cls, rel, d)
                out.append(d)
                _reverse[(cls, rel)] = (other, name)
            elif isinstance(f, ManyToManyField) and f.target == cls.__name__:
                rel = f.related_name or other.__name__.lower() + "s"
                if (cls, rel) not in _m2m or _m2m[(cls, rel)][0] is not other:
                    _m2m[(cls, rel)] = (other, name)
                if not isinstance(cls.__dict__.get(rel), _core.Relation):
                    d = _core.Relation(rel, _core.REL_M2M)
                    setattr(cls, rel, d)
    return out


class _FkId:
    """book.author_id: the parent's id."""

    def __init__(self, fk):
        self.fk = fk

    def __get__(self, inst, owner):
        if inst is None:
            return self
        parent = getattr(inst, self.fk)
        return parent if parent is None or isinstance(parent, int) else parent.id

    def __set__(self, inst, value):
        raise AttributeError(f"set {self.fk} to the parent object, or pass {self.fk}_id= "
                             "to create()")


_core.setup({0: OperationalError, -1: ValidationError, -2: DoesNotExist, -3: IntegrityError,
             -8: ConfigurationError, -10: TransactionManagementError,
             -13: MultipleObjectsReturned},
            ReverseRelation, ManyToManyRelation, QuerySet, ParamsError)
