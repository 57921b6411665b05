"""The records that point at a record: for every reference field of any entity whose target
is the record's entity, the first few records referencing it, as the signed-in user reads
them, with a link to the whole list filtered on that reference.

One query per referencing field (never one per row), each through the record service with
the user, so the scope of their roles applies. An entity the user may not read, or a
reference field hidden from them, is left out entirely: not even its name is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import CrmError
from engine.metadata import EntityDef, FieldDef
from engine.runtime import CrmEngine
from engine.users import User

from ._filters import filter_index
from ._i18n import current_language
from ._permitted import access_of

#: Records each group shows on the record page (the rest are behind "show all").
RELATED_ROWS = 10


@dataclass(frozen=True)
class RelatedRow:
    """One referencing record: its id, display text and state labels."""

    id: int
    text: str
    link: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class RelatedGroup:
    """The records of ``entity`` whose ``field`` points at the record."""

    entity: str
    field: str
    title: str
    rows: tuple[RelatedRow, ...]
    #: whether there are more than the rows shown
    more: bool
    all_link: str

    @property
    def count(self) -> str:
        return f"{len(self.rows)}+" if self.more else str(len(self.rows))


#: ``(endpoint, **arguments) → url`` (the view's ``get_url``).
UrlFor = Callable[..., str]


def referencing_fields(engine: CrmEngine, entity: str) -> list[tuple[EntityDef, FieldDef]]:
    """Every (entity, reference field) whose target is ``entity``, in label order."""
    definitions = engine.model.definitions
    found = [(other, f) for other in definitions.entities.values() for f in other.references() if f.target == entity]
    return sorted(found, key=lambda pair: (pair[0].label.en.lower(), pair[0].name, pair[1].name))


def related_groups(
    engine: CrmEngine, definition: EntityDef, record_id: int, user: User, url_for: UrlFor
) -> list[RelatedGroup]:
    """The groups of records that reference record ``record_id`` of ``definition`` (empty
    groups left out)."""
    language = current_language()
    pairs = referencing_fields(engine, definition.name)
    per_entity: dict[str, int] = {}
    for other, _f in pairs:
        per_entity[other.name] = per_entity.get(other.name, 0) + 1
    groups: list[RelatedGroup] = []
    for other, f in pairs:
        access = access_of(engine, other.name)
        if not access.allows("read") or f.name in access.hidden:
            continue
        try:
            page = engine.records.list(
                other.name, where={f.name: record_id}, sort="-id", limit=RELATED_ROWS + 1, with_total=False, actor=user
            )
        except CrmError:  # the user may not read it after all: nothing to show
            continue
        if not page.items:
            continue
        endpoint = f"records_{other.name}"
        rows = tuple(
            RelatedRow(
                id=r["id"],
                text=_display(other, r, language),
                link=url_for(f"{endpoint}.details_view", id=r["id"]),
                states=_state_labels(engine, other, r, language),
            )
            for r in page.items[:RELATED_ROWS]
        )
        title = other.label.get(language)
        if per_entity[other.name] > 1:
            title = f"{title} · {f.label.get(language)}"
        index = filter_index(other, f.name, "eq")
        arguments: dict[str, Any] = {} if index is None else {f"flt0_{index}": record_id}
        groups.append(
            RelatedGroup(
                entity=other.name,
                field=f.name,
                title=title,
                rows=rows,
                more=len(page.items) > RELATED_ROWS,
                all_link=url_for(f"{endpoint}.index_view", **arguments),
            )
        )
    return groups


def _display(definition: EntityDef, record: Mapping[str, Any], language: str) -> str:
    """The display field (when the user may see it), else "Label #id"."""
    value = record.get(definition.display) if definition.display else None
    if value not in (None, ""):
        return str(value)
    return f"{definition.label.get(language)} #{record.get('id')}"


def _state_labels(
    engine: CrmEngine, definition: EntityDef, record: Mapping[str, Any], language: str
) -> tuple[str, ...]:
    out = []
    for w in engine.model.definitions.workflows_for(definition.name):
        state = w.states.get(str(record.get(w.field)))
        if state is not None:  # a hidden workflow field is not in the record
            out.append(state.label.get(language))
    return tuple(out)
