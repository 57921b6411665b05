"""The table of in-app notifications: one row per recipient of every ``notify`` action.

A row is written in the transaction of the change whose action notified (a rolled-back change
leaves none); ``read_at`` is set when its user marks it read. The index on (user, read_at)
serves the two questions asked on every page: "how many unread?" and "the newest of mine".
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id

notifications = sa.Table(
    "crm_notifications",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("user", sa.String(128), nullable=False),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("title", sa.String(2000), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("actor", sa.String(128)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("read_at", UTCDateTime()),
    sa.Index("ix_crm_notifications_user_read", "user", "read_at"),
    sqlite_autoincrement=True,
)
