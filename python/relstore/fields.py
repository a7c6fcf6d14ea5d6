"""The fields of relstore models, named as Tortoise ORM names them (tortoise.fields).

A field is a declaration: the model's metaclass collects them, and relstore.init() turns
them into the store's schema. On an object, a field reads the value from the store.
"""

CASCADE = "CASCADE"
RESTRICT = "RESTRICT"
SET_NULL = "SET NULL"
NO_ACTION = "RESTRICT"  # relstore checks at once: NO ACTION behaves as RESTRICT


class OnDelete:
    CASCADE = CASCADE
    RESTRICT = RESTRICT
    SET_NULL = SET_NULL
    NO_ACTION = NO_ACTION


class Field:
    """A value field. null, unique, index and default as in Tortoise; ordered=True adds an
    ordered index (ranges, order_by, min/max without a scan). pk and description are taken
    and ignored: every model has its id."""

    store_type = None

    def __init__(self, null=False, unique=False, index=False, default=None, ordered=False,
                 pk=False, description=None, db_index=None, **kwargs):
        self.null = null
        self.unique = unique
        self.index = bool(index or db_index)
        self.default = default
        self.ordered = ordered
        self.pk = pk
        self.description = description
        self.model = None
        self.model_field_name = None
        self.extra = kwargs

    def _default_value(self):
        return self.default() if callable(self.default) else self.default

    def _attrs(self):
        attrs = {"null": self.null, "unique": self.unique, "index": self.index,
                 "ordered": self.ordered}
        if self.default is not None and not callable(self.default):
            attrs["default"] = self.default
        return attrs

    def __repr__(self):
        return f"<{type(self).__name__} {self.model_field_name}>"


class CharField(Field):
    store_type = "char"

    def __init__(self, max_length, **kwargs):
        if int(max_length) < 1:
            from .exceptions import ConfigurationError
            raise ConfigurationError("CharField needs a max_length of at least 1")
        super().__init__(**kwargs)
        self.max_length = int(max_length)

    def _attrs(self):
        return dict(super()._attrs(), max_length=self.max_length)


class TextField(Field):
    store_type = "text"


class IntField(Field):
    store_type = "int"


BigIntField = IntField
SmallIntField = IntField


class FloatField(Field):
    store_type = "float"


class BooleanField(Field):
    store_type = "bool"


class ForeignKeyField(Field):
    """ForeignKeyField("models.Author", related_name="books", on_delete=CASCADE)."""

    store_type = "fk"
    one_to_one = False

    def __init__(self, model_name, related_name=None, on_delete=CASCADE, **kwargs):
        super().__init__(**kwargs)
        self.model_name = model_name
        self.related_name = related_name
        self.on_delete = getattr(on_delete, "value", on_delete)

    @property
    def target(self):
        """The name of the parent model ("models.Author" -> "Author")."""
        return self.model_name.rsplit(".", 1)[-1]

    def _attrs(self):
        attrs = dict(super()._attrs(), to=self.target, on_delete=self.on_delete,
                     unique=self.unique or self.one_to_one)
        if self.related_name:
            attrs["related_name"] = self.related_name
        return attrs


class OneToOneField(ForeignKeyField):
    one_to_one = True


class ManyToManyField(Field):
    """ManyToManyField("models.Tag", related_name="books", through=None)."""

    store_type = "m2m"

    def __init__(self, model_name, related_name=None, through=None, **kwargs):
        super().__init__(**kwargs)
        self.model_name = model_name
        self.related_name = related_name
        self.through = through

    @property
    def target(self):
        return self.model_name.rsplit(".", 1)[-1]

    def _attrs(self):
        attrs = {"to": self.target}
        if self.related_name:
            attrs["related_name"] = self.related_name
        if self.through:
            attrs["through"] = self.through.rsplit(".", 1)[-1]
        return attrs


class _RelationMarker:
    """What `books = fields.ReverseRelation["Book"]` puts in a class body: a note for type
    checkers; the relation itself comes from the foreign key's related_name."""

    def __init__(self, kind, model=None):
        self.kind = kind
        self.model = model

    def __getitem__(self, model):
        return _RelationMarker(self.kind, model)

    def __repr__(self):
        return f"{self.kind}[{self.model!r}]"


ReverseRelation = _RelationMarker("ReverseRelation")
ManyToManyRelation = _RelationMarker("ManyToManyRelation")
ForeignKeyRelation = _RelationMarker("ForeignKeyRelation")
ForeignKeyNullableRelation = _RelationMarker("ForeignKeyNullableRelation")
OneToOneRelation = _RelationMarker("OneToOneRelation")
OneToOneNullableRelation = _RelationMarker("OneToOneNullableRelation")
BackwardFKRelation = ReverseRelation
BackwardOneToOneRelation = _RelationMarker("BackwardOneToOneRelation")
