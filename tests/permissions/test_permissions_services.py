"""Permissions enforced by the services (records, workflows, scores, export, audit) and by
``crm --as``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import NotFoundError, PermissionDeniedError, RecordValidationError
from engine.runtime import CrmEngine
from engine.transfer import export_csv
from engine.workflow import TransitionRefusedError
from tests.permissions.permissions_support import set_up
from tests.support import SYSTEM, CliResult, acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> tuple[CrmEngine, dict[str, int]]:
    return engine, set_up(engine, tmp_path)


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("boss", {"ann", "bob", "carl"}),
        ("mia", {"ann", "bob"}),
        ("ann", {"ann"}),
        ("carl", {"carl"}),
        ("aud", {"ann", "bob", "carl"}),
    ],
)
def test_list_is_limited_to_the_row_scope(crm: tuple[CrmEngine, dict[str, int]], user: str, visible: set[str]) -> None:
    engine, _ = crm
    page = engine.records.list("lead", actor=engine.users.get(user))
    assert {r["owner"] for r in page.items} == visible and page.total == len(visible)
    # a filter narrows within the scope, never beyond it
    narrowed = engine.records.list("lead", where={"owner": "carl"}, actor=engine.users.get(user))
    assert narrowed.total == (1 if "carl" in visible else 0)


def test_users_listing_in_turn_each_get_their_own_scope(crm: tuple[CrmEngine, dict[str, int]]) -> None:
    # one engine serves every user: a list statement kept from one user's call must run
    # with the next user's name and team
    engine, _ = crm
    expected = {"boss": {"ann", "bob", "carl"}, "mia": {"ann", "bob"}, "ann": {"ann"}, "carl": {"carl"}}
    for _round in range(2):
        for user, visible in expected.items():
            page = engine.records.list("lead", actor=engine.users.get(user))
            assert {r["owner"] for r in page.items} == visible and page.total == len(visible)


def test_hidden_fields_never_appear(crm: tuple[CrmEngine, dict[str, int]], tmp_path: Path) -> None:
    engine, ids = crm
    ann = engine.users.get("ann")
    assert "cost" not in engine.records.get("lead", ids["ann"], actor=ann)
    assert all("cost" not in r for r in engine.records.list("lead", actor=ann).items)
    with pytest.raises(Exception) as caught:  # a hidden field is an unknown one in filters and sorts
        engine.records.list("lead", where={"cost": {"gt": 0}}, actor=ann)
    assert getattr(caught.value, "http_status", None) == 400
    with pytest.raises(Exception) as sorted_by:
        engine.records.list("lead", sort="-cost", actor=ann)
    assert getattr(sorted_by.value, "http_status", None) == 400
    engine.records.update("lead", ids["ann"], {"cost": "99.00"}, actor=acting_for("boss"))
    assert all(r["field"] != "cost" for r in engine.records.audit("lead", ids["ann"], actor=ann))
    assert any(r["field"] == "cost" for r in engine.records.audit("lead", ids["ann"], actor=SYSTEM))
    out = tmp_path / "leads.csv"
    assert export_csv(engine, "lead", out, actor=ann) == 1
    with out.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert "cost" not in header and "title" in header
    assert "cost" in engine.records.get("lead", ids["ann"], actor=SYSTEM)  # the system sees everything


def test_read_only_and_hidden_fields_are_refused_on_write(crm: tuple[CrmEngine, dict[str, int]]) -> None:
    engine, ids = crm
    ann = engine.users.get("ann")
    with pytest.raises(PermissionDeniedError) as caught:
        engine.records.update("lead", ids["ann"], {"score": 5, "cost": "1.00", "title": "x"}, actor=ann)
    found = {(p.field, p.code) for p in caught.value.problems}
    assert found == {("score", "read_only_field"), ("cost", "hidden_field")}
    with pytest.raises(PermissionDeniedError):
        engine.records.create("lead", {"title": "new", "score": 1}, actor=ann)
    # workflow actions still set read-only fields
    qualified = engine.workflows.run("lead", ids["ann"], "qualify", user=ann)
    assert engine.records.get("lead", ids["ann"], actor=SYSTEM)["score"] == 50 and qualified["stage"] == "qualified"
    assert "cost" not in qualified


def test_records_outside_the_scope_do_not_exist(crm: tuple[CrmEngine, dict[str, int]]) -> None:
    engine, ids = crm
    ann = engine.users.get("ann")
    for call in (
        lambda: engine.records.get("lead", ids["carl"], actor=ann),
        lambda: engine.records.update("lead", ids["carl"], {"title": "x"}, actor=ann),
        lambda: engine.workflows.run("lead", ids["carl"], "qualify", user=ann),
        lambda: engine.workflows.check("lead", ids["carl"], ann),
        lambda: engine.workflows.history("lead", ids["carl"], actor=ann),
        lambda: engine.records.audit("lead", ids["carl"], actor=ann),
    ):
        with pytest.raises(NotFoundError) as caught:
            call()
        assert str(ids["carl"]) in caught.value.message and "carl" not in caught.value.message
    with pytest.raises(PermissionDeniedError):  # visible to the auditor, but not changeable
        engine.records.update("lead", ids["carl"], {"title": "x"}, actor=engine.users.get("aud"))
    with pytest.raises(TransitionRefusedError):  # visible, and the workflow's roles decide
        engine.workflows.run("lead", ids["carl"], "qualify", user=engine.users.get("aud"))


def test_owner_reassignment_needs_update_and_keeps_history(crm: tuple[CrmEngine, dict[str, int]]) -> None:
    engine, ids = crm
    mia, ann = engine.users.get("mia"), engine.users.get("ann")
    moved = engine.records.update("lead", ids["bob"], {"owner": "ann"}, actor=mia)
    assert moved["owner"] == "ann"
    assert engine.records.get("lead", ids["bob"], actor=ann)["owner"] == "ann"
    trail = [
        (r["field"], r["old_value"], r["new_value"]) for r in engine.records.audit("lead", ids["bob"], actor=SYSTEM)
    ]
    assert ("owner", "bob", "ann") in trail
    engine.records.update("lead", ids["bob"], {"owner": "carl"}, actor=ann)  # handed over: gone for ann
    with pytest.raises(NotFoundError):
        engine.records.get("lead", ids["bob"], actor=ann)


def test_entity_operations(crm: tuple[CrmEngine, dict[str, int]]) -> None:
    engine, ids = crm
    product = engine.records.create("product", {"name": "Router"}, actor=acting_for("boss"))
    ann, ghost = engine.users.get("ann"), engine.users.get("ghost")
    assert engine.records.get("product", product["id"], actor=ann)["name"] == "Router"
    for call in (
        lambda: engine.records.create("product", {"name": "Switch"}, actor=ann),
        lambda: engine.records.update("product", product["id"], {"name": "x"}, actor=ann),
        lambda: engine.records.delete("lead", ids["ann"], actor=ann),
        lambda: engine.records.list("lead", actor=ghost),
        lambda: engine.records.get("lead", ids["ann"], actor=ghost),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    engine.records.delete("lead", ids["bob"], actor=engine.users.get("mia"))


def test_without_roles_nothing_is_enforced(engine: CrmEngine, tmp_path: Path) -> None:
    ids = set_up(engine, tmp_path, roles=False)
    ghost = engine.users.get("ghost")
    assert engine.records.list("lead", actor=ghost).total == 3
    assert engine.records.update("lead", ids["carl"], {"score": 3}, actor=ghost)["score"] == 3
    with pytest.raises(RecordValidationError):
        engine.records.create("lead", {}, actor=ghost)


def test_cli_as_gets_the_same_answers(
    crm: tuple[CrmEngine, dict[str, int]],
    database_url: str,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, ids = crm
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    listed = run_cli("--as", "ann", "record", "list", "lead", "--json")
    assert listed.exit_code == 0 and [r["owner"] for r in listed.json()["items"]] == ["ann"]
    assert all("cost" not in r for r in listed.json()["items"])
    hidden = run_cli("--as", "ann", "record", "get", "lead", ids["carl"])
    assert hidden.exit_code == 4 and "Traceback" not in hidden.stderr
    refused = run_cli("--as", "ann", "record", "update", "lead", ids["ann"], "--data", '{"score": 1}')
    assert refused.exit_code == 7 and "score" in refused.stderr
    assert run_cli("record", "get", "lead", ids["carl"], "--json").json()["cost"] == "1200.00"  # system
