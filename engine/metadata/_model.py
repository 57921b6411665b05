"""Frozen definition objects: what the rest of the engine reads, never the raw JSON.

These are the contract between ``engine.metadata`` (which builds them from validated JSON)
and every later stage (compile, storage, services). They hold only definitions, nothing
that runs: no SQLAlchemy, no Flask (see ``README.md`` beside this file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from ._automations import AutomationDef
    from ._duplicate_rules import DuplicateRule
    from ._report_model import ReportDef
    from ._roles import RoleDef
    from ._views import ViewDef
    from ._workflow_model import WorkflowDef

FieldType = Literal[
    "string",
    "text",
    "integer",
    "decimal",
    "money",
    "boolean",
    "date",
    "datetime",
    "enum",
    "multi_enum",
    "email",
    "phone",
    "url",
    "reference",
    "json",
    "autonumber",
]
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)
OnDelete = Literal["restrict", "cascade", "set_null"]

#: Columns every record has; field names may not reuse them.
SYSTEM_FIELDS: tuple[str, ...] = ("id", "version", "created_at", "updated_at", "created_by", "owner")


def freeze_mappings(definition: object, *names: str) -> None:
    """Make the mapping attributes ``names`` of a frozen definition read-only views of
    copies, unless they are views already (a definition's ``__post_init__`` calls it)."""
    for name in names:
        value = getattr(definition, name)
        if not isinstance(value, MappingProxyType):
            object.__setattr__(definition, name, MappingProxyType(dict(value)))


@dataclass(frozen=True)
class Label:
    """A human label in English and (optionally) Chinese."""

    en: str
    zh: str | None = None

    def get(self, language: str = "en") -> str:
        if language.startswith("zh") and self.zh:
            return self.zh
        return self.en

    def to_json(self) -> str | dict[str, str]:
        if self.zh is None:
            return self.en
        return {"en": self.en, "zh": self.zh}


@dataclass(frozen=True)
class SourceRef:
    """Where a definition came from: a file and an RFC 6901 pointer inside it."""

    file: str
    pointer: str = ""


class _NoDefault:
    _instance: _NoDefault | None = None

    def __new__(cls) -> _NoDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __bool__(self) -> bool:
        return False


#: Marks a field without a default (``None`` is a legitimate default: null).
NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Choice:
    value: str
    label: Label


#: What a rollup computes over the child records.
RollupFunction = Literal["count", "sum", "min", "max", "avg"]


@dataclass(frozen=True)
class RollupWindow:
    """A rollup's time window: only children whose date or datetime ``field`` lies within
    ``period`` (an ISO 8601 duration in days or weeks, ``P365D``) before now count."""

    field: str
    period: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "period": self.period}


@dataclass(frozen=True)
class RollupDef:
    """A field kept equal to ``function`` of ``field`` over the records of ``entity`` whose
    reference ``reference`` names this record (those matching ``where`` when given, and with
    ``within`` only those of its time window)."""

    entity: str
    reference: str
    function: RollupFunction
    field: str | None = None
    where: Any = None
    within: RollupWindow | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"entity": self.entity, "reference": self.reference, "function": self.function}
        if self.field is not None:
            out["field"] = self.field
        if self.where is not None:
            out["where"] = self.where
        if self.within is not None:
            out["within"] = self.within.to_json()
        return out


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity, with every option resolved (defaults filled in).

    ``default`` is the JSON value as written in the definition (``"2024-01-01"`` for a
    date, ``"12.50"`` or ``12.5`` for a decimal), or :data:`NO_DEFAULT`.
    ``max_length`` is always set for string, email, phone and url (see
    :data:`DEFAULT_MAX_LENGTH`) and autonumber (from its pattern); ``precision``/``scale``
    always for decimal and money. ``number_pattern`` is an autonumber field's ``pattern``
    (``SO-{YYYY}-{#####}``), kept apart from ``pattern``, the regular expression text
    values must match, so that no reader of ``pattern`` mistakes one for the other.
    """

    name: str
    type: FieldType
    label: Label
    description: Label | None = None
    required: bool = False
    unique: bool = False
    index: bool = False
    read_only: bool = False
    default: Any = NO_DEFAULT
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    number_pattern: str | None = None
    precision: int | None = None
    scale: int | None = None
    choices: tuple[Choice, ...] = ()
    target: str | None = None
    on_delete: OnDelete = "restrict"
    #: A reference whose records follow the target's owner (see ``docs/ownership.md``).
    cascade_owner: bool = False
    renamed_from: str | None = None
    #: A JSON Logic rule over ``record`` whose value the field always holds (read-only).
    compute: Any = None
    #: ``"daily"``: the compute may read ``now`` and is recomputed by ``crm derived refresh``.
    refresh: str | None = None
    rollup: RollupDef | None = None
    #: JSON Logic rules over ``record`` (after the change) and ``before``: when they hold, a
    #: value is required / the field may not change.
    required_when: Any = None
    read_only_when: Any = None
    source: SourceRef | None = field(default=None, compare=False, repr=False)

    @property
    def derived(self) -> bool:
        """Computed or rolled up: the engine writes it, nobody else."""
        return self.compute is not None or self.rollup is not None

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)


@dataclass(frozen=True)
class EntityDef:
    """One entity: a table of records. ``fields`` keeps definition order."""

    name: str
    label: Label
    fields: Mapping[str, FieldDef]
    display: str | None = None
    description: Label | None = None
    indexes: tuple[tuple[str, ...], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    renamed_from: str | None = None
    source: SourceRef | None = field(default=None, compare=False, repr=False)
    #: Duplicate rules (``engine.duplicates`` keeps their keys and applies them).
    duplicates: tuple[DuplicateRule, ...] = ()

    def __post_init__(self) -> None:
        freeze_mappings(self, "fields")

    def references(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields.values() if f.type == "reference")


@dataclass(frozen=True)
class Definitions:
    """The resolved, validated definitions of one bundle (with everything it extends).

    This is what gets compiled, diffed against the database and stored there.
    ``bundles`` lists the bundle names that went into it, bases first.
    """

    name: str
    entities: Mapping[str, EntityDef]
    bundles: tuple[str, ...] = ()
    workflows: Mapping[str, WorkflowDef] = field(default_factory=lambda: MappingProxyType({}))
    scorings: Mapping[str, ScoringDef] = field(default_factory=lambda: MappingProxyType({}))
    reports: Mapping[str, ReportDef] = field(default_factory=lambda: MappingProxyType({}))
    #: Roles from role documents; none means permissions are not enforced.
    roles: Mapping[str, RoleDef] = field(default_factory=lambda: MappingProxyType({}))
    automations: Mapping[str, AutomationDef] = field(default_factory=lambda: MappingProxyType({}))
    #: Saved views shipped in bundles (shared with everyone who may read their entity).
    views: Mapping[str, ViewDef] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        freeze_mappings(self, "entities", "workflows", "scorings", "reports", "roles", "automations", "views")

    def scorings_for(self, entity: str) -> tuple[ScoringDef, ...]:
        """The scoring definitions of ``entity``."""
        return tuple(s for s in self.scorings.values() if s.entity == entity)

    def workflows_for(self, entity: str) -> tuple[WorkflowDef, ...]:
        """The workflows that drive fields of ``entity``."""
        return self._workflows_by_entity.get(entity, ())

    @cached_property
    def _workflows_by_entity(self) -> Mapping[str, tuple[WorkflowDef, ...]]:
        """:meth:`workflows_for` of every entity, worked out once (asked on every write)."""
        found: dict[str, list[WorkflowDef]] = {}
        for w in self.workflows.values():
            found.setdefault(w.entity, []).append(w)
        return {name: tuple(ws) for name, ws in found.items()}

    def entity(self, name: str) -> EntityDef:
        """The entity called ``name``; raises ``KeyError`` when there is none."""
        return self.entities[name]


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
    :param schedule: a five-field cron expression (UTC) at whose occurrences the workers run
        the scoring as a ``score_run`` job; ``None``: only when someone runs it.
    """

    name: str
    entity: str
    scorer: str
    label: Label
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    target_value: str | None = None
    target_grade: str | None = None
    triggers: tuple[Trigger, ...] = ("batch",)
    schedule: str | None = None
    source: SourceRef | None = field(default=None, compare=False, repr=False)
