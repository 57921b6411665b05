"""Required actors: every service call names who acts, a user or the system with a reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.metadata import load_definitions
from engine.reports import run_report
from engine.runtime import CrmEngine
from engine.storage import audit_log
from engine.transfer import export_csv
from engine.users import SYSTEM_USER, SystemActor
from tests.support import SYSTEM, acting_for

BUNDLE = Path(__file__).parents[1] / "workflow" / "data" / "sales_flow"


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(BUNDLE))
    engine.users.create("rita", roles=["rep"])
    yield engine
    engine.close()


def _order(crm: CrmEngine) -> dict[str, Any]:
    customer = crm.records.create("customer", {"name": "上海电信"}, actor=SYSTEM)
    return crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "25000"}, actor=acting_for("rita")
    )


_WITHOUT_ACTOR: list[tuple[str, Callable[[CrmEngine, Path], Any]]] = [
    ("records.get", lambda crm, _: crm.records.get("customer", 1)),  # type: ignore[call-arg]
    ("records.list", lambda crm, _: crm.records.list("customer")),  # type: ignore[call-arg]
    ("records.audit", lambda crm, _: crm.records.audit("customer")),  # type: ignore[call-arg]
    ("records.create", lambda crm, _: crm.records.create("customer", {"name": "x"})),  # type: ignore[call-arg]
    ("records.update", lambda crm, _: crm.records.update("customer", 1, {"name": "y"})),  # type: ignore[call-arg]
    ("records.delete", lambda crm, _: crm.records.delete("customer", 1)),  # type: ignore[call-arg]
    ("scoring.show", lambda crm, _: crm.scoring.show("customer", 1)),  # type: ignore[call-arg]
    ("scoring.history", lambda crm, _: crm.scoring.history("customer", 1)),  # type: ignore[call-arg]
    ("workflows.history", lambda crm, _: crm.workflows.history("order", 1)),  # type: ignore[call-arg]
    ("run_report", lambda crm, _: run_report(crm, "any")),  # type: ignore[call-arg]
    ("export_csv", lambda crm, tmp: export_csv(crm, "customer", tmp / "out.csv")),  # type: ignore[call-arg]
]


@pytest.mark.parametrize("call", [c for _, c in _WITHOUT_ACTOR], ids=[name for name, _ in _WITHOUT_ACTOR])
def test_a_service_call_without_an_actor_is_a_type_error(
    crm: CrmEngine, tmp_path: Path, call: Callable[[CrmEngine, Path], Any]
) -> None:
    with pytest.raises(TypeError, match="actor"):
        call(crm, tmp_path)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_system_actor_states_its_reason(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        SystemActor(reason)
    with pytest.raises(TypeError):
        SystemActor()  # type: ignore[call-arg]


def test_only_the_workflow_actor_writes_a_state_field(crm: CrmEngine) -> None:
    order = _order(crm)
    for actor in (SYSTEM, SystemActor("test", writes_read_only=True), SystemActor.workflow_action("rita")):
        with pytest.raises(RecordValidationError) as refused:
            crm.records.update("order", order["id"], {"status": "submitted"}, actor=actor)
        assert [(p.field, p.code) for p in refused.value.problems] == [("status", "workflow_field")]
    moved = crm.records.update("order", order["id"], {"status": "submitted"}, actor=SystemActor.workflow("rita"))
    assert moved["status"] == "submitted"


def test_only_an_actor_that_writes_read_only_fields_changes_one_in_a_state(crm: CrmEngine) -> None:
    order = _order(crm)
    crm.workflows.run("order", order["id"], "submit", user=crm.users.get("rita"))  # amount is read-only now
    with pytest.raises(RecordValidationError) as refused:
        crm.records.update("order", order["id"], {"amount": "1"}, actor=SYSTEM)
    assert [(p.field, p.code) for p in refused.value.problems] == [("amount", "read_only_in_state")]
    changed = crm.records.update("order", order["id"], {"amount": "1"}, actor=SystemActor.workflow_action("rita"))
    assert str(changed["amount"]) == "1.00"


def test_system_writes_are_recorded_as_the_system_with_its_reason(crm: CrmEngine) -> None:
    importer = SystemActor("import")
    created = crm.records.create("customer", {"name": "Acme"}, actor=importer)
    assert (created["created_by"], created["owner"]) == ("system:import", None)
    crm.records.update("customer", created["id"], {"name": "Acme Ltd"}, actor=importer)
    trail = crm.records.audit("customer", created["id"], actor=SYSTEM)
    assert {row["actor"] for row in trail} == {"system:import"}
    events = crm.events.list(user=SYSTEM_USER, limit=1000)
    assert [(e.type, e.actor) for e in events if e.entity == "customer"] == [
        ("record.created", "system:import"),
        ("record.updated", "system:import"),
    ]


def test_system_writes_for_a_user_are_recorded_as_theirs(crm: CrmEngine) -> None:
    order = _order(crm)
    assert (order["created_by"], order["owner"]) == ("rita", "rita")
    with crm.db.read() as conn:
        actors = set(conn.execute(sa.select(audit_log.c.actor).where(audit_log.c.entity == "order")).scalars())
    assert actors == {"rita"}
