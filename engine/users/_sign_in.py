"""Signing in with a password, with a limit on guessing.

Failures are counted per account (the name typed, known or not, so the limit says nothing
about which names exist) and per address, over a sliding window, in ``crm_sign_in_failures``:
the limits hold across processes and web workers without any other server. Past a limit,
sign-ins are refused *before* the password is checked, with the seconds to wait; a success
clears the account's failures. Every failure is logged (``engine.users``, warning).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import CrmError, Problem
from engine.storage import sign_in_failures

from ._service import User

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

logger = logging.getLogger("engine.users")

FailureKind = Literal["account", "address"]


@dataclass(frozen=True)
class SignInLimits:
    """How many failures each account and each address may have within ``window``."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class TooManySignInsError(CrmError):
    """Too many failed sign-ins for an account or from an address; ``retry_after`` seconds."""

    code = "too_many_sign_ins"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"too many failed sign-ins for this account or from this address; try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}",
            [Problem(code=self.code, field="name", message=f"wait {retry_after} seconds")],
        )
        self.retry_after = retry_after


class SignInService:
    """Password sign-in with per-account and per-address limits (``engine.sign_ins``)."""

    def __init__(self, engine: CrmEngine, limits: SignInLimits | None = None) -> None:
        self._engine = engine
        self.limits = limits or SignInLimits()

    def sign_in(self, name: str, password: str, *, address: str | None) -> User | None:
        """The user whose password this is, else ``None`` (a failure, counted and logged).

        :param address: the client's address (``None`` when unknown: only the account counts).
        :raises TooManySignInsError: when the account or the address is over its limit.
        """
        account = name.strip().lower()
        now = utcnow()
        self._refuse_when_over(account, address, now)
        user = self._engine.users.authenticate(name, password)
        if user is None:
            self._record_failure(account, address, now)
            logger.warning("failed sign-in for %r from %s", name, address or "an unknown address")
            return None
        with self._engine.db.write() as conn:
            conn.execute(self._of("account", account))  # a success starts the account afresh
        return user

    def _refuse_when_over(self, account: str, address: str | None, now: datetime) -> None:
        waits = [self._wait("account", account, self.limits.per_account, now)]
        if address:
            waits.append(self._wait("address", address, self.limits.per_address, now))
        longest = max(waits)
        if longest > 0:
            logger.warning("sign-in refused for %r from %s: too many failures", account, address)
            raise TooManySignInsError(longest)

    def _wait(self, kind: FailureKind, key: str, limit: int, now: datetime) -> int:
        """Seconds until ``key`` is under ``limit`` failures again (0 when it is now)."""
        t = sign_in_failures.c
        query = (
            sa.select(t.at)
            .where(t.kind == kind, t.key == key[:256], t.at > now - self.limits.window)
            .order_by(t.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        with self._engine.db.read() as conn:
            oldest_counted = conn.execute(query).scalar()
        if oldest_counted is None:
            return 0
        remaining: timedelta = oldest_counted + self.limits.window - now
        return max(1, math.ceil(remaining.total_seconds()))

    def _record_failure(self, account: str, address: str | None, now: datetime) -> None:
        rows = [{"kind": "account", "key": account[:256], "at": now}]
        if address:
            rows.append({"kind": "address", "key": address[:256], "at": now})
        with self._engine.db.write() as conn:
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.at <= now - self.limits.window))
            conn.execute(sign_in_failures.insert(), rows)

    @staticmethod
    def _of(kind: FailureKind, key: str) -> sa.Delete:
        return sign_in_failures.delete().where(sign_in_failures.c.kind == kind, sign_in_failures.c.key == key[:256])
