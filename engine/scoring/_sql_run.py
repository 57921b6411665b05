"""The set-based path of a scoring run: for scorers that compile their configuration to
SQL, the whole entity is scored in a few statements (history of what changed, current
scores, target fields), overrides kept. Factors are worked out when someone looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import UTCDateTime, stored_number
from engine.metadata import ScoringDef
from engine.storage import score_history, scores

from ._precision import round_score_sql, score_precision
from ._writes import current_targets, write_targets

if TYPE_CHECKING:
    from engine.runtime import CompiledModel


@dataclass(frozen=True)
class _SqlScore:
    """One scoring's set-based run: its definition, the scored table and the expressions."""

    model: CompiledModel
    definition: ScoringDef
    table: sa.Table
    value: sa.ColumnElement[Any]
    grade: sa.ColumnElement[Any]
    now: datetime

    @property
    def name(self) -> str:
        return self.definition.name

    def constants(self, *names: str) -> list[sa.ColumnElement[Any]]:
        """The literal columns every row of this run carries, in the order of ``names``."""
        known: dict[str, sa.ColumnElement[Any]] = {
            "scoring": sa.literal(self.name),
            "entity": sa.literal(self.definition.entity),
            "scorer": sa.literal(self.definition.scorer),
            "definitions_version": sa.literal(self.model.version),
            "at": sa.literal(self.now, UTCDateTime()),
        }
        return [known[n] for n in names]


def run_sql(
    tx: Connection,
    model: CompiledModel,
    definition: ScoringDef,
    table: sa.Table,
    value: Any,
    grade: Any,
    *,
    now: datetime,
) -> tuple[int, int]:
    """Score the whole entity with set-based statements in ``tx``; returns (scored, changed).

    Factors are not stored on this path (``show`` works them out for one record).
    """
    grade = grade if grade is not None else sa.null()
    value = round_score_sql(value, score_precision(definition, model.entity(definition.entity)))
    run = _SqlScore(model, definition, table, value, grade, now)
    changed = _history(tx, run)
    overridden = sa.select(scores.c.record_id).where(
        scores.c.scoring == run.name,
        sa.or_(scores.c.override_value.is_not(None), scores.c.override_grade.is_not(None)),
    )
    _replace_scores(tx, run, overridden)
    kept = [r[0] for r in tx.execute(overridden)]
    _refresh_overridden(tx, run, kept)
    _write_targets(tx, run, overridden, kept)
    scored = int(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    return scored, changed


def _history(tx: Connection, run: _SqlScore) -> int:
    """A history row for each record whose value or grade moved; how many did."""
    old = scores.alias("old")
    table = run.table
    changed_rows = (
        sa.select(
            *run.constants("scoring", "entity"),
            table.c.id,
            sa.literal("computed"),
            run.value,
            run.grade,
            *run.constants("scorer", "definitions_version", "at"),
        )
        .select_from(table.outerjoin(old, sa.and_(old.c.scoring == run.name, old.c.record_id == table.c.id)))
        .where(
            sa.or_(
                old.c.record_id.is_(None),
                old.c.value.is_distinct_from(run.value),
                old.c.grade.is_distinct_from(run.grade),
            )
        )
    )
    return int(
        tx.execute(
            score_history.insert().from_select(
                ["scoring", "entity", "record_id", "kind", "value", "grade", "scorer", "definitions_version", "at"],
                changed_rows,
            ),
            execution_options={"preserve_rowcount": True},  # PostgreSQL reports -1 otherwise
        ).rowcount
    )


def _replace_scores(tx: Connection, run: _SqlScore, overridden: sa.Select[Any]) -> None:
    """The current scores of records without an override, written anew."""
    table = run.table
    tx.execute(scores.delete().where(scores.c.scoring == run.name, scores.c.record_id.not_in(overridden)))
    tx.execute(
        scores.insert().from_select(
            ["scoring", "record_id", "entity", "scorer", "value", "grade", "definitions_version", "computed_at"],
            sa.select(
                *run.constants("scoring"),
                table.c.id,
                *run.constants("entity", "scorer"),
                run.value,
                run.grade,
                *run.constants("definitions_version", "at"),
            ).where(table.c.id.not_in(overridden)),
        )
    )


def _refresh_overridden(tx: Connection, run: _SqlScore, kept: list[int]) -> None:
    """Records with an override keep it; only their computed part is refreshed."""
    table = run.table
    for start in range(0, len(kept), 500):
        chunk = kept[start : start + 500]
        fresh = {
            r[0]: (r[1], r[2])
            for r in tx.execute(sa.select(table.c.id, run.value, run.grade).where(table.c.id.in_(chunk)))
        }
        tx.execute(
            _UPDATE_COMPUTED,
            [
                {
                    "b_scoring": run.name,
                    "b_record_id": rid,
                    "b_value": v,
                    "b_grade": g,
                    "b_version": run.model.version,
                    "b_at": run.now,
                }
                for rid, (v, g) in fresh.items()
            ],
        )


def _write_targets(tx: Connection, run: _SqlScore, overridden: sa.Select[Any], kept: list[int]) -> None:
    """Target fields: the computed score in one statement, then the overridden records'."""
    definition = run.definition
    target: dict[str, Any] = {}
    if definition.target_value:
        column = run.model.entity(definition.entity).fields[definition.target_value]
        value = sa.func.round(run.value) if column.type == "integer" else run.value
        # a decimal field on SQLite stores the value times 10^scale
        target[definition.target_value] = stored_number(value, run.table.c[definition.target_value].type)
    if definition.target_grade:
        target[definition.target_grade] = run.grade
    if not target:
        return
    tx.execute(run.table.update().where(run.table.c.id.not_in(overridden)).values(target))
    targets = [row for record_id in kept for row in current_targets(tx, run.name, record_id)]
    write_targets(tx, run.model, definition, targets)


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
