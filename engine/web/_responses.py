"""JSON responses: records with their version as an ETag, lists as pages.

Values go through :func:`engine.storage.to_jsonable`, as everywhere else: decimals are
strings (``"12.50"``, never a float that loses cents), dates and times ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, request

from engine.duplicates import Candidate
from engine.records import record_json as record_json  # the views take it from here too
from engine.storage import to_jsonable

JSON_MIMETYPE = "application/json"


def _leaf(value: Any) -> Any:
    # called by the encoder only for what JSON has no type for (decimals, dates): the same
    # forms as to_jsonable, without walking every value of a page a second time
    return to_jsonable(value)


def dump_json(value: Any) -> str:
    """``value`` as compact JSON text, values in the engine's JSON forms (see ``to_jsonable``)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_leaf)
    except (TypeError, ValueError):  # keys that are not text, or a value referring to itself
        return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def json_response(value: Any, status: int = 200, *, headers: Mapping[str, str] | None = None) -> Response:
    """``value`` as an ``application/json`` response."""
    response = Response(dump_json(value), status=status, mimetype=JSON_MIMETYPE)
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def etag(version: int) -> str:
    """The weak entity tag of a record version: ``W/"3"``."""
    return f'W/"{version}"'


def _unchanged(version: int) -> bool:
    tags = request.if_none_match
    return bool(tags.star_tag or tags.contains_weak(str(version)))


def record_response(
    record: Mapping[str, Any],
    status: int = 200,
    *,
    location: str | None = None,
    duplicates: Sequence[Candidate] = (),
) -> Response:
    """One record, its version as the ETag (send it back in ``If-Match`` to update); a
    ``GET`` whose ``If-None-Match`` holds that ETag is answered 304 without a body. The
    candidates of duplicate rules a save matched go beside the fields as ``_duplicates``
    (no field can have that name)."""
    version = int(record["version"])
    headers = {"ETag": etag(version)}
    if request.method in ("GET", "HEAD") and _unchanged(version):
        return Response(status=304, headers=headers)
    if location is not None:
        headers["Location"] = location
    body = record_json(record)
    if duplicates:
        body["_duplicates"] = [c.to_json() for c in duplicates]
    return json_response(body, status, headers=headers)
