"""Bulk CSV import: streaming, validated with the compiled CSV reader, batched inserts.

Rows are read and converted one batch at a time (memory stays flat however large the
file), references are checked per batch with one query per reference column, and rows are
written with one ``executemany`` per batch (``COPY`` on PostgreSQL). A batch the database
refuses (a unique value taken) is retried row by row under savepoints so that the error
names the line. Upsert (``key``) updates records whose key exists and inserts the rest.

With ``on_error="abort"`` (the default) the whole import is one transaction: the first bad
line stops it and nothing is written. With ``"skip"`` bad lines go to the rejects file with
their errors and the rest are imported.

Every import that writes gets a row in ``crm_imports`` (``_ledger``) in the same transaction,
with the before-images of the records it updates, so it can be reverted (``_revert``). A dry
run does everything a real import does, database checks included, in a transaction that is
rolled back. Natural-key columns (``account.code``) are resolved a batch at a time
(``_keys``); delimiter, encoding and column mapping are the file's format (``_input``).
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.compile import CsvRowConverter, compile_csv_reader, record_problem
from engine.duplicates import Candidate, ImportScreen, LineDuplicate, override_rows
from engine.errors import Problem, RecordValidationError, UsageError
from engine.metadata import EntityDef
from engine.progress import NO_PROGRESS, Progress
from engine.records import conditional_problems, number_rows, numbered_fields, unique_conflicts, unknown_owners
from engine.storage import (
    audit_log,
    audit_row,
    record_updated,
    unit_of,
    workflow_history,
)
from engine.users import Actor, owner_of_new

from ._copy import BulkWriter
from ._csv import CsvRecord, csv_records
from ._import_support import ImportReport, audit_batch, collector_paused
from ._import_support import Inline as _Inline
from ._import_support import Rejects as _Rejects
from ._import_support import count_lines as _count_lines
from ._input import ImportFormat, decode_error
from ._keys import KeyResolver, ResolvedRecord, key_columns
from ._ledger import BeforeImages, close_import, open_import

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

OnError = Literal["abort", "skip"]
#: Columns ``crm export`` writes that the engine maintains itself; import ignores them.
MAINTAINED_COLUMNS = frozenset({"version", "created_at", "updated_at", "created_by"})
BATCH_SIZE = 5000
MAX_REPORTED_PROBLEMS = 1000
#: The first key of the PostgreSQL advisory lock an import of an entity holds.
IMPORT_LOCK = 7_274_001


@dataclass(slots=True)
class _Row:
    line: int
    raw: list[str]
    values: tuple[Any, ...]


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
        dry_run: bool = False,
        file_format: ImportFormat | None = None,
        allow_duplicate: bool = False,
    ) -> None:
        """``dry_run``: check every line (as ``on_error="skip"`` would) and write nothing;
        ``file_format``: the file's delimiter, encoding and column mapping;
        ``allow_duplicate``: import the lines a ``block`` duplicate rule matches (reported,
        and the override audited per record) instead of rejecting them."""
        if on_error not in ("abort", "skip"):
            raise UsageError('on_error must be "abort" or "skip"')
        self.engine = engine
        self.model = model = engine.model
        self.version = model.version
        self.definition: EntityDef = model.entity(entity)
        self.table = model.table(entity)
        self.on_error: OnError = "skip" if dry_run else on_error
        self.dry_run = dry_run
        self.format = file_format or ImportFormat()
        self._keys: KeyResolver | None = None
        self._looked_up: frozenset[str] = frozenset()  # reference columns filled by key lookups
        self._skipped: set[int] = set()  # columns the mapping leaves out
        self._images: BeforeImages | None = None
        self.rejects_path = rejects
        self.key = key
        #: who the import is recorded as (audit, history, events, ``created_by``), and who owns
        #: the records a line gives no owner: the user, or nobody for the system's own import
        self.actor: str = actor.name
        self.owner: str | None = owner_of_new(actor)
        self.progress = progress
        self.batch_size = batch_size
        self.threaded = threaded
        self.report = ImportReport(entity=entity, dry_run=dry_run)
        self._writers: dict[tuple[str, ...], BulkWriter] = {}
        self._given: frozenset[str] = frozenset()
        self._parents: dict[str, dict[int, set[str]]] = {}
        self._conditional = any(f.required_when or f.read_only_when for f in self.definition.fields.values())
        self._derives: bool | None = None  # whether the entity has derived fields (asked on the first batch)
        self._lock = threading.Lock()
        self._advanced = 0
        self._written_through = 0
        self.now = utcnow()
        self.workflows = model.definitions.workflows_for(entity)
        self.numbered = tuple(f.name for f in numbered_fields(self.definition))
        self._duplicates = ImportScreen(engine, self.definition, allow_duplicate=allow_duplicate)
        self._rejected_lines: set[int] = set()
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
        handle, encoding = self.format.open(path)
        self.file_name = path.name
        total = _count_lines(path)
        with handle:
            try:
                header, records = csv_records(handle, delimiter=self.format.delimiter)
            except StopIteration:
                raise UsageError(f"{path} is empty; its first line must name the columns") from None
            except UnicodeDecodeError:
                raise decode_error(path, encoding) from None
            except csv.Error as exc:
                raise UsageError(f"{path} is not a readable CSV file: {exc}") from None
            try:
                with collector_paused():
                    self._run(records, header, total)
            except UnicodeDecodeError:
                raise decode_error(path, encoding) from None
        self.report.problems.sort(key=lambda p: p.line or 0)
        # a line a rule matched that the database then refused was not imported after all
        found = [d for d in self._duplicates.found if d.line not in self._rejected_lines]
        self.report.duplicates = sorted(found, key=lambda d: d.line)[:MAX_REPORTED_PROBLEMS]
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _prepare(self, header: list[str]) -> tuple[CsvRowConverter, list[int]]:
        header, self._skipped = self.format.header(header)
        self.format.check_fields(self.definition, {*MAINTAINED_COLUMNS, "owner", "id"})
        header, keys = key_columns(self.model, self.definition, header)
        if keys:
            self._keys = KeyResolver(self.model, keys, self.batch_size)
            self._looked_up = frozenset(k.reference.name for k in keys)
        header = [h.strip() for h in header]
        if len(set(header)) != len(header):
            dupes = sorted({h for h in header if header.count(h) > 1})
            raise UsageError(f"column(s) {', '.join(dupes)} appear more than once in the header")
        derived = {n for n, f in self.definition.fields.items() if f.derived}  # the engine fills them
        keep = [
            i
            for i, h in enumerate(header)
            if h not in MAINTAINED_COLUMNS
            and h not in derived
            and not (h == "id" and self.key != "id")
            and i not in self._skipped
        ]
        self.report.ignored_columns = tuple(h for i, h in enumerate(header) if i not in keep and i not in self._skipped)
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
                if not self.dry_run:
                    self.report.import_id = open_import(
                        conn, entity=self.definition.name, file_name=self.file_name, actor=self.actor, at=self.now
                    )
                    self._images = BeforeImages(self.report.import_id)
                lines_read = self._read_and_write(records, header, converter, keep, conn, writer, rejects)
                self.engine.derived.refresh_wanted(conn, self.model, self._parents, self.actor)
                self.progress.advance(self._advanced)
                self.report.lines = lines_read
                if self.report.import_id is not None:
                    close_import(conn, self.report.import_id, self.report, utcnow())
                if self.dry_run:  # every check ran against the database: now undo the writes
                    raise _Rehearsed
        except _Rehearsed:
            pass
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

        def wait_for_writer() -> None:
            if pending is not None:
                pending.result()

        # without key columns the records go straight in (no per-line wrapper on the hot path)
        resolved: Iterator[ResolvedRecord] | None = (
            self._keys.resolve(conn, records, wait_for_writer) if self._keys is not None else None
        )
        original: list[str] | None = None
        found: tuple[Problem, ...] = ()
        batch: list[_Row] = []
        lines_read = 0
        width = len(header)
        convert = converter.convert_raw
        fast = resolved is None and identity  # the common case, without a call per line
        record: CsvRecord
        try:
            for item in resolved if resolved is not None else records:
                if fast:  # a well-formed valid line: straight into the batch
                    record = item  # type: ignore[assignment]
                    cells = record.cells
                    if cells is not None and len(cells) == width:
                        values, errors = convert(cells)
                        if errors is None:
                            lines_read = record.last_line - 1
                            batch.append(_Row(record.first_line, cells, values))  # type: ignore[arg-type]
                            if len(batch) >= self.batch_size:
                                pending = hand_over(batch)
                                batch = []
                            continue
                elif isinstance(item, ResolvedRecord):
                    record, original, found = item
                else:
                    record = item
                lines_read = record.last_line - 1
                row = self._row(record, width, converter, keep if not identity else None, rejects, original, found)
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
        original: list[str] | None = None,
        found: Sequence[Problem] = (),
    ) -> _Row | None:
        """The converted row of ``record``, or None when it is blank or rejected (``keep``: the
        columns to read, None for all of them in order; ``original``: the cells as the file
        has them when keys were resolved; ``found``: the problems of those keys)."""
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
        if found:  # the other problems of the line too, but one per field
            named = {p.field for p in found}
            others = [] if errors is None else [p for p in converter.convert(cells, line)[1] if p.field not in named]
            self._reject(rejects, line, original or raw, [*found, *others])
            return None
        if errors is not None or values is None:
            self._reject(rejects, line, original or raw, converter.convert(cells, line)[1])
            return None
        return _Row(line, original or raw, values)

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
            self._rejected_lines.add(line)
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
        if self._duplicates.active:  # lines a block duplicate rule refuses
            batch = self._duplicates.rows_kept(
                conn, columns, batch, lambda row, found: self._reject(rejects, row.line, row.raw, found)
            )
        if not batch:
            return
        keyed_after = self._duplicates.mark(conn)
        before = self._max_id(conn)
        # lines that override a block rule go in one at a time: their audit names the record
        overriding = self._duplicates.overriding([row.line for row in batch]) if self._duplicates.active else {}
        plain = [row for row in batch if row.line not in overriding] if overriding else batch
        savepoint = conn.begin_nested()
        try:
            for insert_columns, rows in self._insert_rows(columns, plain).items():
                self._writer(conn, insert_columns, now).write(rows)
            savepoint.commit()
        except sa.exc.IntegrityError:
            savepoint.rollback()
            self._write_one_by_one(conn, columns, plain, rejects, now)
        else:
            self.report.inserted += len(plain)
            self._audit_bulk(conn, plain, now)
        if overriding:
            written = self._write_one_by_one(conn, columns, [r for r in batch if r.line in overriding], rejects, now)
            self._audit_overrides(conn, written, overriding, now)
        self._duplicates.keep_inserted(conn, keyed_after, self.actor, now)
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
        if self._derives is None:  # asked once: with no records, only the names come back
            self._derives = bool(self.engine.derived.values_for_new_rows(conn, self.model, self.definition, [])[0])
        if not self._derives and not self._conditional:
            return columns, batch  # nothing to check or add: no per-line dicts (a twentieth of a plain import)
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
    ) -> dict[int, int]:
        """Insert the rows one at a time (a line the database refuses is rejected, naming
        why); answers the new records' ids by line."""
        written: dict[int, int] = {}
        insert = self.table.insert().returning(self.table.c.id)
        for row in batch:
            (values,) = self._rows(columns, [row], now)
            savepoint = conn.begin_nested()
            try:
                written[row.line] = int(conn.execute(insert, values).scalar_one())
                savepoint.commit()
                self.report.inserted += 1
            except sa.exc.IntegrityError as exc:
                savepoint.rollback()
                self._reject(rejects, row.line, row.raw, self._refusal(conn, row.line, values, exc))
        self._audit_bulk(conn, batch, now)
        return written

    def _audit_overrides(
        self, conn: Connection, written: dict[int, int], overriding: dict[int, list[LineDuplicate]], now: datetime
    ) -> None:
        """Who imported which record over which block rule, as a single save's override is
        audited (the stored records it matched, and the earlier lines of the file)."""
        rows = []
        for line, record_id in written.items():
            found = overriding[line]
            candidates = [c for d in found for c in d.candidates()]
            lines = {d.rule: d.lines for d in found}
            change = f"import-{line}-{record_id}"
            rows.extend(
                override_rows(change, self.definition.name, record_id, candidates, self.actor, now, file_lines=lines)
            )
        if rows:
            conn.execute(audit_log.insert(), rows)

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
            if c in self.definition.fields
            and self.definition.fields[c].type == "reference"
            and c not in self._looked_up
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
            if self._images is not None:
                self._images.add(current["id"], current, changed, current["version"] + 1)
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
        if self._images is not None:
            self._images.flush(conn)
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
        overridden: list[Candidate] = []
        if self._duplicates.active:  # checked as a single update is
            refused, overridden = self._duplicates.check_update(conn, row.line, current, {**current, **changed})
            if refused:
                self._reject(rejects, row.line, row.raw, refused)
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
        if overridden:
            change = f"import-{row.line}-{current['id']}"
            audit = override_rows(change, self.definition.name, current["id"], overridden, self.actor, now)
            conn.execute(audit_log.insert(), audit)
        updated = {**current, **changed, "version": current["version"] + 1, "updated_at": now}
        event = record_updated(
            self.definition.name, current, updated, changed, self.actor, now, self.version, line=row.line
        )
        unit_of(conn).emit(event)
        self._duplicates.keep_updated(conn, updated, changed)
        derived = self.engine.derived  # the record's own computes, then what depends on the change
        derived.refresh(conn, self.model, self.definition.name, current["id"], (), self.actor)
        derived.after_write(conn, self.model, self.definition.name, current, updated, self.actor)
        if "owner" in changed:  # the records that follow this one's owner (cascade_owner)
            previous, owner = current.get("owner"), changed["owner"]
            self.engine.records.cascade_owner(conn, self.definition.name, current["id"], previous, owner, self.actor)
        return True

    def _audit_bulk(self, conn: Connection, batch: list[_Row], now: datetime) -> None:
        """One audit row and one event per batch (see :func:`audit_batch`)."""
        if batch:
            audit_batch(
                conn, self.definition.name, (batch[0].line, batch[-1].line), len(batch), self.actor, now, self.version
            )


class _Rehearsed(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


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
    dry_run: bool = False,
    file_format: ImportFormat | None = None,
    allow_duplicate: bool = False,
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
        dry_run=dry_run,
        file_format=file_format,
        allow_duplicate=allow_duplicate,
    )
    return importer.run(Path(path))


__all__ = ["CsvImporter", "ImportReport", "import_csv"]
