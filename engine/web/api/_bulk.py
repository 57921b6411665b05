"""``PATCH /records/ENTITY``: the same values over many records, a result per record.

The answer is 200 whatever each record's fate (207-style semantics in a 200 body): every
record has its result (``ok``, its ``version``, the ``changes`` old → new, and the ``errors``
of a refusal, each naming its field), and ``updated`` and ``refused`` count them. What the
request as a whole gets wrong is a problem+json 4xx: a malformed body (400, an unknown field
named by its pointer ``/values/FIELD``), an entity the user may not update at all or a field
they may not write (403), more than :data:`~engine.records.MAX_BULK` records (413).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from engine.errors import Problem
from engine.metadata import EntityDef
from engine.records import BulkOutcome, BulkResult
from engine.runtime import CrmEngine

from .._language import RecordRefusal, localized
from .._problems import InvalidBodyError
from .._requests import json_object
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved
from ._workflow import MAX_COMMENT

BULK_KEYS = ("ids", "values", "dry_run", "atomic", "versions", "inputs", "comment")


@resolved()
def bulk_update(engine: CrmEngine, entity: EntityDef) -> Response:
    """Write ``values`` over every record of ``ids`` (``dry_run``: only say what would change)."""
    body = json_object(allowed=BULK_KEYS)
    for key in ("ids", "values"):
        if key not in body:
            raise InvalidBodyError(
                f'{key} is required: {{"ids": [1, 2], "values": {{"field": "value"}}}}',
                [Problem(code="required", pointer=f"/{key}", message=f"{key} is required")],
            )
    inputs = _object(body, "inputs")
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise InvalidBodyError(
            f"comment must be text of at most {MAX_COMMENT} characters",
            [Problem(code="type", pointer="/comment", message=f"expected text of at most {MAX_COMMENT} characters")],
        )
    outcome = engine.records.bulk_update(
        entity.name,
        body["ids"],
        body["values"],
        actor=current_user(),
        versions=_versions(body),
        inputs=inputs,
        comment=comment,
        dry_run=_flag(body, "dry_run"),
        atomic=_flag(body, "atomic"),
    )
    return json_response(outcome_json(outcome))


def outcome_json(outcome: BulkOutcome) -> dict[str, Any]:
    """The answer: every record's result (refusals in the request's language) and the counts."""
    return {
        "results": [_result(r) for r in outcome.results],
        "updated": outcome.updated,
        "refused": outcome.refused,
        "dry_run": outcome.dry_run,
        "applied": outcome.applied,
    }


def _result(result: BulkResult) -> dict[str, Any]:
    if result.error is None:
        return result.to_json()
    detail, problems = localized(result.error, RecordRefusal(result.record, result.transition))
    return {**result.to_json(problems or None), "message": detail}


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidBodyError(
            f"{key} must be true or false",
            [Problem(code="type", pointer=f"/{key}", message="expected true or false")],
        )
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise InvalidBodyError(
            f"{key} must be a JSON object",
            [Problem(code="type", pointer=f"/{key}", message="expected a JSON object")],
        )
    return value


def _versions(body: dict[str, Any]) -> dict[int, int] | None:
    """``{"12": 3}``: the version read of each record (a record changed since is refused)."""
    given = _object(body, "versions")
    if given is None:
        return None
    out: dict[int, int] = {}
    for key, version in given.items():
        if (
            not (key.isascii() and key.isdigit() and len(key) < 19)
            or isinstance(version, bool)
            or not isinstance(version, int)
            or not 0 < version < 2**63
        ):
            raise InvalidBodyError(
                'versions maps record ids to the version you read, like {"12": 3}',
                [Problem(code="type", pointer=f"/versions/{key}", message="expected a version (a whole number)")],
            )
        out[int(key)] = version
    return out


ROUTES = (("/records/<entity>", bulk_update, ("PATCH",)),)
