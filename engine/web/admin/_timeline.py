"""The timeline on a record's page (``id="timeline"``): what happened to the record, newest
first, grouped by day, filtered by kind, a page at a time; and the form that adds a note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import groupby
from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.metadata import EntityDef
from engine.records import display_text
from engine.runtime import CrmEngine
from engine.timeline import KINDS, MAX_NOTE, Entry, timeline
from engine.users import User

from ._expose import expose
from ._i18n import Text, current_language, say

#: Entries a page of the timeline shows.
PAGE = 30
#: What each kind is called in the filter.
KIND_LABELS: dict[str, Text] = {
    "created": Text("Created", "创建"),
    "changed": Text("Changes", "修改"),
    "transition": Text("Stages", "流转"),
    "score": Text("Scores", "评分"),
    "related": Text("Linked records", "相关记录"),
    "note": Text("Notes", "备注"),
    "automation": Text("Automations", "自动化"),
    "notification": Text("Notifications", "通知"),
}


def timeline_context(engine: CrmEngine, definition: EntityDef, record_id: int, user: User) -> dict[str, Any]:
    """What the record page's timeline shows, from the query string (``timeline``: a kind;
    ``before``: the time the previous page ended)."""
    kind = request.args.get("timeline", "")
    before = _parsed(request.args.get("before", ""))
    kinds = [kind] if kind in KINDS else None
    entries = timeline(engine, definition.name, record_id, actor=user, kinds=kinds, before=before, limit=PAGE)
    days = [(day, list(items)) for day, items in groupby(entries, key=lambda e: e.at.date())]
    return {
        "timeline_days": days,
        "timeline_kind": kind if kind in KINDS else "",
        "timeline_kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        "timeline_next": entries[-1].at.isoformat() if len(entries) == PAGE else None,
        "timeline_related": lambda entry: _related_text(engine, entry),
        "max_note": MAX_NOTE,
    }


def _related_text(engine: CrmEngine, entry: Entry) -> tuple[str, str, str]:
    """(entity label, display text, link) of a related entry's record."""
    other = engine.model.entity(entry.data["entity"])
    record = entry.data["record"]
    link = url_for(f"records_{other.name}.details_view", id=record["id"])
    language = current_language()
    return other.label.get(language), display_text(other, record, language), link


def _parsed(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


class NoteActions:
    """The record page's "add a note" form (mixed into the entity views)."""

    engine: CrmEngine
    definition: EntityDef
    _posted_record: Callable[[], tuple[int | None, Response | None]]
    _record_url: Callable[[Any], str]
    get_url: Callable[..., str]

    @expose("/note/", methods=("POST",))
    def note_view(self) -> Response:
        from ._auth import acting_user
        from ._record_page import flash_error

        record_id, stop = self._posted_record()
        if stop is not None or record_id is None:
            return stop or redirect(self.get_url(".index_view"))
        try:
            body = str(request.form.get("body", ""))
            self.engine.notes.add(self.definition.name, record_id, body, actor=acting_user())
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("note_added"), "success")
        return redirect(self._record_url(record_id) + "#timeline")
