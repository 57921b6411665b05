"""The operations and schemas of background jobs (``/jobs``, administrators only)."""

from __future__ import annotations

from typing import Any

from engine.jobs import KINDS, STATUSES

from .._problems import PROBLEM_MIMETYPE
from ._components import schema_ref
from ._paths import Paths, _body, _ok, _op, _problems

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

JOB_SCHEMAS: dict[str, dict[str, Any]] = {
    "Job": {
        "type": "object",
        "description": "A background job: its status, how far it got, and its result or error.",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": sorted(KINDS)},
            "status": {"type": "string", "enum": list(STATUSES)},
            "params": {"type": "object"},
            "progress": {
                "type": "object",
                "properties": {"done": {"type": "integer"}, "total": {"type": ["integer", "null"]}},
                "required": ["done", "total"],
            },
            "message": {"type": ["string", "null"], "description": "The step it is at (or ended at)."},
            "result": {"description": "What the job did (kind-specific JSON), once done."},
            "error": {"type": ["string", "null"]},
            "created_by": {"type": "string"},
            "worker": {"type": ["string", "null"], "description": "host:pid of the worker that ran it."},
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _NULLABLE_TIME,
            "finished_at": _NULLABLE_TIME,
        },
        "required": ["id", "kind", "status", "params", "progress", "created_by", "created_at"],
    },
    "JobPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema_ref("Job")},
            "next_before": {"type": ["integer", "null"], "description": "The before of the next page."},
        },
        "required": ["items", "next_before"],
    },
    "JobSubmit": {
        "type": "object",
        "description": "score_run: {entity?, scoring?}; import: {entity, csv (the CSV text), on_error?: "
        "abort|skip, key?, dry_run?, delimiter?}; preset_load: {name, industry?, demo?, seed?, allow_data_loss?}.",
        "properties": {"kind": {"type": "string", "enum": sorted(KINDS)}, "params": {"type": "object"}},
        "required": ["kind"],
        "additionalProperties": False,
    },
}


def job_paths() -> Paths:
    """Submit, list and read jobs."""
    query = [
        {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": list(STATUSES)}},
        {"name": "kind", "in": "query", "required": False, "schema": {"type": "string", "enum": sorted(KINDS)}},
        {"name": "before", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        },
    ]
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    return {
        "/jobs": {
            "get": _op(
                "jobs.list",
                "admin",
                "Background jobs, newest first, with their progress",
                {**_ok("A page of jobs", schema_ref("JobPage")), **_problems(403)},
                parameters=query,
            ),
            "post": _op(
                "jobs.submit",
                "admin",
                "Run an import, a score run or a preset load as a background job",
                {
                    **_ok("The job, queued (Location: its URL)", schema_ref("Job"), status="202"),
                    **_problems(403, 415, 422),
                    "503": {
                        "description": "The job is saved but the queue cannot be reached (it runs once it can).",
                        "content": {PROBLEM_MIMETYPE: {"schema": schema_ref("Problem")}},
                    },
                },
                requestBody=_body(schema_ref("JobSubmit")),
            ),
        },
        "/jobs/{job_id}": {
            "get": _op(
                "jobs.get",
                "admin",
                "One job: status, progress, result or error",
                {**_ok("The job", schema_ref("Job")), **_problems(403, 404)},
                parameters=[job_id],
            )
        },
    }
