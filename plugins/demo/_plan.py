"""The shape of a demo run, decided from the definitions before any value is drawn.

- the order entities are generated in: parents before children (topological over reference
  fields); where references form a cycle, some of them are *deferred* and filled in a
  second pass once both sides exist;
- how each reference of an entity is chosen so that a record's references agree with each
  other: an activity's contact belongs to the activity's account (*anchor* and *child*), an
  order line's account is the order's account (*derive*), the rest are *free* picks;
- which fields the generator leaves to others: workflow fields and what transitions set
  (the walk fills them), the fields scorings write;
- which fields scorings read (filled almost always, so scores have something to work on).

Everything here goes by names, never by the order of mappings: definitions stored on
PostgreSQL (JSONB) come back with their keys in another order than on SQLite, and the same
seed must give the same data on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.metadata import Definitions, EntityDef, FieldDef

RefMode = Literal["anchor", "child", "derive", "free", "extra", "self"]


@dataclass(frozen=True)
class RefPlan:
    """How one reference field of an entity gets its value.

    ``anchor``/``free``: a skewed pick among the target's records. ``child``: a pick among
    the records of the target whose ``link`` field points at the record chosen for ``via``
    (the contacts of the chosen account). ``derive``: the ``link`` field of the record
    chosen for ``via`` (the order's account). ``self``: an earlier record of the same
    entity (with the same ``via`` value when there is one), so self-references form trees.
    ``extra``: a second reference to a target another field already names (an
    opportunity's distributor beside its account): a free pick, made less often.
    """

    field: str
    target: str
    mode: RefMode
    required: bool
    via: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class RunPlan:
    order: tuple[str, ...]
    #: entity → reference fields filled in the second pass (they close a cycle)
    deferred: Mapping[str, tuple[str, ...]]
    #: entity → its references in the order they are picked (deferred ones excluded)
    refs: Mapping[str, tuple[RefPlan, ...]]


def _in_scope_refs(entity: EntityDef, scope: Iterable[str]) -> list[FieldDef]:
    names = set(scope)
    return sorted((f for f in entity.references() if f.target in names), key=lambda f: f.name)


def generation_order(
    definitions: Definitions, scope: tuple[str, ...]
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Entities parents first, and the reference fields deferred to break cycles.

    Ties keep definition order, so the order (and the data) is stable. When every remaining
    entity waits for another, the one with the fewest required waits goes next and its
    references to the waiting ones are deferred.
    """
    entities = definitions.entities
    remaining = sorted(scope)
    done: set[str] = set()
    deferred: dict[str, list[str]] = {}
    order: list[str] = []
    while remaining:
        ready = None
        for name in remaining:
            waits = [
                f
                for f in _in_scope_refs(entities[name], remaining)
                if f.target != name and f.name not in deferred.get(name, ())
            ]
            if not waits:
                ready = name
                break
        if ready is None:

            def required_waits(name: str) -> int:
                return sum(1 for f in _in_scope_refs(entities[name], remaining) if f.target != name and f.required)

            ready = min(remaining, key=lambda n: (required_waits(n), remaining.index(n)))
            deferred.setdefault(ready, []).extend(
                f.name for f in _in_scope_refs(entities[ready], remaining) if f.target != ready
            )
        remaining.remove(ready)
        done.add(ready)
        order.append(ready)
    return tuple(order), {k: tuple(v) for k, v in deferred.items()}


def links(definitions: Definitions, entity: str, deferred: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Reference fields of ``entity`` known when its records are picked as parents:
    field → target (self-references and deferred ones excluded)."""
    skip = set(deferred.get(entity, ()))
    return {
        f.name: f.target or ""
        for f in sorted(definitions.entities[entity].references(), key=lambda f: f.name)
        if f.target != entity and f.name not in skip
    }


def _link_to(definitions: Definitions, source: str, target: str, deferred: Mapping[str, tuple[str, ...]]) -> str | None:
    if source not in definitions.entities:
        return None
    found = [name for name, t in links(definitions, source, deferred).items() if t == target]
    return target if target in found else next(iter(found), None)


def reference_plans(
    definitions: Definitions, entity: str, available: Iterable[str], deferred: Mapping[str, tuple[str, ...]]
) -> tuple[RefPlan, ...]:
    """How the references of ``entity`` are picked, in order (see :class:`RefPlan`).

    ``available`` are the entities that have records to point at (generated before, or
    already in the database); references to others stay empty.
    """
    references = _plannable(definitions, entity, deferred)
    fields, extras = _primary_references(references, entity, set(available))

    def link(g: FieldDef, target: str | None) -> str | None:
        return _link_to(definitions, g.target or "", target or "", deferred)

    children = {f.name: [g for g in fields if g is not f and link(g, f.target)] for f in fields}
    plans: list[RefPlan] = []
    planned: dict[str, FieldDef] = {}
    anchor = max(
        (f for f in fields if children[f.name]),
        key=lambda f: (len(children[f.name]), f.required, -fields.index(f)),
        default=None,
    )
    if anchor is not None:
        plans.append(RefPlan(anchor.name, anchor.target or "", "anchor", anchor.required))
        planned[anchor.name] = anchor
        for g in children[anchor.name]:
            plans.append(
                RefPlan(g.name, g.target or "", "child", g.required, via=anchor.name, link=link(g, anchor.target))
            )
            planned[g.name] = g
    _plan_the_rest(fields, planned, plans, link)
    for f in extras:
        plans.append(RefPlan(f.name, f.target or "", "extra", f.required))
    group = anchor.name if anchor is not None else next((p.field for p in plans), None)
    for f in references:
        if f.target == entity:
            plans.append(RefPlan(f.name, entity, "self", f.required, via=group))
    return tuple(plans)


def _plannable(definitions: Definitions, entity: str, deferred: Mapping[str, tuple[str, ...]]) -> list[FieldDef]:
    """The references of ``entity`` the demo fills, by name: not deferred, and not read-only
    (a lead conversion sets "lead": the system's) unless required."""
    skip = set(deferred.get(entity, ()))
    return [
        f
        for f in sorted(definitions.entities[entity].references(), key=lambda f: f.name)
        if f.name not in skip and (f.required or not f.read_only)
    ]


def _primary_references(
    references: list[FieldDef], entity: str, available: set[str]
) -> tuple[list[FieldDef], list[FieldDef]]:
    """(the main reference to each available target, the other references to one)."""
    fields: list[FieldDef] = []
    extras: list[FieldDef] = []
    for f in references:
        if f.target == entity or f.target not in available:
            continue
        same = [g for g in references if g.target == f.target]
        primary = min(same, key=lambda g: (g.name != g.target, not g.required, g.name))
        (fields if f is primary else extras).append(f)
    return fields, extras


def _plan_the_rest(
    fields: list[FieldDef],
    planned: dict[str, FieldDef],
    plans: list[RefPlan],
    link: Callable[[FieldDef, str | None], str | None],
) -> None:
    """References the anchor does not lead to: derived from one planned when they can be,
    otherwise a free pick, the most "specific" first (the one others can be derived from)."""
    while len(planned) < len(fields):
        pending = [f for f in fields if f.name not in planned]
        derived = next(((f, g) for f in pending for g in planned.values() if link(g, f.target)), None)
        if derived is not None:
            f, g = derived
            plans.append(RefPlan(f.name, f.target or "", "derive", f.required, via=g.name, link=link(g, f.target)))
            planned[f.name] = f
            continue
        f = max(pending, key=lambda f: (sum(1 for o in pending if link(f, o.target)), -pending.index(f)))
        plans.append(RefPlan(f.name, f.target or "", "free", f.required))
        planned[f.name] = f


def workflow_owned(definitions: Definitions, entity: str) -> frozenset[str]:
    """Fields that only workflows give values: state fields, and what transitions ``set``
    or ``assign`` (a lost reason is there because the deal was lost, never at random)."""
    owned: set[str] = set()
    for workflow in definitions.workflows.values():
        if workflow.entity == entity:
            owned.add(workflow.field)
            for t in workflow.transitions.values():
                for action in t.actions:
                    if action.kind == "set":
                        owned.update(action.values)
                    elif action.kind == "assign":
                        owned.add(action.field or "owner")
            for state in workflow.states.values():
                if state.escalation is not None:
                    for action in state.escalation.actions:
                        if action.kind == "set":
                            owned.update(action.values)
    owned.discard("owner")
    return frozenset(owned)


def scoring_targets(definitions: Definitions, entity: str) -> frozenset[str]:
    """Fields scorings write their value or grade into (the caller runs scoring after)."""
    out: set[str] = set()
    for scoring in definitions.scorings_for(entity):
        out.update(f for f in (scoring.target_value, scoring.target_grade) if f)
    return frozenset(out)


def scored_fields(definitions: Definitions) -> dict[str, frozenset[str]]:
    """Entity → fields some scoring configuration names (rule variables, aggregates,
    transaction columns). Over-inclusive on purpose: a name that matches a field counts."""
    found: dict[str, set[str]] = {}
    for scoring in definitions.scorings.values():
        names: set[str] = set()
        _strings(scoring.config, names)
        for entity in definitions.entities.values():
            hits = {n for n in names if n in entity.fields}
            if hits:
                found.setdefault(entity.name, set()).update(hits)
    return {k: frozenset(v) for k, v in found.items()}


def _strings(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.update(part for part in value.split(".") if part)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            into.add(str(k))
            _strings(v, into)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, into)
