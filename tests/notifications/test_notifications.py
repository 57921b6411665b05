"""Notifications on SQLite and PostgreSQL: who a notify action tells, in the change that
notified (and never after a rollback), what each user reads and marks read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError, NotFoundError, RecordValidationError
from engine.hooks import hookimpl
from engine.metadata import Recipient
from engine.metadata._workflows import action_to_json
from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from tests.notifications import bundle
from tests.support import SYSTEM


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = bundle.make(database_url, tmp_path)
    yield engine
    engine.close()


def deal(crm: CrmEngine, title: str, **values: Any) -> dict[str, Any]:
    return crm.records.create("deal", {"title": title, **values}, actor=SYSTEM)


def approve(crm: CrmEngine, record: dict[str, Any]) -> dict[str, Any]:
    return crm.workflows.run("deal", record["id"], "approve", user=SYSTEM_USER)


def inbox(crm: CrmEngine, user: str) -> list[tuple[str, str, str | None]]:
    return [(n.topic, n.title, n.message) for n in crm.notifications.list(user)]


# -- recipients ------------------------------------------------------------------------------------


def test_a_transition_notifies_the_owner_a_role_a_user_and_a_field_once_each(crm: CrmEngine) -> None:
    record = deal(crm, "西安华信 ERP", owner="wang.fang", account_manager="zhao.lei")
    approve(crm, record)

    expected = [("deal.approved", "Deal approved: 西安华信 ERP", "Please book the deal.")]
    # owner; finance: zhao.lei (also the account manager: once) and chen.jie; li.na by name
    for user in ("wang.fang", "zhao.lei", "chen.jie", "li.na"):
        assert inbox(crm, user) == expected, user
    assert inbox(crm, "old.hand") == []  # deactivated: skipped
    (note,) = crm.notifications.list("zhao.lei")
    assert (note.entity, note.record_id, note.actor, note.read) == ("deal", record["id"], "system", False)


def test_a_transition_notifies_the_team_named_by_child_records(database_url: str, tmp_path: Path) -> None:
    still_on = {**TEAM, "where": {"!": [{"var": "child.left_on"}]}}
    workflow = _with_notify({"topic": "deal.approved", "to": [{"children": still_on}], "title": "Approved"})
    with CrmEngine(database_url) as crm:
        crm.apply(bundle.definitions(tmp_path, workflow=workflow))
        for name in ("wang.fang", "li.na", "chen.jie"):
            crm.users.create(name, roles=["sales"])
        record = deal(crm, "西安华信 ERP")
        other = deal(crm, "Another deal")
        for member, left_on, on in (
            ("wang.fang", None, record),
            ("li.na", "2026-01-05", record),
            ("chen.jie", None, other),
        ):
            values = {"deal": on["id"], "member": member, "left_on": left_on}
            crm.records.create("deal_member", values, actor=SYSTEM)
        crm.records.create("deal_member", {"deal": record["id"], "member": "no.such.user"}, actor=SYSTEM)
        approve(crm, record)
        told = {name: inbox(crm, name) for name in ("wang.fang", "li.na", "chen.jie")}
        (stored,) = crm.model.definitions.workflows["deal_flow"].transitions["approve"].actions
    # the member still on the deal is told; who left it, and the team of another deal, are not
    assert told == {"wang.fang": [("deal.approved", "Approved", None)], "li.na": [], "chen.jie": []}
    assert action_to_json(stored)["notify"]["to"] == [{"children": still_on}]


def test_empty_and_unknown_users_are_skipped(crm: CrmEngine) -> None:
    record = deal(crm, "Nobody's deal", account_manager="left.company")
    approve(crm, record)
    assert inbox(crm, "left.company") == []
    assert {n.user for n in crm.notifications.all_users()} == {"zhao.lei", "chen.jie", "li.na"}


def test_recipients_resolve_each_kind(crm: CrmEngine) -> None:
    record = {"id": 1, "owner": "li.na", "account_manager": "wang.fang"}
    cases = {
        Recipient("owner"): ["li.na"],
        Recipient("role", "finance"): ["chen.jie", "zhao.lei"],
        Recipient("user", "wang.fang"): ["wang.fang"],
        Recipient("field", "account_manager"): ["wang.fang"],
        Recipient("user", "nobody"): [],
        Recipient("user", "old.hand"): [],
    }
    with crm.db.read() as conn:
        for recipient, names in cases.items():
            assert [u.name for u in crm.notifications.recipients(conn, [recipient], record)] == names, recipient


def test_without_recipients_notify_only_calls_the_plugin_hook(crm: CrmEngine) -> None:
    heard: list[str] = []

    class Listener:
        @hookimpl
        def crm_notify(self, engine: CrmEngine, topic: str, entity: str, record: dict[str, Any], actor: str) -> None:
            heard.append(topic)

    crm.plugins.register(Listener(), "listener")
    crm.workflows.run("deal", deal(crm, "Lost one", owner="li.na")["id"], "lose", user=SYSTEM_USER)
    approve(crm, deal(crm, "Won one", owner="li.na"))
    assert heard == ["deal.lost", "deal.approved"]
    assert inbox(crm, "li.na") == [("deal.approved", "Deal approved: Won one", "Please book the deal.")]


def test_an_automation_notifies_in_the_change(crm: CrmEngine) -> None:
    deal(crm, "Small", amount=10)
    deal(crm, "Huge", amount=5_000_000)
    assert inbox(crm, "wang.fang") == [("deal.big", "Big deal: Huge", None)]
    assert inbox(crm, "li.na") == [("deal.big", "Big deal: Huge", None)]
    assert crm.notifications.list("li.na")[0].actor == "system:automation:big_deal"


def test_a_change_that_rolls_back_leaves_no_notification(crm: CrmEngine) -> None:
    with pytest.raises(RecordValidationError), crm.db.write() as tx:
        crm.records.create("deal", {"title": "Huge", "amount": 5_000_000}, actor=SYSTEM, conn=tx)
        crm.records.create("deal", {"amount": 1}, actor=SYSTEM, conn=tx)  # no title: refused
    assert crm.notifications.all_users() == []


# -- reading and marking read ----------------------------------------------------------------------


def test_list_unread_count_and_mark_read(crm: CrmEngine) -> None:
    for n in range(3):
        deal(crm, f"Huge {n}", amount=2_000_000)
    assert crm.notifications.unread_count("li.na") == 3
    newest, middle, oldest = crm.notifications.list("li.na")
    assert newest.title == "Big deal: Huge 2" and newest.id > middle.id > oldest.id
    assert [n.id for n in crm.notifications.list("li.na", limit=1, before_id=newest.id)] == [middle.id]

    assert crm.notifications.mark_read("li.na", [middle.id]) == 1
    assert crm.notifications.mark_read("li.na", [middle.id]) == 0  # already read
    assert [n.id for n in crm.notifications.list("li.na", unread_only=True)] == [newest.id, oldest.id]
    assert crm.notifications.unread_count("li.na") == 2
    assert crm.notifications.unread_count("wang.fang") == 3  # others' stay unread

    with pytest.raises(NotFoundError):
        crm.notifications.mark_read("wang.fang", [newest.id])  # li.na's, not wang.fang's
    assert crm.notifications.mark_read("li.na", "all") == 2
    assert crm.notifications.unread_count("li.na") == 0


# -- definitions -----------------------------------------------------------------------------------


def test_recipients_title_and_message_round_trip_through_the_stored_form(crm: CrmEngine) -> None:
    (action,) = crm.model.definitions.workflows["deal_flow"].transitions["approve"].actions
    assert action.recipients == (
        Recipient("owner"),
        Recipient("role", "finance"),
        Recipient("user", "li.na"),
        Recipient("field", "account_manager"),
    )
    assert action_to_json(action) == bundle.APPROVE_NOTIFY
    with CrmEngine(crm.db.url) as again:  # read back from the stored form
        (stored,) = again.model.definitions.workflows["deal_flow"].transitions["approve"].actions
    assert stored == action


AT = "/transitions/approve/actions/0/notify"
TEAM = {"entity": "deal_member", "reference": "deal", "field": "member"}
KIDS = AT + "/to/0/children/"


def _with_notify(notify: dict[str, Any]) -> dict[str, Any]:
    workflow = dict(bundle.WORKFLOW)
    workflow["transitions"] = {
        "approve": {"from": ["open"], "to": "approved", "actions": [{"notify": notify}]},
        "lose": {"from": ["open"], "to": "lost"},
    }
    return workflow


@pytest.mark.parametrize(
    ("notify", "pointer", "code"),
    [
        ({"topic": "t", "to": [{"role": "finanse"}]}, AT + "/to/0/role", "unknown_role"),
        ({"topic": "t", "to": [{"field": "manager"}]}, AT + "/to/0/field", "unknown_field"),
        ({"topic": "t", "to": ["owner", {"field": "amount"}]}, AT + "/to/1/field", "not_user_field"),
        ({"topic": "t", "to": [{"children": {**TEAM, "entity": "deal_membr"}}]}, KIDS + "entity", "unknown_entity"),
        ({"topic": "t", "to": [{"children": {**TEAM, "reference": "member"}}]}, KIDS + "reference", "not_reference"),
        ({"topic": "t", "to": [{"children": {**TEAM, "field": "membr"}}]}, KIDS + "field", "unknown_field"),
        ({"topic": "t", "to": [{"children": {**TEAM, "field": "share"}}]}, KIDS + "field", "not_user_field"),
        ({"topic": "t", "to": [{"children": {**TEAM, "where": {"var": "child.x"}}}]}, KIDS + "where", "unknown_field"),
        ({"topic": "t", "to": [{"children": {"entity": "deal_member", "field": "member"}}]}, AT + "/to/0", None),
        ({"topic": "t", "to": ["everyone"]}, AT + "/to/0", None),
        ({"topic": "t", "to": [{"team": "east"}]}, AT + "/to/0", None),
        ({"topic": "t", "to": []}, AT + "/to", None),
        ({"topic": "t", "to": ["owner"], "title": {"var": "record.nope"}}, AT + "/title", "unknown_field"),
        ({"topic": "t", "message": {"var": "inputs.why"}}, AT + "/message", "unknown_variable"),
    ],
)  # fmt: skip
def test_bad_notify_actions_are_refused_with_pointer_and_code(
    tmp_path: Path, notify: dict[str, Any], pointer: str, code: str | None
) -> None:
    with pytest.raises(DefinitionError) as caught:
        bundle.definitions(tmp_path, workflow=_with_notify(notify))
    found = [(p.file or "", p.pointer, p.code) for p in caught.value.problems]
    assert any(f.endswith("deal_flow.json") and ptr == pointer for f, ptr, _c in found), found
    if code is not None:
        assert any(ptr == pointer and c == code for _f, ptr, c in found), found


def test_an_automation_naming_an_unknown_role_is_refused(tmp_path: Path) -> None:
    automation = dict(bundle.BIG_DEAL)
    automation["actions"] = [{"notify": {"topic": "deal.big", "to": [{"role": "sale"}]}}]
    with pytest.raises(DefinitionError) as caught:
        bundle.definitions(tmp_path, automations=[automation])
    ((file, pointer, code),) = [(p.file or "", p.pointer, p.code) for p in caught.value.problems]
    assert file.endswith("auto_big_deal.json")
    assert (pointer, code) == ("/actions/0/notify/to/0/role", "unknown_role")


def test_without_role_documents_roles_are_free_names(tmp_path: Path) -> None:
    workflow = _with_notify({"topic": "t", "to": [{"role": "anyone"}]})
    assert bundle.definitions(tmp_path, workflow=workflow, roles=False, automations=[]).workflows


def test_a_background_automation_notifies_when_its_run_runs(database_url: str, tmp_path: Path) -> None:
    background = {**bundle.BIG_DEAL, "mode": "background"}
    with bundle.make(database_url, tmp_path, automations=[background]) as crm:
        deal(crm, "Huge later", amount=5_000_000)
        assert crm.notifications.unread_count("li.na") == 0  # not yet: the run waits for a worker
        assert crm.automations.run_pending() == 1
        assert inbox(crm, "li.na") == [("deal.big", "Big deal: Huge later", None)]
