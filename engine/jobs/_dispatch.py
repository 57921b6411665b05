"""The dispatcher: what a worker does continuously, between jobs and periodic slots.

Webhook deliveries and the background runs of automations are due seconds after the change
that made them, not at the next periodic slot (a minute). Both are claimed under a lease in
the database, so every worker may look for them at once without doing anything twice: each
worker process runs one dispatcher thread that asks for due work, and when there was none
waits :data:`IDLE_SECONDS` (or ``CRM_DISPATCH_INTERVAL``) before asking again. A thread of
its own, not a Huey periodic task: Huey's periodic tasks run at most once a minute.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

log = logging.getLogger("engine.jobs")

#: How long an idle dispatcher waits before it asks again for due work.
IDLE_SECONDS = 0.5


def dispatch_once(engine: CrmEngine) -> int:
    """One pass: due webhook deliveries, then due background automation runs; how many."""
    done = 0
    if engine.has_definitions:
        done += engine.automations.run_pending()
    done += engine.webhooks.work()
    return done


class Dispatcher:
    """A daemon thread running :func:`dispatch_once` until :meth:`stop`."""

    def __init__(self, engine: CrmEngine, idle: float | None = None) -> None:
        self._engine = engine
        self._idle = idle if idle is not None else float(os.environ.get("CRM_DISPATCH_INTERVAL", IDLE_SECONDS))
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crm-dispatcher", daemon=True)

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to stop after its current pass, and wait for it."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = dispatch_once(self._engine) > 0
            except Exception:  # a bad pass is logged; the next one tries again
                log.exception("dispatcher pass failed")
                busy = False
            if not busy:
                self._stopping.wait(self._idle)
