"""Derived values a walk relied on, earned by the records they count.

A guard that reads a rollup (an order is submitted only with lines; a member moves up a level
only with enough spend in the last year) sees a stand-in during the walk: the children come
later in the run. Once the engine has computed the real values, the records whose guards would
not hold on them are given what the business would have had: children of the kind the rollup
counts or sums (a line, a purchase), one round at a time, made by the children's own generator
a little after the record and within the last year, until the guards hold or the rounds are
spent. Nothing here knows a preset: the rollups and guards are read from the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.derived import Rollup, settle
from engine.logic import LogicError
from engine.records import number_rows
from engine.storage import workflow_history

from ._earned_scores import Relied

if TYPE_CHECKING:
    from ._generate import DemoRun

#: rounds of added children per record, twice as many each round for a sum (a member far below
#: a level's spend gets a year of visits): at most 2**_ROUNDS - 1
_ROUNDS = 7
_DAY = 86400.0
_YEAR = 365 * _DAY
#: guards are asked as of a user without roles: a manager's override earns nothing
_NOBODY: dict[str, Any] = {"name": "", "roles": [], "team": None}


def earn_derived(run: DemoRun, entity: str, relied: Sequence[Relied]) -> int:
    """Make the records of ``entity`` in ``relied`` earn the derived values their guards read;
    returns how many still fall short."""
    model = run.engine.model
    plan = run.engine.derived.plan(model).entity(entity)
    counted = {r.field.name: r for r in plan.rollups if r.definition.function in ("count", "sum")}
    if not counted:
        return 0
    records = _records(run, entity, sorted({i for i, _w, _t in relied}))
    guards: dict[int, list[Any]] = {}
    for record_id, workflow, transition in sorted(set(relied)):
        definition = run.definitions.workflows[workflow]
        guard = run.engine.workflows.compiled(definition).transitions[transition].guard
        read = {p.removeprefix("record.") for p in guard.variables} if guard is not None else set()
        if guard is None or not read & set(counted):
            continue
        # children are never taken away, so a move that counted them still holds; one that
        # summed them within a window (a level on a year's spend) holds while the record stays
        lasting = any(counted[name].definition.function == "count" for name in read & set(counted))
        state = records[record_id][definition.field] if record_id in records else None
        if lasting or state == definition.transitions[transition].to_state:
            guards.setdefault(record_id, []).append(guard)
    if not guards:
        return 0
    read = {p.removeprefix("record.") for found in guards.values() for g in found for p in g.variables}
    rollups = [counted[name] for name in sorted(read & set(counted))]
    failing = [
        r
        for i, r in sorted(records.items())
        if i in guards and not _holds(run, r, guards[i]) and _helps(run, r, rollups, guards[i])
    ]
    for round_ in range(_ROUNDS):
        if not failing:
            break
        added: dict[str, list[int]] = {}
        for record in failing:
            for rollup in rollups:
                for _child in range(1 if rollup.definition.function == "count" else 2**round_):
                    child = _add_child(run, rollup, record)
                    if child is not None:
                        added.setdefault(rollup.definition.entity, []).append(child)
        if not added:
            break
        settle(run.engine.derived, run.conn, model, {**added, entity: [int(r["id"]) for r in failing]}, run.now)
        again = _records(run, entity, [int(r["id"]) for r in failing])
        failing = [
            r for i, r in sorted(again.items()) if not _holds(run, r, guards[i]) and _helps(run, r, rollups, guards[i])
        ]
    return len(failing)


def _records(run: DemoRun, entity: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored records ``ids`` of ``entity``, by id."""
    table = run.engine.model.table(entity)
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        for row in run.conn.execute(sa.select(table).where(table.c.id.in_(ids[start : start + 500]))).mappings():
            out[int(row["id"])] = dict(row)
    return out


def _holds(run: DemoRun, record: dict[str, Any], guards: list[Any]) -> bool:
    """Whether every one of ``guards`` holds on ``record``, asked as a user without roles."""
    data = {
        "record": record,
        "changes": {},
        "inputs": {},
        "now": datetime.fromtimestamp(run.now_ts, UTC),
        "user": _NOBODY,
    }
    try:
        return all(guard.matches(data) for guard in guards)
    except LogicError:
        return False


def _helps(run: DemoRun, record: dict[str, Any], rollups: list[Rollup], guards: list[Any]) -> bool:
    """Whether children can earn it: a record with none of the children its guard counts gets
    some; otherwise only when the guards would hold with plenty of them (not for a discount
    above 10% or a spend below a level's floor)."""
    if any(r.definition.function == "count" and not record.get(r.field.name) for r in rollups):
        return True  # a record whose guard counts its children has some
    return _holds(run, {**record, **{r.field.name: 10**9 for r in rollups}}, guards)


def _add_child(run: DemoRun, rollup: Rollup, parent: dict[str, Any]) -> int | None:
    """One record the ``rollup`` counts, pointing at ``parent``, made a little after it and
    within the last year (where yearly windows count it), its choices the rollup reads at their
    defaults (a sale, not a refund); its id, or None when none could be made."""
    from ._entity import history_row  # the entity module imports the run's modules

    child, reference = rollup.definition.entity, rollup.definition.reference
    gen = run.gen(child)
    fields = gen.definition.fields
    usual = {
        name: fields[name].default
        for name in sorted(_inputs(run, rollup))
        if name in fields and fields[name].type == "enum" and fields[name].has_default
    }
    start = parent["created_at"].replace(tzinfo=UTC).timestamp()
    low = max(start + _DAY, run.now_ts - _YEAR + 30 * _DAY)
    at = min(low + (run.now_ts - low) * gen.rng.random(), run.now_ts) if low < run.now_ts else run.now_ts
    made = gen.from_action({**usual, reference: parent["id"]}, str(parent["owner"]), at)
    if made is None:
        return None
    row, history, _created = made
    columns, rows = number_rows(run.conn, gen.definition, gen.columns, [row], run.now)
    run.conn.execute(run.engine.model.table(child).insert(), [dict(zip(columns, rows[0], strict=True))])
    if history:
        run.conn.execute(workflow_history.insert(), [history_row(h) for h in history])
    run.written[child] = run.written.get(child, 0) + 1
    return int(row[0])


def _inputs(run: DemoRun, rollup: Rollup) -> set[str]:
    """The child's own fields the rollup reads, through the computes it sums too."""
    plan = run.engine.derived.plan(run.engine.model).entity(rollup.definition.entity)
    computes = {c.field.name: c for c in plan.computes}
    read, todo = set(), list(rollup.reads)
    while todo:
        name = todo.pop()
        if name not in read:
            read.add(name)
            if name in computes:
                todo.extend(computes[name].reads)
    return read
