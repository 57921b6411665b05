"""The records of one entity: references, time, owner, values, workflow walk, validation.

A record is made in this order: a moment of its own over the last two years (more of them
recently), its references among the records that existed and were active then (so it can
inherit from its parents), its creation time (after every parent's), owner, language,
company and city (mostly the main parent's), its field values, its workflow history. Then
the entity's own validator checks it, exactly as for a record a user creates; a value it
refuses is left out if the field is optional, and a record it still refuses is not written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.errors import Problem
from engine.metadata import EntityDef
from engine.records import conditions_holding, number_record, numbered_fields
from engine.storage import workflow_history_row

from ._coherence import Coherence
from ._constraints import UniqueValues, constrained
from ._people import RecordContext
from ._plan import RefPlan, scoring_targets, workflow_owned
from ._pools import Pool
from ._references import pick_references, pick_self
from ._roles import EntityRole, words
from ._texts import Generator
from ._values import DAY, derived_rules, field_generator, part_fields
from ._walk import WalkEnv, WalkRecord, WorkflowWalker, walk_record

if TYPE_CHECKING:
    from ._generate import DemoRun

#: Records are created over the last two years, more of them recently (the business grows).
SPAN = 730 * DAY
#: Share of parents (accounts, members) that stopped being active at some point.
CHURN_SHARE = 0.2
#: Share of masters (customers, members, products, outlets) that were there before the span:
#: a business has customers from its earlier years, who buy from the first month on.
ESTABLISHED_SHARE = 0.5
_MASTERS = frozenset({"person", "org", "hospital", "store", "product"})
#: Relative business per calendar month in China: Spring Festival, 618, Double 11, year end.
SEASON = (1.25, 1.1, 0.9, 0.95, 1.0, 1.15, 0.9, 0.9, 1.0, 1.05, 1.3, 1.25)
#: How much more business the last month of the span sees than the first (the business grows).
_GROWTH = 0.6
SYSTEM_COLUMNS = ("id", "version", "created_at", "updated_at", "created_by", "owner")
_MARKETING = frozenset({"product", "campaign"})
_SERVICE_WORDS = frozenset({"ticket", "case", "complaint", "service"})

#: Records a transition's ``create`` action made: (entity, values, actor, at)
ByActions = list[tuple[str, dict[str, Any], str, float]]
#: (row, history rows, records made by transitions' create actions)
Made = tuple[tuple[Any, ...], list[tuple[Any, ...]], ByActions]
#: A record after its walk: (values as stored, owner, version, last change, history, made)
_Walked = tuple[dict[str, Any], int, int, float, list[tuple[Any, ...]], ByActions]


def _planned(target: str | None) -> bool:
    """A planned visit or task (``visit_plan_item``): done once at most, by one activity."""
    parts = words(target or "")
    return "plan" in parts and parts[-1] in ("item", "line", "entry")


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(round(ts), UTC)


def office_hours(ts: float, low: float, high: float, rng: random.Random) -> float:
    """``ts`` moved into a Chinese working day (09:00-19:00 UTC+8, weekends mostly moved to
    Friday) when that keeps it within [low, high]."""
    local = ts + 8 * 3600
    day = local - local % DAY
    weekday = (int(day // DAY) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if weekday >= 5 and rng.random() < 0.85:
        day -= (weekday - 4) * DAY
    moved = day + 9 * 3600 + rng.random() * 10 * 3600 - 8 * 3600
    return round(moved if low <= moved <= high else ts)


class EntityGen:
    """Makes records of one entity (see the module docstring)."""

    def __init__(self, run: DemoRun, name: str, role: EntityRole, plans: tuple[RefPlan, ...]) -> None:
        self.run = run
        self.name = name
        definitions = run.definitions
        self.definition: EntityDef = definitions.entities[name]
        self.role = role
        self.plans = plans
        self.fields = tuple(self.definition.fields)
        self.columns = (*SYSTEM_COLUMNS, *self.fields)
        self.validator = run.engine.model.validator(name)
        self._system = run.engine.model.validator(name, system=True)
        self.rng = random.Random(f"{run.seed}:{run.preset}:{name}")
        self.ctx = RecordContext(self.rng, run.now_ts, run.hints)
        self.ctx.users = tuple(m.name for m in run.team.members)
        self.deferred = run.deferred.get(name, ())
        self.pool: Pool | None = run.pools.get(name)
        self.next_id = run.next_id(name)
        owned = workflow_owned(definitions, name) | scoring_targets(definitions, name)
        self.editable = frozenset(
            n for n, f in self.definition.fields.items() if not f.read_only and not f.derived and n not in owned
        )
        self.fillers: dict[str, Generator] = {}
        self.generators = self._field_generators(owned, run.scored.get(name, frozenset()))
        self.walkers = [
            WorkflowWalker(w, run.engine.workflows)
            for w in sorted(definitions.workflows_for(name), key=lambda w: w.name)
        ]
        #: what was collected or paid of an amount starts at nothing where a workflow follows it
        #: (a receivable is part-collected, then collected, as payments come in)
        self.parts = part_fields(self.definition)
        #: a master of its own (no required parent) may predate the span
        self.established = role.kind in _MASTERS and not any(
            f.required and f.target != name for f in self.definition.references()
        )
        guarded = self._guarded()
        later = frozenset(self.parts) & guarded
        self.derived_read = sorted(
            n
            for n in guarded
            if n in self.definition.fields and self.definition.fields[n].derived and n in self.fillers
        )
        self.generators = [g for g in self.generators if g[0] not in later]
        fields = self.definition.fields.values()
        self.uniques = {
            f.name: UniqueValues(f, run.taken(name, f.name)) for f in fields if f.unique and f.type != "reference"
        }
        self.unique_refs = {
            f.name: set(run.taken(name, f.name))
            for f in fields
            if f.type == "reference" and (f.unique or (role.kind == "activity" and _planned(f.target)))
        }
        self.groups = [(group, set(run.taken_tuples(name, group))) for group in self.definition.unique]
        self.rules = derived_rules(self.definition)
        self.numbered = bool(numbered_fields(self.definition))
        self.coherence = Coherence(self.definition, {w.workflow.field: tuple(w.workflow.states) for w in self.walkers})
        self.score_fields = sorted(
            target.name
            for scoring in definitions.scorings_for(name)
            if (target := self.definition.fields.get(scoring.target_value or "")) is not None
            and target.type in ("integer", "decimal", "money")
        )
        self.self_groups: dict[str, dict[Any, list[int]]] = {p.field: {} for p in plans if p.mode == "self"}
        self.required = frozenset(n for n, f in self.definition.fields.items() if f.required)
        self.conditional = any(f.required_when is not None for f in self.definition.fields.values())
        #: why the last record left out was invalid (reported when none could be made)
        self.last_problems: list[Problem] = []
        parts = set(words(name))
        self.owner_roles: tuple[str, ...] = (
            ("marketing",) if role.kind in _MARKETING else ("service",) if parts & _SERVICE_WORDS else ()
        )

    def _field_generators(
        self, owned: frozenset[str], scored: frozenset[str]
    ) -> list[tuple[str, Generator, float, bool]]:
        """(field, generator, fill, may be left to its default) of the fields a record is
        made with; every field with a generator also gets a filler (what workflows need)."""
        out: list[tuple[str, Generator, float, bool]] = []
        for f in sorted(self.definition.fields.values(), key=lambda f: f.name):
            made = field_generator(f, self.definition, self.role, hints=self.run.hints, scored=f.name in scored)
            if made is None:
                continue
            generate = constrained(f, made.generate)
            self.fillers[f.name] = generate
            if f.name in owned or f.derived or (f.read_only and not f.required):
                continue  # workflows, scorings or the engine give these values
            out.append((f.name, generate, made.fill, f.has_default and not f.required))
        return out

    def _guarded(self) -> set[str]:
        """Fields of the record a transition's guard reads."""
        return {
            path[len("record.") :].split(".")[0]
            for walker in self.walkers
            for steps in walker.steps.values()
            for step in steps
            if step.compiled.guard is not None
            for path in step.compiled.guard.variables
            if path.startswith("record.")
        }

    # -- references --------------------------------------------------------------------------
    def _pick_references(self, values: dict[str, Any], at: float) -> list[tuple[Pool, int]]:
        return pick_references(self.plans, self.run.pools, self.unique_refs, values, at, self.rng)

    def _pick_self(self, values: dict[str, Any], record_id: int) -> None:
        pick_self(self.plans, self.self_groups, values, record_id, self.rng)

    # -- one record ----------------------------------------------------------------------------
    def make(self, seq: int) -> Made | None:
        """One record (row tuple in :attr:`columns` order) or None when it cannot be valid."""
        rng, run = self.rng, self.run
        record_id = self.next_id
        self.next_id += 1
        values: dict[str, Any] = {}
        intended = self._intended(run.now_ts)
        parents = self._pick_references(values, intended)
        self._pick_self(values, record_id)
        created, zh, inherited, weight, identity = self._placed(parents, intended)
        team = run.team
        if inherited >= 0:
            owner = inherited
        elif self.owner_roles:
            owner = team.pick(self.owner_roles, rng) or team.pick_rep(rng)
        else:
            owner = team.pick_rep(rng)
        own_weight = math.exp(1.1 * rng.gauss(0.0, 1.0))
        creator = owner if rng.random() < 0.9 else (team.pick(("secretary", "manager"), rng, prefer=owner) or owner)
        created_by = team.members[creator].name
        ctx = self.ctx
        owner_name = team.members[owner].name
        ctx.reset(zh=zh, created=created, weight=weight or own_weight, seq=seq, owner=owner_name, identity=identity)
        claimed = self._generated_values(values)
        if not self._claim_groups(values, claimed):
            return self._drop(claimed)
        out = self._validated(values, claimed)
        if out is None:
            return self._drop(claimed)
        walked = self._walked(record_id, values, out, created_by, owner, created, zh, claimed)
        if walked is None:
            return self._drop(claimed)
        out, owner, version, updated, history, made = walked
        for name in self.deferred:
            out[name] = None
        if self.pool is not None:
            links = {name: self._link_index(name, values.get(name)) for name in self.pool.link_fields}
            self.pool.add(record_id, created, self._until(created), owner, zh, own_weight, links, ctx.identity)
        for plan in self.plans:
            if plan.mode == "self":
                key = values.get(plan.via) if plan.via else None
                self.self_groups[plan.field].setdefault(key, []).append(record_id)
        return self._row(record_id, version, created, updated, created_by, owner, out), history, made

    def _intended(self, now: float) -> float:
        """The moment a record aims at, over the whole span (the business grows: more recent
        records); it then takes parents that existed by then."""
        rng = self.rng
        if self.role.fixed is not None:
            return now - SPAN - DAY * 30 * rng.random()  # teams and lookups come first
        if self.role.kind == "transaction":
            return self._seasonal(now)
        if self.established and rng.random() < ESTABLISHED_SHARE:
            return now - SPAN - DAY * 365 * rng.random()
        return now - SPAN * (1.0 - float(rng.random() ** 0.7))

    def _placed(
        self, parents: list[tuple[Pool, int]], intended: float
    ) -> tuple[float, bool, int, float, tuple[Any, ...] | None]:
        """(creation time, Chinese, inherited owner or -1, weight, identity): after every
        parent, in office hours, mostly like the main parent."""
        rng, now = self.rng, self.run.now_ts
        if parents:
            low = max(pool.created[i] for pool, i in parents) + 60.0
            main_pool, main = parents[0]
            high = max(min(now, main_pool.until[main]), low)
            created = intended if low <= intended <= high else low + (high - low) * rng.random() ** 2
            # the company of the parent that has one (a lead of a campaign and an account is
            # about that account's company: its converted deal is titled with it)
            known_pool, known = next(((p, i) for p, i in parents if p.identity[i] is not None), parents[0])
            identity = known_pool.identity[known]
            zh = bool(known_pool.zh[known]) if identity is not None or rng.random() < 0.9 else rng.random() < 0.6
            inherited = main_pool.owner[main] if rng.random() < 0.85 else -1
            weight = main_pool.weight[main]
        else:
            low, high = now - SPAN - DAY * 30, now
            created = intended
            zh, inherited, weight, identity = rng.random() < 0.6, -1, 0.0, None
        return min(office_hours(created, low, high, rng), now), zh, inherited, weight, identity

    def _generated_values(self, values: dict[str, Any]) -> list[tuple[UniqueValues, Any]]:
        """Fill ``values`` from the field generators (unique ones claimed), then the derived
        rules; returns the unique values claimed."""
        rng, ctx = self.rng, self.ctx
        claimed: list[tuple[UniqueValues, Any]] = []
        for name, generate, fill, has_default in self.generators:
            if fill < 1.0 and rng.random() >= fill:
                continue
            if has_default and rng.random() < 0.4:
                continue  # left to its default, as users often do
            value = generate(ctx)
            if value is None:
                continue
            unique = self.uniques.get(name)
            if unique is not None:
                value = unique.claim(value)
                if value is None:
                    continue
                claimed.append((unique, value))
            values[name] = value
        for name in self.deferred:
            values.pop(name, None)
        for rule in self.rules:
            rule(values)
        self.coherence.apply(values, ctx)
        return claimed

    def _walked(
        self,
        record_id: int,
        values: dict[str, Any],
        out: dict[str, Any],
        created_by: str,
        owner: int,
        created: float,
        zh: bool,
        claimed: list[tuple[UniqueValues, Any]],
    ) -> _Walked | None:
        """The record after its workflows (unchanged without any); None: no longer valid."""
        if not self.walkers:
            return out, owner, 1, created, [], []
        walked = self._walk(record_id, values, out, created_by, owner, created, zh, claimed)
        if walked is None:
            return None
        final, walk = walked
        return final, walk.owner, 1 + walk.changes, walk.last, walk.history, walk.created_records

    def _row(
        self,
        record_id: int,
        version: int,
        created: float,
        updated: float,
        created_by: str,
        owner: int,
        out: dict[str, Any],
    ) -> tuple[Any, ...]:
        return (
            record_id,
            version,
            _moment(created),
            _moment(updated),
            created_by,
            self.run.team.members[owner].name,
            *[out.get(name) for name in self.fields],
        )

    def _walk(
        self,
        record_id: int,
        values: dict[str, Any],
        out: dict[str, Any],
        created_by: str,
        owner: int,
        created: float,
        zh: bool,
        claimed: list[tuple[UniqueValues, Any]],
    ) -> tuple[dict[str, Any], WalkRecord] | None:
        """The record's workflow history; its values as they end up (None: no longer valid)."""
        rng, team = self.rng, self.run.team
        # its numbers now, as a record created alone gets them: a transition may quote them
        # (the re-check task of order SO-2025-00012)
        numbers: dict[str, Any] = {}
        if self.numbered:
            number_record(self.run.conn, self.definition, numbers, _moment(created))
        typed = {
            **out,
            **numbers,
            "id": record_id,
            "created_by": created_by,
            "owner": team.members[owner].name,
            "created_at": _moment(created),
            "version": 1,
        }
        # guards that read a score see a plausible one: scorings run after the load
        stand_ins: dict[str, Any] = {name: round(rng.uniform(40.0, 100.0), 1) for name in self.score_fields}
        # and guards that read a derived field see one of its kind: the children it counts come
        # later (an order's lines); the run makes the record earn it (``_earned_derived``)
        for name in self.derived_read:
            stand_ins[name] = self.convert_one(name, self.fillers[name](self.ctx))
        walk = WalkRecord(record_id, values, typed, created_by, owner, created, zh, stand_ins, last=created)
        env = WalkEnv(
            rng,
            self.run.now_ts,
            team,
            lambda name: self._fill(name, claimed),
            self._convert,
            self.editable,
            self.rules,
            frozenset(self.parts),
            self.run.defaults,
        )
        walk_record(self.walkers, walk, env)
        self.coherence.apply(values, self.ctx)
        for workflow, transition in walk.relied:
            self.run.relied.setdefault(self.name, []).append((record_id, workflow, transition))
        final = self._validated(values, claimed)
        return None if final is None else ({**final, **numbers}, walk)

    def _seasonal(self, now: float) -> float:
        """A moment of the span for a transaction: every month of it sees business, more in
        busy months (:data:`SEASON`) and a little more each month as the business grows."""
        rng = self.rng
        start = now - SPAN
        top = max(SEASON) * (1 + _GROWTH)
        at = start + SPAN * rng.random()
        for _ in range(12):
            month = datetime.fromtimestamp(at + 8 * 3600, UTC).month
            if rng.random() * top < SEASON[month - 1] * (1 + _GROWTH * (at - start) / SPAN):
                break
            at = start + SPAN * rng.random()
        return at

    def _until(self, created: float) -> float:
        if self.rng.random() < CHURN_SHARE:
            return created + (self.run.now_ts - created) * self.rng.random()
        return self.run.now_ts

    def _link_index(self, field: str, record_id: Any) -> int:
        if record_id is None:
            return -1
        target = self.run.pools.get(self.definition.fields[field].target or "")
        if target is None:
            return -1
        found = target.index_of(record_id)
        return -1 if found is None else found

    def _claim_groups(self, values: dict[str, Any], claimed: list[tuple[UniqueValues, Any]]) -> bool:
        """Keep multi-field unique constraints (``account`` + ``title``): vary a text member
        on a clash, or leave an optional member empty (nulls never clash)."""
        for group, taken in self.groups:
            key = tuple(values.get(n) for n in group)
            if any(k is None for k in key) or key not in taken:
                if all(k is not None for k in key):
                    taken.add(key)
                continue
            fields = self.definition.fields
            text = next((n for n in group if n in fields and fields[n].type in ("string", "text")), None)
            if text is not None:
                base = values[text]
                for n in range(2, 1000):
                    limit = fields[text].max_length
                    suffix = f" ({n})"
                    room = limit - len(suffix) if limit else len(base)
                    varied = base[:room] + suffix
                    values[text] = varied
                    key = tuple(values.get(m) for m in group)
                    if key not in taken:
                        taken.add(key)
                        break
                else:
                    return False
                continue
            optional = next((n for n in group if n in fields and not fields[n].required), None)
            if optional is None:
                return False
            values[optional] = None
        return True

    def _validated(self, values: dict[str, Any], claimed: list[tuple[UniqueValues, Any]]) -> dict[str, Any] | None:
        for name in self.deferred:
            if name in self.required:
                values[name] = 1  # stands in until the second pass; never written
        out, problems = self.validator.check(values)
        if problems:
            for problem in problems:
                if problem.field in values and problem.field not in self.required:
                    del values[problem.field]
            out, problems = self.validator.check(values)
        for name in self.deferred:
            values.pop(name, None)
        if problems or out is None:
            self.last_problems = problems
            return None
        return self._conditionally_required(values, out, claimed)

    def _conditionally_required(
        self, values: dict[str, Any], out: dict[str, Any], claimed: list[tuple[UniqueValues, Any]]
    ) -> dict[str, Any] | None:
        """Fields whose ``required_when`` holds are filled, as the user must before saving
        (a distributor once the channel is "distributor"); None when one cannot be."""
        if not self.conditional:
            return out
        required, _fixed = conditions_holding(self.definition, None, out)
        for name in sorted(required):
            if out.get(name) not in (None, "", []):
                continue
            value = self._fill(name, claimed)
            typed = self.convert_one(name, value)
            if typed is None:
                return None
            values[name], out[name] = value, typed
        return out

    def _drop(self, claimed: list[tuple[UniqueValues, Any]]) -> Made | None:
        """Forget a record that cannot be written (its unique values are free again); None."""
        for unique, value in claimed:
            unique.release(value)
        self.run.dropped[self.name] = self.run.dropped.get(self.name, 0) + 1
        return None

    def _fill(self, name: str, claimed: list[tuple[UniqueValues, Any]]) -> Any:
        """A value for a field a workflow state needs (what the user types before moving on)."""
        field = self.definition.fields.get(name)
        if field is None:
            return None
        if field.type == "reference":
            pool = self.run.pools.get(field.target or "")
            if pool is None or not len(pool):
                return None
            for _ in range(20):  # one that existed when this record was created
                index = pool.pick(self.rng)
                if pool.created[index] <= self.ctx.created:
                    return pool.ids[index]
            return None
        generate = self.fillers.get(name)
        value = generate(self.ctx) if generate is not None else None
        unique = self.uniques.get(name)
        if unique is not None and value is not None:
            value = unique.claim(value)
            if value is not None:
                claimed.append((unique, value))
        return value

    def convert_one(self, name: str, value: Any) -> Any:
        """``value`` (JSON) of field ``name`` as stored, or None when it is not valid."""
        if value is None:
            return None
        out = self._convert({name: value})
        return None if out is None else out.get(name)

    def _convert(self, changes: dict[str, Any]) -> dict[str, Any] | None:
        out, problems = self._system.check(changes, partial=True)
        return None if problems else out

    # -- records transitions create ------------------------------------------------------------------
    def from_action(self, values: Mapping[str, Any], actor: str, at: float) -> Made | None:
        """A record a transition's ``create`` action made (its values, required ones filled);
        it lives on from there: its own workflows walk from the moment it was made."""
        record_id = self.next_id
        self.next_id += 1
        team = self.run.team
        owner = next((i for i, m in enumerate(team.members) if m.name == actor), None)
        if owner is None:
            owner = team.pick_rep(self.rng)
        zh = self.rng.random() < 0.6
        self.ctx.reset(zh=zh, created=at, weight=1.0, seq=record_id, owner=actor)
        data = dict(values)
        claimed: list[tuple[UniqueValues, Any]] = []
        for name in sorted(self.required):
            if data.get(name) is None:
                data[name] = self._fill(name, claimed)
        for name, value in sorted(data.items()):
            unique = self.uniques.get(name)
            if unique is not None and value is not None and (unique, value) not in claimed:
                data[name] = unique.claim(value)
                claimed.append((unique, data[name]))
        if not self._claim_groups(data, claimed):
            return self._drop(claimed)
        out = self._validated(data, claimed)
        if out is None:
            return self._drop(claimed)
        walked = self._walked(record_id, data, out, actor, owner, at, zh, claimed)
        if walked is None:
            return self._drop(claimed)
        out, owner, version, updated, history, made = walked
        return self._row(record_id, version, at, updated, actor, owner, out), history, made


def history_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A walk's history tuple as a row of ``crm_workflow_history`` (see DemoRun)."""
    entity, record_id, workflow, transition, before, after, actor, at, inputs = row
    return workflow_history_row(
        entity=entity,
        record_id=record_id,
        workflow=workflow,
        transition=transition,
        from_state=before,
        to_state=after,
        actor=actor,
        at=_moment(at),
        inputs=inputs,
    )
