"""The tables of webhooks: subscriptions (operational settings, not definitions) and deliveries.

A subscription's ``cursor`` is the id of the last outbox event (``crm_events``) fanned out to
it: fan-out reads the events past it, writes their deliveries and moves it in one transaction.
The unique key (subscription, event_id) makes fan-out and replay idempotent: an event is
queued for a subscription once however often either runs, and a replay resets the row.
A delivery queued by an automation's ``webhook`` action has no event id yet (its event is
written at the very end of the transaction): it keeps the body to send in ``payload``.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

#: Where events are sent: an http(s) URL, a shared secret to sign with, and what to send.
webhook_subscriptions = sa.Table(
    "crm_webhook_subscriptions",
    SYSTEM_METADATA,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret", sa.String(512), nullable=False),
    #: only events of this entity (null: every entity)
    sa.Column("entity", sa.String(63)),
    #: the short event types sent: created, updated, deleted, transitioned
    sa.Column("events", _Json, nullable=False),
    sa.Column("enabled", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False, server_default="0"),
)

#: One event to send to one subscription: pending, delivering (claimed under a lease),
#: delivered or dead (every attempt failed; replayable).
webhook_deliveries = sa.Table(
    "crm_webhook_deliveries",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("subscription", sa.String(63), nullable=False),
    sa.Column("event_id", sa.BigInteger),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    #: the body of a delivery that has no outbox event (automation actions); else null
    sa.Column("payload", _Json),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("delivered_at", UTCDateTime()),
    sa.UniqueConstraint("subscription", "event_id", name="uq_crm_webhook_deliveries_event"),
    sa.Index("ix_crm_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_crm_webhook_deliveries_record", "subscription", "entity", "record_id", "id"),
    sqlite_autoincrement=True,
)
