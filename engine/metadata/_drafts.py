"""Drafts: entities and overlays as read from valid documents, before they are frozen.

Drafts are mutable on purpose: overlays edit them in place, and every option remembers
where it was last set (``where``) so that a check failing on the final entity points at the
document and key that caused it, be it the base entity or an overlay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child


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


def entity_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> EntityDraft:
    """The draft of the entity of a valid ``entity`` document."""
    name = str(document["name"])
    options = {key: document[key] for key in _ENTITY_OPTIONS if key in document}
    return EntityDraft(
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
