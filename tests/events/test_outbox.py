"""The unit of work and the outbox, on SQLite and PostgreSQL: every committed write leaves its
events (and only committed ones), in commit order, and every write reaches the subscribers."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import PermissionDeniedError, RecordValidationError, UsageError
from engine.events import StoredEvent
from engine.hooks import hookimpl, make_plugins
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import events as events_table
from engine.transfer import import_csv
from engine.users import SYSTEM_USER
from tests.support import SYSTEM, CliResult, acting_for, postgres_schema_url

BUNDLE = Path(__file__).parents[1] / "workflow" / "data" / "sales_flow"


class Saved:
    """A plugin that remembers every record it heard was saved."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, int, bool, str | None]] = []

    @hookimpl
    def crm_record_saved(self, entity: str, record: dict[str, Any], created: bool, actor: str | None) -> None:
        self.saved.append((entity, record["id"], created, actor))


@pytest.fixture
def saved() -> Saved:
    return Saved()


@pytest.fixture
def crm(database_url: str, saved: Saved) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url, plugins=make_plugins(entry_points=False, extra=(saved,)))
    engine.apply(load_definitions(BUNDLE))
    for name, roles in (("rita", ["rep"]), ("sam", ["secretary"]), ("fiona", ["finance"]), ("fred", ["fulfilment"])):
        engine.users.create(name, roles=roles)
    yield engine
    engine.close()


def all_events(crm: CrmEngine, **filters: Any) -> list[StoredEvent]:
    return crm.events.list(user=SYSTEM_USER, limit=1000, **filters)


def kinds(found: list[StoredEvent]) -> list[tuple[str, str | None]]:
    return [(e.type, e.entity) for e in found]


def test_create_update_delete_leave_their_events_with_old_and_new_values(crm: CrmEngine) -> None:
    customer = crm.records.create("customer", {"name": "上海电信"}, actor=acting_for("rita"))
    crm.records.update("customer", customer["id"], {"name": "中国电信上海分公司"}, actor=acting_for("sam"))
    crm.records.delete("customer", customer["id"], actor=acting_for("fiona"))

    created, updated, deleted = all_events(crm)
    assert (created.type, created.entity, created.record_id, created.actor) == (
        "record.created",
        "customer",
        customer["id"],
        "rita",
    )
    assert created.payload["record"]["name"] == "上海电信"
    assert created.definitions_version == crm.version
    assert updated.type == "record.updated" and updated.actor == "sam"
    assert updated.payload["changes"] == {"name": {"old": "上海电信", "new": "中国电信上海分公司"}}
    assert deleted.type == "record.deleted" and deleted.actor == "fiona"
    assert deleted.payload["record"]["name"] == "中国电信上海分公司"
    assert created.id < updated.id < deleted.id


def test_a_write_that_rolls_back_leaves_no_event(crm: CrmEngine) -> None:
    with pytest.raises(RuntimeError), crm.db.write() as tx:
        crm.records.create("customer", {"name": "Rolled back"}, actor=acting_for("rita"), conn=tx)
        raise RuntimeError("the caller fails after the write")
    with pytest.raises(RecordValidationError):
        crm.records.create("order", {"number": "SO-9", "amount": "-5"}, actor=acting_for("rita"))  # below the minimum
    assert all_events(crm) == []
    with crm.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar() == 0


def test_cascade_delete_leaves_an_event_per_record(crm: CrmEngine) -> None:
    customer = crm.records.create("customer", {"name": "Acme"}, actor=acting_for("rita"))
    order = crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "100"}, actor=acting_for("rita")
    )
    task = crm.records.create("task", {"subject": "Call back", "sales_order": order["id"]}, actor=acting_for("rita"))
    since = all_events(crm)[-1].id
    crm.records.delete("order", order["id"], actor=acting_for("rita"))
    assert {(e.type, e.entity, e.record_id) for e in all_events(crm, since=since)} == {
        ("record.deleted", "task", task["id"]),
        ("record.deleted", "order", order["id"]),
    }


def test_a_transition_and_its_actions_leave_events_and_reach_crm_record_saved(crm: CrmEngine, saved: Saved) -> None:
    customer = crm.records.create("customer", {"name": "上海电信"}, actor=acting_for("rita"))
    order = crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "25000"}, actor=acting_for("rita")
    )
    crm.workflows.run("order", order["id"], "submit", user=crm.users.get("rita"))
    since = all_events(crm)[-1].id
    saved.saved.clear()

    crm.workflows.run("order", order["id"], "review", user=crm.users.get("sam"), comment="rules checked")

    found = all_events(crm, since=since)
    assert kinds(found) == [("record.updated", "order"), ("record.created", "task"), ("record.transitioned", "order")]
    transitioned = found[-1]
    assert transitioned.actor == "sam"
    assert {k: transitioned.payload[k] for k in ("workflow", "transition", "from_state", "to_state", "comment")} == {
        "workflow": "order_approval",
        "transition": "review",
        "from_state": "submitted",
        "to_state": "reviewed",
        "comment": "rules checked",
    }
    # the task the action created is a saved record like any other (it was not, before the unit of work)
    task_id = found[1].record_id
    assert ("task", task_id, True, "sam") in saved.saved
    assert ("order", order["id"], False, "sam") in saved.saved


def test_a_refused_transition_leaves_no_event(crm: CrmEngine) -> None:
    customer = crm.records.create("customer", {"name": "Acme"}, actor=acting_for("rita"))
    order = crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "100"}, actor=acting_for("rita")
    )
    since = all_events(crm)[-1].id
    with pytest.raises(Exception):  # noqa: B017 - rita is no secretary
        crm.workflows.run("order", order["id"], "review", user=crm.users.get("rita"))
    assert all_events(crm, since=since) == []


def test_import_leaves_one_event_per_batch_and_one_per_updated_record(crm: CrmEngine, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("name\n" + "".join(f"Customer {i}\n" for i in range(5)), encoding="utf-8")
    report = import_csv(crm, "customer", path, actor=acting_for("rita"), batch_size=2)
    assert report.inserted == 5
    found = all_events(crm)
    assert [e.type for e in found] == ["records.imported"] * 3
    assert [e.payload["records"] for e in found] == [2, 2, 1]
    assert [e.payload["lines"] for e in found] == [[2, 3], [4, 5], [6, 6]]

    first = crm.records.list("customer", sort="id", actor=SYSTEM).items[0]
    upsert = tmp_path / "upsert.csv"
    upsert.write_text(f"id,name\n{first['id']},Renamed\n", encoding="utf-8")
    import_csv(crm, "customer", upsert, key="id", actor=acting_for("sam"))
    (updated,) = all_events(crm, since=found[-1].id)
    assert (updated.type, updated.record_id, updated.actor) == ("record.updated", first["id"], "sam")
    assert updated.payload["changes"] == {"name": {"old": "Customer 0", "new": "Renamed"}}
    assert updated.payload["line"] == 2


def test_listing_filters_by_id_entity_and_type(crm: CrmEngine) -> None:
    customer = crm.records.create("customer", {"name": "Acme"}, actor=acting_for("rita"))
    crm.records.create(
        "order", {"number": "SO-1", "customer": customer["id"], "amount": "100"}, actor=acting_for("rita")
    )
    crm.records.update("customer", customer["id"], {"name": "Acme Ltd"}, actor=acting_for("rita"))
    everything = all_events(crm)
    assert kinds(all_events(crm, entity="customer")) == [("record.created", "customer"), ("record.updated", "customer")]
    assert kinds(all_events(crm, types=["record.updated"])) == [("record.updated", "customer")]
    assert all_events(crm, since=everything[0].id) == everything[1:]
    assert crm.events.list(user=SYSTEM_USER, limit=1) == everything[:1]


def test_only_administrators_read_events_and_bad_arguments_are_refused(crm: CrmEngine) -> None:
    with pytest.raises(PermissionDeniedError):
        crm.events.list(user=crm.users.get("rita"))
    with pytest.raises(UsageError, match=r"unknown event type 'record\.saved'"):
        crm.events.list(user=SYSTEM_USER, types=["record.saved"])
    with pytest.raises(UsageError, match="limit"):
        crm.events.list(user=SYSTEM_USER, limit=0)


def test_scores_that_change_leave_score_changed_events(database_url: str, tmp_path: Path) -> None:
    bundle = tmp_path / "sales_flow"
    shutil.copytree(BUNDLE, bundle)
    scoring = {
        "schema_version": 1,
        "kind": "scoring",
        "name": "lead_fit",
        "entity": "lead",
        "scorer": "weighted_rules",
        "triggers": ["save"],
        "config": {"rules": [{"when": {">=": [{"var": "record.budget"}, 100000]}, "points": 40}]},
    }
    (bundle / "lead_fit.json").write_text(json.dumps(scoring), encoding="utf-8")
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(bundle, scorer_schemas=crm.scoring.registry.config_schemas()))
        lead = crm.records.create("lead", {"company": "上海电信", "budget": "50000"}, actor=acting_for("rita"))
        computed = all_events(crm, types=["score.changed"])
        assert [(e.record_id, e.payload["value"], e.payload["old_value"]) for e in computed] == [(lead["id"], 0, None)]

        crm.records.update("lead", lead["id"], {"budget": "150000"}, actor=acting_for("rita"))
        moved = all_events(crm, since=computed[-1].id, types=["score.changed"])
        assert [(e.payload["value"], e.payload["old_value"]) for e in moved] == [(40, 0)]
        crm.records.update(
            "lead", lead["id"], {"budget": "160000"}, actor=acting_for("rita")
        )  # the same score: no event
        assert all_events(crm, since=moved[-1].id, types=["score.changed"]) == []

        crm.scoring.override("lead", lead["id"], "lead_fit", value=90, reason="met the buyer", actor=acting_for("sam"))
        (overridden,) = all_events(crm, since=moved[-1].id, types=["score.changed"])
        assert (overridden.actor, overridden.payload["kind"], overridden.payload["value"]) == ("sam", "override", 90)


@pytest.fixture
def pg_crm() -> Iterator[CrmEngine]:
    for url in postgres_schema_url():
        with CrmEngine(url) as engine:
            engine.apply(load_definitions(BUNDLE))
            engine.users.create("rita", roles=["rep"])
            engine.users.create("sam", roles=["secretary"])
            yield engine


@pytest.mark.postgres
def test_event_ids_rise_in_commit_order_on_postgresql(pg_crm: CrmEngine) -> None:
    """A transaction that writes first but commits last gets the larger event id: a reader that
    asked for "after N" in between cannot pass over it. (SQLite runs one write at a time.)"""
    crm = pg_crm
    written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            with crm.db.write() as tx:
                crm.records.create("customer", {"name": "Slow"}, actor=acting_for("rita"), conn=tx)
                written.set()
                release.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    assert written.wait(10)
    crm.records.create("customer", {"name": "Fast"}, actor=acting_for("sam"))
    seen_between = all_events(crm)
    release.set()
    thread.join(10)
    assert not errors
    assert [e.payload["record"]["name"] for e in seen_between] == ["Fast"]
    after = all_events(crm, since=seen_between[-1].id)
    assert [e.payload["record"]["name"] for e in after] == ["Slow"]


def test_cli_and_api_list_events_for_administrators(
    crm: CrmEngine, database_url: str, run_cli: Callable[..., CliResult]
) -> None:
    from engine.web import create_app

    customer = crm.records.create("customer", {"name": "Acme"}, actor=acting_for("rita"))
    crm.records.update("customer", customer["id"], {"name": "Acme Ltd"}, actor=acting_for("rita"))

    listed = run_cli("--database-url", database_url, "events", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    body = listed.json()
    assert [i["type"] for i in body["items"]] == ["record.created", "record.updated"]
    assert body["next_since"] == body["items"][-1]["id"]
    table = run_cli("--database-url", database_url, "events", "list", "--since", body["items"][0]["id"])
    assert "record.updated" in table.stdout and "record.created" not in table.stdout
    refused = run_cli("--database-url", database_url, "--as", "rita", "events", "list")
    assert refused.exit_code == 7 and "Traceback" not in refused.stderr

    crm.users.create("ada", roles=["admin"])
    admin_token = crm.tokens.create("ada", name="test")
    rep_token = crm.tokens.create("rita", name="test")
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    answer = client.get("/api/v1/events?since=0&entity=customer", headers=_bearer(admin_token))
    assert answer.status_code == 200
    assert [i["type"] for i in answer.json["items"]] == ["record.created", "record.updated"]
    assert answer.json["items"][1]["payload"]["changes"]["name"] == {"old": "Acme", "new": "Acme Ltd"}
    later = client.get(f"/api/v1/events?since={answer.json['next_since']}", headers=_bearer(admin_token))
    assert later.json == {"items": [], "next_since": answer.json["next_since"]}
    forbidden = client.get("/api/v1/events", headers=_bearer(rep_token))
    assert forbidden.status_code == 403 and forbidden.mimetype == "application/problem+json"
    bad = client.get("/api/v1/events?type=record.saved", headers=_bearer(admin_token))
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "type"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Transitions:
    """A plugin that remembers every transition it heard of."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, int, str, str | None, str]] = []

    @hookimpl
    def crm_transition(
        self, entity: str, record: dict[str, Any], transition: str, from_state: str | None, to_state: str
    ) -> None:
        self.heard.append((entity, record["id"], transition, from_state, to_state))


def test_nobody_listening_costs_no_call_and_a_plugin_registered_later_hears_the_next_commit(
    database_url: str,
) -> None:
    engine = CrmEngine(database_url, plugins=make_plugins(entry_points=False))
    try:
        engine.apply(load_definitions(BUNDLE))
        engine.users.create("rita", roles=["rep"])
        assert not engine.plugins.hook.crm_record_saved.get_hookimpls()
        assert not engine.plugins.hook.crm_transition.get_hookimpls()
        customer = engine.records.create("customer", {"name": "Acme"}, actor=acting_for("rita"))
        first = engine.records.create(
            "order", {"number": "SO-1", "customer": customer["id"], "amount": "25000"}, actor=acting_for("rita")
        )
        engine.workflows.run("order", first["id"], "submit", user=engine.users.get("rita"))
        assert kinds(all_events(engine))[-1] == ("record.transitioned", "order")

        saved, transitions = Saved(), Transitions()
        engine.plugins.register(saved, "saved")
        engine.plugins.register(transitions, "transitions")
        second = engine.records.create(
            "order", {"number": "SO-2", "customer": customer["id"], "amount": "100"}, actor=acting_for("rita")
        )
        engine.workflows.run("order", second["id"], "submit", user=engine.users.get("rita"))
        assert [(e, i, c) for e, i, c, _actor in saved.saved if e == "order"] == [
            ("order", second["id"], True),
            ("order", second["id"], False),
        ]
        assert transitions.heard == [("order", second["id"], "submit", "draft", "submitted")]
    finally:
        engine.close()
