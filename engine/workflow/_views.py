"""A workflow as one user may see it: what ``crm workflow show`` and ``GET /workflows`` print.

A state's required and read-only fields leave out the fields hidden from the user (saying
only that some are hidden), and a guard that reads a hidden field, or may (it reads the
whole record), is not shown: the user learns that the transition is guarded, not what it
reads. The same rule as for refusal reasons (``refusals``), from the same
:func:`engine.logic.fields_read`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.logic import fields_read
from engine.metadata import StateDef, TransitionDef, WorkflowDef

from ._compiled import CompiledWorkflow


@dataclass(frozen=True)
class WorkflowView:
    """``definition`` seen by a user from whom the fields ``hidden`` are hidden."""

    definition: WorkflowDef
    hidden: frozenset[str]
    #: transitions whose guard reads (or may read) a hidden field
    secret_guards: frozenset[str]

    @classmethod
    def of(cls, compiled: CompiledWorkflow, hidden: frozenset[str]) -> WorkflowView:
        secret: set[str] = set()
        if hidden:
            for name, transition in compiled.transitions.items():
                if transition.guard is None:
                    continue
                read = fields_read(transition.guard)
                if read is None or read & hidden:
                    secret.add(name)
        return cls(compiled.definition, hidden, frozenset(secret))

    @property
    def states(self) -> Mapping[str, StateDef]:
        return self.definition.states

    @property
    def transitions(self) -> Mapping[str, TransitionDef]:
        return self.definition.transitions

    def required(self, state: StateDef) -> tuple[str, ...]:
        """The fields the user sees that ``state`` requires."""
        return tuple(f for f in state.required if f not in self.hidden)

    def requires_hidden(self, state: StateDef) -> bool:
        """Whether ``state`` also requires fields hidden from the user."""
        return any(f in self.hidden for f in state.required)

    def read_only(self, state: StateDef) -> tuple[str, ...]:
        return tuple(f for f in state.read_only if f not in self.hidden)

    def guard(self, transition: TransitionDef) -> Any:
        """The guard's JSON Logic, or ``None`` when there is none or it is not shown."""
        return None if transition.name in self.secret_guards else transition.when

    def guard_hidden(self, transition: TransitionDef) -> bool:
        return transition.name in self.secret_guards
