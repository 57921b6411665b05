"""The operations of saved views (docs/views.md)."""

from __future__ import annotations

from typing import Any

from ._components import schema_ref
from ._paths import Paths, _body, _ok, _op, _problems

_LABEL = {
    "type": "object",
    "properties": {"en": {"type": "string"}, "zh": {"type": "string"}},
    "required": ["en", "zh"],
}
_WHERE = {
    "type": ["object", "null"],
    "description": 'A filter (docs/records.md) whose values may be relative: "@me", "@today", "@this_month", '
    '"@last_7_days", "@30_days_ago"... (docs/views.md).',
}
_FIELDS = {"type": "array", "items": {"type": "string"}, "maxItems": 32}

VIEW_SCHEMAS: dict[str, dict[str, Any]] = {
    "View": {
        "type": "object",
        "description": "A saved view: a view document (id: its name) or a stored view (id: a number).",
        "properties": {
            "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "entity": {"type": "string"},
            "name": {"type": "string"},
            "label": _LABEL,
            "where": _WHERE,
            "sort": {**_FIELDS, "description": 'Fields, "-field" from the largest.'},
            "columns": _FIELDS,
            "group_by": {"type": ["string", "null"]},
            "shared": {"type": "boolean"},
            "owner": {"type": ["string", "null"]},
            "source": {"enum": ["definitions", "stored"]},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "may_change": {"type": "boolean", "description": "Whether the caller may change and delete it."},
        },
        "required": ["id", "entity", "name", "label", "sort", "columns", "shared", "source", "may_change"],
    },
    "ViewInput": {
        "type": "object",
        "properties": {
            "entity": {"type": "string", "description": "Required to create; a view keeps its entity."},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "label": {"oneOf": [{"type": "string"}, _LABEL]},
            "where": _WHERE,
            "sort": {"oneOf": [_FIELDS, {"type": "string", "description": '"-amount,title"'}]},
            "columns": _FIELDS,
            "group_by": {"type": ["string", "null"]},
            "shared": {"type": "boolean", "description": "Shared with everyone who may read the entity (admins)."},
        },
        "additionalProperties": False,
    },
}

_VIEW_ID = {"name": "view_id", "in": "path", "required": True, "schema": {"type": "string"}}


def view_paths() -> Paths:
    """List, save, read, change and delete saved views."""
    view = schema_ref("View")
    return {
        "/views": {
            "get": _op(
                "views.list",
                "views",
                "The views the caller may see (of one entity)",
                {
                    **_ok("The views", {"type": "object", "properties": {"items": {"type": "array", "items": view}}}),
                    **_problems(404),
                },
                parameters=[{"name": "entity", "in": "query", "required": False, "schema": {"type": "string"}}],
            ),
            "post": _op(
                "views.create",
                "views",
                "Save a view (personal; shared needs the admin role)",
                {**_ok("The view saved", view, status="201"), **_problems(404, 415, 422)},
                requestBody=_body(schema_ref("ViewInput")),
            ),
        },
        "/views/{view_id}": {
            "get": _op(
                "views.get", "views", "One view", {**_ok("The view", view), **_problems(404)}, parameters=[_VIEW_ID]
            ),
            "patch": _op(
                "views.update",
                "views",
                "Change a view the caller manages",
                {**_ok("The view changed", view), **_problems(404, 409, 415, 422)},
                parameters=[_VIEW_ID],
                requestBody=_body(schema_ref("ViewInput")),
            ),
            "delete": _op(
                "views.delete",
                "views",
                "Delete a view the caller manages",
                {"204": {"description": "Deleted"}, **_problems(404, 409)},
                parameters=[_VIEW_ID],
            ),
        },
    }
