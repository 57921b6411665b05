"""``crm record merge`` and ``crm merge list|show|undo`` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.runtime import CrmEngine
from tests.merge.merge_support import make, set_up
from tests.support import SYSTEM, CliResult, acting_for

Run = Callable[..., CliResult]


@pytest.fixture
def url(engine: CrmEngine, database_url: str, tmp_path: Path) -> str:
    set_up(engine, tmp_path)
    return database_url


def test_merge_show_list_and_undo(engine: CrmEngine, url: str, run_cli: Run) -> None:
    target = make(engine, "account", name="Acme", phone="1")
    source = make(engine, "account", name="Acme Ltd", phone="2", city="Xi'an")
    make(engine, "contact", name="c", account=source)
    done = run_cli(
        "--database-url", url, "record", "merge", "account", source, "--into", target, "--take", "phone=source"
    )
    assert done.exit_code == 0, done.stderr
    assert "1 reference(s) moved" in done.stdout and "crm merge undo 1" in done.stdout
    record = engine.records.get("account", target, actor=SYSTEM)
    assert (record["phone"], record["city"], record["name"]) == ("2", "Xi'an", "Acme")
    listed = run_cli("--database-url", url, "merge", "list", "--json").json()
    assert [(m["id"], m["source"], m["target"]) for m in listed] == [(1, source, target)]
    shown = run_cli("--database-url", url, "merge", "show", "1", "--json").json()
    assert shown["taken"]["phone"] == {"old": "1", "new": "2"}
    assert shown["source_row"]["name"] == "Acme Ltd"
    undone = run_cli("--database-url", url, "merge", "undo", "1")
    assert undone.exit_code == 0, undone.stderr
    assert engine.records.get("account", source, actor=SYSTEM)["name"] == "Acme Ltd"


def test_merge_json(engine: CrmEngine, url: str, run_cli: Run) -> None:
    target, source = make(engine, "account", name="A"), make(engine, "account", name="B")
    out = run_cli("--database-url", url, "record", "merge", "account", source, "--into", target, "--json")
    assert out.exit_code == 0
    assert out.json()["source"] == source and out.json()["target"] == target


@pytest.mark.parametrize(
    ("args", "code", "problem"),
    [
        (["--take", "phone"], 2, "take"),
        (["--take", "nope=source"], 3, "unknown_field"),
    ],
)
def test_merge_errors(engine: CrmEngine, url: str, run_cli: Run, args: list[str], code: int, problem: str) -> None:
    target, source = make(engine, "account", name="A"), make(engine, "account", name="B")
    out = run_cli("--database-url", url, "record", "merge", "account", source, "--into", target, *args, "--json")
    assert out.exit_code == code
    assert "Traceback" not in out.stderr
    assert [p["code"] for p in json.loads(out.stdout or out.stderr)["error"]["problems"]] == [problem]


def test_undo_refusal_is_one_clear_line(engine: CrmEngine, url: str, run_cli: Run) -> None:
    target = make(engine, "account", name="A")
    source = make(engine, "account", name="B", city="Xi'an")
    assert run_cli("--database-url", url, "record", "merge", "account", source, "--into", target).exit_code == 0
    engine.records.update("account", target, {"city": "Beijing"}, actor=SYSTEM)
    out = run_cli("--database-url", url, "merge", "undo", "1")
    assert out.exit_code == 5
    first = out.stderr.splitlines()[0]
    assert first.startswith("error: merge 1 cannot be undone") and "city" in first
    assert "Traceback" not in out.stderr
    missing = run_cli("--database-url", url, "merge", "undo", "7")
    assert missing.exit_code == 4
    same = run_cli("--database-url", url, "record", "merge", "account", target, "--into", target)
    assert same.exit_code == 2 and "itself" in same.stderr


def test_rep_may_not_merge_others_records(engine: CrmEngine, url: str, run_cli: Run) -> None:
    mine = engine.records.create("account", {"name": "Mine"}, actor=acting_for("ann"))
    theirs = make(engine, "account", name="Theirs")
    out = run_cli("--database-url", url, "--as", "ann", "record", "merge", "account", mine["id"], "--into", theirs)
    assert out.exit_code == 7
    assert engine.records.get("account", mine["id"], actor=SYSTEM)["name"] == "Mine"
