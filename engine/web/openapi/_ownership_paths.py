"""The operations of hand-overs (administrators) and of claiming records from the pool."""

from __future__ import annotations

from typing import Any

from ._components import schema_ref
from ._paths import Paths, _body, _ok, _op, _problems

OWNERSHIP_SCHEMAS: dict[str, dict[str, Any]] = {
    "Handover": {
        "type": "object",
        "description": "A deactivated user's records moved to another user, as one audited change.",
        "properties": {
            "id": {"type": "integer"},
            "from_user": {"type": "string"},
            "to_user": {"type": "string"},
            "by": {"type": "string", "description": "Who deactivated the user."},
            "reason": {"type": "string"},
            "records": {"type": "object", "additionalProperties": {"type": "integer"}},
            "total": {"type": "integer"},
            "audit_actor": {"type": "string", "description": "The actor its record changes are audited as."},
            "at": {"type": "string", "format": "date-time"},
            "still_assigned": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "Only in the answer of a deactivation: entity.field → records whose assignee-like "
                "field still names the user (open work items; not moved, to be reassigned).",
            },
        },
        "required": ["id", "from_user", "to_user", "by", "records", "total", "audit_actor", "at"],
    },
    "UserState": {
        "type": "object",
        "properties": {
            "user": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "string"}},
                    "team": {"type": ["string", "null"]},
                    "active": {"type": "boolean"},
                },
                "required": ["name", "roles", "active"],
            },
            "handover": {"oneOf": [schema_ref("Handover"), {"type": "null"}]},
        },
        "required": ["user"],
    },
    "Deactivation": {
        "type": "object",
        "properties": {"transfer_to": {"type": "string", "description": "The active user who takes the records."}},
        "additionalProperties": False,
    },
}

_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def ownership_paths() -> Paths:
    """Deactivate and reactivate users, list hand-overs."""
    return {
        "/users/{name}/deactivate": {
            "post": _op(
                "users.deactivate",
                "admin",
                "Deactivate a user and hand every record they own to transfer_to (one hand-over)",
                {**_ok("The user and the hand-over", schema_ref("UserState")), **_problems(400, 403, 404, 409, 415)},
                parameters=[_NAME],
                requestBody=_body(schema_ref("Deactivation"), required=False),
            )
        },
        "/users/{name}/reactivate": {
            "post": _op(
                "users.reactivate",
                "admin",
                "Let a deactivated user act again",
                {**_ok("The user", schema_ref("UserState")), **_problems(400, 403, 404, 409)},
                parameters=[_NAME],
            )
        },
        "/handovers": {
            "get": _op(
                "handovers.list",
                "admin",
                "Hand-overs, newest first",
                {
                    **_ok(
                        "The hand-overs",
                        {"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("Handover")}}},
                    ),
                    **_problems(403),
                },
                parameters=[
                    {"name": "user", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                    },
                ],
            )
        },
    }


def claim_paths(n: str) -> Paths:
    """Claiming an unowned record of the entity ``n`` from the pool."""
    return {
        f"/records/{n}/{{id}}/claim": {
            "post": _op(
                f"{n}.claim",
                n,
                f"Claim an unowned {n} from the pool (within the claim limit of your roles)",
                {**_ok("The record, now yours", schema_ref(n), etag=True), **_problems(400, 403, 404, 409)},
                parameters=["recordId"],
            )
        }
    }
