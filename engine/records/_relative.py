"""Relative values of a view's filter, worked out for one user at one moment.

A view's ``where`` may hold ``"@me"``, ``"@now"`` and periods (``"@this_month"``,
``"@last_7_days"``...; their grammar is ``engine.metadata``'s ``parse_relative``).
:func:`resolve_relative` turns such a filter into a plain one of the records' filter
language: ``@me`` becomes the user's name, ``@now`` the moment, and a period the pair of
bounds its operator needs. This is the one place that does it: the views service calls it
each time a view is applied, for the API, the admin lists and the board alike.

Days are UTC days (the engine keeps no time zone per user), weeks start on Monday, and
months, quarters and years are calendar ones. A period on a ``date`` field compares dates;
on a ``datetime`` field, instants from 00:00 UTC of its first day to 00:00 UTC after its
last (excluded). With an operator a period stands for::

    eq (or a bare value)   start <= value < end
    ne                      value < start or value >= end or value is empty
    gte / lt                compared with start
    gt / lte                compared with end (gt: value >= end; lte: value < end)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.metadata import EntityDef, Relative, is_relative, literal, parse_relative

from ._filters import system_field

#: Bounds of a period: its first day, and the day after its last.
Period = tuple[date, date]


def period_bounds(relative: Relative, today: date) -> Period:
    """The days a period covers, counted from ``today``."""
    unit, offset, length = relative.unit, relative.offset, relative.length
    if unit == "day":
        start = today + timedelta(days=offset)
        return start, start + timedelta(days=length)
    if unit == "week":
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        return start, start + timedelta(weeks=length)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    first = today.replace(day=1)
    if unit == "quarter":
        first = first.replace(month=(today.month - 1) // 3 * 3 + 1)
    elif unit == "year":
        first = first.replace(month=1)
    start = _add_months(first, offset * months)
    return start, _add_months(start, length * months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def resolve_relative(
    where: Any, entity: EntityDef, entities: Mapping[str, EntityDef], *, user: str, now: datetime
) -> Any:
    """``where`` with its relative values worked out for ``user`` at ``now`` (see above);
    ``"@@x"`` becomes the text ``"@x"``. Keys it does not know are left for the filter
    compiler to report."""
    return _Resolver(entity, entities, user, now).node(where)


class _Resolver:
    def __init__(self, entity: EntityDef, entities: Mapping[str, EntityDef], user: str, now: datetime) -> None:
        self.entity = entity
        self.entities = entities
        self.user = user
        self.now = now.astimezone(UTC)
        self.today = self.now.date()

    def node(self, node: Any) -> Any:
        if not isinstance(node, Mapping):
            return node
        out: dict[str, Any] = {}
        extra: list[Any] = []
        for key, value in node.items():
            if key in ("and", "or"):
                out[key] = [self.node(item) for item in value] if isinstance(value, list) else value
            elif key == "not":
                out[key] = self.node(value)
            else:
                self.condition(str(key), value, out, extra)
        if not extra:
            return out
        return {"and": [out, *extra]} if out else (extra[0] if len(extra) == 1 else {"and": extra})

    def field_type(self, key: str) -> str | None:
        entity, name = self.entity, key
        if "." in key:
            reference, _, name = key.partition(".")
            found = self.entity.fields.get(reference)
            target = self.entities.get(found.target or "") if found is not None else None
            if target is None:
                return None
            entity = target
        f = entity.fields.get(name) or system_field(name)
        return None if f is None else f.type

    def condition(self, key: str, value: Any, out: dict[str, Any], extra: list[Any]) -> None:
        kind = self.field_type(key)
        operators = value if isinstance(value, Mapping) else {"eq": value}
        kept: dict[str, Any] = {}
        for op, operand in operators.items():
            if op == "in" and isinstance(operand, list):
                kept[op] = [self.value(item, kind) for item in operand]
                continue
            relative = parse_relative(operand) if is_relative(operand) and kind is not None else None
            if relative is None or relative.kind != "period":
                kept[op] = self.value(operand, kind)
                continue
            start, end = (self.bound(day, kind) for day in period_bounds(relative, self.today))
            if op == "eq":
                self.put(key, kept, extra, {"gte": start, "lt": end})
            elif op == "ne":
                extra.append({"or": [{key: {"lt": start}}, {key: {"gte": end}}, {key: {"is_null": True}}]})
            else:  # gte and lt compare with the start; gt (>= end) and lte (< end) with the end
                bound = start if op in ("gte", "lt") else end
                self.put(key, kept, extra, {"lt" if op in ("lt", "lte") else "gte": bound})
        if not kept:
            return
        if not isinstance(value, Mapping) and list(kept) == ["eq"]:
            out[key] = kept["eq"]
        else:
            out[key] = kept

    @staticmethod
    def put(key: str, kept: dict[str, Any], extra: list[Any], bounds: Mapping[str, Any]) -> None:
        """Add ``bounds`` to the key's operators, or as a condition of its own when one of
        them is already there (``{"gte": "@this_month", "lt": "@next_month"}``)."""
        if any(op in kept for op in bounds):
            extra.append({key: dict(bounds)})
        else:
            kept.update(bounds)

    def value(self, value: Any, kind: str | None) -> Any:
        if not isinstance(value, str):
            return value
        if not is_relative(value) or kind is None:
            return literal(value)
        relative = parse_relative(value)
        if relative is None:
            return value  # left for the filter's own check to refuse
        if relative.kind == "user":
            return self.user
        if relative.kind == "instant":
            return self.today.isoformat() if kind == "date" else self.now.isoformat()
        return self.bound(period_bounds(relative, self.today)[0], kind)

    @staticmethod
    def bound(day: date, kind: str | None) -> str:
        if kind == "date":
            return day.isoformat()
        return datetime.combine(day, time(0), tzinfo=UTC).isoformat()
