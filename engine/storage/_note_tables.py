"""Notes people add to a record's timeline: a line or a paragraph, who wrote it and when."""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id

notes = sa.Table(
    "crm_notes",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_crm_notes_record", "entity", "record_id"),
)
