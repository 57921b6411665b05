"""The table of hand-overs: one row per deactivation that moved a user's records to another.

Every record moved by a hand-over is audited like any other change, as the system actor
``system:handover <id>``, so a hand-over's row leads to each of its changes and each change
back to its hand-over.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

#: Books of records handed from one user to another.
handovers = sa.Table(
    "crm_handovers",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("from_user", sa.String(128), nullable=False, index=True),
    sa.Column("to_user", sa.String(128), nullable=False),
    #: who handed over (the administrator, or ``system`` for the CLI's default actor)
    sa.Column("by", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    #: entity → records moved (cascades included)
    sa.Column("records", _Json, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)
