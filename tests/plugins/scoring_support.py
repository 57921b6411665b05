"""Helpers of the scorer tests: an engine with entities, rows, and a scoring run.

``score`` runs a scorer as the scoring service does: ``prepare`` once, then
``score_batch`` over batches of records read from the database, in one read transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.scoring import Scorer, ScoreResult, ScoringContext, ScoringSpec, TrainReport
from tests.support import SYSTEM, write_bundle

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def apply(crm: CrmEngine, tmp_path: Path, entities: Mapping[str, Any]) -> CrmEngine:
    crm.apply(load_definitions(write_bundle(tmp_path, "scoring_test", dict(entities))))
    return crm


def add(crm: CrmEngine, entity: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Create records through the record service (validated); their ids in order."""
    return [int(crm.records.create(entity, dict(row), actor=SYSTEM)["id"]) for row in rows]


def context(
    crm: CrmEngine,
    conn: sa.Connection,
    scorer: Scorer,
    entity: str,
    config: Mapping[str, Any],
    *,
    now: datetime = NOW,
    trained: Mapping[str, Any] | None = None,
) -> ScoringContext:
    spec = ScoringSpec(name=f"{scorer.name}_test", entity=entity, scorer=scorer.name, config=config)
    model = crm.model
    return ScoringContext(model.definitions, model.metadata.tables, conn, spec, now, trained=trained)


def score(
    crm: CrmEngine,
    scorer: Scorer,
    entity: str,
    config: Mapping[str, Any],
    *,
    now: datetime = NOW,
    trained: Mapping[str, Any] | None = None,
    batch: int = 2,
) -> dict[int, ScoreResult]:
    """Every record of ``entity`` scored, by id; small batches so batching is exercised."""
    with crm.db.read() as conn:
        ctx = context(crm, conn, scorer, entity, config, now=now, trained=trained or None)
        if scorer.prepare is not None:
            ctx = replace(ctx, prepared=scorer.prepare(ctx))
        table = crm.model.table(entity)
        records = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
        out: dict[int, ScoreResult] = {}
        for start in range(0, len(records), batch):
            for result in scorer.score_batch(ctx, records[start : start + batch]):
                out[result.record_id] = result
    return out


def train(crm: CrmEngine, scorer: Scorer, entity: str, config: Mapping[str, Any]) -> TrainReport:
    assert scorer.train is not None
    with crm.db.read() as conn:
        return scorer.train(context(crm, conn, scorer, entity, config))


def factors(result: ScoreResult) -> list[tuple[str, float]]:
    """``[(name, contribution rounded to 6 places)]`` in the result's order."""
    return [(f.name, round(f.contribution, 6)) for f in result.factors]
