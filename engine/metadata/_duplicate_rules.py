"""Duplicate rules of an entity (``"duplicates"`` on an entity document, ``"add_duplicates"``
on an entity overlay): what makes two records likely the same customer, and what to do
about it (``block`` or ``warn``).

The meta-schema checks the shape; the checks here need the entity's fields: each ``match``
names a field of the entity, ``similar`` applies to text fields only, ``threshold`` only
to ``similar``, and each rule name is used once per entity. The rules are frozen into
:class:`DuplicateRule` objects that :mod:`engine.duplicates` turns into keys and checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._problems import child, did_you_mean, problem

MatchMethod = Literal["exact", "similar"]
RuleAction = Literal["block", "warn"]

#: Field types ``similar`` compares (free text; other types are compared exactly).
SIMILAR_TYPES = ("string", "text")
#: The similarity ``similar`` asks for when a rule names no ``threshold``.
DEFAULT_THRESHOLD = 0.85


@dataclass(frozen=True)
class DuplicateMatch:
    """One condition of a rule: ``field`` equal after normalising (``exact``) or at least
    ``threshold`` similar (``similar``, 0..1)."""

    field: str
    method: MatchMethod = "exact"
    threshold: float | None = None

    @property
    def cutoff(self) -> float:
        """The similarity a ``similar`` match needs (the rule's, else the default)."""
        return DEFAULT_THRESHOLD if self.threshold is None else self.threshold


@dataclass(frozen=True)
class DuplicateRule:
    """A named rule: records for which every ``match`` holds are duplicates of each other."""

    name: str
    match: tuple[DuplicateMatch, ...]
    action: RuleAction = "block"

    @property
    def signature(self) -> str:
        """What the stored keys of the rule depend on (a change rebuilds them)."""
        return ";".join(f"{m.field}:{m.method}" for m in self.match)


def rule_from_json(spec: Mapping[str, Any]) -> DuplicateRule:
    """The rule of a valid ``duplicates`` item."""
    return DuplicateRule(
        name=str(spec["name"]),
        match=tuple(
            DuplicateMatch(
                field=str(m["field"]),
                method=m.get("method", "exact"),
                threshold=float(m["threshold"]) if m.get("threshold") is not None else None,
            )
            for m in spec["match"]
        ),
        action=spec.get("action", "block"),
    )


def rule_to_json(rule: DuplicateRule) -> dict[str, Any]:
    """A rule as written in a document, with only non-default keys."""
    out: dict[str, Any] = {"name": rule.name, "match": []}
    for m in rule.match:
        item: dict[str, Any] = {"field": m.field}
        if m.method != "exact":
            item["method"] = m.method
        if m.threshold is not None:
            item["threshold"] = m.threshold
        out["match"].append(item)
    if rule.action != "block":
        out["action"] = rule.action
    return out


def build_rules(
    entity: str,
    specs: Sequence[tuple[Mapping[str, Any], SourceRef]],
    field_types: Mapping[str, str],
) -> tuple[tuple[DuplicateRule, ...], list[Problem]]:
    """The frozen rules of ``entity`` (fields by type in ``field_types``) and their problems."""
    rules: list[DuplicateRule] = []
    problems: list[Problem] = []
    seen: dict[str, SourceRef] = {}
    for spec, where in specs:
        name = str(spec["name"])
        if name in seen:
            first = seen[name]
            message = (
                f"the entity {entity!r} already has a duplicate rule {name!r} (in {first.file} at "
                f"{first.pointer}); give this one another name."
            )
            problems.append(problem("duplicate_rule_exists", message, child(where, "name")))
            continue
        seen[name] = where
        rule = rule_from_json(spec)
        for index, m in enumerate(rule.match):
            at = child(where, "match", index)
            kind = field_types.get(m.field)
            if kind is None:
                hint = did_you_mean(m.field, list(field_types))
                message = f"{m.field!r} is not a field of {entity!r}.{hint}"
                problems.append(problem("unknown_field", message, child(at, "field")))
            elif m.method == "similar" and kind not in SIMILAR_TYPES:
                message = (
                    f"{m.field!r} is a {kind} field; similar compares text only (string, text). "
                    'Use "method": "exact" for it.'
                )
                problems.append(problem("inapplicable_method", message, child(at, "method")))
            if m.threshold is not None and m.method != "similar":
                message = 'threshold applies to "method": "similar" only; remove it or use similar.'
                problems.append(problem("inapplicable_option", message, child(at, "threshold")))
        rules.append(rule)
    return tuple(rules), problems
