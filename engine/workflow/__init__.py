"""Workflows: state machines over an enum field, run through guarded, role-gated transitions."""

from __future__ import annotations

from ._actions import assign, notify, run_transition, run_update
from ._board import CARDS_PER_COLUMN, Board, Card, Column, amount_field, board, column_cards
from ._checks import HIDDEN_FIELDS, Refusal, TransitionCheck, TransitionRefusedError, inputs_from_text
from ._compiled import CompiledAction, CompiledValues
from ._service import AmbiguousTransitionError, UnknownTransitionError, UnknownWorkflowError, WorkflowService
from ._sla import Escalation, breach_counts, tick, time_in_states
from ._views import WorkflowView

__all__ = [
    "CARDS_PER_COLUMN",
    "HIDDEN_FIELDS",
    "AmbiguousTransitionError",
    "Board",
    "Card",
    "Column",
    "CompiledAction",
    "CompiledValues",
    "Escalation",
    "Refusal",
    "TransitionCheck",
    "TransitionRefusedError",
    "UnknownTransitionError",
    "UnknownWorkflowError",
    "WorkflowService",
    "WorkflowView",
    "amount_field",
    "assign",
    "board",
    "breach_counts",
    "column_cards",
    "inputs_from_text",
    "notify",
    "run_transition",
    "run_update",
    "tick",
    "time_in_states",
]
