"""Workflows compiled once per definitions version: guards and action values as compiled rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.logic import CompiledRule, compile_rule
from engine.metadata._workflow_model import ActionDef, TransitionDef, WorkflowDef


@dataclass(frozen=True)
class CompiledValues:
    """Field → literal value or compiled rule (a JSON object in a definition is a rule)."""

    literals: Mapping[str, Any]
    rules: Mapping[str, CompiledRule]

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> CompiledValues:
        literals, rules = {}, {}
        for name, value in values.items():
            if isinstance(value, dict):
                rules[name] = compile_rule(value)
            else:
                literals[name] = value
        return cls(literals=literals, rules=rules)

    def evaluate(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self.literals)
        for name, rule in self.rules.items():
            out[name] = rule.evaluate(data)
        return out


@dataclass(frozen=True)
class CompiledAction:
    definition: ActionDef
    values: CompiledValues
    #: a notify action's ``title`` and ``message`` (strings or compiled rules)
    texts: CompiledValues = CompiledValues({}, {})
    #: an ``update`` of children: which of them it changes
    where: CompiledRule | None = None

    @classmethod
    def build(cls, action: ActionDef) -> CompiledAction:
        texts = {k: v for k, v in (("title", action.title), ("message", action.message)) if v is not None}
        return cls(
            definition=action,
            values=CompiledValues.build(action.values),
            texts=CompiledValues.build(texts),
            where=compile_rule(action.where) if action.where is not None else None,
        )


@dataclass(frozen=True)
class CompiledTransition:
    definition: TransitionDef
    guard: CompiledRule | None
    actions: tuple[CompiledAction, ...]


@dataclass(frozen=True)
class CompiledWorkflow:
    definition: WorkflowDef
    transitions: Mapping[str, CompiledTransition]
    escalation_actions: Mapping[str, tuple[CompiledAction, ...]]

    @classmethod
    def build(cls, workflow: WorkflowDef) -> CompiledWorkflow:
        transitions = {
            name: CompiledTransition(
                definition=t,
                guard=compile_rule(t.when) if t.when is not None else None,
                actions=tuple(_action(a) for a in t.actions),
            )
            for name, t in workflow.transitions.items()
        }
        escalations = {
            state.name: tuple(_action(a) for a in state.escalation.actions)
            for state in workflow.states.values()
            if state.escalation is not None
        }
        return cls(definition=workflow, transitions=transitions, escalation_actions=escalations)


def _action(action: ActionDef) -> CompiledAction:
    return CompiledAction.build(action)
