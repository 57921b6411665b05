"""Running scorings: stream records in batches through a scorer, store results and history.

Records are read in batches with a server-side cursor (memory stays flat), scored with the
scorer's batch function (which aggregates related rows in SQL), and written per batch: the
current score (``crm_scores``), a history row when the value or grade changed, and the
target fields on the record. A user's override survives recomputation until it is
cleared; the target fields then show the override. Rerunning is safe: unchanged scores
write no history. A scorer that raises is reported with its plugin's name and the other
scorings still run.

Target fields are maintained by scoring, not edited by users: writing them does not bump
the record's version or add audit rows (the score history is their audit trail).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import NotFoundError, UsageError
from engine.metadata._scoring_model import ScoringDef
from engine.progress import NO_PROGRESS, Progress
from engine.storage import (
    score_history,
    score_history_row,
    scores,
    scoring_models,
    to_jsonable,
    trail_of,
    written_since_deletion,
)

from ._api import ScoreResult, ScoringContext, ScoringSpec, visible_factors
from ._precision import round_score, score_precision
from ._registry import ScorerRegistry
from ._sql_run import run_sql
from ._summary import ScoreSummary, summarize

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

BATCH_SIZE = 2000


@dataclass
class ScoringRun:
    scoring: str
    entity: str
    scored: int = 0
    changed: int = 0
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "scoring": self.scoring,
            "entity": self.entity,
            "scored": self.scored,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class _Existing:
    value: float | None
    grade: str | None
    factors: Any
    definitions_version: int | None
    override_value: float | None
    override_grade: str | None


@dataclass
class ScoreView:
    """A record's score for one scoring, as shown to users."""

    scoring: str
    scorer: str
    value: float | None
    grade: str | None
    factors: list[dict[str, Any]]
    computed_at: datetime | None
    definitions_version: int | None
    override: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Factors left out because they come from fields hidden from the user (the score then
    #: depends on data they may not see; its ``extra`` figures are left out too).
    hidden_factors: int = 0

    def to_json(self) -> dict[str, Any]:
        shown_value = self.override["value"] if self.override and self.override["value"] is not None else self.value
        shown_grade = self.override["grade"] if self.override and self.override["grade"] is not None else self.grade
        return {
            "scoring": self.scoring,
            "scorer": self.scorer,
            "value": shown_value,
            "grade": shown_grade,
            "computed": {"value": self.value, "grade": self.grade},
            "factors": self.factors,
            "override": self.override,
            "extra": to_jsonable(self.extra),
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "definitions_version": self.definitions_version,
            "hidden_factors": self.hidden_factors,
            "depends_on_hidden_data": self.hidden_factors > 0,
        }


class ScoringService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> CrmEngine:
        return self._engine

    @cached_property
    def registry(self) -> ScorerRegistry:
        return ScorerRegistry.collect(self._engine.plugins)

    # -- definitions ----------------------------------------------------------------------
    def definitions(self, *, entity: str | None = None, scoring: str | None = None) -> list[ScoringDef]:
        found = sorted(self._engine.model.definitions.scorings.values(), key=lambda d: d.name)
        if entity is not None:
            self._engine.model.entity(entity)
            found = [s for s in found if s.entity == entity]
        if scoring is not None:
            found = [s for s in found if s.name == scoring]
            if not found:
                known = ", ".join(sorted(self._engine.model.definitions.scorings)) or "none"
                raise UsageError(f'there is no scoring "{scoring}" (scorings: {known})')
        return found

    def _spec(self, definition: ScoringDef) -> ScoringSpec:
        return ScoringSpec(definition.name, definition.entity, definition.scorer, definition.config)

    def _trained(self, conn: Connection, name: str) -> Mapping[str, Any] | None:
        row = conn.execute(sa.select(scoring_models.c.model).where(scoring_models.c.scoring == name)).first()
        return row[0] if row else None

    # -- running ----------------------------------------------------------------------------
    def run(
        self,
        *,
        entity: str | None = None,
        scoring: str | None = None,
        record_ids: Sequence[int] | None = None,
        progress: Progress = NO_PROGRESS,
        batch_size: int = BATCH_SIZE,
        now: datetime | None = None,
    ) -> list[ScoringRun]:
        """Score every record (or ``record_ids``) for the selected scorings."""
        return [
            self._run_one(d, record_ids, progress, batch_size, now or datetime.now(UTC))
            for d in self.definitions(entity=entity, scoring=scoring)
        ]

    def _run_one(
        self,
        definition: ScoringDef,
        record_ids: Sequence[int] | None,
        progress: Progress,
        batch_size: int,
        now: datetime,
    ) -> ScoringRun:
        report = ScoringRun(definition.name, definition.entity)
        started = time.perf_counter()
        scorer = self.registry.get(definition.scorer)
        plugin = self.registry.plugin_of[scorer.name]
        table = self._engine.model.table(definition.entity)
        if scorer.compile_sql is not None and record_ids is None:
            try:
                compiled = scorer.compile_sql(self._spec(definition), table)
                if compiled is not None:
                    report.scored, report.changed = run_sql(self, definition, table, *compiled, now=now)
                    report.seconds = time.perf_counter() - started
                    return report
            except Exception as exc:  # a scorer's bug: report it with its plugin
                failure = self._engine.plugins.report(plugin, f"scorer {scorer.name}", exc)
                report.error = f"plugin {plugin}, scorer {scorer.name}: {failure.error}"
                report.seconds = time.perf_counter() - started
                return report
        try:
            with self._engine.db.read() as conn:
                context = ScoringContext(self._engine, conn, self._spec(definition), now)
                context.model = {"trained": self._trained(conn, definition.name)}
                if scorer.prepare is not None:
                    context.model = {**context.model, "prepared": scorer.prepare(context)}
                query = sa.select(table).order_by(table.c.id)
                count_query = sa.select(sa.func.count()).select_from(table)
                if record_ids is not None:
                    query = query.where(table.c.id.in_(list(record_ids)))
                    count_query = count_query.where(table.c.id.in_(list(record_ids)))
                total = int(conn.execute(count_query).scalar() or 0)
                progress.start(f"score {definition.name}", total)
                result = conn.execute(query.execution_options(yield_per=batch_size)).mappings()
                for partition in result.partitions(batch_size):
                    records = [dict(r) for r in partition]
                    results = scorer.score_batch(context, records)
                    report.changed += self._store(definition, results, now)
                    report.scored += len(results)
                    progress.advance(len(records))
        except Exception as exc:  # a scorer's bug: report it with its plugin, go on with the others
            failure = self._engine.plugins.report(plugin, f"scorer {scorer.name}", exc)
            report.error = f"plugin {plugin}, scorer {scorer.name}: {failure.error}"
        finally:
            progress.finish()
        report.seconds = time.perf_counter() - started
        return report

    def _store(self, definition: ScoringDef, results: Iterable[ScoreResult], now: datetime) -> int:
        """Write one batch of results; returns how many changed.

        Values and factor contributions are kept at the scoring's precision; a result whose
        value, grade and factors are those stored is no change: its row is left as it is.
        """
        results = list(results)
        if not results:
            return 0
        version = self._engine.version
        scorer = definition.scorer
        precision = score_precision(definition, self._engine.model.entity(definition.entity))
        ids = [r.record_id for r in results]
        with self._engine.db.write() as tx:
            existing = {
                row.record_id: _Existing(
                    row.value, row.grade, row.factors, row.definitions_version, row.override_value, row.override_grade
                )
                for row in tx.execute(
                    sa.select(
                        scores.c.record_id,
                        scores.c.value,
                        scores.c.grade,
                        scores.c.factors,
                        scores.c.definitions_version,
                        scores.c.override_value,
                        scores.c.override_grade,
                    ).where(scores.c.scoring == definition.name, scores.c.record_id.in_(ids))
                )
            }
            inserts, updates, history, targets = [], [], [], []
            changed = 0
            for r in results:
                value = round_score(r.value, precision)
                factors = [{**f.to_json(), "contribution": round_score(f.contribution, precision)} for f in r.factors]
                row = {
                    "scoring": definition.name,
                    "record_id": r.record_id,
                    "entity": definition.entity,
                    "scorer": scorer,
                    "value": value,
                    "grade": r.grade,
                    "factors": factors,
                    "extra": to_jsonable(dict(r.extra)) or None,
                    "definitions_version": version,
                    "computed_at": now,
                }
                old = existing.get(r.record_id)
                moved = old is None or old.value != value or old.grade != r.grade
                if moved or old is None or to_jsonable(old.factors) != to_jsonable(factors):
                    changed += 1
                elif old.definitions_version == version:
                    continue  # the same score: nothing to write
                if old is None:
                    inserts.append(row)
                else:
                    updates.append({**{f"b_{k}": v for k, v in row.items()}})
                if moved:
                    history.append(
                        score_history_row(
                            scoring=definition.name,
                            entity=definition.entity,
                            record_id=r.record_id,
                            kind="computed",
                            value=value,
                            grade=r.grade,
                            scorer=scorer,
                            definitions_version=version,
                            at=now,
                        )
                    )
                shown_value = old.override_value if old is not None and old.override_value is not None else value
                shown_grade = old.override_grade if old is not None and old.override_grade is not None else r.grade
                targets.append({"b_id": r.record_id, "b_value": shown_value, "b_grade": shown_grade})
            if inserts:
                tx.execute(scores.insert(), inserts)
            if updates:
                tx.execute(_UPDATE_SCORE, updates)
            if history:
                tx.execute(score_history.insert(), history)
            self._write_targets(tx, definition, targets)
        return changed

    def _write_targets(self, tx: Connection, definition: ScoringDef, targets: list[dict[str, Any]]) -> None:
        values: dict[str, Any] = {}
        if definition.target_value:
            values[definition.target_value] = sa.bindparam("b_value")
        if definition.target_grade:
            values[definition.target_grade] = sa.bindparam("b_grade")
        if not values or not targets:
            return
        table = self._engine.model.table(definition.entity)
        entity = self._engine.model.entity(definition.entity)
        column = entity.fields.get(definition.target_value or "")
        if column is not None and column.type == "integer":
            targets = [{**t, "b_value": None if t["b_value"] is None else round(t["b_value"])} for t in targets]
        tx.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(values), targets)

    def on_event(self, entity: str, record_id: int, trigger: str) -> None:
        """Rescore one record for the scorings of ``entity`` that listen to ``trigger``."""
        if not self._engine.has_definitions:
            return
        for definition in self._engine.model.definitions.scorings_for(entity):
            if trigger in definition.triggers:
                self._run_one(definition, [record_id], NO_PROGRESS, BATCH_SIZE, datetime.now(UTC))

    # -- reading ------------------------------------------------------------------------------
    def show(
        self, entity: str, record_id: int, *, language: str | None = None, user: User | None = None
    ) -> list[ScoreView]:
        """Every score of a record with its explanation and override (with ``user``: of a
        record they may see, without scorings whose target fields are hidden from them, and
        without the factors computed from fields hidden from them, counted in
        ``hidden_factors``)."""
        self._engine.records.get(entity, record_id, user=user)
        hidden = self._engine.permissions.hidden_fields(user, entity)
        out = []
        with self._engine.db.read() as conn:
            for definition in self.definitions(entity=entity):
                if hidden & {definition.target_value, definition.target_grade}:
                    continue
                row = (
                    conn.execute(
                        sa.select(scores).where(
                            scores.c.scoring == definition.name, scores.c.record_id == int(record_id)
                        )
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    out.append(ScoreView(definition.name, definition.scorer, None, None, [], None, None))
                    continue
                override = None
                if row["override_value"] is not None or row["override_grade"] is not None:
                    override = {
                        "value": row["override_value"],
                        "grade": row["override_grade"],
                        "reason": row["override_reason"],
                        "by": row["override_by"],
                        "at": row["override_at"].isoformat() if row["override_at"] else None,
                    }
                factors = row["factors"]
                if factors is None and row["value"] is not None:  # scored in SQL: explain it now
                    factors = self._explain(conn, definition, int(record_id))
                factors, withheld = visible_factors(factors or [], hidden)
                if language:
                    factors = [{**f, "label": _label(f.get("label"), language)} for f in factors]
                out.append(
                    ScoreView(
                        definition.name,
                        row["scorer"],
                        row["value"],
                        row["grade"],
                        factors,
                        row["computed_at"],
                        row["definitions_version"],
                        override,
                        {} if withheld else row["extra"] or {},
                        withheld,
                    )
                )
        return out

    def summary(self, scoring: str, *, bins: int = 10) -> ScoreSummary:
        """How the stored scores of ``scoring`` spread: records per grade and a histogram of
        the values in ``bins`` equal slices (overrides count as the score)."""
        (definition,) = self.definitions(scoring=scoring)
        return summarize(self._engine, definition, bins)

    def _explain(self, conn: Connection, definition: ScoringDef, record_id: int) -> list[dict[str, Any]]:
        scorer = self.registry.get(definition.scorer)
        table = self._engine.model.table(definition.entity)
        record = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
        if record is None:
            return []
        context = ScoringContext(self._engine, conn, self._spec(definition), datetime.now(UTC))
        context.model = {"trained": self._trained(conn, definition.name)}
        if scorer.prepare is not None:
            context.model = {**context.model, "prepared": scorer.prepare(context)}
        (result,) = scorer.score_batch(context, [dict(record)])
        return [f.to_json() for f in result.factors]

    def history(
        self, entity: str, record_id: int, *, scoring: str | None = None, user: User | None = None
    ) -> list[dict[str, Any]]:
        """Every computed score, override and clearing of a record, oldest first (with
        ``user``: of a record they may see, without scorings whose targets are hidden)."""
        if user is not None:
            self._engine.records.get(entity, record_id, user=user)
            hidden = self._engine.permissions.hidden_fields(user, entity)
            if hidden:
                shown = [
                    d.name for d in self.definitions(entity=entity) if not hidden & {d.target_value, d.target_grade}
                ]
                if scoring is not None and scoring not in shown:
                    return []
                scoring_names: list[str] | None = shown
            else:
                scoring_names = None
        else:
            scoring_names = None
        query = (
            sa.select(score_history)
            .where(score_history.c.entity == entity, score_history.c.record_id == int(record_id))
            .order_by(score_history.c.id)
        )
        since = written_since_deletion(score_history.c.at, entity, int(record_id))
        query = query.where(trail_of(self._engine.model.table(entity), int(record_id), since))
        if scoring:
            query = query.where(score_history.c.scoring == scoring)
        if scoring_names is not None:
            query = query.where(score_history.c.scoring.in_(scoring_names))
        with self._engine.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- overrides ----------------------------------------------------------------------------
    def override(
        self,
        entity: str,
        record_id: int,
        scoring: str,
        *,
        value: float | None = None,
        grade: str | None = None,
        reason: str,
        actor: str | None = None,
        user: User | None = None,
    ) -> ScoreView:
        """Set a user's value and/or grade; it stays until cleared, whatever recomputation finds.

        With ``user``: the record must be in their update scope; the override is theirs.
        """
        (definition,) = self.definitions(entity=entity, scoring=scoring)
        if value is None and grade is None:
            raise UsageError("an override needs a value or a grade")
        if not reason or not reason.strip():
            raise UsageError("an override needs a reason")
        current = self._engine.records.get(entity, record_id)
        if user is not None:
            self._engine.permissions.check_record(user, entity, current, "update")
            actor = user.name
        now = datetime.now(UTC)
        with self._engine.db.write() as tx:
            found = tx.execute(
                sa.select(scores.c.record_id).where(scores.c.scoring == scoring, scores.c.record_id == int(record_id))
            ).first()
            values = {
                "override_value": value,
                "override_grade": grade,
                "override_reason": reason,
                "override_by": actor,
                "override_at": now,
            }
            if found is None:
                tx.execute(
                    scores.insert().values(
                        scoring=scoring,
                        record_id=int(record_id),
                        entity=entity,
                        scorer=definition.scorer,
                        definitions_version=self._engine.version,
                        computed_at=now,
                        **values,
                    )
                )
            else:
                tx.execute(
                    scores.update()
                    .where(scores.c.scoring == scoring, scores.c.record_id == int(record_id))
                    .values(values)
                )
            self._after_override(tx, definition, int(record_id), "override", value, grade, actor, reason, now)
        return next(v for v in self.show(entity, record_id) if v.scoring == scoring)

    def clear_override(
        self, entity: str, record_id: int, scoring: str, *, actor: str | None = None, user: User | None = None
    ) -> ScoreView:
        """Remove the override: the computed score counts again (``user`` as for :meth:`override`)."""
        (definition,) = self.definitions(entity=entity, scoring=scoring)
        if user is not None:
            current = self._engine.records.get(entity, record_id)
            self._engine.permissions.check_record(user, entity, current, "update")
            actor = user.name
        now = datetime.now(UTC)
        with self._engine.db.write() as tx:
            result = tx.execute(
                scores.update()
                .where(scores.c.scoring == scoring, scores.c.record_id == int(record_id))
                .values(
                    override_value=None, override_grade=None, override_reason=None, override_by=None, override_at=None
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"{entity} {record_id} has no score for {scoring}")
            self._after_override(tx, definition, int(record_id), "cleared", None, None, actor, None, now)
        return next(v for v in self.show(entity, record_id) if v.scoring == scoring)

    def _after_override(
        self,
        tx: Connection,
        definition: ScoringDef,
        record_id: int,
        kind: str,
        value: float | None,
        grade: str | None,
        actor: str | None,
        reason: str | None,
        at: datetime,
    ) -> None:
        """What setting or clearing an override leaves behind: a history row, and the target
        fields rewritten from the score that now counts."""
        tx.execute(
            score_history.insert().values(
                score_history_row(
                    scoring=definition.name, entity=definition.entity, record_id=record_id, kind=kind,
                    value=value, grade=grade, scorer=definition.scorer, definitions_version=self._engine.version,
                    at=at, actor=actor, reason=reason,
                )
            )
        )  # fmt: skip
        self._write_targets(tx, definition, self._current_targets(tx, definition.name, record_id))

    def _current_targets(self, tx: Connection, scoring: str, record_id: int) -> list[dict[str, Any]]:
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

    # -- training -------------------------------------------------------------------------------
    def train(self, scoring: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Train a learning scorer on the current data and store the model."""
        (definition,) = self.definitions(scoring=scoring)
        scorer = self.registry.get(definition.scorer)
        if scorer.train is None:
            raise UsageError(f'scorer "{scorer.name}" does not learn; only scorers with training can be trained')
        now = now or datetime.now(UTC)
        with self._engine.db.read() as conn:
            report = scorer.train(ScoringContext(self._engine, conn, self._spec(definition), now))
        with self._engine.db.write() as tx:
            tx.execute(scoring_models.delete().where(scoring_models.c.scoring == scoring))
            tx.execute(
                scoring_models.insert().values(
                    scoring=scoring,
                    scorer=scorer.name,
                    model=to_jsonable(dict(report.model)),
                    metrics=to_jsonable(dict(report.metrics)),
                    definitions_version=self._engine.version,
                    trained_at=now,
                )
            )
        return {"scoring": scoring, "scorer": scorer.name, "metrics": to_jsonable(dict(report.metrics))}


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


def _label(label: Any, language: str) -> Any:
    if isinstance(label, dict):
        return label.get(language) or label.get("en")
    return label
