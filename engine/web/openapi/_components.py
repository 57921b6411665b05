"""The parts of the OpenAPI document that do not depend on the definitions: problems,
metadata, workflow and scoring answers, admin reports, and shared parameters."""

from __future__ import annotations

from typing import Any

from engine.records import MAX_PAGE

from .._problems import PROBLEM_MIMETYPE


def ref(kind: str, name: str) -> dict[str, str]:
    """``{"$ref": "#/components/<kind>/<name>"}``."""
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_ref(name: str) -> dict[str, str]:
    return ref("schemas", name)


_LABEL = {
    "type": "object",
    "properties": {"en": {"type": "string"}, "zh": {"type": ["string", "null"]}},
    "required": ["en"],
}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_WORKFLOW_CHOICE = "The workflow of the transition, needed when several workflows of the entity have one of that name"

SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "description": "An error (RFC 9457). `code` is stable; `errors` locate each problem.",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {"type": "array", "items": schema_ref("ProblemEntry")},
            "candidates": {
                "type": "array",
                "items": schema_ref("DuplicateCandidate"),
                "description": "With code `duplicate`: the likely duplicates a block rule found.",
            },
        },
        "required": ["type", "title", "status", "detail", "code", "errors"],
    },
    "DuplicateCandidate": {
        "type": "object",
        "description": "A stored record a duplicate rule says the record sent is likely the same as.",
        "properties": {
            "id": {"type": "integer"},
            "display": {"type": ["string", "null"]},
            "rule": {"type": "string"},
            "action": {"type": "string", "enum": ["block", "warn"]},
            "similarity": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["id", "display", "rule", "action", "similarity"],
    },
    "ProblemEntry": {
        "type": "object",
        "description": "One located problem: a record field or parameter (`field`), a JSON pointer into "
        "the body, the filter or a definition `file`, or a CSV `line`.",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": "string"},
            "pointer": {"type": "string"},
            "file": {"type": "string"},
            "line": {"type": "integer"},
        },
        "required": ["code", "message"],
    },
    "Label": _LABEL,
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "database": {"type": "string", "enum": ["ok"]},
            "dialect": {"type": "string"},
            "definitions_version": {"type": "integer"},
            "definitions": {"type": ["string", "null"]},
        },
        "required": ["status", "database", "definitions_version"],
    },
    "EntitySummary": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "label": schema_ref("Label"),
            "display": {"type": ["string", "null"]},
            "fields": {"type": "integer"},
        },
        "required": ["name", "label", "fields"],
    },
    "Field": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string"},
            "label": schema_ref("Label"),
            "description": schema_ref("Label"),
            "required": {"type": "boolean"},
            "unique": {"type": "boolean"},
            "read_only": {"type": "boolean"},
            "compute": {"description": "The rule whose value the field holds (a computed field)."},
            "rollup": {"type": "object", "description": "What the field aggregates (a rollup)."},
            "required_when": {"description": "A rule over record and before: when it holds, a value is required."},
            "read_only_when": {"description": "A rule over record and before: when it holds, the field is fixed."},
            "default": {},
            "min_length": {"type": "integer"},
            "max_length": {"type": "integer"},
            "pattern": {"type": "string"},
            "number_pattern": {"type": "string", "description": "How an autonumber field writes its numbers."},
            "precision": {"type": "integer"},
            "scale": {"type": "integer"},
            "minimum": {"type": "string"},
            "maximum": {"type": "string"},
            "target": {"type": "string"},
            "on_delete": {"type": "string", "enum": ["restrict", "cascade", "set_null"]},
            "choices": {
                "type": "array",
                "items": {"type": "object", "properties": {"value": {"type": "string"}, "label": schema_ref("Label")}},
            },
        },
        "required": ["name", "type", "label", "required", "unique", "read_only"],
    },
    "Entity": {
        "type": "object",
        "properties": {
            "version": {"type": "integer"},
            "name": {"type": "string"},
            "label": schema_ref("Label"),
            "description": schema_ref("Label"),
            "display": {"type": ["string", "null"]},
            "fields": {"type": "array", "items": schema_ref("Field")},
            "unique": {"type": "array", "items": _STRINGS},
            "indexes": {"type": "array", "items": _STRINGS},
            "workflows": _STRINGS,
            "scorings": _STRINGS,
        },
        "required": ["name", "label", "fields"],
    },
    "Workflow": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "entity": {"type": "string"},
            "field": {"type": "string"},
            "label": schema_ref("Label"),
            "initial_state": {"type": "string"},
            "states": {"type": "array", "items": {"type": "object"}},
            "transitions": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["name", "entity", "field", "states", "transitions"],
    },
    "Scoring": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "entity": {"type": "string"},
            "scorer": {"type": "string"},
            "label": schema_ref("Label"),
            "target": {
                "type": "object",
                "properties": {"value": {"type": ["string", "null"]}, "grade": {"type": ["string", "null"]}},
            },
            "triggers": _STRINGS,
        },
        "required": ["name", "entity", "scorer"],
    },
    "Preset": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "label": {"oneOf": [{"type": "string"}, schema_ref("Label")]},
            "description": {"type": "string"},
            "industries": _STRINGS,
        },
        "required": ["name"],
    },
    "TransitionCheck": {
        "type": "object",
        "description": "Whether the current user may run a transition now, and every reason why not.",
        "properties": {
            "workflow": {"type": "string"},
            "transition": {"type": "string"},
            "label": {"type": "string"},
            "to": {"type": "string"},
            "available": {"type": "boolean"},
            "reasons": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "fields": _STRINGS},
                },
            },
            "inputs": {"type": "object", "additionalProperties": {"type": "object"}},
        },
        "required": ["workflow", "transition", "to", "available", "reasons"],
    },
    "TransitionRun": {
        "type": "object",
        "properties": {
            "inputs": {"type": "object", "description": "Values the transition asks for (a lost reason...)."},
            "comment": {"type": "string", "maxLength": 4000},
            "version": {"type": "integer", "minimum": 1, "description": "The version you read (or If-Match)."},
            "workflow": {"type": "string", "description": _WORKFLOW_CHOICE},
        },
        "additionalProperties": False,
    },
    "HistoryEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "workflow": {"type": "string"},
            "transition": {"type": ["string", "null"]},
            "from_state": {"type": ["string", "null"]},
            "to_state": {"type": "string"},
            "actor": {"type": ["string", "null"]},
            "at": {"type": "string", "format": "date-time"},
            "inputs": {"type": ["object", "null"]},
            "comment": {"type": ["string", "null"]},
        },
    },
    "Score": {
        "type": "object",
        "description": "A record's score for one scoring: the shown value and grade (an override wins), "
        "what was computed, and the factors that explain it.",
        "properties": {
            "scoring": {"type": "string"},
            "scorer": {"type": "string"},
            "value": {"type": ["number", "null"]},
            "grade": {"type": ["string", "null"]},
            "computed": {"type": "object"},
            "factors": {"type": "array", "items": {"type": "object"}},
            "override": {"type": ["object", "null"]},
            "extra": {"type": "object"},
            "computed_at": {"type": ["string", "null"], "format": "date-time"},
            "definitions_version": {"type": ["integer", "null"]},
        },
        "required": ["scoring", "scorer", "value", "grade"],
    },
    "ScoreOverride": {
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "grade": {"type": "string", "minLength": 1, "maxLength": 32},
            "reason": {"type": "string", "minLength": 1, "maxLength": 4000},
        },
        "required": ["reason"],
        "additionalProperties": False,
    },
    "BundleFiles": {
        "type": "object",
        "description": "A bundle as JSON: relative path → document (bundle.json at the top).",
        "properties": {"files": {"type": "object", "additionalProperties": {}}},
        "required": ["files"],
    },
    "BundleSummary": {
        "type": "object",
        "properties": {
            "valid": {"type": "boolean"},
            "name": {"type": "string"},
            "bundles": _STRINGS,
            "entities": {"type": "array", "items": schema_ref("EntitySummary")},
            "workflows": _STRINGS,
            "scorings": _STRINGS,
        },
        "required": ["valid", "name"],
    },
    "MigrationPlan": {
        "type": "object",
        "properties": {
            "from_version": {"type": "integer"},
            "to_version": {"type": "integer"},
            "version": {"type": "integer", "description": "The live version after an apply."},
            "destructive": {"type": "boolean"},
            "blocking": {"type": "boolean"},
            "steps": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["from_version", "to_version", "destructive", "blocking", "steps"],
    },
    "PresetLoad": {
        "type": "object",
        "properties": {
            "industry": {"type": "string"},
            "demo": {"type": "integer", "minimum": 0, "maximum": 20000},
            "seed": {"type": "integer", "minimum": 0},
            "allow_data_loss": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "PresetLoaded": {
        "type": "object",
        "properties": {
            "version": {"type": "integer"},
            "presets": _STRINGS,
            "changes": {"type": "integer"},
            "demo": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["version", "presets", "changes"],
    },
    "ImportReport": {
        "type": "object",
        "properties": {
            "import": {"type": ["integer", "null"], "description": "The import's id (null for a dry run)."},
            "dry_run": {
                "type": "boolean",
                "description": "True: the counts say what would happen; nothing was written.",
            },
            "entity": {"type": "string"},
            "inserted": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "rejected": {"type": "integer"},
            "lines": {"type": "integer"},
            "seconds": {"type": "number"},
            "ignored_columns": _STRINGS,
            "problems": {"type": "array", "items": schema_ref("ProblemEntry")},
            "duplicates": {
                "type": "array",
                "description": "Lines imported although a duplicate rule matched them: a warn rule, or a block "
                "rule overridden with allow_duplicate.",
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer"},
                        "rule": {"type": "string"},
                        "action": {"type": "string", "enum": ["warn", "block"]},
                        "overridden": {"type": "boolean"},
                        "records": {"type": "array", "items": {"type": "integer"}},
                        "lines": {"type": "array", "items": {"type": "integer"}},
                        "similarity": {"type": "number"},
                    },
                },
            },
        },
        "required": ["entity", "inserted", "updated", "rejected", "lines"],
    },
    "Event": {
        "type": "object",
        "description": "What one committed write did (record.created, record.updated with each changed "
        "field's old and new value, record.deleted, record.transitioned, records.imported, score.changed, "
        "scores.recomputed).",
        "properties": {
            "id": {"type": "integer"},
            "type": {"type": "string"},
            "entity": {"type": ["string", "null"]},
            "record_id": {"type": ["integer", "null"]},
            "actor": {"type": ["string", "null"]},
            "payload": {"type": "object"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "definitions_version": {"type": ["integer", "null"]},
        },
        "required": ["id", "type", "entity", "record_id", "actor", "payload", "occurred_at"],
    },
    "AutomationRun": {
        "type": "object",
        "description": "One run of an automation: pending, running, done, skipped or failed (with its error).",
        "properties": {
            "id": {"type": "integer"},
            "automation": {"type": "string"},
            "entity": {"type": "string"},
            "record_id": {"type": ["integer", "null"]},
            "trigger": {"type": "string"},
            "occurrence": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["pending", "running", "done", "skipped", "failed"]},
            "mode": {"type": "string", "enum": ["transaction", "background"]},
            "attempts": {"type": "integer"},
            "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "error": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "context": {"type": "object"},
        },
        "required": ["id", "automation", "entity", "status", "mode", "attempts", "created_at"],
    },
    "EventPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema_ref("Event")},
            "next_since": {"type": "integer", "description": "The since of the next request."},
        },
        "required": ["items", "next_since"],
    },
    "Notification": {
        "type": "object",
        "description": "What a notify action told the user about a record.",
        "properties": {
            "id": {"type": "integer"},
            "user": {"type": "string"},
            "topic": {"type": "string"},
            "title": {"type": "string"},
            "message": {"type": ["string", "null"]},
            "entity": {"type": ["string", "null"]},
            "record_id": {"type": ["integer", "null"]},
            "actor": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "read_at": {"type": ["string", "null"], "format": "date-time"},
            "read": {"type": "boolean"},
        },
        "required": ["id", "user", "topic", "title", "created_at", "read_at", "read"],
    },
    "NotificationPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema_ref("Notification")},
            "limit": {"type": "integer"},
            "unread": {"type": "integer", "description": "How many of the user's notifications are unread."},
            "next": {"type": ["string", "null"], "description": "The URL of the next page (null on the last)."},
        },
        "required": ["items", "limit", "unread", "next"],
    },
    "UnreadCount": {
        "type": "object",
        "properties": {"unread": {"type": "integer"}},
        "required": ["unread"],
    },
    "MarkedRead": {
        "type": "object",
        "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}},
        "required": ["marked", "unread"],
    },
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MIMETYPE: {"schema": schema_ref("Problem")}}}


RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": _problem("Bad input: a body that is not JSON, a wrong parameter, an invalid filter."),
    "Unauthorized": _problem(
        "No bearer token, or one that is unknown, revoked or expired, or whose user is "
        "inactive (the answer carries `WWW-Authenticate: Bearer`)."
    ),
    "Forbidden": _problem("The user's roles do not allow this operation, or a field they may not write."),
    "NotFound": _problem("No such entity, record, transition or scoring."),
    "Conflict": _problem(
        "The record changed since you read it (stale version), a unique value is taken, "
        "a reference restricts, a transition was refused, or a duplicate rule blocks the save "
        "(code `duplicate`, with `candidates`; send `allow_duplicate: true` to save anyway)."
    ),
    "PreconditionFailed": _problem(
        "The record changed since the version in If-Match (stale_version): read it again and redo the change."
    ),
    "TooLarge": _problem("The body is too large."),
    "UnsupportedMediaType": _problem("The body has a content type this operation does not take."),
    "Unprocessable": _problem("The record or definitions are invalid; `errors` names every problem."),
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "recordId": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 1},
    },
    "ifMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'The record\'s ETag (W/"3") as read; a newer version on the server is a 412.',
        "schema": {"type": "string"},
    },
    "ifNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": 'The ETag (W/"3") of the copy you have: 304 without a body while it is current.',
        "schema": {"type": "string"},
    },
    "lang": {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "The language of labels and of refusals' messages (else Accept-Language; else English).",
        "schema": {"type": "string", "enum": ["en", "zh"]},
    },
    "workflow": {
        "name": "workflow",
        "in": "query",
        "required": False,
        "description": _WORKFLOW_CHOICE + " (also in the body; both: the same one).",
        "schema": {"type": "string"},
    },
    "q": {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Free-text search: every word in the display field or another text field, any case.",
        "schema": {"type": "string", "maxLength": 200},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Where the page starts: the opaque cursor of a previous page's next link, "
        "with the same where, sort and q (not with offset).",
        "schema": {"type": "string"},
    },
    "view": {
        "name": "view",
        "in": "query",
        "required": False,
        "description": "A saved view's id (a number, or a view document's name): its filter, with relative "
        "values worked out, AND where; its sort unless sort is given (see docs/views.md).",
        "schema": {"type": "string"},
    },
    "where": {
        "name": "where",
        "in": "query",
        "required": False,
        "description": 'A filter as JSON: {"stage": "won", "amount": {"gte": 1000}} (see docs/records.md).',
        "schema": {"type": "string"},
    },
    "sort": {
        "name": "sort",
        "in": "query",
        "required": False,
        "description": "Fields, comma-separated, minus for descending: -amount,title.",
        "schema": {"type": "string"},
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE, "default": 50},
    },
    "offset": {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0},
    },
}

#: How clients authenticate: an API token (``crm token create USER``) as a bearer token.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "opaque (crm_...)",
        "description": "An API token from `crm token create USER`, sent as `Authorization: Bearer crm_...`.",
    },
}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": 'The record\'s version as a weak ETag: W/"3".', "schema": {"type": "string"}},
    "Link": {
        "description": 'The next page, when there is one: <URL>; rel="next" (the URL holds a cursor).',
        "schema": {"type": "string"},
    },
}
