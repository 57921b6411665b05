"""Bulk CSV import: streaming, validated with the compiled CSV reader, batched inserts.

Rows are read and converted one batch at a time (memory stays flat however large the
file), references are checked per batch with one query per reference column, and rows are
written with one ``executemany`` per batch (``COPY`` on PostgreSQL). A batch the database
refuses (a unique value taken) is retried row by row under savepoints so that the error
names the line. Upsert (``key``) updates records whose key exists and inserts the rest.

With ``on_error="abort"`` (the default) the whole import is one transaction: the first bad
line stops it and nothing is written. With ``"skip"`` bad lines go to the rejects file with
their errors and the rest are imported.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.compile import CsvRowConverter, compile_csv_reader, record_problem
from engine.errors import Problem, RecordValidationError, UsageError
from engine.metadata import EntityDef
from engine.progress import NO_PROGRESS, Progress
from engine.records import conditional_problems, number_rows, numbered_fields, unique_conflicts, unknown_owners
from engine.storage import (
    RECORDS_IMPORTED,
    DomainEvent,
    audit_log,
    audit_row,
    batch_audit_row,
    record_updated,
    unit_of,
    workflow_history,
)
from engine.users import Actor, owner_of_new

from ._copy import BulkWriter
from ._csv import CsvRecord, csv_records

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

OnError = Literal["abort", "skip"]
#: Columns ``crm export`` writes that the engine maintains itself; import ignores them.
MAINTAINED_COLUMNS = frozenset({"version", "created_at", "updated_at", "created_by"})
BATCH_SIZE = 5000
MAX_REPORTED_PROBLEMS = 1000
#: The first key of the PostgreSQL advisory lock an import of an entity holds.
IMPORT_LOCK = 7_274_001


@dataclass
class ImportReport:
    entity: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    lines: int = 0
    seconds: float = 0.0
    ignored_columns: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "lines": self.lines,
            "seconds": round(self.seconds, 3),
            "ignored_columns": list(self.ignored_columns),
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(slots=True)
class _Row:
    line: int
    raw: list[str]
    values: tuple[Any, ...]


class _Rejects:
    """Collects rejected lines; writes them (with an ``errors`` column) when a path is given."""

    def __init__(self, path: Path | None, header: Sequence[str]) -> None:
        self._file: TextIO | None = None
        self._writer: Any = None
        self._pending: list[tuple[int, Sequence[str], Sequence[Problem]]] = []
        if path is not None:
            self._file = path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            self._writer.writerow([*header, "errors"])

    def add(self, line: int, raw: Sequence[str], problems: Sequence[Problem]) -> None:
        if self._writer is not None:
            self._pending.append((line, raw, problems))

    def flush(self, up_to: int | None = None) -> None:
        """Write pending rejects in line order, those up to line ``up_to`` (all by default):
        a batch's database refusals arrive after later lines were already checked."""
        if self._writer is None:
            return
        ready = sorted((item for item in self._pending if up_to is None or item[0] <= up_to), key=lambda item: item[0])
        for _line, raw, problems in ready:
            self._writer.writerow([*raw, "; ".join(f"{p.field or '-'}: [{p.code}] {p.message}" for p in problems)])
        self._pending = [item for item in self._pending if up_to is not None and item[0] > up_to]

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()


class CsvImporter:
    def __init__(
        self,
        engine: CrmEngine,
        entity: str,
        *,
        on_error: OnError = "abort",
        rejects: Path | None = None,
        key: str | None = None,
        actor: Actor,
        progress: Progress = NO_PROGRESS,
        batch_size: int = BATCH_SIZE,
        threaded: bool = False,
    ) -> None:
        if on_error not in ("abort", "skip"):
            raise UsageError('on_error must be "abort" or "skip"')
        self.engine = engine
        self.model = model = engine.model
        self.version = model.version
        self.definition: EntityDef = model.entity(entity)
        self.table = model.table(entity)
        self.on_error = on_error
        self.rejects_path = rejects
        self.key = key
        #: who the import is recorded as (audit, history, events, ``created_by``), and who owns
        #: the records a line gives no owner: the user, or nobody for the system's own import
        self.actor: str = actor.name
        self.owner: str | None = owner_of_new(actor)
        self.progress = progress
        self.batch_size = batch_size
        self.threaded = threaded
        self.report = ImportReport(entity=entity)
        self._writers: dict[tuple[str, ...], BulkWriter] = {}
        self._given: frozenset[str] = frozenset()
        self._parents: dict[str, dict[int, set[str]]] = {}
        self._conditional = any(f.required_when or f.read_only_when for f in self.definition.fields.values())
        self._lock = threading.Lock()
        self._advanced = 0
        self._written_through = 0
        self.now = utcnow()
        self.workflows = model.definitions.workflows_for(entity)
        self.numbered = tuple(f.name for f in numbered_fields(self.definition))
        if key is not None and key != "id":
            f = self.definition.fields.get(key)
            if f is None or not (f.unique or (key,) in self.definition.unique):
                raise UsageError(
                    f'--key {key}: the key must be "id" or a unique field of {entity} '
                    f"(unique fields: {', '.join(n for n, f in self.definition.fields.items() if f.unique) or 'none'})"
                )

    # -- entry point -------------------------------------------------------------------
    def run(self, path: Path) -> ImportReport:
        started = time.perf_counter()
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        total = _count_lines(path)
        with handle:
            try:
                header, records = csv_records(handle)
            except StopIteration:
                raise UsageError(f"{path} is empty; its first line must name the columns") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise UsageError(f"{path} is not a readable UTF-8 CSV file: {exc}") from None
            self._run(records, header, total)
        self.report.problems.sort(key=lambda p: p.line or 0)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _prepare(self, header: list[str]) -> tuple[CsvRowConverter, list[int]]:
        header = [h.strip() for h in header]
        if len(set(header)) != len(header):
            dupes = sorted({h for h in header if header.count(h) > 1})
            raise UsageError(f"column(s) {', '.join(dupes)} appear more than once in the header")
        derived = {n for n, f in self.definition.fields.items() if f.derived}  # the engine fills them
        keep = [
            i
            for i, h in enumerate(header)
            if h not in MAINTAINED_COLUMNS and h not in derived and not (h == "id" and self.key != "id")
        ]
        self.report.ignored_columns = tuple(h for i, h in enumerate(header) if i not in keep)
        names = [header[i] for i in keep]
        self._given = frozenset(names)  # an upsert changes only the columns the file has
        if self.key is not None and self.key not in names:
            raise UsageError(f'--key {self.key}: the file has no "{self.key}" column')
        converter = compile_csv_reader(self.definition, names, allow_id=self.key == "id")
        if converter.header_problems:
            raise UsageError(
                "the header does not match "
                + self.definition.name
                + ": "
                + "; ".join(p.message for p in converter.header_problems),
                [Problem(code=p.code, message=p.message, field=p.field, line=1) for p in converter.header_problems],
            )
        return converter, keep

    def _run(self, records: Iterator[CsvRecord], header: list[str], total: int | None) -> None:
        converter, keep = self._prepare(header)
        rejects = _Rejects(self.rejects_path, header)
        self.progress.start(f"import {self.definition.name}", total)
        # One writer thread: while it writes batch N (SQLite releases the GIL inside each
        # insert step; PostgreSQL works in its own process), this thread parses and
        # validates batch N+1. Only one thread uses the connection at a time: the next
        # batch is handed over after the previous one is written.
        writer = _Inline() if not self.threaded else ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import")
        try:
            with self.engine.db.write() as conn:
                self._serialize(conn)
                lines_read = self._read_and_write(records, header, converter, keep, conn, writer, rejects)
                self.engine.derived.refresh_wanted(conn, self.model, self._parents, self.actor)
                self.progress.advance(self._advanced)
                self.report.lines = lines_read
        finally:
            writer.shutdown(wait=True)
            rejects.close()
            self.progress.finish()

    def _read_and_write(
        self,
        records: Iterator[CsvRecord],
        header: list[str],
        converter: CsvRowConverter,
        keep: list[int],
        conn: Connection,
        writer: _Inline | ThreadPoolExecutor,
        rejects: _Rejects,
    ) -> int:
        """Read, convert and check every record, handing full batches to ``writer``; returns
        the number of physical lines read."""
        columns: tuple[str, ...] = tuple(converter.columns)
        identity = keep == list(range(len(header)))
        pending: Future[None] | None = None

        def hand_over(batch: list[_Row]) -> Future[None]:
            if pending is not None:
                pending.result()
            rejects.flush(up_to=self._written_through)
            self._written_through = batch[-1].line
            self.progress.advance(self._advanced)
            self._advanced = len(batch)
            return writer.submit(self._write, conn, columns, batch, rejects)

        batch: list[_Row] = []
        lines_read = 0
        try:
            for record in records:
                lines_read = record.last_line - 1
                row = self._row(record, len(header), converter, keep if not identity else None, rejects)
                if row is None:
                    continue
                batch.append(row)
                if len(batch) >= self.batch_size:
                    pending = hand_over(batch)
                    batch = []
            if batch:
                pending = hand_over(batch)
            if pending is not None:
                pending.result()
                pending = None
        except UnicodeDecodeError as exc:
            raise UsageError(f"after line {lines_read + 1}: the file is not UTF-8 ({exc.reason})") from None
        finally:
            if pending is not None:  # an error here: let the writer finish before rollback
                with contextlib.suppress(Exception):
                    pending.result()
        return lines_read

    def _row(
        self,
        record: CsvRecord,
        width: int,
        converter: CsvRowConverter,
        keep: list[int] | None,
        rejects: _Rejects,
    ) -> _Row | None:
        """The converted row of ``record``, or None when it is blank or rejected (``keep``: the
        columns to read, None for all of them in order)."""
        line = record.first_line
        raw = record.cells
        if raw is None:
            problem = Problem(code="malformed", line=line, message=record.error or "not CSV")
            self._reject(rejects, line, [""] * width, [problem])
            return None
        if not raw:
            return None
        if len(raw) != width:
            message = f"has {len(raw)} values but the header has {width} columns"
            self._reject(rejects, line, raw, [Problem(code="columns", line=line, message=message)])
            return None
        cells = raw if keep is None else [raw[i] for i in keep]
        values, errors = converter.convert_raw(cells)
        if errors is not None or values is None:
            self._reject(rejects, line, raw, converter.convert(cells, line)[1])
            return None
        return _Row(line, raw, values)

    def _serialize(self, conn: Connection) -> None:
        """One import of an entity at a time on PostgreSQL (SQLite's write lock already
        serializes them): two imports of the same keys would otherwise deadlock on the
        unique index or both insert a key the other is inserting. The later one waits, then
        finds the earlier one's records (and, with ``--key``, updates them)."""
        if self.engine.db.is_postgres:
            name = self.definition.name.encode("utf-8")
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:kind, :entity)"),
                {"kind": IMPORT_LOCK, "entity": zlib.crc32(name) - (1 << 31)},
            )

    def _reject(self, rejects: _Rejects, line: int, raw: list[str], problems: list[Problem]) -> None:
        if self.on_error == "abort":
            raise RecordValidationError(
                problems,
                message=f"line {line} is invalid; nothing was imported (use --on-error skip to skip bad lines)",
            )
        with self._lock:  # the reader and the writer thread both reject lines
            self.report.rejected += 1
            if len(self.report.problems) < MAX_REPORTED_PROBLEMS:
                self.report.problems.extend(problems)
            rejects.add(line, raw, problems)

    # -- writing -------------------------------------------------------------------------
    def _write(self, conn: Connection, columns: tuple[str, ...], batch: list[_Row], rejects: _Rejects) -> None:
        batch = self._check_references(conn, columns, batch, rejects)
        if not batch:
            return
        now = self.now
        if self.key is not None:
            batch = self._upsert_existing(conn, columns, batch, now, rejects)
        if not batch:
            return
        if self.numbered:  # new records without a number get one; given numbers move the counters
            columns, numbered = number_rows(conn, self.definition, columns, [r.values for r in batch], now)
            batch = [_Row(row.line, row.raw, values) for row, values in zip(batch, numbered, strict=True)]
        columns, batch = self._with_derived(conn, columns, batch, rejects)
        if not batch:
            return
        before = self._max_id(conn)
        savepoint = conn.begin_nested()
        try:
            for insert_columns, rows in self._insert_rows(columns, batch).items():
                self._writer(conn, insert_columns, now).write(rows)
            savepoint.commit()
        except sa.exc.IntegrityError:
            savepoint.rollback()
            self._write_one_by_one(conn, columns, batch, rejects, now)
        else:
            self.report.inserted += len(batch)
            self._audit_bulk(conn, batch, now)
        self._workflow_history(conn, before)
        self._automations(conn, before)
        records = (dict(zip(columns, row.values, strict=True)) for row in batch)
        # parents are recounted once for the whole file, before the commit (not once per batch)
        self.engine.derived.parents_of(self.model, self.definition.name, records, self._parents)

    def _with_derived(
        self, conn: Connection, columns: tuple[str, ...], batch: list[_Row], rejects: _Rejects
    ) -> tuple[tuple[str, ...], list[_Row]]:
        """The batch with the derived values of its new records added as columns (a line whose
        compute fails is rejected, naming the field and the rule)."""
        records = [dict(zip(columns, row.values, strict=True)) for row in batch]
        if self._conditional:  # required_when / read_only_when of new records
            checked = [
                (row, record, conditional_problems(self.definition, None, record))
                for row, record in zip(batch, records, strict=True)
            ]
            for row, _record, found in checked:
                if found:
                    self._reject(rejects, row.line, row.raw, [dataclasses.replace(p, line=row.line) for p in found])
            batch = [row for row, _record, found in checked if not found]
            records = [record for _row, record, found in checked if not found]
        names, values, problems = self.engine.derived.values_for_new_rows(conn, self.model, self.definition, records)
        if not names:
            return columns, batch
        added = tuple(n for n in names if n not in columns)
        out = (*columns, *added)
        # the file never has a derived column (_prepare leaves them out): the values are appended
        appended = len(added) == len(names)
        kept = []
        for row, own, found in zip(batch, values, problems, strict=True):
            if found:
                located = [dataclasses.replace(p, line=row.line) for p in found]
                self._reject(rejects, row.line, row.raw, located)
                continue
            if appended:
                kept.append(_Row(row.line, row.raw, row.values + tuple(own.get(n) for n in added)))
                continue
            record = dict(zip(columns, row.values, strict=True)) | own
            kept.append(_Row(row.line, row.raw, tuple(record.get(c) for c in out)))
        return out, kept

    def _max_id(self, conn: Connection) -> int:
        if not self.workflows:
            return 0
        return int(conn.execute(sa.select(sa.func.max(self.table.c.id))).scalar() or 0)

    def _automations(self, conn: Connection, after_id: int) -> None:
        """The ``created`` automations of the records this batch added, each as if it had been
        created alone (nothing to read when the entity has none)."""
        automations = self.engine.automations
        if not automations.wants_created(self.definition.name):
            return
        t = self.table
        query = (
            sa.select(t)
            .where(t.c.id > after_id, t.c.created_at == self.now, t.c.version == 1, t.c.created_by == self.actor)
            .order_by(t.c.id)
        )
        records = [dict(r) for r in conn.execute(query).mappings()]
        automations.created_in_bulk(conn, self.definition.name, records, self.actor)

    def _workflow_history(self, conn: Connection, after_id: int) -> None:
        """Creation history of the records this batch added (one INSERT … SELECT per workflow).

        Imported records are those above the id seen before the batch and stamped with this
        import's time and actor, so records created concurrently are never counted twice.
        """
        for workflow in self.workflows:
            t = self.table
            source = sa.select(
                sa.literal(self.definition.name),
                t.c.id,
                sa.literal(workflow.name),
                t.c[workflow.field],
                t.c.created_by,
                t.c.created_at,
                sa.literal("import"),
            ).where(t.c.id > after_id, t.c.created_at == self.now, t.c.version == 1)
            source = source.where(t.c.created_by == self.actor)
            conn.execute(
                workflow_history.insert().from_select(
                    ["entity", "record_id", "workflow", "to_state", "actor", "at", "comment"], source
                )
            )

    def _writer(self, conn: Connection, columns: tuple[str, ...], now: datetime) -> BulkWriter:
        constants = {"version": 1, "created_at": now, "updated_at": now, "created_by": self.actor}
        if "owner" not in columns:
            constants["owner"] = self.owner
        writer = self._writers.get(columns)
        if writer is None or writer.conn is not conn or writer.constants != constants:
            writer = self._writers[columns] = BulkWriter(conn, self.table, columns, constants)
        return writer

    def _insert_rows(self, columns: tuple[str, ...], batch: list[_Row]) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
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

    def _rows(self, columns: tuple[str, ...], batch: list[_Row], now: datetime) -> list[dict[str, Any]]:
        maintained = {"version": 1, "created_at": now, "updated_at": now, "created_by": self.actor}
        return [
            {"owner": self.owner, **maintained, **dict(zip(insert_columns, row, strict=True))}
            for insert_columns, rows in self._insert_rows(columns, batch).items()
            for row in rows
        ]

    def _write_one_by_one(
        self, conn: Connection, columns: tuple[str, ...], batch: list[_Row], rejects: _Rejects, now: datetime
    ) -> None:
        for row in batch:
            (values,) = self._rows(columns, [row], now)
            savepoint = conn.begin_nested()
            try:
                conn.execute(self.table.insert(), [values])
                savepoint.commit()
                self.report.inserted += 1
            except sa.exc.IntegrityError as exc:
                savepoint.rollback()
                self._reject(rejects, row.line, row.raw, self._refusal(conn, row.line, values, exc))
        self._audit_bulk(conn, batch, now)

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

    def _check_references(
        self, conn: Connection, columns: tuple[str, ...], batch: list[_Row], rejects: _Rejects
    ) -> list[_Row]:
        """Drop (reject) the rows whose references name missing records or whose owner is
        not an active user."""
        references = [
            (i, self.definition.fields[c])
            for i, c in enumerate(columns)
            if c in self.definition.fields and self.definition.fields[c].type == "reference"
        ]
        owner_at = columns.index("owner") if "owner" in columns else None
        strangers: set[Any] = set()
        if owner_at is not None:
            strangers = unknown_owners(conn, {row.values[owner_at] for row in batch} - {None})
        if not references and not strangers:
            return batch
        missing: dict[int, set[Any]] = {}
        for index, f in references:
            wanted = {row.values[index] for row in batch if row.values[index] is not None}
            if not wanted:
                continue
            target = self.engine.model.table(f.target or "")
            found: set[Any] = set()
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 1000):
                chunk = ordered[start : start + 1000]
                found.update(r[0] for r in conn.execute(sa.select(target.c.id).where(target.c.id.in_(chunk))))
            missing[index] = wanted - found
        if not any(missing.values()) and not strangers:
            return batch
        kept = []
        for row in batch:
            problems = [
                Problem(
                    code="unknown_reference",
                    field=f.name,
                    line=row.line,
                    message=f"{f.target} {row.values[i]} does not exist",
                )
                for i, f in references
                if row.values[i] in missing.get(i, ())
            ]
            if owner_at is not None and row.values[owner_at] in strangers:
                problems.append(record_problem(self.definition, "owner", "unknown_owner", line=row.line))
            if problems:
                self._reject(rejects, row.line, row.raw, problems)
            else:
                kept.append(row)
        return kept

    def _upsert_existing(
        self, conn: Connection, columns: tuple[str, ...], batch: list[_Row], now: datetime, rejects: _Rejects
    ) -> list[_Row]:
        assert self.key is not None
        key_index = columns.index(self.key)
        existing = self._existing(conn, [row.values[key_index] for row in batch])
        if not existing:
            return batch
        inserts: list[_Row] = []
        change_rows: list[dict[str, Any]] = []
        for row in batch:
            current = existing.get(row.values[key_index])
            if current is None:
                inserts.append(row)
                continue
            values = dict(zip(columns, row.values, strict=True))
            for name in (*(w.field for w in self.workflows), *self.numbered):
                if values.get(name) is None:  # an empty cell keeps the state or number; a new one is refused
                    values.pop(name, None)
            changed = {c: v for c, v in values.items() if c != "id" and c in self._given and current.get(c) != v}
            if not self._update_one(conn, row, current, changed, now, rejects):
                continue
            change_rows.extend(
                audit_row(
                    change_id=f"import-{row.line}-{current['id']}",
                    entity=self.definition.name,
                    record_id=current["id"],
                    action="update",
                    field=c,
                    old_value=current.get(c),
                    new_value=v,
                    actor=self.actor,
                    at=now,
                )
                for c, v in changed.items()
            )
        if change_rows:
            conn.execute(audit_log.insert(), change_rows)
        return inserts

    def _existing(self, conn: Connection, keys: list[Any]) -> dict[Any, dict[str, Any]]:
        """The records whose key is one of ``keys``, by key (looked up a thousand at a time)."""
        assert self.key is not None
        present = [key for key in keys if key is not None]
        existing: dict[Any, dict[str, Any]] = {}
        key_column = self.table.c[self.key]
        for start in range(0, len(present), 1000):
            chunk = present[start : start + 1000]
            for found in conn.execute(sa.select(self.table).where(key_column.in_(chunk))).mappings():
                existing[found[self.key]] = dict(found)
        return existing

    def _update_one(
        self,
        conn: Connection,
        row: _Row,
        current: dict[str, Any],
        changed: dict[str, Any],
        now: datetime,
        rejects: _Rejects,
    ) -> bool:
        """Write a line's ``changed`` values over the record it names; False when there is
        nothing to write or the line is rejected (a workflow field, a unique value taken)."""
        for names, code, message in (
            (
                [w.field for w in self.workflows],
                "workflow_field",
                "{} changes only through workflow transitions, not by import",
            ),
            (self.numbered, "read_only", "{} was numbered when the record was created; an import cannot change it"),
        ):
            fixed = [name for name in names if name in changed]
            if fixed:
                problems = [Problem(code=code, field=n, line=row.line, message=message.format(n)) for n in fixed]
                self._reject(rejects, row.line, row.raw, problems)
                return False
        if not changed:
            self.report.unchanged += 1
            return False
        refused = conditional_problems(self.definition, current, {**current, **changed}) if self._conditional else []
        if refused:
            self._reject(rejects, row.line, row.raw, [dataclasses.replace(p, line=row.line) for p in refused])
            return False
        savepoint = conn.begin_nested()
        try:
            result = conn.execute(
                self.table.update()
                .where(self.table.c.id == current["id"], self.table.c.version == current["version"])
                .values({**changed, "version": current["version"] + 1, "updated_at": now})
            )
            savepoint.commit()
        except sa.exc.IntegrityError as exc:
            savepoint.rollback()
            refusal = self._refusal(conn, row.line, {**current, **changed}, exc, own_id=current["id"])
            self._reject(rejects, row.line, row.raw, refusal)
            return False
        if result.rowcount != 1:  # pragma: no cover - only under a concurrent writer
            raise UsageError(f"line {row.line}: {self.definition.name} {current['id']} changed during the import")
        self.report.updated += 1
        updated = {**current, **changed, "version": current["version"] + 1, "updated_at": now}
        event = record_updated(
            self.definition.name, current, updated, changed, self.actor, now, self.version, line=row.line
        )
        unit_of(conn).emit(event)
        derived = self.engine.derived  # the record's own computes, then what depends on the change
        derived.refresh(conn, self.model, self.definition.name, current["id"], (), self.actor)
        derived.after_write(conn, self.model, self.definition.name, current, updated, self.actor)
        if "owner" in changed:  # the records that follow this one's owner (cascade_owner)
            previous, owner = current.get("owner"), changed["owner"]
            self.engine.records.cascade_owner(conn, self.definition.name, current["id"], previous, owner, self.actor)
        return True

    def _audit_bulk(self, conn: Connection, batch: list[_Row], now: datetime) -> None:
        """One audit row per batch: bulk creation is audited by file lines, not per field."""
        if not batch:
            return
        change_id = f"import-{batch[0].line}-{batch[-1].line}"
        summary = {"lines": [batch[0].line, batch[-1].line], "records": len(batch)}
        conn.execute(
            audit_log.insert().values(
                batch_audit_row(
                    change_id=change_id,
                    entity=self.definition.name,
                    action="import",
                    summary=summary,
                    actor=self.actor,
                    at=now,
                )
            )
        )
        # one event per batch, like the audit: an import of a million lines is not a million events
        unit_of(conn).emit(
            DomainEvent(
                RECORDS_IMPORTED,
                self.definition.name,
                None,
                self.actor,
                {**summary, "change_id": change_id},
                now,
                self.version,
            )
        )


class _Inline:
    """Runs "submitted" work at once (the single-threaded mode of the importer)."""

    def submit(self, fn: Any, *args: Any) -> Future[None]:
        future: Future[None] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the caller through the future, like a pool
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


def _count_lines(path: Path) -> int | None:
    """Data lines in the file (for the progress bar), counted fast in binary chunks."""
    try:
        with path.open("rb") as handle:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        return max(count - 1, 0)
    except OSError:
        return None


def import_csv(
    engine: CrmEngine,
    entity: str,
    path: str | Path,
    *,
    on_error: OnError = "abort",
    rejects: str | Path | None = None,
    key: str | None = None,
    actor: Actor,
    progress: Progress = NO_PROGRESS,
    batch_size: int = BATCH_SIZE,
    threaded: bool = False,
) -> ImportReport:
    """Import the CSV file at ``path`` into ``entity``; see the module docstring.

    ``threaded`` writes each batch in a second thread while the next one is parsed. It is
    off by default: measured on two cores, the GIL hand-offs cost more than the overlap
    gains (SQLite 41k rows/s single-threaded against 30k threaded; see docs/performance.md).
    """
    importer = CsvImporter(
        engine,
        entity,
        on_error=on_error,
        rejects=Path(rejects) if rejects is not None else None,
        key=key,
        actor=actor,
        progress=progress,
        batch_size=batch_size,
        threaded=threaded,
    )
    return importer.run(Path(path))


__all__ = ["CsvImporter", "ImportReport", "import_csv"]
