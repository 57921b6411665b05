"""The operation of bulk edits: ``PATCH /records/{entity}`` with ids and values."""

from __future__ import annotations

from typing import Any

from engine.metadata import EntityDef

from ._components import schema_ref
from ._entity_schemas import input_schema
from ._paths import Paths, _body, _ok, _op, _problems

_VALUE: dict[str, Any] = {"description": "The value as records carry it (null when the field is empty)."}
_PROBLEM = {
    "type": "object",
    "properties": {
        "field": {"type": ["string", "null"]},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["field", "code", "message"],
}

BULK_SCHEMAS: dict[str, dict[str, Any]] = {
    "BulkResult": {
        "type": "object",
        "description": "One record's result: applied (or, in a dry run, would be), or refused with its reasons.",
        "properties": {
            "id": {"type": "integer"},
            "ok": {"type": "boolean"},
            "version": {"type": ["integer", "null"], "description": "The record's version after the edit."},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "old": _VALUE, "new": _VALUE},
                    "required": ["field", "old", "new"],
                },
            },
            "code": {"type": "string", "description": "Why the record was refused."},
            "message": {"type": "string"},
            "errors": {"type": "array", "items": _PROBLEM},
        },
        "required": ["id", "ok", "version", "changes", "errors"],
    },
    "BulkOutcome": {
        "type": "object",
        "description": "Every record's result in the order of ids (200 even when some are refused).",
        "properties": {
            "results": {"type": "array", "items": schema_ref("BulkResult")},
            "updated": {"type": "integer", "description": "Records applied (in a dry run: that would be)."},
            "refused": {"type": "integer"},
            "dry_run": {"type": "boolean"},
            "applied": {"type": "boolean", "description": "Whether anything was written."},
        },
        "required": ["results", "updated", "refused", "dry_run", "applied"],
    },
}


def bulk_values_schema(entity: EntityDef) -> dict[str, Any]:
    """The fields a bulk edit sets: those of an update, and the workflows' state fields
    (each moved by the transition that leads to the state asked for)."""
    schema = input_schema(entity, update=True)
    properties = {k: v for k, v in schema["properties"].items() if k not in ("version", "allow_duplicate")}
    return {**schema, "properties": properties, "minProperties": 1}


def bulk_paths(n: str) -> Paths:
    """Bulk edits of the entity ``n``."""
    body = {
        "type": "object",
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 1,
                "maxItems": 500,
                "description": "The records to change (at most 500; past it, 413).",
            },
            "values": schema_ref(f"{n}.bulk"),
            "dry_run": {"type": "boolean", "description": "Say what would change without writing anything."},
            "atomic": {"type": "boolean", "description": "All or nothing: one refusal undoes every record."},
            "versions": {
                "type": "object",
                "description": "Record id → the version you read; a record changed since is refused.",
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "inputs": {"type": "object", "description": "The inputs of the transitions a state change runs."},
            "comment": {"type": "string", "maxLength": 4000, "description": "The transitions' comment."},
        },
        "required": ["ids", "values"],
        "additionalProperties": False,
    }
    return {
        f"/records/{n}": {
            "patch": _op(
                f"{n}.bulk_update",
                n,
                f"Change fields, owner or state of many {n} records, each on its own",
                {**_ok("A result per record", schema_ref("BulkOutcome")), **_problems(404, 413, 415)},
                requestBody=_body(body),
            )
        }
    }
