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
    sa.Column("definitions", _Json, nullable=False),
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
