"""Automations compiled once per definitions version: rules compiled, indexed by what fires them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.logic import CompiledRule, compile_rule
from engine.metadata import AutomationDef, Definitions
from engine.workflow import CompiledAction

#: The outbox event type that fires each record trigger.
EVENT_OF_TRIGGER = {
    "created": "record.created",
    "updated": "record.updated",
    "deleted": "record.deleted",
    "transitioned": "record.transitioned",
}


@dataclass(frozen=True)
class CompiledAutomation:
    definition: AutomationDef
    when: CompiledRule | None
    actions: tuple[CompiledAction, ...]

    @property
    def name(self) -> str:
        return self.definition.name

    def fires_on(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        """Whether a record event of ``event_type`` with ``payload`` sets this automation off
        (its ``when`` rule aside)."""
        trigger = self.definition.trigger
        if EVENT_OF_TRIGGER.get(trigger.event) != event_type:
            return False
        if trigger.fields:
            changes = payload.get("changes")
            return isinstance(changes, Mapping) and any(f in changes for f in trigger.fields)
        if trigger.transitions:
            return payload.get("transition") in trigger.transitions
        return True


@dataclass(frozen=True)
class CompiledAutomations:
    """Every enabled automation of one definitions version, by entity and trigger event."""

    by_name: Mapping[str, CompiledAutomation]
    on_record: Mapping[tuple[str, str], tuple[CompiledAutomation, ...]]
    on_clock: tuple[CompiledAutomation, ...]

    @classmethod
    def build(cls, definitions: Definitions) -> CompiledAutomations:
        by_name: dict[str, CompiledAutomation] = {}
        on_record: dict[tuple[str, str], list[CompiledAutomation]] = {}
        on_clock: list[CompiledAutomation] = []
        for automation in definitions.automations.values():
            compiled = CompiledAutomation(
                definition=automation,
                when=compile_rule(automation.when) if automation.when is not None else None,
                actions=tuple(CompiledAction.build(a) for a in automation.actions),
            )
            by_name[automation.name] = compiled
            if not automation.enabled:
                continue
            if automation.trigger.on_record:
                key = (automation.entity, EVENT_OF_TRIGGER[automation.trigger.event])
                on_record.setdefault(key, []).append(compiled)
            else:
                on_clock.append(compiled)
        return cls(
            by_name=by_name,
            on_record={k: tuple(v) for k, v in on_record.items()},
            on_clock=tuple(on_clock),
        )
