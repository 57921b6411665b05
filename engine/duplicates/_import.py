"""Duplicate rules in the bulk CSV import: each batch of new lines is screened against the
stored keys (one query per rule and batch, not per line) and against the earlier lines of
the same file; a line a ``block`` rule matches is rejected like any other line error (code
``duplicate``, naming the candidates). The keys of the records the import inserted or
updated are written in the import's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import Problem
from engine.metadata import DuplicateRule, EntityDef
from engine.storage import duplicate_keys

from ._keys import record_key, similarity
from ._service import rules_touched

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


class _Line(Protocol):
    """A line of an import: where it is in the file and its values."""

    line: int
    values: tuple[Any, ...]


_Row = TypeVar("_Row", bound=_Line)

#: Blocking keys asked for per statement.
_CHUNK = 500


class ImportScreen:
    """The duplicate screen of one import of ``definition`` (inactive without block rules
    for new lines, and without any rule for keys)."""

    def __init__(self, engine: CrmEngine, definition: EntityDef) -> None:
        self._engine = engine
        self._definition = definition
        self._blocking = tuple(r for r in definition.duplicates if r.action == "block")
        #: (rule, blocking key) → (key, line) of the lines of this file let through so far
        self._seen: dict[tuple[str, str], list[tuple[str, int]]] = {}

    @property
    def active(self) -> bool:
        return bool(self._definition.duplicates)

    def screen(
        self,
        conn: Connection,
        records: Sequence[Mapping[str, Any]],
        lines: Sequence[int],
        reject: Callable[[int, list[Problem]], None],
    ) -> list[bool]:
        """Which of ``records`` (new lines) may be inserted; ``reject(index, problems)`` is
        called for the others."""
        keep = [True] * len(records)
        keyed = {rule.name: [record_key(self._definition, rule, r) for r in records] for rule in self._blocking}
        stored = {
            rule.name: self._stored(conn, rule, {k[1] for k in keyed[rule.name] if k is not None})
            for rule in self._blocking
        }
        for i in range(len(records)):
            # line by line: a line is compared with the stored records and the lines before it
            for rule in self._blocking:
                found = keyed[rule.name][i]
                if found is None:
                    continue
                key, blocking = found
                ids = [
                    rid
                    for rid, other in stored[rule.name].get(blocking, ())
                    if similarity(rule, key, other) is not None
                ]
                earlier = [
                    line
                    for other, line in self._seen.get((rule.name, blocking), ())
                    if similarity(rule, key, other) is not None
                ]
                if ids or earlier:
                    keep[i] = False
                    reject(i, [self._problem(rule, lines[i], ids, earlier)])
                    break
            if keep[i]:
                for rule in self._blocking:
                    found = keyed[rule.name][i]
                    if found is not None:
                        self._seen.setdefault((rule.name, found[1]), []).append((found[0], lines[i]))
        return keep

    def rows_kept(
        self,
        conn: Connection,
        columns: Sequence[str],
        rows: list[_Row],
        reject: Callable[[_Row, list[Problem]], None],
    ) -> list[_Row]:
        """The import's ``rows`` (``line`` and ``values`` in ``columns`` order) that may be
        inserted; ``reject(row, problems)`` is called for the others."""
        records = [dict(zip(columns, row.values, strict=True)) for row in rows]
        keep = self.screen(conn, records, [row.line for row in rows], lambda i, found: reject(rows[i], found))
        return [row for row, kept in zip(rows, keep, strict=True) if kept]

    def _stored(self, conn: Connection, rule: DuplicateRule, blocks: set[str]) -> dict[str, list[tuple[int, str]]]:
        out: dict[str, list[tuple[int, str]]] = {}
        wanted = sorted(blocks)
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(duplicate_keys.c.blocking_key, duplicate_keys.c.record_id, duplicate_keys.c.key).where(
                duplicate_keys.c.entity == self._definition.name,
                duplicate_keys.c.rule == rule.name,
                duplicate_keys.c.blocking_key.in_(wanted[start : start + _CHUNK]),
            )
            for blocking, record_id, key in conn.execute(query):
                out.setdefault(blocking, []).append((int(record_id), key))
        return out

    def _problem(self, rule: DuplicateRule, line: int, ids: list[int], earlier: list[int]) -> Problem:
        named = [f"{self._definition.name} {i}" for i in ids[:5]] + [f"line {n}" for n in earlier[:5]]
        return Problem(
            code="duplicate",
            field=rule.match[0].field,
            line=line,
            message=f"likely a duplicate of {', '.join(named)} (rule {rule.name}); "
            "if it is not, create it with allow_duplicate (crm record create --allow-duplicate)",
        )

    def mark(self, conn: Connection) -> int:
        """The highest id before a batch is inserted (its new records come after it)."""
        if not self.active:
            return 0
        table = self._engine.model.table(self._definition.name)
        return int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0)

    def keep_inserted(self, conn: Connection, after: int, actor: str, at: Any) -> None:
        """Write the keys of the records this import just inserted (ids past ``after``)."""
        if not self.active:
            return
        table = self._engine.model.table(self._definition.name)
        query = sa.select(table.c.id).where(table.c.id > after, table.c.created_by == actor, table.c.created_at == at)
        ids = [row[0] for row in conn.execute(query)]
        self._engine.duplicates.keep_keys_of(conn, self._definition, ids)

    def keep_updated(self, conn: Connection, record: Mapping[str, Any], changed: Mapping[str, Any]) -> None:
        """Write the keys of a record an import line updated."""
        rules = rules_touched(self._definition, changed)
        if rules:
            self._engine.duplicates.keep_keys(conn, self._definition, record, rules)
