"""Duplicate rules at work: the check on every save, the keys it looks candidates up by,
and their back-fill when rules are added or changed.

The records service calls :meth:`DuplicateService.check` before it writes a record and
:meth:`DuplicateService.keep_keys` / :meth:`DuplicateService.drop_keys` after, in the same
transaction, so the keys never lag behind the records (and every edge that saves through
the service, or the import, is checked alike). A check costs one index lookup per rule on
``crm_duplicate_keys`` and a similarity on the few candidates found, however large the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.errors import ConflictError, PermissionDeniedError, Problem
from engine.metadata import Definitions, DuplicateRule, EntityDef
from engine.progress import NO_PROGRESS, Progress
from engine.storage import audit_log, audit_row, duplicate_keys, duplicate_rules
from engine.users import Actor

from ._keys import KEYS_VERSION, record_key, similarity
from ._scan import DuplicateGroup, scan_groups

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Candidates a check reads per rule (the blocking key keeps them few; past it, the first ones).
MAX_CANDIDATES = 500
#: Records read and keys written per statement when keys are rebuilt.
_BATCH = 5000


@dataclass(frozen=True)
class Candidate:
    """A stored record a new or changed one is likely a duplicate of."""

    id: int
    display: str | None
    rule: str
    action: str
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display": self.display,
            "rule": self.rule,
            "action": self.action,
            "similarity": self.similarity,
        }


class DuplicateError(ConflictError):
    """A ``block`` rule found likely duplicates; ``candidates`` names them. Saving anyway
    takes an explicit override (``allow_duplicate``), which the audit records."""

    code = "duplicate"

    def __init__(self, entity: str, candidates: Iterable[Candidate]) -> None:
        self.candidates = tuple(candidates)
        rules = sorted({c.rule for c in self.candidates})
        shown = ", ".join(f"{entity} {c.id}" + (f' "{c.display}"' if c.display else "") for c in self.candidates[:5])
        message = (
            f"likely a duplicate of {shown} (rule {', '.join(rules)}); open the existing record, "
            "or save anyway with allow_duplicate"
        )
        super().__init__(
            message,
            [Problem(code="duplicate", field=None, message=f"duplicate rule {rule}") for rule in rules],
        )

    def details(self) -> dict[str, Any]:
        return {"candidates": [c.to_json() for c in self.candidates]}


def rules_touched(
    definition: EntityDef,
    changed: Iterable[str],
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> tuple[DuplicateRule, ...]:
    """The rules of ``definition`` that compare one of the ``changed`` fields; with the
    record ``before`` and ``after`` the change, only those under which its key changes (a
    confirmed duplicate is not refused again for an edit that leaves its key as it was)."""
    names = set(changed)
    rules = tuple(r for r in definition.duplicates if any(m.field in names for m in r.match))
    if before is None or after is None:
        return rules
    return tuple(r for r in rules if record_key(definition, r, before) != record_key(definition, r, after))


class DuplicateService:
    """Duplicate checks and keys of every entity of one engine."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        self._statements: dict[tuple[str, tuple[str, ...], bool], Any] = {}
        self._statements_model: Any = None

    # -- checks on save ---------------------------------------------------------------------
    def check(
        self,
        tx: Connection,
        definition: EntityDef,
        record: Mapping[str, Any],
        own_id: int | None,
        rules: tuple[DuplicateRule, ...] | None = None,
    ) -> list[Candidate]:
        """The stored records ``record`` is likely a duplicate of, under ``rules`` (default:
        every rule of the entity), most similar first; one per record and rule."""
        keyed = []
        for rule in definition.duplicates if rules is None else rules:
            found_key = record_key(definition, rule, record)
            if found_key is not None:
                keyed.append((rule, *found_key))
        if not keyed:
            return []
        if tx.dialect.name == "postgresql":
            _lock_blocks(tx, definition.name, [(r.name, b) for r, _, b in keyed if r.action == "block"])
        # one statement for every rule (the round trip, not the index lookups, is the cost)
        statement = self._lookup(definition, tuple(r.name for r, _, _ in keyed), own_id is not None)
        params: dict[str, Any] = {f"b{i}": blocking for i, (_, _, blocking) in enumerate(keyed)}
        if own_id is not None:
            params["own_id"] = own_id
        by_rule = {rule.name: (rule, key) for rule, key, _ in keyed}
        found: list[Candidate] = []
        label = definition.label.get("en")
        for rule_name, record_id, other, display in tx.execute(statement, params):
            rule, key = by_rule[rule_name]
            score = similarity(rule, key, other)
            if score is not None:
                shown = str(display) if display is not None else f"{label} #{record_id}"
                found.append(Candidate(record_id, shown, rule.name, rule.action, score))
        found.sort(key=lambda c: (c.action != "block", -c.similarity, c.id))
        return found

    def _lookup(self, definition: EntityDef, rules: tuple[str, ...], has_own: bool) -> Any:
        """The candidate lookup of ``rules`` (blocking keys bound as ``b0``, ``b1`` ...) with
        each candidate's display value, built once per shape and compiled model."""
        model = self._engine.model
        if model is not self._statements_model:
            self._statements = {}
            self._statements_model = model
        entity = definition.name
        shape = (entity, rules, has_own)
        found = self._statements.get(shape)
        if found is None:
            keys = duplicate_keys.c
            table = model.table(entity)
            display = table.c[definition.display] if definition.display else sa.null()
            parts = []
            for i, name in enumerate(rules):
                # each part one index range (entity, rule, blocking key): an OR of them is not
                # always read through the index (SQLite scans the entity's keys instead)
                part = (
                    sa.select(keys.rule, keys.record_id, keys.key, display.label("display"))
                    .join(table, table.c.id == keys.record_id)
                    .where(keys.entity == entity, keys.rule == name, keys.blocking_key == sa.bindparam(f"b{i}"))
                )
                if has_own:
                    part = part.where(keys.record_id != sa.bindparam("own_id"))
                parts.append(part.limit(MAX_CANDIDATES))
            found = parts[0] if len(parts) == 1 else sa.union_all(*(p.subquery().select() for p in parts))
            if len(self._statements) > 1000:
                self._statements.clear()
            self._statements[shape] = found
        return found

    # -- scans ------------------------------------------------------------------------------
    def scan(
        self, entity: str, *, actor: Actor, rule: str | None = None, progress: Progress = NO_PROGRESS
    ) -> list[DuplicateGroup]:
        """Groups of likely duplicates over the whole table (see :func:`~._scan.scan_groups`).
        ``actor`` must read every record of ``entity``: a group names records by their
        display values, and a partial scan would hide the very duplicates it is run to find."""
        access = self._engine.permissions.require(actor, entity, "read")
        if not access.unrestricted and access.read != "all":
            raise PermissionDeniedError(
                f"scanning {entity} for duplicates needs read access to all its records; ask an administrator to run it"
            )
        return scan_groups(self._engine, entity, rule=rule, progress=progress)

    # -- keys -------------------------------------------------------------------------------
    def keep_keys(
        self,
        tx: Connection,
        definition: EntityDef,
        record: Mapping[str, Any],
        rules: tuple[DuplicateRule, ...] | None = None,
        *,
        new: bool = False,
    ) -> None:
        """Store ``record``'s keys under ``rules`` (default: all), replacing older ones
        (``new``: a record just inserted, which has none)."""
        rules = definition.duplicates if rules is None else rules
        if not rules:
            return
        record_id = record["id"]
        if not new:
            tx.execute(
                duplicate_keys.delete().where(
                    duplicate_keys.c.entity == definition.name,
                    duplicate_keys.c.record_id == record_id,
                    duplicate_keys.c.rule.in_([r.name for r in rules]),
                )
            )
        rows = []
        for rule in rules:
            keyed = record_key(definition, rule, record)
            if keyed is not None:
                rows.append(self._row(definition.name, rule.name, record_id, keyed))
        if rows:
            tx.execute(duplicate_keys.insert(), rows)

    def keep_keys_of(self, tx: Connection, definition: EntityDef, ids: Iterable[int]) -> int:
        """Store the keys of the records ``ids`` as the table holds them (bulk writes: an
        import, generated demo data); the number of records read."""
        if not definition.duplicates:
            return 0
        wanted = sorted(set(ids))
        table = self._engine.model.table(definition.name)
        count = 0
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start : start + _BATCH]
            tx.execute(
                duplicate_keys.delete().where(
                    duplicate_keys.c.entity == definition.name, duplicate_keys.c.record_id.in_(chunk)
                )
            )
            records = [dict(r) for r in tx.execute(sa.select(table).where(table.c.id.in_(chunk))).mappings()]
            count += len(records)
            self._insert_keys(tx, definition, definition.duplicates, records)
        return count

    def drop_keys(self, tx: Connection, entity: str, record_id: int) -> None:
        """Forget the keys of a deleted record."""
        tx.execute(
            duplicate_keys.delete().where(duplicate_keys.c.entity == entity, duplicate_keys.c.record_id == record_id)
        )

    def _insert_keys(
        self, tx: Connection, definition: EntityDef, rules: Iterable[DuplicateRule], records: list[dict[str, Any]]
    ) -> None:
        rows = []
        for rule in rules:
            for record in records:
                keyed = record_key(definition, rule, record)
                if keyed is not None:
                    rows.append(self._row(definition.name, rule.name, record["id"], keyed))
        if rows:
            tx.execute(duplicate_keys.insert(), rows)

    @staticmethod
    def _row(entity: str, rule: str, record_id: int, keyed: tuple[str, str]) -> dict[str, Any]:
        return {"entity": entity, "rule": rule, "record_id": record_id, "key": keyed[0], "blocking_key": keyed[1]}

    # -- back-fill --------------------------------------------------------------------------
    def sync(self, definitions: Definitions) -> dict[str, int]:
        """Bring the stored keys in line with the rules of ``definitions``: keys of new and
        changed rules built from every stored record, those of removed rules dropped (one
        transaction per rule). Answers ``"entity.rule"`` → records keyed, for rebuilt rules."""
        with self._engine.db.read() as conn:
            stored = {(r.entity, r.rule): r.signature for r in conn.execute(sa.select(duplicate_rules))}
        wanted = {
            (name, rule.name): (entity, rule)
            for name, entity in definitions.entities.items()
            for rule in entity.duplicates
        }
        rebuilt: dict[str, int] = {}
        for (name, rule_name), (entity, rule) in sorted(wanted.items()):
            if stored.get((name, rule_name)) == _signature(rule):
                continue
            with self._engine.db.write() as tx:
                rebuilt[f"{name}.{rule_name}"] = self._rebuild(tx, entity, rule)
                tx.execute(
                    duplicate_rules.delete().where(
                        duplicate_rules.c.entity == name, duplicate_rules.c.rule == rule_name
                    )
                )
                tx.execute(duplicate_rules.insert().values(entity=name, rule=rule_name, signature=_signature(rule)))
        for name, rule_name in sorted(set(stored) - set(wanted)):
            with self._engine.db.write() as tx:
                for table in (duplicate_keys, duplicate_rules):
                    tx.execute(table.delete().where(table.c.entity == name, table.c.rule == rule_name))
        return rebuilt

    def after_bulk_write(self, entities: Iterable[str], actor: str) -> int:
        """Keys for records written around the service (generated demo data): rebuilt for
        every rule of ``entities``; and the records a block rule would have refused, each
        but the first of its group, recorded as saved with ``allow_duplicate`` by ``actor``
        (the system), as the service records a confirmed duplicate. Answers that number."""
        if not self._engine.has_definitions:  # a plugin's generator may write without any
            return 0
        definitions = self._engine.model.definitions
        overridden = 0
        for name in sorted(set(entities)):
            entity = definitions.entities.get(name)
            if entity is None or not entity.duplicates:
                continue
            with self._engine.db.write() as tx:
                for rule in entity.duplicates:
                    self._rebuild(tx, entity, rule)
            if not any(r.action == "block" for r in entity.duplicates):
                continue
            groups = [g for g in scan_groups(self._engine, name) if g.action == "block"]
            now = utcnow()
            rows = []
            for g in groups:
                for position, record_id in enumerate(g.ids[1:], start=1):
                    earlier = [Candidate(i, None, g.rule, g.action, g.similarity) for i in g.ids[:position]]
                    rows.extend(override_rows(uuid.uuid4().hex, name, record_id, earlier, actor, now))
            if rows:
                with self._engine.db.write() as tx:
                    tx.execute(audit_log.insert(), rows)
            overridden += len(rows)
        return overridden

    def _rebuild(self, tx: Connection, definition: EntityDef, rule: DuplicateRule) -> int:
        """Every stored record's key under ``rule``, written afresh."""
        tx.execute(
            duplicate_keys.delete().where(
                duplicate_keys.c.entity == definition.name, duplicate_keys.c.rule == rule.name
            )
        )
        table = self._engine.model.table(definition.name)
        columns = [table.c.id, *(table.c[m.field] for m in rule.match)]
        last = 0
        count = 0
        while True:
            rows = tx.execute(sa.select(*columns).where(table.c.id > last).order_by(table.c.id).limit(_BATCH))
            records = [dict(r) for r in rows.mappings()]
            if not records:
                return count
            count += len(records)
            last = records[-1]["id"]
            self._insert_keys(tx, definition, (rule,), records)


def _signature(rule: DuplicateRule) -> str:
    """What a rule's stored keys were built for: its fields and methods, and the version of
    the normalisation that made them (a change of either rebuilds them)."""
    return f"v{KEYS_VERSION}:{rule.signature}"


def _lock_blocks(tx: Connection, entity: str, blocks: list[tuple[str, str]]) -> None:
    """Serialise saves that fall into the same blocks of ``block`` rules until they commit
    (PostgreSQL: two concurrent saves of the same company must not both miss each other;
    SQLite writes one transaction at a time anyway). Sorted, so that two saves never wait
    for each other's locks in opposite orders."""
    if not blocks:
        return
    names = sorted({f"crm_duplicates:{entity}:{rule}:{blocking}" for rule, blocking in blocks})
    locks = ", ".join(f"pg_advisory_xact_lock(hashtextextended(:k{i}, 0))" for i in range(len(names)))
    tx.execute(sa.text(f"SELECT {locks}"), {f"k{i}": name for i, name in enumerate(names)})


def refuse_duplicates(entity: str, candidates: list[Candidate], allow_duplicate: bool) -> list[Candidate]:
    """Raise :class:`DuplicateError` for the candidates of ``block`` rules, unless
    ``allow_duplicate``; then answer them (the overrides the audit records)."""
    blocking = [c for c in candidates if c.action == "block"]
    if blocking and not allow_duplicate:
        raise DuplicateError(entity, blocking)
    return blocking


def override_rows(
    change_id: str,
    entity: str,
    record_id: int,
    overridden: list[Candidate],
    actor: str | None,
    at: datetime,
    *,
    file_lines: Mapping[str, Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """The audit rows of a save that overrode ``block`` rules: one per rule, action
    ``allow_duplicate``, the rule and the candidates' ids as its value (and, for a line of
    an import, ``lines``: the earlier lines of its file it matched, by rule)."""
    by_rule: dict[str, list[int]] = {}
    for c in overridden:
        by_rule.setdefault(c.rule, []).append(c.id)
    for rule, lines in (file_lines or {}).items():
        if lines:
            by_rule.setdefault(rule, [])
    rows = []
    for rule, ids in sorted(by_rule.items()):
        value: dict[str, Any] = {"rule": rule, "candidates": ids}
        if file_lines and file_lines.get(rule):
            value["lines"] = list(file_lines[rule])
        rows.append(
            audit_row(
                change_id=change_id,
                entity=entity,
                record_id=record_id,
                action="allow_duplicate",
                field=None,
                old_value=None,
                new_value=value,
                actor=actor,
                at=at,
            )
        )
    return rows
