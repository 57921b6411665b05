"""Webhook subscriptions, and delivering the outbox to them (see ``docs/webhooks.md``).

The path of an event: a write commits its events to the outbox (``crm_events``);
:meth:`WebhookService.fan_out` reads the events past each subscription's cursor and writes one
pending delivery per matching event, moving the cursor in the same transaction;
:meth:`WebhookService.deliver_due` claims due deliveries under a lease and POSTs them, signed.
Nothing here runs inside a write's transaction, so a write never waits on a receiver, and an
event whose write rolled back was never in the outbox to be sent.

Per-record order: a delivery waits while an earlier delivery (a smaller id) of the same
subscription and record is pending or being delivered; a dead one no longer holds the
record's later events back. Delivery is at least once: a receiver dedupes on
``X-CRM-Event-Id``.
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import ConflictError, CrmError, NotFoundError, PermissionDeniedError, Problem, RecordValidationError
from engine.storage import events as outbox
from engine.storage import to_jsonable, webhook_deliveries, webhook_subscriptions
from engine.suggestions import did_you_mean

from ._addresses import resolve
from ._model import AUTOMATION_WEBHOOK, EVENTS, Delivery, Subscription
from ._sender import Outcome, Sender, sign

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

log = logging.getLogger("engine.webhooks")

#: How often a delivery is tried before it is dead: 30 s doubling, about 17 hours (a day with
#: the jitter and the worker's interval) between the first attempt and the last.
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
#: A delivery claimed by a worker that died is taken up again after this long.
LEASE = timedelta(minutes=2)
#: Outbox events one fan-out step reads per subscription.
FAN_OUT_BATCH = 1000
#: Deliveries one call of :meth:`WebhookService.deliver_due` sends at most.
DELIVER_BATCH = 200
#: Names: lower-case letters, digits and underscores, starting with a letter.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_MAX_SECRET = 512

_subs = webhook_subscriptions.c
_dels = webhook_deliveries.c


class UnknownSubscriptionError(NotFoundError):
    """No webhook subscription has that name."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        hint = did_you_mean(name, list(known)) or (
            f" Subscriptions: {', '.join(sorted(known))}." if known else " There are no subscriptions yet."
        )
        message = f"there is no webhook subscription {name!r}.{hint}"
        super().__init__(message, [Problem("unknown_subscription", message, field="subscription")])
        self.name = name


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDeniedError("only administrators may manage webhooks")


def _subscription(row: Mapping[Any, Any]) -> Subscription:
    values = dict(row)
    values["events"] = tuple(values["events"] or ())
    return Subscription(**values)


def _delivery(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(**{k: v for k, v in row.items() if k != "payload"})


def _insert_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
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


class WebhookService:
    """Webhook subscriptions: managed by administrators, fed from the outbox by workers."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._sender = Sender()

    # -- subscriptions --------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        url: str,
        secret: str,
        user: User,
        entity: str | None = None,
        events: Sequence[str] = tuple(EVENTS),
    ) -> Subscription:
        """Subscribe ``url`` to the events of ``entity`` (every entity when None) of the types
        ``events``, from now on; deliveries are signed with ``secret``.

        :raises WebhookUrlError: the URL is not http(s), or its host resolves to a private,
            loopback, link-local, multicast or reserved address (unless allowed).
        """
        _require_admin(user)
        problems = []
        if not _NAME.fullmatch(name):
            problems.append(
                Problem(
                    "invalid_name", "a subscription name is lower-case letters, digits and _ (erp_orders)", field="name"
                )
            )
        if not secret:
            problems.append(Problem("required", "a secret to sign deliveries with is required", field="secret"))
        elif len(secret) > _MAX_SECRET:
            problems.append(Problem("too_long", f"a secret is at most {_MAX_SECRET} characters", field="secret"))
        wanted = list(dict.fromkeys(e.strip() for e in events if e.strip()))
        unknown = [e for e in wanted if e not in EVENTS]
        if unknown or not wanted:
            problems.append(
                Problem(
                    "invalid_choice",
                    f"events are one or more of {', '.join(EVENTS)}" + (f"; got {unknown[0]!r}" if unknown else ""),
                    field="events",
                )
            )
        if problems:
            raise RecordValidationError(problems)
        if entity is not None:
            self._engine.entity(entity)  # an unknown entity names the closest one
        resolve(url)
        now = datetime.now(UTC)
        with self._engine.db.write() as conn:
            if conn.execute(sa.select(_subs.name).where(_subs.name == name)).first() is not None:
                raise ConflictError(
                    f"a webhook subscription named {name!r} exists already",
                    [Problem("duplicate", f"the name {name!r} is taken", field="name")],
                )
            cursor = conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()
            row = {
                "name": name,
                "url": url,
                "secret": secret,
                "entity": entity,
                "events": wanted,
                "enabled": True,
                "disabled_reason": None,
                "created_at": now,
                "cursor": int(cursor),
            }
            conn.execute(webhook_subscriptions.insert().values(row))
        log.info("webhook subscription %s created (%s)", name, ",".join(wanted))
        return _subscription(row)

    def list(self, *, user: User) -> list[Subscription]:
        """Every subscription, by name."""
        _require_admin(user)
        with self._engine.db.read() as conn:
            rows = conn.execute(sa.select(webhook_subscriptions).order_by(_subs.name)).mappings()
            return [_subscription(r) for r in rows]

    def get(self, name: str, *, user: User) -> Subscription:
        _require_admin(user)
        with self._engine.db.read() as conn:
            return self._find(conn, name)

    def _find(self, conn: Connection, name: str) -> Subscription:
        row = conn.execute(sa.select(webhook_subscriptions).where(_subs.name == name)).mappings().first()
        if row is None:
            known = list(conn.execute(sa.select(_subs.name)).scalars())
            raise UnknownSubscriptionError(name, known)
        return _subscription(row)

    def enable(self, name: str, *, user: User) -> Subscription:
        """Send to ``name`` again: the events since it was disabled follow (none is lost)."""
        return self._set_enabled(name, True, None, user)

    def disable(self, name: str, *, user: User, reason: str | None = None) -> Subscription:
        """Stop sending to ``name``; its deliveries wait until it is enabled again."""
        return self._set_enabled(name, False, reason or f"disabled by {user.name}", user)

    def _set_enabled(self, name: str, enabled: bool, reason: str | None, user: User) -> Subscription:
        _require_admin(user)
        with self._engine.db.write() as conn:
            self._find(conn, name)
            conn.execute(
                webhook_subscriptions.update().where(_subs.name == name).values(enabled=enabled, disabled_reason=reason)
            )
            return self._find(conn, name)

    def delete(self, name: str, *, user: User) -> None:
        """Remove ``name`` and its deliveries; refused while an automation sends to it."""
        _require_admin(user)
        users = [
            a.name
            for a in (self._engine.model.definitions.automations.values() if self._engine.has_definitions else ())
            if any(action.subscription == name for action in a.actions if action.kind == "webhook")
        ]
        if users:
            raise ConflictError(
                f"the automation {users[0]!r} sends to the webhook subscription {name!r}; "
                "remove its webhook action (or disable the subscription instead)",
                [Problem("in_use", f"used by the automation {users[0]!r}", field="subscription")],
            )
        with self._engine.db.write() as conn:
            self._find(conn, name)
            conn.execute(webhook_deliveries.delete().where(_dels.subscription == name))
            conn.execute(webhook_subscriptions.delete().where(_subs.name == name))

    def names(self) -> set[str]:
        """The names of every subscription (what definitions may name)."""
        with self._engine.db.read() as conn:
            return set(conn.execute(sa.select(_subs.name)).scalars())

    # -- deliveries ---------------------------------------------------------------------------

    def deliveries(
        self, name: str, *, user: User, failed_only: bool = False, limit: int = 100
    ) -> builtins.list[Delivery]:
        """The deliveries of ``name``, newest first; ``failed_only``: those dead or failed at
        least once and not delivered since."""
        _require_admin(user)
        query = sa.select(webhook_deliveries).where(_dels.subscription == name).order_by(_dels.id.desc()).limit(limit)
        if failed_only:
            query = query.where(
                sa.or_(_dels.status == "dead", sa.and_(_dels.status != "delivered", _dels.last_error.is_not(None)))
            )
        with self._engine.db.read() as conn:
            self._find(conn, name)
            return [_delivery(r) for r in conn.execute(query).mappings()]

    def replay(
        self,
        name: str,
        *,
        user: User,
        failed: bool = True,
        since_event_id: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Send again: the dead deliveries of ``name`` (``failed``), or every event after
        ``since_event_id`` that the subscription matches (up to its cursor: later events are
        still to come). Returns how many deliveries were queued; workers send them."""
        _require_admin(user)
        now = now or datetime.now(UTC)
        reset = {
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": None,
            "last_error": None,
            "delivered_at": None,
        }
        with self._engine.db.write() as conn:
            subscription = self._find(conn, name)
            if since_event_id is None:
                if not failed:
                    return 0
                done = conn.execute(
                    webhook_deliveries.update().where(_dels.subscription == name, _dels.status == "dead").values(reset)
                )
                return int(done.rowcount)
            if since_event_id < 0:
                raise CrmError(f"--since takes an event id (0 or more), got {since_event_id}")
            query = self._matching(subscription).where(outbox.c.id > since_event_id, outbox.c.id <= subscription.cursor)
            found = conn.execute(query).all()
            ids = [row.id for row in found]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(
                    webhook_deliveries.update()
                    .where(_dels.subscription == name, _dels.event_id.in_(chunk), _dels.status != "delivering")
                    .values(reset)
                )
            rows = [self._row(name, row, now) for row in found]
            _insert_ignoring_duplicates(conn, webhook_deliveries, rows)
            return len(found)

    def _matching(self, subscription: Subscription) -> sa.Select[Any]:
        query = (
            sa.select(outbox.c.id, outbox.c.type, outbox.c.entity, outbox.c.record_id)
            .where(outbox.c.type.in_(sorted(subscription.types)))
            .order_by(outbox.c.id)
        )
        if subscription.entity is not None:
            query = query.where(outbox.c.entity == subscription.entity)
        return query

    @staticmethod
    def _row(name: str, event: Any, now: datetime) -> dict[str, Any]:
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

    def enqueue(
        self,
        conn: Connection,
        name: str,
        *,
        entity: str,
        record: Mapping[Any, Any],
        event: Mapping[Any, Any] | None,
        actor: str | None,
        now: datetime,
    ) -> None:
        """Queue a delivery to ``name`` inside ``conn``'s transaction (an automation's
        ``webhook`` action): the triggering record event (``event``: its type and changes), or
        an ``automation.webhook`` body of the record when no record event set it off.

        :raises UnknownSubscriptionError: no subscription is called ``name``.
        """
        exists = conn.execute(sa.select(_subs.name).where(_subs.name == name)).first()
        if exists is None:
            raise UnknownSubscriptionError(name, list(conn.execute(sa.select(_subs.name)).scalars()))
        kind = str(event.get("type")) if event else ""
        full = EVENTS.get(kind, AUTOMATION_WEBHOOK)
        body = {
            "type": full,
            "entity": entity,
            "record": to_jsonable(dict(record)),
            "changes": to_jsonable(event.get("changes")) if event and full != AUTOMATION_WEBHOOK else None,
            "actor": actor,
            "occurred_at": now.isoformat(),
            "definitions_version": self._engine.version,
        }
        row = {
            "subscription": name,
            "event_id": None,
            "type": full,
            "entity": entity,
            "record_id": record.get("id"),
            "payload": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        conn.execute(webhook_deliveries.insert().values(row))

    # -- the worker's part ----------------------------------------------------------------------

    def work(self, now: datetime | None = None) -> int:
        """Fan the outbox out, then send what is due; how many deliveries were sent (done or
        not). What a job runner calls periodically, and ``crm automation tick``."""
        self.fan_out(now=now)
        return self.deliver_due(now=now)

    def fan_out(self, *, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
        """Queue a delivery for every outbox event past each enabled subscription's cursor
        that it matches; how many were queued. Safe to run from several workers at once: the
        cursor moves only from the value read (compare and set), in the transaction that
        writes the deliveries."""
        now = now or datetime.now(UTC)
        queued = 0
        with self._engine.db.read() as conn:
            subscriptions = [
                _subscription(r)
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
                self._row(subscription.name, e, now)
                for e in found
                if e.type in types and (entity is None or e.entity == entity)
            ]
            _insert_ignoring_duplicates(conn, webhook_deliveries, rows)
        return last, len(rows)

    def deliver_due(self, now: datetime | None = None, limit: int = DELIVER_BATCH) -> int:
        """Send the deliveries that are due (at most ``limit``), each claimed under a lease so
        several workers never send one twice at once; how many were sent (done or not).

        Rounds repeat while they send something, so a record's next event follows as soon as
        the one before it is delivered.
        """
        now = now or datetime.now(UTC)
        sent = 0
        while sent < limit:
            ids = self._due(now, limit - sent)
            if not ids:
                break
            round_sent = 0
            for delivery_id in ids:
                if self._claim(delivery_id, now):
                    self._send(delivery_id, now)
                    round_sent += 1
            if round_sent == 0:
                break
            sent += round_sent
        return sent

    def _due(self, now: datetime, limit: int) -> builtins.list[int]:
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
            .where(
                _subs.enabled.is_(True),
                sa.or_(
                    sa.and_(_dels.status == "pending", _dels.next_attempt_at <= now),
                    sa.and_(_dels.status == "delivering", _dels.lease_until <= now),
                ),
                ~waits,
            )
            .order_by(_dels.id)
            .limit(limit)
        )
        with self._engine.db.read() as conn:
            return list(conn.execute(query).scalars())

    def _claim(self, delivery_id: int, now: datetime) -> bool:
        with self._engine.db.write() as conn:
            claimed = conn.execute(
                webhook_deliveries.update()
                .where(
                    _dels.id == delivery_id,
                    sa.select(_subs.name).where(_subs.name == _dels.subscription, _subs.enabled.is_(True)).exists(),
                    sa.or_(
                        sa.and_(_dels.status == "pending", _dels.next_attempt_at <= now),
                        sa.and_(_dels.status == "delivering", _dels.lease_until <= now),
                    ),
                )
                .values(status="delivering", lease_until=now + LEASE, attempts=_dels.attempts + 1)
            )
            return claimed.rowcount == 1

    def _send(self, delivery_id: int, now: datetime) -> None:
        with self._engine.db.read() as conn:
            row = conn.execute(sa.select(webhook_deliveries).where(_dels.id == delivery_id)).mappings().one()
            subscription = _subscription(
                conn.execute(sa.select(webhook_subscriptions).where(_subs.name == row["subscription"])).mappings().one()
            )
            if row["event_id"] is not None:
                event = conn.execute(sa.select(outbox).where(outbox.c.id == row["event_id"])).mappings().one()
                body = event_body(event)
                key = str(row["event_id"])
            else:
                key = f"d{row['id']}"
                body = {"id": key, **dict(row["payload"] or {})}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "X-CRM-Event-Id": key,
            "X-CRM-Timestamp": timestamp,
            "X-CRM-Signature": sign(subscription.secret, timestamp, data),
        }
        outcome = self._sender.post(subscription.url, data, headers)
        self._settle(row, subscription, outcome, now)

    def _settle(self, row: Mapping[Any, Any], subscription: Subscription, outcome: Outcome, now: datetime) -> None:
        attempts = int(row["attempts"])  # counted when claimed (the row was read after that)
        values: dict[str, Any] = {"lease_until": None, "last_status": outcome.status, "last_error": outcome.error}
        if outcome.delivered:
            values |= {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
        elif outcome.status == 410 or attempts >= MAX_ATTEMPTS:
            values |= {"status": "dead", "next_attempt_at": None}
        else:
            wait = FIRST_RETRY * (2 ** (attempts - 1)) * (1 + random.random() / 4)
            values |= {"status": "pending", "next_attempt_at": now + wait}
        with self._engine.db.write() as conn:
            conn.execute(webhook_deliveries.update().where(_dels.id == row["id"]).values(values))
            if outcome.status == 410:
                reason = f"the receiver answered 410 Gone on {now.isoformat(timespec='seconds')}"
                conn.execute(
                    webhook_subscriptions.update()
                    .where(_subs.name == subscription.name)
                    .values(enabled=False, disabled_reason=reason)
                )
        if outcome.delivered:
            return
        level = logging.ERROR if values["status"] == "dead" else logging.WARNING
        log.log(
            level,
            "webhook %s delivery %s (event %s) failed, attempt %s: %s%s",
            subscription.name,
            row["id"],
            row["event_id"],
            attempts,
            outcome.error,
            "; the subscription is disabled" if outcome.status == 410 else "",
        )

    def close(self) -> None:
        """Close the connections kept open to receivers."""
        self._sender.close()
