"""Workflow drafts: workflows and ``workflow_overlay`` documents as read, and the overlays
applied to them.

Workflow drafts: workflows and workflow overlays as read from valid documents.

As with entity drafts, a workflow draft is mutable so that overlays can add to it, and
each option of the workflow, of each state and of each transition remembers where it was
last set: a problem of the merged workflow points at the document and key that caused it.

Apply ``workflow_overlay`` documents to the workflow drafts of a bundle graph.

The rules are those of entity overlays (see ``_entities`` and ``_pipeline``): overlays apply in bundle
order and see only their own bundle and its ancestors; adding a state or transition that
exists is an error; when several overlays change the same property, one in a bundle that
extends the other's wins, and any other disagreement is an ``overlay_clash``.

A state added here must be a choice of the workflow's field: an ``entity_overlay`` adds
it there (``change_fields`` → ``add_choices``); the checks of the merged workflow say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, Placed, Setting, overlay_targets, resolve_settings, sees
from engine.metadata._problems import child, did_you_mean, problem


@dataclass
class PartDraft(Placed):
    """A state or a transition: its options as written, where each was set, who added it."""


@dataclass
class WorkflowDraft(Placed):
    """One workflow: ``entity``, ``field`` and ``label`` in ``spec``; states; transitions."""

    states: dict[str, PartDraft]
    transitions: dict[str, PartDraft]


_WORKFLOW_OPTIONS = ("entity", "field", "label")


def part_draft(name: str, spec: Mapping[str, Any], where: SourceRef, bundle: str) -> PartDraft:
    """The draft of a state or transition written at ``where`` (``/states/x``...)."""
    return PartDraft(
        name=name,
        spec=dict(spec),
        where={key: child(where, key) for key in spec},
        source=where,
        bundle=bundle,
    )


def workflow_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> WorkflowDraft:
    """The draft of the workflow of a valid ``workflow`` document."""
    options = {key: document[key] for key in _WORKFLOW_OPTIONS if key in document}
    return WorkflowDraft(
        name=str(document["name"]),
        spec=options,
        where={"name": child(where, "name"), **{key: child(where, key) for key in options}},
        states={
            state: part_draft(state, spec, child(where, "states", state), bundle)
            for state, spec in document["states"].items()
        },
        transitions={
            transition: part_draft(transition, spec, child(where, "transitions", transition), bundle)
            for transition, spec in document["transitions"].items()
        },
        source=where,
        bundle=bundle,
    )


#: (key that adds, key that changes, what they hold, code of an addition that exists,
#: code of a change to something missing)
_SECTIONS = (
    ("add_states", "change_states", "state", "state_exists", "unknown_state"),
    (
        "add_transitions",
        "change_transitions",
        "transition",
        "transition_exists",
        "unknown_transition",
    ),
)


def apply_workflow_overlays(
    workflows: dict[str, WorkflowDraft],
    overlays: Iterable[OverlayDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_workflows: Iterable[str] = (),
) -> list[Problem]:
    """Apply ``overlays`` (in bundle order) to ``workflows`` in place; return the problems."""
    problems: list[Problem] = []
    applicable: list[tuple[OverlayDraft, WorkflowDraft]] = []
    targets = overlay_targets("workflow", overlays, workflows, ancestors, problems, broken=broken_workflows)
    for overlay, workflow in targets:
        applicable.append((overlay, workflow))
        problems.extend(_add(overlay, workflow))
    settings: dict[tuple[str, str, str, str], list[Setting]] = {}
    for overlay, workflow in applicable:
        for _, change_key, what, _, missing_code in _SECTIONS:
            parts = _parts(workflow, what)
            for name, change in overlay.document.get(change_key, {}).items():
                where = child(overlay.source, change_key, name)
                part = parts.get(name)
                if part is None or not sees(overlay.bundle, part.bundle, ancestors):
                    problems.append(_unknown_part(name, what, missing_code, where, workflow))
                    continue
                for prop, value in change.items():
                    setting = Setting(value, overlay.bundle, child(where, prop))
                    settings.setdefault((workflow.name, what, name, prop), []).append(setting)
    for (workflow_name, what, name, prop), group in settings.items():
        target = _parts(workflows[workflow_name], what)[name]
        winner, clashes = resolve_settings(group, ancestors)
        problems.extend(clashes)
        target.spec[prop] = winner.value
        target.where[prop] = winner.where
    return problems


def _parts(workflow: WorkflowDraft, what: str) -> dict[str, PartDraft]:
    return workflow.states if what == "state" else workflow.transitions


def _add(overlay: OverlayDraft, workflow: WorkflowDraft) -> list[Problem]:
    problems: list[Problem] = []
    for add_key, change_key, what, exists_code, _ in _SECTIONS:
        parts = _parts(workflow, what)
        for name, spec in overlay.document.get(add_key, {}).items():
            where = child(overlay.source, add_key, name)
            existing = parts.get(name)
            if existing is not None:
                message = (
                    f"the workflow {workflow.name!r} already has a {what} {name!r} (defined in "
                    f"{existing.source.file} at {existing.source.pointer}); choose another "
                    f"name, or use {change_key} to change the existing one."
                )
                problems.append(problem(exists_code, message, where))
                continue
            parts[name] = part_draft(name, spec, where, overlay.bundle)
    return problems


def _unknown_part(name: str, what: str, code: str, where: SourceRef, workflow: WorkflowDraft) -> Problem:
    parts = _parts(workflow, what)
    part = parts.get(name)
    if part is not None:
        hint = f" It is added by bundle {part.bundle!r}, which this bundle does not extend."
    else:
        hint = did_you_mean(name, list(parts)) + f" To add a new {what}, use add_{what}s."
    message = f"the workflow {workflow.name!r} has no {what} {name!r} to change.{hint}"
    return problem(code, message, where)
