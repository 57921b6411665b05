"""Webhook subscriptions: created, listed, enabled, disabled, deleted and replayed by
administrators, and fed by :class:`~._delivery.Deliverer` (see ``docs/webhooks.md``)."""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, CrmError, NotFoundError, PermissionDeniedError, Problem, RecordValidationError
from engine.storage import events as outbox
from engine.storage import to_jsonable, webhook_deliveries, webhook_subscriptions
from engine.suggestions import did_you_mean

from ._addresses import resolve
from ._delivery import DELIVER_BATCH, FAN_OUT_BATCH, Deliverer, delivery_row, insert_ignoring_duplicates
from ._model import AUTOMATION_WEBHOOK, EVENTS, Delivery, Subscription, delivery_of, subscription_of
from ._sender import Sender

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

log = logging.getLogger("engine.webhooks")

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


class WebhookService:
    """Webhook subscriptions: managed by administrators, fed from the outbox by workers."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._sender = Sender()
        self._deliverer = Deliverer(engine, self._sender)

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
        now = utcnow()
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
        return subscription_of(row)

    def list(self, *, user: User) -> list[Subscription]:
        """Every subscription, by name."""
        _require_admin(user)
        with self._engine.db.read() as conn:
            rows = conn.execute(sa.select(webhook_subscriptions).order_by(_subs.name)).mappings()
            return [subscription_of(r) for r in rows]

    def get(self, name: str, *, user: User) -> Subscription:
        _require_admin(user)
        with self._engine.db.read() as conn:
            return self._find(conn, name)

    def _find(self, conn: Connection, name: str) -> Subscription:
        row = conn.execute(sa.select(webhook_subscriptions).where(_subs.name == name)).mappings().first()
        if row is None:
            known = list(conn.execute(sa.select(_subs.name)).scalars())
            raise UnknownSubscriptionError(name, known)
        return subscription_of(row)

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
            return [delivery_of(r) for r in conn.execute(query).mappings()]

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
        now = now or utcnow()
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
            rows = [delivery_row(name, row, now) for row in found]
            insert_ignoring_duplicates(conn, webhook_deliveries, rows)
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
        self._deliverer.fan_out(now=now)
        return self._deliverer.deliver_due(now=now)

    def fan_out(self, *, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
        """Queue a delivery for every new outbox event each enabled subscription matches;
        how many were queued (see :meth:`Deliverer.fan_out`)."""
        return self._deliverer.fan_out(now=now, limit=limit)

    def deliver_due(self, now: datetime | None = None, limit: int = DELIVER_BATCH) -> int:
        """Send what is due, at most ``limit``; how many were sent, done or not (see
        :meth:`Deliverer.deliver_due`)."""
        return self._deliverer.deliver_due(now=now, limit=limit)

    def close(self) -> None:
        """Close the connections kept open to receivers."""
        self._sender.close()
