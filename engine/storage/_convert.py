"""Converting stored values when a field changes its type: the one table of rules.

Every conversion reads the stored value through the OLD column type (so SQLite and
PostgreSQL hand the same Python value over, e.g. a decoded JSON list rather than its raw
text) and converts it in Python, never with database casts: the result is the same on both
databases. A rule turns the old value into a *candidate* text; the new field's own CSV
reader then decides whether that text is a valid value, exactly as an export and re-import
would. Each value ends up in one of three outcomes:

- ``same``: the new value stands for the old one (``10`` → ``10.0``, ``a|b`` → ``a|b``,
  ``[1, 2]`` → ``[1,2]``);
- ``changed``: a value is kept but differs from what was stored (``00123`` → ``123``,
  ``2.5`` → ``3``, ``2026-01-02T10:30`` → ``2026-01-02``): destructive, listed in the plan;
- ``lost``: no valid value of the new field (the value is emptied): destructive.

A reference keeps a value only when the record it names exists in the new target table.
The table of what converts, changes and is lost for each pair of types is in
``docs/migrations.md``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import DATE_RE, NUMERIC_RE, ExactDecimal, column_type, compile_csv_reader
from engine.metadata import NO_DEFAULT, EntityDef, FieldDef

from ._values import to_jsonable, to_text

Outcome = Literal["same", "changed", "lost"]

#: Field types that hold plain text.
TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url", "enum", "autonumber"})
#: Field types whose values are decimal numbers (an integer is one of scale 0).
NUMBER_TYPES = frozenset({"integer", "decimal", "money"})
#: Field types stored as fixed-point decimals.
DECIMAL_TYPES = frozenset({"decimal", "money"})
#: A number as this engine exports it: no "+", no leading zeros, no exponent, no spaces.
#: Any other spelling of a number converts, but its stored text changes.
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
#: Rounds to a column's scale without losing whole digits; too many of them fail.
_ROUNDING = Context(prec=1000, rounding=ROUND_HALF_UP, traps=[InvalidOperation])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: JSON text to a value, as the CSV reader decodes it (no NaN, no Infinity).
_decode_json = json.JSONDecoder(parse_constant=_refuse_constant).decode


@dataclass(frozen=True)
class Conversion:
    """What becomes of one stored value.

    :param before: the export text of the stored value.
    :param value: the new value (``None`` when lost).
    """

    record_id: int
    before: str
    value: Any
    outcome: Outcome


class _Lost(Exception):
    """A rule finds no value of the new type."""


#: A rule: stored value, old field, new field → (candidate text, whether the rule changes it).
Rule = Callable[[Any, FieldDef, FieldDef], tuple[str, bool]]


def _as_text(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """The default: the export text of the value, read as the new type."""
    return to_text(old, value), False


def _json_to_text(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """A JSON string becomes its text; other JSON values their compact JSON text."""
    return (value, False) if isinstance(value, str) else (to_text(old, value), False)


def _text_to_json(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """JSON text is read as JSON; any other text becomes a JSON string (nothing is lost)."""
    try:
        _decode_json(value)
    except (ValueError, RecursionError):
        return json.dumps(value, ensure_ascii=False), False
    return value, False


def _value_to_json(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """A value becomes its JSON form, as the API shows it (a list, a number, a date text)."""
    return json.dumps(to_jsonable(value), ensure_ascii=False), False


def _multi_to_single(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """One chosen value converts; none empties nothing; several cannot be one."""
    if len(value) > 1:
        raise _Lost
    return (str(value[0]) if value else ""), False


def _keep_choices(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """Chosen values that are no longer choices are dropped; the rest is kept."""
    kept = [v for v in value if v in new.choice_values]
    if value and not kept:
        raise _Lost
    return to_text(new, kept), len(kept) != len(value)


def _boolean_to_number(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    return ("1" if value else "0"), False


def _number_to_boolean(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    if value == 1:
        return "true", False
    if value == 0:
        return "false", False
    raise _Lost


def _date_to_datetime(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """A date widens to its midnight (UTC)."""
    return datetime.combine(value, time(0), tzinfo=UTC).isoformat(), False


def _text_to_datetime(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """A date alone widens to its midnight (UTC), as a date field does; other text is read as is."""
    if DATE_RE.fullmatch(value):
        return value + "T00:00:00+00:00", False
    return value, False


def _datetime_to_date(value: Any, old: FieldDef, new: FieldDef) -> tuple[str, bool]:
    """The UTC date; only a time other than midnight is information lost."""
    moment = value.astimezone(UTC)
    return moment.date().isoformat(), moment.time() != time(0)


_RULES: dict[tuple[str, str], Rule] = {
    ("multi_enum", "enum"): _multi_to_single,
    ("multi_enum", "multi_enum"): _keep_choices,
    ("boolean", "integer"): _boolean_to_number,
    ("boolean", "decimal"): _boolean_to_number,
    ("boolean", "money"): _boolean_to_number,
    ("integer", "boolean"): _number_to_boolean,
    ("decimal", "boolean"): _number_to_boolean,
    ("money", "boolean"): _number_to_boolean,
    ("date", "datetime"): _date_to_datetime,
    ("datetime", "date"): _datetime_to_date,
}


def rule_for(old: FieldDef, new: FieldDef) -> Rule:
    """The conversion rule of a type change (the export text when no rule is needed)."""
    if old.type == "json" and new.type != "json":
        return _json_to_text
    if new.type == "json" and old.type != "json":
        return _text_to_json if old.type in TEXT_TYPES else _value_to_json
    if old.type in TEXT_TYPES and new.type == "datetime":
        return _text_to_datetime
    return _RULES.get((old.type, new.type), _as_text)


def storage_signature(f: FieldDef) -> tuple[Any, ...]:
    """What the column stores; a change of it needs DDL and possibly a data rewrite."""
    kind = type(column_type(f)).__name__
    return (kind, f.max_length if f.type != "text" else None, f.precision, f.scale, f.target)


def rescaled(column: sa.ColumnElement[Any], old_scale: int, new_scale: int) -> sa.ColumnElement[Any]:
    """The stored integers of a decimal column on SQLite (value × 10^scale) at another scale.

    More decimals multiply exactly; fewer divide, rounded half away from zero as the plan
    rounds every value (the values the plan lists as changed are rounded already). ``column``
    is the bare column, without the decimal type that would scale the factors too.
    """
    if new_scale >= old_scale:
        return column * sa.literal(10 ** (new_scale - old_scale), sa.BigInteger())
    factor = sa.literal(10 ** (old_scale - new_scale), sa.BigInteger())
    half = sa.literal(10 ** (old_scale - new_scale) // 2, sa.BigInteger())
    # both quotients are of numbers >= 0, so flooring them rounds
    return sa.case((column >= 0, (column + half) // factor), else_=-((half - column) // factor))


def rescales(conn: Connection, old: FieldDef, new: FieldDef) -> bool:
    """Whether a change from ``old`` to ``new`` rewrites stored decimal integers (SQLite, new scale)."""
    return (
        conn.dialect.name == "sqlite"
        and isinstance(column_type(old), ExactDecimal)
        and isinstance(column_type(new), ExactDecimal)
        and old.scale != new.scale
    )


def _value_kind(f: FieldDef) -> str:
    """The Python value family of a field; a change of family rewrites every value."""
    if f.type in TEXT_TYPES:
        return "str"
    if f.type in DECIMAL_TYPES:
        return "decimal"
    return f.type


def same_value_kind(old: FieldDef, new: FieldDef) -> bool:
    """Whether the column of ``old`` can hold the values of ``new`` (altered in place)."""
    return _value_kind(old) == _value_kind(new)


def _fit_number(text: str, new: FieldDef) -> tuple[str, bool]:
    """Number ``text`` as a number field ``new`` stores it, and whether that changes it.

    Surrounding spaces go and the number is rounded half away from zero to the field's
    scale (an integer's is 0), as PostgreSQL rounds a cast: `` 8`` → ``8``, ``2.5`` →
    ``3``. Text that spells no number is left for the field's reader to refuse.
    """
    trimmed = text.strip()
    if not NUMERIC_RE.fullmatch(trimmed):
        return text, False
    number = Decimal(trimmed)
    scale = 0 if new.type == "integer" else new.scale or 0
    try:
        fitted = _ROUNDING.quantize(number, Decimal(1).scaleb(-scale))
    except InvalidOperation:
        return text, False  # more digits than any column holds: the reader refuses it
    if fitted.is_zero():
        fitted = fitted.copy_abs()
    kept = fitted == number and _PLAIN_NUMBER.fullmatch(text) is not None
    return format(fitted, "f"), not kept


def _stands_for(candidate: str, after: str, value: Any, new: FieldDef) -> bool:
    """Whether the new value (export text ``after``) is the one ``candidate`` spells."""
    if after == candidate:
        return True
    try:
        if new.type in NUMBER_TYPES:
            return _PLAIN_NUMBER.fullmatch(candidate) is not None and Decimal(candidate) == Decimal(after)
        if new.type == "json":
            return _canonical_json(_decode_json(candidate)) == _canonical_json(value)
        if new.type == "multi_enum":
            return candidate.startswith("[") and _decode_json(candidate) == value
        if new.type == "datetime":
            moment = datetime.fromisoformat(candidate)
            return bool((moment if moment.tzinfo else moment.replace(tzinfo=UTC)) == value)
    except (ValueError, InvalidOperation, RecursionError):
        return False
    return False


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class Converter:
    """Converts values of ``old`` into values of ``new``; ``target_ids`` are the records a
    reference may name (``None`` when ``new`` is no reference)."""

    def __init__(self, old: FieldDef, new: FieldDef, target_ids: set[int] | None = None) -> None:
        self.old = old
        self.new = new
        self.rule = rule_for(old, new)
        self.target_ids = target_ids
        probe = dataclasses.replace(
            new, required=False, read_only=False, unique=False, default=NO_DEFAULT, renamed_from=None
        )
        self.reader = compile_csv_reader(EntityDef(name="probe", label=new.label, fields={new.name: probe}), [new.name])

    def convert(self, record_id: int, value: Any) -> Conversion:
        before = to_text(self.old, value)
        try:
            candidate, changed = self.rule(value, self.old, self.new)
        except _Lost:
            return Conversion(record_id, before, None, "lost")
        if self.new.type in NUMBER_TYPES:
            candidate, rounded = _fit_number(candidate, self.new)
            changed = changed or rounded
        if candidate == "":
            return Conversion(record_id, before, None, "same")
        values, problems = self.reader.convert([candidate])
        if problems or values is None or values[0] is None:
            return Conversion(record_id, before, None, "lost")
        new_value = values[0]
        if self.target_ids is not None and new_value not in self.target_ids:
            return Conversion(record_id, before, None, "lost")
        changed = changed or not _stands_for(candidate, to_text(self.new, new_value), new_value, self.new)
        return Conversion(record_id, before, new_value, "changed" if changed else "same")


def reference_ids(conn: Connection, table: str | None) -> set[int]:
    """The ids of ``table`` (none when the table does not exist yet)."""
    if table is None or not sa.inspect(conn).has_table(table):
        return set()
    idc: sa.ColumnClause[Any] = sa.column("id")
    return {int(i) for (i,) in conn.execute(sa.select(idc).select_from(sa.table(table, idc)))}


def iter_conversions(
    conn: Connection, table: str, column: str, old: FieldDef, new: FieldDef, *, target_table: str | None = None
) -> Iterator[Conversion]:
    """What becomes of every stored non-null value of ``column`` (ordered by id).

    ``target_table`` is the table a new reference points to, as it is named at this moment.
    """
    target_ids = reference_ids(conn, target_table) if new.type == "reference" else None
    converter = Converter(old, new, target_ids)
    idc: sa.ColumnClause[Any] = sa.column("id")
    col: sa.ColumnClause[Any] = sa.column(column, column_type(old))
    query = sa.select(idc, col).select_from(sa.table(table, idc, col)).where(col.is_not(None)).order_by(idc)
    for record_id, value in conn.execute(query.execution_options(yield_per=5000)):
        yield converter.convert(record_id, value)


#: ``(record id, stored text, new text or None when emptied)``
Example = tuple[int, str, str | None]


@dataclass(frozen=True)
class ConversionCounts:
    """What a type change does to the stored values of one field.

    :param clashes: how many records would share a new value with another record (counted
        when the new field is unique: "007" and "7" both become 7).
    """

    lost: int = 0
    changed: int = 0
    examples: tuple[Example, ...] = ()
    clashes: int = 0
    clash_examples: tuple[Example, ...] = ()


def count_conversions(
    conn: Connection,
    table: str,
    column: str,
    old: FieldDef,
    new: FieldDef,
    *,
    target_table: str | None = None,
    limit: int = 10,
) -> ConversionCounts:
    """Count the values of ``column`` a change from ``old`` to ``new`` would lose, change or
    make equal under a unique constraint, with the first ``limit`` of each."""
    lost = changed = 0
    examples: list[Example] = []
    holders: dict[Any, list[Conversion]] = {}
    for c in iter_conversions(conn, table, column, old, new, target_table=target_table):
        if new.unique and c.value is not None:
            holders.setdefault(_unique_key(c.value), []).append(c)
        if c.outcome == "same":
            continue
        lost += c.outcome == "lost"
        changed += c.outcome == "changed"
        if len(examples) < limit:
            examples.append(example(c, new))
    shared = [c for group in holders.values() if len(group) > 1 for c in group]
    return ConversionCounts(
        lost,
        changed,
        tuple(examples),
        len(shared),
        tuple(example(c, new) for c in sorted(shared, key=lambda c: c.record_id)[:limit]),
    )


def _unique_key(value: Any) -> Any:
    """Values a unique index takes as equal have equal keys (``1.5`` and ``1.50``)."""
    try:
        hash(value)
    except TypeError:
        return json.dumps(to_jsonable(value), sort_keys=True)
    return value


def example(c: Conversion, new: FieldDef) -> Example:
    """``(id, stored text, new text or None when emptied)`` of a changed or lost value."""
    return (c.record_id, c.before, None if c.outcome == "lost" else to_text(new, c.value))


def describe_example(record_id: int, before: str, after: str | None) -> str:
    """``#12 '00123' → '123'`` (or ``→ empty``), for plans and refusals."""
    return f"#{record_id} {_short(before)!r} → " + ("empty" if after is None else repr(_short(after)))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
