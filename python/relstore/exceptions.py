"""The exceptions of relstore, named as Tortoise ORM names them (tortoise.exceptions)."""


class BaseORMException(Exception):
    """The base of every relstore exception."""


class ConfigurationError(BaseORMException):
    """The models or the call that opens the store are wrong (a schema the store refuses)."""


class OperationalError(BaseORMException):
    """The store could not do what was asked (I/O, a closed store, a busy file, ...)."""


class IntegrityError(OperationalError):
    """A constraint would be broken: a unique value taken, a foreign key to nothing, RESTRICT."""


class TransactionManagementError(OperationalError):
    """A transaction was used the wrong way."""


class DoesNotExist(BaseORMException):
    """No object matched."""


class MultipleObjectsReturned(BaseORMException):
    """More than one object matched where one was asked for."""


class ValidationError(BaseORMException):
    """A value does not fit its field (type, max_length, null, unknown field)."""


class FieldError(BaseORMException):
    """A field or lookup that does not exist was named."""


class ParamsError(BaseORMException):
    """A call was given arguments it cannot take."""
