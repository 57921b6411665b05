"""What the steps of the CSV importer share: the row of a line, the state of one import the
steps read (set by :class:`~._import.CsvImporter`), rejecting a line, explaining a database
refusal, the rows to insert, and the audit row of a batch."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.duplicates import ImportScreen
from engine.errors import Problem, RecordValidationError
from engine.metadata import EntityDef, WorkflowDef
from engine.records import unique_conflicts

from ._copy import BulkWriter
from ._import_support import ImportReport, audit_batch
from ._import_support import Rejects as _Rejects
from ._ledger import BeforeImages

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine

OnError = Literal["abort", "skip"]
MAX_REPORTED_PROBLEMS = 1000


@dataclass(slots=True)
class Row:
    """A converted line: where it is in the file, its cells as read, its values."""

    line: int
    raw: list[str]
    values: tuple[Any, ...]


class ImporterBase:
    """The state of one import (see :class:`~._import.CsvImporter`, which sets it) and the
    steps every part of it uses."""

    engine: CrmEngine
    model: CompiledModel
    version: int
    definition: EntityDef
    table: sa.Table
    on_error: OnError
    key: str | None
    actor: str
    owner: str | None
    report: ImportReport
    now: datetime
    workflows: tuple[WorkflowDef, ...]
    numbered: tuple[str, ...]
    _looked_up: frozenset[str]
    _images: BeforeImages | None
    _writers: dict[tuple[str, ...], BulkWriter]
    _given: frozenset[str]
    _conditional: bool
    _derives: bool | None
    _lock: threading.Lock
    _duplicates: ImportScreen
    _rejected_lines: set[int]

    def _reject(self, rejects: _Rejects, line: int, raw: list[str], problems: list[Problem]) -> None:
        if self.on_error == "abort":
            raise RecordValidationError(
                problems,
                message=f"line {line} is invalid; nothing was imported (use --on-error skip to skip bad lines)",
            )
        with self._lock:  # the reader and the writer thread both reject lines
            self.report.rejected += 1
            self._rejected_lines.add(line)
            if len(self.report.problems) < MAX_REPORTED_PROBLEMS:
                self.report.problems.extend(problems)
            rejects.add(line, raw, problems)

    def _refusal(
        self,
        conn: Connection,
        line: int,
        values: dict[str, Any],
        exc: sa.exc.IntegrityError,
        *,
        own_id: int | None = None,
    ) -> list[Problem]:
        """Why the database refused a line, by field and value (the database's own text only
        when no unique value explains it). ``own_id``: the record the line updates."""
        problems = unique_conflicts(conn, self.definition, self.table, values, own_id)
        given_id = values.get("id") if own_id is None else None
        if given_id is not None and conn.execute(sa.select(self.table.c.id).where(self.table.c.id == given_id)).first():
            problems.append(
                Problem(code="unique", field="id", message=f"{self.definition.name} {given_id} already exists")
            )
        if not problems:
            reason = str(exc.orig).splitlines()[0] if exc.orig else "a constraint refused the row"
            problems = [Problem(code="constraint", message=f"the database refused the line: {reason}")]
        return [dataclasses.replace(p, line=line) for p in problems]

    def _rows(self, columns: tuple[str, ...], batch: list[Row], now: datetime) -> list[dict[str, Any]]:
        maintained = {"version": 1, "created_at": now, "updated_at": now, "created_by": self.actor}
        return [
            {"owner": self.owner, **maintained, **dict(zip(insert_columns, row, strict=True))}
            for insert_columns, rows in self._insert_rows(columns, batch).items()
            for row in rows
        ]

    def _insert_rows(self, columns: tuple[str, ...], batch: list[Row]) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
        """The file's values as tuples per column set (rows without an id leave it out)."""
        rows = [row.values for row in batch]
        for workflow in self.workflows:
            if workflow.field in columns:  # an empty state starts in the initial one
                at, initial = columns.index(workflow.field), workflow.initial_state
                rows = [r if r[at] is not None else (*r[:at], initial, *r[at + 1 :]) for r in rows]
        if "owner" in columns:
            owner = columns.index("owner")
            rows = [r if r[owner] is not None else (*r[:owner], self.owner, *r[owner + 1 :]) for r in rows]
        if "id" not in columns:
            return {columns: rows}
        at = columns.index("id")
        without = tuple(c for c in columns if c != "id")
        grouped: dict[tuple[str, ...], list[tuple[Any, ...]]] = {columns: [], without: []}
        for r in rows:
            if r[at] is None:
                grouped[without].append((*r[:at], *r[at + 1 :]))
            else:
                grouped[columns].append(r)
        return {c: group for c, group in grouped.items() if group}

    def _audit_bulk(self, conn: Connection, batch: list[Row], now: datetime) -> None:
        """One audit row and one event per batch (see :func:`audit_batch`)."""
        if batch:
            audit_batch(
                conn, self.definition.name, (batch[0].line, batch[-1].line), len(batch), self.actor, now, self.version
            )
