"""The operations of automations: the live automations, their runs, retry and the clock (administrators only)."""

from __future__ import annotations

from typing import Any

from ._components import schema_ref
from ._paths import Paths, _ok, _op, _problems

#: An automation as ``GET /automations`` lists it: its document and its runs per status.
AUTOMATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "object", "additionalProperties": {"type": "string"}},
        "entity": {"type": "string"},
        "trigger": {"type": "object"},
        "mode": {"type": "string", "enum": ["transaction", "background"]},
        "actions": {"type": "array", "items": {"type": "object"}},
        "runs": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["name", "label", "entity", "trigger", "runs"],
}


def automation_paths() -> Paths:
    """The automations, their runs, retry and the clock (administrators only)."""
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    runs_query: list[dict[str, Any]] = [
        {"name": "automation", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "failed", "in": "query", "required": False, "schema": {"type": "boolean", "default": False}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
        },
    ]
    runs_page = {"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("AutomationRun")}}}
    return {
        "/automations": {
            "get": _op(
                "automations.list",
                "admin",
                "The live automations with their runs counted by status",
                {
                    **_ok(
                        "The automations",
                        {"type": "object", "properties": {"items": {"type": "array", "items": AUTOMATION}}},
                    )
                },
            )
        },
        "/automations/runs": {
            "get": _op(
                "automations.runs",
                "admin",
                "Automation runs, newest first",
                {**_ok("Runs", runs_page), **_problems(403, 404)},
                parameters=runs_query,
            )
        },
        "/automations/runs/{run_id}": {
            "get": _op(
                "automations.run",
                "admin",
                "One run with the context it ran with",
                {**_ok("The run", schema_ref("AutomationRun")), **_problems(403, 404)},
                parameters=[run_id],
            )
        },
        "/automations/runs/{run_id}/retry": {
            "post": _op(
                "automations.retry",
                "admin",
                "Run a failed run again now",
                {**_ok("The run as it ended", schema_ref("AutomationRun")), **_problems(403, 404, 409)},
                parameters=[run_id],
            )
        },
        "/automations/tick": {
            "post": _op(
                "automations.tick",
                "admin",
                "Everything due once: date and schedule triggers, waiting runs, SLA escalations",
                {**_ok("What the tick did", {"type": "object"}), **_problems(403)},
            )
        },
    }
