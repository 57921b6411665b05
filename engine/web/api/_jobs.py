"""``/jobs``: submit long operations as background jobs and watch their progress
(administrators only). The service decides what a kind takes; a view only asks."""

from __future__ import annotations

from flask import Response, request

from engine.errors import NotFoundError
from engine.jobs import KINDS, STATUSES
from engine.runtime import CrmEngine

from .._requests import MAX_ID, choice_param, int_param, json_object, optional_int_param
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

#: Jobs one page lists at most.
MAX_JOBS = 500
PARAMS = ("status", "kind", "before", "limit")


@resolved(params=PARAMS, admin=True)
def list_jobs(engine: CrmEngine) -> Response:
    """Jobs newest first; ``next_before`` is the ``before`` of the next page (null on the last)."""
    status = () if "status" not in request.args else (choice_param("status", STATUSES, STATUSES[0]),)
    kind = None if "kind" not in request.args else choice_param("kind", tuple(sorted(KINDS)), "")
    before = optional_int_param("before", minimum=1, maximum=MAX_ID)
    limit = int_param("limit", 50, minimum=1, maximum=MAX_JOBS)
    found = engine.jobs.list(user=current_user(), status=status, kind=kind, before=before, limit=limit)
    return json_response(
        {"items": [j.to_json() for j in found], "next_before": found[-1].id if len(found) == limit else None}
    )


@resolved(admin=True)
def submit_job(engine: CrmEngine) -> Response:
    """Queue a job ``{"kind": …, "params": {…}}``; 202 with the job and its Location."""
    body = json_object(allowed=("kind", "params"))
    kind = body.get("kind")
    user = current_user()
    job_id = engine.jobs.submit(kind if isinstance(kind, str) else "", body.get("params", {}), user=user)
    job = engine.jobs.get(job_id, user=user)
    return json_response(job.to_json(), 202, headers={"Location": f"{request.base_url.rstrip('/')}/{job_id}"})


@resolved(admin=True)
def get_job(engine: CrmEngine, job_id: str) -> Response:
    """One job: status, progress, result or error."""
    if not job_id.isascii() or not job_id.isdigit() or not 1 <= int(job_id) <= MAX_ID:
        raise NotFoundError(f"{job_id!r} is not a job id; ids are whole numbers from 1")
    return json_response(engine.jobs.get(int(job_id), user=current_user()).to_json())


ROUTES = (
    ("/jobs", list_jobs, ("GET",)),
    ("/jobs", submit_job, ("POST",)),
    ("/jobs/<job_id>", get_job, ("GET",)),
)
