"""The trail row constructors fill exactly the columns of their tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.storage import (
    AUDIT_COLUMNS,
    BATCH_RECORD_ID,
    SCORE_HISTORY_COLUMNS,
    WORKFLOW_HISTORY_COLUMNS,
    audit_log,
    audit_row,
    batch_audit_row,
    score_history,
    score_history_row,
    workflow_history,
    workflow_history_row,
)

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("table", "columns", "row"),
    [
        (
            audit_log,
            AUDIT_COLUMNS,
            audit_row(change_id="c", entity="account", record_id=1, action="create", actor="ann", at=AT),
        ),
        (
            workflow_history,
            WORKFLOW_HISTORY_COLUMNS,
            workflow_history_row(entity="deal", record_id=1, workflow="sales", to_state="new", actor="ann", at=AT),
        ),
        (
            score_history,
            SCORE_HISTORY_COLUMNS,
            score_history_row(
                scoring="fit",
                entity="account",
                record_id=1,
                kind="computed",
                value=1.0,
                grade=None,
                scorer="rfm",
                definitions_version=2,
                at=AT,
            ),
        ),
    ],
    ids=["audit", "workflow_history", "score_history"],
)
def test_rows_fill_the_table_columns_in_order(table: sa.Table, columns: tuple[str, ...], row: dict[str, Any]) -> None:
    assert columns == tuple(c.name for c in table.columns if c.name != "id")
    assert tuple(row) == columns


def test_audit_values_are_stored_as_json_and_change_ids_fit() -> None:
    row = audit_row(
        change_id="x" * 40,
        entity="order",
        record_id=3,
        action="update",
        field="amount",
        old_value=Decimal("1.50"),
        new_value=AT,
        actor=None,
        at=AT,
    )
    assert (row["change_id"], row["old_value"], row["new_value"]) == ("x" * 32, "1.50", AT.isoformat())


def test_a_batch_audit_row_stands_for_no_record() -> None:
    row = batch_audit_row(
        change_id="demo-7-deal", entity="deal", action="demo", summary={"records": 3}, actor=None, at=AT
    )
    assert (row["record_id"], row["field"], row["old_value"], row["new_value"]) == (
        BATCH_RECORD_ID,
        None,
        None,
        {"records": 3},
    )
