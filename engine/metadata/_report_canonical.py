"""Reports in the canonical stored form: each one a report document with only non-default
keys, in a stable order, that reads back into an equal report."""

from __future__ import annotations

from typing import Any

from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION
from engine.metadata._report_model import (
    AggregateSpec,
    DistributionSpec,
    ForecastSpec,
    FunnelSpec,
    GroupKey,
    MeasureDef,
    ParamDef,
    RankingSpec,
    RateSpec,
    ReportDef,
    TimeInStateSpec,
    ValueSource,
    thaw_json,
)


def report_to_json(report: ReportDef) -> dict[str, Any]:
    """One report as a report document with only non-default keys."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "report",
        "name": report.name,
        "type": report.type,
    }
    if report.label != derive_label(report.name):
        out["label"] = report.label.to_json()
    if report.description is not None:
        out["description"] = report.description.to_json()
    if report.params:
        out["params"] = {name: _param(p) for name, p in report.params.items()}
    if report.chart is not None:
        out["chart"] = {"type": report.chart}
    if report.workflow is not None:
        out["workflow"] = report.workflow
    else:
        out["entity"] = report.entity
    out.update(_spec(report.spec))
    return out


def _param(param: ParamDef) -> dict[str, Any]:
    out: dict[str, Any] = {"type": param.type}
    if param.label != derive_label(param.name):
        out["label"] = param.label.to_json()
    if param.has_default:
        out["default"] = param.default
    return out


def _group_key(key: GroupKey) -> str | dict[str, str]:
    return key.field if key.period is None else {"field": key.field, "period": key.period}


def _value(source: ValueSource) -> dict[str, str]:
    return {"scoring": source.scoring} if source.scoring is not None else {"field": str(source.field)}


def _measure(measure: MeasureDef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": measure.name, "op": measure.op}
    for key in ("field", "numerator", "denominator"):
        value = getattr(measure, key)
        if value is not None:
            out[key] = value
    if measure.of != "records":
        out["of"] = measure.of
    if measure.label != derive_label(measure.name):
        out["label"] = measure.label.to_json()
    return out


def _spec(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(spec, FunnelSpec):
        out["states"] = list(spec.states)
    elif isinstance(spec, ForecastSpec):
        out["amount"] = spec.amount
        out["probabilities"] = dict(spec.probabilities)
    elif isinstance(spec, TimeInStateSpec):
        if spec.states:
            out["states"] = list(spec.states)
        if spec.unit != "day":
            out["unit"] = spec.unit
    elif isinstance(spec, RateSpec):
        out["base"] = list(spec.base)
        out["passed"] = list(spec.passed)
    elif isinstance(spec, AggregateSpec):
        out["measures"] = [_measure(m) for m in spec.measures.values()]
        if spec.related is not None:
            related: dict[str, Any] = {"entity": spec.related.entity, "field": spec.related.field}
            if spec.related.where is not None:
                related["where"] = thaw_json(spec.related.where)
            out["related"] = related
        if spec.having is not None:
            out["having"] = thaw_json(spec.having)
        if spec.sort:
            out["sort"] = list(spec.sort)
        if spec.limit is not None:
            out["limit"] = spec.limit
    elif isinstance(spec, RankingSpec):
        out["rank_by"] = _value(spec.rank_by)
        if spec.columns:
            out["columns"] = list(spec.columns)
        if spec.order != "desc":
            out["order"] = spec.order
        if spec.limit != 10:
            out["limit"] = spec.limit
    elif isinstance(spec, DistributionSpec):
        if spec.value is not None:
            out["value"] = _value(spec.value)
            out["bins"] = list(spec.bins)
        if spec.grades_of is not None:
            grades: dict[str, Any] = {"scoring": spec.grades_of}
            if spec.grade_order:
                grades["order"] = list(spec.grade_order)
            out["grades"] = grades
    by = getattr(spec, "by", ())
    if by:
        out["by"] = [_group_key(k) for k in by]
    where = getattr(spec, "where", None)
    if where is not None:
        out["where"] = thaw_json(where)
    return out
