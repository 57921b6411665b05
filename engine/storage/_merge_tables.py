"""The table of record merges (``crm record merge``), kept so that a merge can be undone.

A row holds what the merge changed and nothing the live tables still know: the source
record as it was (it is deleted), the target's values the merge overwrote and the values it
wrote, the records whose references it re-pointed, the history rows it moved to the target,
and the source's current scores. ``crm merge undo`` puts all of it back, after checking that
nothing written since would be lost. ``AUTOINCREMENT`` on SQLite: a merge id is never reused.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

merges = sa.Table(
    "crm_merges",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    #: the change id of the merge's audit rows (every row the merge wrote carries it)
    sa.Column("change_id", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("source_id", sa.BigInteger, nullable=False),
    sa.Column("target_id", sa.BigInteger, nullable=False),
    #: the source record as it was before the merge (JSON form of every column)
    sa.Column("source_row", _Json, nullable=False),
    #: field -> {"old": the target's value before, "new": the value the merge wrote}
    sa.Column("taken", _Json, nullable=False),
    #: [{"entity", "field", "ids"}]: the records whose reference moved from source to target
    sa.Column("repointed", _Json, nullable=False),
    #: {"audit" | "workflow_history" | "score_history": [row ids moved to the target]}
    sa.Column("history", _Json, nullable=False),
    #: the source's rows of crm_scores (JSON form), removed with it
    sa.Column("scores", _Json, nullable=False),
    sa.Column("actor", sa.String(128)),
    sa.Column("merged_at", UTCDateTime(), nullable=False),
    sa.Column("undone_at", UTCDateTime()),
    sa.Column("undone_by", sa.String(128)),
    sa.Index("ix_crm_merges_target", "entity", "target_id"),
    sa.Index("ix_crm_merges_source", "entity", "source_id"),
    sqlite_autoincrement=True,
)
