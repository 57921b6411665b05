"""What the web layer keeps per Flask app: the engine it serves and when it last looked for
new definitions.

Only this module reads ``app.extensions``; views call :func:`current_engine`. Nothing here
depends on a definitions version, so an app can be rebuilt and swapped for a new one (as
the admin UI will need) without touching the engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from engine.runtime import CrmEngine

EXTENSION = "crm"
#: Seconds between two looks at the stored definitions version (one cheap query).
DEFAULT_RELOAD_INTERVAL = 1.0


class PeriodicCheck:
    """Run a check at most once per ``interval`` seconds, from whichever thread comes first.

    A caller that finds another thread already checking goes on without waiting: at worst
    it is one interval behind, never blocked.
    """

    def __init__(self, interval: float, *, checked_at: float = float("-inf")) -> None:
        self.interval = interval
        self._checked_at = checked_at
        self._lock = threading.Lock()

    def maybe(self, check: Callable[[], object]) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.interval:
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._checked_at = now
            check()
        finally:
            self._lock.release()

    def after_fork(self) -> None:
        """A fresh lock in a forked child (the parent may have held the old one)."""
        self._lock = threading.Lock()


@dataclass
class WebState:
    """The engine behind one app, and per-version caches of what is built from its definitions."""

    engine: CrmEngine
    reload_interval: float = DEFAULT_RELOAD_INTERVAL
    owns_engine: bool = False
    _reloads: PeriodicCheck = field(init=False, repr=False)
    _cache: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._reloads = PeriodicCheck(self.reload_interval)

    def refresh(self) -> None:
        """Pick up definitions another process applied, looking at most once per interval."""
        self._reloads.maybe(self.engine.reload)

    def cached(self, kind: str, build: Any) -> Any:
        """``build()`` once per definitions version (the OpenAPI document, the docs page)."""
        key = (kind, self.engine.version)
        found = self._cache.get(key)
        if found is None:
            found = build()
            with self._cache_lock:
                for old in [k for k in self._cache if k[0] == kind and k != key]:
                    del self._cache[old]
                self._cache[key] = found
        return found


def bind_engine(app: Flask, engine: CrmEngine, *, owns_engine: bool = False) -> WebState:
    """Attach ``engine`` to ``app`` (once; each subsystem's ``init_app`` calls this)."""
    state = app.extensions.get(EXTENSION)
    if state is None:
        state = WebState(
            engine,
            reload_interval=float(app.config.get("CRM_RELOAD_INTERVAL", DEFAULT_RELOAD_INTERVAL)),
            owns_engine=owns_engine,
        )
        app.extensions[EXTENSION] = state
    elif state.engine is not engine:
        raise RuntimeError("this app already serves another CrmEngine; build a new app for it")
    return state


def web_state() -> WebState:
    """The state of the app handling the current request."""
    state: WebState = current_app.extensions[EXTENSION]
    return state


def current_engine() -> CrmEngine:
    """The engine the current request works on."""
    return web_state().engine
