"""Frozen workflow definitions: states, guarded transitions, inputs, actions, SLAs.

A workflow drives one enum field of one entity through its states. Guards and computed
values are JSON Logic rules kept as their JSON (``engine.logic`` compiles them later, at
the compile stage); this package only validates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

from ._model import FieldType, Label, SourceRef

ActionKind = Literal["set", "create", "assign", "rescore", "notify"]
AssignStrategy = Literal["round_robin", "least_loaded"]


@dataclass(frozen=True)
class InputDef:
    """A value the user gives when running a transition (a lost reason, a comment)."""

    name: str
    type: FieldType
    label: Label
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class ActionDef:
    """One action run by a transition, in order, inside the transition's transaction.

    - ``set``: ``values`` maps field → JSON value or JSON Logic rule (``{"var": "now"}``).
    - ``create``: a record of ``entity`` with ``values`` (same form; ``{"var": "record.id"}``
      links it back).
    - ``assign``: set ``field`` (default ``owner``) to a user with ``role`` (and ``team``
      when given) chosen by ``strategy``.
    - ``rescore``: ask scoring to recompute ``scorings`` (all of the entity's when empty).
    - ``notify``: call the ``crm_notify`` hook with ``topic`` (plugins deliver it).
    """

    kind: ActionKind
    values: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    entity: str | None = None
    field: str | None = None
    role: str | None = None
    team: str | None = None
    strategy: AssignStrategy = "round_robin"
    scorings: tuple[str, ...] = ()
    topic: str | None = None
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EscalationDef:
    """What happens when a record stays in a state longer than ``after``.

    Either a ``transition`` run by the system user, or ``actions`` run in place, or both.
    """

    after: timedelta
    transition: str | None = None
    actions: tuple[ActionDef, ...] = ()


@dataclass(frozen=True)
class StateDef:
    name: str
    label: Label
    initial: bool = False
    final: bool = False
    #: fields that must have a value for a record to enter this state
    required: tuple[str, ...] = ()
    #: fields users may not change while the record is in this state
    read_only: tuple[str, ...] = ()
    escalation: EscalationDef | None = None


@dataclass(frozen=True)
class TransitionDef:
    name: str
    label: Label
    from_states: tuple[str, ...]
    to_state: str
    #: JSON Logic guard over record, changes, inputs, user, now; None = always
    when: Any = None
    #: roles allowed to run it; empty = any user
    roles: tuple[str, ...] = ()
    #: separation of duties: the record's creator may not run it
    not_by_creator: bool = False
    inputs: Mapping[str, InputDef] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    actions: tuple[ActionDef, ...] = ()
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    entity: str
    field: str
    label: Label
    states: Mapping[str, StateDef]
    transitions: Mapping[str, TransitionDef]
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("states", "transitions"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    @property
    def initial_state(self) -> str:
        return next(s.name for s in self.states.values() if s.initial)
