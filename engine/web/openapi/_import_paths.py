"""The operations and schemas of the record of imports (``/admin/imports``), and the query
parameters that say how an import file reads."""

from __future__ import annotations

from typing import Any

from engine.transfer import ENCODINGS

from ._components import schema_ref

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

IMPORT_FORMAT_PARAMETERS: tuple[dict[str, Any], ...] = (
    {
        "name": "dry_run",
        "in": "query",
        "required": False,
        "description": "Check every line against the database (references, unique values) and report what "
        "would be inserted, updated and rejected; write nothing.",
        "schema": {"type": "boolean", "default": False},
    },
    {
        "name": "allow_duplicate",
        "in": "query",
        "required": False,
        "description": "Import the lines a block duplicate rule matches instead of rejecting them (each is "
        "reported under duplicates, and the audit records the override).",
        "schema": {"type": "boolean", "default": False},
    },
    {
        "name": "delimiter",
        "in": "query",
        "required": False,
        "description": "The cell separator: one character, or tab, semicolon, pipe.",
        "schema": {"type": "string", "default": ","},
    },
    {
        "name": "encoding",
        "in": "query",
        "required": False,
        "description": "The file's encoding (gbk, gb18030: CSV saved by Chinese Excel). A UTF-8 BOM always "
        "means UTF-8.",
        "schema": {"type": "string", "enum": list(ENCODINGS), "default": "utf-8"},
    },
    {
        "name": "map",
        "in": "query",
        "required": False,
        "description": "A JSON object of CSV column → field name (null leaves the column out), "
        'e.g. {"客户名称": "name"}.',
        "schema": {"type": "string"},
    },
)

IMPORT_SCHEMAS: dict[str, dict[str, Any]] = {
    "Import": {
        "type": "object",
        "description": "One import that wrote: who imported which file when, its counts and status.",
        "properties": {
            "id": {"type": "integer"},
            "entity": {"type": "string"},
            "file_name": {"type": ["string", "null"]},
            "actor": {"type": "string"},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": _NULLABLE_TIME,
            "status": {"type": "string", "enum": ["imported", "reverted"]},
            "inserted": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "rejected": {"type": "integer"},
            "reverted_at": _NULLABLE_TIME,
            "reverted_by": {"type": ["string", "null"]},
        },
        "required": ["id", "entity", "actor", "started_at", "status", "inserted", "updated", "rejected"],
    },
    "ImportPage": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": schema_ref("Import")}},
        "required": ["items"],
    },
    "ImportReverted": {
        "type": "object",
        "properties": {
            "import": {"type": "integer"},
            "entity": {"type": "string"},
            "deleted": {"type": "integer", "description": "Records the import had created."},
            "restored": {"type": "integer", "description": "Records the import had updated."},
        },
        "required": ["import", "entity", "deleted", "restored"],
    },
}


def import_paths() -> dict[str, Any]:
    """List imports and revert one."""
    from ._paths import _ok, _op, _problems

    return {
        "/admin/imports": {
            "get": _op(
                "imports.list",
                "admin",
                "The latest imports, newest first",
                {**_ok("Imports", schema_ref("ImportPage")), **_problems(400, 403, 404)},
                parameters=[
                    {"name": "entity", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    },
                ],
            )
        },
        "/admin/imports/{import_id}/revert": {
            "post": _op(
                "imports.revert",
                "admin",
                "Delete what an import created and restore what it updated (409 naming the records when a "
                "later change would be lost)",
                {**_ok("What the revert did", schema_ref("ImportReverted")), **_problems(400, 403, 404, 409, 422)},
                parameters=[
                    {"name": "import_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
                ],
            )
        },
    }
