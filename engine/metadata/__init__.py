"""The definition language: read, validate and resolve JSON definitions.

``load_definitions`` reads a bundle (or one entity document) into frozen
:class:`Definitions` (entities, workflows, scorings, reports and roles); ``validate_path`` reports every
problem instead of raising; ``definitions_to_json`` / ``definitions_from_json`` /
``definitions_digest`` handle the canonical resolved form the engine stores. See
``docs/definitions.md`` for the language (scorings included), ``docs/workflows.md`` for
workflows and ``docs/reports.md`` for reports.
"""

from __future__ import annotations

from engine.metadata._canonical import (
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
)
from engine.metadata._loader import load_definitions, validate_path
from engine.metadata._model import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_PRECISION,
    FIELD_TYPES,
    NO_DEFAULT,
    NUMBER_TYPES,
    SYSTEM_FIELDS,
    TEXT_TYPES,
    Choice,
    Definitions,
    EntityDef,
    FieldDef,
    FieldType,
    Label,
    OnDelete,
    SourceRef,
)
from engine.metadata._names import SQL_RESERVED_WORDS, derive_label
from engine.metadata._patterns import MAX_PATTERN_MEMORY, pattern_matcher
from engine.metadata._problems import PROBLEM_CODES
from engine.metadata._report_checks import REPORT_SYSTEM_FIELDS
from engine.metadata._report_model import (
    REPORT_TYPES,
    WORKFLOW_REPORT_TYPES,
    AggregateSpec,
    ChartType,
    DistributionSpec,
    ForecastSpec,
    FunnelSpec,
    GroupKey,
    MeasureDef,
    MeasureOp,
    ParamDef,
    ParamType,
    Period,
    RankingSpec,
    RateSpec,
    RelatedDef,
    ReportDef,
    ReportSpec,
    ReportType,
    TimeInStateSpec,
    ValueSource,
    freeze_json,
    thaw_json,
)
from engine.metadata._roles import (
    ANY_ENTITY,
    BUILT_IN_ROLES,
    OPERATIONS,
    SCOPES,
    EntityPermission,
    FieldAccess,
    Operation,
    RoleDef,
    Scope,
)
from engine.metadata._scoring_model import ScoringDef, Trigger
from engine.metadata._workflow_model import (
    ActionDef,
    ActionKind,
    AssignStrategy,
    EscalationDef,
    InputDef,
    StateDef,
    TransitionDef,
    WorkflowDef,
)

__all__ = [
    "ANY_ENTITY",
    "BUILT_IN_ROLES",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_PRECISION",
    "FIELD_TYPES",
    "MAX_PATTERN_MEMORY",
    "NO_DEFAULT",
    "NUMBER_TYPES",
    "OPERATIONS",
    "PROBLEM_CODES",
    "REPORT_SYSTEM_FIELDS",
    "REPORT_TYPES",
    "SCOPES",
    "SQL_RESERVED_WORDS",
    "SYSTEM_FIELDS",
    "TEXT_TYPES",
    "WORKFLOW_REPORT_TYPES",
    "ActionDef",
    "ActionKind",
    "AggregateSpec",
    "AssignStrategy",
    "ChartType",
    "Choice",
    "Definitions",
    "DistributionSpec",
    "EntityDef",
    "EntityPermission",
    "EscalationDef",
    "FieldAccess",
    "FieldDef",
    "FieldType",
    "ForecastSpec",
    "FunnelSpec",
    "GroupKey",
    "InputDef",
    "Label",
    "MeasureDef",
    "MeasureOp",
    "OnDelete",
    "Operation",
    "ParamDef",
    "ParamType",
    "Period",
    "RankingSpec",
    "RateSpec",
    "RelatedDef",
    "ReportDef",
    "ReportSpec",
    "ReportType",
    "RoleDef",
    "Scope",
    "ScoringDef",
    "SourceRef",
    "StateDef",
    "TimeInStateSpec",
    "TransitionDef",
    "Trigger",
    "ValueSource",
    "WorkflowDef",
    "definitions_digest",
    "definitions_from_json",
    "definitions_to_json",
    "derive_label",
    "freeze_json",
    "load_definitions",
    "pattern_matcher",
    "thaw_json",
    "validate_path",
]
