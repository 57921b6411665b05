"""The tables of imports: one row per import that wrote, and the before-images of the
records it updated, so ``crm import revert`` can delete what it created and restore what it
changed.

Created records are not listed row by row: an import stamps every record it creates with
its own ``created_at`` and ``created_by`` (one instant per import, imports of an entity run
one at a time), so those two columns find them again without a second write per row.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

#: Every import that wrote: who, when, what, and how it ended (imported, reverted).
imports = sa.Table(
    "crm_imports",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("file_name", sa.String(500)),
    sa.Column("actor", sa.String(128), nullable=False),
    #: the instant stamped as ``created_at`` on every record the import created
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    #: imported, reverted
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("inserted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rejected", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reverted_at", UTCDateTime()),
    sa.Column("reverted_by", sa.String(128)),
    sa.Index("ix_crm_imports_entity", "entity", "id"),
    sqlite_autoincrement=True,
)

#: The values an import overwrote, per updated record, and the version it left behind.
import_changes = sa.Table(
    "crm_import_changes",
    SYSTEM_METADATA,
    sa.Column("import_id", _Id, sa.ForeignKey("crm_imports.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True, autoincrement=False),
    #: field -> value before the import (JSON values, as the audit keeps them)
    sa.Column("before", _Json, nullable=False),
    sa.Column("version_after", sa.Integer, nullable=False),
)
