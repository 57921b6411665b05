"""The field-type registry: what each field type is, kept in one place.

Every layer that treats field types differently asks this registry ("is this a text type?",
"which types can be summed?", "what is the email format?") instead of spelling its own tuple
of type names. What a layer makes of a type (a SQL column, an HTML input, an OpenAPI schema,
a CSV conversion) stays in that layer, in a table keyed by the type name that a test holds
exhaustive against :data:`FIELD_TYPES`. Adding a field type is one :class:`FieldTypeSpec` in
:data:`_REGISTRY` plus one row per layer table (see ``docs/where-things-live.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from engine.metadata._model import FieldType
from engine.suggestions import did_you_mean

Family = Literal["text", "number", "choice", "temporal", "json", "reference"]
#: Operators a list view's filter offers on a field, in the order it offers them.
FilterOperator = Literal["eq", "ne", "contains", "gte", "lte"]

#: ``local@domain.tld``: no spaces or ``@`` in the local part, at least one dot in the
#: domain and no empty labels. Deliberately simple: deliverability is not decidable
#: from syntax, so this only catches values that are clearly not addresses.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
#: An optional leading ``+``, then 5 to 32 digits, spaces, parentheses, dots or hyphens,
#: at least 5 of them digits: ``+86 (10) 5555-0100``, ``555.0100 12``.
PHONE_PATTERN = re.compile(r"\+?(?=(?:[^0-9]*[0-9]){5})[0-9 ().\-]{5,32}")
#: ``http://`` or ``https://`` (any case) followed by a non-empty host, then an optional
#: path, query or fragment without spaces.
URL_PATTERN = re.compile(r"(?i:https?)://[^\s/?#]+(?:[/?#]\S*)?")
#: ``YYYY-MM-DD``, how a date is written as text; the calendar check is ``date.fromisoformat``'s.
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: ``YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]`` (``T`` or a space), how a date-time is written
#: as text; no offset means UTC.
DATETIME_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
    r"(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)


@dataclass(frozen=True)
class FieldTypeSpec:
    """What the engine knows about one field type, whatever the layer.

    :param name: the type as definitions spell it (``"email"``).
    :param family: the kind of value: text, number, choice, temporal, json or reference.
    :param max_length: the ``max_length`` a definition without one gets (text types stored
        in a bounded column), else ``None``.
    :param precision: the ``(precision, scale)`` a definition without them gets, else ``None``.
    :param pattern: the format every value must match in full (email, phone, url), else ``None``.
    :param whole: values are whole numbers (integers, and reference ids).
    :param json_valued: values are JSON lists or documents (stored in a JSON column).
    :param multiline: values are long text, edited in a text area and never trimmed.
    :param listed: values fit a list column (the admin list shows and sorts by them).
    :param indexable: a database index can be built on the column.
    :param searchable: a free-text search looks in values of this type.
    :param orderable: records can be sorted (and paged by cursor) by values of this type.
    :param ranged: filters offer "from" / "up to" bounds on values of this type.
    :param groupable: a report can group records by values of this type.
    :param summable: a report can sum and average values of this type.
    :param filter_operators: the operators a list view's filter offers, in order.
    :param assigned: the engine assigns values when a record is created (autonumber): they
        are unique and read-only, and no create or update may give one; only an import may.
    :param message_key: the key of the type's "must be ..." sentence in message catalogs
        (several types share one: every text type says "must be text").
    """

    name: FieldType
    family: Family
    max_length: int | None = None
    precision: tuple[int, int] | None = None
    pattern: re.Pattern[str] | None = None
    whole: bool = False
    json_valued: bool = False
    multiline: bool = False
    listed: bool = True
    indexable: bool = True
    searchable: bool = False
    orderable: bool = True
    ranged: bool = False
    groupable: bool = True
    summable: bool = False
    filter_operators: tuple[FilterOperator, ...] = ("eq",)
    assigned: bool = False
    message_key: str = ""

    def __post_init__(self) -> None:
        if not self.message_key:
            object.__setattr__(self, "message_key", self.name)


def _text(
    name: FieldType, max_length: int | None, pattern: re.Pattern[str] | None = None, *, assigned: bool = False
) -> FieldTypeSpec:
    return FieldTypeSpec(
        name,
        "text",
        max_length=max_length,
        pattern=pattern,
        searchable=True,
        filter_operators=("contains", "eq"),
        assigned=assigned,
        message_key="text",
    )


def _number(name: FieldType, *, whole: bool = False, precision: tuple[int, int] | None = None) -> FieldTypeSpec:
    return FieldTypeSpec(
        name,
        "number",
        precision=precision,
        whole=whole,
        ranged=True,
        summable=True,
        filter_operators=("eq", "gte", "lte"),
        message_key="integer" if whole else "decimal",
    )


def _temporal(name: FieldType) -> FieldTypeSpec:
    return FieldTypeSpec(name, "temporal", ranged=True, filter_operators=("eq", "gte", "lte"))


_LONG_TEXT = FieldTypeSpec(
    "text",
    "text",
    multiline=True,
    listed=False,
    searchable=True,
    groupable=False,
    filter_operators=("contains", "eq"),
)


def _json_valued(name: FieldType, family: Family, filter_operators: tuple[FilterOperator, ...]) -> FieldTypeSpec:
    return FieldTypeSpec(
        name,
        family,
        json_valued=True,
        multiline=family == "json",
        listed=False,
        indexable=False,
        orderable=False,
        groupable=False,
        filter_operators=filter_operators,
    )


#: Every field type, in the order definitions' meta-schema lists them.
_REGISTRY: tuple[FieldTypeSpec, ...] = (
    _text("string", 255),
    _LONG_TEXT,
    _number("integer", whole=True),
    _number("decimal", precision=(18, 6)),
    _number("money", precision=(18, 2)),
    FieldTypeSpec("boolean", "choice"),
    _temporal("date"),
    _temporal("datetime"),
    FieldTypeSpec("enum", "choice", filter_operators=("eq", "ne")),
    _json_valued("multi_enum", "choice", ("contains",)),
    _text("email", 254, EMAIL_PATTERN),
    _text("phone", 32, PHONE_PATTERN),
    _text("url", 2048, URL_PATTERN),
    FieldTypeSpec("reference", "reference", whole=True),
    _json_valued("json", "json", ()),
    # the column is at least this wide; a pattern whose numbers can be longer widens it
    _text("autonumber", 64, assigned=True),
)
_BY_NAME: Mapping[str, FieldTypeSpec] = MappingProxyType({spec.name: spec for spec in _REGISTRY})


class UnknownFieldTypeError(LookupError):
    """A field type the registry does not hold: definitions are validated before anything
    asks, so reaching it means a caller and the registry disagree."""


def field_type(name: str) -> FieldTypeSpec:
    """The registry entry of the field type ``name``; :class:`UnknownFieldTypeError` if none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        hint = did_you_mean(name, _BY_NAME, otherwise=f" Known types: {', '.join(_BY_NAME)}.")
        raise UnknownFieldTypeError(f'unknown field type "{name}".{hint}') from None


def types_where(test: Callable[[FieldTypeSpec], object]) -> frozenset[str]:
    """The names of the field types whose entry passes ``test``."""
    return frozenset(spec.name for spec in _REGISTRY if test(spec))


def types_in(family: Family) -> frozenset[str]:
    """The names of the field types of ``family``."""
    return types_where(lambda spec: spec.family == family)


#: Every field type, in the order the meta-schema lists them.
FIELD_TYPES: tuple[FieldType, ...] = tuple(spec.name for spec in _REGISTRY)
#: Field types whose values are strings and accept min_length / max_length / pattern.
TEXT_TYPES: frozenset[str] = types_in("text")
#: Field types that accept minimum / maximum (and that reports sum).
NUMBER_TYPES: frozenset[str] = types_in("number")
#: Dates and date-times.
TEMPORAL_TYPES: frozenset[str] = types_in("temporal")
#: Numbers with a precision and a scale (decimal, money): amounts, shown at their scale.
DECIMAL_TYPES: frozenset[str] = types_where(lambda spec: spec.precision is not None)
#: Whole-number values: integers and reference ids.
WHOLE_TYPES: frozenset[str] = types_where(lambda spec: spec.whole)
#: Values that are JSON lists or documents (multi_enum, json).
JSON_VALUED_TYPES: frozenset[str] = types_where(lambda spec: spec.json_valued)
#: Long text (text, json): a text area to edit, a wrapped cell to show, never trimmed.
MULTILINE_TYPES: frozenset[str] = types_where(lambda spec: spec.multiline)
#: Types filters bound from / up to (numbers, dates and date-times).
ORDERED_TYPES: frozenset[str] = types_where(lambda spec: spec.ranged)
#: Types a free-text search looks in.
SEARCHABLE_TYPES: frozenset[str] = types_where(lambda spec: spec.searchable)
#: Types a list fits in a column and sorts by.
LISTED_TYPES: frozenset[str] = types_where(lambda spec: spec.listed)
#: Types a database index can be built on.
INDEXABLE_TYPES: frozenset[str] = types_where(lambda spec: spec.indexable)
#: Types records can be sorted by.
ORDERABLE_TYPES: frozenset[str] = types_where(lambda spec: spec.orderable)
#: Types a report can group by.
GROUPABLE_TYPES: frozenset[str] = types_where(lambda spec: spec.groupable)
#: Types a report can sum and average.
SUMMABLE_TYPES: frozenset[str] = types_where(lambda spec: spec.summable)
#: Types whose values the engine assigns at creation (autonumber): unique, never input.
ASSIGNED_TYPES: frozenset[str] = types_where(lambda spec: spec.assigned)
#: Default max_length where a text-like type has none (the column width).
DEFAULT_MAX_LENGTH: Mapping[str, int] = MappingProxyType(
    {spec.name: spec.max_length for spec in _REGISTRY if spec.max_length is not None}
)
#: Default (precision, scale) for decimal-like types without explicit ones.
DEFAULT_PRECISION: Mapping[str, tuple[int, int]] = MappingProxyType(
    {spec.name: spec.precision for spec in _REGISTRY if spec.precision is not None}
)
#: The format each formatted type's values must match in full (email, phone, url).
FORMAT_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {spec.name: spec.pattern for spec in _REGISTRY if spec.pattern is not None}
)
