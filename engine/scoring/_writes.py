"""Writing scores: one batch of results into ``crm_scores`` and ``crm_score_history``, and the
score that counts (a user's override, else the computed one) into the target fields.

Target fields are maintained by scoring, not edited by users: writing them does not bump
the record's version or add audit rows (the score history is their audit trail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import ScoringDef
from engine.storage import (
    SCORE_CHANGED,
    DomainEvent,
    score_history,
    score_history_row,
    scores,
    to_jsonable,
    unit_of,
)

from ._api import ScoreResult
from ._precision import round_score, score_precision

if TYPE_CHECKING:
    from engine.runtime import CompiledModel


@dataclass(frozen=True)
class _Existing:
    """What ``crm_scores`` holds for one record before the batch is written."""

    value: float | None
    grade: str | None
    factors: Any
    definitions_version: int | None
    override_value: float | None
    override_grade: str | None


@dataclass
class _Rows:
    """The rows one batch writes, gathered before the statements run."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    changed: int = 0


def store_results(
    tx: Connection, model: CompiledModel, definition: ScoringDef, results: Sequence[ScoreResult], now: datetime
) -> int:
    """Write one batch of results; returns how many changed.

    Values and factor contributions are kept at the scoring's precision; a result whose
    value, grade and factors are those stored is no change: its row is left as it is.
    """
    if not results:
        return 0
    precision = score_precision(definition, model.entity(definition.entity))
    existing = _existing(tx, definition.name, [r.record_id for r in results])
    rows = _Rows()
    for result in results:
        _gather(rows, definition, result, existing.get(result.record_id), precision, model.version, now)
    if rows.inserts:
        tx.execute(scores.insert(), rows.inserts)
    if rows.updates:
        tx.execute(_UPDATE_SCORE, rows.updates)
    if rows.history:
        tx.execute(score_history.insert(), rows.history)
    write_targets(tx, model, definition, rows.targets)
    unit = unit_of(tx)
    for event in rows.events:
        unit.emit(event)
    return rows.changed


def score_event(
    definition: ScoringDef,
    record_id: int,
    kind: str,
    value: float | None,
    grade: str | None,
    old: tuple[float | None, str | None] | None,
    *,
    actor: str | None,
    version: int,
    at: datetime,
) -> DomainEvent:
    """The ``score.changed`` event of one record's score (computed, overridden or cleared)."""
    payload = {
        "scoring": definition.name,
        "kind": kind,
        "value": value,
        "grade": grade,
        "old_value": old[0] if old else None,
        "old_grade": old[1] if old else None,
    }
    return DomainEvent(SCORE_CHANGED, definition.entity, record_id, actor, payload, at, version)


def _existing(tx: Connection, scoring: str, ids: list[int]) -> dict[int, _Existing]:
    found = tx.execute(
        sa.select(
            scores.c.record_id,
            scores.c.value,
            scores.c.grade,
            scores.c.factors,
            scores.c.definitions_version,
            scores.c.override_value,
            scores.c.override_grade,
        ).where(scores.c.scoring == scoring, scores.c.record_id.in_(ids))
    )
    return {row.record_id: _Existing(*row[1:]) for row in found}


def _gather(
    rows: _Rows,
    definition: ScoringDef,
    result: ScoreResult,
    old: _Existing | None,
    precision: int,
    version: int,
    now: datetime,
) -> None:
    """Add what ``result`` writes to ``rows``: nothing when it is the score already stored."""
    value = round_score(result.value, precision)
    factors = [{**f.to_json(), "contribution": round_score(f.contribution, precision)} for f in result.factors]
    row = {
        "scoring": definition.name,
        "record_id": result.record_id,
        "entity": definition.entity,
        "scorer": definition.scorer,
        "value": value,
        "grade": result.grade,
        "factors": factors,
        "extra": to_jsonable(dict(result.extra)) or None,
        "definitions_version": version,
        "computed_at": now,
    }
    moved = old is None or old.value != value or old.grade != result.grade
    if moved or old is None or to_jsonable(old.factors) != to_jsonable(factors):
        rows.changed += 1
    elif old.definitions_version == version:
        return  # the same score: nothing to write
    if old is None:
        rows.inserts.append(row)
    else:
        rows.updates.append({f"b_{k}": v for k, v in row.items()})
    if moved:
        previous = (old.value, old.grade) if old is not None else None
        rows.events.append(
            score_event(definition, result.record_id, "computed", value, result.grade, previous,
                        actor=None, version=version, at=now)
        )  # fmt: skip
        rows.history.append(
            score_history_row(
                scoring=definition.name,
                entity=definition.entity,
                record_id=result.record_id,
                kind="computed",
                value=value,
                grade=result.grade,
                scorer=definition.scorer,
                definitions_version=version,
                at=now,
            )
        )
    shown_value = old.override_value if old is not None and old.override_value is not None else value
    shown_grade = old.override_grade if old is not None and old.override_grade is not None else result.grade
    rows.targets.append({"b_id": result.record_id, "b_value": shown_value, "b_grade": shown_grade})


def write_targets(tx: Connection, model: CompiledModel, definition: ScoringDef, targets: list[dict[str, Any]]) -> None:
    """Write ``{"b_id", "b_value", "b_grade"}`` rows into the scoring's target fields."""
    values: dict[str, Any] = {}
    if definition.target_value:
        values[definition.target_value] = sa.bindparam("b_value")
    if definition.target_grade:
        values[definition.target_grade] = sa.bindparam("b_grade")
    if not values or not targets:
        return
    table = model.table(definition.entity)
    column = model.entity(definition.entity).fields.get(definition.target_value or "")
    if column is not None and column.type == "integer":
        targets = [{**t, "b_value": None if t["b_value"] is None else round(t["b_value"])} for t in targets]
    tx.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(values), targets)


def current_targets(tx: Connection, scoring: str, record_id: int) -> list[dict[str, Any]]:
    """The target row of the score that counts for one record (none without a score)."""
    row = (
        tx.execute(sa.select(scores).where(scores.c.scoring == scoring, scores.c.record_id == record_id))
        .mappings()
        .first()
    )
    if row is None:
        return []
    value = row["override_value"] if row["override_value"] is not None else row["value"]
    grade = row["override_grade"] if row["override_grade"] is not None else row["grade"]
    return [{"b_id": record_id, "b_value": value, "b_grade": grade}]


_UPDATE_SCORE = (
    scores.update()
    .where(scores.c.scoring == sa.bindparam("b_scoring"), scores.c.record_id == sa.bindparam("b_record_id"))
    .values(
        {
            c: sa.bindparam(f"b_{c}")
            for c in ("scorer", "value", "grade", "factors", "extra", "definitions_version", "computed_at", "entity")
        }
    )
)
