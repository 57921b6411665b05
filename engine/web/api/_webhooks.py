"""``/webhooks``: subscriptions of other systems to the engine's events (administrators only).

A subscription's secret is accepted once, in the body that creates it, and never answered.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from engine.runtime import CrmEngine
from engine.webhooks import EVENTS

from .._problems import InvalidBodyError
from .._requests import MAX_ID, bool_param, int_param, json_object, optional_int_param
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

CREATE_KEYS = ("name", "url", "secret", "entity", "events")
REPLAY_KEYS = ("failed", "since")


def _text(body: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidBodyError(f"{key} must be a string" if key in body else f"{key} is required")
    return value


@resolved(admin=True)
def list_webhooks(engine: CrmEngine) -> Response:
    """Every subscription (without its secret)."""
    return json_response({"items": [s.to_json() for s in engine.webhooks.list(user=current_user())]})


@resolved(admin=True)
def create_webhook(engine: CrmEngine) -> Response:
    """Subscribe a URL to the events from now on; 201 with the subscription (no secret)."""
    body = json_object(allowed=CREATE_KEYS)
    events = body.get("events", list(EVENTS))
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidBodyError("events must be a list of " + ", ".join(EVENTS))
    created = engine.webhooks.create(
        _text(body, "name", required=True) or "",
        url=_text(body, "url", required=True) or "",
        secret=_text(body, "secret", required=True) or "",
        entity=_text(body, "entity", required=False),
        events=events,
        user=current_user(),
    )
    return json_response(created.to_json(), 201)


@resolved(admin=True)
def get_webhook(engine: CrmEngine, name: str) -> Response:
    return json_response(engine.webhooks.get(name, user=current_user()).to_json())


@resolved(admin=True)
def delete_webhook(engine: CrmEngine, name: str) -> Response:
    engine.webhooks.delete(name, user=current_user())
    return Response(status=204)


@resolved(admin=True)
def enable_webhook(engine: CrmEngine, name: str) -> Response:
    return json_response(engine.webhooks.enable(name, user=current_user()).to_json())


@resolved(admin=True)
def disable_webhook(engine: CrmEngine, name: str) -> Response:
    return json_response(engine.webhooks.disable(name, user=current_user()).to_json())


@resolved(params=("failed", "since"), admin=True)
def replay_webhook(engine: CrmEngine, name: str) -> Response:
    """Queue again the dead deliveries (default, ``failed=true``) or every event after
    ``since``; the workers send them. Answers how many were queued."""
    since = optional_int_param("since", minimum=0, maximum=MAX_ID)
    failed = bool_param("failed", default=since is None)
    if failed and since is not None:
        raise InvalidBodyError("give either failed=true or since=EVENT_ID, not both")
    queued = engine.webhooks.replay(name, user=current_user(), failed=failed, since_event_id=since)
    return json_response({"queued": queued})


@resolved(params=("failed", "limit"), admin=True)
def list_deliveries(engine: CrmEngine, name: str) -> Response:
    """The deliveries of a subscription, newest first (``failed=true``: only failed ones)."""
    failed = bool_param("failed")
    limit = int_param("limit", 100, minimum=1, maximum=1000)
    found = engine.webhooks.deliveries(name, user=current_user(), failed_only=failed, limit=limit)
    return json_response({"items": [d.to_json() for d in found]})


ROUTES = (
    ("/webhooks", list_webhooks, ("GET",)),
    ("/webhooks", create_webhook, ("POST",)),
    ("/webhooks/<name>", get_webhook, ("GET",)),
    ("/webhooks/<name>", delete_webhook, ("DELETE",)),
    ("/webhooks/<name>/enable", enable_webhook, ("POST",)),
    ("/webhooks/<name>/disable", disable_webhook, ("POST",)),
    ("/webhooks/<name>/replay", replay_webhook, ("POST",)),
    ("/webhooks/<name>/deliveries", list_deliveries, ("GET",)),
)
