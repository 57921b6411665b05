"""Column types: the one table from field type to SQLAlchemy type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.metadata._model import FieldDef

#: Enum columns are at least this wide, so adding a longer choice later rarely needs a
#: column type change (which PostgreSQL would do with a table rewrite).
ENUM_MIN_LENGTH = 64

_UTC = UTC


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
        return self


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
    return Numeric(field.precision, field.scale, asdecimal=True)


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
