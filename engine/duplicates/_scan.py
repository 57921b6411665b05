"""Groups of likely duplicates over a whole table (``crm duplicates scan``, the
``duplicates_scan`` job, the admin's duplicates page).

Set-based: the database hands over only the keys whose blocking key at least one other
record shares (a window count over the ``crm_duplicate_keys`` index), sorted by it; records are
compared within their block only, identical keys without comparing at all. Within a block,
records joined by a holding rule fall into one group (a chain a~b~c is one group).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import UsageError
from engine.metadata import DuplicateRule, EntityDef
from engine.progress import NO_PROGRESS, Progress
from engine.storage import duplicate_keys

from ._keys import similarity

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Rows fetched at a time from the keys (a server-side cursor on PostgreSQL).
_FETCH = 10_000


@dataclass
class DuplicateGroup:
    """Records that one rule says are likely the same; ``similarity`` is the lowest of the
    pairs that joined them (1.0: the same key)."""

    rule: str
    action: str
    ids: list[int]
    similarity: float = 1.0
    displays: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "similarity": self.similarity,
            "records": [{"id": i, "display": self.displays.get(i)} for i in self.ids],
        }


def scan_groups(
    engine: CrmEngine, entity: str, *, rule: str | None = None, progress: Progress = NO_PROGRESS
) -> list[DuplicateGroup]:
    """Every group of likely duplicates of ``entity`` under its rules (or the one ``rule``),
    largest first, with the records' display values."""
    definition = engine.model.entity(entity)
    rules = _rules(definition, rule)
    groups: list[DuplicateGroup] = []
    progress.start(f"scanning {entity} for duplicates", None)
    with engine.db.read() as conn:
        for r in rules:
            keys = duplicate_keys.c
            # one pass in blocking-key order; a window count leaves out the blocks of one record
            sized = (
                sa.select(
                    keys.blocking_key,
                    keys.record_id,
                    keys.key,
                    sa.func.count().over(partition_by=keys.blocking_key).label("size"),
                )
                .where(keys.entity == entity, keys.rule == r.name)
                .subquery()
            )
            query = (
                sa.select(sized.c.blocking_key, sized.c.record_id, sized.c.key)
                .where(sized.c.size > 1)
                .order_by(sized.c.blocking_key, sized.c.record_id)
            )
            result = conn.execution_options(yield_per=_FETCH).execute(query)
            for block in _blocks(result):
                groups.extend(_group_block(r, block))
                progress.advance(len(block))
        _add_displays(engine, conn, definition, groups)
    progress.finish()
    groups.sort(key=lambda g: (-len(g.ids), g.rule, g.ids[0]))
    return groups


def _rules(definition: EntityDef, rule: str | None) -> tuple[DuplicateRule, ...]:
    if rule is None:
        if not definition.duplicates:
            raise UsageError(f'{definition.name} has no duplicate rules; add some under "duplicates"')
        return definition.duplicates
    for r in definition.duplicates:
        if r.name == rule:
            return (r,)
    known = ", ".join(r.name for r in definition.duplicates) or "none"
    raise UsageError(f"{definition.name} has no duplicate rule {rule!r}; its rules: {known}")


def _blocks(rows: Any) -> Iterator[list[tuple[int, str]]]:
    """``(record_id, key)`` lists of consecutive rows sharing a blocking key."""
    current: str | None = None
    block: list[tuple[int, str]] = []
    for blocking, record_id, key in rows:
        if blocking != current and block:
            yield block
            block = []
        current = blocking
        block.append((int(record_id), key))
    if block:
        yield block


def _group_block(rule: DuplicateRule, block: list[tuple[int, str]]) -> list[DuplicateGroup]:
    """The groups within one block: identical keys together, then keys joined by similarity."""
    by_key: dict[str, list[int]] = {}
    for record_id, key in block:
        by_key.setdefault(key, []).append(record_id)
    keys = list(by_key)
    parent = list(range(len(keys)))
    lowest = [1.0] * len(keys)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(keys) > 1 and any(m.method == "similar" for m in rule.match):
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                score = similarity(rule, keys[i], keys[j])
                if score is None:
                    continue
                a, b = root(i), root(j)
                low = min(lowest[a], lowest[b], score)
                if a != b:
                    parent[b] = a
                lowest[a] = low
    members: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(root(i), []).extend(by_key[key])
    return [
        DuplicateGroup(rule.name, rule.action, sorted(ids), lowest[r]) for r, ids in members.items() if len(ids) > 1
    ]


def _add_displays(engine: CrmEngine, conn: Any, definition: EntityDef, groups: list[DuplicateGroup]) -> None:
    if definition.display is None or not groups:
        return
    table = engine.model.table(definition.name)
    column = table.c[definition.display]
    ids = sorted({i for g in groups for i in g.ids})
    shown: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for record_id, value in conn.execute(sa.select(table.c.id, column).where(table.c.id.in_(chunk))):
            shown[record_id] = "" if value is None else str(value)
    for g in groups:
        g.displays = {i: shown[i] for i in g.ids if i in shown}
