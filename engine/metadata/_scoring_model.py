"""Frozen scoring definitions: which scorer scores which entity, with what configuration."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from ._model import Label, SourceRef

Trigger = Literal["save", "transition", "batch"]


@dataclass(frozen=True)
class ScoringDef:
    """A ``scoring`` document.

    :param scorer: the name of a registered scorer (``weighted_rules``, ``rfm``...).
    :param config: the scorer's configuration, validated against its JSON Schema.
    :param target_value: the entity field that receives the value (optional).
    :param target_grade: the entity field that receives the grade or tier (optional).
    :param triggers: when to recompute besides ``crm score run``: on ``save`` of a record,
        on a ``transition``, or ``batch`` only.
    """

    name: str
    entity: str
    scorer: str
    label: Label
    config: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    target_value: str | None = None
    target_grade: str | None = None
    triggers: tuple[Trigger, ...] = ("batch",)
    source: SourceRef | None = dataclasses.field(default=None, compare=False, repr=False)
