"""Pieces of the CSV importer that do not depend on it: its report, the rejects file, the
inline "executor" of the single-threaded mode, the line count for the progress bar, and
the audit row and event of a batch, and the pause of the cycle collector while lines are read."""

from __future__ import annotations

import contextlib
import csv
import gc
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import Connection

from engine.duplicates import LineDuplicate
from engine.errors import Problem
from engine.storage import RECORDS_IMPORTED, DomainEvent, audit_log, batch_audit_row, unit_of


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
    #: the import's id in ``crm_imports`` (None for a dry run, which records nothing)
    import_id: int | None = None
    dry_run: bool = False
    #: lines imported although a duplicate rule matched them (``warn``, or an overridden ``block``)
    duplicates: list[LineDuplicate] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "import": self.import_id,
            "dry_run": self.dry_run,
            "entity": self.entity,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "lines": self.lines,
            "seconds": round(self.seconds, 3),
            "ignored_columns": list(self.ignored_columns),
            "problems": [p.to_json() for p in self.problems],
            "duplicates": [d.to_json() for d in self.duplicates],
        }


class Rejects:
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


class Inline:
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


def count_lines(path: Path) -> int | None:
    """Data lines in the file (for the progress bar), counted fast in binary chunks."""
    try:
        with path.open("rb") as handle:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        return max(count - 1, 0)
    except OSError:
        return None


def audit_batch(
    conn: Connection,
    entity: str,
    lines: tuple[int, int],
    records: int,
    actor: str,
    now: datetime,
    version: int,
) -> None:
    """One audit row per batch: bulk creation is audited by file lines, not per field."""
    change_id = f"import-{lines[0]}-{lines[1]}"
    summary = {"lines": list(lines), "records": records}
    conn.execute(
        audit_log.insert().values(
            batch_audit_row(change_id=change_id, entity=entity, action="import", summary=summary, actor=actor, at=now)
        )
    )
    # one event per batch, like the audit: an import of a million lines is not a million events
    unit_of(conn).emit(
        DomainEvent(RECORDS_IMPORTED, entity, None, actor, {**summary, "change_id": change_id}, now, version)
    )


class _CollectorPause:
    """Python's cycle collector off while any thread is inside :func:`collector_paused`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = True

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


#: The cycle collector off for a block (on again when the last such block of any thread
#: ends, if it was on before the first). An import allocates a few objects per cell and
#: keeps a batch of them alive, which sets off a collection every few hundred lines, each
#: walking the batch: about an eighth of an import's time, to find nothing, since its rows
#: hold no reference cycles (they are freed by reference counting as before).
collector_paused = _CollectorPause()
