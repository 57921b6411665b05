"""References in forms and lists: the picker's search over the target entity (ajax, so a
table of a million rows is never loaded into a page) and the display texts of one page's
references in one query per target (``engine.records``' display texts, as the CLI shows them).

All of it reads as the signed-in user: the picker offers the records they may read, and a
referenced record they may not read shows as its id only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_admin.model.ajax import AjaxModelLoader
from flask_admin.model.fields import AjaxSelectField

from engine.errors import CrmError
from engine.metadata import SEARCHABLE_TYPES, EntityDef
from engine.records import display_text, display_texts
from engine.runtime import CrmEngine
from engine.users import User

from ._auth import acting_user
from ._i18n import word

#: Choices one search of the picker shows.
PICKER_PAGE = 20


@dataclass(frozen=True)
class RecordChoice:
    """A record as a picker shows it: its id and its display text."""

    id: int | str
    text: str


def references_of(
    engine: CrmEngine, definition: EntityDef, records: Iterable[Mapping[str, Any]], user: User
) -> dict[tuple[str, int], RecordChoice]:
    """(field, id) → the referenced record, for every reference in ``records`` (as ``user``
    reads them)."""
    rows = list(records)
    out: dict[tuple[str, int], RecordChoice] = {}
    for f in definition.references():
        ids = sorted({r[f.name] for r in rows if r.get(f.name) is not None})
        if not ids or f.target is None:
            continue
        found = display_texts(engine.records, f.target, ids, user)
        for record_id in ids:
            out[(f.name, record_id)] = RecordChoice(record_id, found.get(record_id, f"#{record_id}"))
    return out


class ReferenceLoader(AjaxModelLoader):  # type: ignore[misc]
    """The picker's search over ``target``: its display field containing the words typed,
    or an id."""

    def __init__(self, engine: CrmEngine, name: str, target: str) -> None:
        super().__init__(name, {"minimum_input_length": 0, "placeholder": word("pick_record")})
        self.engine = engine
        self.target = target

    def _definition(self) -> EntityDef:
        """The target as the signed-in user sees it (a hidden display field is no display)."""
        return self.engine.permissions.visible_entity(acting_user(), self.engine.model.entity(self.target))

    def format(self, model: Any) -> tuple[Any, str] | None:
        if model is None:
            return None
        return (model.id, model.text)

    def get_one(self, pk: Any) -> RecordChoice | None:
        text = str(pk).strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > 18:
            return RecordChoice(text, text)  # the service names the problem on save
        try:
            record = self.engine.records.get(self.target, int(text), actor=acting_user())
        except CrmError:
            return RecordChoice(int(text), f"#{text}")
        return RecordChoice(record["id"], display_text(self._definition(), record))

    def get_list(self, query: str, offset: int = 0, limit: int = PICKER_PAGE) -> list[Any]:
        definition = self._definition()
        words = (query or "").strip()[:200]
        where: Any = None
        display = definition.fields.get(definition.display or "")
        if words.isdigit() and len(words) < 19:
            where = {"id": int(words)}
        elif words and display is not None and display.type in SEARCHABLE_TYPES:
            where = {display.name: {"contains": words}}
        sort = definition.display if display is not None and display.type in SEARCHABLE_TYPES else "id"
        try:
            page = self.engine.records.list(
                self.target,
                where=where,
                sort=sort,
                limit=min(max(limit, 1), PICKER_PAGE),
                offset=max(offset or 0, 0),
                with_total=False,
                actor=acting_user(),
            )
        except CrmError:
            return []
        return [RecordChoice(r["id"], display_text(definition, r)) for r in page.items]


class ReferenceField(AjaxSelectField):  # type: ignore[misc]
    """The ajax picker, keeping what was sent (an unknown id is the service's to refuse)."""

    raw_id: str = ""

    def process_formdata(self, valuelist: Any) -> None:
        self.raw_id = str(valuelist[0]).strip() if valuelist else ""
        if self.raw_id == "__None":
            self.raw_id = ""
        super().process_formdata(valuelist)

    def pre_validate(self, form: Any) -> None:
        return None
