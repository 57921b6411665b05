"""Automations on SQLite and PostgreSQL: record triggers inside the change, background runs
after it, date and schedule triggers on the clock, loop protection, and what runs show."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.automations import MAX_ATTEMPTS, AutomationFailedError, tick
from engine.errors import PermissionDeniedError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import automation_runs, events
from engine.users import SYSTEM_USER
from tests.automations import bundle
from tests.support import SYSTEM

TODAY = datetime.now(UTC).date()
NOON = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)


def make(database_url: str, tmp_path: Path, automations: list[dict[str, Any]] | None = None) -> CrmEngine:
    crm = CrmEngine(database_url)
    crm.apply(load_definitions(bundle.write(tmp_path, automations)))
    return crm


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = make(database_url, tmp_path)
    yield engine
    engine.close()


def rows(crm: CrmEngine, entity: str) -> list[dict[str, Any]]:
    table = crm.model.table(entity)
    with crm.db.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def runs(crm: CrmEngine, automation: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(automation_runs).order_by(automation_runs.c.id)
    if automation is not None:
        query = query.where(automation_runs.c.automation == automation)
    with crm.db.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def agreement(crm: CrmEngine, title: str, ends: date, **values: Any) -> dict[str, Any]:
    return crm.records.create("agreement", {"title": title, "end_date": ends.isoformat(), **values}, actor=SYSTEM)


# -- record triggers, inside the change ------------------------------------------------------------


def test_a_created_record_updates_the_record_its_reference_points_to_in_the_same_change(crm: CrmEngine) -> None:
    account = crm.records.create("account", {"name": "西安华信环保科技有限公司"}, actor=SYSTEM)
    agreement(crm, "Maintenance 2027", TODAY + timedelta(days=400), account=account["id"])

    assert rows(crm, "account")[0]["last_agreement"] == "Maintenance 2027"
    (run,) = runs(crm, "touch_account")
    assert (run["status"], run["trigger"], run["mode"]) == ("done", "created", "transaction")
    with crm.db.read() as conn:
        written = conn.execute(
            sa.select(events.c.actor).where(events.c.entity == "account", events.c.type == "record.updated")
        ).scalar_one()
    assert written == "system:automation:touch_account"


def test_an_empty_reference_updates_nothing(crm: CrmEngine) -> None:
    agreement(crm, "No account yet", TODAY + timedelta(days=400))
    assert rows(crm, "account") == []
    assert runs(crm, "touch_account")[0]["status"] == "done"


def test_a_write_that_rolls_back_leaves_neither_the_automation_s_change_nor_its_run(crm: CrmEngine) -> None:
    account = crm.records.create("account", {"name": "上海电信"}, actor=SYSTEM)

    class Stop(Exception):
        pass

    with pytest.raises(Stop), crm.db.write() as tx:
        crm.records.create(
            "agreement", {"title": "Draft", "account": account["id"], "end_date": "2030-01-01"}, actor=SYSTEM, conn=tx
        )
        raise Stop

    assert rows(crm, "account")[0]["last_agreement"] is None
    assert rows(crm, "agreement") == []
    assert runs(crm) == []


def test_a_transition_closes_the_open_children_for_which_the_rule_holds(crm: CrmEngine) -> None:
    signed = agreement(crm, "Service", TODAY + timedelta(days=10))
    done = crm.records.create("task", {"title": "Kick-off", "agreement": signed["id"], "done": True}, actor=SYSTEM)
    crm.records.create("task", {"title": "Collect payment", "agreement": signed["id"]}, actor=SYSTEM)
    other = agreement(crm, "Other", TODAY + timedelta(days=10))
    crm.records.create("task", {"title": "Not this one", "agreement": other["id"]}, actor=SYSTEM)

    crm.workflows.run("agreement", signed["id"], "expire", user=SYSTEM_USER)

    tasks = {t["title"]: t for t in rows(crm, "task")}
    assert tasks["Collect payment"]["done"] is True
    assert tasks["Collect payment"]["note"] == "closed: agreement expired"
    assert tasks["Kick-off"]["note"] is None  # already done: the where rule left it alone
    assert tasks["Kick-off"]["version"] == done["version"]
    assert tasks["Not this one"]["done"] is False


def test_an_updated_trigger_with_fields_fires_only_when_one_of_them_changed(database_url: str, tmp_path: Path) -> None:
    watch = bundle.automation(
        "note_rescheduled",
        "task",
        {"event": "updated", "fields": ["due"]},
        [{"set": {"note": {"cat": ["moved from ", {"var": "before.due"}]}}}],
    )
    crm = make(database_url, tmp_path, [watch])
    try:
        task = crm.records.create("task", {"title": "Call", "due": "2027-03-01"}, actor=SYSTEM)
        crm.records.update("task", task["id"], {"title": "Call back"}, actor=SYSTEM)
        assert rows(crm, "task")[0]["note"] is None
        crm.records.update("task", task["id"], {"due": "2027-03-08"}, actor=SYSTEM)
        assert rows(crm, "task")[0]["note"] == "moved from 2027-03-01"
        assert [r["status"] for r in runs(crm)] == ["done"]  # its own set did not set it off again
    finally:
        crm.close()


def test_a_failing_action_refuses_the_triggering_change_and_names_the_automation(
    database_url: str, tmp_path: Path
) -> None:
    broken = bundle.automation(
        "rank_task", "task", {"event": "created"}, [{"set": {"priority": {"+": [{"var": "record.priority"}, 9]}}}]
    )
    crm = make(database_url, tmp_path, [broken])
    try:
        with pytest.raises(AutomationFailedError) as refused:
            crm.records.create("task", {"title": "Call", "priority": 1}, actor=SYSTEM)
        assert refused.value.automation == "rank_task"
        assert "rank_task" in refused.value.message
        assert [p.field for p in refused.value.problems] == ["priority"]
        assert rows(crm, "task") == []
        assert runs(crm) == []
    finally:
        crm.close()


def test_automations_setting_each_other_off_stop_when_the_chain_comes_back_to_one(
    database_url: str, tmp_path: Path
) -> None:
    ping = bundle.automation(
        "ping",
        "account",
        {"event": "updated", "fields": ["touches"]},
        [{"set": {"echoes": {"+": [{"var": "record.echoes"}, 1]}}}],
    )
    pong = bundle.automation(
        "pong",
        "account",
        {"event": "updated", "fields": ["echoes"]},
        [{"set": {"touches": {"+": [{"var": "record.touches"}, 1]}}}],
    )
    crm = make(database_url, tmp_path, [ping, pong])
    try:
        account = crm.records.create("account", {"name": "华为"}, actor=SYSTEM)
        crm.records.update("account", account["id"], {"touches": 1}, actor=SYSTEM)

        # ping and pong may each run once in a chain: an automation never sets itself off again
        saved = rows(crm, "account")[0]
        assert (saved["touches"], saved["echoes"]) == (2, 1)
        assert [(r["automation"], r["status"]) for r in runs(crm)] == [("ping", "done"), ("pong", "done")]
    finally:
        crm.close()


def test_a_chain_deeper_than_five_is_stopped_and_shown_as_failed(database_url: str, tmp_path: Path) -> None:
    # six automations, each setting off the next through a field of its own
    fields = {f"f{i}": {"type": "integer", "default": 0} for i in range(7)}
    chain = [
        bundle.automation(
            f"step{i}",
            "member",
            {"event": "updated", "fields": [f"f{i}"]},
            [{"set": {f"f{i + 1}": {"+": [{"var": f"record.f{i + 1}"}, 1]}}}],
        )
        for i in range(6)
    ]
    original = bundle.ENTITIES["member"]
    bundle.ENTITIES["member"] = {"fields": {**original["fields"], **fields}}
    try:
        crm = make(database_url, tmp_path, chain)
    finally:
        bundle.ENTITIES["member"] = original
    try:
        member = crm.records.create("member", {"name": "李娜"}, actor=SYSTEM)
        crm.records.update("member", member["id"], {"f0": 1}, actor=SYSTEM)
        saved = rows(crm, "member")[0]
        assert [saved[f"f{i}"] for i in range(7)] == [1, 1, 1, 1, 1, 1, 0]
        ran = [(r["automation"], r["status"]) for r in runs(crm)]
        assert ran == [*((f"step{i}", "done") for i in range(5)), ("step5", "failed")]
        assert "deeper than 5" in runs(crm, "step5")[0]["error"]
    finally:
        crm.close()


# -- background runs ---------------------------------------------------------------------------------


def test_a_background_automation_runs_after_the_commit_and_is_retried_until_shown_failed(
    database_url: str, tmp_path: Path
) -> None:
    later = bundle.automation(
        "rank_later",
        "task",
        {"event": "created"},
        [{"set": {"priority": {"+": [{"var": "record.priority"}, 3]}}}],
        mode="background",
    )
    crm = make(database_url, tmp_path, [later])
    try:
        ok = crm.records.create("task", {"title": "Call", "priority": 1}, actor=SYSTEM)
        bad = crm.records.create("task", {"title": "Visit", "priority": 4}, actor=SYSTEM)
        assert [r["status"] for r in runs(crm)] == ["pending", "pending"]  # the change itself is not held up
        assert [t["priority"] for t in rows(crm, "task")] == [1, 4]

        assert crm.automations.run_pending() == 2
        assert crm.records.get("task", ok["id"], actor=SYSTEM)["priority"] == 4
        good, failing = runs(crm)
        assert good["status"] == "done"
        assert failing["status"] == "pending" and failing["attempts"] == 1 and "priority" in failing["error"]

        now = datetime.now(UTC)
        for attempt in range(2, MAX_ATTEMPTS + 1):
            now += timedelta(days=1)
            assert crm.automations.run_pending(now=now) == 1
            assert runs(crm)[1]["attempts"] == attempt
        assert runs(crm)[1]["status"] == "failed"
        assert crm.automations.run_pending(now=now + timedelta(days=30)) == 0  # failed runs wait for a person

        listed = crm.automations.runs(user=SYSTEM_USER, failed=True)
        assert [r.record_id for r in listed] == [bad["id"]]
        crm.records.update("task", bad["id"], {"priority": 0}, actor=SYSTEM)
        retried = crm.automations.retry(listed[0].id, user=SYSTEM_USER)
        assert retried.status == "done"
        assert crm.records.get("task", bad["id"], actor=SYSTEM)["priority"] == 3
    finally:
        crm.close()


def test_only_administrators_read_runs(crm: CrmEngine) -> None:
    crm.users.create("rita", roles=["rep"])
    with pytest.raises(PermissionDeniedError):
        crm.automations.runs(user=crm.users.get("rita"))


# -- the clock ---------------------------------------------------------------------------------------


def test_a_date_trigger_fires_once_per_record_however_often_the_tick_runs(crm: CrmEngine) -> None:
    soon = agreement(crm, "Ends in 30 days", TODAY + timedelta(days=30))
    agreement(crm, "Ends in 90 days", TODAY + timedelta(days=90))

    first = tick(crm, now=NOON)
    assert first.planned["renewal_reminder"] == 1
    tick(crm, now=NOON)
    tick(crm, now=NOON + timedelta(hours=5))

    renewals = [t for t in rows(crm, "task") if t["title"].startswith("Renew")]
    assert [(t["title"], t["agreement"], t["due"]) for t in renewals] == [
        ("Renew Ends in 30 days", soon["id"], TODAY + timedelta(days=30))
    ]

    # 31 days later the second one is 59 days from its end: due now, once
    tick(crm, now=NOON + timedelta(days=31))
    tick(crm, now=NOON + timedelta(days=32))
    assert len([t for t in rows(crm, "task") if t["title"].startswith("Renew")]) == 2


def test_a_record_whose_date_moves_is_planned_again(crm: CrmEngine) -> None:
    signed = agreement(crm, "Extended", TODAY + timedelta(days=20))
    tick(crm, now=NOON)
    crm.records.update("agreement", signed["id"], {"end_date": (TODAY + timedelta(days=50)).isoformat()}, actor=SYSTEM)
    tick(crm, now=NOON)
    assert [r["occurrence"] for r in runs(crm, "renewal_reminder")] == [
        (TODAY + timedelta(days=20)).isoformat(),
        (TODAY + timedelta(days=50)).isoformat(),
    ]


def test_an_agreement_expires_the_day_after_it_ends_and_its_open_tasks_close(crm: CrmEngine) -> None:
    ended = agreement(crm, "Ended", TODAY - timedelta(days=2))
    running = agreement(crm, "Running", TODAY + timedelta(days=200))
    crm.records.create("task", {"title": "Invoice", "agreement": ended["id"]}, actor=SYSTEM)

    report = tick(crm, now=NOON)

    assert report.planned == {"expire_after_end": 1, "renewal_reminder": 1}
    # the expiry ran first: when the renewal's turn came its rule no longer held
    assert [r["status"] for r in runs(crm, "renewal_reminder")] == ["skipped"]
    statuses = {a["title"]: a["status"] for a in rows(crm, "agreement")}
    assert statuses == {"Ended": "expired", "Running": "active"}
    assert [(t["title"], t["done"]) for t in rows(crm, "task")] == [("Invoice", True)]
    history = crm.workflows.history("agreement", ended["id"], actor=SYSTEM)
    assert [(h["transition"], h["comment"]) for h in history][-1] == ("expire", "ended")
    assert running["status"] == "active"


def test_a_yearly_trigger_fires_on_each_anniversary_and_only_within_its_catch_up(crm: CrmEngine) -> None:
    crm.records.create("member", {"name": "王芳", "birthday": TODAY.replace(year=1990).isoformat()}, actor=SYSTEM)
    long_ago = (TODAY - timedelta(days=40)).replace(year=1985)
    crm.records.create("member", {"name": "张伟", "birthday": long_ago.isoformat()}, actor=SYSTEM)

    tick(crm, now=NOON)
    tick(crm, now=NOON + timedelta(days=1))
    cards = [t["title"] for t in rows(crm, "task")]
    assert cards == ["Birthday: 王芳"]  # 张伟's birthday was 40 days ago: past the 7-day catch-up

    tick(crm, now=NOON + timedelta(days=366))
    assert [t["title"] for t in rows(crm, "task")] == ["Birthday: 王芳", "Birthday: 王芳"]


def test_a_schedule_fires_once_per_slot_for_each_record_its_rule_holds_for(database_url: str, tmp_path: Path) -> None:
    dormant = bundle.automation(
        "mark_dormant",
        "member",
        {"event": "schedule", "cron": "0 3 * * *"},
        [{"set": {"dormant": True}}],
        when={"!": [{"var": "record.dormant"}]},
    )
    crm = make(database_url, tmp_path, [dormant])
    try:
        for name in ("王芳", "张伟"):
            crm.records.create("member", {"name": name}, actor=SYSTEM)
        three = datetime(TODAY.year, TODAY.month, TODAY.day, 3, tzinfo=UTC)
        assert tick(crm, now=three - timedelta(hours=2)).planned == {}  # yesterday's slot: too old to fire first
        assert tick(crm, now=three + timedelta(minutes=1)).planned == {"mark_dormant": 2}
        assert tick(crm, now=three + timedelta(minutes=2)).planned == {}
        assert all(m["dormant"] for m in rows(crm, "member"))
        crm.records.update("member", 1, {"dormant": False}, actor=SYSTEM)
        assert tick(crm, now=three + timedelta(days=1, minutes=1)).planned == {"mark_dormant": 1}
    finally:
        crm.close()


# -- workflow transitions gain create-as, update and transition ----------------------------------------


def test_a_transition_can_create_linked_records_and_act_on_the_record_a_reference_points_to(
    database_url: str, tmp_path: Path
) -> None:
    path = bundle.write(tmp_path, [])
    lead = {
        "schema_version": 1,
        "kind": "entity",
        "name": "lead",
        "fields": {
            "company": {"type": "string", "required": True},
            "stage": {"type": "enum", "choices": ["new", "converted"], "default": "new"},
            "agreement": {"type": "reference", "target": "agreement"},
        },
    }
    flow = {
        "schema_version": 1,
        "kind": "workflow",
        "name": "lead_flow",
        "entity": "lead",
        "field": "stage",
        "states": {"new": {"initial": True}, "converted": {"final": True}},
        "transitions": {
            "convert": {
                "from": ["new"],
                "to": "converted",
                "actions": [
                    {"create": {"entity": "account", "values": {"name": {"var": "record.company"}}, "as": "customer"}},
                    {
                        "create": {
                            "entity": "agreement",
                            "values": {"title": "First order", "account": {"var": "created.customer.id"}},
                        }
                    },
                    {"update": {"target": "agreement", "values": {"title": "Superseded by conversion"}}},
                    {"transition": {"name": "expire", "target": "agreement", "comment": "replaced"}},
                ],
            }
        },
    }
    import json

    (path / "lead.json").write_text(json.dumps(lead))
    (path / "lead_flow.json").write_text(json.dumps(flow))
    crm = CrmEngine(database_url)
    try:
        crm.apply(load_definitions(path))
        old = agreement(crm, "Pilot", TODAY + timedelta(days=5))
        made = crm.records.create("lead", {"company": "中铁十二局", "agreement": old["id"]}, actor=SYSTEM)
        crm.workflows.run("lead", made["id"], "convert", user=SYSTEM_USER)

        (account,) = rows(crm, "account")
        assert account["name"] == "中铁十二局"
        pilot, first = rows(crm, "agreement")
        assert (first["title"], first["account"]) == ("First order", account["id"])
        assert (pilot["title"], pilot["status"]) == ("Superseded by conversion", "expired")
    finally:
        crm.close()


# -- records written in bulk -------------------------------------------------------------------------


def test_imported_records_set_off_created_automations_each_as_if_created_alone(
    database_url: str, tmp_path: Path
) -> None:
    from engine.transfer import import_csv

    welcome = bundle.automation(
        "first_task",
        "agreement",
        {"event": "created"},
        [
            {
                "create": {
                    "entity": "task",
                    "values": {
                        "title": {"cat": ["Kick off ", {"var": "record.title"}]},
                        "agreement": {"var": "record.id"},
                    },
                }
            }
        ],
        when={"!=": [{"var": "record.title"}, "Skip me"]},
    )
    crm = make(database_url, tmp_path, [welcome])
    try:
        path = tmp_path / "agreements.csv"
        lines = ["title,end_date", *(f"Agreement {i},2030-01-01" for i in range(1, 251)), "Skip me,2030-01-01"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_csv(crm, "agreement", path, actor=SYSTEM, batch_size=100)
        assert report.inserted == 251
        made = rows(crm, "task")
        assert len(made) == 250
        by_agreement = {t["agreement"]: t["title"] for t in made}
        for agreement_row in rows(crm, "agreement"):
            if agreement_row["title"] == "Skip me":
                assert agreement_row["id"] not in by_agreement
            else:
                assert by_agreement[agreement_row["id"]] == f"Kick off {agreement_row['title']}"
        assert {r["status"] for r in runs(crm, "first_task")} == {"done"}
    finally:
        crm.close()


def test_an_import_whose_automation_fails_imports_nothing_and_names_it(database_url: str, tmp_path: Path) -> None:
    from engine.transfer import import_csv

    broken = bundle.automation(
        "rank_high",
        "task",
        {"event": "created"},
        [{"set": {"priority": {"+": [4, 5]}}}],  # above the maximum of 5, found when it runs
    )
    crm = make(database_url, tmp_path, [broken])
    try:
        path = tmp_path / "tasks.csv"
        path.write_text("title\nCall\nVisit\n", encoding="utf-8")
        with pytest.raises(AutomationFailedError) as refused:
            import_csv(crm, "task", path, actor=SYSTEM)
        assert "rank_high" in str(refused.value)
        assert rows(crm, "task") == [] and runs(crm) == []
    finally:
        crm.close()
