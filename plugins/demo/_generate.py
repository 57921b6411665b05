"""``generate_demo``: a run over the entities of a preset, parents first, in one transaction."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from engine.automations import AutomationService
from engine.clock import frozen, utcnow
from engine.derived import settle
from engine.errors import DefinitionError, RecordValidationError, UsageError
from engine.metadata import Definitions, load_definitions
from engine.progress import NO_PROGRESS, Progress
from engine.records import number_rows
from engine.storage import (
    RECORDS_IMPORTED,
    WORKFLOW_HISTORY_COLUMNS,
    DomainEvent,
    audit_log,
    batch_audit_row,
    to_jsonable,
    unit_of,
    workflow_history,
)
from engine.transfer import BulkWriter

from ._coherence import unreceived
from ._constraints import normalized
from ._earned_derived import earn_derived
from ._earned_scores import Relied, earn_scores
from ._entity import EntityGen, history_row
from ._plan import generation_order, links, reference_plans, scored_fields
from ._pools import Pool
from ._roles import classify, split_size, words
from ._team import Team, build_team, sign_in_names, workflow_roles

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Records generated and written per round (memory stays flat whatever the size).
BATCH_SIZE = 5000
#: At most this many existing records of an entity outside the preset serve as parents.
EXISTING_PARENTS_LIMIT = 200_000
#: How deep records made by transitions may make records in turn (lead → opportunity → order).
_MAX_ACTION_DEPTH = 4


def generate_demo(
    engine: CrmEngine,
    preset: str,
    size: int,
    *,
    seed: int = 7,
    progress: Progress = NO_PROGRESS,
    now: datetime | None = None,
    password: str | None = None,
) -> dict[str, int]:
    """Write about ``size`` realistic, coherent records for the entities of ``preset``.

    ``preset`` names a preset of the catalog (its entities are filled, and records of other
    entities already in the database serve as parents); any other name fills every entity of
    the live definitions (an admin's own bundle). The same definitions, preset, size, seed
    and ``now`` give the same data, byte for byte. ``now`` defaults to today's midnight UTC,
    so runs on one day agree too. Users for the roles the workflows need are created when
    missing; with ``password`` they (and a demo ``admin``, when no user has that name) sign
    in with it; users that exist keep theirs. Returns entity → records written (records
    transitions created included).
    """
    if size < 0:
        raise UsageError("the number of demo records must be 0 or more")
    definitions = engine.model.definitions
    if size == 0:
        return dict.fromkeys(sorted(preset_scope(definitions, preset)), 0)
    if now is None:
        today = utcnow()
        now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    # one salted scrypt hash for every demo user: hashing is slow on purpose (about 50 ms),
    # and a few dozen users would otherwise cost seconds; they share a password anyway
    password_hash = generate_password_hash(password) if password is not None else None
    with engine.db.write() as conn:
        counts = DemoRun(engine, conn, definitions, preset, size, seed, now, progress, password_hash).run()
        unit = unit_of(conn)  # seeded in bulk, like an import: one event per entity says how many
        for entity, written in counts.items():
            if written:
                payload = {"records": written, "source": "demo", "preset": preset}
                unit.emit(
                    DomainEvent(RECORDS_IMPORTED, entity, None, None, payload, definitions_version=engine.version)
                )
        return counts


def demo_logins(engine: CrmEngine, before: Collection[str]) -> list[tuple[str, str]]:
    """(role, user name) to sign in with among the users created since ``before`` (the names
    that existed): the administrator, a manager, one holder of each role the workflows need."""
    users = [(u.name, u.roles) for u in engine.users.list() if u.name not in before]
    return sign_in_names(users, workflow_roles(engine.model.definitions))


class DemoDataGenerator:
    """The built-in generator the ``crm_demo_generator`` hook offers (an
    :class:`engine.presets.DemoGenerator`)."""

    def generate(
        self,
        engine: CrmEngine,
        preset: str,
        size: int,
        *,
        seed: int = 7,
        progress: Progress = NO_PROGRESS,
        now: datetime | None = None,
        password: str | None = None,
    ) -> dict[str, int]:
        """See :func:`generate_demo`."""
        return generate_demo(engine, preset, size, seed=seed, progress=progress, now=now, password=password)

    def logins(self, engine: CrmEngine, before: Collection[str]) -> list[tuple[str, str]]:
        """See :func:`demo_logins`."""
        return demo_logins(engine, before)

    def check(self, engine: CrmEngine, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """The invariants of ``_check.RULES`` the loaded records break, as JSON."""
        from ._check import check_demo

        return [v.to_json() for v in check_demo(engine, now=now)]


#: The one generator ``plugins.builtin`` hands out.
GENERATOR = DemoDataGenerator()


def preset_scope(definitions: Definitions, preset: str) -> tuple[str, ...]:
    """The live entities ``preset`` defines (every entity when it is not a catalog preset)."""
    from engine.presets import catalog  # the catalog reads the presets directory; only needed here

    info = catalog().get(preset)
    if info is not None:
        try:
            own = load_definitions(info.path).entities
        except (DefinitionError, OSError):
            own = definitions.entities
        scope = tuple(name for name in definitions.entities if name in own)
        if scope:
            return scope
    return tuple(definitions.entities)


class DemoRun:
    """One call of :func:`generate_demo`: the plan, the team, the parents kept so far."""

    def __init__(
        self,
        engine: CrmEngine,
        conn: Connection,
        definitions: Definitions,
        preset: str,
        size: int,
        seed: int,
        now: datetime,
        progress: Progress,
        password_hash: str | None = None,
    ) -> None:
        self.engine = engine
        self.conn = conn
        self.definitions = definitions
        self.preset = preset
        self.size = size
        self.seed = seed
        self.now = now
        self.now_ts = now.timestamp()
        self.progress = progress
        self.hints = frozenset(words(preset)) | frozenset(words(definitions.name))
        self.dropped: dict[str, int] = {}
        scope = self._closed_scope(preset_scope(definitions, preset))
        self.order, self.deferred = generation_order(definitions, scope)
        self.scored = scored_fields(definitions)
        self.roles = {name: classify(definitions.entities[name], definitions, self.hints) for name in self.order}
        self.counts = split_size(size, self.roles)
        referenced = {f.target or "" for name in self.order for f in definitions.entities[name].references()}
        pooled = (referenced & set(self.order)) | set(self.deferred)
        self.pools: dict[str, Pool] = {name: Pool(name, links(definitions, name, self.deferred)) for name in pooled}
        for name in sorted(referenced - set(self.order)):
            if name in definitions.entities:
                self._load_existing(name)
        self.team: Team = build_team(
            conn, definitions, size, random.Random(f"{seed}:{preset}:team"), now, password_hash=password_hash
        )
        self._next_ids: dict[str, int] = {}
        self._gens: dict[str, EntityGen] = {}
        self.written: dict[str, int] = {}
        #: entity → records whose walk passed a guard on a stand-in score
        self.relied: dict[str, list[Relied]] = {}
        #: entity → records that still fall short of a score their guard needed
        self.short: dict[str, int] = {}

    # -- set-up -----------------------------------------------------------------------------
    def _closed_scope(self, scope: tuple[str, ...]) -> tuple[str, ...]:
        """``scope`` plus the entities its required references need that hold no records."""
        names = sorted(scope)
        grew = True
        while grew:
            grew = False
            for name in list(names):
                for f in sorted(self.definitions.entities[name].references(), key=lambda f: f.name):
                    target = f.target or ""
                    if f.required and target not in names and not self._has_rows(target):
                        names.append(target)
                        grew = True
        return tuple(sorted(names))

    def _has_rows(self, entity: str) -> bool:
        table = self.engine.model.table(entity)
        return self.conn.execute(sa.select(table.c.id).limit(1)).first() is not None

    def _load_existing(self, entity: str) -> None:
        """Records outside the preset that the preset's records may point at."""
        table = self.engine.model.table(entity)
        rows = self.conn.execute(
            sa.select(table.c.id, table.c.created_at, table.c.owner).order_by(table.c.id).limit(EXISTING_PARENTS_LIMIT)
        ).all()
        if not rows:
            return
        rng = random.Random(f"{self.seed}:{self.preset}:existing:{entity}")
        pool = self.pools[entity] = Pool(entity, {})
        for row in rows:
            created = row.created_at.timestamp() if row.created_at else self.now_ts
            pool.add(
                row.id, min(created, self.now_ts), self.now_ts, -1, rng.random() < 0.6, rng.lognormvariate(0.0, 1.1), {}
            )

    def next_id(self, entity: str) -> int:
        """The first id of this run's records of ``entity`` (ids are given, not returned:
        bulk inserts never ask for them back)."""
        found = self._next_ids.get(entity)
        if found is None:
            table = self.engine.model.table(entity)
            found = int(self.conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
            self._next_ids[entity] = found
        return found

    def taken(self, entity: str, field: str) -> Iterable[Any]:
        """Values of a unique field already in the database (new ones must differ)."""
        table = self.engine.model.table(entity)
        definition = self.definitions.entities[entity].fields[field]
        column = table.c[field]
        return [normalized(definition, v) for (v,) in self.conn.execute(sa.select(column).where(column.is_not(None)))]

    def taken_tuples(self, entity: str, group: tuple[str, ...]) -> Iterable[tuple[Any, ...]]:
        table = self.engine.model.table(entity)
        fields = self.definitions.entities[entity].fields
        if any(name not in fields for name in group):
            return []
        rows = self.conn.execute(sa.select(*(table.c[n] for n in group)))
        return [tuple(normalized(fields[n], v) for n, v in zip(group, row, strict=True)) for row in rows]

    def gen(self, entity: str) -> EntityGen:
        found = self._gens.get(entity)
        if found is None:
            role = self.roles.get(entity) or classify(self.definitions.entities[entity], self.definitions, self.hints)
            available = [name for name, pool in self.pools.items() if len(pool) or name in self.order]
            plans = reference_plans(self.definitions, entity, available, self.deferred)
            found = self._gens[entity] = EntityGen(self, entity, role, plans)
        return found

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        history = BulkWriter(self.conn, workflow_history, WORKFLOW_HISTORY_COLUMNS)
        writers: dict[str, BulkWriter] = {}

        def writer(entity: str) -> BulkWriter:
            if entity not in writers:
                gen = self.gen(entity)
                writers[entity] = BulkWriter(self.conn, self.engine.model.table(entity), gen.columns)
            return writers[entity]

        def write(entity: str, rows: list[tuple[Any, ...]]) -> None:
            gen = self.gen(entity)  # autonumbers from the counters, as records created one by one get them
            writer(entity).write(number_rows(self.conn, gen.definition, gen.columns, rows, self.now)[1])

        for entity in self.order:
            count = self.counts.get(entity, 0)
            gen = self.gen(entity)
            self.progress.start(f"demo {entity}", count)
            try:
                done = 0
                while done < count:
                    batch = min(BATCH_SIZE, count - done)
                    rows: list[tuple[Any, ...]] = []
                    events: list[tuple[Any, ...]] = []
                    created: dict[str, list[tuple[Any, ...]]] = {}
                    for seq in range(done, done + batch):
                        made = gen.make(seq)
                        if made is None:
                            continue
                        row, rows_history, by_actions = made
                        rows.append(row)
                        events.extend(rows_history)
                        self._made_by_actions(by_actions, created, events)
                    write(entity, rows)
                    self.written[entity] = self.written.get(entity, 0) + len(rows)
                    # parents first: a created record points at the one whose transition made it
                    for target in sorted(created, key=self._position):
                        write(target, created[target])
                        self.written[target] = self.written.get(target, 0) + len(created[target])
                    history.write([tuple(history_row(e).values()) for e in events])
                    done += batch
                    self.progress.advance(batch)
            finally:
                self.progress.finish()
            if count and not self.written.get(entity) and gen.last_problems:
                raise RecordValidationError(
                    gen.last_problems,
                    message=f"no valid {entity} record could be made for the demo data; give the fields below a "
                    "default or a pattern made of literals, classes and repeats",
                )
        self._second_pass()
        unreceived(self.conn, self.engine.model, self._next_ids)
        self._settle()
        for entity, relied in sorted(self.relied.items()):
            self.short[entity] = earn_derived(self, entity, relied)
        for entity, relied in sorted(self.relied.items()):
            self.short[entity] = self.short[entity] + earn_scores(self, entity, relied)
        self._settle()  # children added to earn a score move their parents' rollups
        self._automations()
        self._audit()
        return {name: self.written.get(name, 0) for name in (*self.order, *sorted(set(self.written) - set(self.order)))}

    def _settle(self) -> None:
        """The derived fields of this run's records, computed by the engine from what was
        written (an order's total from its lines): part of their creation, audited with the
        batch. Values given to them during a walk (a total a state requires) were stand-ins."""
        model = self.engine.model
        created: dict[str, list[int]] = {}
        for entity in self.engine.derived.plan(model).entities_with_derived():
            if entity in self._next_ids:
                table = model.table(entity)
                query = sa.select(table.c.id).where(table.c.id >= self._next_ids[entity])
                created[entity] = [int(i) for (i,) in self.conn.execute(query)]
        settle(self.engine.derived, self.conn, model, created, self.now)

    def _automations(self) -> None:
        """The ``created`` automations of this run's records, as if each had been created
        alone (a re-check task assigned to finance), in the run's transaction."""
        automations = self.engine.automations
        with frozen(self.now):
            self._automations_as_of(automations)

    def _automations_as_of(self, automations: AutomationService) -> None:
        for entity, first in sorted(self._next_ids.items()):
            if not automations.wants_created(entity):
                continue
            table = self.engine.model.table(entity)
            query = sa.select(table).where(table.c.id >= first).order_by(table.c.id)
            records = [dict(r) for r in self.conn.execute(query).mappings()]
            automations.created_in_bulk(self.conn, entity, records, "system:demo")

    def defaults(self, entity: str) -> dict[str, Any]:
        """The defaults of ``entity``'s fields, as JSON."""
        fields = self.definitions.entities[entity].fields.values()
        return {f.name: to_jsonable(f.default) for f in fields if f.has_default}

    def _position(self, entity: str) -> tuple[int, str]:
        return (self.order.index(entity) if entity in self.order else len(self.order), entity)

    def _made_by_actions(
        self,
        by_actions: list[tuple[str, dict[str, Any], str, float]],
        created: dict[str, list[tuple[Any, ...]]],
        events: list[tuple[Any, ...]],
        depth: int = 0,
    ) -> None:
        """Records transitions' create actions made, and those their own transitions made."""
        for target, values, actor, at in by_actions:
            extra = self.gen(target).from_action(values, actor, at)
            if extra is None:
                continue
            created.setdefault(target, []).append(extra[0])
            events.extend(extra[1])
            if depth < _MAX_ACTION_DEPTH:
                self._made_by_actions(extra[2], created, events, depth + 1)

    def _second_pass(self) -> None:
        """References deferred to break a cycle: an account's primary contact among its contacts."""
        for entity, fields in self.deferred.items():
            pool = self.pools.get(entity)
            if pool is None or not len(pool):
                continue
            gen = self.gen(entity)
            rng = random.Random(f"{self.seed}:{self.preset}:{entity}:second-pass")
            table = self.engine.model.table(entity)
            for name in fields:
                field = self.definitions.entities[entity].fields[name]
                target = self.pools.get(field.target or "")
                if target is None or not len(target):
                    continue
                link = next((f for f, t in target.link_fields.items() if t == entity), None)
                taken = gen.unique_refs.get(name)
                params = []
                for index, record_id in enumerate(pool.ids):
                    chosen = target.pick_child(link, len(pool), index, rng) if link else None
                    if chosen is None and (field.required or (link is None and rng.random() < 0.5)):
                        chosen = target.pick(rng)  # nothing points back: any record will do
                    elif chosen is not None and not field.required and rng.random() < 0.2:
                        chosen = None
                    if chosen is None:
                        continue
                    value = target.ids[chosen]
                    if taken is not None:
                        if value in taken:
                            continue
                        taken.add(value)
                    params.append({"b_id": record_id, "b_value": value})
                statement = (
                    table.update().where(table.c.id == sa.bindparam("b_id")).values({name: sa.bindparam("b_value")})
                )
                for start in range(0, len(params), BATCH_SIZE):
                    self.conn.execute(statement, params[start : start + BATCH_SIZE])

    def _audit(self) -> None:
        """One audit row per entity: demo data is audited as a batch, like an import."""
        rows = [
            batch_audit_row(
                change_id=f"demo-{self.seed}-{entity}",
                entity=entity,
                action="demo",
                summary={"records": count, "preset": self.preset, "seed": self.seed, "size": self.size},
                actor=None,
                at=self.now,
            )
            for entity, count in self.written.items()
            if count
        ]
        if rows:
            self.conn.execute(audit_log.insert(), rows)
