"""What a scorer is: the contract between plugins (built-in or installed) and the engine.

A plugin registers scorers with the ``crm_register_scorers`` hook. A scorer declares its
name, labels, the entities it suits and a JSON Schema for its configuration (checked when
the definitions are validated, errors with JSON pointers), and scores **batches**: many
records in, results out, so that it can aggregate in SQL and stay fast. Scorers that learn
from history (``predictive``) also ``train``; the engine stores the trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.errors import UsageError
from engine.metadata import Definitions, Label

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Factor:
    """One reason behind a score: what it is and how much it contributed.

    :param detail: a figure behind the factor ("3 in 90 days"): a string, or a
        :class:`~engine.metadata.Label` when it has words to translate.
    :param fields: the fields of the scored record this factor was computed from (``()``:
        none, e.g. counts of related records). ``None`` means the scorer does not say: such a
        factor is withheld from every user who has a hidden field on the entity, since it may
        come from one (see :func:`visible_factors`).
    """

    name: str
    contribution: float
    label: Label
    detail: str | Label | None = None
    fields: tuple[str, ...] | None = None

    def to_json(self, language: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "contribution": round(self.contribution, 6)}
        out["label"] = self.label.get(language) if language else self.label.to_json()
        if isinstance(self.detail, Label):
            out["detail"] = self.detail.get(language) if language else self.detail.to_json()
        elif self.detail is not None:
            out["detail"] = self.detail
        if self.fields is not None:
            out["fields"] = list(self.fields)
        return out


def fields_read(factor: Mapping[str, Any]) -> frozenset[str] | None:
    """The fields a stored factor (:meth:`Factor.to_json`) was computed from; ``None`` when
    its scorer did not say (factors stored before scorers said, or a plugin's)."""
    fields = factor.get("fields")
    return frozenset(str(f) for f in fields) if isinstance(fields, list) else None


def visible_factors(factors: Sequence[dict[str, Any]], hidden: frozenset[str]) -> tuple[list[dict[str, Any]], int]:
    """The factors a user with ``hidden`` fields may see, and how many were left out: those
    computed from a hidden field, and, when any field is hidden, those that do not say which
    fields they read."""
    if not hidden:
        return list(factors), 0
    shown = []
    for factor in factors:
        read = fields_read(factor)
        if read is not None and not read & hidden:
            shown.append(factor)
    return shown, len(factors) - len(shown)


@dataclass(frozen=True)
class ScoreResult:
    """The score of one record: a value (usually 0–100), a grade or tier, and its factors.

    ``factors`` are ordered by importance (largest absolute contribution first).
    ``extra`` holds scorer-specific figures (RFM's r/f/m, a probability...).
    """

    record_id: int
    value: float | None
    grade: str | None = None
    factors: tuple[Factor, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoringSpec:
    """The scoring definition as a scorer sees it (from a ``scoring`` document)."""

    name: str
    entity: str
    scorer: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may use while scoring, and nothing more (not the engine).

    Frozen: the engine makes one per scoring run and hands the same one to every batch.

    :param definitions: the definitions in force (entities, fields, references).
    :param tables: entity name → its SQLAlchemy table (see :meth:`table`).
    :param conn: a read connection; every batch of the run reads through it.
    :param spec: the scoring definition as the scorer sees it (name, entity, config).
    :param now: the time of the run (decay, recency, age).
    :param trained: the model the scorer's ``train`` returned for this scoring, if any.
    :param prepared: what the scorer's ``prepare`` returned for this run, if it has one.
    """

    definitions: Definitions
    tables: Mapping[str, sa.Table]
    conn: Connection
    spec: ScoringSpec
    now: datetime
    trained: Mapping[str, Any] | None = None
    prepared: Any = None

    def table(self, entity: str) -> sa.Table:
        """The table of ``entity``; a clear error naming the known entities otherwise."""
        try:
            return self.tables[entity]
        except KeyError:
            known = ", ".join(sorted(self.definitions.entities))
            raise UsageError(f'unknown entity "{entity}". Known entities: {known}.') from None


@dataclass(frozen=True)
class TrainReport:
    """What ``train`` learned: the model to store (JSON) and figures for the admin."""

    model: Mapping[str, Any]
    metrics: Mapping[str, Any]


ScoreBatch = Callable[[ScoringContext, Sequence[Mapping[str, Any]]], list[ScoreResult]]
Prepare = Callable[[ScoringContext], Any]
Train = Callable[[ScoringContext], TrainReport]
#: ``(spec, table) -> (value expression, grade expression or None)``, or None when the
#: configuration cannot be expressed in SQL.
CompileSql = Callable[[ScoringSpec, "sa.Table"], "tuple[sa.ColumnElement[Any], sa.ColumnElement[Any] | None] | None"]


#: ``(config) -> [(entity, reference), ...]``: the other entities a scoring reads, each with its
#: reference field to the scored entity (stakeholders → ``project``).
Sources = Callable[[Mapping[str, Any]], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Scorer:
    """A scoring model a plugin offers.

    :param name: unique snake_case name used by ``scoring`` documents (``"scorer": "rfm"``).
    :param label: English and Chinese names.
    :param entities: entity names it suits (advice shown to admins; empty = any).
    :param config_schema: JSON Schema (2020-12) of its ``config``.
    :param score_batch: ``(context, records) -> results``; records are dicts of Python
        values with ``id``; called with batches of up to a few thousand records.
    :param prepare: optional ``(context) -> state`` run once per scoring run before the
        batches (whole-population figures: quantile cut points, ranks); the state is put
        in ``context.prepared``.
    :param train: optional ``(context) -> TrainReport`` for scorers that learn; the engine
        stores the model and hands it back as ``context.trained``.
    :param compile_sql: optional; when it returns expressions, a whole-entity run scores
        every record in a few set-based statements instead of batches in Python, and the
        factors of a record are worked out when someone looks at them.
    :param description: one paragraph for ``crm plugins list``.
    :param sources: optional; the other entities a configuration reads and their reference
        to the scored entity. A scoring triggered by ``save`` then reruns for the records whose
        related rows were created, changed or deleted (adding a stakeholder rescores its project).
    """

    name: str
    label: Label
    config_schema: Mapping[str, Any]
    score_batch: ScoreBatch
    entities: tuple[str, ...] = ()
    prepare: Prepare | None = None
    train: Train | None = None
    compile_sql: CompileSql | None = None
    description: str = ""
    sources: Sources | None = None
