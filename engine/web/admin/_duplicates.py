"""Duplicates in the admin: the confirm button of the record forms (a block rule's
candidates shown with links, ``allow_duplicate`` sent when the user saves anyway), the
warn rules' flash, and the page listing groups of likely duplicates of an entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import flash, g, request, url_for
from flask_admin import BaseView

from engine.duplicates import Candidate, DuplicateError
from engine.errors import CrmError
from engine.runtime import CrmEngine

from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error


def confirmed_duplicate() -> bool:
    """Whether the form was sent with the confirm button of a duplicate refusal."""
    return request.form.get("allow_duplicate") == "1"


def refused_duplicates(error: DuplicateError) -> None:
    """Keep a block rule's candidates for the form shown again (its confirm button and links)."""
    g.crm_duplicates = list(error.candidates)
    flash(say("duplicate_blocked"), "warning")


def flash_duplicates(found: Sequence[Candidate]) -> None:
    """A warn rule's candidates, after the record was saved."""
    if found:
        shown = ", ".join(f"{c.display or '#' + str(c.id)} (#{c.id}, {c.rule})" for c in found)
        flash(say("duplicate_warning", records=shown), "warning")


class DuplicatesView(AdminOnly, BaseView):  # type: ignore[misc]
    """Groups of likely duplicates of one entity, each record linked to its page."""

    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("duplicates"), category=category, endpoint="crm_duplicates", url="duplicates")

    @expose("/")
    def index(self) -> Any:
        entities = (
            [e for e in self.engine.model.definitions.entities.values() if e.duplicates]
            if self.engine.has_definitions
            else []
        )
        chosen = request.args.get("entity") or (entities[0].name if entities else None)
        rule = request.args.get("rule") or None
        groups: list[dict[str, Any]] = []
        if chosen is not None:
            try:
                found = self.engine.duplicates.scan(chosen, actor=acting_user(), rule=rule)
            except CrmError as error:
                flash_error(error)
                found = []
            endpoint = f"records_{chosen}.details_view"
            for group in found:
                data = group.to_json()
                for record in data["records"]:
                    record["url"] = url_for(endpoint, id=record["id"])
                groups.append(data)
        return self.render(
            "crm_admin/duplicates.html",
            entities=[(e.name, Text.of(e.label)) for e in entities],
            chosen=chosen,
            rule=rule,
            groups=groups,
        )
