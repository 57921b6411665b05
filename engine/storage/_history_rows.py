"""Rows of the trails (``crm_audit``, ``crm_workflow_history``, ``crm_score_history``), built
in one place for every writer: the record service, workflows, scorings, the importer and
bulk writers such as the demo data generator.

Each constructor returns a mapping whose keys are the table's columns, in the order of
the matching ``*_COLUMNS`` tuple, ready for ``table.insert()``; a bulk writer that takes
tuples (``BulkWriter``) writes ``tuple(row.values())`` under those columns. Nothing here
opens a connection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._values import to_jsonable

#: Columns of ``crm_audit`` an audit row fills (the id is the database's).
AUDIT_COLUMNS = ("change_id", "entity", "record_id", "action", "field", "old_value", "new_value", "actor", "at")
#: Columns of ``crm_workflow_history`` a history row fills.
WORKFLOW_HISTORY_COLUMNS = (
    "entity",
    "record_id",
    "workflow",
    "transition",
    "from_state",
    "to_state",
    "actor",
    "at",
    "inputs",
    "comment",
)
#: Columns of ``crm_score_history`` a score history row fills.
SCORE_HISTORY_COLUMNS = (
    "scoring",
    "entity",
    "record_id",
    "kind",
    "value",
    "grade",
    "scorer",
    "definitions_version",
    "at",
    "actor",
    "reason",
)
#: ``record_id`` of an audit row that stands for a batch (an import, demo data), not a record.
BATCH_RECORD_ID = 0


def audit_row(
    *,
    change_id: str,
    entity: str,
    record_id: int,
    action: str,
    at: datetime,
    actor: str | None,
    field: str | None = None,
    old_value: Any = None,
    new_value: Any = None,
) -> dict[str, Any]:
    """One row of ``crm_audit``: a change of ``field`` (None: the whole record or batch).

    ``old_value`` and ``new_value`` are stored in their JSON form (decimals as strings, dates
    in ISO 8601); ``change_id`` is cut to the column's 32 characters.
    """
    return {
        "change_id": change_id[:32],
        "entity": entity,
        "record_id": record_id,
        "action": action,
        "field": field,
        "old_value": to_jsonable(old_value),
        "new_value": to_jsonable(new_value),
        "actor": actor,
        "at": at,
    }


def batch_audit_row(
    *, change_id: str, entity: str, action: str, summary: dict[str, Any], actor: str | None, at: datetime
) -> dict[str, Any]:
    """The one audit row a bulk write leaves per entity and batch (an import's lines, a demo
    run's records): ``record_id`` :data:`BATCH_RECORD_ID`, the ``summary`` as its new value."""
    return audit_row(
        change_id=change_id,
        entity=entity,
        record_id=BATCH_RECORD_ID,
        action=action,
        new_value=summary,
        actor=actor,
        at=at,
    )


def workflow_history_row(
    *,
    entity: str,
    record_id: int,
    workflow: str,
    to_state: str,
    actor: str | None,
    at: datetime,
    transition: str | None = None,
    from_state: str | None = None,
    inputs: Any = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """One row of ``crm_workflow_history``; without ``transition`` and ``from_state``, the
    record entering its workflow's initial state. ``inputs`` are stored as given."""
    return {
        "entity": entity,
        "record_id": record_id,
        "workflow": workflow,
        "transition": transition,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "at": at,
        "inputs": inputs,
        "comment": comment,
    }


def score_history_row(
    *,
    scoring: str,
    entity: str,
    record_id: int,
    kind: str,
    value: float | None,
    grade: str | None,
    scorer: str,
    definitions_version: int,
    at: datetime,
    actor: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One row of ``crm_score_history``: a score ``computed``, or an override set or cleared
    (``kind``), with the scorer and definitions version that gave it."""
    return {
        "scoring": scoring,
        "entity": entity,
        "record_id": record_id,
        "kind": kind,
        "value": value,
        "grade": grade,
        "scorer": scorer,
        "definitions_version": definitions_version,
        "at": at,
        "actor": actor,
        "reason": reason,
    }
