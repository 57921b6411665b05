"""The operations of the API, per entity (from the live definitions) and global."""

from __future__ import annotations

from typing import Any

from engine.events import EVENT_TYPES, MAX_EVENTS
from engine.metadata import Definitions, EntityDef

from .._problems import PROBLEM_MIMETYPE
from .._responses import JSON_MIMETYPE
from ._components import ref, schema_ref
from ._import_paths import IMPORT_FORMAT_PARAMETERS

Operation = dict[str, Any]
Paths = dict[str, dict[str, Operation]]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON_MIMETYPE: {"schema": schema}}


def _ok(description: str, schema: dict[str, Any], *, etag: bool = False, status: str = "200") -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(schema)}
    if etag:
        response["headers"] = {"ETag": ref("headers", "ETag")}
    return {status: response}


def _page(schema: dict[str, Any]) -> dict[str, Any]:
    page = _ok("A page of records", schema)
    page["200"]["headers"] = {"Link": ref("headers", "Link")}
    return page


def _problems(*statuses: int) -> dict[str, Any]:
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        412: "PreconditionFailed",
        413: "TooLarge",
        415: "UnsupportedMediaType",
        422: "Unprocessable",
    }
    return {str(s): ref("responses", names[s]) for s in sorted({400, 401, 403, *statuses})}


def _op(
    op_id: str, tag: str, summary: str, responses: dict[str, Any], *, public: bool = False, **extra: Any
) -> Operation:
    """An operation; every one needs a bearer token (the document's ``security``) unless ``public``."""
    # parameters given by name are apispec's references to components.parameters
    parameters = extra.pop("parameters", [])
    if "lang" not in parameters:  # every operation takes it: the language of labels and refusals
        parameters = [*parameters, "lang"]
    if "400" not in responses:  # and refuses a lang it does not speak
        responses = {**responses, "400": ref("responses", "BadRequest")}
    if not public:
        responses = {
            **responses,
            **{s: ref("responses", n) for s, n in (("401", "Unauthorized"), ("403", "Forbidden"))},
        }
    operation = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses, **extra}
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    return operation


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": _json(schema)}


def _name_param(name: str, values: list[str], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "enum": values},
    }


def entity_paths(entity: EntityDef, definitions: Definitions) -> Paths:
    """The record, workflow and score operations of one entity."""
    n = entity.name
    transitions = sorted({t for w in definitions.workflows_for(n) for t in w.transitions})
    scorings = sorted(s.name for s in definitions.scorings_for(n))
    return {
        **_record_paths(n),
        **(_workflow_paths(n, transitions) if transitions else {}),
        **(_score_paths(n, scorings) if scorings else {}),
    }


#: The path parameter of a record's id (components.parameters).
_RECORD_ID = "recordId"


def _record_paths(n: str) -> Paths:
    """List, create, read, change and delete records of the entity ``n``."""
    record = schema_ref(n)
    rid = _RECORD_ID
    return {
        f"/records/{n}": {
            "get": _op(
                f"{n}.list",
                n,
                f"List {n} records (filter, sort, page)",
                {**_page(schema_ref(f"{n}.page")), **_problems(404)},
                parameters=["where", "sort", "q", "limit", "offset", "cursor", "view"],
            ),
            "post": _op(
                f"{n}.create",
                n,
                f"Create a {n}",
                {**_ok("The record created", record, etag=True, status="201"), **_problems(404, 409, 415, 422)},
                requestBody=_body(schema_ref(f"{n}.create")),
            ),
        },
        f"/records/{n}/{{id}}": {
            "get": _op(
                f"{n}.get",
                n,
                f"Read a {n}",
                {
                    **_ok("The record", record, etag=True),
                    "304": {"description": "Not modified (If-None-Match holds the current ETag)"},
                    **_problems(404),
                },
                parameters=[rid, "ifNoneMatch"],
            ),
            "patch": _op(
                f"{n}.update",
                n,
                f"Change fields of a {n}",
                {**_ok("The record after the change", record, etag=True), **_problems(404, 409, 412, 415, 422)},
                parameters=[rid, "ifMatch"],
                requestBody=_body(schema_ref(f"{n}.update")),
            ),
            "delete": _op(
                f"{n}.delete",
                n,
                f"Delete a {n} (references follow their on_delete)",
                {"204": {"description": "Deleted"}, **_problems(404, 409, 412)},
                parameters=[rid, "ifMatch"],
            ),
        },
    }


def _workflow_paths(n: str, transitions: list[str]) -> Paths:
    """What a record of the entity ``n`` may do next, doing it, and its history."""
    record = schema_ref(n)
    rid = _RECORD_ID
    return {
        f"/records/{n}/{{id}}/transitions": {
            "get": _op(
                f"{n}.transitions",
                n,
                "Transitions the user may run now, and why not the others",
                {
                    **_ok(
                        "Every transition with its refusals",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": schema_ref("TransitionCheck")}},
                        },
                    ),
                    **_problems(404),
                },
                parameters=[rid, "lang"],
            ),
        },
        f"/records/{n}/{{id}}/transitions/{{transition}}": {
            "post": _op(
                f"{n}.run_transition",
                n,
                "Run a transition",
                {**_ok("The record after the transition", record, etag=True), **_problems(404, 409, 412, 415, 422)},
                parameters=[
                    rid,
                    _name_param("transition", transitions, "The transition to run."),
                    "ifMatch",
                    "workflow",
                ],
                requestBody=_body(schema_ref("TransitionRun"), required=False),
            ),
        },
        f"/records/{n}/{{id}}/history": {
            "get": _op(
                f"{n}.history",
                n,
                "Every state change, oldest first",
                {
                    **_ok(
                        "The history",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": schema_ref("HistoryEntry")}},
                        },
                    ),
                    **_problems(404),
                },
                parameters=[rid],
            ),
        },
    }


def _score_paths(n: str, scorings: list[str]) -> Paths:
    """A record's scores with their factors, and overriding them."""
    rid = _RECORD_ID
    scoring = _name_param("scoring", scorings, "The scoring.")
    return {
        f"/records/{n}/{{id}}/scores": {
            "get": _op(
                f"{n}.scores",
                n,
                "Scores with the factors that explain them",
                {
                    **_ok(
                        "Every scoring of the record",
                        {"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("Score")}}},
                    ),
                    **_problems(404),
                },
                parameters=[rid, "lang"],
            ),
        },
        f"/records/{n}/{{id}}/scores/{{scoring}}/override": {
            "put": _op(
                f"{n}.override",
                n,
                "Override a score (stays until cleared)",
                {**_ok("The score", schema_ref("Score")), **_problems(404, 415)},
                parameters=[rid, scoring],
                requestBody=_body(schema_ref("ScoreOverride")),
            ),
            "delete": _op(
                f"{n}.clear_override",
                n,
                "Clear an override",
                {**_ok("The score", schema_ref("Score")), **_problems(404)},
                parameters=[rid, scoring],
            ),
        },
    }


def _items(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"version": {"type": "integer"}, "items": {"type": "array", "items": schema_ref(name)}},
    }


def _bundle_body() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"bundle": {"type": "string", "contentMediaType": "application/zip"}},
                }
            },
            JSON_MIMETYPE: {"schema": schema_ref("BundleFiles")},
        },
    }


def global_paths(entities: list[str]) -> Paths:
    """Health, the definitions, and the admin operations."""
    names: dict[str, Any] = {"type": "string", **({"enum": entities} if entities else {})}
    entity_param = {"name": "name", "in": "path", "required": True, "schema": names}
    return {
        **_meta_paths(entity_param),
        **_definition_paths(),
        **_loading_paths({**entity_param, "name": "entity"}),
    }


def _meta_paths(entity_param: dict[str, Any]) -> Paths:
    """Health, the live definitions, the presets, and this document."""
    return {
        "/health": {
            "get": _op(
                "health",
                "meta",
                "The database answers; the definitions version served",
                {
                    **_ok("Healthy", schema_ref("Health")),
                    "503": {
                        "description": "The database cannot be reached",
                        "content": {PROBLEM_MIMETYPE: {"schema": schema_ref("Problem")}},
                    },
                },
                public=True,
            )
        },
        "/entities": {"get": _op("entities", "meta", "The entities", _ok("Every entity", _items("EntitySummary")))},
        "/entities/{name}": {
            "get": _op(
                "entity",
                "meta",
                "An entity with its fields, labels, types and choices",
                {**_ok("The entity", schema_ref("Entity")), **_problems(404)},
                parameters=[entity_param],
            )
        },
        "/workflows": {"get": _op("workflows", "meta", "The workflows", _ok("Every workflow", _items("Workflow")))},
        "/scorings": {"get": _op("scorings", "meta", "The scorings", _ok("Every scoring", _items("Scoring")))},
        "/presets": {
            "get": _op(
                "presets",
                "meta",
                "The presets that ship with the engine, and those loaded",
                _ok(
                    "The presets",
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": schema_ref("Preset")},
                            "installed": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ),
            )
        },
        "/openapi.json": {
            "get": _op("openapi", "meta", "This document", _ok("OpenAPI 3.1", {"type": "object"}), public=True)
        },
    }


def _definition_paths() -> Paths:
    """Checking, comparing and applying uploaded definitions."""
    return {
        "/admin/definitions/validate": {
            "post": _op(
                "definitions.validate",
                "admin",
                "Check a bundle (zip or JSON files)",
                {**_ok("Valid: what it defines", schema_ref("BundleSummary")), **_problems(403, 413, 415, 422)},
                requestBody=_bundle_body(),
            )
        },
        "/admin/definitions/diff": {
            "post": _op(
                "definitions.diff",
                "admin",
                "What applying a bundle would change",
                {**_ok("The plan", schema_ref("MigrationPlan")), **_problems(403, 413, 415, 422)},
                requestBody=_bundle_body(),
            )
        },
        "/admin/definitions/apply": {
            "post": _op(
                "definitions.apply",
                "admin",
                "Migrate the database to a bundle (all or nothing)",
                {
                    **_ok("The plan carried out and the new version", schema_ref("MigrationPlan")),
                    **_problems(403, 409, 413, 415, 422),
                },
                parameters=[
                    {"name": "allow_data_loss", "in": "query", "required": False, "schema": {"type": "boolean"}},
                    {
                        "name": "expected_version",
                        "in": "query",
                        "required": False,
                        "description": "Refuse (409) unless the live definitions are at this version.",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                requestBody=_bundle_body(),
            )
        },
    }


def _loading_paths(import_param: dict[str, Any]) -> Paths:
    """Loading a preset, and importing records from CSV."""
    return {
        "/admin/presets/{name}/load": {
            "post": _op(
                "presets.load",
                "admin",
                "Load a preset (optionally an industry variant and demo data)",
                {**_ok("Loaded", schema_ref("PresetLoaded")), **_problems(403, 409, 415)},
                parameters=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                requestBody=_body(schema_ref("PresetLoad"), required=False),
            )
        },
        "/admin/import/{entity}": {
            "post": _op(
                "records.import",
                "admin",
                "Import records from CSV (header = field names, or reference.key such as account.code)",
                {**_ok("The import report", schema_ref("ImportReport")), **_problems(403, 404, 409, 413, 415, 422)},
                parameters=[
                    import_param,
                    {
                        "name": "on_error",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["abort", "skip"], "default": "abort"},
                    },
                    {
                        "name": "key",
                        "in": "query",
                        "required": False,
                        "description": "Upsert on this field (id or a unique field).",
                        "schema": {"type": "string"},
                    },
                    *IMPORT_FORMAT_PARAMETERS,
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
                            }
                        },
                    },
                },
            )
        },
    }


def event_paths(entities: list[str]) -> Paths:
    """The outbox: events of committed writes (administrators only)."""
    parameters: list[dict[str, Any]] = [
        {
            "name": "since",
            "in": "query",
            "required": False,
            "description": "Only events with a larger id (pass the last next_since; ids rise in commit order).",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        {
            "name": "entity",
            "in": "query",
            "required": False,
            "schema": {"type": "string", **({"enum": entities} if entities else {})},
        },
        {"name": "type", "in": "query", "required": False, "schema": {"type": "string", "enum": list(EVENT_TYPES)}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS, "default": 100},
        },
    ]
    return {
        "/events": {
            "get": _op(
                "events.list",
                "admin",
                "Events of committed writes after an id, oldest first",
                {**_ok("A page of events", schema_ref("EventPage")), **_problems(403, 404)},
                parameters=parameters,
            )
        }
    }
