"""Duplicate rules in the bulk CSV import: each batch of new lines is screened against the
stored keys (one query per rule and batch, not per line) and against the earlier lines of
the same file, by the same blocking keys a scan uses. A line a ``block`` rule matches is
rejected like any other line error (code ``duplicate``, naming the candidates), unless the
import allows duplicates: then it goes in and the audit records the override, as for a
single save. A line a ``warn`` rule matches goes in and is reported (:class:`LineDuplicate`),
as is every overridden one. The keys of the records the import inserted or updated are
written in the import's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.errors import Problem
from engine.metadata import DuplicateRule, EntityDef
from engine.storage import duplicate_keys

from ._keys import record_key, similarity
from ._service import MAX_CANDIDATES, Candidate, rules_touched

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


class _Line(Protocol):
    """A line of an import: where it is in the file and its values."""

    line: int
    values: tuple[Any, ...]


_Row = TypeVar("_Row", bound=_Line)

#: Blocking keys asked for per statement.
_CHUNK = 500


@dataclass(frozen=True)
class LineDuplicate:
    """A line of an import that was imported although a duplicate rule matched it: a
    ``warn`` rule, or a ``block`` rule the import was allowed to override."""

    line: int
    rule: str
    action: str
    #: stored records it is likely a duplicate of (ids)
    records: tuple[int, ...]
    #: earlier lines of the same file it is likely a duplicate of
    lines: tuple[int, ...]
    similarity: float

    @property
    def overridden(self) -> bool:
        return self.action == "block"

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "rule": self.rule,
            "action": self.action,
            "overridden": self.overridden,
            "records": list(self.records),
            "lines": list(self.lines),
            "similarity": self.similarity,
        }

    def format(self, entity: str) -> str:
        named = [f"{entity} {i}" for i in self.records[:5]] + [f"line {n}" for n in self.lines[:5]]
        what = "imported anyway (allow_duplicate)" if self.overridden else "imported (warn)"
        return f"line {self.line}: likely a duplicate of {', '.join(named)} (rule {self.rule}); {what}"

    def candidates(self) -> list[Candidate]:
        """The stored records matched, as the audit of an override names them."""
        return [Candidate(i, None, self.rule, self.action, self.similarity) for i in self.records]


class ImportScreen:
    """The duplicate screen of one import of ``definition`` (inactive without rules).
    ``allow_duplicate``: lines a ``block`` rule matches are imported (and reported) instead
    of rejected."""

    def __init__(
        self, engine: CrmEngine, definition: EntityDef, *, allow_duplicate: bool = False, keep: int = 1000
    ) -> None:
        self._engine = engine
        self._definition = definition
        self._rules = definition.duplicates
        self.allow_duplicate = allow_duplicate
        #: (rule, blocking key) → (key, line) of the lines of this file let through so far
        self._seen: dict[tuple[str, str], list[tuple[str, int]]] = {}
        #: the first ``keep`` matches of lines let through although a rule matched them, in
        #: the order screened (a file of a million matches does not keep a million)
        self.found: list[LineDuplicate] = []
        self._keep = keep
        #: the overridden block matches of the batch screened last, by line
        self._overrides: dict[int, list[LineDuplicate]] = {}

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def screen(
        self,
        conn: Connection,
        records: Sequence[Mapping[str, Any]],
        lines: Sequence[int],
        reject: Callable[[int, list[Problem]], None],
    ) -> list[bool]:
        """Which of ``records`` (new lines) may be inserted; ``reject(index, problems)`` is
        called for the others. The matches of the lines let through are added to
        :attr:`found`."""
        keep = [True] * len(records)
        self._overrides = {}
        keyed = {rule.name: [record_key(self._definition, rule, r) for r in records] for rule in self._rules}
        stored = {
            rule.name: self._stored(conn, rule, {k[1] for k in keyed[rule.name] if k is not None})
            for rule in self._rules
        }
        for i in range(len(records)):
            # line by line: a line is compared with the stored records and the lines before it
            matched: list[LineDuplicate] = []
            for rule in self._rules:
                found = keyed[rule.name][i]
                if found is None:
                    continue
                key, blocking = found
                ids: list[int] = []
                earlier: list[int] = []
                best = 0.0
                for rid, other in stored[rule.name].get(blocking, ()):
                    score = similarity(rule, key, other)
                    if score is not None:
                        ids.append(rid)
                        best = max(best, score)
                for other, line in self._seen.get((rule.name, blocking), ()):
                    score = similarity(rule, key, other)
                    if score is not None:
                        earlier.append(line)
                        best = max(best, score)
                if not ids and not earlier:
                    continue
                if rule.action == "block" and not self.allow_duplicate:
                    keep[i] = False
                    reject(i, [self._problem(rule, lines[i], ids, earlier)])
                    break
                matched.append(LineDuplicate(lines[i], rule.name, rule.action, tuple(ids), tuple(earlier), best))
            if keep[i]:
                self._note(matched)
                for rule in self._rules:
                    found = keyed[rule.name][i]
                    if found is not None:
                        seen = self._seen.setdefault((rule.name, found[1]), [])
                        if len(seen) < MAX_CANDIDATES:  # as a single save reads (not n² in one block)
                            seen.append((found[0], lines[i]))
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

    def overriding(self, lines: Sequence[int]) -> dict[int, list[LineDuplicate]]:
        """The overridden ``block`` matches of those of ``lines`` (of the batch screened
        last) that have some, by line."""
        return {line: self._overrides[line] for line in lines if line in self._overrides}

    def _note(self, matched: list[LineDuplicate]) -> None:
        for found in matched:
            if found.overridden:
                self._overrides.setdefault(found.line, []).append(found)
            if len(self.found) < self._keep:
                self.found.append(found)

    def check_update(
        self, conn: Connection, line: int, current: Mapping[str, Any], updated: Mapping[str, Any]
    ) -> tuple[list[Problem], list[Candidate]]:
        """A line that updates ``current`` into ``updated``, checked as a single update is
        (against the stored records, only the rules whose key it changes): the problems
        that refuse it, or none and the ``block`` candidates it overrides. Its matches are
        added to :attr:`found` when it goes through."""
        changed = [k for k in updated if current.get(k) != updated.get(k)]
        rules = rules_touched(self._definition, changed, current, updated)
        if not rules:
            return [], []
        candidates = self._engine.duplicates.check(conn, self._definition, updated, current["id"], rules)
        blocking = [c for c in candidates if c.action == "block"]
        if blocking and not self.allow_duplicate:
            by_rule = {r.name: r for r in rules}
            first = by_rule[blocking[0].rule]
            return [self._problem(first, line, [c.id for c in blocking if c.rule == first.name], [])], []
        matched = []
        for rule in rules:
            mine = [c for c in candidates if c.rule == rule.name]
            if mine:
                ids = tuple(c.id for c in mine)
                matched.append(LineDuplicate(line, rule.name, rule.action, ids, (), max(c.similarity for c in mine)))
        self._note(matched)
        return [], blocking

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
            "if it is not, import it with allow_duplicate (crm import --allow-duplicate)",
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
