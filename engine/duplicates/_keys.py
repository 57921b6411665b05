"""The stored key of a record under a rule, and the similarity of two keys.

A key is the record's normalised values of the rule's ``match`` items, in order, joined
by a separator no normalised value holds; the blocking key keeps the exact values and the
:func:`~._normalise.blocking_prefix` of each ``similar`` one. A record lacking a value of
the rule has no key (an empty value is never a duplicate of another).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rapidfuzz import fuzz

from engine.metadata import DuplicateRule, EntityDef

from ._normalise import blocking_prefix, company_core, normal_email, normal_phone, normal_text

#: The version of the normalisation keys are made with: raise it with any change to
#: ``_normalise.py`` or to this module's keys, and applying definitions rebuilds every key.
KEYS_VERSION = 1
#: Between the parts of a key (a control character: normal text has none).
SEPARATOR = "\x1f"
#: Longer blocking keys are stored as their digest (the column is indexed).
_MAX_BLOCK = 200


def normal_value(field_type: str, value: Any) -> str:
    """``value`` as ``exact`` compares it: phones and emails canonical, the rest normal text."""
    if field_type == "phone":
        return normal_phone(value)
    if field_type == "email":
        return normal_email(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return normal_text(value)


def record_key(definition: EntityDef, rule: DuplicateRule, record: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(key, blocking_key)`` of ``record`` under ``rule``; ``None`` when a value is missing."""
    parts: list[str] = []
    block: list[str] = []
    for m in rule.match:
        value = record.get(m.field)
        if value is None or value == "":
            return None
        if m.method == "similar":
            core = company_core(value)
            if not core:
                return None
            parts.append(core)
            block.append(blocking_prefix(core))
        else:
            normal = normal_value(definition.fields[m.field].type, value)
            if not normal:
                return None
            parts.append(normal)
            block.append(normal)
    blocking = SEPARATOR.join(block)
    if len(blocking) > _MAX_BLOCK:
        blocking = "#" + hashlib.sha256(blocking.encode()).hexdigest()
    return SEPARATOR.join(parts), blocking


def similarity(rule: DuplicateRule, key: str, other: str) -> float | None:
    """How alike two keys of ``rule`` are (0..1, the lowest of its ``similar`` items; 1.0
    when all are exact), or ``None`` when an item does not hold."""
    lowest = 1.0
    for m, a, b in zip(rule.match, key.split(SEPARATOR), other.split(SEPARATOR), strict=True):
        if m.method == "exact":
            if a != b:
                return None
            continue
        if a == b:
            continue
        score = fuzz.ratio(a, b, score_cutoff=m.cutoff * 100) / 100
        if score < m.cutoff:
            return None
        lowest = min(lowest, score)
    return round(lowest, 4)
