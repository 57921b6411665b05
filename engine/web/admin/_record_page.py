"""The record page: fields, the transitions the signed-in user may run (with their inputs,
and the reasons others are refused), the workflow history, the scores with their
explanations and overrides, and the audit trail.

Every action posts a CSRF-protected form and calls one service as the signed-in user; a
refusal comes back as a message carrying the service's reason. Every read passes the user
too: a record outside their read scope is a 404 page (as a missing one is), fields hidden
from them are left out of the fields, the audit trail, the history and the scores, and the
Edit button and the override forms are there only when they may change the record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, request
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError, NotFoundError, PermissionDeniedError, Problem, UsageError
from engine.ownership import claim_limit
from engine.workflow import Refusal, TransitionCheck, inputs_from_text
from engine.workspace import org_charts

from ..api._scores import MAX_REASON, MAX_VALUE, check_grade
from ..api._workflow import MAX_COMMENT
from ._auth import acting_user
from ._display import input_choice_label, shown
from ._expose import expose
from ._i18n import Text, current_language, say
from ._people import USER_FIELDS, person
from ._permitted import access_of, may_change
from ._references import references_of
from ._refusals import Situation, describe, error_text
from ._related import related_groups
from ._timeline import timeline_context

if TYPE_CHECKING:
    from collections.abc import Mapping

    from engine.metadata import EntityDef, TransitionDef, WorkflowDef
    from engine.runtime import CrmEngine

#: Audit entries the page shows (the newest).
AUDIT_ROWS = 50


#: What an audit row's action says, in the reader's language (others show as written).
_AUDIT_ACTIONS: dict[str, Text] = {
    "create": Text("Created", "新建"),
    "update": Text("Changed", "修改"),
    "delete": Text("Deleted", "删除"),
    "demo": Text("Demo data", "演示数据"),
    "import": Text("Imported", "导入"),
    "merge": Text("Merged", "合并"),
}


class ActionForm(SecureForm):  # type: ignore[misc]
    """An empty form: its CSRF token guards the record page's buttons."""


def flash_error(error: CrmError, situation: Situation | None = None, problems: Iterable[Problem] | None = None) -> None:
    """A service's refusal as a message, with every reason it gives: in the user's language
    when it is about an entity (``situation``); ``problems``: the ones to say, when the others
    are shown elsewhere."""
    key = (
        "forbidden"
        if isinstance(error, PermissionDeniedError)
        else ("not_found" if isinstance(error, NotFoundError) else "error")
    )
    flash(say(key, message=error_text(situation, error, problems)), "danger")


def posted_inputs(transition: TransitionDef) -> tuple[dict[str, Any], str | None]:
    """The inputs and comment a form posted for ``transition`` (the record page's and the
    board's): an input named ``input_<transition>__<key>``, else ``input_<key>``.

    :raises UsageError: a comment longer than the API allows.
    """
    inputs: dict[str, Any] = {}
    for key in transition.inputs:
        text = str(request.form.get(f"input_{transition.name}__{key}") or request.form.get(f"input_{key}", ""))
        # each input read on its own: a missing one is the transition's refusal, with its reason
        if text.strip():
            inputs.update(inputs_from_text(transition, {key: text}))
    comment = str(request.form.get("comment", "")).strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise UsageError(f"a comment has at most {MAX_COMMENT} characters")
    return inputs, comment


class RecordPage:
    """Mixed into an entity view: the record page and its actions."""

    engine: CrmEngine
    definition: EntityDef
    state_fields: tuple[str, ...]

    if TYPE_CHECKING:

        def get_url(self, endpoint: str, **kwargs: Any) -> str: ...
        def render(self, template: str, **kwargs: Any) -> Any: ...
        def get_one(self, id: Any) -> Any: ...

    def _record_url(self, record_id: Any) -> str:
        return self.get_url(".details_view", id=record_id)

    def situation(
        self, record: Mapping[str, Any] | None = None, transition: str | None = None, chosen: str | None = None
    ) -> Situation:
        """What a refusal on this entity (its ``record``, a ``transition`` of it, of the workflow
        ``chosen`` when given) is about."""
        definitions = self.engine.model.definitions
        workflow: WorkflowDef | None = None
        t: TransitionDef | None = None
        if transition is not None:
            with contextlib.suppress(CrmError):  # a refusal about a transition that is not one
                workflow, t = self.engine.workflows.find_transition(self.definition.name, transition, chosen)
        return Situation(
            definitions, self.definition, record=record, workflow=workflow, transition=t, roles=acting_user().roles
        )

    def _posted_record(self) -> tuple[int | None, Response | None]:
        """The record id of a posted action, or where to go when the form is not valid."""
        form = ActionForm(request.form)
        record_id = str(request.form.get("id", "")).strip()
        if not record_id.isdigit() or len(record_id) > 18:
            flash(say("not_found", message=record_id or "?"), "danger")
            return None, redirect(self.get_url(".index_view"))
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return None, redirect(self._record_url(record_id))
        return int(record_id), None

    def missing(self) -> Any:
        """The answer for a record that does not exist, or that the user may not see: 404."""
        return self.render("crm_admin/missing.html", title=self.definition.label.get(current_language())), 404

    @expose("/details/")
    def details_view(self) -> Any:
        row = self.get_one(request.args.get("id", ""))
        if row is None:
            return self.missing()
        record = row.values
        entity, record_id = self.definition.name, record["id"]
        user = acting_user()
        checks: list[TransitionCheck] = []
        history: list[dict[str, Any]] = []
        scores: list[Any] = []
        audit: list[dict[str, Any]] = []
        try:
            if self.state_fields:
                checks = self.engine.workflows.check(entity, record_id, user)
                history = self.engine.workflows.history(entity, record_id, actor=user)
            scores = self.engine.scoring.show(entity, record_id, language=current_language(), actor=user)
            audit = self.engine.records.audit(entity, record_id, limit=AUDIT_ROWS, actor=user)
        except NotFoundError:  # deleted since it was read
            return self.missing()
        except CrmError as error:
            flash_error(error, self.situation(record))
        references = references_of(self.engine, self.definition, [record], user)
        related = related_groups(self.engine, self.definition, record_id, user, self.get_url)
        shown_timeline = timeline_context(self.engine, self.definition, record_id, user)
        return self.render(
            "crm_admin/record.html",
            record=record,
            fields=self._field_rows(record, references),
            transitions=[c for c in checks if _shown_transition(c)],
            refusal_text=lambda check, reason: self._refusal_text(record, check, reason),
            history=history,
            has_workflow=bool(self.state_fields),
            state_label=self._state_label,
            person=lambda name: person(self.engine, name),
            audit_action=lambda action: _AUDIT_ACTIONS.get(action, action),
            choice_label=self._input_choice_label,
            transition_label=self._transition_label,
            related=related,
            org_charts=org_charts(self.engine, entity, record_id, user, current_language()),
            scores=scores,
            scorings={s.name: s for s in self.engine.model.definitions.scorings_for(entity)},
            audit=audit,
            **shown_timeline,
            may_change=may_change(self.engine, entity, record),
            may_claim=record.get("owner") is None and claim_limit(self.engine, user, entity) != 0,
            action_form=ActionForm(),
            label_of=self._label_of,
            shown_value=self._shown_value,
            title=_title(self.definition, record),
        )

    def _field_rows(self, record: dict[str, Any], references: dict[tuple[str, int], Any]) -> list[tuple[Text, Any]]:
        hidden = access_of(self.engine, self.definition.name).hidden
        rows = []
        for f in self.definition.fields.values():
            if f.name in hidden:
                continue
            value = record.get(f.name)
            if f.name in USER_FIELDS:
                rows.append((Text.of(f.label), person(self.engine, value)))
                continue
            reference = references.get((f.name, value)) if f.type == "reference" and value is not None else None
            link = self.get_url(f"records_{f.target}.details_view", id=value) if reference is not None else None
            rows.append((Text.of(f.label), shown(f, value, reference, link)))
        return rows

    def _refusal_text(self, record: Mapping[str, Any], check: TransitionCheck, reason: Refusal) -> str:
        workflow = self.engine.model.definitions.workflows.get(check.workflow)
        if workflow is None or check.name not in workflow.transitions:
            return reason.message
        situation = Situation(
            self.engine.model.definitions,
            self.definition,
            record=record,
            workflow=workflow,
            transition=workflow.transitions[check.name],
            roles=acting_user().roles,
        )
        return describe(situation, reason.code, reason.message, reason.fields)

    def _workflow(self, name: str | None) -> WorkflowDef | None:
        return self.engine.model.definitions.workflows.get(name or "")

    def _state_label(self, workflow: str | None, state: str | None) -> str:
        """A state's label in the user's language (its name when the definitions lost it)."""
        found = self._workflow(workflow)
        defined = found.states.get(state or "") if found is not None else None
        return defined.label.get(current_language()) if defined is not None else (state or "")

    def _input_choice_label(self, workflow: str, transition: str, name: str, value: str) -> str:
        found = self._workflow(workflow)
        defined = found.transitions.get(transition) if found is not None else None
        return input_choice_label(self.definition, defined, name, value) if defined is not None else value

    def _transition_label(self, workflow: str | None, transition: str | None) -> str:
        found = self._workflow(workflow)
        defined = found.transitions.get(transition or "") if found is not None else None
        return defined.label.get(current_language()) if defined is not None else (transition or "")

    def _label_of(self, name: str | None) -> str:
        f = self.definition.fields.get(name or "")
        return f.label.get(current_language()) if f is not None else (name or "")

    def _shown_value(self, name: str | None, value: Any) -> Any:
        if name in USER_FIELDS and isinstance(value, str | None):
            return person(self.engine, value)
        return shown(self.definition.fields.get(name or ""), value)

    @expose("/transition/", methods=("POST",))
    def transition_view(self) -> Response:
        """Run a transition with the inputs and comment of its form."""
        record_id, stop = self._posted_record()
        if stop is not None or record_id is None:
            return stop or redirect(self.get_url(".index_view"))
        # the record page's buttons send "workflow:transition"; a plain name with a separate
        # "workflow" field is taken too (scripts and older pages)
        posted = str(request.form.get("transition", ""))
        chosen_name, _, name = posted.rpartition(":") if ":" in posted else ("", "", posted)
        chosen = chosen_name or str(request.form.get("workflow", "")) or None
        try:
            workflow, transition = self.engine.workflows.find_transition(self.definition.name, name, chosen)
            inputs, comment = posted_inputs(transition)
            self.engine.workflows.run(
                self.definition.name,
                record_id,
                name,
                user=acting_user(),
                inputs=inputs,
                comment=comment,
                expected_version=_version(),
                workflow=workflow.name,
            )
        except CrmError as error:
            flash_error(error, self.situation(self._current(record_id), name, chosen))
        else:
            flash(say("transition_done", name=transition.label.get(current_language())), "success")
        return redirect(self._record_url(record_id))

    @expose("/claim/", methods=("POST",))
    def claim_view(self) -> Response:
        """Claim the record from the pool (``POST /api/v1/records/ENTITY/ID/claim``)."""
        record_id, stop = self._posted_record()
        if stop is not None or record_id is None:
            return stop or redirect(self.get_url(".index_view"))
        try:
            self.engine.pool.claim(self.definition.name, record_id, actor=acting_user())
        except CrmError as error:
            flash_error(error, self.situation())
        else:
            flash(say("claimed"), "success")
        return redirect(self._record_url(record_id))

    @expose("/score/", methods=("POST",))
    def score_view(self) -> Response:
        """Set or clear the override of one scoring, with the API's checks."""
        record_id, stop = self._posted_record()
        if stop is not None or record_id is None:
            return stop or redirect(self.get_url(".index_view"))
        scoring = str(request.form.get("scoring", ""))
        try:
            definition = self.engine.scoring.find(self.definition.name, scoring)
            user = acting_user()
            if request.form.get("clear"):
                self.engine.scoring.clear_override(self.definition.name, record_id, scoring, actor=user)
                flash(say("override_cleared"), "success")
            else:
                value = _number(str(request.form.get("value", "")))
                grade = str(request.form.get("grade", "")).strip() or None
                if grade is not None:
                    check_grade(self.engine, definition, grade)
                reason = str(request.form.get("reason", "")).strip()
                if not reason or len(reason) > MAX_REASON:
                    raise UsageError(
                        "an override needs a reason",
                        [
                            Problem(
                                code="required",
                                field="reason",
                                message=f"give a reason of at most {MAX_REASON} characters",
                            )
                        ],
                    )
                self.engine.scoring.override(
                    self.definition.name, record_id, scoring, value=value, grade=grade, reason=reason, actor=user
                )
                flash(say("override_saved"), "success")
        except CrmError as error:
            flash_error(error, self.situation())
        return redirect(self._record_url(record_id))

    def _current(self, record_id: int) -> dict[str, Any] | None:
        """The record as the user reads it now (None when they may not)."""
        try:
            return self.engine.records.get(self.definition.name, record_id, actor=acting_user())
        except CrmError:
            return None


def _shown_transition(check: TransitionCheck) -> bool:
    """Transitions from the record's state: runnable ones, and refused ones with why."""
    return all(r.code != "wrong_state" for r in check.reasons)


def _version() -> int | None:
    raw = str(request.form.get("version", ""))
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _number(text: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            "value must be a number", [Problem(code="type", field="value", message="expected a number")]
        ) from None
    if value != value or abs(value) > MAX_VALUE:
        raise UsageError(
            f"value must be between {-MAX_VALUE:g} and {MAX_VALUE:g}",
            [Problem(code="out_of_range", field="value", message="value out of range")],
        )
    return value


def _title(definition: EntityDef, record: dict[str, Any]) -> str:
    shown_name = record.get(definition.display) if definition.display else None
    label = definition.label.get(current_language())
    return f"{label}: {shown_name}" if shown_name else f"{label} #{record['id']}"
