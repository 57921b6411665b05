"""Workflow drafts: workflows and workflow overlays as read from valid documents.

As with entity drafts, a workflow draft is mutable so that overlays can add to it, and
each option of the workflow, of each state and of each transition remembers where it was
last set: a problem of the merged workflow points at the document and key that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child


@dataclass
class PartDraft:
    """A state or a transition: its options as written, where each was set, who added it."""

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    source: SourceRef
    bundle: str

    def at(self, option: str) -> SourceRef:
        """Where ``option`` was set (the state or transition itself when it was not)."""
        return self.where.get(option, self.source)


@dataclass
class WorkflowDraft:
    """One workflow: ``entity``, ``field`` and ``label`` in ``spec``; states; transitions."""

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    states: dict[str, PartDraft]
    transitions: dict[str, PartDraft]
    source: SourceRef
    bundle: str

    def at(self, option: str) -> SourceRef:
        return self.where.get(option, self.source)


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
