"""``/admin/imports``: the record of imports and their revert (administrators only), and the
query parameters that say how an uploaded import file reads (shared with
``POST /admin/import/{entity}``)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine.errors import NotFoundError
from engine.runtime import CrmEngine
from engine.transfer import ENCODINGS, ImportFormat, check_mapping, delimiter_of, list_imports, revert_import

from .._requests import MAX_ID, bool_param, choice_param, int_param, json_param
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

#: The query parameters of ``POST /admin/import/{entity}``.
IMPORT_PARAMS = ("on_error", "key", "dry_run", "allow_duplicate", "delimiter", "encoding", "map")
#: Imports one list answer holds at most.
MAX_IMPORTS = 500


def import_options() -> tuple[bool, ImportFormat]:
    """``dry_run`` and the file format from the query: ``delimiter``, ``encoding`` and
    ``map`` (a JSON object of CSV column → field)."""
    encoding: Any = choice_param("encoding", ENCODINGS, "utf-8")
    mapping = json_param("map")
    file_format = ImportFormat(
        delimiter=delimiter_of(request.args.get("delimiter")),
        encoding=encoding,
        mapping=check_mapping(mapping, "the map parameter") if mapping is not None else {},
        mapping_source="the map parameter",
    )
    return bool_param("dry_run"), file_format


@resolved(params=("entity", "limit"), admin=True)
def list_import_records(engine: CrmEngine) -> Response:
    """The latest imports, newest first (``entity``: of one entity)."""
    limit = int_param("limit", 50, minimum=1, maximum=MAX_IMPORTS)
    entity = request.args.get("entity") or None
    return json_response({"items": list_imports(engine, entity=entity, limit=limit)})


@resolved(admin=True)
def revert_import_view(engine: CrmEngine, import_id: str) -> Response:
    """Undo an import: 409 naming the records when a later change would be lost."""
    if not import_id.isascii() or not import_id.isdigit() or not 1 <= int(import_id) <= MAX_ID:
        raise NotFoundError(f"{import_id!r} is not an import id; ids are whole numbers from 1")
    return json_response(revert_import(engine, int(import_id), actor=current_user()).to_json())


ROUTES = (
    ("/admin/imports", list_import_records, ("GET",)),
    ("/admin/imports/<import_id>/revert", revert_import_view, ("POST",)),
)
