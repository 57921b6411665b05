"""Weighted rules: JSON Logic conditions worth points (weighted_rules, lead_grade's fit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.logic import CompiledRule, EvaluationError, fields_read
from engine.metadata import Label
from engine.scoring import Factor

from . import _binding
from ._config import LABEL, NAME, RULE, label_of, strict

RULE_ITEM: dict[str, Any] = strict(
    {
        "name": {
            **NAME,
            "description": "stable name of the rule (the factor's name); default rule_N",
        },
        "when": RULE,
        "points": {"type": "number"},
        "reason": LABEL,
    },
    ["when", "points"],
)
RULES_SCHEMA: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": 500, "items": RULE_ITEM}


@dataclass(frozen=True)
class WeightedRule:
    name: str
    when: CompiledRule
    points: float
    reason: Label
    source: Mapping[str, Any]
    #: The record fields the condition reads (``None``: not known).
    fields: tuple[str, ...] | None = None


def bind_rules(items: Sequence[Mapping[str, Any]], pointer: str) -> tuple[WeightedRule, ...]:
    """Compile each rule's condition; problems point at ``pointer/i/when/...``."""
    out = []
    for i, item in enumerate(items):
        name = str(item.get("name") or f"rule_{i + 1}")
        when = _binding.rule(item["when"], f"{pointer}/{i}/when")
        reason = label_of(item.get("reason"), name.replace("_", " "))
        out.append(WeightedRule(name, when, float(item["points"]), reason, item, _sorted(fields_read(when))))
    return tuple(out)


@dataclass(frozen=True)
class Matches:
    total: float
    factors: tuple[Factor, ...]
    errors: tuple[dict[str, Any], ...]


def match(rules: Sequence[WeightedRule], record: Mapping[str, Any], now: datetime) -> Matches:
    """The rules ``record`` matches, as factors worth their points.

    A rule that fails on this record (``NaN``: a text where it compares numbers...) does not
    match; the failure is reported in ``errors`` so the score is explainable.
    """
    data = {"record": record, "now": now.isoformat()}
    total = 0.0
    factors: list[Factor] = []
    errors: list[dict[str, Any]] = []
    for rule in rules:
        try:
            hit = rule.when.matches(data)
        except EvaluationError as error:
            code = error.problems[0].code if error.problems else error.code
            errors.append({"rule": rule.name, "code": code, "message": error.message})
            continue
        if hit:
            total += rule.points
            factors.append(Factor(rule.name, rule.points, rule.reason, fields=rule.fields))
    return Matches(total, tuple(factors), tuple(errors))


def by_importance(factors: Sequence[Factor]) -> tuple[Factor, ...]:
    """Largest absolute contribution first; ties keep their order."""
    return tuple(sorted(factors, key=lambda f: -abs(f.contribution)))


def _sorted(fields: frozenset[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(fields)) if fields is not None else None
