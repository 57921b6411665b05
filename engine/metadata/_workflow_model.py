"""Frozen workflow definitions, and the SLA durations they hold.

Frozen workflow definitions: states, guarded transitions, inputs, actions, SLAs.

A workflow drives one enum field of one entity through its states. Guards and computed
values are JSON Logic rules kept as their JSON (``engine.logic`` compiles them later, at
the compile stage); this package only validates them.

ISO 8601 durations of SLAs (``P3D``, ``PT4H``, ``P1DT12H``, ``P2W``) as timedeltas.

Only units of a fixed length are accepted: weeks, days, hours, minutes and seconds.
Years and months have no fixed length (is ``P1M`` 28 days or 31?), so an SLA written in
them would expire at a moment nobody can state; they are refused with a fix.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

from ._model import FieldType, Label, SourceRef, freeze_mappings
from ._recipients import Recipient

ActionKind = Literal["set", "create", "update", "transition", "assign", "rescore", "notify", "webhook"]
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
    - ``notify``: call the ``crm_notify`` hook with ``topic`` (plugins deliver it); with
      ``recipients``, also notify those users in the app (and by email), with ``title`` and
      ``message`` (each a string or a JSON Logic rule; the topic when no title is given).
    - ``update``: set ``values`` on the record the reference ``target`` points to, or on the
      records of ``children`` (entity, reference) that point to this one and for which
      ``where`` holds.
    - ``transition``: run the transition ``transition`` as the system, on this record or on
      the record the reference ``target`` points to, with ``comment``.
    - ``webhook``: send the triggering change to the webhook ``subscription`` (automations).

    A ``create`` action may name its record (``as_name``): later actions read it as
    ``created.NAME``.
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
    as_name: str | None = None
    target: str | None = None
    children: tuple[str, str] | None = None
    where: Any = None
    transition: str | None = None
    comment: str | None = None
    subscription: str | None = None
    recipients: tuple[Recipient, ...] = ()
    title: Any = None
    message: Any = None
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
        freeze_mappings(self, "states", "transitions")

    @property
    def initial_state(self) -> str:
        return next(s.name for s in self.states.values() if s.initial)


_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,6})W)?(?:(?P<days>[0-9]{1,6})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,7})H)?(?:(?P<minutes>[0-9]{1,9})M)?(?:(?P<seconds>[0-9]{1,10})S)?)?"
)
_CALENDAR_UNITS = re.compile(r"P(?:[0-9]+[WD])*[0-9]+[YM]")
#: Longer than any SLA, and far below what :class:`timedelta` can hold.
MAX_DURATION = timedelta(days=36600)


def parse_duration(text: str) -> timedelta | str:
    """The duration ``text`` means, or the reason it means none (phrased as a fix)."""
    match = _DURATION.fullmatch(text)
    if match is None or text == "P" or text.endswith("T"):
        if _CALENDAR_UNITS.match(text):
            return 'years and months have no fixed length; write days or weeks instead (e.g. "P30D" rather than "P1M")'
        return (
            'write an ISO 8601 duration such as "P3D" (3 days), "PT4H" (4 hours), '
            '"PT30M" (30 minutes), "P2W" (2 weeks) or "P1DT12H" (a day and a half)'
        )
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
    duration = timedelta(**parts)
    if duration <= timedelta(0):
        return "a duration must be longer than zero"
    if duration > MAX_DURATION:
        return f"a duration may be at most {MAX_DURATION.days} days"
    return duration


def format_duration(duration: timedelta) -> str:
    """The canonical ISO 8601 text of ``duration``: days, then hours, minutes, seconds."""
    days = duration.days
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"P{days}D" if days else "P"
    clock = "".join(f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if value)
    return text + ("T" + clock if clock else "")
