"""What the webhook service hands out: subscriptions (never their secret) and deliveries."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The short event types a subscription may ask for, and the outbox types they stand for.
EVENTS: dict[str, str] = {
    "created": "record.created",
    "updated": "record.updated",
    "deleted": "record.deleted",
    "transitioned": "record.transitioned",
}
#: Batch events sent with a short type too: a bulk import leaves one event per batch (its
#: lines and count), not one per record.
BATCH_EVENTS: dict[str, tuple[str, ...]] = {"created": ("records.imported",)}
#: The type of a delivery an automation queued when no record event set it off.
AUTOMATION_WEBHOOK = "automation.webhook"
#: Statuses of a delivery, in the order of its life.
STATUSES = ("pending", "delivering", "delivered", "dead")


@dataclass(frozen=True)
class Subscription:
    """One row of ``crm_webhook_subscriptions``; ``secret`` never appears in its repr or JSON."""

    name: str
    url: str
    entity: str | None
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    cursor: int
    secret: str = dataclasses.field(repr=False, compare=False)

    @property
    def types(self) -> frozenset[str]:
        """The outbox event types this subscription is sent."""
        return frozenset(t for e in self.events for t in (EVENTS[e], *BATCH_EVENTS.get(e, ())))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "entity": self.entity,
            "events": list(self.events),
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "created_at": self.created_at.isoformat(),
            "cursor": self.cursor,
        }


@dataclass(frozen=True)
class Delivery:
    """One row of ``crm_webhook_deliveries`` (without the body it sends)."""

    id: int
    subscription: str
    event_id: int | None
    type: str
    entity: str | None
    record_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("next_attempt_at", "lease_until", "created_at", "delivered_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def subscription_of(row: Mapping[Any, Any]) -> Subscription:
    """The :class:`Subscription` of a ``crm_webhook_subscriptions`` row."""
    values = dict(row)
    values["events"] = tuple(values["events"] or ())
    return Subscription(**values)


def delivery_of(row: Mapping[Any, Any]) -> Delivery:
    """The :class:`Delivery` of a ``crm_webhook_deliveries`` row (without its body)."""
    return Delivery(**{k: v for k, v in row.items() if k != "payload"})
