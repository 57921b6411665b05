"""The pipeline board: ``/admin/board/<workflow>/``, a column per state of a workflow with
its count and amount, cards a rep moves from one stage to the next.

Moving a card runs a transition through the workflow service, as the record page's buttons
do: the user's roles, the guard, the fields the next state requires and the transition's
inputs all apply, and a refusal comes back with its reasons in the user's language (the card
goes back where it was). Dragging works with a mouse; every card also has a "Move to" menu,
so the keyboard does everything the mouse does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, flash, jsonify, request, url_for
from flask_admin import BaseView
from flask_admin.form import SecureForm
from flask_admin.menu import MenuLink
from werkzeug.wrappers import Response

from engine.clock import utcnow
from engine.errors import CrmError, NotFoundError
from engine.metadata import EntityDef, TransitionDef, WorkflowDef
from engine.records import display_text, format_amount
from engine.runtime import CrmEngine
from engine.users import User
from engine.workflow import amount_field, board, column_cards

from ._access import SignedInOnly
from ._auth import acting_user
from ._display import input_choice_label
from ._expose import expose
from ._filters import filter_index
from ._i18n import current_language, say, word
from ._people import person_text
from ._record_page import posted_inputs
from ._records import endpoint_of
from ._refusals import Situation, error_text
from ._views import applied_view, views_bar, with_view


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
                where=with_view(applied, self._filter()),
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
            amount=lambda value: (
                format_amount(value, _scale(shown.entity, shown.amount_field)) if value is not None else "—"
            ),
            workflows=self.engine.model.definitions.workflows,
            form=BoardForm(),
            views=views_bar(self.engine, shown.entity.name, user, applied.view.key if applied is not None else None),
            teams=sorted({u.team for u in self.engine.users.list() if u.team}),
            team=request.args.get("team", ""),
            created_from=request.args.get("from", ""),
            created_to=request.args.get("to", ""),
            **self._card_context(shown.workflow, shown.now, language),
        )

    @expose("/<workflow>/cards/")
    def cards_view(self, workflow: str) -> Any:
        """The next cards of one column (``state``, from ``offset``) as HTML, under the
        board's filters, which the column appends in place (board.js)."""
        user = acting_user()
        owner = request.args.get("owner", "").strip() or None
        search = request.args.get("q", "").strip() or None
        state = request.args.get("state", "")
        try:
            offset = max(int(request.args.get("offset", "0")), 0)
        except ValueError:
            abort(400)
        found = self.engine.model.definitions.workflows.get(workflow) if self.engine.has_definitions else None
        if found is None:
            abort(404)
        applied = applied_view(self.engine, found.entity, user)
        where = with_view(applied, self._filter())
        try:
            shown, more = column_cards(
                self.engine, workflow, state, actor=user, owner=user.name if owner == "me" else owner,
                search=search, where=where, offset=offset,
            )  # fmt: skip
        except NotFoundError:
            abort(404)
        entity = self.engine.model.entity(found.entity)
        language = current_language()
        amount_name = amount_field(entity)
        return self.render(
            "crm_admin/board_more.html",
            state=state,
            shown=shown,
            more=more,
            next_offset=offset + len(shown),
            left=_left(self.engine, found, state, user, owner, search, where, offset + len(shown)) if more else 0,
            amount=lambda value: format_amount(value, _scale(entity, amount_name)) if value is not None else "—",
            **self._card_context(found, utcnow(), language),
        )

    def _filter(self) -> Any:
        """The board's own filters beside owner and text, as a record filter: ``team`` (the
        owner is one of the team's users) and ``from`` / ``to`` (created on or after / up to
        and including a day); a date that does not read is said in a message and left out."""
        conditions: list[Any] = []
        team = request.args.get("team", "").strip()
        if team:
            members = [u.name for u in self.engine.users.list(team=team)]
            conditions.append({"owner": {"in": members}})
        for key, op in (("from", "gte"), ("to", "lt")):
            text = request.args.get(key, "").strip()
            if not text:
                continue
            try:
                day = date.fromisoformat(text)
            except ValueError:
                flash(say("board_bad_date", value=text), "warning")
                continue
            bound = day if op == "gte" else day + timedelta(days=1)
            conditions.append({"created_at": {op: f"{bound.isoformat()}T00:00:00Z"}})
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"and": conditions}

    def _card_context(self, workflow: WorkflowDef, now: datetime, language: str) -> dict[str, Any]:
        """What the card templates read (``board_cards.html``), for the board and for the
        cards a column loads later."""
        entity = self.engine.model.entity(workflow.entity)
        list_endpoint = endpoint_of(entity.name)
        kept: dict[str, Any] = {
            k: v for k in ("owner", "q", "view", "team", "from", "to") if (v := request.args.get(k))
        }
        index = filter_index(entity, workflow.field, "eq")

        def more_link(state: str) -> str:
            arguments: dict[str, Any] = {} if index is None else {f"flt0_{index}": state}
            if kept.get("view"):  # the list of the column under the same view
                arguments["view"] = kept["view"]
            return str(url_for(f"{list_endpoint}.index_view", **arguments))

        return {
            "board_now": now,
            "amount_field": amount_field(entity),
            "card_title": lambda record: display_text(entity, record, language),
            "card_link": lambda record: url_for(f"{list_endpoint}.details_view", id=record["id"]),
            "person": lambda name: person_text(self.engine, name),
            "grade_fields": _grade_fields(self.engine, entity.name),
            "moves": _moves(workflow, entity, language),
            "more_link": more_link,
            "cards_url": lambda state, offset: url_for(
                ".cards_view", workflow=workflow.name, state=state, offset=offset, **kept
            ),
        }

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


def _scale(entity: EntityDef, amount: str | None) -> int | None:
    f = entity.fields.get(amount or "")
    return f.scale if f is not None else None


def _left(
    engine: CrmEngine,
    workflow: WorkflowDef,
    state: str,
    user: User,
    owner: str | None,
    search: str | None,
    view: Any,
    shown: int,
) -> int:
    """How many cards of the column are not shown yet (its count under the board's
    filters and the filter of its view, less those shown)."""
    where: dict[str, Any] = {workflow.field: state}
    if owner:
        where["owner"] = user.name if owner == "me" else owner
    if view is not None:
        where = {"and": [view, where]}
    total = engine.records.list(workflow.entity, where=where, search=search, limit=0, actor=user).total
    return max((total or 0) - shown, 0)


def _grade_fields(engine: CrmEngine, entity: str) -> list[str]:
    """The fields holding the entity's score grades (shown as badges on the cards)."""
    fields = engine.model.entity(entity).fields
    scorings = engine.model.definitions.scorings_for(entity)
    return [s.target_grade for s in scorings if s.target_grade and s.target_grade in fields]


def _moves(workflow: WorkflowDef, entity: EntityDef, language: str) -> dict[str, list[dict[str, Any]]]:
    """State → the transitions that leave it: name, label, target state and inputs, which the
    page's script needs to move a card (and to ask for the inputs first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for state in workflow.states:
        out[state] = [_move(t, workflow, entity, language) for t in workflow.transitions.values() if _leaves(t, state)]
    return out


def _leaves(transition: TransitionDef, state: str) -> bool:
    return "*" in transition.from_states or state in transition.from_states


def _move(transition: TransitionDef, workflow: WorkflowDef, entity: EntityDef, language: str) -> dict[str, Any]:
    inputs = [
        {
            "name": name,
            "label": spec.label.get(language),
            "type": spec.type,
            "required": spec.required,
            "choices": [[c, input_choice_label(entity, transition, name, c)] for c in spec.choices],
        }
        for name, spec in transition.inputs.items()
    ]
    return {
        "name": transition.name,
        "label": transition.label.get(language),
        "to": transition.to_state,
        "to_label": workflow.states[transition.to_state].label.get(language),
        "inputs": inputs,
    }
