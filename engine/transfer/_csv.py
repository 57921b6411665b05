"""How the engine reads CSV: strict quoting, records with the physical lines they span,
and a cell size limit as large as the largest value a field can hold."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

#: The largest value a column holds on both databases (PostgreSQL's 1 GB per value,
#: SQLite's default SQLITE_MAX_LENGTH of 10^9 bytes), so every exported cell reads back.
MAX_CELL_CHARS = 1_000_000_000

csv.field_size_limit(MAX_CELL_CHARS)


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One record of a CSV file: its cells, or why it cannot be read, and its lines."""

    first_line: int
    last_line: int
    cells: list[str] | None = None
    error: str | None = None


def csv_records(handle: TextIO, *, delimiter: str = ",") -> tuple[list[str], Iterator[CsvRecord]]:
    """The header and an iterator over the records after it (cells split at ``delimiter``).

    A cell spans lines only inside a properly closed quote: a quote closed by anything but
    a comma or the end of the line, or never closed before the end of the file, makes the
    record an error that names the lines it took, and reading goes on after them.
    Raises :class:`StopIteration` for an empty file and :class:`csv.Error` for a bad header.
    """
    reader = csv.reader(handle, strict=True, delimiter=delimiter)
    header = next(reader)

    def records() -> Iterator[CsvRecord]:
        first = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield CsvRecord(first, reader.line_num, error=_explain(exc, first, reader.line_num))
            else:
                yield CsvRecord(first, reader.line_num, cells=cells)
            first = reader.line_num + 1

    return header, records()


def _explain(exc: csv.Error, first: int, last: int) -> str:
    reason = str(exc)
    if reason == "unexpected end of data":
        return (
            f"a quote opened on line {first} is never closed: lines {first}-{last} were read as one cell; "
            'close the quote (a quote inside a quoted cell is written "")'
        )
    where = f"lines {first}-{last}" if last > first else f"line {first}"
    return (
        f"{where} cannot be read as CSV ({reason}); a quoted cell ends with a quote followed by a comma or the line end"
    )
