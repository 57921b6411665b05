"""``crm user update --email``, ``crm user create --email`` and ``crm notifications``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from tests.notifications import bundle
from tests.support import SYSTEM, CliResult


def test_email_addresses_from_the_command_line(
    database_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    bundle.make(database_url, tmp_path).close()
    db = ("--database-url", database_url)
    created = run_cli(*db, "user", "create", "sun.li", "--role", "sales", "--email", "sun.li@example.com")
    assert created.exit_code == 0, created.stderr
    updated = run_cli(*db, "user", "update", "chen.jie", "--email", "chen.jie@example.com", "--json")
    assert updated.exit_code == 0, updated.stderr
    assert updated.json()["email"] == "chen.jie@example.com"
    bad = run_cli(*db, "user", "update", "chen.jie", "--email", "not an address")
    assert bad.exit_code != 0 and "Traceback" not in bad.stderr
    assert "not an email address" in bad.stderr
    unknown = run_cli(*db, "user", "update", "nobody", "--email", "a@b.cn")
    assert unknown.exit_code == 4
    with CrmEngine(database_url) as crm:
        assert crm.users.get("sun.li").email == "sun.li@example.com"
        assert crm.users.get("chen.jie").email == "chen.jie@example.com"


def test_listing_notifications(database_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    with bundle.make(database_url, tmp_path) as crm:
        record = crm.records.create("deal", {"title": "华信 ERP", "owner": "wang.fang"}, actor=SYSTEM)
        crm.workflows.run("deal", record["id"], "approve", user=SYSTEM_USER)
        (first,) = crm.notifications.list("wang.fang")
        crm.notifications.mark_read("wang.fang", [first.id])
    db = ("--database-url", database_url)

    everyone = run_cli(*db, "notifications", "--json")
    assert everyone.exit_code == 0, everyone.stderr
    assert {n["user"] for n in everyone.json()["items"]} == {"wang.fang", "zhao.lei", "chen.jie", "li.na"}

    mine = run_cli(*db, "--as", "li.na", "notifications", "--unread", "--json")
    assert mine.exit_code == 0, mine.stderr
    assert [(n["user"], n["title"]) for n in mine.json()["items"]] == [("li.na", "Deal approved: 华信 ERP")]
    assert mine.json()["unread"] == 1

    assert run_cli(*db, "notifications", "--user", "wang.fang", "--unread").stdout.strip() == "no notifications unread"
    table = run_cli(*db, "notifications", "--user", "zhao.lei")
    assert "Deal approved: 华信 ERP" in table.stdout

    others = run_cli(*db, "--as", "li.na", "notifications", "--user", "wang.fang")
    assert others.exit_code == 7 and "Traceback" not in others.stderr
