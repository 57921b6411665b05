"""``/automations``: the live automations, their runs, retrying a failed run and running the
clock once (administrators only: a run carries the records it read)."""

from __future__ import annotations

from flask import Response, request

from engine.automations import tick
from engine.runtime import CrmEngine
from engine.storage import to_jsonable

from .._requests import bool_param, int_param, parse_record_id
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

#: The most runs one page answers.
MAX_RUNS = 500


@resolved(admin=True)
def list_automations(engine: CrmEngine) -> Response:
    """Every automation with its trigger, mode and runs counted by status."""
    return json_response({"items": to_jsonable(engine.automations.overview(user=current_user()))})


@resolved(params=("automation", "failed", "limit"), admin=True)
def list_runs(engine: CrmEngine) -> Response:
    """Runs, newest first; ``automation`` names one, ``failed=true`` keeps the failed ones."""
    found = engine.automations.runs(
        user=current_user(),
        automation=request.args.get("automation"),
        failed=bool_param("failed"),
        limit=int_param("limit", 100, minimum=1, maximum=MAX_RUNS),
    )
    return json_response({"items": [to_jsonable(r.to_json()) for r in found]})


@resolved(admin=True)
def show_run(engine: CrmEngine, run_id: str) -> Response:
    """One run with the context it ran with."""
    run, context = engine.automations.run(parse_record_id(run_id), user=current_user())
    return json_response(to_jsonable({**run.to_json(), "context": context}))


@resolved(admin=True)
def retry_run(engine: CrmEngine, run_id: str) -> Response:
    """Run a failed run again now; answers the run as it ended."""
    run = engine.automations.retry(parse_record_id(run_id), user=current_user())
    return json_response(to_jsonable(run.to_json()))


@resolved(admin=True)
def run_tick(engine: CrmEngine) -> Response:
    """Everything due once (date and schedule triggers, waiting runs, SLA escalations, the
    daily refresh); idempotent, like ``crm automation tick``."""
    return json_response(to_jsonable(tick(engine).to_json()))


ROUTES = (
    ("/automations", list_automations, ("GET",)),
    ("/automations/runs", list_runs, ("GET",)),
    ("/automations/runs/<run_id>", show_run, ("GET",)),
    ("/automations/runs/<run_id>/retry", retry_run, ("POST",)),
    ("/automations/tick", run_tick, ("POST",)),
)
