"""An SQLite database made by an older version is upgraded when opened, without loss (#18.1)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import upgrade_storage
from tests.support import SYSTEM

BUNDLE = Path(__file__).parents[1] / "workflow" / "data" / "sales_flow"


def _make_old_style(path: Path, table: str) -> None:
    """Rebuild ``table`` as older versions made it: ``INTEGER PRIMARY KEY`` without AUTOINCREMENT."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = OFF")
        con.execute("BEGIN")
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        indexes = [
            r[0]
            for r in con.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))
            if r[0]
        ]
        assert " AUTOINCREMENT" in sql
        con.execute(sql.replace(" AUTOINCREMENT", "").replace(f'"{table}"', '"old_copy"', 1))
        con.execute(f'INSERT INTO old_copy SELECT * FROM "{table}"')
        con.execute(f'DROP TABLE "{table}"')
        con.execute(f'ALTER TABLE old_copy RENAME TO "{table}"')
        for index in indexes:
            con.execute(index)
        con.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        con.execute("COMMIT")
    finally:
        con.close()


def test_an_old_record_table_gets_autoincrement_and_its_counter_covers_deleted_ids(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    crm = CrmEngine(f"sqlite:///{path}")
    crm.apply(load_definitions(BUNDLE))
    customer = crm.records.create("customer", {"name": "Acme"}, actor=SYSTEM)["id"]
    kept = [
        crm.records.create("order", {"number": f"SO-{i}", "customer": customer}, actor=SYSTEM)["id"] for i in range(3)
    ]
    crm.records.delete("order", kept.pop(), actor=SYSTEM)
    crm.close()
    _make_old_style(path, "order")
    deleted = max(kept) + 1

    crm = CrmEngine(f"sqlite:///{path}")
    try:
        con = sqlite3.connect(path)
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'order'").fetchone()
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'order'")}
        con.close()
        assert "AUTOINCREMENT" in sql
        assert {"ix_order_customer", "ix_order_owner"} <= indexes
        assert [r["number"] for r in crm.records.list("order", actor=SYSTEM).items] == ["SO-0", "SO-1"]
        new = crm.records.create("order", {"number": "SO-9", "customer": customer}, actor=SYSTEM)["id"]
        assert new > deleted
        assert {row["action"] for row in crm.records.audit("order", new, actor=SYSTEM)} == {"create"}
        # references survive the rebuild
        crm.records.create("task", {"subject": "call", "sales_order": new}, actor=SYSTEM)
        assert upgrade_storage(crm.db) == []  # up to date now: nothing to do
    finally:
        crm.close()
