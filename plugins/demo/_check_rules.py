"""The invariants of dates and states (see ``_check.RULES``), found from names and workflows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from engine.metadata import EntityDef

from ._check import CheckData, Rule, Violation
from ._values import part_fields

_DATES = frozenset({"date", "datetime"})
_NUMBERS = frozenset({"integer", "decimal", "money"})
#: last words of a time field that say only "when" (check_in_at, start_date, joined_on)
_WHEN = frozenset({"at", "on", "date", "time", "day"})
#: (earlier words, later words): a field with the first, and one named alike with the
#: second in their place, hold dates in that order
DATE_PAIRS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("start",), ("end",)),
    (("starts",), ("ends",)),
    (("begin",), ("end",)),
    (("check", "in"), ("check", "out")),
    (("from",), ("to",)),
    (("from",), ("until",)),
    (("since",), ("until",)),
    (("joined",), ("left",)),
    (("issued",), ("expires",)),
    (("occurred",), ("expires",)),
    (("invoice",), ("due",)),
    (("applied",), ("listed",)),
    (("submitted",), ("approved",)),
    (("submitted",), ("reviewed",)),
    (("reviewed",), ("approved",)),
    (("approved",), ("paid",)),
    (("opened",), ("closed",)),
    (("order",), ("delivery",)),
    (("order",), ("handed", "over")),
    (("installation",), ("acceptance",)),
)
#: first words of a term's start and end (an agreement's start_date/end_date)
_TERM_START = frozenset({"start", "starts", "begin", "from", "since", "issued"})
_TERM_END = frozenset({"end", "ends", "to", "until", "expires"})
#: times an outcome stamps (won_at, done_at): after the record was made, never in the future
OUTCOMES = frozenset(
    {"done", "completed", "won", "approved", "reviewed", "converted", "resolved", "paid", "collected", "redeemed"}
)
#: a state and the first words of the time that says when it was reached
_STATE_TIMES = {"done": ("done", "completed"), "completed": ("completed", "done"), "finished": ("finished", "done")}
#: states of records that came to nothing: they received no money
LOST_STATES = frozenset(
    {"lost", "cancelled", "canceled", "rejected", "disqualified", "declined", "terminated", "withdrawn", "void"}
)
#: first words of money that came in (actual_amount of a revenue instalment, collected_amount)
_RECEIVED = frozenset({"actual", "collected", "received", "paid"})
_SPENT = frozenset({"cost", "costs", "expense", "expenses", "spend", "spent", "budget"})
#: states of something in force today, and of something whose term is over
IN_FORCE = frozenset({"active", "running", "in_force", "effective"})
_OVER = frozenset({"expired"})
#: states of money collected in full, and in part
_SETTLED = frozenset({"collected", "paid", "settled"})
_PARTLY = ("partially_", "partly_")


def stem(name: str) -> tuple[str, ...]:
    """The words of a field name without a last "when" word (check_in_at → check, in)."""
    words = tuple(w for w in name.lower().split("_") if w)
    return words[:-1] if len(words) > 1 and words[-1] in _WHEN else words


def _replaced(words: tuple[str, ...], old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...] | None:
    for i in range(len(words) - len(old) + 1):
        if words[i : i + len(old)] == old:
            return words[:i] + new + words[i + len(old) :]
    return None


def date_pairs(entity: EntityDef) -> list[tuple[str, str]]:
    """(earlier, later) date or datetime fields of ``entity`` by :data:`DATE_PAIRS`."""
    by_stem = {stem(n): n for n in sorted(entity.fields) if entity.fields[n].type in _DATES}
    pairs: list[tuple[str, str]] = []
    for words, name in sorted(by_stem.items()):
        for old, new in DATE_PAIRS:
            other = _replaced(words, old, new)
            if other is not None and other in by_stem and (name, by_stem[other]) not in pairs:
                pairs.append((name, by_stem[other]))
    return pairs


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def later_than(a: date | datetime, b: date | datetime) -> bool:
    """``a`` is after ``b`` (by day when either is a date)."""
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a > b
    return _day(a) > _day(b)


def _date_order(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        for earlier, later in date_pairs(entity):
            for r in data.records[entity.name]:
                a, b = r[earlier], r[later]
                if a is not None and b is not None and later_than(a, b):
                    yield Violation(
                        "date_order", entity.name, r["id"], {earlier: a, later: b}, f"{later} is before {earlier}"
                    )


def _outcome_time(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        stamps = [n for n, f in sorted(entity.fields.items()) if f.type == "datetime" and stem(n)[:1] in {(w,) for w in OUTCOMES}]
        for r in data.records[entity.name]:
            for name in stamps:
                value = r[name]
                if value is None:
                    continue
                if value < r["created_at"]:
                    yield Violation(
                        "outcome_time",
                        entity.name,
                        r["id"],
                        {name: value, "created_at": r["created_at"]},
                        f"{name} is before the record was created",
                    )
                elif value > data.now:
                    yield Violation(
                        "outcome_time", entity.name, r["id"], {name: value}, f"{name} is in the future"
                    )


def state_fields(data: CheckData, entity: EntityDef) -> dict[str, tuple[str, ...]]:
    """Fields that hold a record's state → the states: its workflows' fields and enums
    named status, stage or state."""
    out: dict[str, tuple[str, ...]] = {w.field: tuple(w.states) for w in data.workflows_of(entity.name)}
    for name, f in sorted(entity.fields.items()):
        if name not in out and f.type == "enum" and (name in ("status", "stage", "state") or name.endswith("_status")):
            out[name] = tuple(c.value for c in f.choices)
    return out


def _time_field(entity: EntityDef, state: str) -> str | None:
    """The time field that says when ``state`` was reached (won → won_at), if any."""
    for word in _STATE_TIMES.get(state, (state,)):
        for name, f in sorted(entity.fields.items()):
            if f.type in _DATES and stem(name) == (word,):
                return name
    return None


def _state_time(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        workflows = {w.field: w.name for w in data.workflows_of(entity.name)}
        for field_name, states in state_fields(data, entity).items():
            times = {s: t for s in states if (t := _time_field(entity, s)) is not None}
            if not times:
                continue
            for r in data.records[entity.name]:
                state = r[field_name]
                if state in times and r[times[state]] is None:
                    yield Violation(
                        "state_time",
                        entity.name,
                        r["id"],
                        {field_name: state, times[state]: None},
                        f"{state} without {times[state]}",
                    )
                for s, t in times.items():
                    if r[t] is None or s == state:
                        continue
                    wf = workflows.get(field_name)
                    if wf is not None and s in data.visited(entity.name, r["id"], wf):
                        continue
                    if wf is None and any(r[g] == s for g in state_fields(data, entity)):
                        continue
                    yield Violation(
                        "time_without_state",
                        entity.name,
                        r["id"],
                        {field_name: state, t: r[t]},
                        f"{t} is set but the record was never {s}",
                    )


def _children(data: CheckData, parent: str) -> list[tuple[str, str]]:
    """(entity, reference field) pointing at ``parent``."""
    return [
        (e.name, f.name) for e in data.entities() for f in e.references() if f.target == parent and e.name != parent
    ]


def received_fields(entity: EntityDef) -> list[str]:
    """Money that came in: actual_amount, collected_amount (not actual_cost)."""
    return [
        n
        for n, f in sorted(entity.fields.items())
        if f.type in _NUMBERS and n.split("_")[0] in _RECEIVED and not set(n.split("_")) & _SPENT
    ]


def _lost_received_money(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        workflows = [w for w in data.workflows_of(entity.name) if set(w.states) & LOST_STATES]
        if not workflows:
            continue
        own = received_fields(entity)
        children: list[tuple[str, str, list[str], dict[int, list[dict[str, Any]]]]] = []
        for child, ref in _children(data, entity.name):
            money = received_fields(data.definitions.entities[child])
            if money:
                index: dict[int, list[dict[str, Any]]] = defaultdict(list)
                for row in data.records[child]:
                    if row[ref] is not None:
                        index[row[ref]].append(row)
                children.append((child, ref, money, index))
        for r in data.records[entity.name]:
            lost = [(w.field, r[w.field]) for w in workflows if r[w.field] in LOST_STATES]
            if not lost:
                continue
            where, state = lost[0]
            got = {n: r[n] for n in own if r[n]}
            for child, _ref, money, index in children:
                for row in index.get(r["id"], ()):
                    got.update({f"{child}[{row['id']}].{n}": row[n] for n in money if row[n]})
            if got:
                yield Violation(
                    "lost_received_money",
                    entity.name,
                    r["id"],
                    {where: state, **got},
                    f"{state} but received money",
                )


def term_pairs(entity: EntityDef) -> list[tuple[str, str]]:
    return [
        (a, b) for a, b in date_pairs(entity) if stem(a)[-1:][0] in _TERM_START and stem(b)[-1:][0] in _TERM_END
    ]


def _term_in_force(data: CheckData) -> Iterator[Violation]:
    today = data.now.date()
    for entity in data.entities():
        terms = term_pairs(entity)
        if not terms:
            continue
        start, end = terms[0]
        fields = state_fields(data, entity)
        for r in data.records[entity.name]:
            for field_name in fields:
                state = r[field_name]
                a, b = r[start], r[end]
                values = {field_name: state, start: a, end: b}
                if state in IN_FORCE and (
                    (a is not None and _day(a) > today) or (b is not None and _day(b) < today)
                ):
                    yield Violation("term_in_force", entity.name, r["id"], values, f"{state} outside its term")
                elif state in _OVER and b is not None and _day(b) >= today:
                    yield Violation("term_in_force", entity.name, r["id"], values, f"{state} before its end")


def _settled_in_full(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        parts = part_fields(entity)
        if not parts:
            continue
        fields = state_fields(data, entity)
        for r in data.records[entity.name]:
            for field_name in fields:
                state = r[field_name]
                if not isinstance(state, str):
                    continue
                for part, whole in parts.items():
                    p, w = r[part] or 0, r[whole]
                    if w is None:
                        continue
                    values = {field_name: state, part: r[part], whole: w}
                    if state in _SETTLED and p != w:
                        yield Violation("settled_in_full", entity.name, r["id"], values, f"{state} but {part} ≠ {whole}")
                    elif state.startswith(_PARTLY) and not 0 < p < w:
                        yield Violation(
                            "settled_in_full", entity.name, r["id"], values, f"{state} but {part} is not a part"
                        )


DATE_STATE_RULES: tuple[Rule, ...] = (
    _date_order,
    _outcome_time,
    _state_time,
    _lost_received_money,
    _term_in_force,
    _settled_in_full,
)
