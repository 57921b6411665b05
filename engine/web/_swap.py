"""Serving live definitions: a WSGI app that rebuilds the Flask app when they change.

A Flask app is built for one version of the definitions: the admin UI registers a view
per entity, and neither Flask nor flask-admin accept new views once a request was served.
So when another process (``crm schema apply``, another web worker) applies new
definitions, :class:`SwappingApp` builds a fresh app for them and swaps it in:

- it owns one :class:`~engine.runtime.CrmEngine` per process (create it in each worker:
  the factory :func:`serve_app` runs after gunicorn forked, and a pool inherited across a
  fork is dropped without closing the parent's connections);
- at most once per ``CRM_RELOAD_INTERVAL`` seconds one request looks at the stored
  definitions version (one ``SELECT max(version)``); the others go on without waiting
  (a non-blocking lock);
- on a change it reloads the engine, builds the new app, then replaces the reference in
  one assignment. Requests already running finish on the old app; nothing is torn down,
  since every app shares the one engine the swapper owns.

A failure while looking (database down) or building is logged and the current app goes
on serving; the next interval tries again.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask

from engine.errors import UsageError
from engine.runtime import CrmEngine
from engine.storage import current_version

from ._app import create_app
from ._state import DEFAULT_RELOAD_INTERVAL, PeriodicCheck

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("engine.web")

#: The response header naming the process that answered (its pid), so an operator (or a
#: test) can tell the workers apart; a pid says nothing a client could use.
WORKER_HEADER = "X-CRM-Worker"


@dataclass(frozen=True)
class _Built:
    app: Flask
    version: int


class SwappingApp:
    """A WSGI application serving a Flask app rebuilt whenever the definitions change.

    :param config: what :func:`~engine.web.create_app` takes (``CRM_DATABASE_URL``,
        ``CRM_RELOAD_INTERVAL``, Flask settings), except ``CRM_ENGINE``.
    :param engine: serve this engine (the caller owns and closes it) instead of opening
        one on ``CRM_DATABASE_URL``.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, engine: CrmEngine | None = None) -> None:
        settings = dict(config or {})
        if "CRM_ENGINE" in settings:
            raise TypeError("pass the engine as SwappingApp(engine=...), not in the config")
        url = settings.pop("CRM_DATABASE_URL", None) or os.environ.get("CRM_DATABASE_URL")
        self.reload_interval = float(settings.get("CRM_RELOAD_INTERVAL", DEFAULT_RELOAD_INTERVAL))
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else CrmEngine(url)
        # the swapper is the one looking for new definitions; the apps it builds need not
        self._app_config = settings | {"CRM_RELOAD_INTERVAL": math.inf}
        self._worker = str(os.getpid())
        os.register_at_fork(after_in_child=_call_if_alive(weakref.WeakMethod(self._forked)))
        self._checks = PeriodicCheck(self.reload_interval, checked_at=time.monotonic())
        self._current = self._build()

    # -- the app --------------------------------------------------------------------------------
    @property
    def app(self) -> Flask:
        """The Flask app serving now (for tests and tools; requests go through ``__call__``)."""
        return self._current.app

    @property
    def version(self) -> int:
        """The definitions version the current app was built for."""
        return self._current.version

    def _build(self) -> _Built:
        version = self.engine.version
        return _Built(create_app(self._app_config | {"CRM_ENGINE": self.engine}), version)

    def check(self) -> bool:
        """Look at the stored version now; rebuild and swap when it changed. True if it did."""
        stored = self._stored_version()
        if stored == self._current.version:
            return False
        self.engine.reload()  # also picks up an apply made through this process's own API
        built = self._build()
        self._current = built  # one assignment: a request sees the old app or the new one
        logger.info("definitions version %d: serving a new app (worker %s)", built.version, self._worker)
        return True

    def _stored_version(self) -> int:
        with self.engine.db.read() as conn:
            return current_version(conn)

    def _forked(self) -> None:
        # forked after the engine was created (gunicorn --preload): the child must not use,
        # or close, the parent's pooled connections, nor a lock the parent may have held
        self.engine.db.engine.dispose(close=False)
        self._checks.after_fork()
        self._worker = str(os.getpid())

    def _check_logged(self) -> None:
        try:
            self.check()
        except sa.exc.SQLAlchemyError as exc:
            logger.error("cannot look for new definitions: %s", str(exc).splitlines()[0])
        except Exception:
            logger.exception("cannot build the app for the new definitions; serving version %d", self.version)

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self._checks.maybe(self._check_logged)
        app = self._current.app
        worker = self._worker

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            headers.append((WORKER_HEADER, worker))
            return start_response(status, headers, exc_info)

        return app(environ, start)

    def close(self) -> None:
        """Close the engine's connections, if this app opened the engine."""
        if self._owns_engine:
            self.engine.close()


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> Callable[[], None]:
    def call() -> None:
        found = method()
        if found is not None:
            found()

    return call


def environment_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``config`` over the settings the environment gives (``CRM_RELOAD_INTERVAL``,
    ``CRM_TOKEN_CACHE_SECONDS``)."""
    settings = dict(config or {})
    for name in ("CRM_RELOAD_INTERVAL", "CRM_TOKEN_CACHE_SECONDS"):
        seconds = os.environ.get(name)
        if seconds and name not in settings:
            try:
                settings[name] = float(seconds)
            except ValueError:
                raise UsageError(f"{name} must be a number of seconds, not {seconds!r}") from None
    return settings


def serve_app(config: Mapping[str, Any] | None = None) -> SwappingApp:
    """The production entry point: ``gunicorn -w 4 'engine.web:serve_app()'``.

    Settings come from the environment: ``CRM_DATABASE_URL`` (else ``crm.db`` here),
    ``CRM_RELOAD_INTERVAL`` (seconds between looks for new definitions, default 1),
    ``CRM_TOKEN_CACHE_SECONDS`` (seconds a worker reuses a token lookup, default 1),
    ``CRM_SECRET_KEY`` (the admin UI's session key; the same on every worker). ``config``
    overrides them (``'engine.web:serve_app({"CRM_RELOAD_INTERVAL": 0.5})'``).

    gunicorn calls this in each worker after forking (``preload_app`` is off by default),
    so every worker opens its own engine; it is closed when the worker exits.
    """
    swapping = SwappingApp(environment_settings(config))
    atexit.register(swapping.close)
    return swapping
