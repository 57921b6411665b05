"""Storage: connections, system tables, stored definitions, schema migrations."""

from __future__ import annotations

from ._apply import MigrationFailedError, apply_definitions, refuse_unsafe
from ._database import DEFAULT_URL, Database, normalize_url
from ._history_rows import (
    AUDIT_COLUMNS,
    BATCH_RECORD_ID,
    SCORE_HISTORY_COLUMNS,
    WORKFLOW_HISTORY_COLUMNS,
    audit_row,
    batch_audit_row,
    score_history_row,
    workflow_history_row,
)
from ._plan import MigrationPlan, MigrationStep, plan_migration
from ._state import StoredDefinitions, current_version, load_stored
from ._system_tables import (
    SYSTEM_METADATA,
    api_tokens,
    assignment_cursors,
    audit_log,
    escalations,
    installed_presets,
    schema_versions,
    score_history,
    scores,
    scoring_models,
    sessions,
    sign_in_failures,
    users,
    workflow_history,
)
from ._trails import audit_since_deletion, trail_of, written_since_deletion
from ._upgrade import upgrade_storage
from ._values import to_jsonable, to_text

__all__ = [
    "AUDIT_COLUMNS",
    "BATCH_RECORD_ID",
    "DEFAULT_URL",
    "SCORE_HISTORY_COLUMNS",
    "SYSTEM_METADATA",
    "WORKFLOW_HISTORY_COLUMNS",
    "Database",
    "MigrationFailedError",
    "MigrationPlan",
    "MigrationStep",
    "StoredDefinitions",
    "api_tokens",
    "apply_definitions",
    "assignment_cursors",
    "audit_log",
    "audit_row",
    "audit_since_deletion",
    "batch_audit_row",
    "current_version",
    "escalations",
    "installed_presets",
    "load_stored",
    "normalize_url",
    "plan_migration",
    "refuse_unsafe",
    "schema_versions",
    "score_history",
    "score_history_row",
    "scores",
    "scoring_models",
    "sessions",
    "sign_in_failures",
    "to_jsonable",
    "to_text",
    "trail_of",
    "upgrade_storage",
    "users",
    "workflow_history",
    "workflow_history_row",
    "written_since_deletion",
]
