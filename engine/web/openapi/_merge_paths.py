"""The operations and schemas of record merges: ``/records/{entity}/{id}/merge`` and ``/merges``."""

from __future__ import annotations

from typing import Any

from engine.merge import MAX_MERGES

from ._components import schema_ref
from ._paths import _RECORD_ID, Paths, _body, _ok, _op, _problems

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

MERGE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Merge": {
        "type": "object",
        "description": "A merge of record source into record target: the fields the target took, the "
        "references moved, the history rows moved; undone_at once undone.",
        "properties": {
            "id": {"type": "integer"},
            "entity": {"type": "string"},
            "source": {"type": "integer", "description": "The record merged away (its id comes back on undo)."},
            "target": {"type": "integer", "description": "The record that remains."},
            "actor": {"type": ["string", "null"]},
            "merged_at": {"type": "string", "format": "date-time"},
            "taken": {
                "type": "object",
                "description": "field -> {old: the target's value before, new: the value written}",
                "additionalProperties": {"type": "object", "properties": {"old": {}, "new": {}}},
            },
            "repointed": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "entity": {"type": "string"},
                        "field": {"type": "string"},
                        "count": {"type": "integer"},
                    },
                    "required": ["entity", "field", "count"],
                },
            },
            "history": {"type": "object", "additionalProperties": {"type": "integer"}},
            "undone_at": _NULLABLE_TIME,
            "undone_by": {"type": ["string", "null"]},
            "source_row": {"type": "object", "description": "The source record as it was (one merge only)."},
            "record": {"type": "object", "description": "The target after the merge (merging only)."},
        },
        "required": ["id", "entity", "source", "target", "merged_at", "taken", "repointed", "history"],
    },
    "MergeRequest": {
        "type": "object",
        "properties": {
            "into": {"type": "integer", "minimum": 1, "description": "The id of the record that remains."},
            "take": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Fields whose value comes from this record (otherwise the target's, unless empty).",
            },
        },
        "required": ["into"],
        "additionalProperties": False,
    },
    "MergeList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": schema_ref("Merge")}},
        "required": ["items"],
    },
}


def entity_merge_paths(n: str) -> Paths:
    """Merging a record of the entity ``n`` into another."""
    return {
        f"/records/{n}/{{id}}/merge": {
            "post": _op(
                f"{n}.merge",
                n,
                f"Merge this {n} into another: references move to it, this record is removed",
                {
                    **_ok("The merge, with the target as it now is", schema_ref("Merge")),
                    **_problems(404, 409, 415, 422),
                },
                parameters=[_RECORD_ID],
                requestBody=_body(schema_ref("MergeRequest")),
            ),
        },
    }


def merge_paths(entities: list[str]) -> Paths:
    """Listing, reading and undoing merges."""
    names: dict[str, Any] = {"type": "string", **({"enum": entities} if entities else {})}
    merge_id = {"name": "merge_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    query = [
        {"name": "entity", "in": "query", "required": False, "schema": names},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_MERGES, "default": 50},
        },
    ]
    return {
        "/merges": {
            "get": _op(
                "merges.list",
                "merges",
                "Merges, newest first",
                {**_ok("The merges", schema_ref("MergeList")), **_problems(404)},
                parameters=query,
            ),
        },
        "/merges/{merge_id}": {
            "get": _op(
                "merges.get",
                "merges",
                "One merge, with the source record as it was",
                {**_ok("The merge", schema_ref("Merge")), **_problems(404)},
                parameters=[merge_id],
            ),
        },
        "/merges/{merge_id}/undo": {
            "post": _op(
                "merges.undo",
                "merges",
                "Undo a merge: the source back under its id, its references and the target's values",
                {**_ok("The merge, undone", schema_ref("Merge")), **_problems(404, 409, 415, 422)},
                parameters=[merge_id],
            ),
        },
    }
