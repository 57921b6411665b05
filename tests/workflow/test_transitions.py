"""Running workflows on SQLite and PostgreSQL: the seed's order approval chain and a lead pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import ConflictError, RecordValidationError
from engine.hooks import hookimpl, make_plugins
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import workflow_history
from engine.users import User
from engine.workflow import TransitionRefusedError, tick, time_in_states
from tests.support import SYSTEM, acting_for

BUNDLE = Path(__file__).parent / "data" / "sales_flow"


class Recorder:
    """A plugin that remembers the hooks it heard."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def crm_transition(self, entity: str, record: dict[str, Any], transition: str, to_state: str, actor: str) -> None:
        self.calls.append(
            (
                "transition",
                {"entity": entity, "id": record["id"], "transition": transition, "to": to_state, "actor": actor},
            )
        )

    @hookimpl
    def crm_notify(self, topic: str, entity: str) -> None:
        self.calls.append(("notify", {"topic": topic, "entity": entity}))

    @hookimpl
    def crm_rescore(self, entity: str, record_ids: list[int]) -> None:
        self.calls.append(("rescore", {"entity": entity, "ids": record_ids}))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def crm(database_url: str, recorder: Recorder) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url, plugins=make_plugins(entry_points=False, extra=(recorder,)))
    engine.apply(load_definitions(BUNDLE))
    users = engine.users
    users.create("rita", roles=["rep"], team="east")
    users.create("sam", roles=["secretary"])
    users.create("fiona", roles=["finance"])
    users.create("sue", roles=["secretary", "rep"])
    users.create("fred", roles=["fulfilment"])
    users.create("flo", roles=["fulfilment"])
    yield engine
    engine.close()


def as_user(crm: CrmEngine, name: str) -> User:
    return crm.users.get(name)


def new_order(crm: CrmEngine, by: str = "rita", **values: Any) -> dict[str, Any]:
    customer = crm.records.create("customer", {"name": "上海电信"}, actor=acting_for(by))
    return crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "25000", **values}, actor=acting_for(by)
    )


def codes(error: pytest.ExceptionInfo[Any]) -> set[str]:
    return {p.code for p in error.value.problems}


def test_create_starts_in_the_initial_state_with_history(crm: CrmEngine) -> None:
    order = new_order(crm)
    assert order["status"] == "draft"
    (entry,) = crm.workflows.history("order", order["id"], actor=SYSTEM)
    assert (entry["transition"], entry["from_state"], entry["to_state"]) == (None, None, "draft")
    assert entry["actor"] == "rita"


def test_state_field_cannot_be_written_directly(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError) as caught:
        crm.records.create("order", {"number": "SO-2", "status": "approved"}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("status", "workflow_field")]
    order = new_order(crm)
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("order", order["id"], {"status": "approved"}, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("status", "workflow_field")]
    assert crm.records.get("order", order["id"], actor=SYSTEM)["status"] == "draft"


def test_order_approval_chain_end_to_end(crm: CrmEngine, recorder: Recorder) -> None:
    order = new_order(crm)
    oid = order["id"]
    crm.workflows.run("order", oid, "submit", user=as_user(crm, "rita"))
    with pytest.raises(RecordValidationError) as caught:
        crm.records.update("order", oid, {"amount": "1"}, actor=acting_for("rita"))
    assert [(p.field, p.code) for p in caught.value.problems] == [("amount", "read_only_in_state")]
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", oid, "review", user=as_user(crm, "rita"))
    assert codes(caught) == {"role", "separation_of_duties"}
    reviewed = crm.workflows.run("order", oid, "review", user=as_user(crm, "sam"), comment="rules checked")
    assert reviewed["status"] == "reviewed"
    tasks = crm.records.list("task", where={"sales_order": oid}, actor=SYSTEM).items
    assert [t["subject"] for t in tasks] == ["Check the credit of the customer"]
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", oid, "approve", user=as_user(crm, "sam"))
    assert codes(caught) == {"role"}
    approved = crm.workflows.run("order", oid, "approve", user=as_user(crm, "fiona"))
    assert approved["status"] == "approved"
    assert approved["approved_at"] is not None and approved["owner"] == "flo"
    history = crm.workflows.history("order", oid, actor=SYSTEM)
    assert [(h["transition"], h["from_state"], h["to_state"], h["actor"]) for h in history] == [
        (None, None, "draft", "rita"),
        ("submit", "draft", "submitted", "rita"),
        ("review", "submitted", "reviewed", "sam"),
        ("approve", "reviewed", "approved", "fiona"),
    ]
    assert history[2]["comment"] == "rules checked"
    heard = [c for c in recorder.calls if c[0] == "transition"]
    assert [c[1]["transition"] for c in heard] == ["submit", "review", "approve"]
    assert ("notify", {"topic": "order_approved", "entity": "order"}) in recorder.calls


def test_guard_refuses_orders_over_the_limit(crm: CrmEngine) -> None:
    order = new_order(crm, amount="2500000")
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    crm.workflows.run("order", order["id"], "review", user=as_user(crm, "sam"))
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", order["id"], "approve", user=as_user(crm, "fiona"))
    assert codes(caught) == {"guard"}
    assert crm.records.get("order", order["id"], actor=SYSTEM)["status"] == "reviewed"


def test_target_state_required_fields(crm: CrmEngine) -> None:
    order = crm.records.create("order", {"number": "SO-9"}, actor=acting_for("rita"))
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    assert [(p.code, p.field) for p in caught.value.problems] == [("required_field", "amount,customer")]


def test_reject_needs_a_reason_input_kept_in_history(crm: CrmEngine) -> None:
    order = new_order(crm)
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", order["id"], "reject", user=as_user(crm, "sam"))
    assert codes(caught) == {"input_required"}
    rejected = crm.workflows.run(
        "order", order["id"], "reject", user=as_user(crm, "sam"), inputs={"reason": "price too low"}
    )
    assert (rejected["status"], rejected["reject_reason"]) == ("rejected", "price too low")
    assert crm.workflows.history("order", order["id"], actor=SYSTEM)[-1]["inputs"] == {"reason": "price too low"}
    resubmitted = crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    assert resubmitted["status"] == "submitted"


def test_check_explains_every_unavailable_transition(crm: CrmEngine) -> None:
    order = new_order(crm, by="sue")
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "sue"))
    checks = {c.name: c for c in crm.workflows.check("order", order["id"], as_user(crm, "sue"))}
    assert not checks["review"].available
    assert [r.code for r in checks["review"].reasons] == ["separation_of_duties"]
    assert [r.code for r in checks["approve"].reasons] == ["wrong_state", "role"]
    assert checks["reject"].available and set(checks["reject"].inputs) == {"reason"}
    sam = {c.name: c for c in crm.workflows.check("order", order["id"], as_user(crm, "sam"))}
    assert sam["review"].available


def test_failed_action_rolls_back_the_whole_transition(crm: CrmEngine) -> None:
    order = new_order(crm)
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    crm.workflows.run("order", order["id"], "review", user=as_user(crm, "sam"))
    with crm.db.write() as conn:  # nobody can fulfil: the assign action fails after the state changed
        conn.execute(sa.text("DELETE FROM crm_users WHERE name IN ('fred', 'flo')"))
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("order", order["id"], "approve", user=as_user(crm, "fiona"))
    assert codes(caught) == {"no_assignee"}
    after = crm.records.get("order", order["id"], actor=SYSTEM)
    assert (after["status"], after["approved_at"], after["version"]) == ("reviewed", None, 3)
    assert [h["to_state"] for h in crm.workflows.history("order", order["id"], actor=SYSTEM)][-1] == "reviewed"


def test_stale_version_is_a_conflict(crm: CrmEngine) -> None:
    order = new_order(crm)
    crm.records.update("order", order["id"], {"number": "SO-1b"}, actor=acting_for("rita"))
    with pytest.raises(ConflictError):
        crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"), expected_version=1)
    assert crm.records.get("order", order["id"], actor=SYSTEM)["status"] == "draft"


def test_lead_pipeline_with_required_lost_reason_and_least_loaded_assignment(
    crm: CrmEngine, recorder: Recorder
) -> None:
    ids = [crm.records.create("lead", {"company": f"Lead {i}", "budget": "100"}, actor=SYSTEM)["id"] for i in range(3)]
    system = crm.users.get("system")
    assignees = [crm.workflows.run("lead", i, "qualify", user=system)["assignee"] for i in ids]
    assert assignees == ["rita", "sue", "rita"], "least loaded, ties by name"
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("lead", ids[0], "lose", user=system, inputs={"reason": "weather"})
    assert codes(caught) == {"input_invalid"}
    lost = crm.workflows.run("lead", ids[0], "lose", user=system, inputs={"reason": "competitor"})
    assert (lost["stage"], lost["lost_reason"]) == ("lost", "competitor")
    assert ("rescore", {"entity": "lead", "ids": [ids[0]]}) in recorder.calls
    won = crm.workflows.run("lead", ids[1], "win", user=system)
    assert won["stage"] == "won"
    with pytest.raises(TransitionRefusedError) as caught:
        crm.workflows.run("lead", ids[1], "lose", user=system, inputs={"reason": "price"})
    assert codes(caught) == {"wrong_state"}


def test_sla_escalation_fires_once(crm: CrmEngine) -> None:
    order = new_order(crm)
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    assert tick(crm, crm.workflows, now=datetime.now(UTC) + timedelta(days=2)) == []
    later = datetime.now(UTC) + timedelta(days=4)
    fired = tick(crm, crm.workflows, now=later)
    assert [(e.record_id, e.state, e.outcome) for e in fired] == [(order["id"], "submitted", "done")]
    assert crm.records.get("order", order["id"], actor=SYSTEM)["status"] == "escalated"
    assert tick(crm, crm.workflows, now=later) == []
    assert tick(crm, crm.workflows, now=later + timedelta(days=10)) == []
    transitions = [h["transition"] for h in crm.workflows.history("order", order["id"], actor=SYSTEM)]
    assert transitions.count("escalate") == 1


def test_time_in_states(crm: CrmEngine) -> None:
    order = new_order(crm)
    start = datetime.now(UTC)
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"), now=start + timedelta(hours=2))
    crm.workflows.run("order", order["id"], "review", user=as_user(crm, "sam"), now=start + timedelta(hours=5))
    with crm.db.write() as conn:  # the creation row: pin it to ``start`` for exact figures
        conn.execute(workflow_history.update().where(workflow_history.c.transition.is_(None)).values(at=start))
    stats = {s["state"]: s for s in time_in_states(crm, "order", "order_approval", now=start + timedelta(hours=6))}
    assert stats["draft"]["entries"] == 1 and stats["draft"]["avg_seconds"] == pytest.approx(7200, abs=1)
    assert stats["submitted"]["avg_seconds"] == pytest.approx(3 * 3600, abs=1)
    assert stats["reviewed"]["current"] == 1 and stats["reviewed"]["avg_seconds"] == pytest.approx(3600, abs=1)


def test_decimal_guard_and_amount_types(crm: CrmEngine) -> None:
    order = new_order(crm, amount="1000000.00")
    crm.workflows.run("order", order["id"], "submit", user=as_user(crm, "rita"))
    crm.workflows.run("order", order["id"], "review", user=as_user(crm, "sam"))
    approved = crm.workflows.run("order", order["id"], "approve", user=as_user(crm, "fiona"))
    assert approved["amount"] == Decimal("1000000.00") and approved["status"] == "approved"


def test_import_starts_records_in_the_initial_state_with_history(crm: CrmEngine, tmp_path: Path) -> None:
    from engine.errors import RecordValidationError as Invalid
    from engine.transfer import import_csv

    crm.records.create("customer", {"name": "Acme"}, actor=SYSTEM)
    path = tmp_path / "orders.csv"
    path.write_text("number,customer,amount,status\nSO-1,1,10,\nSO-2,1,20,approved\nSO-3,1,30,\n")
    report = import_csv(crm, "order", path, actor=acting_for("rita"))
    assert report.inserted == 3
    orders = crm.records.list("order", sort="number", actor=SYSTEM).items
    assert [o["status"] for o in orders] == ["draft", "approved", "draft"], "legacy states may be imported"
    for order in orders:
        (entry,) = crm.workflows.history("order", order["id"], actor=SYSTEM)
        assert (entry["transition"], entry["to_state"], entry["actor"]) == (None, order["status"], "rita")
    crm.workflows.run("order", orders[0]["id"], "submit", user=as_user(crm, "rita"))
    update = tmp_path / "update.csv"
    update.write_text(f"id,number,status\n{orders[1]['id']},SO-2b,draft\n{orders[2]['id']},SO-3b,\n")
    with pytest.raises(Invalid) as caught:
        import_csv(crm, "order", update, key="id", actor=SYSTEM)
    assert [(p.line, p.field, p.code) for p in caught.value.problems] == [(2, "status", "workflow_field")]
    report = import_csv(crm, "order", update, key="id", on_error="skip", actor=SYSTEM)
    assert (report.updated, report.rejected) == (1, 1)
    third = crm.records.get("order", orders[2]["id"], actor=SYSTEM)
    assert (third["number"], third["status"]) == ("SO-3b", "draft"), "an empty state cell keeps the state"
