"""Storage: connections, system tables, stored definitions, schema migrations."""

from __future__ import annotations

from ._apply import MigrationFailedError, apply_definitions, refuse_unsafe
from ._database import DEFAULT_URL, Database, normalize_url
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
    "DEFAULT_URL",
    "SYSTEM_METADATA",
    "Database",
    "MigrationFailedError",
    "MigrationPlan",
    "MigrationStep",
    "StoredDefinitions",
    "api_tokens",
    "apply_definitions",
    "assignment_cursors",
    "audit_log",
    "audit_since_deletion",
    "current_version",
    "escalations",
    "installed_presets",
    "load_stored",
    "normalize_url",
    "plan_migration",
    "refuse_unsafe",
    "schema_versions",
    "score_history",
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
    "written_since_deletion",
]
