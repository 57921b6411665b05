"""What the derived fields of one definitions version need at run time, compiled once.

Per entity: its computes in the order they must run (a compute that reads another of the same
record runs after it), the references their paths follow (loaded in one query per hop for a
whole batch of records), the rollups kept on it, and the reverse index a write needs: which
derived fields of which records depend on a field of this entity.

Rules read ``record.FIELD`` directly. A path through references (``record.account.tier``) is
rewritten to ``via.account@.tier`` and evaluated over a ``via`` tree that holds the referenced
records under ``name@`` keys, so ``record.account`` still reads the account's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.logic import CompiledRule, compile_rule
from engine.metadata import Definitions, EntityDef, FieldDef, RollupDef
from engine.metadata._derived import Path, compute_paths, parse_path

from ._window import Window

#: The key a followed reference's record is kept under in the ``via`` tree.
HOP_SUFFIX = "@"

#: A tree of references to follow: reference field → (target entity, the tree below it).
HopTree = dict[str, tuple[str, "HopTree"]]


@dataclass(frozen=True)
class Compute:
    field: FieldDef
    rule: CompiledRule
    #: fields of the record itself the rule reads
    reads: frozenset[str]


@dataclass(frozen=True)
class Rollup:
    """A rollup field of ``parent`` over the records of ``child``."""

    parent: str
    field: FieldDef
    definition: RollupDef
    where: CompiledRule | None
    #: the child's fields whose change can move the result
    reads: frozenset[str]
    #: with ``within``: only children of the time window count (the daily refresh recounts it)
    window: Window | None = None


@dataclass(frozen=True)
class PathDependent:
    """Records of ``entity`` whose computes read through a path that reaches this entity."""

    entity: str
    #: the references followed from ``entity`` up to the record that changed (at least one)
    references: tuple[tuple[str, str], ...]
    #: fields of the changed record the path reads (a deeper reference, or the final field)
    reads: frozenset[str]


@dataclass
class EntityPlan:
    computes: list[Compute] = field(default_factory=list)
    hops: HopTree = field(default_factory=dict)
    #: rollups kept on this entity (it is their parent)
    rollups: list[Rollup] = field(default_factory=list)
    #: rollups over this entity (it is their child)
    rolled_into: list[Rollup] = field(default_factory=list)
    #: computes elsewhere reading through this entity
    path_dependents: list[PathDependent] = field(default_factory=list)
    #: fields daily refresh recomputes (computes reading now, rollups with a time window)
    daily: bool = False

    @property
    def windowed(self) -> frozenset[str]:
        """The rollups kept on this entity that have a time window."""
        return frozenset(r.field.name for r in self.rollups if r.window is not None)

    @property
    def derived_names(self) -> frozenset[str]:
        return frozenset(c.field.name for c in self.computes) | frozenset(r.field.name for r in self.rollups)


class DerivedPlan:
    """The derived fields of a definitions version (empty plans cost nothing)."""

    def __init__(self, definitions: Definitions) -> None:
        self._entities: dict[str, EntityPlan] = {name: EntityPlan() for name in definitions.entities}
        entities = definitions.entities
        for entity in entities.values():
            for f in entity.fields.values():
                if f.compute is not None:
                    self._add_compute(entity, f, entities)
                elif f.rollup is not None:
                    self._add_rollup(entity, f, entities)
        for plan in self._entities.values():
            plan.computes = _in_order(plan.computes)

    def entity(self, name: str) -> EntityPlan:
        return self._entities.get(name) or EntityPlan()

    @property
    def empty(self) -> bool:
        return not any(p.computes or p.rollups for p in self._entities.values())

    def entities_with_derived(self) -> list[str]:
        return [name for name, plan in self._entities.items() if plan.computes or plan.rollups]

    def _add_compute(self, entity: EntityDef, f: FieldDef, entities: Mapping[str, EntityDef]) -> None:
        paths = compute_paths(f, entity, entities)
        rule = compile_rule(_rewritten(f.compute, entity, entities))
        own = frozenset(p.field for p in paths if not p.references)
        first_hops = frozenset(p.references[0][1] for p in paths if p.references)
        plan = self._entities[entity.name]
        plan.computes.append(Compute(f, rule, own | first_hops))
        plan.daily = plan.daily or f.refresh == "daily"
        for path in paths:
            if not path.references:
                continue
            _add_hops(plan.hops, path, entities)
            for depth in range(1, len(path.references) + 1):
                reached = path.references[depth][0] if depth < len(path.references) else path.entity
                read = path.references[depth][1] if depth < len(path.references) else path.field
                self._entities[reached].path_dependents.append(
                    PathDependent(entity.name, path.references[:depth], frozenset({read}))
                )

    def _add_rollup(self, entity: EntityDef, f: FieldDef, entities: Mapping[str, EntityDef]) -> None:
        definition = f.rollup
        assert definition is not None
        where = compile_rule(definition.where) if definition.where is not None else None
        reads = {definition.reference}
        if definition.field is not None:
            reads.add(definition.field)
        if where is not None:
            reads.update(v.split(".", 1)[1] for v in where.variables if v.startswith("record."))
        window = Window.of(definition.within, entities[definition.entity])
        if window is not None:
            reads.add(window.field)
        rollup = Rollup(entity.name, f, definition, where, frozenset(reads), window)
        plan = self._entities[entity.name]
        plan.rollups.append(rollup)
        plan.daily = plan.daily or window is not None
        self._entities[definition.entity].rolled_into.append(rollup)


def _add_hops(tree: HopTree, path: Path, entities: Mapping[str, EntityDef]) -> None:
    node = tree
    for entity_name, reference in path.references:
        target = entities[entity_name].fields[reference].target
        assert target is not None
        node = node.setdefault(reference, (target, {}))[1]


def _rewritten(rule: Any, entity: EntityDef, entities: Mapping[str, EntityDef]) -> Any:
    """``rule`` with every path through a reference read from the ``via`` tree."""
    if isinstance(rule, list):
        return [_rewritten(item, entity, entities) for item in rule]
    if not isinstance(rule, dict):
        return rule
    out: dict[str, Any] = {}
    for op, args in rule.items():
        if op == "var":
            out[op] = _rewritten_var(args, entity, entities)
        else:
            out[op] = _rewritten(args, entity, entities)
    return out


def _rewritten_var(args: Any, entity: EntityDef, entities: Mapping[str, EntityDef]) -> Any:
    name = args[0] if isinstance(args, list) and args else args
    if not isinstance(name, str):
        return args
    path = parse_path(name, entity, entities)
    if not isinstance(path, Path) or not path.references:
        return args
    steps = [reference + HOP_SUFFIX for _e, reference in path.references]
    text = ".".join(["via", *steps, path.field])
    return [text, *args[1:]] if isinstance(args, list) else text


def _in_order(computes: list[Compute]) -> list[Compute]:
    """Computes ordered so each runs after the computes of the same record it reads
    (validation has refused loops)."""
    by_name = {c.field.name: c for c in computes}
    done: list[Compute] = []
    placed: set[str] = set()

    def place(compute: Compute) -> None:
        if compute.field.name in placed:
            return
        placed.add(compute.field.name)
        for read in sorted(compute.reads):
            if read in by_name:
                place(by_name[read])
        done.append(compute)

    for compute in computes:
        place(compute)
    return done


def entities_to_backfill(old: Definitions | None, new: Definitions) -> list[str]:
    """Entities whose derived fields are new or defined anew in ``new``: their records are
    recomputed after the schema change (what they depend on is then brought along)."""
    out = []
    for name, entity in new.entities.items():
        before = old.entities.get(name) if old is not None else None
        for f in entity.fields.values():
            if not f.derived:
                continue
            previous = before.fields.get(f.name) if before is not None else None
            if previous is None or (previous.compute, previous.rollup, previous.type, previous.scale) != (
                f.compute,
                f.rollup,
                f.type,
                f.scale,
            ):
                out.append(name)
                break
    return out
