"""``/records/ENTITY/ID/transitions`` and ``/history``: asking, running, and the trail."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine.errors import Problem
from engine.metadata import EntityDef
from engine.runtime import CrmEngine
from engine.storage import to_jsonable

from .._problems import InvalidBodyError, InvalidParameterError
from .._requests import expected_version, json_object, language, parse_record_id
from .._responses import json_response, record_response
from .._users import current_user
from ._lookup import resolved

RUN_KEYS = ("inputs", "comment", "version", "workflow")
MAX_COMMENT = 4000


@resolved()
def list_transitions(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    """Every transition of the record's workflows: whether the user may run it now, and why not."""
    lang = language()
    checks = engine.workflows.check(entity.name, parse_record_id(record_id), current_user())
    return json_response({"items": [c.to_json(lang) for c in checks]})


@resolved(params=("workflow",))
def run_transition(engine: CrmEngine, entity: EntityDef, record_id: str, name: str) -> Response:
    """Run a transition; the record after it (a refusal is 409 with every reason)."""
    body = json_object(allowed=RUN_KEYS, optional=True)
    workflow, _t = engine.workflows.find_transition(entity.name, name, _chosen_workflow(body))
    inputs = body.get("inputs", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise InvalidBodyError(
            'inputs must be an object like {"reason": "price"}',
            [Problem(code="type", pointer="/inputs", message="expected a JSON object")],
        )
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise InvalidBodyError(
            f"comment must be text of at most {MAX_COMMENT} characters",
            [Problem(code="type", pointer="/comment", message=f"expected text of at most {MAX_COMMENT} characters")],
        )
    record = engine.workflows.run(
        entity.name,
        parse_record_id(record_id),
        name,
        user=current_user(),
        inputs=inputs,
        comment=comment,
        expected_version=expected_version(body),
        workflow=workflow.name,
    )
    return record_response(record)


def _chosen_workflow(body: dict[str, Any]) -> str | None:
    """The workflow a client names to disambiguate a transition: ``workflow`` in the body or
    the query (both: the same one)."""
    in_body = body.get("workflow")
    if in_body is not None and not isinstance(in_body, str):
        raise InvalidBodyError(
            "workflow must be the name of a workflow",
            [Problem(code="type", pointer="/workflow", message="expected a workflow name")],
        )
    in_query = request.args.get("workflow")
    if in_body is not None and in_query is not None and in_body != in_query:
        raise InvalidParameterError(
            f'workflow: the query names "{in_query}" and the body "{in_body}"; name one workflow, once',
            [Problem(code="conflicting_workflow", field="workflow", message="the query and the body disagree")],
        )
    return in_body if in_body is not None else in_query


@resolved()
def transition_history(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    """Every state change of the record, oldest first."""
    rows = engine.workflows.history(entity.name, parse_record_id(record_id), actor=current_user())
    return json_response({"items": [_history_row(r) for r in rows]})


def _history_row(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "workflow", "transition", "from_state", "to_state", "actor", "at", "inputs", "comment")
    return {k: to_jsonable(row.get(k)) for k in keys}


ROUTES = (
    ("/records/<entity>/<record_id>/transitions", list_transitions, ("GET",)),
    ("/records/<entity>/<record_id>/transitions/<name>", run_transition, ("POST",)),
    ("/records/<entity>/<record_id>/history", transition_history, ("GET",)),
)
