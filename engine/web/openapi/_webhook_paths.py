"""The webhook operations (administrators only) and their schemas."""

from __future__ import annotations

from typing import Any

from engine.webhooks import EVENTS, STATUSES

from ._components import schema_ref
from ._paths import Paths, _body, _ok, _op, _problems

_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The subscription's name.",
    "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
}
_TIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Webhook": {
        "type": "object",
        "description": "A subscription; its secret is never answered.",
        "properties": {
            "name": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "entity": {"type": ["string", "null"]},
            "events": {"type": "array", "items": {"type": "string", "enum": list(EVENTS)}},
            "enabled": {"type": "boolean"},
            "disabled_reason": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "cursor": {"type": "integer", "description": "The last outbox event id fanned out to it."},
        },
        "required": ["name", "url", "entity", "events", "enabled", "disabled_reason", "created_at", "cursor"],
    },
    "WebhookCreate": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
            "url": {
                "type": "string",
                "description": "http(s); hosts resolving to private, loopback or link-local addresses are "
                "refused unless CRM_WEBHOOK_ALLOW_PRIVATE=1.",
            },
            "secret": {"type": "string", "minLength": 1, "maxLength": 512, "writeOnly": True},
            "entity": {"type": ["string", "null"], "description": "Only this entity's events (404 for no entity)."},
            "events": {"type": "array", "items": {"type": "string", "enum": list(EVENTS)}, "minItems": 1},
        },
        "required": ["name", "url", "secret"],
        "additionalProperties": False,
    },
    "WebhookList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": schema_ref("Webhook")}},
        "required": ["items"],
    },
    "WebhookDelivery": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "subscription": {"type": "string"},
            "event_id": {"type": ["integer", "null"]},
            "type": {"type": "string"},
            "entity": {"type": ["string", "null"]},
            "record_id": {"type": ["integer", "null"]},
            "status": {"type": "string", "enum": list(STATUSES)},
            "attempts": {"type": "integer"},
            "next_attempt_at": _TIME,
            "lease_until": _TIME,
            "last_status": {"type": ["integer", "null"]},
            "last_error": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "delivered_at": _TIME,
        },
        "required": ["id", "subscription", "event_id", "type", "status", "attempts", "created_at"],
    },
    "WebhookDeliveryList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": schema_ref("WebhookDelivery")}},
        "required": ["items"],
    },
    "WebhookReplay": {
        "type": "object",
        "properties": {"queued": {"type": "integer"}},
        "required": ["queued"],
    },
}


def webhook_paths() -> Paths:
    """``/webhooks``: subscriptions, their deliveries and replays."""
    one = _ok("The subscription", schema_ref("Webhook"))
    return {
        "/webhooks": {
            "get": _op(
                "webhooks.list", "admin", "Webhook subscriptions", _ok("Subscriptions", schema_ref("WebhookList"))
            ),
            "post": _op(
                "webhooks.create",
                "admin",
                "Subscribe a URL to the events from now on (the secret is never answered)",
                {**_ok("Created", schema_ref("Webhook"), status="201"), **_problems(404, 409, 422)},
                requestBody=_body(schema_ref("WebhookCreate")),
            ),
        },
        "/webhooks/{name}": {
            "get": _op("webhooks.get", "admin", "A subscription", {**one, **_problems(404)}, parameters=[_NAME]),
            "delete": _op(
                "webhooks.delete",
                "admin",
                "Remove a subscription and its deliveries (refused while an automation sends to it)",
                {"204": {"description": "Deleted"}, **_problems(404, 409)},
                parameters=[_NAME],
            ),
        },
        "/webhooks/{name}/enable": {
            "post": _op(
                "webhooks.enable",
                "admin",
                "Send again; waiting events follow",
                {**one, **_problems(404)},
                parameters=[_NAME],
            )
        },
        "/webhooks/{name}/disable": {
            "post": _op(
                "webhooks.disable", "admin", "Stop sending; events wait", {**one, **_problems(404)}, parameters=[_NAME]
            )
        },
        "/webhooks/{name}/replay": {
            "post": _op(
                "webhooks.replay",
                "admin",
                "Queue again the dead deliveries (failed=true, the default) or every event after since",
                {**_ok("How many were queued", schema_ref("WebhookReplay")), **_problems(404)},
                parameters=[
                    _NAME,
                    {"name": "failed", "in": "query", "required": False, "schema": {"type": "boolean"}},
                    {"name": "since", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                ],
            )
        },
        "/webhooks/{name}/deliveries": {
            "get": _op(
                "webhooks.deliveries",
                "admin",
                "Deliveries of a subscription, newest first",
                {**_ok("Deliveries", schema_ref("WebhookDeliveryList")), **_problems(404)},
                parameters=[
                    _NAME,
                    {"name": "failed", "in": "query", "required": False, "schema": {"type": "boolean"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                    },
                ],
            )
        },
    }
