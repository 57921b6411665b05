"""Record ids are never handed out twice, so trails (audit, workflow and score history) keyed
by ``(entity, record_id)`` never attach to another record (#18.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import audit_log, workflow_history
from tests.support import SYSTEM, acting_for

BUNDLE = Path(__file__).parents[1] / "workflow" / "data" / "sales_flow"

UNIQUE_NUMBER = '"number": {"type": "string", "required": true, "unique": true}'


@pytest.fixture
def crm(engine: CrmEngine) -> Iterator[CrmEngine]:
    engine.apply(load_definitions(BUNDLE))
    engine.users.create("rita", roles=["rep"])
    yield engine


def _order(crm: CrmEngine, number: str) -> int:
    return int(crm.records.create("order", {"number": number, "amount": "10.00"}, actor=acting_for("rita"))["id"])


def test_the_deleted_newest_record_keeps_its_id(crm: CrmEngine) -> None:
    _order(crm, "SO-1")
    newest = _order(crm, "SO-2")
    crm.records.delete("order", newest, actor=SYSTEM)
    after = _order(crm, "SO-3")
    assert after > newest
    assert crm.records.get("order", after, actor=SYSTEM)["number"] == "SO-3"
    trail = crm.records.audit("order", after, actor=SYSTEM)
    assert {row["action"] for row in trail} == {"create"}
    assert [h["to_state"] for h in crm.workflows.history("order", after, actor=SYSTEM)] == ["draft"]
    # the deleted record's trail stays for the audit, delete snapshot included
    deleted = crm.records.audit("order", newest, actor=SYSTEM)
    assert deleted[0]["action"] == "delete"
    assert deleted[0]["old_value"]["number"] == "SO-2"


def test_ids_stay_unused_across_a_table_rebuild_and_a_reopen(crm: CrmEngine, tmp_path: Path) -> None:
    _order(crm, "SO-1")
    newest = _order(crm, "SO-2")
    crm.records.delete("order", newest, actor=SYSTEM)
    # a new unique constraint rebuilds the table on SQLite
    bundle = tmp_path / "sales_flow"
    bundle.mkdir()
    for source in BUNDLE.iterdir():
        text = source.read_text().replace('"number": {"type": "string", "required": true}', UNIQUE_NUMBER)
        (bundle / source.name).write_text(text)
    crm.apply(load_definitions(bundle))
    assert crm.model.entity("order").fields["number"].unique
    reopened = CrmEngine(crm.db.url)
    try:
        assert _order(reopened, "SO-3") > newest
    finally:
        reopened.close()


def test_a_record_given_a_reused_id_by_an_older_database_shows_only_its_own_trail(crm: CrmEngine) -> None:
    """An older SQLite database may already have given a deleted record's id to a new one."""
    deleted = _order(crm, "SO-1")
    crm.records.delete("order", deleted, actor=SYSTEM)
    # what an older version did: the next record got the deleted record's id
    with crm.db.write() as conn:
        later = datetime.now(UTC)
        table = crm.model.table("order")
        conn.execute(table.insert().values(id=deleted, number="SO-9", status="draft", owner="rita"))
        conn.execute(
            audit_log.insert().values(
                change_id="x",
                entity="order",
                record_id=deleted,
                action="create",
                field="number",
                new_value="SO-9",
                actor="rita",
                at=later,
            )
        )
        conn.execute(
            workflow_history.insert().values(
                entity="order", record_id=deleted, workflow="order_approval", to_state="draft", at=later
            )
        )
    trail = crm.records.audit("order", deleted, actor=SYSTEM)
    assert [(row["action"], row["new_value"]) for row in trail] == [("create", "SO-9")]
    assert len(crm.workflows.history("order", deleted, actor=SYSTEM)) == 1
    rita = crm.users.get("rita")
    assert [row["action"] for row in crm.records.audit("order", deleted, actor=rita)] == ["create"]
    assert crm.scoring.history("order", deleted, actor=SYSTEM) == []


def test_the_counter_starts_above_ids_only_trails_remember(crm: CrmEngine) -> None:
    if not crm.db.is_sqlite:
        pytest.skip("PostgreSQL ids come from sequences")
    first = _order(crm, "SO-1")
    with crm.db.write() as conn:
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'order'"))
        conn.execute(sa.text('DELETE FROM "order"'))
    from engine.storage._upgrade import keep_ids_used, used_ids

    with crm.db.migration() as conn:
        keep_ids_used(conn, {"order": first + 5}, {})
        assert used_ids(conn)["order"] == first + 5
    assert _order(crm, "SO-2") == first + 6
