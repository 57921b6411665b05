"""``/records/ENTITY[/ID]``: list, create, read, update and delete records of any entity."""

from __future__ import annotations

from flask import Response, url_for

from engine.records import MAX_PAGE

from .._requests import (
    MAX_OFFSET,
    check_params,
    expected_version,
    int_param,
    json_object,
    parse_record_id,
    sort_param,
    where_param,
)
from .._responses import json_response, record_json, record_response
from .._state import current_engine
from .._users import current_user
from . import _lookup

LIST_PARAMETERS = ("where", "sort", "limit", "offset")
DEFAULT_LIMIT = 50


def list_records(entity: str) -> Response:
    """A page of records matching ``where``, sorted by ``sort``."""
    engine = current_engine()
    _lookup.entity(engine, entity)
    check_params(LIST_PARAMETERS)
    page = engine.records.list(
        entity,
        where=where_param(),
        sort=sort_param(),
        limit=int_param("limit", DEFAULT_LIMIT, maximum=MAX_PAGE),
        offset=int_param("offset", 0, maximum=MAX_OFFSET),
        user=current_user(),
    )
    return json_response(
        {"items": [record_json(r) for r in page.items], "total": page.total, "limit": page.limit, "offset": page.offset}
    )


def create_record(entity: str) -> Response:
    engine = current_engine()
    _lookup.entity(engine, entity)
    check_params(())
    data = json_object()
    created = engine.records.create(entity, data, user=current_user())
    location = url_for(".get_record", entity=entity, record_id=str(created["id"]))
    return record_response(created, 201, location=location)


def get_record(entity: str, record_id: str) -> Response:
    engine = current_engine()
    _lookup.entity(engine, entity)
    check_params(())
    return record_response(engine.records.get(entity, parse_record_id(record_id), user=current_user()))


def update_record(entity: str, record_id: str) -> Response:
    """A partial update; the version read comes from If-Match or the body's ``version``."""
    engine = current_engine()
    _lookup.entity(engine, entity)
    check_params(())
    changes = json_object()
    version = expected_version(changes)
    changes.pop("version", None)
    updated = engine.records.update(
        entity, parse_record_id(record_id), changes, expected_version=version, user=current_user()
    )
    return record_response(updated)


def delete_record(entity: str, record_id: str) -> Response:
    engine = current_engine()
    _lookup.entity(engine, entity)
    check_params(())
    body = json_object(allowed=("version",), optional=True)
    engine.records.delete(
        entity, parse_record_id(record_id), expected_version=expected_version(body), user=current_user()
    )
    return Response(status=204)


ROUTES = (
    ("/records/<entity>", list_records, ("GET",)),
    ("/records/<entity>", create_record, ("POST",)),
    ("/records/<entity>/<record_id>", get_record, ("GET",)),
    ("/records/<entity>/<record_id>", update_record, ("PATCH",)),
    ("/records/<entity>/<record_id>", delete_record, ("DELETE",)),
)
