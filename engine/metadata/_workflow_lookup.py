"""What the checks of a workflow look things up in: the entities a bundle can see, and
the fields that workflows drive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.errors import Problem
from engine.metadata._drafts import EntityDraft
from engine.metadata._model import EntityDef, FieldDef, Label, SourceRef
from engine.metadata._problems import did_you_mean, problem


@dataclass(frozen=True)
class Lookup:
    """The resolved entities of a load, with the bundle each comes from.

    :param drafts: the entity drafts (they know their bundle).
    :param entities: the frozen entities, by name.
    :param ancestors: each bundle's ancestors.
    :param broken: entities whose documents are invalid (not reported again).
    :param driven: entity → the fields a workflow drives (actions may not set them).
    """

    drafts: Mapping[str, EntityDraft]
    entities: Mapping[str, EntityDef]
    ancestors: Mapping[str, frozenset[str]]
    broken: frozenset[str] = frozenset()
    driven: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def sees(self, viewer: str, owner: str) -> bool:
        """Whether bundle ``viewer`` sees what bundle ``owner`` defines."""
        return viewer == owner or owner in self.ancestors.get(viewer, frozenset())

    def entity(self, name: str, bundle: str) -> EntityDef | None:
        """The entity ``name`` if bundle ``bundle`` can see it."""
        draft = self.drafts.get(name)
        if draft is None or not self.sees(bundle, draft.bundle):
            return None
        return self.entities.get(name)

    def unknown_entity(self, name: str, bundle: str, where: SourceRef) -> list[Problem]:
        """The ``unknown_entity`` problem of ``name`` (none when its document is broken)."""
        draft = self.drafts.get(name)
        if draft is None and name in self.broken:
            return []
        if draft is not None:
            hint = (
                f" It is defined in bundle {draft.bundle!r}, which bundle {bundle!r} does not "
                "extend; add it to extends."
            )
        else:
            visible = [n for n, d in self.drafts.items() if self.sees(bundle, d.bundle)]
            hint = did_you_mean(name, visible) + " Define the entity, or correct the name."
        message = f"{name!r} is not an entity this bundle can see.{hint}"
        return [problem("unknown_entity", message, where)]

    def driven_fields(self, entity: str) -> frozenset[str]:
        """The fields of ``entity`` that a workflow drives."""
        return self.driven.get(entity, frozenset())


def driven_map(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """entity → driven fields, from ``(entity, field)`` pairs."""
    out: dict[str, set[str]] = {}
    for entity, name in pairs:
        out.setdefault(entity, set()).add(name)
    return {entity: frozenset(names) for entity, names in out.items()}


def state_labels(field: FieldDef | None) -> dict[str, Label]:
    """The label each state of a workflow driving ``field`` has when it names none: the
    label of the choice of the same value (which may have a Chinese one)."""
    return {} if field is None else {choice.value: choice.label for choice in field.choices}
