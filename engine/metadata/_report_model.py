"""Frozen report definitions: what to compute over records, workflow history and scores.

A report has a type; what the type needs is in its ``spec`` (one frozen class per type).
Filters (``where``) are kept as their JSON, frozen (objects as read-only mappings, arrays
as tuples): ``engine.reports`` compiles them with the record filter language when the
report runs, after putting in the parameters' values.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from ._model import NO_DEFAULT, Label, SourceRef, freeze_mappings

ReportType = Literal["funnel", "forecast", "time_in_state", "rate", "aggregate", "ranking", "distribution"]
REPORT_TYPES: tuple[ReportType, ...] = (
    "funnel",
    "forecast",
    "time_in_state",
    "rate",
    "aggregate",
    "ranking",
    "distribution",
)
#: The report types computed over a workflow (they name a workflow, not an entity).
WORKFLOW_REPORT_TYPES: frozenset[str] = frozenset({"funnel", "forecast", "time_in_state", "rate"})
ChartType = Literal["bar", "funnel", "line", "pie"]
Period = Literal["day", "month", "quarter", "year"]
ParamType = Literal["string", "integer", "decimal", "date", "datetime", "boolean"]
MeasureOp = Literal["count", "count_distinct", "sum", "avg", "min", "max", "ratio"]
DurationUnit = Literal["day", "hour"]
SortOrder = Literal["desc", "asc"]
#: A filter as written, frozen: read-only mappings and tuples.
FrozenJson = Any


def freeze_json(value: Any) -> FrozenJson:
    """``value`` (JSON as ``json.loads`` returns it) with objects as read-only mappings and
    arrays as tuples, so that a definition cannot be changed through it."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze_json(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze_json(v) for v in value)
    return value


def thaw_json(value: FrozenJson) -> Any:
    """The plain JSON (dicts and lists) of a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw_json(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw_json(v) for v in value]
    return value


@dataclass(frozen=True)
class ParamDef:
    """A value the user gives when running the report, named in filters as ``{"param": name}``."""

    name: str
    type: ParamType
    label: Label
    default: Any = NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class GroupKey:
    """A group key: a field, a date or datetime field bucketed by ``period``, or a number
    field in ``bands`` (ascending bounds: ``(100000, 500000)`` makes three bands)."""

    field: str
    period: Period | None = None
    bands: tuple[Decimal, ...] = ()

    @property
    def column(self) -> str:
        """The name of the key's column in the result (``owner``, ``created_at_month``,
        ``amount_band``)."""
        if self.bands:
            return f"{self.field}_band"
        return self.field if self.period is None else f"{self.field}_{self.period}"

    def band_labels(self) -> tuple[str, ...]:
        """The name of each band, lowest first: ``< 100,000``, ``100,000–500,000``, ``≥ 500,000``."""
        shown = [f"{b.normalize():,f}" for b in self.bands]
        inner = [f"{low}–{high}" for low, high in itertools.pairwise(shown)]
        return (f"< {shown[0]}", *inner, f"≥ {shown[-1]}")


@dataclass(frozen=True)
class ValueSource:
    """A number per record: a ``field`` of it, or its score of a ``scoring``."""

    field: str | None = None
    scoring: str | None = None


@dataclass(frozen=True)
class MeasureDef:
    """One measure of an aggregate report; ``of`` says whose field: the grouped records',
    or the related records'. A ratio divides the measures ``numerator`` and
    ``denominator``."""

    name: str
    op: MeasureOp
    label: Label
    field: str | None = None
    of: Literal["records", "related"] = "records"
    numerator: str | None = None
    denominator: str | None = None


@dataclass(frozen=True)
class RelatedDef:
    """Records of ``entity`` whose reference ``field`` points at the report's records."""

    entity: str
    field: str
    where: FrozenJson = None


@dataclass(frozen=True)
class FunnelSpec:
    states: tuple[str, ...]
    by: tuple[GroupKey, ...] = ()
    where: FrozenJson = None


@dataclass(frozen=True)
class LearnedSince:
    """Where a learned forecast's history starts: ``days`` before the report's now, or the
    date given to the parameter ``param`` (no value: all history)."""

    days: int | None = None
    param: str | None = None


@dataclass(frozen=True)
class ForecastSpec:
    amount: str
    #: state → probability in percent, in the order written; empty when ``learned``
    probabilities: Mapping[str, int | float]
    by: tuple[GroupKey, ...] = ()
    where: FrozenJson = None
    #: probabilities measured from the workflow history instead of a fixed map
    learned: bool = False
    #: fewer closed records than this: the state falls back to the pooled share of it and the
    #: open states after it
    min_sample: int = 10
    learned_since: LearnedSince | None = None

    def __post_init__(self) -> None:
        freeze_mappings(self, "probabilities")


@dataclass(frozen=True)
class TimeInStateSpec:
    #: the states reported, in order; empty: every state of the workflow that is not final,
    #: in the order of the choices of the field it drives
    states: tuple[str, ...] = ()
    unit: DurationUnit = "day"
    by: tuple[GroupKey, ...] = ()
    where: FrozenJson = None


@dataclass(frozen=True)
class RateSpec:
    base: tuple[str, ...]
    passed: tuple[str, ...]
    by: tuple[GroupKey, ...] = ()
    where: FrozenJson = None


@dataclass(frozen=True)
class AggregateSpec:
    #: name → measure, in column order
    measures: Mapping[str, MeasureDef]
    by: tuple[GroupKey, ...] = ()
    where: FrozenJson = None
    related: RelatedDef | None = None
    having: FrozenJson = None
    #: column names, ``-`` first for descending
    sort: tuple[str, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        freeze_mappings(self, "measures")


@dataclass(frozen=True)
class RankingSpec:
    rank_by: ValueSource
    columns: tuple[str, ...] = ()
    order: SortOrder = "desc"
    limit: int = 10
    where: FrozenJson = None


@dataclass(frozen=True)
class DistributionSpec:
    """Either ``value`` with ``bins`` (lower bounds), or ``grades_of`` a scoring."""

    value: ValueSource | None = None
    bins: tuple[int | float, ...] = ()
    grades_of: str | None = None
    grade_order: tuple[str, ...] = ()
    where: FrozenJson = None


ReportSpec = FunnelSpec | ForecastSpec | TimeInStateSpec | RateSpec | AggregateSpec | RankingSpec | DistributionSpec


@dataclass(frozen=True)
class ReportDef:
    """A ``report`` document.

    :param entity: the records the report reads; for the types over a workflow, the
        workflow's entity (resolved, not written).
    :param workflow: the workflow of a ``funnel``, ``forecast``, ``time_in_state`` or
        ``rate`` report.
    :param chart: the chart hint as written, or ``None``.
    :param spec: what the type needs.
    """

    name: str
    type: ReportType
    label: Label
    entity: str
    spec: ReportSpec
    workflow: str | None = None
    description: Label | None = None
    chart: ChartType | None = None
    params: Mapping[str, ParamDef] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        freeze_mappings(self, "params")
