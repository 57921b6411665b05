"""Sixteen processes race to run a transition from the same state on one record.

Exactly one wins; the others get a conflict; history has one row for it; no update is lost.
Runs on SQLite (file locking, BEGIN IMMEDIATE) and PostgreSQL (row locks, version check).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import SYSTEM, acting_for

BUNDLE = Path(__file__).parent / "data" / "sales_flow"
RACERS = 16


def _race(url: str, order_id: int, barrier: Any, results: Any) -> None:
    from engine.errors import CrmError
    from engine.runtime import CrmEngine

    crm = CrmEngine(url)
    try:
        user = crm.users.get("rita")
        version = crm.records.get("order", order_id, actor=SYSTEM)["version"]
        barrier.wait(timeout=60)
        try:
            crm.workflows.run("order", order_id, "submit", user=user, expected_version=version)
            results.put("ok")
        except CrmError as exc:
            results.put(exc.code)
    except Exception as exc:  # report, do not hang the test
        results.put(f"crash:{exc.__class__.__name__}:{exc}")
    finally:
        crm.close()


@pytest.mark.slow
def test_sixteen_processes_exactly_one_transition_wins(database_url: str) -> None:
    crm = CrmEngine(database_url)
    try:
        crm.apply(load_definitions(BUNDLE))
        crm.users.create("rita", roles=["rep"])
        customer = crm.records.create("customer", {"name": "Acme"}, actor=SYSTEM)
        order = crm.records.create(
            "order", {"number": "SO-1", "customer": customer["id"], "amount": "10"}, actor=acting_for("rita")
        )
    finally:
        crm.close()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(target=_race, args=(database_url, order["id"], barrier, results)) for _ in range(RACERS)
    ]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * (RACERS - 1) + ["ok"], outcomes
    crm = CrmEngine(database_url)
    try:
        final = crm.records.get("order", order["id"], actor=SYSTEM)
        assert (final["status"], final["version"]) == ("submitted", 2)
        transitions = [h["transition"] for h in crm.workflows.history("order", order["id"], actor=SYSTEM)]
        assert transitions == [None, "submit"]
        audit = [e for e in crm.records.audit("order", order["id"], actor=SYSTEM) if e["field"] == "status"]
        assert len([e for e in audit if e["action"] == "update"]) == 1
    finally:
        crm.close()
