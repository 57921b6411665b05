"""The invariants of numbers, scores, derived values and time in stage (see ``_check.RULES``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from engine.metadata import EntityDef
from engine.storage import scores, scoring_models

from ._check import CheckData, Rule, Violation
from ._conventions import LEDGER_ADDS, LEDGER_TAKES, NUMBERS
from ._values import part_fields
from ._workflow_kinds import LIFECYCLE_STATES, MOVING_KINDS, stale_after, workflow_kind


def _part_of_whole(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        for part, whole in part_fields(entity).items():
            for r in data.records[entity.name]:
                p, w = r[part], r[whole]
                if p is None:
                    continue
                if p < 0 or (w is not None and p > w):
                    yield Violation(
                        "part_of_whole", entity.name, r["id"], {part: p, whole: w}, f"{part} is not within 0…{whole}"
                    )


def _signed(entity: EntityDef) -> list[str]:
    """Numbers of a ledger that carry the sign: those that may be negative (``points_change``;
    not ``points``, written without a sign)."""
    return [n for n, f in sorted(entity.fields.items()) if f.type in NUMBERS and (f.minimum is None or f.minimum < 0)]


def _ledger_sign(data: CheckData) -> Iterator[Violation]:
    for entity in data.entities():
        kinds = [
            n
            for n, f in sorted(entity.fields.items())
            if f.type == "enum" and n.endswith("type") and any(c.value.startswith(LEDGER_TAKES) for c in f.choices)
        ]
        if not kinds:
            continue
        signed = _signed(entity)
        for r in data.records[entity.name]:
            kind = r[kinds[0]]
            if not isinstance(kind, str):
                continue
            for name in signed:
                value = r[name]
                if value is None:
                    continue
                values = {kinds[0]: kind, name: value}
                if kind.startswith(LEDGER_TAKES) and value >= 0:
                    yield Violation("ledger_sign", entity.name, r["id"], values, f"{kind} but {name} is not negative")
                elif kind.startswith(LEDGER_ADDS) and value < 0:
                    yield Violation("ledger_sign", entity.name, r["id"], values, f"{kind} but {name} is negative")


def _score_agrees(data: CheckData) -> Iterator[Violation]:
    service = data.engine.scoring
    for definition in sorted(service.definitions(), key=lambda d: d.name):
        value_field, grade_field = definition.target_value, definition.target_grade
        if value_field is None and grade_field is None:
            continue
        scorer = service.registry.get(definition.scorer)
        rows = data.records[definition.entity]
        with data.engine.db.read() as conn:
            trained = conn.execute(
                sa.select(scoring_models.c.model).where(scoring_models.c.scoring == definition.name)
            ).scalar()
            overridden = set(
                conn.execute(
                    sa.select(scores.c.record_id).where(
                        scores.c.scoring == definition.name,
                        sa.or_(scores.c.override_value.is_not(None), scores.c.override_grade.is_not(None)),
                    )
                ).scalars()
            )
            context = service.context(conn, definition, data.now, trained=trained)
            results = {res.record_id: res for res in scorer.score_batch(context, rows)} if rows else {}
        for r in rows:
            if r["id"] in overridden:
                continue
            res = results.get(r["id"])
            expected_value = None if res is None else res.value
            expected_grade = None if res is None else res.grade
            stored_value = r[value_field] if value_field else None
            stored_grade = r[grade_field] if grade_field else None
            off_value = value_field is not None and (
                (stored_value is None) != (expected_value is None)
                or (stored_value is not None and abs(float(stored_value) - float(expected_value or 0)) > 0.51)
            )
            off_grade = grade_field is not None and stored_grade != expected_grade
            if off_value or off_grade:
                fields: dict[str, Any] = {}
                if value_field:
                    fields[value_field] = stored_value
                if grade_field:
                    fields[grade_field] = stored_grade
                fields["computed"] = {"value": expected_value, "grade": expected_grade}
                yield Violation(
                    "score_agrees",
                    definition.entity,
                    r["id"],
                    fields,
                    f"{definition.name} gives {expected_value} {expected_grade or ''}".rstrip(),
                )


def _derived_agrees(data: CheckData) -> Iterator[Violation]:
    engine = data.engine
    model = engine.model
    plan = engine.derived.plan(model)
    for entity in data.entities():
        entity_plan = plan.entity(entity.name)
        if not (entity_plan.computes or entity_plan.rollups):
            continue
        # values that move with the clock are the daily refresh's, not the data's
        moving = entity_plan.windowed | {n for n, f in entity.fields.items() if f.refresh is not None}
        rollups = {r.field.name for r in entity_plan.rollups}
        ids = [r["id"] for r in data.records[entity.name]]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with engine.db.read() as conn:
                changes = engine.derived.changes(conn, model, entity.name, chunk, {i: set(rollups) for i in chunk})
            for before, changed in changes:
                shown = {k: v for k, v in sorted(changed.items()) if k not in moving}
                if shown:
                    fields = {k: before.get(k) for k in shown} | {f"computed.{k}": v for k, v in shown.items()}
                    yield Violation(
                        "derived_agrees",
                        entity.name,
                        before["id"],
                        fields,
                        f"{', '.join(shown)} not what {'its rule gives' if len(shown) == 1 else 'their rules give'}",
                    )


def _time_in_state(data: CheckData) -> Iterator[Violation]:
    for workflow in sorted(data.definitions.workflows.values(), key=lambda w: w.name):
        if workflow_kind(workflow) not in MOVING_KINDS:
            continue
        for r in data.records[workflow.entity]:
            state = workflow.states.get(r[workflow.field])
            if state is None or state.final or state.name in LIFECYCLE_STATES:
                continue
            steps = data.history.get((workflow.entity, r["id"], workflow.name))
            if not steps:
                continue
            entered = steps[-1]["at"]
            bound = stale_after(state)
            if data.now - entered > bound:
                days = (data.now - entered) / timedelta(days=1)
                yield Violation(
                    "time_in_state",
                    workflow.entity,
                    r["id"],
                    {workflow.field: state.name, "entered_at": entered},
                    f"{state.name} for {days:.0f} days (at most {bound / timedelta(days=1):.1f})",
                )


FIGURE_RULES: tuple[Rule, ...] = (_part_of_whole, _ledger_sign, _score_agrees, _derived_agrees, _time_in_state)
