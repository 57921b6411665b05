"""Delivering the outbox: fan-out past each subscription's cursor, and leased, signed sends.

The path of an event: a write commits its events to the outbox (``crm_events``);
:meth:`Deliverer.fan_out` reads the events past each subscription's cursor and writes one
pending delivery per matching event, moving the cursor in the same transaction;
:meth:`Deliverer.deliver_due` claims due deliveries under a lease and POSTs them, signed.
Nothing here runs inside a write's transaction, so a write never waits on a receiver, and an
event whose write rolled back was never in the outbox to be sent.

Per-record order: a delivery waits while an earlier delivery (a smaller id) of the same
subscription and record is pending or being delivered; a dead one no longer holds the
record's later events back. Delivery is at least once: a receiver dedupes on
``X-CRM-Event-Id``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.storage import events as outbox
from engine.storage import webhook_deliveries, webhook_subscriptions

from ._model import EVENTS, Subscription, subscription_of
from ._sender import Outcome, Sender, sign, timeout

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

log = logging.getLogger("engine.webhooks")

#: How often a delivery is tried before it is dead: 30 s doubling, about 17 hours (a day with
#: the jitter and the worker's interval) between the first attempt and the last.
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
#: A delivery claimed by a worker that died is taken up again after about this long (plus one
#: request's timeout); ``CRM_WEBHOOK_LEASE`` (seconds) changes it. A round sends only while a
#: send can still finish inside its lease and gives the rest back, so a short lease never lets
#: a second worker send what the first is still sending.
LEASE = timedelta(seconds=30)
LEASE_ENV = "CRM_WEBHOOK_LEASE"


def lease() -> timedelta:
    """How long a round's claim holds (see :data:`LEASE`)."""
    text = os.environ.get(LEASE_ENV)
    try:
        return timedelta(seconds=float(text)) if text else LEASE
    except ValueError:
        return LEASE


#: Outbox events one fan-out step reads per subscription.
FAN_OUT_BATCH = 1000
#: Deliveries one call of :meth:`WebhookService.deliver_due` sends at most, and per round.
DELIVER_BATCH = 500
ROUND = 50
_subs = webhook_subscriptions.c
_dels = webhook_deliveries.c

#: A delivery of a round, its subscription, what came of it (None: given back untried), and
#: whether it is final whatever came.
_Result = tuple[Mapping[Any, Any], Subscription, "Outcome | None", bool]


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due and not held: pending and due, or claimed by a worker whose lease has run out."""
    return sa.or_(
        sa.and_(_dels.status == "pending", _dels.next_attempt_at <= now),
        sa.and_(_dels.status == "delivering", _dels.lease_until <= now),
    )


def insert_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows`` (the unique key decides)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def event_body(event: Mapping[Any, Any]) -> dict[str, Any]:
    """The JSON a receiver gets for an outbox row (``id``, ``type``, ``entity``, ``record``,
    ``changes``, ``actor``, ``occurred_at``, ``definitions_version``)."""
    payload = event["payload"] or {}
    record = payload.get("record")
    changes = payload.get("changes")
    if changes is None and event["type"] != EVENTS["created"] and event["type"] != EVENTS["deleted"]:
        # a transition's workflow, states and inputs; an import batch's lines and count
        changes = {k: v for k, v in payload.items() if k != "record"} or None
    occurred = event["occurred_at"]
    return {
        "id": event["id"],
        "type": event["type"],
        "entity": event["entity"],
        "record": record if record is not None or event["record_id"] is None else {"id": event["record_id"]},
        "changes": changes,
        "actor": event["actor"],
        "occurred_at": occurred.isoformat() if isinstance(occurred, datetime) else occurred,
        "definitions_version": event["definitions_version"],
    }


def delivery_row(name: str, event: Any, now: datetime) -> dict[str, Any]:
    return {
        "subscription": name,
        "event_id": event.id,
        "type": event.type,
        "entity": event.entity,
        "record_id": event.record_id,
        "payload": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_status": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }


class Deliverer:
    """Fans the outbox out to the subscriptions and sends what is due (thread-safe)."""

    def __init__(self, engine: CrmEngine, sender: Sender) -> None:
        self._engine = engine
        self._sender = sender

    def fan_out(self, *, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
        """Queue a delivery for every outbox event past each enabled subscription's cursor
        that it matches; how many were queued. Safe to run from several workers at once: the
        cursor moves only from the value read (compare and set), in the transaction that
        writes the deliveries."""
        now = now or utcnow()
        queued = 0
        with self._engine.db.read() as conn:
            subscriptions = [
                subscription_of(r)
                for r in conn.execute(sa.select(webhook_subscriptions).where(_subs.enabled.is_(True))).mappings()
            ]
            top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()
        for subscription in subscriptions:
            cursor = subscription.cursor
            while cursor < top:
                moved, count = self._fan_out_step(subscription, cursor, top, now, limit)
                if moved is None:
                    break  # another worker moved this cursor first
                cursor, queued = moved, queued + count
        return queued

    def _fan_out_step(
        self, subscription: Subscription, cursor: int, top: int, now: datetime, limit: int
    ) -> tuple[int | None, int]:
        read = (
            sa.select(outbox.c.id, outbox.c.type, outbox.c.entity, outbox.c.record_id)
            .where(outbox.c.id > cursor, outbox.c.id <= top)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._engine.db.write() as conn:
            found = conn.execute(read).all()
            last = found[-1].id if found else top
            moved = conn.execute(
                webhook_subscriptions.update()
                .where(_subs.name == subscription.name, _subs.cursor == cursor)
                .values(cursor=last)
            )
            if moved.rowcount != 1:
                return None, 0
            types, entity = subscription.types, subscription.entity
            rows = [
                delivery_row(subscription.name, e, now)
                for e in found
                if e.type in types and (entity is None or e.entity == entity)
            ]
            insert_ignoring_duplicates(conn, webhook_deliveries, rows)
        return last, len(rows)

    def deliver_due(self, now: datetime | None = None, limit: int = DELIVER_BATCH) -> int:
        """Send the deliveries that are due (at most ``limit``), each claimed under a lease so
        several workers never send one twice at once; how many were sent (done or not).

        Rounds repeat while they send something, so a record's next event follows as soon as
        the one before it is delivered. A round claims its deliveries in one transaction and
        reads what they send in one, and writes their outcomes in one (a worker that dies
        mid-round leaves its deliveries to be sent again when the lease ends: at least once).
        """
        given = now
        sent = 0
        while sent < limit:
            now = given or utcnow()  # each round's lease counts from its own start
            ids = self._due(now, min(ROUND, limit - sent))
            claimed = self._claim(ids, now) if ids else []
            if not claimed:
                break
            gone: set[str] = set()  # subscriptions a 410 disabled in this round
            results: list[_Result] = []
            # no send starts that could end after the lease: another worker may take it then
            deadline = time.monotonic() + lease().total_seconds()
            for row, subscription, body, key in self._prepared(claimed, results):
                if subscription.name in gone or time.monotonic() > deadline:
                    results.append((row, subscription, None, False))  # given back untried
                    continue
                outcome = self._send(subscription, body, key)
                results.append((row, subscription, outcome, False))
                if outcome.status == 410:
                    gone.add(subscription.name)
            self._settle(results, now)
            sent += len(claimed)
        return sent

    def _due(self, now: datetime, limit: int) -> list[int]:
        earlier = webhook_deliveries.alias("earlier")
        waits = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.subscription == _dels.subscription,
                earlier.c.entity == _dels.entity,
                earlier.c.record_id == _dels.record_id,
                earlier.c.id < _dels.id,
                earlier.c.status.in_(("pending", "delivering")),
            )
            .exists()
        )
        query = (
            sa.select(_dels.id)
            .join(webhook_subscriptions, _subs.name == _dels.subscription)
            .where(_subs.enabled.is_(True), _claimable(now), ~waits)
            .order_by(_dels.id)
            .limit(limit)
        )
        with self._engine.db.read() as conn:
            return list(conn.execute(query).scalars())

    def _claim(self, ids: list[int], now: datetime) -> list[int]:
        """The deliveries of ``ids`` this worker claimed (another may have taken some first),
        for :func:`lease` and one request's timeout (the round stops sending in time)."""
        lease_until = now + lease() + timedelta(seconds=timeout())
        enabled = sa.select(_subs.name).where(_subs.name == _dels.subscription, _subs.enabled.is_(True)).exists()
        claimed = []
        with self._engine.db.write() as conn:
            for delivery_id in ids:
                done = conn.execute(
                    webhook_deliveries.update()
                    .where(_dels.id == delivery_id, enabled, _claimable(now))
                    .values(status="delivering", lease_until=lease_until, attempts=_dels.attempts + 1)
                )
                if done.rowcount == 1:
                    claimed.append(delivery_id)
        return claimed

    def _prepared(
        self, ids: list[int], results: list[_Result]
    ) -> list[tuple[Mapping[Any, Any], Subscription, bytes, str]]:
        """Each claimed delivery's row, subscription, body and event key, read in one go (one whose
        event is gone goes to ``results`` as dead)."""
        with self._engine.db.read() as conn:
            query = sa.select(webhook_deliveries).where(_dels.id.in_(ids)).order_by(_dels.id)
            rows: list[Mapping[Any, Any]] = list(conn.execute(query).mappings())
            names = sorted({r["subscription"] for r in rows})
            subscriptions = {
                r["name"]: subscription_of(r)
                for r in conn.execute(sa.select(webhook_subscriptions).where(_subs.name.in_(names))).mappings()
            }
            event_ids = [r["event_id"] for r in rows if r["event_id"] is not None]
            found = {e["id"]: e for e in conn.execute(sa.select(outbox).where(outbox.c.id.in_(event_ids))).mappings()}
        out = []
        for row in rows:
            subscription = subscriptions.get(row["subscription"])
            if subscription is None:
                continue  # deleted meanwhile, with its deliveries
            if row["event_id"] is not None:
                event = found.get(row["event_id"])
                if event is None:
                    results.append((row, subscription, Outcome(None, "the event is no longer in the outbox"), True))
                    continue
                key, body = str(row["event_id"]), event_body(event)
            else:
                key = f"d{row['id']}"
                body = {"id": key, **dict(row["payload"] or {})}
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
            out.append((row, subscription, data, key))
        return out

    def _send(self, subscription: Subscription, body: bytes, key: str) -> Outcome:
        timestamp = str(int(time.time()))
        headers = {
            "X-CRM-Event-Id": key,
            "X-CRM-Timestamp": timestamp,
            "X-CRM-Signature": sign(subscription.secret, timestamp, body),
        }
        return self._sender.post(subscription.url, body, headers)

    def _settle(self, results: list[_Result], now: datetime) -> None:
        """Write a round's outcomes in one transaction, then log the failures."""
        if not results:
            return
        logged = []
        with self._engine.db.write() as conn:
            for row, subscription, outcome, final in results:
                if outcome is None:  # untried: a 410 disabled its subscription, or the lease ran short
                    values: dict[str, Any] = {"status": "pending", "lease_until": None, "attempts": _dels.attempts - 1}
                else:
                    values = _outcome_values(int(row["attempts"]), outcome, final, now)
                conn.execute(webhook_deliveries.update().where(_dels.id == row["id"]).values(values))
                if outcome is not None and outcome.status == 410:
                    reason = f"the receiver answered 410 Gone on {now.isoformat(timespec='seconds')}"
                    conn.execute(
                        webhook_subscriptions.update()
                        .where(_subs.name == subscription.name)
                        .values(enabled=False, disabled_reason=reason)
                    )
                if outcome is not None and not outcome.delivered:
                    logged.append((row, subscription, outcome, values["status"]))
        for row, subscription, outcome, status in logged:
            log.log(
                logging.ERROR if status == "dead" else logging.WARNING,
                "webhook %s delivery %s (event %s) failed, attempt %s: %s%s",
                subscription.name,
                row["id"],
                row["event_id"],
                row["attempts"],
                outcome.error,
                "; the subscription is disabled" if outcome.status == 410 else "",
            )


def _outcome_values(attempts: int, outcome: Outcome, final: bool, now: datetime) -> dict[str, Any]:
    """How a delivery's row changes after its ``attempts``-th try ended in ``outcome``."""
    values: dict[str, Any] = {"lease_until": None, "last_status": outcome.status, "last_error": outcome.error}
    if outcome.delivered:
        return values | {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
    if final or outcome.status == 410 or attempts >= MAX_ATTEMPTS:
        return values | {"status": "dead", "next_attempt_at": None}
    wait = FIRST_RETRY * (2 ** (attempts - 1)) * (1 + random.random() / 4)
    return values | {"status": "pending", "next_attempt_at": now + wait}
