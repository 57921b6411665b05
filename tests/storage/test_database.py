"""Connections: URL resolution and SQLite's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.errors import UsageError
from engine.storage import Database, normalize_url


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        (None, None, "sqlite:///crm.db"),
        (None, "sqlite:////data/x.db", "sqlite:////data/x.db"),
        ("postgresql://u@h/db", None, "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", None, "postgresql+psycopg://u@h/db"),
        ("my.db", None, "sqlite:///my.db"),
    ],
)
def test_database_url_resolution(
    given: str | None, env: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("CRM_DATABASE_URL", env)
    assert normalize_url(given) == expected


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_a_bad_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        Database("nosuchdialect://x")


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0
    db.dispose()
