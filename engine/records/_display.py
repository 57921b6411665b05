"""Values as people read them, for every edge that shows records to a person (CLI tables,
admin UI): a record's display text, the display texts of a page's references in one query
per target entity, amounts grouped at their field's scale, durations in days, hours and
minutes. Machine-readable output (``--json``, the REST API) keeps raw ids and values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from engine.errors import CrmError
from engine.metadata import DECIMAL_TYPES, EntityDef, FieldDef

if TYPE_CHECKING:
    from engine.users import Actor

    from ._service import RecordService

#: Ids asked for in one query (an ``in`` list every database takes).
_IDS_PER_QUERY = 500
#: Field types whose values are amounts: grouped in thousands, shown at the field's scale.
AMOUNT_TYPES: frozenset[str] = DECIMAL_TYPES


def display_text(definition: EntityDef, record: Mapping[str, Any], language: str = "en") -> str:
    """The record's display field, else "Label #id"."""
    if definition.display:
        value = record.get(definition.display)
        if value not in (None, ""):
            return str(value)
    return f"{definition.label.get(language)} #{record.get('id')}"


def display_texts(
    records: RecordService, entity: str, ids: Iterable[int], actor: Actor, language: str = "en"
) -> dict[int, str]:
    """id → display text of the records of ``entity`` with these ids, read as ``actor`` reads
    them (one query per 500 ids; ids with no record, or none ``actor`` may read, are left out)."""
    wanted = sorted(set(ids))
    definition = records.model.entity(entity)
    found: dict[int, str] = {}
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        try:
            page = records.list(entity, where={"id": {"in": chunk}}, limit=len(chunk), with_total=False, actor=actor)
        except CrmError:  # the user may not read this entity at all: ids only
            return found
        found.update({r["id"]: display_text(definition, r, language) for r in page.items})
    return found


def reference_texts(
    records: RecordService,
    definition: EntityDef,
    rows: Iterable[Mapping[str, Any]],
    actor: Actor,
    language: str = "en",
) -> dict[tuple[str, int], str]:
    """(field, id) → display text of every referenced record in ``rows`` (records of
    ``definition``) that ``actor`` may read: one query per target entity, not one per row."""
    rows = list(rows)
    wanted: dict[str, set[int]] = {}
    fields: dict[str, str] = {}
    for f in definition.references():
        if f.target is None:
            continue
        ids = {int(r[f.name]) for r in rows if isinstance(r.get(f.name), int)}
        if ids:
            wanted.setdefault(f.target, set()).update(ids)
            fields[f.name] = f.target
    texts = {target: display_texts(records, target, ids, actor, language) for target, ids in wanted.items()}
    out: dict[tuple[str, int], str] = {}
    for name, target in fields.items():
        out.update({(name, record_id): text for record_id, text in texts[target].items()})
    return out


def reference_text(record_id: Any, text: str | None) -> str:
    """A reference as plain text: its display text with the id (``中国电信 (#9)``), the id alone
    (``#9``) when the record cannot be read, the fallback text alone when it names the id."""
    if text is None:
        return f"#{record_id}"
    if text.endswith(f"#{record_id}"):
        return text
    return f"{text} (#{record_id})"


def format_amount(value: Any, scale: int | None) -> str:
    """An amount with thousands separators at ``scale`` decimals: ``1,250,000.00``
    (a value that is not a number comes back as it is)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    if scale is None:
        return f"{number:,f}"
    return f"{number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP):,.{scale}f}"


def format_value(field: FieldDef | None, value: Any) -> Any:
    """An amount formatted for reading (see :func:`format_amount`); any other value as it is."""
    if field is not None and field.type in AMOUNT_TYPES and value is not None and value != "":
        return format_amount(value, field.scale)
    return value


#: (seconds, English singular, English plural, Chinese) per unit, largest first.
_UNITS: tuple[tuple[int, str, str, str], ...] = (
    (86400, "day", "days", "天"),
    (3600, "h", "h", "小时"),
    (60, "min", "min", "分钟"),
    (1, "s", "s", "秒"),
)


def _unit(count: int, unit: tuple[int, str, str, str], language: str) -> str:
    _, one, many, chinese = unit
    if language.startswith("zh"):
        return f"{count} {chinese}"
    return f"{count} {one if count == 1 else many}"


def format_duration(value: timedelta | float, language: str = "en") -> str:
    """A duration as people say it, in its two largest units: ``14 days``, ``2 days 4 h``,
    ``3 h 30 min``, ``45 s`` (``2 天 4 小时`` in Chinese). ``value`` is a timedelta or seconds;
    the smaller unit is rounded."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    index = next((i for i, u in enumerate(_UNITS) if seconds >= u[0]), len(_UNITS) - 1)
    big = _UNITS[index]
    if index == len(_UNITS) - 1:
        return sign + _unit(round(seconds), big, language)
    small = _UNITS[index + 1]
    total = round(seconds / small[0])
    whole, rest = divmod(total, big[0] // small[0])
    parts = [_unit(whole, big, language)] + ([_unit(rest, small, language)] if rest else [])
    return sign + " ".join(parts)
