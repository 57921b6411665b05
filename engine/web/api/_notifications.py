"""``/notifications``: the calling user's notifications, newest first, and marking them read.

Only one's own: another user's notification is 404, as if it did not exist. Pages continue
with a signed ``cursor`` (the last id seen) from the ``next`` link, as record lists do.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request, url_for

from engine.errors import NotFoundError, Problem
from engine.notifications import MAX_PAGE
from engine.runtime import CrmEngine

from .._requests import bool_param, int_param, json_object
from .._responses import json_response
from .._users import current_user
from . import _cursors
from ._lookup import resolved

PARAMS = ("unread", "limit", "cursor")
_NEWEST_FIRST = (_cursors.SortKey("id", True, "integer"),)


@resolved(params=PARAMS)
def list_notifications(engine: CrmEngine) -> Response:
    """The caller's notifications, newest first; ``next`` is the URL of the next page."""
    user = current_user()
    unread = bool_param("unread")
    limit = int_param("limit", 50, minimum=1, maximum=MAX_PAGE)
    bound = _cursors.binding("crm_notifications", {"unread": unread}, None, None)
    token = request.args.get("cursor")
    before_id, seen = None, 0
    if token is not None:
        cursor = _cursors.decode(token, bound, _NEWEST_FIRST)
        before_id, seen = int(cursor.after[0]), cursor.seen
    service = engine.notifications
    found = service.list(user.name, unread_only=unread, limit=limit + 1, before_id=before_id)
    page, more = found[:limit], len(found) > limit
    following = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = _cursors.encode(bound, (page[-1].id,), seen + len(page))
        following = f"{url_for('.list_notifications')}?{urlencode(args)}"
    headers = {"Link": f'<{following}>; rel="next"'} if following else None
    body = {
        "items": [n.to_json() for n in page],
        "limit": limit,
        "unread": service.unread_count(user.name),
        "next": following,
    }
    return json_response(body, headers=headers)


@resolved()
def unread_count(engine: CrmEngine) -> Response:
    """How many of the caller's notifications are unread (what the bell shows)."""
    return json_response({"unread": engine.notifications.unread_count(current_user().name)})


@resolved()
def mark_read(engine: CrmEngine, notification_id: str) -> Response:
    """Mark one of the caller's notifications read; the notification as it is now."""
    user = current_user()
    json_object(allowed=(), optional=True)
    number = _notification_id(notification_id)
    engine.notifications.mark_read(user.name, [number])
    return json_response(engine.notifications.get(user.name, number).to_json())


@resolved()
def mark_all_read(engine: CrmEngine) -> Response:
    """Mark every notification of the caller read; how many were unread."""
    json_object(allowed=(), optional=True)
    marked = engine.notifications.mark_read(current_user().name, "all")
    return json_response({"marked": marked, "unread": 0})


def _notification_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise NotFoundError(
            f"there is no notification {text!r} of yours",
            [Problem(code="not_found", field="id", message="a notification id is a whole number from 1")],
        )
    return int(text)


ROUTES = (
    ("/notifications", list_notifications, ("GET",)),
    ("/notifications/unread-count", unread_count, ("GET",)),
    ("/notifications/read", mark_all_read, ("POST",)),
    ("/notifications/<notification_id>/read", mark_read, ("POST",)),
)
