"""The operations of the current user's notifications."""

from __future__ import annotations

from typing import Any

from engine.notifications import MAX_PAGE as MAX_NOTIFICATIONS

from ._components import ref, schema_ref
from ._paths import Paths, _ok, _op, _problems


def notification_paths() -> Paths:
    """The calling user's notifications (another user's are 404)."""
    parameters: list[dict[str, Any]] = [
        {
            "name": "unread",
            "in": "query",
            "required": False,
            "description": "Only unread notifications.",
            "schema": {"type": "boolean", "default": False},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_NOTIFICATIONS, "default": 50},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "Where the page starts: taken from the next link of the page before.",
            "schema": {"type": "string"},
        },
    ]
    notification_id = {
        "name": "notification_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 1},
    }
    page = _ok("A page of notifications, newest first", schema_ref("NotificationPage"))
    page["200"]["headers"] = {"Link": ref("headers", "Link")}
    return {
        "/notifications": {
            "get": _op(
                "notifications.list",
                "notifications",
                "The caller's notifications, newest first",
                {**page, **_problems()},
                parameters=parameters,
            )
        },
        "/notifications/unread-count": {
            "get": _op(
                "notifications.unread_count",
                "notifications",
                "How many of the caller's notifications are unread",
                {**_ok("The unread count", schema_ref("UnreadCount")), **_problems()},
            )
        },
        "/notifications/read": {
            "post": _op(
                "notifications.mark_all_read",
                "notifications",
                "Mark every notification of the caller read",
                {**_ok("How many were unread", schema_ref("MarkedRead")), **_problems()},
            )
        },
        "/notifications/{notification_id}/read": {
            "post": _op(
                "notifications.mark_read",
                "notifications",
                "Mark one of the caller's notifications read",
                {**_ok("The notification, read", schema_ref("Notification")), **_problems(404)},
                parameters=[notification_id],
            )
        },
    }
