"""``/records/ENTITY[/ID]``: list, create, read, update and delete records of any entity."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, request, url_for

from engine.duplicates import Candidate
from engine.errors import Problem
from engine.metadata import EntityDef
from engine.records import MAX_PAGE
from engine.runtime import CrmEngine

from .._problems import InvalidBodyError, InvalidParameterError
from .._requests import (
    MAX_OFFSET,
    expected_version,
    int_param,
    json_object,
    parse_record_id,
    sort_param,
    where_param,
)
from .._responses import json_response, record_json, record_response
from .._users import current_user
from . import _cursors
from ._lookup import resolved

LIST_PARAMETERS = ("where", "sort", "q", "limit", "offset", "cursor", "view")
DEFAULT_LIMIT = 50


@resolved(params=LIST_PARAMETERS)
def list_records(engine: CrmEngine, entity: EntityDef) -> Response:
    """A page of records matching ``where`` and the search ``q``, sorted by ``sort``; from
    ``offset``, or after the record a ``cursor`` (of a ``next`` link) names. ``view`` (a
    saved view's id) adds the view's filter and, unless ``sort`` is given, its sort."""
    where, sort, search = where_param(), sort_param(), request.args.get("q")
    view = request.args.get("view")
    if view is not None:  # the view's filter AND the one given; its sort unless one is given
        applied = engine.views.apply(view, entity=entity.name, user=current_user())
        if applied.where is not None:
            where = applied.where if where is None else {"and": [applied.where, where]}
        sort = sort or (",".join(applied.sort) or None)
    limit = int_param("limit", DEFAULT_LIMIT, maximum=MAX_PAGE)
    keys = _cursors.order_keys(entity, sort)
    bound = _cursors.binding(entity.name, where, sort, search)
    token = request.args.get("cursor")
    if token is not None and "offset" in request.args:
        raise InvalidParameterError(
            "give either cursor or offset: a cursor says where the page starts",
            [Problem(code="cursor_and_offset", field="cursor", message="cursor and offset exclude each other")],
        )
    if token is None:
        seen = int_param("offset", 0, maximum=MAX_OFFSET)
        page = engine.records.list(
            entity.name, where=where, sort=sort, search=search, limit=limit, offset=seen, actor=current_user()
        )
        total = page.total
    else:
        cursor = _cursors.decode(token, bound, keys)
        assert keys is not None  # a cursor is only made for a list with keys
        after = _cursors.keyset_where(keys, cursor)
        page = engine.records.list(
            entity.name,
            where=after if where is None else {"and": [where, after]},
            sort=sort,
            search=search,
            limit=limit,
            actor=current_user(),
        )
        seen = cursor.seen
        total = seen + page.total  # what came before, and what is left
    items = [record_json(r) for r in page.items]
    following = _next_link(entity.name, keys, bound, items, seen, limit, total)
    headers = {"Link": f'<{following}>; rel="next"'} if following else None
    return json_response(
        {"items": items, "total": total, "limit": page.limit, "offset": seen, "next": following}, headers=headers
    )


def _next_link(
    entity: str,
    keys: tuple[_cursors.SortKey, ...] | None,
    bound: str,
    items: list[dict[str, Any]],
    seen: int,
    limit: int,
    total: int,
) -> str | None:
    """The URL of the next page, or None when this one is the last."""
    if not items or len(items) < limit or seen + len(items) >= total:
        return None
    args = {k: v for k, v in request.args.items() if k not in ("offset", "cursor")}
    values = None if keys is None else _cursors.last_values(keys, items[-1])
    if keys is None or values is None:
        args["offset"] = str(seen + len(items))  # sorted by values without an order a cursor can use
    else:
        args["cursor"] = _cursors.encode(bound, values, seen + len(items))
    return f"{url_for('.list_records', entity=entity)}?{urlencode(args)}"


@resolved()
def create_record(engine: CrmEngine, entity: EntityDef) -> Response:
    """Create a record; ``"allow_duplicate": true`` saves it despite a block duplicate rule,
    and the candidates of the rules that matched come back as ``_duplicates``."""
    data = json_object()
    allow = allow_duplicate(entity, data)
    found: list[Candidate] = []
    created = engine.records.create(
        entity.name, data, actor=current_user(), allow_duplicate=allow, found_duplicates=found
    )
    location = url_for(".get_record", entity=entity.name, record_id=str(created["id"]))
    return record_response(created, 201, location=location, duplicates=found)


@resolved()
def get_record(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    return record_response(engine.records.get(entity.name, parse_record_id(record_id), actor=current_user()))


@resolved()
def update_record(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    """A partial update; the version read comes from If-Match or the body's ``version``."""
    changes = json_object()
    version = expected_version(changes)
    changes.pop("version", None)
    allow = allow_duplicate(entity, changes)
    found: list[Candidate] = []
    updated = engine.records.update(
        entity.name,
        parse_record_id(record_id),
        changes,
        expected_version=version,
        actor=current_user(),
        allow_duplicate=allow,
        found_duplicates=found,
    )
    return record_response(updated, duplicates=found)


def allow_duplicate(entity: EntityDef, body: dict[str, Any]) -> bool:
    """Take ``allow_duplicate`` out of a record body (unless the entity has such a field)."""
    if "allow_duplicate" in entity.fields or "allow_duplicate" not in body:
        return False
    value = body.pop("allow_duplicate")
    if not isinstance(value, bool):
        raise InvalidBodyError(
            "allow_duplicate must be true or false",
            [Problem(code="type", message="expected true or false", pointer="/allow_duplicate")],
        )
    return value


@resolved()
def delete_record(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    body = json_object(allowed=("version",), optional=True)
    engine.records.delete(
        entity.name, parse_record_id(record_id), expected_version=expected_version(body), actor=current_user()
    )
    return Response(status=204)


ROUTES = (
    ("/records/<entity>", list_records, ("GET",)),
    ("/records/<entity>", create_record, ("POST",)),
    ("/records/<entity>/<record_id>", get_record, ("GET",)),
    ("/records/<entity>/<record_id>", update_record, ("PATCH",)),
    ("/records/<entity>/<record_id>", delete_record, ("DELETE",)),
)
