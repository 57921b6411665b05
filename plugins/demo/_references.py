"""Picking the records a demo record references: parents that existed at its time and were
still active, the chosen parent's own children, references derived from others, and the
heads of a record's own group."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from ._plan import RefPlan
from ._pools import Pool

#: How often an optional reference is filled, by the kind of reference.
_OPTIONAL_REFERENCE_FILL = {"anchor": 0.9, "free": 0.85, "child": 0.8, "derive": 1.0, "extra": 0.3, "self": 0.6}
#: Picks tried to find a parent active at a record's time before taking any
_ACTIVE_TRIES = 8


def pick_references(
    plans: Sequence[RefPlan],
    pools: Mapping[str, Pool],
    unique_refs: dict[str, set[Any]],
    values: dict[str, Any],
    at: float,
    rng: random.Random,
) -> list[tuple[Pool, int]]:
    """Fill ``values`` with the references; returns the (pool, index) chosen, main parent
    first. Parents active at ``at`` (the intended creation time) are preferred."""
    chosen: dict[str, tuple[Pool, int]] = {}
    for plan in plans:
        if plan.mode == "self":
            continue
        pool = pools.get(plan.target)
        if pool is None or not len(pool):
            values[plan.field] = None
            continue
        wanted = plan.required or rng.random() < _OPTIONAL_REFERENCE_FILL[plan.mode]
        index: int | None = None
        if wanted:
            for _ in range(20 if plan.field in unique_refs else 1):
                index = pick_one(plan, pool, chosen, at, rng)
                if index is None or plan.field not in unique_refs:
                    break
                if pool.ids[index] not in unique_refs[plan.field]:
                    break
                index = None
            if index is not None and plan.field in unique_refs:
                unique_refs[plan.field].add(pool.ids[index])
        if index is None:
            values[plan.field] = None
        else:
            chosen[plan.field] = (pool, index)
            values[plan.field] = pool.ids[index]
    return list(chosen.values())


def pick_one(
    plan: RefPlan, pool: Pool, chosen: Mapping[str, tuple[Pool, int]], at: float, rng: random.Random
) -> int | None:
    """The parent of one reference: the chosen parent's own child, or the one derived from
    another reference, else any that existed then and was still active."""
    index: int | None = None
    if plan.mode == "child" and plan.via is not None and plan.via in chosen and plan.link in pool.links:
        parent_pool, parent = chosen[plan.via]
        for _ in range(_ACTIVE_TRIES // 2):
            index = pool.pick_child(plan.link, len(parent_pool), parent, rng)
            if index is None or pool.created[index] <= at:
                break
        if not plan.required and (index is None or pool.created[index] > at):
            return None  # the parent's records of then (a coupon it held), or none
    elif plan.mode == "derive" and plan.via is not None and plan.via in chosen:
        source_pool, source = chosen[plan.via]
        column = source_pool.links.get(plan.link or "")
        linked = column[source] if column is not None else -1
        if linked >= 0 and (plan.required or pool.created[linked] <= at):
            return linked
        if not plan.required:
            return None
    if index is None:
        # a parent that existed then and was still active (a churned member buys no more)
        for _ in range(_ACTIVE_TRIES):
            index = pool.pick(rng)
            if pool.created[index] <= at <= pool.until[index]:
                return index
        if not plan.required:
            return None  # none was there yet (a coupon issued later): left empty
    return index


def pick_self(
    plans: Sequence[RefPlan],
    self_groups: Mapping[str, Mapping[Any, list[int]]],
    values: dict[str, Any],
    record_id: int,
    rng: random.Random,
) -> None:
    """Fill the references of a record to its own entity (a manager, a main site)."""
    for plan in plans:
        if plan.mode != "self":
            continue
        key = values.get(plan.via) if plan.via else None
        earlier = self_groups[plan.field].get(key, ())
        if earlier and (plan.required or rng.random() < _OPTIONAL_REFERENCE_FILL["self"]):
            # the first records of a group are its heads (managers, main sites)
            values[plan.field] = earlier[min(int(len(earlier) * rng.random() ** 2.5), len(earlier) - 1)]
        else:
            values[plan.field] = record_id if plan.required else None
