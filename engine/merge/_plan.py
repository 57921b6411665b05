"""Which value of each field a merge keeps, decided before anything is written.

The rule: the target's value, unless it is empty (null, blank text, an empty list or object)
and the source's is not, or the caller says ``take`` (``{"phone": "source"}``). Fields the
engine writes are not chosen: derived fields are recomputed, autonumbers keep the target's
number, and workflow state fields keep the target's state (a state is reached through
transitions, never copied). A source that has moved on in a workflow to another state than the
target's is refused (see :func:`workflow_problems`): its progress would otherwise be dropped
without a word. A reference from the entity to itself never makes the merged record refer to
itself: the source's value naming either record is not taken, and the target's reference to
the source is cleared (:func:`self_references`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata import Definitions, EntityDef, field_type

Side = Literal["source", "target"]
SIDES: tuple[Side, ...] = ("source", "target")
#: Why a field keeps the value it keeps.
Reason = Literal["target", "empty", "take", "same", "workflow", "derived", "assigned"]


@dataclass(frozen=True)
class FieldChoice:
    """The values of one field on both records and which one the merged record keeps."""

    field: str
    source: Any
    target: Any
    winner: Side
    reason: Reason

    @property
    def changes(self) -> bool:
        """Whether the merge writes the source's value over the target's."""
        return self.winner == "source" and self.source != self.target

    def to_json(self, jsonable: Any) -> dict[str, Any]:
        return {
            "field": self.field,
            "source": jsonable(self.source),
            "target": jsonable(self.target),
            "winner": self.winner,
            "reason": self.reason,
        }


def is_empty(value: Any) -> bool:
    """Whether a stored value counts as empty for the merge (the other record's value fills it)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def choose(
    definitions: Definitions,
    definition: EntityDef,
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    take: Mapping[str, str],
) -> tuple[list[FieldChoice], list[Problem]]:
    """Each field's choice, and one problem per ``take`` entry that cannot be honoured."""
    workflow_fields = {w.field for w in definitions.workflows_for(definition.name)}
    problems: list[Problem] = []
    for name, side in take.items():
        f = definition.fields.get(name)
        if f is None:
            known = ", ".join(definition.fields)
            problems.append(
                Problem(
                    code="unknown_field",
                    field=name,
                    message=f"{definition.name} has no field {name}; take one of {known}",
                )
            )
        elif side not in SIDES:
            problems.append(
                Problem(code="take", field=name, message=f'say {name}=source or {name}=target, not "{side}"')
            )
        elif side == "source" and name in workflow_fields:
            problems.append(
                Problem(
                    code="workflow_field",
                    field=name,
                    message=f"{name} is a workflow state: the target keeps its state; move it through "
                    "its transitions after the merge",
                )
            )
        elif side == "source" and f.derived:
            problems.append(
                Problem(code="read_only", field=name, message=f"{name} is computed by the engine and cannot be taken")
            )
        elif side == "source" and field_type(f.type).assigned:
            problems.append(
                Problem(code="read_only", field=name, message=f"{name} is numbered by the engine; the target keeps its")
            )
    choices = []
    for name, f in definition.fields.items():
        s, t = source.get(name), target.get(name)
        # the merged record cannot refer to itself
        to_self = f.type == "reference" and f.target == definition.name and s in (source.get("id"), target.get("id"))
        winner: Side
        reason: Reason
        if name in workflow_fields:
            winner, reason = "target", "workflow"
        elif f.derived:
            winner, reason = "target", "derived"
        elif field_type(f.type).assigned:
            winner, reason = "target", "assigned"
        elif name in take and take[name] in SIDES and not (to_self and take[name] == "source"):
            winner, reason = ("source" if take[name] == "source" else "target"), "take"
        elif s == t:
            winner, reason = "target", "same"
        elif is_empty(t) and not is_empty(s) and not to_self:
            winner, reason = "source", "empty"
        else:
            winner, reason = "target", "target"
        choices.append(FieldChoice(name, s, t, winner, reason))
    return choices, problems


def workflow_problems(
    definitions: Definitions, definition: EntityDef, source: Mapping[str, Any], target: Mapping[str, Any]
) -> list[Problem]:
    """A ``workflow_state`` problem per workflow in which the source has left the initial state
    for another state than the target's: the merged record keeps the target's state, so the
    source's progress (a qualified lead, a won deal) would be lost."""
    problems = []
    for w in definitions.workflows_for(definition.name):
        s, t = source.get(w.field), target.get(w.field)
        if s != t and s != w.initial_state:
            problems.append(
                Problem(
                    code="workflow_state",
                    field=w.field,
                    message=f"the source is in state {s} of workflow {w.name} and the target in {t}; the "
                    f"merged record keeps {t}: move the target to {s} first, or merge the other way round",
                )
            )
    return problems


def self_references(definition: EntityDef, source: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, None]:
    """The target's references to the source through fields of the entity referring to itself
    (``parent_account``): cleared before the source goes, since the merged record cannot
    refer to itself."""
    return {
        name: None
        for name, f in definition.fields.items()
        if f.type == "reference" and f.target == definition.name and target.get(name) == source.get("id")
    }
