"""``/events``: the outbox, every committed write's events after an id (administrators only)."""

from __future__ import annotations

from flask import Response, request

from engine.events import EVENT_TYPES, MAX_EVENTS
from engine.runtime import CrmEngine
from engine.storage import to_jsonable

from .._requests import MAX_ID, choice_param, int_param
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

PARAMS = ("since", "entity", "type", "limit")


@resolved(params=PARAMS, admin=True)
def list_events(engine: CrmEngine) -> Response:
    """Events with an id above ``since``, oldest first; ``next_since`` is the id to ask from next."""
    since = int_param("since", 0, maximum=MAX_ID)
    limit = int_param("limit", 100, minimum=1, maximum=MAX_EVENTS)
    entity = request.args.get("entity")
    if entity is not None:
        engine.entity(entity)  # an unknown entity is 404, not an empty page
    types = () if "type" not in request.args else (choice_param("type", EVENT_TYPES, EVENT_TYPES[0]),)
    found = engine.events.list(user=current_user(), since=since, entity=entity, types=types, limit=limit)
    items = [to_jsonable(e.to_json()) for e in found]
    return json_response({"items": items, "next_since": found[-1].id if found else since})


ROUTES = (("/events", list_events, ("GET",)),)
