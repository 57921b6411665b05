"""The pipeline board: ``/admin/board/<workflow>/``, a column per state of a workflow with
its count and amount, cards a rep moves from one stage to the next.

Moving a card runs a transition through the workflow service, as the record page's buttons
do: the user's roles, the guard, the fields the next state requires and the transition's
inputs all apply, and a refusal comes back with its reasons in the user's language (the card
goes back where it was). Dragging works with a mouse; every card also has a "Move to" menu,
so the keyboard does everything the mouse does.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_admin import BaseView
from flask_admin.form import SecureForm
from flask_admin.menu import MenuLink
from werkzeug.wrappers import Response

from engine.errors import CrmError, NotFoundError
from engine.metadata import TransitionDef, WorkflowDef
from engine.records import display_text, format_amount
from engine.runtime import CrmEngine
from engine.workflow import Board, board

from ._access import SignedInOnly
from ._auth import acting_user
from ._display import input_choice_label
from ._expose import expose
from ._i18n import current_language, say, word
from ._people import person_text
from ._record_page import posted_inputs
from ._records import endpoint_of
from ._refusals import Situation, error_text
from ._views import applied_view, views_bar


class BoardLink(MenuLink):  # type: ignore[misc]
    """A board in the Pipelines menu, shown to those who may read the workflow's entity."""

    def __init__(self, engine: CrmEngine, entity: str, **options: Any) -> None:
        super().__init__(**options)
        self.engine = engine
        self.entity = entity

    def is_accessible(self) -> bool:
        try:
            user = acting_user()
        except CrmError:  # nobody signed in: no menu of theirs
            return False
        return self.engine.has_definitions and self.engine.permissions.access(user, self.entity).allows("read")


class BoardForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of a move."""


class BoardView(SignedInOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        super().__init__(name=word("board"), endpoint="crm_board", url="board")

    def is_visible(self) -> bool:
        return False  # reached from the Pipelines menu, one link per workflow

    @expose("/")
    def index(self) -> Any:
        workflows = self.engine.model.definitions.workflows if self.engine.has_definitions else {}
        first = next(iter(workflows), None)
        if first is None:
            abort(404)
        return self.board_view(first)

    @expose("/<workflow>/")
    def board_view(self, workflow: str) -> Any:
        user = acting_user()
        owner = request.args.get("owner", "").strip() or None
        search = request.args.get("q", "").strip() or None
        found = self.engine.model.definitions.workflows.get(workflow) if self.engine.has_definitions else None
        if found is None:
            abort(404)
        applied = applied_view(self.engine, found.entity, user)
        try:
            shown = board(
                self.engine,
                workflow,
                actor=user,
                owner=user.name if owner == "me" else owner,
                search=search,
                where=applied.where if applied is not None else None,
            )
        except NotFoundError:
            abort(404)
        language = current_language()
        return self.render(
            "crm_admin/board.html",
            board=shown,
            owner=owner or "",
            search=search or "",
            language=language,
            card_title=lambda record: display_text(shown.entity, record, language),
            card_link=lambda record: url_for(f"{endpoint_of(shown.entity.name)}.details_view", id=record["id"]),
            amount=lambda value: format_amount(value, _scale(shown)) if value is not None else "—",
            person=lambda name: person_text(self.engine, name),
            grade_fields=_grade_fields(self.engine, shown),
            moves=_moves(shown.workflow, shown, language),
            workflows=self.engine.model.definitions.workflows,
            list_endpoint=endpoint_of(shown.entity.name),
            form=BoardForm(),
            views=views_bar(self.engine, shown.entity.name, user, applied.view.key if applied is not None else None),
        )

    @expose("/<workflow>/move/", methods=("POST",))
    def move_view(self, workflow: str) -> Response:
        """Run one transition on one card; JSON: the new state, or the refusal's reasons."""
        form = BoardForm(request.form)
        if not form.validate():
            return _json({"ok": False, "reasons": [say("csrf_failed")]}, 400)
        user = acting_user()
        definitions = self.engine.model.definitions
        found = definitions.workflows.get(workflow)
        name = str(request.form.get("transition", ""))
        transition = found.transitions.get(name) if found is not None else None
        if found is None or transition is None:
            return _json({"ok": False, "reasons": [say("board_no_such_move")]}, 404)
        entity = self.engine.model.entity(found.entity)
        try:
            record_id = int(request.form.get("id", ""))
            version = int(request.form.get("version", ""))
        except ValueError:
            return _json({"ok": False, "reasons": [say("board_no_such_move")]}, 400)
        situation = Situation(definitions, entity, workflow=found, transition=transition, roles=user.roles)
        try:
            inputs, comment = posted_inputs(transition)
            record = self.engine.workflows.run(
                entity.name,
                record_id,
                name,
                user=user,
                inputs=inputs,
                comment=comment,
                expected_version=version,
                workflow=found.name,
            )
        except CrmError as error:
            status = error.http_status if 400 <= error.http_status < 500 else 409
            return _json({"ok": False, "reasons": [error_text(situation, error)]}, status)
        return _json({"ok": True, "state": record[found.field], "version": record["version"]}, 200)


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _scale(shown: Board) -> int | None:
    f = shown.entity.fields.get(shown.amount_field or "")
    return f.scale if f is not None else None


def _grade_fields(engine: CrmEngine, shown: Board) -> list[str]:
    """The fields holding the entity's score grades (shown as badges on the cards)."""
    scorings = engine.model.definitions.scorings_for(shown.entity.name)
    return [s.target_grade for s in scorings if s.target_grade and s.target_grade in shown.entity.fields]


def _moves(workflow: WorkflowDef, shown: Board, language: str) -> dict[str, list[dict[str, Any]]]:
    """State → the transitions that leave it: name, label, target state and inputs, which the
    page's script needs to move a card (and to ask for the inputs first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for state in workflow.states:
        out[state] = [_move(t, shown, language) for t in workflow.transitions.values() if _leaves(t, state)]
    return out


def _leaves(transition: TransitionDef, state: str) -> bool:
    return "*" in transition.from_states or state in transition.from_states


def _move(transition: TransitionDef, shown: Board, language: str) -> dict[str, Any]:
    inputs = [
        {
            "name": name,
            "label": spec.label.get(language),
            "type": spec.type,
            "required": spec.required,
            "choices": [[c, input_choice_label(shown.entity, transition, name, c)] for c in spec.choices],
        }
        for name, spec in transition.inputs.items()
    ]
    return {
        "name": transition.name,
        "label": transition.label.get(language),
        "to": transition.to_state,
        "to_label": shown.workflow.states[transition.to_state].label.get(language),
        "inputs": inputs,
    }
