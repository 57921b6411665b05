"""Drafts: entities and overlays as read from valid documents, before they are frozen.

Drafts are mutable on purpose: overlays edit them in place, and every option remembers
where it was last set (``where``) so that a check failing on the final entity points at the
document and key that caused it, be it the base entity or an overlay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._problems import child, problem

if TYPE_CHECKING:
    from engine.metadata._report_drafts import ReportDraft
    from engine.metadata._role_drafts import RoleDraft, RoleOverlayDraft
    from engine.metadata._scoring_drafts import ScoringDraft, ScoringOverlayDraft
    from engine.metadata._workflow_drafts import WorkflowDraft, WorkflowOverlayDraft


@dataclass
class FieldDraft:
    """One field: its options as written (minus ``choices``) and where each was set."""

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    choices: list[tuple[Any, SourceRef]]
    source: SourceRef
    bundle: str

    @property
    def type(self) -> str:
        return str(self.spec["type"])

    def at(self, option: str) -> SourceRef:
        """Where ``option`` was set (the field itself when it was not)."""
        return self.where.get(option, self.source)


@dataclass
class EntityDraft:
    """One entity: entity-level options, fields, indexes, and where each was set."""

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    fields: dict[str, FieldDraft]
    indexes: list[tuple[tuple[str, ...], SourceRef]]
    unique: list[tuple[tuple[str, ...], SourceRef]]
    source: SourceRef
    bundle: str

    def at(self, option: str) -> SourceRef:
        return self.where.get(option, self.source)


@dataclass(frozen=True)
class OverlayDraft:
    """An ``entity_overlay`` document of ``bundle``, applied after its bases are merged."""

    entity: str
    document: Mapping[str, Any]
    source: SourceRef
    bundle: str


@dataclass
class Collection:
    """What the documents of a bundle graph contribute, filled document by document."""

    entities: dict[str, EntityDraft] = field(default_factory=dict)
    overlays: list[OverlayDraft] = field(default_factory=list)
    #: Entities whose documents are invalid: references to them are not reported again.
    broken_entities: set[str] = field(default_factory=set)
    workflows: dict[str, WorkflowDraft] = field(default_factory=dict)
    workflow_overlays: list[WorkflowOverlayDraft] = field(default_factory=list)
    #: Workflows whose documents are invalid: overlays of them are not reported again.
    broken_workflows: set[str] = field(default_factory=set)
    scorings: dict[str, ScoringDraft] = field(default_factory=dict)
    scoring_overlays: list[ScoringOverlayDraft] = field(default_factory=list)
    #: Scorings whose documents are invalid: overlays and actions naming them are not
    #: reported again.
    broken_scorings: set[str] = field(default_factory=set)
    reports: dict[str, ReportDraft] = field(default_factory=dict)
    roles: dict[str, RoleDraft] = field(default_factory=dict)
    role_overlays: list[RoleOverlayDraft] = field(default_factory=list)
    #: Roles whose documents are invalid: workflows naming them are not reported again.
    broken_roles: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


_ENTITY_OPTIONS = ("label", "description", "display", "renamed_from")


def field_draft(name: str, spec: Mapping[str, Any], where: SourceRef, bundle: str) -> FieldDraft:
    """The draft of a field defined at ``where`` (``/fields/x`` or ``/add_fields/x``)."""
    options = {key: value for key, value in spec.items() if key != "choices"}
    choices = [(c, child(where, "choices", i)) for i, c in enumerate(spec.get("choices", ()))]
    return FieldDraft(
        name=name,
        spec=options,
        where={key: child(where, key) for key in options},
        choices=choices,
        source=where,
        bundle=bundle,
    )


def collect_entity(document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Add the entity of a valid ``entity`` document; a second one of that name is an error."""
    name = str(document["name"])
    first = into.entities.get(name)
    if first is not None:
        message = (
            f"the entity {name!r} is already defined in {first.source.file}; an entity is "
            "defined once. Rename one of them, or change the existing one with an "
            "entity_overlay document."
        )
        into.problems.append(problem("duplicate_entity", message, child(where, "name")))
        return
    options = {key: document[key] for key in _ENTITY_OPTIONS if key in document}
    into.entities[name] = EntityDraft(
        name=name,
        spec=options,
        where={"name": child(where, "name"), **{key: child(where, key) for key in options}},
        fields={
            fname: field_draft(fname, spec, child(where, "fields", fname), bundle)
            for fname, spec in document["fields"].items()
        },
        indexes=[(tuple(n), child(where, "indexes", i)) for i, n in enumerate(document.get("indexes", ()))],
        unique=[(tuple(n), child(where, "unique", i)) for i, n in enumerate(document.get("unique", ()))],
        source=where,
        bundle=bundle,
    )


def collect_overlay(document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Queue a valid ``entity_overlay`` document; overlays apply once everything is read."""
    into.overlays.append(OverlayDraft(str(document["entity"]), document, where, bundle))
