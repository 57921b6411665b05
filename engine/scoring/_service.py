"""Running scorings: stream records in batches through a scorer, store results and history.

Records are read in batches with a server-side cursor (memory stays flat), scored with the
scorer's batch function (which aggregates related rows in SQL), and written per batch: the
current score (``crm_scores``), a history row when the value or grade changed, and the
target fields on the record. A user's override survives recomputation until it is
cleared; the target fields then show the override. Rerunning is safe: unchanged scores
write no history. A scorer that raises is reported with its plugin's name and the other
scorings still run. Writing is ``_writes``'s, the set-based path ``_sql_run``'s.

After a write the engine calls :meth:`ScoringService.on_event` (saves, transitions) and
:meth:`ScoringService.rescore` (a workflow's ``rescore`` action) itself; a scoring that cannot
run then is logged with its name and returned with its error, and the write stands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import NotFoundError, Problem, UnknownNameError, UsageError
from engine.metadata import ScoringDef
from engine.progress import NO_PROGRESS, Progress
from engine.storage import (
    SCORES_RECOMPUTED,
    DomainEvent,
    score_history,
    score_history_row,
    scores,
    scoring_models,
    to_jsonable,
    trail_of,
    unit_of,
    written_since_deletion,
)
from engine.suggestions import did_you_mean
from engine.users import SystemActor, User

from ._api import Scorer, ScoringContext, ScoringSpec, visible_factors
from ._order import after_what_they_read
from ._registry import ScorerRegistry
from ._sql_run import run_sql
from ._summary import ScoreSummary, summarize
from ._writes import current_targets, score_event, store_results, write_targets

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine
    from engine.users import Actor

BATCH_SIZE = 2000
log = logging.getLogger("crm.scoring")
#: Reads the service makes for itself (the record an override is for, the view it returns).
_LOOKUP = SystemActor("scoring lookup")


class UnknownScoringError(UnknownNameError):
    """No scoring of that name (of ``entity``, when one is named)."""

    def __init__(self, entity: str | None, scoring: str, known: tuple[str, ...]) -> None:
        names = sorted(known)
        if names:
            hint = did_you_mean(scoring, names, otherwise=f" Known: {', '.join(names)}.")
        else:
            hint = f" {entity} has no scoring." if entity is not None else " No scoring is defined."
        where = f"{entity} has" if entity is not None else "there is"
        super().__init__(
            f'{where} no scoring "{scoring}".{hint}',
            [Problem(code="unknown_scoring", field="scoring", message=f'there is no scoring "{scoring}"')],
        )


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
            named = [s for s in found if s.name == scoring]
            if not named:
                raise UnknownScoringError(entity, scoring, tuple(s.name for s in found))
            found = named
        return found

    def find(self, entity: str, name: str) -> ScoringDef:
        """The scoring ``name`` of ``entity``; :class:`UnknownScoringError` (with a suggestion)
        otherwise."""
        (definition,) = self.definitions(entity=entity, scoring=name)
        return definition

    def _spec(self, definition: ScoringDef) -> ScoringSpec:
        return ScoringSpec(definition.name, definition.entity, definition.scorer, definition.config)

    def _trained(self, conn: Connection, name: str) -> Mapping[str, Any] | None:
        row = conn.execute(sa.select(scoring_models.c.model).where(scoring_models.c.scoring == name)).first()
        return row[0] if row else None

    def context(
        self,
        conn: Connection,
        definition: ScoringDef,
        now: datetime,
        *,
        trained: Mapping[str, Any] | None,
        model: CompiledModel | None = None,
    ) -> ScoringContext:
        """The context a scorer gets for ``definition``: the definitions, tables, ``conn``,
        the scoring's spec, ``now`` and ``trained``, with its ``prepare`` run (once per run)."""
        model = model or self._engine.model
        context = ScoringContext(
            model.definitions, model.metadata.tables, conn, self._spec(definition), now, trained=trained
        )
        scorer = self.registry.get(definition.scorer)
        if scorer.prepare is not None:
            context = replace(context, prepared=scorer.prepare(context))
        return context

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
            self._run_one(d, record_ids, progress, batch_size, now or utcnow())
            for d in after_what_they_read(self.definitions(entity=entity, scoring=scoring))
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
        model = self._engine.model
        try:
            if not (record_ids is None and self._run_in_sql(report, model, definition, scorer, now)):
                self._run_batches(report, model, definition, record_ids, progress, batch_size, now)
        except Exception as exc:  # a scorer's bug: report it with its plugin, go on with the others
            plugin = self.registry.plugin_of[scorer.name]
            failure = self._engine.plugins.report(plugin, f"scorer {scorer.name}", exc)
            report.error = f"plugin {plugin}, scorer {scorer.name}: {failure.error}"
        report.seconds = time.perf_counter() - started
        return report

    def _run_in_sql(
        self, report: ScoringRun, model: CompiledModel, definition: ScoringDef, scorer: Scorer, now: datetime
    ) -> bool:
        """Score the whole entity in SQL when the scorer compiles this configuration."""
        if scorer.compile_sql is None:
            return False
        table = model.table(definition.entity)
        compiled = scorer.compile_sql(self._spec(definition), table)
        if compiled is None:
            return False
        with self._engine.db.write() as tx:
            report.scored, report.changed = run_sql(tx, model, definition, table, *compiled, now=now)
            if report.changed:  # the whole entity in a few statements: one event says how many moved
                payload = {"scoring": definition.name, "scored": report.scored, "changed": report.changed}
                unit_of(tx).emit(
                    DomainEvent(SCORES_RECOMPUTED, definition.entity, None, None, payload, now, model.version)
                )
        return True

    def _run_batches(
        self,
        report: ScoringRun,
        model: CompiledModel,
        definition: ScoringDef,
        record_ids: Sequence[int] | None,
        progress: Progress,
        batch_size: int,
        now: datetime,
    ) -> None:
        """Stream the records in batches through the scorer, writing each batch's results."""
        scorer = self.registry.get(definition.scorer)
        table = model.table(definition.entity)
        try:
            with self._engine.db.read() as conn:
                trained = self._trained(conn, definition.name)
                context = self.context(conn, definition, now, trained=trained, model=model)
                query = sa.select(table).order_by(table.c.id)
                count_query = sa.select(sa.func.count()).select_from(table)
                if record_ids is not None:
                    query = query.where(table.c.id.in_(list(record_ids)))
                    count_query = count_query.where(table.c.id.in_(list(record_ids)))
                progress.start(f"score {definition.name}", int(conn.execute(count_query).scalar() or 0))
                result = conn.execute(query.execution_options(yield_per=batch_size)).mappings()
                for partition in result.partitions(batch_size):
                    results = scorer.score_batch(context, [dict(r) for r in partition])
                    if results:
                        with self._engine.db.write() as tx:
                            report.changed += store_results(tx, model, definition, results, now)
                    report.scored += len(results)
                    progress.advance(len(partition))
        finally:
            progress.finish()

    # -- after writes -----------------------------------------------------------------------
    def on_event(self, entity: str, record_id: int, *triggers: str) -> list[ScoringRun]:
        """Rescore one record, once, for the scorings of ``entity`` that listen to any of
        ``triggers`` (``save``, ``transition``); the engine calls it after the write commits."""
        if not self._engine.has_definitions:
            return []
        return [
            self._after_write(definition, [record_id])
            for definition in self._engine.model.definitions.scorings_for(entity)
            if any(trigger in definition.triggers for trigger in triggers)
        ]

    def sourced_from(self, entity: str) -> list[tuple[ScoringDef, str]]:
        """The ``save``-triggered scorings that read records of ``entity`` through a reference
        (what their scorers declare as ``sources``), each with that reference field."""
        if not self._engine.has_definitions:
            return []
        found: list[tuple[ScoringDef, str]] = []
        for definition in self._engine.model.definitions.scorings.values():
            if "save" not in definition.triggers:
                continue
            try:
                scorer = self.registry.get(definition.scorer)
            except UsageError:
                continue  # its plugin is gone: rescoring it is reported when it runs
            if scorer.sources is None:
                continue
            found.extend(
                (definition, reference) for source, reference in scorer.sources(definition.config) if source == entity
            )
        return found

    def rescore_scoring(self, definition: ScoringDef, record_ids: Sequence[int]) -> ScoringRun:
        """Rerun one scoring for ``record_ids`` after a committed write (see :meth:`on_event`)."""
        return self._after_write(definition, record_ids)

    def rescore(self, entity: str, record_ids: Sequence[int], scorings: Sequence[str]) -> list[ScoringRun]:
        """What a workflow's ``rescore`` action asks for, after its commit: ``scorings`` of
        ``entity`` (every one when empty) run again for ``record_ids``."""
        runs: list[ScoringRun] = []
        names: list[str | None] = list(scorings) or [None]  # None: every scoring of the entity
        for name in names:
            try:
                found = self.definitions(entity=entity, scoring=name)
            except UsageError as exc:  # no definitions, or a scoring since removed
                log.error("rescoring %s of %s %s failed: %s", name, entity, list(record_ids), exc)
                runs.append(ScoringRun(name or "", entity, error=f"{exc.__class__.__name__}: {exc}"))
                continue
            runs.extend(self._after_write(definition, record_ids) for definition in found)
        return runs

    def _after_write(self, definition: ScoringDef, record_ids: Sequence[int]) -> ScoringRun:
        """Rescore after a committed write: a scoring that cannot run (its scorer's plugin
        is gone) is logged and returned with its error; the write stands."""
        try:
            return self._run_one(definition, record_ids, NO_PROGRESS, BATCH_SIZE, utcnow())
        except Exception as exc:
            log.error("rescoring %s of %s %s failed: %s", definition.name, definition.entity, list(record_ids), exc)
            return ScoringRun(definition.name, definition.entity, error=f"{exc.__class__.__name__}: {exc}")

    # -- reading ------------------------------------------------------------------------------
    def show(self, entity: str, record_id: int, *, actor: Actor, language: str | None = None) -> list[ScoreView]:
        """Every score of a record with its explanation and override (for a user: of a
        record they may see, without scorings whose target fields are hidden from them, and
        without the factors computed from fields hidden from them, counted in
        ``hidden_factors``)."""
        self._engine.records.get(entity, record_id, actor=actor)
        hidden = self._engine.permissions.hidden_fields(actor, entity)
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
                    factors = [_localized(f, language) for f in factors]
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
        context = self.context(conn, definition, utcnow(), trained=self._trained(conn, definition.name))
        (result,) = scorer.score_batch(context, [dict(record)])
        return [f.to_json() for f in result.factors]

    def history(self, entity: str, record_id: int, *, actor: Actor, scoring: str | None = None) -> list[dict[str, Any]]:
        """Every computed score, override and clearing of a record, oldest first (for a
        user: of a record they may see, without scorings whose targets are hidden)."""
        if isinstance(actor, User):
            self._engine.records.get(entity, record_id, actor=actor)
            hidden = self._engine.permissions.hidden_fields(actor, entity)
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
        actor: Actor,
    ) -> ScoreView:
        """Set a user's value and/or grade; it stays until cleared, whatever recomputation finds.

        For a user, the record must be in their update scope; the override is recorded as
        ``actor``'s.
        """
        (definition,) = self.definitions(entity=entity, scoring=scoring)
        if value is None and grade is None:
            raise UsageError("an override needs a value or a grade")
        if not reason or not reason.strip():
            raise UsageError("an override needs a reason")
        current = self._engine.records.get(entity, record_id, actor=_LOOKUP)
        self._engine.permissions.check_record(actor, entity, current, "update")
        now = utcnow()
        with self._engine.db.write() as tx:
            found = tx.execute(
                sa.select(scores.c.record_id).where(scores.c.scoring == scoring, scores.c.record_id == int(record_id))
            ).first()
            values = {
                "override_value": value,
                "override_grade": grade,
                "override_reason": reason,
                "override_by": actor.name,
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
            self._after_override(tx, definition, int(record_id), "override", value, grade, actor.name, reason, now)
        return next(v for v in self.show(entity, record_id, actor=_LOOKUP) if v.scoring == scoring)

    def clear_override(self, entity: str, record_id: int, scoring: str, *, actor: Actor) -> ScoreView:
        """Remove the override: the computed score counts again (``actor`` as for :meth:`override`)."""
        (definition,) = self.definitions(entity=entity, scoring=scoring)
        if isinstance(actor, User):
            current = self._engine.records.get(entity, record_id, actor=_LOOKUP)
            self._engine.permissions.check_record(actor, entity, current, "update")
        now = utcnow()
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
            self._after_override(tx, definition, int(record_id), "cleared", None, None, actor.name, None, now)
        return next(v for v in self.show(entity, record_id, actor=_LOOKUP) if v.scoring == scoring)

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
        unit_of(tx).emit(
            score_event(
                definition, record_id, kind, value, grade, None, actor=actor, version=self._engine.version, at=at
            )
        )
        write_targets(tx, self._engine.model, definition, current_targets(tx, definition.name, record_id))

    # -- training -------------------------------------------------------------------------------
    def train(self, scoring: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Train a learning scorer on the current data and store the model."""
        (definition,) = self.definitions(scoring=scoring)
        scorer = self.registry.get(definition.scorer)
        if scorer.train is None:
            raise UsageError(f'scorer "{scorer.name}" does not learn; only scorers with training can be trained')
        now = now or utcnow()
        model = self._engine.model
        with self._engine.db.read() as conn:
            context = ScoringContext(model.definitions, model.metadata.tables, conn, self._spec(definition), now)
            report = scorer.train(context)
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


def _localized(factor: dict[str, Any], language: str) -> dict[str, Any]:
    """A stored factor with its label, and its detail when it is a label, in ``language``."""
    out = {**factor, "label": _label(factor.get("label"), language)}
    if "detail" in factor:
        out["detail"] = _label(factor["detail"], language)
    return out


def _label(label: Any, language: str) -> Any:
    if isinstance(label, dict):
        return label.get(language) or label.get("en")
    return label
