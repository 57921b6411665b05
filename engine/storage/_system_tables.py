"""Tables the engine keeps for itself (prefixed ``crm_``; entity names may not use it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from engine.compile import NAMING_CONVENTION, UTCDateTime

SYSTEM_METADATA = sa.MetaData(naming_convention=NAMING_CONVENTION)

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Json = sa.JSON().with_variant(JSONB(), "postgresql")

#: Every applied version of the definitions, newest last; the live one is the highest.
schema_versions = sa.Table(
    "crm_schema_versions",
    SYSTEM_METADATA,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    # plain JSON, not JSONB: JSONB re-sorts keys, and the order of fields and states is meaning
    sa.Column("definitions", sa.JSON(), nullable=False),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
    sa.Column("applied_by", sa.String(128)),
    sa.Column("summary", sa.Text),
)

#: One row per changed field of every record change (create, update, delete, import).
audit_log = sa.Table(
    "crm_audit",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.String(32), nullable=False, index=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("field", sa.String(63)),
    sa.Column("old_value", _Json),
    sa.Column("new_value", _Json),
    sa.Column("actor", sa.String(128)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_crm_audit_entity_record", "entity", "record_id"),
)

#: People who use the CRM: roles and team drive workflow permissions and assignment.
users = sa.Table(
    "crm_users",
    SYSTEM_METADATA,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("roles", _Json, nullable=False),
    sa.Column("team", sa.String(128)),
    sa.Column("display_name", sa.String(200)),
    sa.Column("language", sa.String(8), nullable=False, server_default="en"),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("active", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    #: where notifications are emailed (added later: older databases gain it on start)
    sa.Column("email", sa.String(320)),
)

#: API tokens: only a SHA-256 hash of each token is kept; the token itself is shown once.
api_tokens = sa.Table(
    "crm_api_tokens",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("user", sa.String(128), nullable=False, index=True),
    sa.Column("name", sa.String(128)),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_used_at", UTCDateTime()),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
)

#: One row per state change of a workflow-driven field (creation included, from_state null).
workflow_history = sa.Table(
    "crm_workflow_history",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("workflow", sa.String(63), nullable=False),
    sa.Column("transition", sa.String(63)),
    sa.Column("from_state", sa.String(63)),
    sa.Column("to_state", sa.String(63), nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("inputs", _Json),
    sa.Column("comment", sa.Text),
    sa.Index("ix_crm_workflow_history_record", "entity", "record_id", "workflow"),
)

#: Escalations fired, one per state entry (the history row that entered the state), so a
#: repeated or concurrent ``crm workflow tick`` never fires one twice.
escalations = sa.Table(
    "crm_escalations",
    SYSTEM_METADATA,
    sa.Column("history_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("workflow", sa.String(63), nullable=False),
    sa.Column("state", sa.String(63), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
)

#: Where round-robin assignment left off, per rule.
assignment_cursors = sa.Table(
    "crm_assignment_cursors",
    SYSTEM_METADATA,
    sa.Column("rule", sa.String(255), primary_key=True),
    sa.Column("last_user", sa.String(128), nullable=False),
)

#: The last number each autonumber counter gave. ``key`` is ``entity.field:prefix`` (the
#: text before the counter, dates filled in), so each year of ``SO-{YYYY}-{#####}`` counts
#: on its own; a row is only ever raised, never lowered or removed, so no number comes twice.
counters = sa.Table(
    "crm_counters",
    SYSTEM_METADATA,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

#: The current score of every record for every scoring (value, grade, explanation) and
#: its override, if a user set one.
scores = sa.Table(
    "crm_scores",
    SYSTEM_METADATA,
    sa.Column("scoring", sa.String(63), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("scorer", sa.String(63), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("grade", sa.String(32)),
    sa.Column("factors", _Json),
    sa.Column("extra", _Json),
    sa.Column("definitions_version", sa.Integer, nullable=False),
    sa.Column("computed_at", UTCDateTime(), nullable=False),
    sa.Column("override_value", sa.Float),
    sa.Column("override_grade", sa.String(32)),
    sa.Column("override_reason", sa.Text),
    sa.Column("override_by", sa.String(128)),
    sa.Column("override_at", UTCDateTime()),
)

#: Every computed score, override and clearing, newest last.
score_history = sa.Table(
    "crm_score_history",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("scoring", sa.String(63), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("grade", sa.String(32)),
    sa.Column("scorer", sa.String(63), nullable=False),
    sa.Column("definitions_version", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("reason", sa.Text),
    sa.Index("ix_crm_score_history_record", "scoring", "record_id"),
)

#: Models learned by scorers that train (``crm score train``).
scoring_models = sa.Table(
    "crm_scoring_models",
    SYSTEM_METADATA,
    sa.Column("scoring", sa.String(63), primary_key=True),
    sa.Column("scorer", sa.String(63), nullable=False),
    sa.Column("model", _Json, nullable=False),
    sa.Column("metrics", _Json, nullable=False),
    sa.Column("definitions_version", sa.Integer, nullable=False),
    sa.Column("trained_at", UTCDateTime(), nullable=False),
)

#: The presets loaded into this database (``crm preset load``), one per business mode.
installed_presets = sa.Table(
    "crm_presets",
    SYSTEM_METADATA,
    sa.Column("mode", sa.String(63), primary_key=True),
    sa.Column("bundle", sa.String(127), nullable=False),
    sa.Column("industry", sa.String(63)),
    sa.Column("loaded_at", UTCDateTime(), nullable=False),
    sa.Column("loaded_by", sa.String(128)),
)

#: Admin UI sessions: the cookie carries a random session key, only its SHA-256 is kept here;
#: ending a session (sign-out, password change, deactivation) makes a copied cookie worthless.
sessions = sa.Table(
    "crm_sessions",
    SYSTEM_METADATA,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(128), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime()),
)

#: Failed sign-ins of the last minutes, per account and per address (``kind``), shared by every
#: process so the limits hold across web workers.
sign_in_failures = sa.Table(
    "crm_sign_in_failures",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_crm_sign_in_failures_key", "kind", "key", "at"),
)

#: The outbox: every domain event of every committed write, in commit order. Written in the
#: write's own transaction (a rollback leaves no event), read by ``crm events list``,
#: ``GET /api/v1/events`` and whatever delivers events onwards. ``AUTOINCREMENT`` on SQLite
#: and a lock around the write on PostgreSQL (see :mod:`._unit`) make ids rise in commit
#: order and never come back, so "every event after id N" misses none.
events = sa.Table(
    "crm_events",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("actor", sa.String(128)),
    sa.Column("payload", _Json, nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("definitions_version", sa.Integer),
    sa.Index("ix_crm_events_entity", "entity", "id"),
    sqlite_autoincrement=True,
)
