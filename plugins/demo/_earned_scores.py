"""Scores a walk relied on, earned by the record's inputs.

A guard that reads a scoring's output (立项 approved only with an evaluation of 60 or more)
sees a stand-in during the walk: scorings run after the load. Once every entity is written,
the records that passed such a guard are scored here, in the run's transaction, with the
scoring's own scorer; where the real score would not pass the guard, the record is given
what a rep completes before asking for approval: the empty fields the scoring reads are
filled, and the choices it reads, on the record and on the records that point at it (the
project's stakeholders), are set to the ones that score best, one field at a time. Nothing
here knows a scorer: it is asked, as a black box, what each choice is worth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.logic import LogicError
from engine.metadata import ScoringDef
from engine.storage import workflow_history

if TYPE_CHECKING:
    from ._generate import DemoRun

#: (record id, workflow, transition) of a guard that held on a stand-in score
Relied = tuple[int, str, str]
_CHOICE_TYPES = ("enum", "boolean")
#: children of one record tried one by one (a project's first stakeholders)
_MAX_CHILDREN = 8


def earn_scores(run: DemoRun, entity: str, relied: Sequence[Relied]) -> int:
    """Make the records of ``entity`` in ``relied`` earn the scores their guards needed;
    returns how many still fall short (the scoring cannot reach it with their inputs)."""
    definitions = run.definitions
    guards: dict[int, list[Any]] = {}
    for record_id, workflow, transition in relied:
        compiled = run.engine.workflows.compiled(definitions.workflows[workflow])
        guard = compiled.transitions[transition].guard
        if guard is not None:
            guards.setdefault(record_id, []).append(guard)
    read = {path[len("record.") :] for found in guards.values() for guard in found for path in guard.variables}
    short = 0
    for scoring in sorted(definitions.scorings_for(entity), key=lambda s: s.name):
        if scoring.target_value in read:
            short += _earn(run, scoring, guards)
    return short


Scores = Callable[[Sequence[dict[str, Any]]], dict[int, float]]
Passes = Callable[[Mapping[str, Any], float], bool]


def _scores_and_guards(run: DemoRun, scoring: ScoringDef, guards: Mapping[int, list[Any]]) -> tuple[Scores, Passes]:
    """The scoring as a black box (records → values) and whether a record with a value
    passes every guard that relied on it."""
    engine = run.engine
    scorer = engine.scoring.registry.get(scoring.scorer)
    context = engine.scoring.context(run.conn, scoring, run.now, trained=None)
    target = scoring.target_value or ""
    moment = datetime.fromtimestamp(run.now_ts, UTC)

    def scores(records: Sequence[dict[str, Any]]) -> dict[int, float]:
        return {r.record_id: float(r.value or 0.0) for r in scorer.score_batch(context, records)}

    def passes(record: Mapping[str, Any], value: float) -> bool:
        data = {
            "record": {**record, target: value},
            "changes": {},
            "inputs": {},
            "now": moment,
            "user": {"name": "", "roles": [], "team": None},
        }
        try:
            return all(guard.matches(data) for guard in guards[int(record["id"])])
        except LogicError:
            return False

    return scores, passes


def _earn(run: DemoRun, scoring: ScoringDef, guards: Mapping[int, list[Any]]) -> int:
    conn, entity = run.conn, scoring.entity
    table = run.engine.model.table(entity)
    scores, passes = _scores_and_guards(run, scoring, guards)
    ids = sorted(guards)
    records = {
        int(r["id"]): dict(r)
        for start in range(0, len(ids), 500)
        for r in conn.execute(sa.select(table).where(table.c.id.in_(ids[start : start + 500]))).mappings()
    }
    current = scores(list(records.values()))
    failing = [i for i in ids if i in records and not passes(records[i], current.get(i, 0.0))]
    if not failing:
        return 0
    changed: dict[int, dict[str, Any]] = {i: {} for i in failing}
    _fill_empty(run, entity, failing, records, changed)
    current.update(scores([records[i] for i in failing]))
    _best_choices(run, entity, failing, records, changed, current, scores)
    for i, values in changed.items():
        if values:
            conn.execute(table.update().where(table.c.id == i).values(values))
    _children(run, scoring, entity, failing, current, scores, records)
    still = [i for i in failing if not passes(records[i], current[i])]
    if still and _add_children(run, entity, still, records):
        _children(run, scoring, entity, still, current, scores, records)
    return sum(1 for i in failing if not passes(records[i], current[i]))


def _fill_empty(
    run: DemoRun,
    entity: str,
    failing: list[int],
    records: dict[int, dict[str, Any]],
    changed: dict[int, dict[str, Any]],
) -> None:
    """What the rep completes: the empty fields the scoring reads."""
    read = run.scored.get(entity, frozenset())
    gen = run.gen(entity)
    fields = run.definitions.entities[entity].fields
    for name in sorted(read & gen.editable):
        field = fields[name]
        if field.type == "reference" or name not in gen.fillers:
            continue
        for i in failing:
            if records[i].get(name) in (None, "", []):
                typed = gen.convert_one(name, gen.fillers[name](gen.ctx))
                if typed is not None:
                    records[i][name] = changed[i][name] = typed


def _best_choices(
    run: DemoRun,
    entity: str,
    failing: list[int],
    records: dict[int, dict[str, Any]],
    changed: dict[int, dict[str, Any]],
    current: dict[int, float],
    scores: Scores,
) -> None:
    """The choices the scoring reads on the record: each one tried, the best kept."""
    read = run.scored.get(entity, frozenset())
    gen = run.gen(entity)
    fields = run.definitions.entities[entity].fields
    for name in sorted(read & gen.editable):
        field = fields[name]
        if field.type not in _CHOICE_TYPES:
            continue
        options: list[Any] = list(field.choice_values) if field.type == "enum" else [True, False]
        for option in options:
            trial = [{**records[i], name: option} for i in failing]
            for i, value in scores(trial).items():
                if value > current[i]:
                    current[i] = value
                    records[i][name] = changed[i][name] = option


def _add_children(run: DemoRun, entity: str, parents: list[int], records: Mapping[int, dict[str, Any]]) -> bool:
    """Records the scoring reads, made for parents that have too few (the rep maps the
    decision tree before asking for approval): two per parent, a day or two after it."""
    from ._entity import history_row  # the entity module imports the run's modules

    made = False
    for child in sorted(run.scored):
        if child == entity or child not in run.definitions.entities or child not in run.order:
            continue
        definition = run.definitions.entities[child]
        links = sorted(f.name for f in definition.references() if f.target == entity and f.name in run.scored[child])
        choices = [n for n in run.scored[child] if definition.fields[n].type in _CHOICE_TYPES]
        if not links or not choices:
            continue
        gen = run.gen(child)
        table = run.engine.model.table(child)
        for parent in parents:
            record = records[parent]
            start = record["created_at"].replace(tzinfo=UTC).timestamp()
            for n in (1, 2):
                at = min(start + n * 86400.0, run.now_ts)
                result = gen.from_action({links[0]: parent}, str(record["owner"]), at)
                if result is None:
                    continue
                row, history, _created = result
                conn = run.conn
                conn.execute(table.insert(), [dict(zip(gen.columns, row, strict=True))])
                if history:
                    conn.execute(
                        workflow_history.insert(),
                        [history_row(h) for h in history],
                    )
                run.written[child] = run.written.get(child, 0) + 1
                made = True
    return made


def _children(
    run: DemoRun,
    scoring: ScoringDef,
    entity: str,
    failing: list[int],
    current: dict[int, float],
    scores: Any,
    records: Mapping[int, dict[str, Any]],
) -> None:
    """The choices the scoring reads on records pointing at the failing ones, child by child."""
    conn = run.conn
    for child in sorted(run.scored):
        if child == entity or child not in run.definitions.entities:
            continue
        definition = run.definitions.entities[child]
        links = sorted(f.name for f in definition.references() if f.target == entity and f.name in run.scored[child])
        choices = sorted(
            n
            for n in run.scored[child]
            if definition.fields[n].type in _CHOICE_TYPES and not definition.fields[n].read_only
        )
        if not links or not choices:
            continue
        table = run.engine.model.table(child)
        link = table.c[links[0]]
        rows = conn.execute(sa.select(table.c.id, link).where(link.in_(failing)).order_by(table.c.id)).all()
        by_parent: dict[int, list[int]] = {}
        for child_id, parent in rows:
            by_parent.setdefault(int(parent), []).append(int(child_id))
        for position in range(_MAX_CHILDREN):
            at = {p: kids[position] for p, kids in by_parent.items() if len(kids) > position}
            if not at:
                break
            for name in choices:
                field = definition.fields[name]
                options: list[Any] = list(field.choice_values) if field.type == "enum" else [True, False]
                column = table.c[name]
                kept = dict(conn.execute(sa.select(table.c.id, column).where(table.c.id.in_(list(at.values())))).all())
                for option in options:
                    conn.execute(table.update().where(table.c.id.in_(list(at.values()))).values({name: option}))
                    for parent, value in scores([records[p] for p in at]).items():
                        if value > current[parent]:
                            current[parent] = value
                            kept[at[parent]] = option
                for child_id, value in kept.items():
                    conn.execute(table.update().where(table.c.id == child_id).values({name: value}))
