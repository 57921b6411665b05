"""Sending one signed delivery over HTTP.

urllib3 (the HTTP layer under requests, maintained by the same people for over a decade)
rather than httpx: it is already installed with the engine's stack, it keeps connections
alive per host in a pool, and its pools can be opened to an *address* while verifying TLS and
sending ``Host`` for the *name* (``server_hostname``, ``assert_hostname``), which is what
pinning the address checked against private ranges needs (see :mod:`._addresses`); httpx
would need a custom transport for that.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass

import urllib3

from ._addresses import Target, WebhookUrlError, resolve

#: Seconds a receiver has to answer (``CRM_WEBHOOK_TIMEOUT`` overrides it).
TIMEOUT = 10.0
TIMEOUT_ENV = "CRM_WEBHOOK_TIMEOUT"
#: Pools kept open (one per receiver address and name); the oldest is closed past this.
MAX_POOLS = 64
USER_AGENT = "crm-engine-webhooks/1"


def timeout() -> float:
    """The timeout of one request, in seconds."""
    text = os.environ.get(TIMEOUT_ENV)
    try:
        return float(text) if text else TIMEOUT
    except ValueError:
        return TIMEOUT


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``: the ``X-CRM-Signature``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What a receiver answered: its HTTP status (None when none came) and what went wrong."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """POSTs bodies to receivers, reusing connections (thread-safe)."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if len(self._pools) >= MAX_POOLS:
                    oldest = next(iter(self._pools))
                    self._pools.pop(oldest).close()
                options = {"maxsize": 4, "retries": False, "block": False}
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        target.address,
                        target.port,
                        server_hostname=target.host,
                        assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED",
                        **options,  # type: ignore[arg-type]
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)  # type: ignore[arg-type]
                self._pools[key] = pool
            return pool

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST ``body`` to ``url`` (checked again against private addresses first)."""
        try:
            target = resolve(url)
        except WebhookUrlError as exc:
            return Outcome(None, exc.message)
        default = 443 if target.scheme == "https" else 80
        host = target.host if ":" not in target.host else f"[{target.host}]"
        sent = {
            **headers,
            "Host": host if target.port == default else f"{host}:{target.port}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        seconds = timeout()
        try:
            response = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers=sent,
                timeout=urllib3.Timeout(connect=seconds, read=seconds),
                redirect=False,
                assert_same_host=False,
                preload_content=True,
            )
        except urllib3.exceptions.TimeoutError:
            return Outcome(None, f"no answer within {seconds:g} s")
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}")
        status = int(response.status)
        if 200 <= status < 300:
            return Outcome(status, None)
        text = response.data[:200].decode("utf-8", "replace").strip()
        return Outcome(status, f"HTTP {status}" + (f": {text}" if text else ""))

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
