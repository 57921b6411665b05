"""Automations: what the engine does by itself when records change, when dates come and on
schedules, in the triggering transaction or after it (see ``docs/automations.md``)."""

from __future__ import annotations

from ._clock import TickReport, catch_up, tick
from ._compiled import CompiledAutomation, CompiledAutomations
from ._service import MAX_ATTEMPTS, MAX_DEPTH, AutomationFailedError, AutomationRun, AutomationService, actor_of

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_DEPTH",
    "AutomationFailedError",
    "AutomationRun",
    "AutomationService",
    "CompiledAutomation",
    "CompiledAutomations",
    "TickReport",
    "actor_of",
    "catch_up",
    "tick",
]
