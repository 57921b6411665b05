"""The ``report`` document kind: reports are checked and frozen once entities, workflows and
scorings are, since they name all three; written back in the stored form; and described
by the :data:`REPORT` kind.

Reports in the canonical stored form: each one a report document with only non-default
keys, in a stable order, that reads back into an equal report.

Freeze report drafts into :class:`ReportDef` objects and check them against the
entities, workflows and scorings their bundle sees: the workflow and its states, every
field named (with a type that fits its use), the scorings ranked or distributed, the
parameters filters name, and the names of the result's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.metadata._entities import Lookup
from engine.metadata._fields import label_from_json, label_or_derived
from engine.metadata._model import EntityDef, SourceRef
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, OverlayKind, Resolution, build_each, sees
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._report_checks import (
    NUMBER_FIELD_TYPES,
    ORDERED_FIELD_TYPES,
    ReportDraft,
    ReportScope,
    build_aggregate,
    build_params,
    report_draft,
)
from engine.metadata._report_model import (
    WORKFLOW_REPORT_TYPES,
    AggregateSpec,
    DistributionSpec,
    ForecastSpec,
    FrozenJson,
    FunnelSpec,
    GroupKey,
    LearnedSince,
    MeasureDef,
    ParamDef,
    RankingSpec,
    RateSpec,
    ReportDef,
    ReportSpec,
    TimeInStateSpec,
    ValueSource,
    thaw_json,
)
from engine.metadata._report_overlays import apply_report_overlays
from engine.metadata._scoring_drafts import ScoringDraft
from engine.metadata._workflow_drafts import WorkflowDraft
from engine.metadata._workflow_model import WorkflowDef


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


def _group_key(key: GroupKey) -> str | dict[str, Any]:
    if key.bands:
        return {"field": key.field, "bands": [int(b) if b == b.to_integral_value() else float(b) for b in key.bands]}
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
        out["probabilities"] = "learned" if spec.learned else dict(spec.probabilities)
        if spec.learned and spec.min_sample != 10:
            out["min_sample"] = spec.min_sample
        if spec.learned_since is not None:
            since = spec.learned_since
            out["learned_since"] = {"days": since.days} if since.days is not None else {"param": since.param}
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


#: The columns each type puts after its group columns (``by``), in order.
TYPE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "funnel": ("state", "entered", "reached", "conversion", "overall"),
    "forecast": ("records", "amount", "weighted"),
    "time_in_state": ("state", "entries", "current", "average", "median", "longest"),
    "rate": ("records", "passed", "rate"),
}


@dataclass(frozen=True)
class ReportLookup:
    """What reports are checked against: the entities (``entities``, with their bundles),
    the workflows and the scorings of the load, with their drafts (which know their
    bundle) and the names of those whose documents are broken (not reported again)."""

    entities: Lookup
    workflow_drafts: Mapping[str, WorkflowDraft]
    workflows: Mapping[str, WorkflowDef]
    scoring_drafts: Mapping[str, ScoringDraft]
    broken_workflows: frozenset[str] = frozenset()
    broken_scorings: frozenset[str] = frozenset()

    def workflow(self, name: str, draft: ReportDraft, problems: list[Problem]) -> WorkflowDef | None:
        """The workflow ``name`` if the report's bundle sees it; ``unknown_workflow`` if not."""
        found = self.workflow_drafts.get(name)
        if found is not None and self.entities.sees(draft.bundle, found.bundle):
            return self.workflows.get(name)
        if found is None and name in self.broken_workflows:
            return None
        if found is not None:
            hint = (
                f" It is defined in bundle {found.bundle!r}, which bundle {draft.bundle!r} does "
                "not extend; add it to extends."
            )
        else:
            visible = [n for n, w in self.workflow_drafts.items() if self.entities.sees(draft.bundle, w.bundle)]
            hint = did_you_mean(name, visible) + " Define the workflow, or correct the name."
        message = f"{name!r} is not a workflow this bundle can see.{hint}"
        problems.append(problem("unknown_workflow", message, draft.at("workflow")))
        return None

    def scoring(self, name: str, entity: str, draft: ReportDraft, where: SourceRef, problems: list[Problem]) -> None:
        """``unknown_scoring`` unless ``name`` is a visible scoring of ``entity``."""
        found = self.scoring_drafts.get(name)
        if found is None and name in self.broken_scorings:
            return
        if found is not None and sees(draft.bundle, found.bundle, self.entities.ancestors):
            scored = str(found.spec["entity"])
            if scored == entity:
                return
            message = (
                f"the scoring {name!r} scores {scored!r} records, and this report's records are "
                f"{entity!r}; name a scoring of {entity!r}."
            )
            problems.append(problem("unknown_scoring", message, where))
            return
        if found is not None:
            hint = (
                f" It is defined in bundle {found.bundle!r}, which bundle {draft.bundle!r} does "
                "not extend; add it to extends."
            )
        else:
            visible = [
                n for n, s in self.scoring_drafts.items()
                if sees(draft.bundle, s.bundle, self.entities.ancestors) and s.spec["entity"] == entity
            ]  # fmt: skip
            hint = did_you_mean(name, visible) + " Define the scoring, or correct the name."
        problems.append(problem("unknown_scoring", f"{name!r} is not a scoring this bundle can see.{hint}", where))


def build_reports(
    drafts: Mapping[str, ReportDraft],
    entities: Lookup,
    *,
    workflow_drafts: Mapping[str, WorkflowDraft],
    workflows: Mapping[str, WorkflowDef],
    scoring_drafts: Mapping[str, ScoringDraft],
    broken_workflows: Iterable[str] = (),
    broken_scorings: Iterable[str] = (),
) -> tuple[dict[str, ReportDef], list[Problem]]:
    """Freeze every report draft and check it (see the module's docstring)."""
    lookup = ReportLookup(
        entities=entities,
        workflow_drafts=workflow_drafts,
        workflows=workflows,
        scoring_drafts=scoring_drafts,
        broken_workflows=frozenset(broken_workflows),
        broken_scorings=frozenset(broken_scorings),
    )
    return build_each(drafts, lambda draft: build_report(draft, lookup))


def build_report(draft: ReportDraft, lookup: ReportLookup) -> tuple[ReportDef, list[Problem]]:
    """One report, frozen, and its problems."""
    document = draft.document
    kind = document["type"]
    params, problems = build_params(document.get("params"), draft.at("params"))
    scope = ReportScope(report=draft.name, params=params, entities=lookup.entities.entities)
    workflow: WorkflowDef | None = None
    entity: EntityDef | None = None
    if kind in WORKFLOW_REPORT_TYPES:
        workflow = lookup.workflow(str(document["workflow"]), draft, problems)
        entity_name = workflow.entity if workflow is not None else ""
        entity = lookup.entities.entities.get(entity_name) if workflow is not None else None
    else:
        entity_name = str(document["entity"])
        entity = lookup.entities.entity(entity_name, draft.bundle)
        if entity is None:
            problems.extend(lookup.entities.unknown_entity(entity_name, draft.bundle, draft.at("entity")))
    spec = _build_spec(kind, draft, scope, lookup, entity, workflow)
    problems.extend(scope.problems)
    chart = document.get("chart")
    report = ReportDef(
        name=draft.name,
        type=kind,
        label=label_or_derived(document, draft.name),
        entity=entity_name,
        spec=spec,
        workflow=str(document["workflow"]) if kind in WORKFLOW_REPORT_TYPES else None,
        description=label_from_json(document.get("description")),
        chart=None if chart is None else chart["type"],
        params=params,
        source=draft.source,
    )
    return report, problems


def _forecast(
    draft: ReportDraft, scope: ReportScope, workflow: WorkflowDef | None, by: tuple[GroupKey, ...], where: FrozenJson
) -> ForecastSpec:
    document = draft.document
    amount = str(document["amount"])
    if document["probabilities"] == "learned":
        since = document.get("learned_since")
        learned_since = None
        if since is not None:
            learned_since = LearnedSince(days=since.get("days"), param=since.get("param"))
            if learned_since.param is not None:
                scope.param(learned_since.param, draft.at("learned_since", "param"))
        min_sample = int(document.get("min_sample", 10))
        return ForecastSpec(amount, {}, by, where, learned=True, min_sample=min_sample, learned_since=learned_since)
    for key in ("min_sample", "learned_since"):
        if key in document:
            message = f'"{key}" applies to learned probabilities only: write "probabilities": "learned" or remove it.'
            scope.add("unknown_key", message, draft.at(key))
    probabilities = dict(document["probabilities"])
    if workflow is not None:
        for state in probabilities:
            _state(state, workflow, draft.at("probabilities", state), scope)
    return ForecastSpec(amount=amount, probabilities=probabilities, by=by, where=where)


def _build_spec(
    kind: str,
    draft: ReportDraft,
    scope: ReportScope,
    lookup: ReportLookup,
    entity: EntityDef | None,
    workflow: WorkflowDef | None,
) -> ReportSpec:
    document = draft.document
    by = scope.group_keys(entity, document.get("by"), draft.at("by")) if entity is not None else ()
    where = scope.where(entity, document.get("where"), draft.at("where"))
    if kind in WORKFLOW_REPORT_TYPES and entity is not None:
        columns = [(c, draft.at("by", i)) for c, i in scope.group_columns(entity, by)]
        scope.unique_columns([*columns, *((c, draft.source) for c in TYPE_COLUMNS[kind])])
    if kind == "funnel":
        return FunnelSpec(states=_states(draft, "states", workflow, scope), by=by, where=where)
    if kind == "forecast":
        if entity is not None:
            scope.field(entity, str(document["amount"]), draft.at("amount"), types=NUMBER_FIELD_TYPES, use="amount")
        if entity is not None:
            scope.field(entity, str(document["amount"]), draft.at("amount"), types=NUMBER_FIELD_TYPES, use="amount")
        return _forecast(draft, scope, workflow, by, where)
    if kind == "time_in_state":
        states = _states(draft, "states", workflow, scope) if "states" in document else ()
        return TimeInStateSpec(states=states, unit=document.get("unit", "day"), by=by, where=where)
    if kind == "rate":
        base = _states(draft, "base", workflow, scope)
        return RateSpec(base=base, passed=_states(draft, "passed", workflow, scope), by=by, where=where)
    if kind == "aggregate":
        return build_aggregate(draft, scope, lookup.entities, entity, by, where)
    if kind == "ranking":
        return _ranking(draft, scope, lookup, entity, where)
    return _distribution(draft, scope, lookup, entity, where)


def _states(draft: ReportDraft, key: str, workflow: WorkflowDef | None, scope: ReportScope) -> tuple[str, ...]:
    states = tuple(str(s) for s in draft.document[key])
    if workflow is not None:
        for index, state in enumerate(states):
            _state(state, workflow, draft.at(key, index), scope)
    return states


def _state(state: str, workflow: WorkflowDef, where: SourceRef, scope: ReportScope) -> None:
    if state in workflow.states:
        return
    hint = did_you_mean(state, list(workflow.states))
    message = (
        f"{state!r} is not a state of the workflow {workflow.name!r}.{hint} Its states: {quoted_list(workflow.states)}."
    )
    scope.add("unknown_state", message, where)


def _value_source(
    written: Mapping[str, Any],
    where: SourceRef,
    draft: ReportDraft,
    scope: ReportScope,
    lookup: ReportLookup,
    entity: EntityDef | None,
    *,
    types: tuple[str, ...],
    use: str,
) -> ValueSource:
    if "scoring" in written:
        name = str(written["scoring"])
        if entity is not None:
            lookup.scoring(name, entity.name, draft, child(where, "scoring"), scope.problems)
        return ValueSource(scoring=name)
    name = str(written["field"])
    if entity is not None:
        scope.field(entity, name, child(where, "field"), types=types, use=use)
    return ValueSource(field=name)


def _ranking(
    draft: ReportDraft, scope: ReportScope, lookup: ReportLookup, entity: EntityDef | None, where: Any
) -> RankingSpec:
    document = draft.document
    rank_by = _value_source(
        document["rank_by"], draft.at("rank_by"), draft, scope, lookup, entity,
        types=ORDERED_FIELD_TYPES, use="ranking",
    )  # fmt: skip
    columns = tuple(str(c) for c in document.get("columns", ()))
    if entity is not None:
        for index, name in enumerate(columns):
            scope.field(entity, name, draft.at("columns", index))
        keys = [(c, draft.at("columns", i)) for c, i in _shown(scope, entity, columns)]
        fixed = ["rank", "id", *(["value", "grade"] if rank_by.scoring else ["value"])]
        scope.unique_columns([*((c, draft.source) for c in fixed), *keys])
    return RankingSpec(
        rank_by=rank_by,
        columns=columns,
        order=document.get("order", "desc"),
        limit=int(document.get("limit", 10)),
        where=where,
    )


def _shown(scope: ReportScope, entity: EntityDef, columns: Iterable[str]) -> list[tuple[str, int]]:
    return scope.group_columns(entity, [GroupKey(c) for c in columns])


def _distribution(
    draft: ReportDraft, scope: ReportScope, lookup: ReportLookup, entity: EntityDef | None, where: Any
) -> DistributionSpec:
    document = draft.document
    if "value" in document and "grades" in document:
        message = 'a distribution counts either bins of a "value" or "grades"; remove one of them.'
        scope.add("invalid", message, draft.at("grades"))
    if "value" not in document and "grades" not in document:
        message = (
            'missing required key "value" (with "bins") or "grades": what the distribution counts, e.g. '
            '"value": {"field": "annual_revenue"}, "bins": [0, 1000000], or "grades": {"scoring": "customer_tier"}.'
        )
        scope.add("required", message, draft.source)
    if "grades" in document:
        grades = document["grades"]
        if entity is not None:
            lookup.scoring(str(grades["scoring"]), entity.name, draft, draft.at("grades", "scoring"), scope.problems)
        if "bins" in document and "value" not in document:
            scope.add("unknown_key", 'bins divide a "value"; grades need none. Remove "bins".', draft.at("bins"))
        return DistributionSpec(
            grades_of=str(grades["scoring"]), grade_order=tuple(grades.get("order", ())), where=where
        )
    value = None
    if "value" in document:
        value = _value_source(
            document["value"], draft.at("value"), draft, scope, lookup, entity,
            types=NUMBER_FIELD_TYPES, use="a distribution of values",
        )  # fmt: skip
        if "bins" not in document:
            message = 'missing required key "bins": the lower bounds of the bins, ascending, e.g. [0, 60, 80].'
            scope.add("required", message, draft.source)
    bins = tuple(document.get("bins", ()))
    for index in range(1, len(bins)):
        if bins[index] <= bins[index - 1]:
            message = f"bins must ascend: {bins[index]!r} is not above {bins[index - 1]!r}."
            scope.add("invalid", message, draft.at("bins", index))
    return DistributionSpec(value=value, bins=bins, where=where)


def _build(resolution: Resolution) -> tuple[Mapping[str, ReportDef], list[Problem]]:
    return build_reports(
        resolution.drafts("report"),
        Lookup.of(resolution),
        workflow_drafts=resolution.drafts("workflow"),
        workflows=resolution.definitions("workflow"),
        scoring_drafts=resolution.drafts("scoring"),
        broken_workflows=resolution.broken("workflow"),
        broken_scorings=resolution.broken("scoring"),
    )


REPORT = DocumentKind(
    name="report",
    plural="reports",
    summary="figures computed over an entity's records, its workflow history or its scores",
    draft=report_draft,
    build=_build,
    to_json=lambda report, _definitions: report_to_json(report),
    duplicate_hint=", or change the existing one with a report_overlay document",
    overlay=OverlayKind(
        "changes to an inherited report: states, probabilities, by, measures, where, label", apply_report_overlays
    ),
    after=("entity", "workflow", "scoring"),
)
