"""``/users/<name>/deactivate|reactivate``, ``/handovers`` (administrators) and
``/records/<entity>/<id>/claim`` (any user whose roles may claim): the services decide."""

from __future__ import annotations

from flask import Response, request

from engine.errors import Problem
from engine.metadata import EntityDef
from engine.runtime import CrmEngine

from .._problems import InvalidBodyError
from .._requests import int_param, json_object, parse_record_id
from .._responses import json_response, record_response
from .._users import current_user
from ._lookup import resolved

#: Hand-overs one request lists at most.
MAX_HANDOVERS = 1000


def _user_json(engine: CrmEngine, name: str) -> dict[str, object]:
    user = engine.users.get(name)
    return user.to_json() | {"active": user.active}


@resolved(admin=True)
def deactivate_user(engine: CrmEngine, name: str) -> Response:
    """Deactivate a user, handing their records to ``{"transfer_to": OTHER}``."""
    body = json_object(allowed=("transfer_to",), optional=True)
    transfer_to = body.get("transfer_to")
    if transfer_to is not None and not isinstance(transfer_to, str):
        raise InvalidBodyError(
            "transfer_to is the name of the user who takes over the records",
            [Problem(code="type", message="expected a user name", pointer="/transfer_to")],
        )
    _, handover = engine.handovers.deactivate(name, transfer_to=transfer_to, actor=current_user())
    return json_response({"user": _user_json(engine, name), "handover": handover and handover.to_json()})


@resolved(admin=True)
def reactivate_user(engine: CrmEngine, name: str) -> Response:
    """Let a deactivated user act again."""
    engine.handovers.reactivate(name, actor=current_user())
    return json_response({"user": _user_json(engine, name)})


@resolved(params=("user", "limit"), admin=True)
def list_handovers(engine: CrmEngine) -> Response:
    """Hand-overs newest first (from or to ``user`` when given)."""
    limit = int_param("limit", 100, minimum=1, maximum=MAX_HANDOVERS)
    found = engine.handovers.list(user=request.args.get("user"), limit=limit)
    return json_response({"items": [h.to_json() for h in found]})


@resolved()
def claim_record(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    """Claim an unowned record from the pool: the caller owns it afterwards."""
    return record_response(engine.pool.claim(entity.name, parse_record_id(record_id), actor=current_user()))


ROUTES = (
    ("/users/<name>/deactivate", deactivate_user, ("POST",)),
    ("/users/<name>/reactivate", reactivate_user, ("POST",)),
    ("/handovers", list_handovers, ("GET",)),
    ("/records/<entity>/<record_id>/claim", claim_record, ("POST",)),
)
