"""Describing changes that touch no table: a field's or entity's labels, bounds and choices,
and the workflows, scorings, reports and roles added, removed or changed. The planner turns
these descriptions into ``definition_only`` steps; nothing here reads the database."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from engine.metadata import Definitions, EntityDef, FieldDef

_META_KEYS = (
    "label",
    "description",
    "default",
    "read_only",
    "minimum",
    "maximum",
    "min_length",
    "pattern",
    "number_pattern",
    "choices",
)


def field_meta(f: FieldDef) -> tuple[Any, ...]:
    choices = tuple((c.value, c.label) for c in f.choices)
    return (
        f.label,
        f.description,
        repr(f.default),
        f.read_only,
        f.minimum,
        f.maximum,
        f.min_length,
        f.pattern,
        f.number_pattern,
        f.required,
        choices,
    )


def meta_change(old: FieldDef, new: FieldDef) -> str:
    before, after = _field_meta_dict(old), _field_meta_dict(new)
    changed = []
    for key in (*_META_KEYS, "required"):
        if before[key] == after[key]:
            continue
        if key == "choices" and isinstance(before[key], tuple | list) and isinstance(after[key], tuple | list):
            names_before, names_after = _choice_names(before[key]), _choice_names(after[key])
            edits = [f"+{c}" for c in names_after if c not in names_before]
            edits += [f"-{c}" for c in names_before if c not in names_after]
            changed.append(f"choices ({', '.join(edits)})" if edits else "choices (labels or order)")
        else:
            changed.append(key)
    return ", ".join(changed) + " changed"


def _choice_names(choices: Any) -> list[str]:
    """The names of a field's choices (stored as names or as ``(name, label)`` pairs)."""
    return [c[0] if isinstance(c, tuple) else c for c in choices]


def _field_meta_dict(f: FieldDef) -> dict[str, Any]:
    values = field_meta(f)
    return dict(zip((*_META_KEYS[:-1], "required", "choices"), values, strict=True))


def entity_meta(e: EntityDef) -> tuple[Any, ...]:
    return (e.label, e.description, e.display)


def definition_changes(old: Definitions | None, new: Definitions) -> list[tuple[str, str]]:
    """(entity, detail) per workflow, scoring, report, role and automation added, removed or changed:
    no DDL, but a new version."""
    if old is None:
        return []
    steps: list[tuple[str, str]] = []
    kinds = (("workflows", "workflow"), ("scorings", "scoring"), ("reports", "report"), ("roles", "role"))
    for kind, label in (*kinds, ("automations", "automation")):
        before: Mapping[str, Any] = getattr(old, kind, {})
        after: Mapping[str, Any] = getattr(new, kind, {})
        for name in sorted(set(before) | set(after)):
            if before.get(name) == after.get(name):
                continue
            item = after.get(name) or before.get(name)
            entity = getattr(item, "entity", None) or "-"
            if name not in before:
                detail = f"{label} {name} added"
            elif name not in after:
                detail = f"{label} {name} removed"
            else:
                what = _what_changes(before[name], after[name])
                detail = f"{label} {name} changes" + (f": {what}" if what else "")
            steps.append((entity, detail))
    return steps


def _what_changes(old: Any, new: Any) -> str:
    """Which parts of a definition differ, e.g. ``states +contract_review; transitions ~win; label``.

    Keyed parts (states, transitions, permissions...) list the keys added (+), removed (-) and
    changed (~); other parts are named when they differ. Parts excluded from comparison (the
    source location) are ignored, so moving a document never shows as a change.
    """
    if not dataclasses.is_dataclass(old) or not dataclasses.is_dataclass(new):
        return ""
    parts = []
    for f in dataclasses.fields(old):
        if not f.compare:
            continue
        a, b = getattr(old, f.name), getattr(new, f.name, None)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            keys = [f"+{k}" for k in b if k not in a]
            keys += [f"-{k}" for k in a if k not in b]
            keys += [f"~{k}" for k in a if k in b and a[k] != b[k]]
            parts.append(f"{f.name} {', '.join(keys)}")
        else:
            parts.append(f.name)
    return "; ".join(parts)
