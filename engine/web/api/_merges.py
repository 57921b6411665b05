"""``/records/ENTITY/ID/merge`` and ``/merges``: merge a record into another, list merges, and
undo one. The merge service decides everything; a view reads the body and asks."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine.errors import NotFoundError, Problem
from engine.merge import MAX_MERGES
from engine.metadata import EntityDef
from engine.runtime import CrmEngine

from .._problems import InvalidBodyError
from .._requests import MAX_ID, int_param, json_object, parse_record_id
from .._responses import json_response, record_json
from .._users import current_user
from ._lookup import resolved

MERGE_KEYS = ("into", "take")


@resolved()
def merge_record(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    """Merge the record into ``into``, taking the source's values of the fields in ``take``;
    the merge, with the target as it now is under ``record``."""
    body = json_object(allowed=MERGE_KEYS)
    into = body.get("into")
    if isinstance(into, bool) or not isinstance(into, int) or not 1 <= into <= MAX_ID:
        raise InvalidBodyError(
            "into must be the id of the record to merge into",
            [Problem(code="type", pointer="/into", message="expected a record id")],
        )
    merged = engine.merges.merge(
        entity.name, parse_record_id(record_id), into=into, take=_take(body.get("take")), actor=current_user()
    )
    merged.pop("source_row", None)
    merged["record"] = record_json(merged["record"])
    return json_response(merged)


def _take(value: Any) -> dict[str, str]:
    """``take``: the fields whose source value the merged record keeps (a list of names)."""
    if value is None:
        return {}
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidBodyError(
            'take must be a list of field names, like ["phone", "email"]',
            [Problem(code="type", pointer="/take", message="expected a list of field names")],
        )
    return {name: "source" for name in value}


@resolved(params=("entity", "limit"))
def list_merges(engine: CrmEngine) -> Response:
    """Merges, newest first (of ``entity`` when given)."""
    limit = int_param("limit", 50, minimum=1, maximum=MAX_MERGES)
    found = engine.merges.list(request.args.get("entity"), limit=limit, actor=current_user())
    return json_response({"items": found})


@resolved()
def get_merge(engine: CrmEngine, merge_id: str) -> Response:
    """One merge, with the source record as it was before it."""
    return json_response(engine.merges.get(_merge_id(merge_id), actor=current_user()))


@resolved()
def undo_merge(engine: CrmEngine, merge_id: str) -> Response:
    """Undo a merge (409 naming what changed since, when that would be lost)."""
    json_object(allowed=(), optional=True)
    return json_response(engine.merges.undo(_merge_id(merge_id), actor=current_user()))


def _merge_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise NotFoundError(f"{text!r} is not a merge id; ids are whole numbers from 1")
    return int(text)


ROUTES = (
    ("/records/<entity>/<record_id>/merge", merge_record, ("POST",)),
    ("/merges", list_merges, ("GET",)),
    ("/merges/<merge_id>", get_merge, ("GET",)),
    ("/merges/<merge_id>/undo", undo_merge, ("POST",)),
)
