"""The set-based path of a scoring run: for scorers that compile their configuration to
SQL, the whole entity is scored in a few statements (history of what changed, current
scores, target fields), overrides kept. Factors are worked out when someone looks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import UTCDateTime
from engine.metadata import ScoringDef
from engine.storage import score_history, scores

from ._precision import round_score_sql, score_precision

if TYPE_CHECKING:
    from ._service import ScoringService


def run_sql(
    service: ScoringService, definition: ScoringDef, table: sa.Table, value: Any, grade: Any, *, now: datetime
) -> tuple[int, int]:
    """Score the whole entity with set-based statements; returns (scored, changed).

    Factors are not stored on this path (``show`` works them out for one record).
    """
    name, version = definition.name, service.engine.version
    grade = grade if grade is not None else sa.null()
    value = round_score_sql(value, score_precision(definition, service.engine.model.entity(definition.entity)))
    s = scores
    with service.engine.db.write() as tx:
        old = s.alias("old")
        changed_rows = (
            sa.select(
                sa.literal(name),
                sa.literal(definition.entity),
                table.c.id,
                sa.literal("computed"),
                value,
                grade,
                sa.literal(definition.scorer),
                sa.literal(version),
                sa.literal(now, UTCDateTime()),
            )
            .select_from(table.outerjoin(old, sa.and_(old.c.scoring == name, old.c.record_id == table.c.id)))
            .where(
                sa.or_(
                    old.c.record_id.is_(None),
                    old.c.value.is_distinct_from(value),
                    old.c.grade.is_distinct_from(grade),
                )
            )
        )
        changed = tx.execute(
            score_history.insert().from_select(
                ["scoring", "entity", "record_id", "kind", "value", "grade", "scorer", "definitions_version", "at"],
                changed_rows,
            ),
            execution_options={"preserve_rowcount": True},  # PostgreSQL reports -1 otherwise
        ).rowcount
        overridden = sa.select(s.c.record_id).where(
            s.c.scoring == name, sa.or_(s.c.override_value.is_not(None), s.c.override_grade.is_not(None))
        )
        tx.execute(s.delete().where(s.c.scoring == name, s.c.record_id.not_in(overridden)))
        tx.execute(
            s.insert().from_select(
                [
                    "scoring",
                    "record_id",
                    "entity",
                    "scorer",
                    "value",
                    "grade",
                    "definitions_version",
                    "computed_at",
                ],
                sa.select(
                    sa.literal(name),
                    table.c.id,
                    sa.literal(definition.entity),
                    sa.literal(definition.scorer),
                    value,
                    grade,
                    sa.literal(version),
                    sa.literal(now, UTCDateTime()),
                ).where(table.c.id.not_in(overridden)),
            )
        )
        kept = [r[0] for r in tx.execute(overridden)]
        for start in range(0, len(kept), 500):  # overridden rows: refresh their computed part only
            chunk = kept[start : start + 500]
            fresh = {
                r[0]: (r[1], r[2]) for r in tx.execute(sa.select(table.c.id, value, grade).where(table.c.id.in_(chunk)))
            }
            tx.execute(
                _UPDATE_COMPUTED,
                [
                    {
                        "b_scoring": name,
                        "b_record_id": rid,
                        "b_value": v,
                        "b_grade": g,
                        "b_version": version,
                        "b_at": now,
                    }
                    for rid, (v, g) in fresh.items()
                ],
            )
        target: dict[str, Any] = {}
        if definition.target_value:
            column = service.engine.model.entity(definition.entity).fields[definition.target_value]
            target[definition.target_value] = sa.func.round(value) if column.type == "integer" else value
        if definition.target_grade:
            target[definition.target_grade] = grade
        if target:
            tx.execute(table.update().where(table.c.id.not_in(overridden)).values(target))
            targets = _current_targets_many(service, tx, name, kept)
            service._write_targets(tx, definition, targets)
        scored = int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    return scored, changed


def _current_targets_many(
    service: ScoringService, tx: Connection, scoring: str, ids: list[int]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for record_id in ids:
        out.extend(service._current_targets(tx, scoring, record_id))
    return out


_UPDATE_COMPUTED = (
    scores.update()
    .where(scores.c.scoring == sa.bindparam("b_scoring"), scores.c.record_id == sa.bindparam("b_record_id"))
    .values(
        value=sa.bindparam("b_value"),
        grade=sa.bindparam("b_grade"),
        definitions_version=sa.bindparam("b_version"),
        computed_at=sa.bindparam("b_at"),
    )
)
