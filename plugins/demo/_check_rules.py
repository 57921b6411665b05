"""The invariants of dates and states (see ``_check.RULES``), found from names and workflows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from engine.metadata import EntityDef

from ._check import CheckData, Rule, Violation
from ._conventions import (
    IN_FORCE,
    LOST_STATES,
    OUTCOMES,
    OVER,
    PARTLY,
    SETTLED,
    date_pairs,
    received_fields,
    stem,
    term_pairs,
    time_field,
)
from ._values import part_fields


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
        stamps = [
            n
            for n, f in sorted(entity.fields.items())
            if f.type == "datetime" and stem(n)[:1] in {(w,) for w in OUTCOMES}
        ]
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
                    yield Violation("outcome_time", entity.name, r["id"], {name: value}, f"{name} is in the future")


def state_fields(data: CheckData, entity: EntityDef) -> dict[str, tuple[str, ...]]:
    """Fields that hold a record's state → the states: its workflows' fields and enums
    named status, stage or state."""
    out: dict[str, tuple[str, ...]] = {w.field: tuple(w.states) for w in data.workflows_of(entity.name)}
    for name, f in sorted(entity.fields.items()):
        if name not in out and f.type == "enum" and (name in ("status", "stage", "state") or name.endswith("_status")):
            out[name] = tuple(c.value for c in f.choices)
    return out


def _state_time(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        workflows = {w.field: w.name for w in data.workflows_of(entity.name)}
        all_states = state_fields(data, entity)
        for field_name, states in all_states.items():
            times = {s: t for s in states if (t := time_field(entity, s)) is not None}
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
                    # only a time that stamps an outcome says the state was reached (a tender
                    # date is planned before the tender)
                    if r[t] is None or s == state or stem(t)[0] not in OUTCOMES:
                        continue
                    wf = workflows.get(field_name)
                    if wf is not None and s in data.visited(entity.name, r["id"], wf):
                        continue
                    if wf is None and any(r[g] == s for g in all_states):
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
                if state in IN_FORCE and ((a is not None and _day(a) > today) or (b is not None and _day(b) < today)):
                    yield Violation("term_in_force", entity.name, r["id"], values, f"{state} outside its term")
                elif state in OVER and b is not None and _day(b) >= today:
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
                    if state in SETTLED and p != w:
                        yield Violation(
                            "settled_in_full", entity.name, r["id"], values, f"{state} but {part} ≠ {whole}"
                        )
                    elif state.startswith(PARTLY) and not 0 < p < w:
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
