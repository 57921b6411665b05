"""References by natural key in an import: a column ``account.code`` fills the reference
field ``account`` with the id of the account whose ``code`` is the cell.

The key is ``id``, a unique field of the target, or the target's display field (which need
not be declared unique: a value two records share is then an ``ambiguous_reference``).
Cells are resolved a batch at a time, one query per key column and batch, never per line.
A resolved cell is replaced by the id (in the record's own cell list: the reader made it for
this line alone), so the compiled CSV reader converts and checks the line as if the file had
named the id; a copy of the cells as the file had them stays for the rejects file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import Problem, UsageError
from engine.metadata import TEXT_TYPES, EntityDef, FieldDef

from ._csv import CsvRecord

if TYPE_CHECKING:
    from engine.runtime import CompiledModel

#: Key field types whose cell text compares with the stored value (after int() for integer).
_KEY_TYPES = frozenset({*TEXT_TYPES, "integer", "enum"})
#: Values per lookup query (well under SQLite's bound-parameter limit).
_LOOKUP_CHUNK = 10_000


@dataclass(frozen=True)
class KeyColumn:
    """One natural-key column: its position, the reference it fills, and the key it matches."""

    index: int
    header: str
    reference: FieldDef
    target: str
    key: str
    #: whether two target records may share the key (a display field not declared unique)
    may_repeat: bool
    whole: bool


class ResolvedRecord(NamedTuple):
    """A record with its key cells replaced by ids, its cells as the file had them, and the
    problems of keys that name no record or several."""

    record: CsvRecord
    original: list[str] | None
    problems: tuple[Problem, ...]


def key_columns(
    model: CompiledModel, definition: EntityDef, header: Sequence[str]
) -> tuple[list[str], list[KeyColumn]]:
    """The header with every ``reference.key`` column renamed to its reference field, and
    those columns. A column whose part before the dot is no reference field is left as is
    (the header check names it); a key the target cannot be found by is a usage error."""
    renamed = list(header)
    found: list[KeyColumn] = []
    problems: list[Problem] = []
    for index, name in enumerate(header):
        reference_name, dot, key = name.partition(".")
        reference = definition.fields.get(reference_name)
        if not dot or reference is None or reference.type != "reference" or not reference.target:
            continue
        target = model.entity(reference.target)
        usable = _usable_keys(target)
        if key not in usable:
            message = (
                f'{reference.target} records cannot be found by "{key}": use id, a unique field or the display '
                f"field ({', '.join(usable) or 'none'})"
            )
            problems.append(Problem(code="unknown_key", field=name, line=1, message=message))
            continue
        renamed[index] = reference_name
        key_field = target.fields.get(key)
        found.append(
            KeyColumn(
                index=index,
                header=name,
                reference=reference,
                target=reference.target,
                key=key,
                may_repeat=key_field is not None and not _unique(target, key),
                whole=key == "id" or (key_field is not None and key_field.type == "integer"),
            )
        )
    if problems:
        raise UsageError("; ".join(f"column {p.field}: {p.message}" for p in problems), problems)
    return renamed, found


def _unique(target: EntityDef, key: str) -> bool:
    f = target.fields.get(key)
    return key == "id" or (f is not None and f.unique) or (key,) in target.unique


def _usable_keys(target: EntityDef) -> list[str]:
    """The fields ``target`` records can be found by, id first."""
    names = ["id"]
    for name, f in target.fields.items():
        if f.type in _KEY_TYPES and (_unique(target, name) or name == target.display):
            names.append(name)
    return names


class KeyResolver:
    """Resolves the key columns of an import, a batch of records at a time."""

    def __init__(self, model: CompiledModel, columns: Sequence[KeyColumn], batch_size: int) -> None:
        self.model = model
        self.columns = tuple(columns)
        self.batch_size = batch_size
        self._width = max(column.index for column in self.columns) + 1

    def resolve(
        self, conn: Connection, records: Iterable[CsvRecord], before_query: Callable[[], None]
    ) -> Iterator[ResolvedRecord]:
        """Every record, with its key cells resolved; ``before_query`` runs before each
        batch's lookups (a threaded import waits there for its writer to free ``conn``)."""
        chunk: list[CsvRecord] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.batch_size:
                before_query()
                yield from self._resolve_chunk(conn, chunk)
                chunk = []
        if chunk:
            before_query()
            yield from self._resolve_chunk(conn, chunk)

    def _resolve_chunk(self, conn: Connection, chunk: list[CsvRecord]) -> Iterator[ResolvedRecord]:
        found = [(column, self._lookup(conn, column, chunk)) for column in self.columns]
        width = self._width
        for record in chunk:
            cells = record.cells
            if cells is None or len(cells) < width:
                yield ResolvedRecord(record, None, ())  # the reader reports the line's shape
                continue
            original = cells.copy()  # for the rejects file; the record's cells take the ids
            problems: list[Problem] = []
            for column, ids in found:
                text = cells[column.index].strip()
                if not text:
                    continue
                matches = ids.get(text)
                if matches is None:
                    problems.append(self._unknown(column, text, record.first_line))
                elif len(matches) > 1:
                    problems.append(self._ambiguous(column, text, matches, record.first_line))
                else:
                    cells[column.index] = matches[0]
            yield ResolvedRecord(record, original, tuple(problems))

    def _lookup(self, conn: Connection, column: KeyColumn, chunk: list[CsvRecord]) -> dict[str, list[str]]:
        """Cell text → ids of the target records with that key (one query per chunk of values)."""
        wanted: dict[Any, str] = {}
        seen: set[str] = set()
        for record in chunk:
            cells = record.cells
            if not cells or len(cells) <= column.index:
                continue
            text = cells[column.index].strip()
            if not text or text in seen:
                continue
            seen.add(text)
            if column.whole:
                try:
                    wanted[int(text)] = text
                except ValueError:
                    continue  # no record has it: reported as unknown
            else:
                wanted[text] = text
        table = self.model.table(column.target)
        key = table.c[column.key]
        ids: dict[str, list[str]] = {}
        values = list(wanted)
        for start in range(0, len(values), _LOOKUP_CHUNK):
            part = values[start : start + _LOOKUP_CHUNK]
            query = sa.select(key, table.c.id).where(key.in_(part))
            if column.may_repeat:
                query = query.order_by(table.c.id)
            for value, record_id in conn.execute(query):
                ids.setdefault(wanted[value], []).append(str(record_id))
        return ids

    @staticmethod
    def _unknown(column: KeyColumn, text: str, line: int) -> Problem:
        return Problem(
            code="unknown_reference",
            field=column.reference.name,
            line=line,
            message=f'no {column.target} has {column.key} "{text}" (column {column.header})',
        )

    @staticmethod
    def _ambiguous(column: KeyColumn, text: str, ids: list[str], line: int) -> Problem:
        shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
        return Problem(
            code="ambiguous_reference",
            field=column.reference.name,
            line=line,
            message=(
                f'{len(ids)} {column.target} records have {column.key} "{text}" (ids {shown}); '
                f"name it by id or a unique field (column {column.header})"
            ),
        )
