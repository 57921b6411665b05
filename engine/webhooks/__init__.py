"""Webhooks: subscriptions of other systems to the outbox, delivered signed, retried,
dead-lettered and replayable (see ``docs/webhooks.md``)."""

from __future__ import annotations

from ._addresses import ALLOW_PRIVATE_ENV, WebhookUrlError, check_url, resolve
from ._checks import subscription_problems
from ._delivery import FIRST_RETRY, LEASE, MAX_ATTEMPTS, Deliverer, event_body
from ._model import AUTOMATION_WEBHOOK, EVENTS, STATUSES, Delivery, Subscription
from ._sender import TIMEOUT, TIMEOUT_ENV, sign, timeout
from ._service import UnknownSubscriptionError, WebhookService

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "AUTOMATION_WEBHOOK",
    "EVENTS",
    "FIRST_RETRY",
    "LEASE",
    "MAX_ATTEMPTS",
    "STATUSES",
    "TIMEOUT",
    "TIMEOUT_ENV",
    "Deliverer",
    "Delivery",
    "Subscription",
    "UnknownSubscriptionError",
    "WebhookService",
    "WebhookUrlError",
    "check_url",
    "event_body",
    "resolve",
    "sign",
    "subscription_problems",
    "timeout",
]
