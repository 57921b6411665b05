"""A database made before notifications gains what they need when the engine starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from engine.compile import NAMING_CONVENTION
from engine.errors import UsageError
from engine.runtime import CrmEngine
from engine.storage import SYSTEM_METADATA, add_missing_columns, users


def old_schema(url: str) -> None:
    """The system tables as they were before ``crm_users.email`` and ``crm_notifications``."""
    old = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in SYSTEM_METADATA.sorted_tables:
        if table.name not in ("crm_users", "crm_notifications"):
            table.to_metadata(old)
    sa.Table("crm_users", old, *[c._copy() for c in users.columns if c.name != "email"])
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(
            old.tables["crm_users"].insert().values(name="wang.fang", roles=["sales"], created_at=datetime.now(UTC))
        )
    engine.dispose()


def columns(crm: CrmEngine, table: str) -> set[str]:
    with crm.db.read() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_an_old_database_gains_the_email_column_and_the_notifications_table(database_url: str) -> None:
    old_schema(database_url)
    with CrmEngine(database_url) as crm:
        assert "email" in columns(crm, "crm_users")
        user = crm.users.get("wang.fang")
        assert (user.roles, user.email) == (("sales",), None)
        assert crm.users.set_email("wang.fang", "wang.fang@example.com").email == "wang.fang@example.com"
        assert crm.notifications.list("wang.fang") == []
    with CrmEngine(database_url) as again:  # a second start finds nothing to add
        with again.db.write() as conn:
            assert add_missing_columns(conn) == []
        assert again.users.get("wang.fang").email == "wang.fang@example.com"


def test_a_missing_required_column_is_refused_not_guessed(database_url: str) -> None:
    CrmEngine(database_url).close()
    extra = sa.MetaData()
    sa.Table("crm_users", extra, sa.Column("name", sa.String(128)), sa.Column("must", sa.Integer, nullable=False))
    with CrmEngine(database_url) as crm, pytest.raises(UsageError), crm.db.write() as conn:
        add_missing_columns(conn, extra)
