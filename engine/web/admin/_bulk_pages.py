"""Bulk and inline edit on an entity's list page.

Bulk edit: tick rows of the list, choose "Bulk edit" under "With selected" (flask-admin's
row actions), pick the fields to set (the owner, and the state of each workflow, which moves
by the transition leading to it), preview what each record would become (old → new, or the
reasons it is refused), then apply and read each record's outcome. Inline edit: a cell of a
simple field (text, number, date, choice, owner) is edited in place by ``static/inline-edit.js``.

Both go through ``engine.records.bulk_update`` as the signed-in user: the preview is its dry
run, apply the real thing, and an inline edit a bulk edit of one record carrying the version
the page showed (a change made since is refused, and the cell shows the current value again).

Why not flask-admin's ``column_editable_list`` (x-editable): its ``ajax_update`` posts one
value through a WTForms list form into ``update_model`` with no record version, so an inline
edit could silently overwrite a change made since the list was shown, and its answer is a
bare text the page cannot use to show the current value again. The small script here sends
the version and reads back the cell as the service left it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import g, jsonify, redirect, request
from flask_admin.actions import action
from flask_admin.form import SecureForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from engine.errors import CrmError, Problem
from engine.metadata import EntityDef, FieldDef
from engine.records import MAX_BULK, BulkOutcome, BulkResult

from ._auth import acting_user
from ._display import choice_label, input_choice_label, shown
from ._expose import expose
from ._forms import typed_value
from ._i18n import current_language, say, word
from ._people import person
from ._permitted import access_of, may_change
from ._refusals import error_text, problem_describer

if TYPE_CHECKING:
    from engine.metadata import WorkflowDef
    from engine.permissions import EntityAccess
    from engine.runtime import CrmEngine

    from ._refusals import Situation

#: Field types a bulk edit form sets, and the ones a list cell edits in place.
BULK_TYPES = frozenset(
    {"string", "text", "email", "phone", "url", "integer", "decimal", "money", "date", "enum", "boolean"}
)
INLINE_TYPES = frozenset({"string", "email", "phone", "url", "integer", "decimal", "money", "date", "enum"})


View = TypeVar("View", bound=Callable[..., Any])


def _action(name: str, text: str) -> Callable[[View], View]:
    """flask-admin's ``action`` with a type: a row action offered under "With selected"."""
    return cast(Callable[[View], View], action(name, text))


class BulkForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the bulk edit pages and of an inline edit."""


class BulkPages:
    """Mixed into an entity view: the bulk edit action and pages, and inline cell edits."""

    engine: CrmEngine
    definition: EntityDef
    state_fields: tuple[str, ...]
    edited: list[FieldDef]

    if TYPE_CHECKING:

        def get_url(self, endpoint: str, **kwargs: Any) -> str: ...
        def render(self, template: str, **kwargs: Any) -> Any: ...
        def situation(self, record: Mapping[str, Any] | None = None, transition: str | None = None) -> Situation: ...

    # -- the list's action --------------------------------------------------------------------
    @_action("bulk_edit", word("bulk_edit"))
    def action_bulk_edit(self, ids: list[str]) -> Response:
        return redirect(self.get_url(".bulk_view", id=ids[:MAX_BULK]))

    def is_action_allowed(self, name: str) -> bool:
        if name == "bulk_edit":
            return access_of(self.engine, self.definition.name).allows("update")
        return True

    # -- the pages ----------------------------------------------------------------------------
    @expose("/bulk/", methods=("GET", "POST"))
    def bulk_view(self) -> Any:
        """GET: the form (fields to set for the ticked records). POST ``step=preview``: what
        each record would become; ``step=apply``: the change and each record's outcome."""
        ids = [int(i) for i in request.values.getlist("id") if i.isdigit() and 0 < len(i) < 19][:MAX_BULK]
        access = access_of(self.engine, self.definition.name)
        fields = self.bulk_fields(access)
        workflows = self._workflows(access)
        step = request.form.get("step") if request.method == "POST" else None
        outcome: BulkOutcome | None = None
        problems: list[str] = []
        values: dict[str, Any] = {}
        if step in ("preview", "apply"):
            if not BulkForm(request.form).validate():
                problems.append(say("csrf_failed"))
            else:
                values, problems = self._posted_values(fields, workflows)
                if not values and not problems:
                    problems.append(say("bulk_nothing_chosen"))
            if not problems and ids:
                inputs, comment = self._posted_inputs(workflows)
                try:
                    outcome = self.engine.records.bulk_update(
                        self.definition.name,
                        ids,
                        values,
                        actor=acting_user(),
                        inputs=inputs,
                        comment=comment,
                        dry_run=step == "preview",
                    )
                except CrmError as error:
                    problems.append(error_text(self.situation(), error))
        return self.render(
            "crm_admin/bulk_edit.html",
            ids=ids,
            step=step if outcome is not None else "form",
            fields=fields,
            workflows=workflows,
            owners=self._owners(),
            chosen=request.form.getlist("set"),
            posted=request.form,
            outcome=outcome,
            problems=problems,
            label_of=self._label,
            shown_change=self._shown_change,
            refusals=self._refusals,
            title_of=self._title,
            input_fields=self._input_fields,
            choice_label=choice_label,
            form=BulkForm(),
            language=current_language(),
            list_url=self.get_url(".index_view"),
        )

    @expose("/inline/", methods=("POST",))
    def inline_view(self) -> Response:
        """One cell: ``id``, ``field``, ``value`` (as typed) and the ``version`` shown. JSON:
        the cell as it now reads and the new version, or the refusal and the current cell."""
        if not BulkForm(request.form).validate():
            return _json({"ok": False, "message": say("csrf_failed")}, 400)
        name = str(request.form.get("field", ""))
        raw_id, raw_version = str(request.form.get("id", "")), str(request.form.get("version", ""))
        f = self.definition.fields.get(name)
        editable = name == "owner" or (_inline(f) and name not in self.state_fields)
        if not raw_id.isdigit() or not raw_version.isdigit() or not editable:
            return _json({"ok": False, "message": say("bulk_not_editable")}, 400)
        record_id = int(raw_id)
        text = str(request.form.get("value", ""))
        problems: list[Problem] = []
        value = (text.strip() or None) if f is None else typed_value(f, text, problems)
        try:
            outcome = self.engine.records.bulk_update(
                self.definition.name,
                [record_id],
                {name: value},
                actor=acting_user(),
                versions={record_id: int(raw_version)},
            )
        except CrmError as error:
            return _json({"ok": False, "message": error_text(self.situation(), error)}, 400)
        result = outcome.results[0]
        record = result.record or {}
        answer = {
            "ok": result.ok,
            "version": result.version,
            "html": str(self.cell_html(name, record.get(name))),
            "value": self.cell_value(name, record.get(name)),
        }
        if not result.ok:
            answer["message"] = "; ".join(self._refusals(result))
            if result.error is not None and result.error.code == "conflict":
                current = self._current(record_id)  # the value someone else saved, shown again
                if current is not None:
                    answer.update(
                        version=current["version"],
                        html=str(self.cell_html(name, current.get(name))),
                        value=self.cell_value(name, current.get(name)),
                    )
        return _json(answer, 200 if result.ok else 409)

    # -- inline cells -------------------------------------------------------------------------
    def inline_cell(self, name: str, record: Mapping[str, Any], content: Markup) -> Markup:
        """``content`` as an editable cell when the user may change this field of ``record``."""
        f = self.definition.fields.get(name)
        if name != "owner" and (not _inline(f) or name in self.state_fields or name == self.definition.display):
            return content
        access = access_of(self.engine, self.definition.name)
        if (
            name in access.read_only
            or name in access.hidden
            or not may_change(self.engine, self.definition.name, record)
        ):
            return content
        choices: list[list[str]] = []
        if name == "owner":
            choices = [["", "—"], *([u, label] for u, label in self._owners())]
        elif f is not None and f.type == "enum":
            choices = [["", "—"], *([c.value, c.label.get(current_language())] for c in f.choices)]
        kind = "select" if choices else ("date" if f is not None and f.type == "date" else "text")
        return Markup(
            '<span class="crm-inline" tabindex="0" role="button" data-url="{url}" data-csrf="{csrf}" '
            'data-id="{id}" data-version="{version}" data-field="{field}" data-kind="{kind}" data-value="{value}" '
            'data-choices="{choices}" data-save="{save}" data-cancel="{cancel}" aria-label="{label}" title="{label}">'
            "{content}</span>"
        ).format(
            url=self.get_url(".inline_view"),
            csrf=_csrf_token(),
            id=record.get("id"),
            version=record.get("version"),
            field=name,
            kind=kind,
            value=self.cell_value(name, record.get(name)),
            choices=json.dumps(choices, ensure_ascii=False),
            label=say("inline_edit", field=self._label(name)),
            save=say("inline_save"),
            cancel=say("inline_cancel"),
            content=content,
        )

    def cell_html(self, name: str, value: Any) -> Markup:
        if name == "owner":
            return person(self.engine, value)
        return shown(self.definition.fields.get(name), value)

    @staticmethod
    def cell_value(name: str, value: Any) -> str:
        return "" if value is None else str(value)

    # -- what the pages need -------------------------------------------------------------------
    def bulk_fields(self, access: EntityAccess) -> list[FieldDef]:
        """The fields the bulk form offers: simple ones the user may write."""
        return [
            f
            for f in self.edited
            if f.type in BULK_TYPES
            and f.name not in access.hidden
            and f.name not in access.read_only
            and f.name not in self.state_fields
        ]

    def _workflows(self, access: EntityAccess) -> list[WorkflowDef]:
        found = self.engine.model.definitions.workflows_for(self.definition.name)
        return [w for w in found if w.field not in access.hidden]

    def _owners(self) -> list[tuple[str, str]]:
        return [(u.name, u.display_name or u.name) for u in self.engine.users.list()]

    def _posted_values(self, fields: list[FieldDef], workflows: list[WorkflowDef]) -> tuple[dict[str, Any], list[str]]:
        """The values of the ticked fields, typed; the problems of those that cannot be read."""
        chosen = set(request.form.getlist("set"))
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for f in fields:
            if f.name in chosen:
                values[f.name] = typed_value(f, str(request.form.get(f"v_{f.name}", "")), problems)
        if "owner" in chosen:
            values["owner"] = str(request.form.get("v_owner", "")).strip() or None
        for w in workflows:
            if w.field in chosen and request.form.get(f"v_{w.field}") in w.states:
                values[w.field] = request.form[f"v_{w.field}"]
        describe = problem_describer(self.situation())
        return values, [describe(p) for p in problems]

    def _posted_inputs(self, workflows: list[WorkflowDef]) -> tuple[dict[str, Any], str | None]:
        inputs: dict[str, Any] = {}
        for name, _spec, _t in self._input_fields(workflows):
            text = str(request.form.get(f"i_{name}", "")).strip()
            if text:
                inputs[name] = text
        comment = str(request.form.get("comment", "")).strip() or None
        return inputs, comment

    def _input_fields(self, workflows: list[WorkflowDef]) -> list[tuple[str, Any, Any]]:
        """The inputs of every transition of ``workflows`` (each name once): what a state
        change may ask for, as ``(name, spec, transition)``."""
        seen: dict[str, tuple[str, Any, Any]] = {}
        for w in workflows:
            for t in w.transitions.values():
                for name, spec in t.inputs.items():
                    seen.setdefault(name, (name, spec, t))
        return list(seen.values())

    def _label(self, name: str) -> str:
        if name == "owner":
            return str(word("owner"))
        f = self.definition.fields.get(name)
        return f.label.get(current_language()) if f is not None else name

    def _title(self, result: BulkResult) -> str:
        display = self.definition.display
        value = (result.record or {}).get(display) if display else None
        return f"{value} (#{result.id})" if value else f"#{result.id}"

    def _shown_change(self, name: str, value: Any) -> Markup:
        return self.cell_html(name, value)

    def _refusals(self, result: BulkResult) -> list[str]:
        """Why a record is refused, each reason in the user's language."""
        if result.error is None:
            return []
        describe = problem_describer(self.situation(result.record, result.transition))
        return [describe(p) for p in result.problems]

    def _current(self, record_id: int) -> Mapping[str, Any] | None:
        try:
            return self.engine.records.get(self.definition.name, record_id, actor=acting_user())
        except CrmError:
            return None

    def input_label(self, t: Any, name: str, value: str) -> str:
        return input_choice_label(self.definition, t, name, value)


def _inline(f: FieldDef | None) -> bool:
    return f is not None and f.type in INLINE_TYPES and not f.read_only and not f.derived


def _csrf_token() -> str:
    """The CSRF token of inline edits, made once per page."""
    if "crm_inline_csrf" not in g:
        g.crm_inline_csrf = BulkForm().csrf_token.current_token
    return str(g.crm_inline_csrf)


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
