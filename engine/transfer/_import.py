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
Duplicate rules screen each batch (:class:`engine.duplicates.ImportScreen`).

This module reads lines and hands batches on; the steps that write live in
``_import_inserts`` (new records) and ``_import_updates`` (lines whose ``--key`` exists),
over the state of one import declared in ``_import_base``.
"""

from __future__ import annotations

import contextlib
import csv
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.compile import CsvRowConverter, compile_csv_reader
from engine.duplicates import ImportScreen
from engine.errors import Problem, UsageError
from engine.metadata import EntityDef
from engine.progress import NO_PROGRESS, Progress
from engine.records import number_rows, numbered_fields
from engine.users import Actor, owner_of_new

from ._copy import BulkWriter
from ._csv import CsvRecord, csv_records
from ._import_base import MAX_REPORTED_PROBLEMS, OnError, Row
from ._import_inserts import InsertSteps
from ._import_support import ImportReport, collector_paused
from ._import_support import Inline as _Inline
from ._import_support import Rejects as _Rejects
from ._import_support import count_lines as _count_lines
from ._import_updates import UpsertSteps
from ._input import ImportFormat, decode_error
from ._keys import KeyResolver, ResolvedRecord, key_columns
from ._ledger import BeforeImages, close_import, open_import

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Columns ``crm export`` writes that the engine maintains itself; import ignores them.
MAINTAINED_COLUMNS = frozenset({"version", "created_at", "updated_at", "created_by"})
BATCH_SIZE = 5000
#: The first key of the PostgreSQL advisory lock an import of an entity holds.
IMPORT_LOCK = 7_274_001


class CsvImporter(InsertSteps, UpsertSteps):
    """One import of a CSV file into an entity (see the module docstring)."""

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
        self._duplicates = ImportScreen(
            engine, self.definition, allow_duplicate=allow_duplicate, keep=MAX_REPORTED_PROBLEMS
        )
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

        def hand_over(batch: list[Row]) -> Future[None]:
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
        batch: list[Row] = []
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
                            batch.append(Row(record.first_line, cells, values))  # type: ignore[arg-type]
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
    ) -> Row | None:
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
        return Row(line, original or raw, values)

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

    # -- writing -------------------------------------------------------------------------
    def _write(self, conn: Connection, columns: tuple[str, ...], batch: list[Row], rejects: _Rejects) -> None:
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
            batch = [Row(row.line, row.raw, values) for row, values in zip(batch, numbered, strict=True)]
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
