"""What a workflow is for (a funnel, an approval, a level …), read from its names, and how
long an open record may wait in one of its states: the walker's odds and ``crm demo check``'s
time in state both follow from here."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from engine.metadata import WorkflowDef
from engine.metadata._workflow_model import StateDef

WorkflowKind = Literal["funnel", "approval", "process", "service", "level", "lifecycle"]
NEGATIVE_WORDS = (
    "lost",
    "lose",
    "reject",
    "cancel",
    "void",
    "fail",
    "decline",
    "churn",
    "disqualif",
    "dead",
    "refuse",
    "abandon",
    "close_lost",
    "withdraw",
    "terminate",
    "invalid",
    "deny",
    "denied",
    "write_off",
    "written_off",
    "return",
    "send_back",
    "sendback",
    "revis",
    "rework",
    "bounce",
)
WON_WORDS = ("won", "win", "convert", "signed", "success", "closed_won")
_APPROVAL = ("approv", "review", "submit", "audit", "sign", "check", "verify")
_SERVICE = ("ticket", "case", "complaint", "request", "issue", "incident", "claim", "service")
_LEVEL = ("level", "tier", "grade", "rank")
#: states a record lives in for months (an active member, an agreement in force)
LIFECYCLE_STATES = frozenset({"active", "normal", "enabled", "in_use", "effective", "live", "in_force", "running"})

#: share of closed funnel records that are won
_WON_SHARE = 0.33


def matches(name: str, words: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in words)


#: kinds of workflow a record moves through and leaves (levels and lifecycles are where it lives)
MOVING_KINDS = frozenset({"funnel", "approval", "process", "service"})
#: how long an open record may sit in a state without an SLA, and how many SLAs with one
STALE_WITHOUT_SLA = timedelta(days=365)
STALE_SLAS = 3


def stale_after(state: StateDef) -> timedelta:
    """How long an open record may sit in ``state`` (``crm demo check``'s time_in_state)."""
    return STALE_SLAS * state.escalation.after if state.escalation is not None else STALE_WITHOUT_SLA


def workflow_kind(wf: WorkflowDef) -> WorkflowKind:
    """What a workflow is for, from the names of its entity, field, states and transitions."""
    if matches(wf.entity, _SERVICE):
        return "service"
    if matches(wf.field, _LEVEL) or matches(wf.name, _LEVEL):
        return "level"
    if wf.initial_state in LIFECYCLE_STATES:
        return "lifecycle"
    if any(s.final and matches(s.name, WON_WORDS) for s in wf.states.values()):
        return "funnel"
    if matches(" ".join([*wf.transitions, *wf.states]), _APPROVAL):
        return "approval"
    return "process"


#: (forward, negative, backward, stop) weights by kind of workflow
WEIGHTS: Mapping[WorkflowKind, tuple[float, float, float, float]] = {
    "funnel": (0.62, 0.25, 0.25, 0.13),
    "approval": (0.80, 0.12, 0.60, 0.08),
    "process": (0.80, 0.10, 0.50, 0.10),
    "service": (0.82, 0.08, 0.25, 0.10),
    "level": (0.30, 0.00, 0.15, 0.55),
    "lifecycle": (0.08, 0.05, 0.40, 0.87),
}
#: median hours spent in a state before moving on, by kind of workflow
MEDIAN_HOURS: Mapping[WorkflowKind, float] = {
    "funnel": 24.0 * 6,
    "approval": 14.0,
    "process": 24.0 * 5,
    "service": 20.0,
    "level": 24.0 * 60,
    "lifecycle": 24.0 * 90,
}


def funnel_weights(stages: int) -> tuple[float, float, float, float]:
    """(forward, negative, backward, stop) so that about 30% of closed records are won.

    With ``f`` forward and ``n`` lost at each of ``stages`` stages (and 10% staying put),
    ``f**stages`` are won and ``n * (1 - f**stages) / (1 - f)`` lost; ``f`` is found by
    bisection and kept within 50-72% (a funnel's stage-to-stage rate).
    """
    stop = 0.10
    low, high = 0.50, 0.72
    for _ in range(30):
        f = (low + high) / 2
        won = f**stages
        lost = (1 - stop - f) * (1 - won) / (1 - f)
        if won / (won + lost) > _WON_SHARE:
            high = f
        else:
            low = f
    f = (low + high) / 2
    return f, 1 - stop - f, 0.25, stop


def choose(rng: random.Random, weights: list[float]) -> int:
    roll = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        roll -= w
        if roll < 0:
            return i
    return len(weights) - 1
