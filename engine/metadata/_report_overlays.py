"""Apply ``report_overlay`` documents to the report drafts of a bundle graph.

A report overlay changes an inherited report by name, without copying it: its ``label``,
``where`` and ``by``; the states of a funnel, time-in-state or rate report (``states``,
``base``, ``passed`` replace the list; ``add_states`` inserts states, each at the end or
after a state it names); a forecast's ``probabilities`` (entries added or changed); an
aggregate's measures (``add_measures``, ``replace_measures`` and ``remove_measures``, by
name). The rules are those of the other overlays (see ``_pipeline``): overlays apply in
bundle order and see only their own bundle and its ancestors. The merged report is then
checked like any report, and a problem of a value an overlay wrote points at the overlay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, overlay_targets
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._report_checks import ReportDraft

#: Keys an overlay replaces outright, and the report types that have each.
_REPLACED: Mapping[str, tuple[str, ...] | None] = {
    "label": None,
    "where": None,
    "by": ("funnel", "forecast", "time_in_state", "rate", "aggregate"),
    "states": ("funnel", "time_in_state"),
    "base": ("rate",),
    "passed": ("rate",),
}
#: Keys that change part of a value, and the report types that have it.
_PARTIAL: Mapping[str, tuple[str, ...]] = {
    "add_states": ("funnel", "time_in_state"),
    "probabilities": ("forecast",),
    "add_measures": ("aggregate",),
    "replace_measures": ("aggregate",),
    "remove_measures": ("aggregate",),
}


def apply_report_overlays(
    reports: dict[str, ReportDraft],
    overlays: Iterable[OverlayDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_reports: Iterable[str] = (),
) -> list[Problem]:
    """Apply ``overlays`` (in bundle order) to ``reports`` in place; return the problems."""
    problems: list[Problem] = []
    for overlay, report in overlay_targets("report", overlays, reports, ancestors, problems, broken=broken_reports):
        if _fits(overlay, report, problems):
            _apply(overlay, report, problems)
    return problems


def _fits(overlay: OverlayDraft, report: ReportDraft, problems: list[Problem]) -> bool:
    kind = str(report.document["type"])
    if not any(key in overlay.document for key in [*_REPLACED, *_PARTIAL]):
        message = f"this overlay changes nothing; give at least one of {quoted_list([*_REPLACED, *_PARTIAL])}."
        problems.append(problem("required", message, overlay.source))
        return False
    fits = True
    for key, types in [*_REPLACED.items(), *_PARTIAL.items()]:
        if key in overlay.document and types is not None and kind not in types:
            message = (
                f"the report {report.name!r} is a {kind} report, which has no {key.removeprefix('add_')!r} "
                f"to change; {key} applies to {quoted_list(types)} reports."
            )
            problems.append(problem("invalid", message, child(overlay.source, key)))
            fits = False
    return fits


def _apply(overlay: OverlayDraft, report: ReportDraft, problems: list[Problem]) -> None:
    document: dict[str, Any] = report.document  # type: ignore[assignment]  # the draft's own copy
    written = overlay.document
    for key in _REPLACED:
        if key in written:
            document[key] = _copy(written[key])
            _overlaid(report, key, child(overlay.source, key))
    if "add_states" in written:
        _add_states(document, written["add_states"], child(overlay.source, "add_states"), report, problems)
    if "probabilities" in written:
        document["probabilities"] = {**document["probabilities"], **written["probabilities"]}
        _overlaid(report, "probabilities", child(overlay.source, "probabilities"))
    if any(key in written for key in ("add_measures", "replace_measures", "remove_measures")):
        _measures(document, overlay, report, problems)


def _add_states(
    document: dict[str, Any], added: list[Any], where: SourceRef, report: ReportDraft, problems: list[Problem]
) -> None:
    states = [str(s) for s in document.get("states", ())]
    # where each state is written: the report (or an earlier overlay), or this overlay
    places = [report.at("states", index) for index in range(len(states))]
    for index, item in enumerate(added):
        state, after = (item, None) if isinstance(item, str) else (str(item["state"]), item.get("after"))
        at = child(where, index)
        if state in states:
            message = f"the report {report.name!r} already lists the state {state!r}; remove it from add_states."
            problems.append(problem("state_exists", message, at))
            continue
        if after is None:
            states.append(state)
            places.append(at)
        elif after in states:
            places.insert(states.index(after) + 1, at)
            states.insert(states.index(after) + 1, state)
        else:
            hint = did_you_mean(str(after), states)
            message = f"the report {report.name!r} lists no state {after!r} to add {state!r} after.{hint}"
            problems.append(problem("unknown_state", message, child(at, "after")))
    document["states"] = states
    _overlaid(report, "states", where)
    report.overlaid.update({("states", index): place for index, place in enumerate(places)})


def _overlaid(report: ReportDraft, key: str, where: SourceRef) -> None:
    """Record that the overlay at ``where`` wrote ``key`` (forgetting where its items were)."""
    for written in [k for k in report.overlaid if k[0] == key]:
        del report.overlaid[written]
    report.overlaid[(key,)] = where


def _measures(document: dict[str, Any], overlay: OverlayDraft, report: ReportDraft, problems: list[Problem]) -> None:
    measures: dict[str, Any] = {str(m["name"]): m for m in document["measures"]}
    written = overlay.document
    for index, name in enumerate(written.get("remove_measures", ())):
        if measures.pop(str(name), None) is None:
            problems.append(
                _unknown_measure(str(name), report, child(overlay.source, "remove_measures", index), measures)
            )
    for index, measure in enumerate(written.get("replace_measures", ())):
        name = str(measure["name"])
        if name not in measures:
            where = child(overlay.source, "replace_measures", index, "name")
            problems.append(_unknown_measure(name, report, where, measures))
            continue
        measures[name] = _copy(measure)
    for index, measure in enumerate(written.get("add_measures", ())):
        name = str(measure["name"])
        if name in measures:
            message = (
                f"the report {report.name!r} already has a measure {name!r}; choose another name, or use "
                "replace_measures to change it."
            )
            problems.append(problem("measure_exists", message, child(overlay.source, "add_measures", index, "name")))
            continue
        measures[name] = _copy(measure)
    document["measures"] = list(measures.values())


def _unknown_measure(name: str, report: ReportDraft, where: SourceRef, measures: Mapping[str, Any]) -> Problem:
    hint = did_you_mean(name, list(measures))
    message = f"the report {report.name!r} has no measure {name!r}.{hint} Its measures: {quoted_list(measures)}."
    return problem("unknown_measure", message, where)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
