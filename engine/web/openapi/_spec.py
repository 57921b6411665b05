"""The OpenAPI 3.1 document of the API, built from the live definitions with apispec."""

from __future__ import annotations

import copy
from typing import Any

from apispec import APISpec

from engine.metadata import Definitions, EntityDef

from ._automation_paths import automation_paths
from ._bulk_paths import BULK_SCHEMAS, bulk_paths, bulk_values_schema
from ._components import HEADERS, PARAMETERS, RESPONSES, SCHEMAS, SECURITY_SCHEMES, schema_ref
from ._entity_schemas import input_schema, record_schema
from ._import_paths import IMPORT_SCHEMAS, import_paths
from ._job_paths import JOB_SCHEMAS, job_paths
from ._merge_paths import MERGE_SCHEMAS, entity_merge_paths, merge_paths
from ._notification_paths import notification_paths
from ._ownership_paths import OWNERSHIP_SCHEMAS, claim_paths, ownership_paths
from ._paths import entity_paths, event_paths, global_paths
from ._view_paths import VIEW_SCHEMAS, view_paths
from ._webhook_paths import SCHEMAS as WEBHOOK_SCHEMAS
from ._webhook_paths import webhook_paths

API_PREFIX = "/api/v1"
_DESCRIPTION = """\
The REST API of CRM Engine. Entities are whatever the applied definitions say; this document
is generated from them and changes when new definitions are applied.

Records carry a `version` (also the `ETag`, `W/"<version>"`); send it back in `If-Match` (or as
`version` in the body) to change or delete a record: if someone changed it since, the answer is
412 (409 for a body `version`); `If-None-Match` with the current ETag is 304. Every error is
`application/problem+json` with a stable `code` and `errors` that name the
field, JSON pointer, file or line of each problem.

Every operation except `/health` and this document needs an API token (`crm token create USER`)
sent as `Authorization: Bearer crm_...`: without a valid one the answer is 401. A token acts as
its user, with that user's roles: an operation the roles do not allow is 403, and a record
outside the user's row scope is 404, as if it did not exist. Fields hidden from the user's roles
are left out of every answer."""


def build_spec(definitions: Definitions | None, version: int) -> dict[str, Any]:
    """The OpenAPI document for ``definitions`` (None: nothing applied yet) at ``version``."""
    spec = APISpec(
        title="CRM Engine API",
        version=f"1.0.0+definitions.{version}",
        openapi_version="3.1.0",
        info={"description": _DESCRIPTION},
        servers=[{"url": API_PREFIX}],
    )
    _add_shared_components(spec)
    tags = [
        {"name": "meta", "description": "Health and the live definitions"},
        {"name": "admin", "description": "Definitions, presets and imports (administrators)"},
        {"name": "notifications", "description": "What notify actions told the calling user"},
        {"name": "merges", "description": "Record merges and their undo"},
        {"name": "views", "description": "Saved views: filters, sorts and columns of an entity's records"},
    ]
    entities = list(definitions.entities.values()) if definitions is not None else []
    for entity in entities:
        assert definitions is not None
        _add_entity(spec, entity, definitions)
        tags.append({"name": entity.name, "description": entity.label.en})
    names = [e.name for e in entities]
    for path, operations in {
        **global_paths(names),
        **event_paths(names),
        **automation_paths(),
        **notification_paths(),
        **job_paths(),
        **import_paths(),
        **webhook_paths(),
        **merge_paths(names),
        **ownership_paths(),
        **view_paths(),
    }.items():
        spec.path(path=path, operations=operations)
    out = spec.to_dict()
    out["tags"] = tags
    out["security"] = [{name: []} for name in SECURITY_SCHEMES]
    out["info"]["x-definitions-version"] = version
    return out


def _add_shared_components(spec: APISpec) -> None:
    """The schemas, responses, parameters, headers and security schemes every document has."""
    # apispec may complete what it is given in place; the module-level parts stay pristine
    for name, schema in {
        **SCHEMAS,
        **JOB_SCHEMAS,
        **IMPORT_SCHEMAS,
        **WEBHOOK_SCHEMAS,
        **MERGE_SCHEMAS,
        **OWNERSHIP_SCHEMAS,
        **BULK_SCHEMAS,
        **VIEW_SCHEMAS,
    }.items():
        spec.components.schema(name, copy.deepcopy(schema))
    for name, response in RESPONSES.items():
        spec.components.response(name, copy.deepcopy(response))
    for name, parameter in PARAMETERS.items():
        fields = {k: copy.deepcopy(v) for k, v in parameter.items() if k != "in"}
        spec.components.parameter(name, parameter["in"], fields)
    for name, header in HEADERS.items():
        spec.components.header(name, copy.deepcopy(header))
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, copy.deepcopy(scheme))


def _add_entity(spec: APISpec, entity: EntityDef, definitions: Definitions) -> None:
    """The schemas of one entity's records (as read, created, changed, and a page) and its paths."""
    driven = frozenset(w.field for w in definitions.workflows_for(entity.name))
    spec.components.schema(entity.name, record_schema(entity))
    spec.components.schema(f"{entity.name}.create", input_schema(entity, update=False, driven=driven))
    spec.components.schema(f"{entity.name}.update", input_schema(entity, update=True, driven=driven))
    spec.components.schema(f"{entity.name}.page", _page_schema(entity.name))
    spec.components.schema(f"{entity.name}.bulk", bulk_values_schema(entity))
    for path, operations in {
        **entity_paths(entity, definitions),
        **entity_merge_paths(entity.name),
        **claim_paths(entity.name),
    }.items():
        spec.path(path=path, operations=operations)
    for path, operations in bulk_paths(entity.name).items():  # beside list and create: apispec merges
        spec.path(path=path, operations=operations)


def _page_schema(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema_ref(name)},
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next": {
                "type": ["string", "null"],
                "description": "The URL of the next page (with a cursor), as in the Link header; "
                "null on the last page.",
            },
        },
        "required": ["items", "total", "limit", "offset", "next"],
    }
