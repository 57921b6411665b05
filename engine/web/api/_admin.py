"""``/admin``: check, diff and apply uploaded definitions, load presets, import CSV.

Every operation here needs an administrator (see :func:`engine.web._users.require_admin`).
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, request

from engine.errors import DefinitionError, Problem
from engine.metadata import Definitions, EntityDef, load_definitions
from engine.presets import load_preset, resolve
from engine.runtime import CrmEngine
from engine.transfer import import_csv

from .._problems import InvalidBodyError, InvalidParameterError
from .._requests import MAX_ID, bool_param, choice_param, json_object, optional_int_param
from .._responses import json_response
from .._users import current_user
from ._imports import IMPORT_PARAMS, import_options
from ._lookup import resolved
from ._metadata_json import entity_summary
from ._uploads import UploadedBundle, problems_in_upload, uploaded_bundle, uploaded_csv

#: Demo records one request may ask for (more is a job for ``crm preset load --demo``).
MAX_DEMO = 20_000
PRESET_KEYS = ("industry", "demo", "seed", "allow_data_loss")


def load_upload(engine: CrmEngine, bundle: UploadedBundle) -> Definitions:
    try:
        return load_definitions(bundle.path, scorer_schemas=engine.scoring.registry.config_schemas())
    except DefinitionError as error:
        raise DefinitionError(problems_in_upload(error.problems, bundle), error.message) from None


def _summary(definitions: Definitions) -> dict[str, Any]:
    return {
        "name": definitions.name,
        "bundles": list(definitions.bundles),
        "entities": [entity_summary(e) for e in definitions.entities.values()],
        "workflows": sorted(definitions.workflows),
        "scorings": sorted(definitions.scorings),
    }


@resolved(admin=True)
def validate_definitions(engine: CrmEngine) -> Response:
    """Check an uploaded bundle; 200 with what it defines, or 422 with every problem
    (each with its file and JSON pointer)."""
    with uploaded_bundle() as bundle:
        definitions = load_upload(engine, bundle)
    return json_response({"valid": True, **_summary(definitions)})


@resolved(admin=True)
def diff_definitions(engine: CrmEngine) -> Response:
    """What applying the uploaded bundle would change, with the rows each step touches."""
    with uploaded_bundle() as bundle:
        definitions = load_upload(engine, bundle)
    return json_response(engine.plan(definitions).to_json())


@resolved(params=("allow_data_loss", "expected_version"), admin=True)
def apply_definitions(engine: CrmEngine) -> Response:
    """Migrate the database to the uploaded bundle (all or nothing).

    ``allow_data_loss=true`` permits steps that drop data; ``expected_version=N`` refuses
    (409) when someone applied other definitions since the diff you looked at.
    """
    allow_data_loss = bool_param("allow_data_loss")
    expected = optional_int_param("expected_version", minimum=0, maximum=MAX_ID)
    with uploaded_bundle() as bundle:
        definitions = load_upload(engine, bundle)
    version, plan = engine.apply(
        definitions,
        allow_data_loss=allow_data_loss,
        actor=current_user().name,
        expected_version=expected,
    )
    return json_response({**plan.to_json(), "version": version})


@resolved(admin=True)
def load_preset_view(engine: CrmEngine, name: str) -> Response:
    """Load a preset (optionally an industry variant, optionally with demo data)."""
    body = json_object(allowed=PRESET_KEYS, optional=True)
    industry = _optional_text(body, "industry")
    demo = _optional_int(body, "demo", 0, MAX_DEMO)
    seed = _optional_int(body, "seed", 7, 2**31 - 1)
    allow_data_loss = body.get("allow_data_loss", False)
    if not isinstance(allow_data_loss, bool):
        raise _bad_body("allow_data_loss", "expected true or false")
    resolve(name, industry)  # an unknown preset or industry is a 400 naming what exists
    result = load_preset(engine, name, industry=industry, allow_data_loss=allow_data_loss, actor=current_user().name)
    out: dict[str, Any] = {
        "version": result.version,
        "presets": list(result.bundles),
        "changes": len(result.plan.steps),
    }
    if demo:
        from engine.presets import generate_demo

        out["demo"] = generate_demo(engine, resolve(name, industry).name, demo, seed=seed)
    return json_response(out)


@resolved(params=IMPORT_PARAMS, admin=True)
def import_records(engine: CrmEngine, entity: EntityDef) -> Response:
    """Import a CSV (header = field names). ``on_error=abort`` (default): any bad line
    imports nothing and answers 422 naming every line; ``skip``: the good lines go in.
    ``dry_run``, ``delimiter``, ``encoding`` and ``map``: see :func:`import_options`;
    ``allow_duplicate``: import the lines a block duplicate rule matches (reported)."""
    skip = choice_param("on_error", ("abort", "skip"), "abort") == "skip"
    on_error: Literal["abort", "skip"] = "skip" if skip else "abort"
    key = _key_param(entity)
    dry_run, file_format = import_options()
    with uploaded_csv() as path:
        report = import_csv(
            engine,
            entity.name,
            path,
            on_error=on_error,
            key=key,
            actor=current_user(),
            dry_run=dry_run,
            file_format=file_format,
            allow_duplicate=bool_param("allow_duplicate"),
        )
    return json_response(report.to_json())


def _key_param(entity: EntityDef) -> str | None:
    key = request.args.get("key")
    if key is None or key == "":
        return None
    if key != "id" and key not in entity.fields:
        raise InvalidParameterError(
            f'key: {entity.name} has no field "{key}"',
            [Problem(code="unknown_field", field="key", message=f'no field "{key}"')],
        )
    return key


def _bad_body(key: str, message: str) -> InvalidBodyError:
    return InvalidBodyError(f"{key}: {message}", [Problem(code="type", pointer=f"/{key}", message=message)])


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value or len(value) > 200):
        raise _bad_body(key, "expected a name")
    return value


def _optional_int(body: dict[str, Any], key: str, default: int, maximum: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _bad_body(key, f"expected a whole number from 0 to {maximum}")
    return value


ROUTES = (
    ("/admin/definitions/validate", validate_definitions, ("POST",)),
    ("/admin/definitions/diff", diff_definitions, ("POST",)),
    ("/admin/definitions/apply", apply_definitions, ("POST",)),
    ("/admin/presets/<name>/load", load_preset_view, ("POST",)),
    ("/admin/import/<entity>", import_records, ("POST",)),
)
