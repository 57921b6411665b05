"""Column types: the one table from field type to SQLAlchemy type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from datetime import date as _date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, literal_column, operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert, Update, ValuesBase
from sqlalchemy.sql.elements import BindParameter, Null
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from engine.metadata._model import FieldDef

#: Enum columns are at least this wide, so adding a longer choice later rarely needs a
#: column type change (which PostgreSQL would do with a table rewrite).
ENUM_MIN_LENGTH = 64

_UTC = UTC
_Dml = TypeVar("_Dml", bound=ValuesBase)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always handed back as a timezone-aware UTC ``datetime``.

    PostgreSQL stores ``timestamp with time zone``; SQLite (and any other dialect)
    stores the naive UTC wall time, since it has no time zone type. Naive values
    given to it are taken as UTC, aware ones are converted.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)


#: The most digits an exact decimal has on SQLite: its value times 10^scale must fit in a
#: signed 64-bit INTEGER (9 223 372 036 854 775 807), so 18 digits always do.
SQLITE_MAX_PRECISION = 18


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal of ``precision`` digits, ``scale`` of them after the point, kept exactly.

    PostgreSQL stores ``NUMERIC(precision, scale)``. SQLite has no exact decimal type (its
    ``NUMERIC`` keeps a REAL, 15-16 significant digits), so there the value times
    ``10^scale`` is stored as an INTEGER: ``12.50`` in a ``money(18,2)`` column is ``1250``.
    Integers keep all 18 digits, sort and compare in SQL as the numbers do, and ``SUM``,
    ``MIN`` and ``MAX`` of one column come back in the same units, so reading them through
    this type gives exact ``Decimal`` values again. Values compared against the column are
    scaled the same way (a literal with more decimals than the scale is compared as a REAL,
    so ``> 1000.555`` still means what it says).
    """

    impl = Numeric
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[Decimal]):
        def _adapt_expression(self, op: Any, other_comparator: Any) -> tuple[Any, TypeEngine[Any]]:
            # ``amount + 1``, ``amount * 2``, ``amount / 3`` are in the column's units (the other
            # operand is scaled, or is a plain factor); a product or quotient of two decimals
            # is not: compute it from plain_number() of each
            if op in _FACTOR_OPERATORS and isinstance(other_comparator.type, ExactDecimal):
                return op, Numeric()
            return op, self.type

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise TypeError(f"ExactDecimal needs a number, got {value!r}") from None
        scaled = number.scaleb(self.scale)
        if scaled == scaled.to_integral_value():
            return int(scaled)
        return float(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name != "sqlite":
            return value if isinstance(value, Decimal) else Decimal(str(value))
        # an average or a product is a REAL; a column, a SUM, MIN or MAX an INTEGER
        number = Decimal(value) if isinstance(value, int) else Decimal(str(value))
        return number.scaleb(-self.scale)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        if op in _FACTOR_OPERATORS:
            # ``amount * 2`` is twice the scaled integer: the factor is a plain number
            return BigInteger() if isinstance(value, int) and not isinstance(value, bool) else Numeric()
        return self


#: Operators whose other operand is a factor, not a value in the column's units.
_FACTOR_OPERATORS = frozenset({operators.mul, operators.truediv, operators.floordiv, operators.mod})


def bulk_bind_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The bind processor of ``column_type`` for bulk writes: the value SQLAlchemy's own
    processor would send, computed in one call. On SQLite a timestamp, a date and an exact
    decimal otherwise go through two or three layers of processors per value (a large part
    of an import's insert time); elsewhere, and for any other type, SQLAlchemy's own."""
    own = column_type._cached_bind_processor(dialect)
    if dialect.name != "sqlite":
        return own
    if isinstance(column_type, UTCDateTime):
        return _sqlite_timestamp(own)
    if isinstance(column_type, ExactDecimal):
        return _sqlite_scaled(column_type.scale, own)
    if type(column_type) is Date:
        return _sqlite_date(own)
    return own


def _sqlite_timestamp(own: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        # SQLite's DATETIME storage format is ISO with a space and six fractional digits
        if type(value) is datetime:
            if value.tzinfo is not None:
                value = value.astimezone(_UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return own(value) if own is not None else value

    return process


def _sqlite_date(own: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        # a date's ISO form is SQLite's DATE storage format (a datetime is left to SQLAlchemy)
        return value.isoformat() if type(value) is _date else own(value) if own is not None else value

    return process


def _sqlite_scaled(scale: int, own: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        if type(value) is Decimal:
            scaled = value.scaleb(scale)
            return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)
        return own(value) if own is not None else value

    return process


class _PlainNumberType(TypeDecorator[Any]):
    """What :func:`plain_number` gives: a REAL on SQLite, ``NUMERIC`` (a ``Decimal``) elsewhere."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Float())
        return dialect.type_descriptor(Numeric(asdecimal=True))


class _PlainNumber(FunctionElement[Any]):
    """A scaled integer column read as the number it stands for (see :func:`plain_number`)."""

    name = "crm_plain_number"
    inherit_cache = True
    type = _PlainNumberType()


class _StoredNumber(FunctionElement[Any]):
    """A number as a decimal column of some scale stores it (see :func:`stored_number`)."""

    name = "crm_stored_number"
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], column_type: ExactDecimal) -> None:
        super().__init__(value, literal_column(str(int(column_type.scale))))
        # typed as the column: it is in the column's units (and is not scaled twice)
        self.type = column_type


# the scale is the second clause, a literal written into the SQL (so it is part of the cache key)
@compiles(_PlainNumber)
@compiles(_StoredNumber)
def _number_as_is(element: _PlainNumber | _StoredNumber, compiler: SQLCompiler, **kw: Any) -> str:
    """Off SQLite a decimal column holds the number itself: both are the value as it is."""
    value, _scale = element.clauses
    return compiler.process(value, **kw)


@compiles(_PlainNumber, "sqlite")
def _plain_sqlite(element: _PlainNumber, compiler: SQLCompiler, **kw: Any) -> str:
    value, scale = element.clauses
    return f"(CAST({compiler.process(value, **kw)} AS REAL) / 1e{compiler.process(scale, **kw)})"


@compiles(_StoredNumber, "sqlite")
def _stored_sqlite(element: _StoredNumber, compiler: SQLCompiler, **kw: Any) -> str:
    value, scale = (compiler.process(c, **kw) for c in element.clauses)
    # rounded to the scale first, half away from zero as PostgreSQL's NUMERIC does
    return f"CAST(round(round({value}, {scale}) * 1e{scale}) AS INTEGER)"


def plain_number(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """The number an SQL expression stands for, to compute with in SQL.

    A decimal column on SQLite holds its value times ``10^scale``
    (:class:`ExactDecimal`); there this is ``CAST(x AS REAL) / 10^scale``, a REAL. Any other
    expression, and every expression on PostgreSQL, is left as it is. Use it wherever a
    decimal is averaged, divided, multiplied or mixed with other numbers in SQL; ``SUM``,
    ``MIN``, ``MAX`` and comparisons of one column need not, the column type reads them.
    """
    kind = expression.type
    if not isinstance(kind, ExactDecimal):
        return expression
    return _PlainNumber(expression, literal_column(str(int(kind.scale))))


def stored_number(expression: ColumnElement[Any], column_type: TypeEngine[Any]) -> ColumnElement[Any]:
    """The reverse of :func:`plain_number`: a computed number as a column of ``column_type``
    stores it, for ``UPDATE ... SET column = <this>``.

    On SQLite a decimal column gets the number rounded to its scale, times ``10^scale``, as
    an INTEGER; otherwise the expression is left as it is (PostgreSQL rounds to the scale).
    An expression of a decimal column type of the same scale is in the column's units already.
    """
    if not isinstance(column_type, ExactDecimal):
        return expression
    kind = expression.type
    if isinstance(kind, ExactDecimal):
        if kind.scale == column_type.scale:
            return expression
        expression = plain_number(expression)
    return _StoredNumber(expression, column_type)


# A computed value written into a decimal column by INSERT or UPDATE (``UPDATE t SET amount =
# <an expression>``) is a plain number; on SQLite it is stored as the column's scaled integer,
# whoever wrote the statement. Values of the column's own type and scale (``amount * 2``),
# bound Python values and NULL are in its units already.
@compiles(Update, "sqlite")
def _update_sqlite(element: Update, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.visit_update(_stored_values(element), **kw)


@compiles(Insert, "sqlite")
def _insert_sqlite(element: Insert, compiler: SQLCompiler, **kw: Any) -> str:
    sql: str = compiler.visit_insert(_stored_values(element), **kw)  # type: ignore[no-untyped-call]
    return sql


def _stored_values(statement: _Dml) -> _Dml:
    values = statement._values
    if not values:
        return statement
    changed: dict[Any, ColumnElement[Any]] = {}
    for key, value in values.items():
        column = statement.table.c.get(key) if isinstance(key, str) else key
        kind = getattr(column, "type", None)
        if not isinstance(kind, ExactDecimal) or _unscaled_on_write(value):
            continue
        changed[key] = stored_number(value, kind)
    if not changed:
        return statement
    rewritten = statement._generate()
    rewritten._values = values.union(changed)
    return rewritten


def _unscaled_on_write(value: Any) -> bool:
    """Whether SQLAlchemy writes ``value`` as it is: NULL, and a bound value without a type of
    its own (it gets the column's, which scales it). Other values go through stored_number()."""
    return isinstance(value, Null) or (isinstance(value, BindParameter) and isinstance(value.type, NullType))


def _json() -> TypeEngine[Any]:
    # none_as_null: a null value is SQL NULL, not the JSON text 'null', so "is null"
    # filters mean the same for JSON columns as for every other column.
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _string(field: FieldDef) -> TypeEngine[Any]:
    if field.max_length is None:
        raise ValueError(f"field {field.name!r} ({field.type}) has no max_length")
    return String(field.max_length)


def _numeric(field: FieldDef) -> TypeEngine[Any]:
    if field.precision is None or field.scale is None:
        raise ValueError(f"field {field.name!r} ({field.type}) has no precision/scale")
    return ExactDecimal(field.precision, field.scale)


def _enum(field: FieldDef) -> TypeEngine[Any]:
    # No native ENUM and no CHECK: choices change with definitions, and a column type
    # or constraint change per new choice would make every such change a migration.
    longest = max((len(value) for value in field.choice_values), default=0)
    return String(max(longest, ENUM_MIN_LENGTH))


_COLUMN_TYPES: dict[str, Callable[[FieldDef], TypeEngine[Any]]] = {
    "string": _string,
    "email": _string,
    "phone": _string,
    "url": _string,
    "text": lambda field: Text(),
    "integer": lambda field: BigInteger(),
    "decimal": _numeric,
    "money": _numeric,
    "boolean": lambda field: Boolean(create_constraint=False),
    "date": lambda field: Date(),
    "datetime": lambda field: UTCDateTime(),
    "enum": _enum,
    "multi_enum": lambda field: _json(),
    "json": lambda field: _json(),
    "reference": lambda field: BigInteger(),
    "autonumber": _string,
}


def column_type(field: FieldDef) -> TypeEngine[Any]:
    """The SQLAlchemy column type that stores values of ``field``.

    Raises ``ValueError`` for a type this engine does not know: definitions are
    validated before they are compiled, so reaching it means the two disagree.
    """
    try:
        make = _COLUMN_TYPES[field.type]
    except KeyError:
        known = ", ".join(sorted(_COLUMN_TYPES))
        raise ValueError(f"field {field.name!r} has unknown type {field.type!r}; known types: {known}") from None
    return make(field)
