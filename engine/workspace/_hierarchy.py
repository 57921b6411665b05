"""Org charts: the records under a record that report to one another.

A *hierarchy* is found in the definitions, never named: an entity whose records belong to a
parent record (a reference to the parent's entity) and point at one another through a
reference to their own entity (``reports_to``). The stakeholders of a complex-sale project
(decision tree, 决策树) are one; a government account's departments with their superior
units would be another. For one parent record the chart is the forest of those records:
each a node with its name, its choices (role, influence, attitude, relationship ...) and the
nodes that report to it.

Read through the record service as the user reads: a node the user may not read is not
drawn, and those that report to it become roots; a cycle in the data (A reports to B
reports to A) is cut where it closes, so the chart always draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import CrmError
from engine.metadata import EntityDef, FieldDef
from engine.records import display_text, display_texts
from engine.runtime import CrmEngine
from engine.users import User

#: Nodes one chart draws at most (a decision tree has tens; a bigger one says it is cut).
MAX_NODES = 500


@dataclass(frozen=True)
class Hierarchy:
    """Records of ``entity`` that belong to a record through ``parent`` and report to one
    another through ``up``."""

    entity: EntityDef
    parent: FieldDef
    up: FieldDef


@dataclass(frozen=True)
class Badge:
    """One choice of a node, with the label of its field (``Influence: High``)."""

    field: str
    field_label: str
    value: str
    label: str


@dataclass
class Node:
    id: int
    text: str
    badges: tuple[Badge, ...]
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class OrgChart:
    hierarchy: Hierarchy
    title: str
    roots: tuple[Node, ...]
    count: int
    #: whether more records exist than the chart draws
    cut: bool


def hierarchies_of(engine: CrmEngine, entity: str) -> list[Hierarchy]:
    """Every hierarchy whose records belong to a record of ``entity``, in label order."""
    found = []
    for other in engine.model.definitions.entities.values():
        ups = [f for f in other.references() if f.target == other.name]
        parents = [f for f in other.references() if f.target == entity and f.target != other.name]
        if len(ups) == 1 and parents:
            found.append(Hierarchy(other, parents[0], ups[0]))
    return sorted(found, key=lambda h: (h.entity.label.en.lower(), h.entity.name))


def org_charts(engine: CrmEngine, entity: str, record_id: int, user: User, language: str) -> list[OrgChart]:
    """The org charts under record ``record_id`` of ``entity`` that ``user`` may read
    (hierarchies with no readable record left out)."""
    charts = []
    for h in hierarchies_of(engine, entity):
        chart = org_chart(engine, h, record_id, user, language)
        if chart is not None:
            charts.append(chart)
    return charts


def org_chart(engine: CrmEngine, h: Hierarchy, record_id: int, user: User, language: str) -> OrgChart | None:
    access = engine.permissions.access(user, h.entity.name)
    if not access.allows("read") or h.parent.name in access.hidden or h.up.name in access.hidden:
        return None
    try:
        page = engine.records.list(
            h.entity.name, where={h.parent.name: record_id}, sort="id", limit=MAX_NODES + 1, with_total=False,
            actor=user,
        )  # fmt: skip
    except CrmError:
        return None
    rows = page.items[:MAX_NODES]
    if not rows:
        return None
    names = _names(engine, h, rows, user, language)
    nodes = {r["id"]: Node(r["id"], names[r["id"]], _badges(h.entity, r, access.hidden, language)) for r in rows}
    roots = _link(nodes, {r["id"]: r.get(h.up.name) for r in rows})
    return OrgChart(h, h.entity.label.get(language), tuple(roots), len(nodes), len(page.items) > MAX_NODES)


def _names(
    engine: CrmEngine, h: Hierarchy, rows: Sequence[Mapping[str, Any]], user: User, language: str
) -> dict[int, str]:
    """A node's name: its display field; without one, the record it stands for (the first
    other reference: a stakeholder is its contact), else "Label #id"."""
    if h.entity.display:
        return {r["id"]: display_text(h.entity, r, language) for r in rows}
    standing = next((f for f in h.entity.references() if f.name not in (h.parent.name, h.up.name) and f.target), None)
    texts: dict[int, str] = {}
    if standing is not None and standing.target is not None:
        ids = {r[standing.name] for r in rows if isinstance(r.get(standing.name), int)}
        texts = display_texts(engine.records, standing.target, ids, user, language)
    out: dict[int, str] = {}
    for r in rows:
        target = r.get(standing.name) if standing is not None else None
        named = texts.get(target) if isinstance(target, int) else None
        out[r["id"]] = named or display_text(h.entity, r, language)
    return out


def _badges(entity: EntityDef, row: Mapping[str, Any], hidden: frozenset[str], language: str) -> tuple[Badge, ...]:
    """The node's choices, in field order (enum fields with a value the user may see)."""
    out = []
    for f in entity.fields.values():
        value = row.get(f.name)
        if f.type != "enum" or f.name in hidden or value in (None, ""):
            continue
        labels = {c.value: c.label.get(language) for c in f.choices}
        out.append(Badge(f.name, f.label.get(language), str(value), labels.get(str(value), str(value))))
    return tuple(out)


def _link(nodes: dict[int, Node], up: dict[int, Any]) -> list[Node]:
    """Hang each node from the one it reports to; a node whose superior is not drawn, or
    whose chain comes back to itself, is a root."""
    roots = []
    for node_id, node in nodes.items():
        parent = up.get(node_id)
        if isinstance(parent, int) and parent in nodes and not _closes_cycle(node_id, parent, up):
            nodes[parent].children.append(node)
        else:
            roots.append(node)
    return roots


def _closes_cycle(node_id: int, parent: int, up: dict[int, Any]) -> bool:
    """Whether following superiors from ``parent`` comes back to ``node_id``; the cycle is cut
    at its smallest id, so exactly one node of it becomes a root."""
    seen = {node_id}
    current: Any = parent
    while isinstance(current, int) and current in up:
        if current in seen:
            return current == node_id and node_id == min(_cycle(node_id, up))
        seen.add(current)
        current = up.get(current)
    return False


def _cycle(start: int, up: dict[int, Any]) -> set[int]:
    members = {start}
    current = up.get(start)
    while isinstance(current, int) and current not in members and current in up:
        members.add(current)
        current = up.get(current)
    return members
