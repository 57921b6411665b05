"""A saved view as every edge sees it, wherever it comes from (a view document or the
``crm_views`` table), and a view applied for one user at one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from engine.metadata import Label, ViewDef, thaw_json
from engine.storage import to_jsonable

Source = Literal["definitions", "stored"]


@dataclass(frozen=True)
class SavedView:
    """A view: ``id`` is a stored view's number, or a view document's name."""

    id: int | str
    entity: str
    name: str
    label: Label
    where: Any = None
    sort: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    group_by: str | None = None
    shared: bool = True
    #: who made a stored view (none for a view document)
    owner: str | None = None
    source: Source = "definitions"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of_document(cls, view: ViewDef) -> SavedView:
        return cls(
            id=view.name,
            entity=view.entity,
            name=view.name,
            label=view.label,
            where=thaw_json(view.where),
            sort=view.sort,
            columns=view.columns,
            group_by=view.group_by,
        )

    @property
    def key(self) -> str:
        """The id as a view is named in addresses (``?view=12``, ``?view=quiet_deals``)."""
        return str(self.id)

    def to_json(self) -> dict[str, Any]:
        """The view as the API answers it."""
        out: dict[str, Any] = to_jsonable(
            {
                "id": self.id,
                "entity": self.entity,
                "name": self.name,
                "label": {"en": self.label.en, "zh": self.label.zh or self.label.en},
                "where": self.where,
                "sort": list(self.sort),
                "columns": list(self.columns),
                "group_by": self.group_by,
                "shared": self.shared,
                "owner": self.owner,
                "source": self.source,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            }
        )
        return out


@dataclass(frozen=True)
class AppliedView:
    """A view as applied: its filter with relative values worked out, its sort and columns
    (without the fields hidden from the user)."""

    view: SavedView
    where: Any
    sort: tuple[str, ...]
    columns: tuple[str, ...]
