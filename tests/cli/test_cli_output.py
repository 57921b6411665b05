"""What the ``crm`` text output shows a person: references as their record's display text,
amounts grouped at their scale, durations in days and hours, help pages with whole
summaries; ``--json`` keeps raw ids and values for scripts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa

from engine.cli import cli
from engine.cli._output import display_width
from engine.records import format_amount, format_duration
from engine.runtime import CrmEngine
from tests.support import CliResult, write_bundle

Run = Callable[..., CliResult]

ENTITIES: dict[str, Any] = {
    "account": {
        "label": {"en": "Account", "zh": "客户"},
        "display": "name",
        "fields": {"name": {"type": "string", "required": True}, "revenue": {"type": "money"}},
    },
    "opportunity": {
        "display": "title",
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "on_delete": "cascade"},
            "amount": {"type": "money"},
            "stage": {"type": "enum", "choices": ["open", "waiting", "won"], "default": "open"},
        },
    },
}
WORKFLOW = {
    "schema_version": 1, "kind": "workflow", "name": "deal_flow", "entity": "opportunity", "field": "stage",
    "states": {
        "open": {"initial": True, "max_duration": "P14D", "escalation": {"actions": [{"notify": {"topic": "a"}}]}},
        "waiting": {"max_duration": "P2DT4H", "escalation": {"actions": [{"notify": {"topic": "b"}}]}},
        "won": {"final": True, "max_duration": "PT3H30M", "escalation": {"actions": [{"notify": {"topic": "c"}}]}},
    },
    "transitions": {"wait": {"from": ["open"], "to": "waiting"}, "win": {"from": ["waiting"], "to": "won"}},
}  # fmt: skip
REPORT = {
    "schema_version": 1, "kind": "report", "name": "amount_by_stage", "label": {"en": "Amount by stage"},
    "type": "aggregate", "entity": "opportunity", "by": ["stage"],
    "measures": [{"name": "amount", "op": "sum", "field": "amount", "label": {"en": "Amount"}}],
}  # fmt: skip


@pytest.fixture
def cli_db(database_url: str, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    extra = {"deal_flow.json": WORKFLOW, "amount_by_stage.json": REPORT}
    bundle = write_bundle(tmp_path, "sales", ENTITIES, extra=extra)
    result = run_cli("schema", "apply", bundle)
    assert result.exit_code == 0, result.stderr
    for name in ("中国电信", "China Mobile"):
        assert run_cli("record", "create", "account", "--data", f'{{"name": "{name}"}}').exit_code == 0
    created = run_cli(
        "record", "create", "opportunity", "--data", '{"title": "5G core", "account": 1, "amount": "374100"}'
    )
    assert created.exit_code == 0, created.stderr
    return run_cli


def _line(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(start))


# -- 1. references as their record's display text -----------------------------------------


def test_record_list_and_get_show_references_by_display_text(cli_db: Run) -> None:
    listed = cli_db("record", "list", "opportunity")
    assert listed.exit_code == 0, listed.stderr
    row = _line(listed.stdout, "1 ")
    assert "中国电信 (#1)" in row and "374,100.00" in row
    shown = cli_db("record", "get", "opportunity", "1").stdout
    assert re.search(r"^account\s+中国电信 \(#1\)$", shown, flags=re.M), shown
    assert re.search(r"^amount\s+374,100\.00$", shown, flags=re.M), shown


def test_a_long_display_text_is_shortened_but_keeps_the_id(cli_db: Run) -> None:
    name = "石家庄同创汽车销售集团有限公司华北分公司"
    cli_db("record", "create", "account", "--data", f'{{"name": "{name}"}}')
    cli_db("record", "create", "opportunity", "--data", '{"title": "Fleet", "account": 3}')
    row = _line(cli_db("record", "list", "opportunity").stdout, "2 ")
    cell = re.search(r"石家庄\S*… \(#3\)", row)
    assert cell is not None and display_width(cell.group()) <= 32, row
    assert re.search(rf"^account\s+{name} \(#3\)$", cli_db("record", "get", "opportunity", "2").stdout, flags=re.M)


def test_json_output_keeps_raw_ids_and_amounts(cli_db: Run) -> None:
    record = cli_db("record", "get", "opportunity", "1", "--json").json()
    assert (record["account"], record["amount"]) == (1, "374100.00")
    (item,) = cli_db("record", "list", "opportunity", "--json").json()["items"]
    assert (item["account"], item["amount"]) == (1, "374100.00")
    cli_db("record", "update", "opportunity", "1", "--data", '{"account": 2}')
    (change, *_) = cli_db("audit", "opportunity", "1", "--json").json()
    assert (change["field"], change["old_value"], change["new_value"]) == ("account", 1, 2)


def test_a_reference_the_user_may_not_read_shows_its_id(cli_db: Run) -> None:
    cli_db("record", "create", "opportunity", "--data", '{"title": "Lost track", "account": 2}')
    cli_db("record", "delete", "account", "2")  # cascades: the opportunity goes too
    cli_db("record", "create", "opportunity", "--data", '{"title": "No account"}')
    listed = cli_db("record", "list", "opportunity").stdout
    assert "No account" in listed and "#2" not in listed
    assert "Lost track" not in listed


@pytest.fixture
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_references_are_read_in_one_query_per_page(cli_db: Run, statements: list[str]) -> None:
    for number in range(30):
        cli_db("record", "create", "account", "--data", f'{{"name": "Account {number}"}}')
        cli_db("record", "create", "opportunity", "--data", f'{{"title": "Deal {number}", "account": {number + 3}}}')
    statements.clear()
    listed = cli_db("record", "list", "opportunity", "--limit", "31")
    assert "Account 29 (#32)" in listed.stdout and "中国电信 (#1)" in listed.stdout
    account_reads = [s for s in statements if re.search(r"FROM\s+\"?account\"?", s)]
    assert len(account_reads) == 1, account_reads


# -- 1 and 3. the audit trail: references and amounts ---------------------------------------


def test_audit_shows_references_and_amounts_as_people_read_them(cli_db: Run) -> None:
    updated = cli_db("record", "update", "opportunity", "1", "--data", '{"account": 2, "amount": "1250000"}')
    assert updated.exit_code == 0, updated.stderr
    audit = cli_db("audit", "opportunity", "1").stdout
    account = next(line for line in audit.splitlines() if " account " in line and "update" in line)
    assert re.search(r"5G core \(#1\)\s+account\s+中国电信 \(#1\)\s+China Mobile \(#2\)", account), account
    amount = next(line for line in audit.splitlines() if " amount " in line and "update" in line)
    assert re.search(r"374,100\.00\s+1,250,000\.00", amount), amount


def test_report_tables_group_amounts(cli_db: Run) -> None:
    cli_db("record", "create", "opportunity", "--data", '{"title": "Core 2", "amount": "1000000"}')
    table = cli_db("report", "amount_by_stage").stdout
    assert re.search(r"^open\s+1,374,100\.00$", table, flags=re.M), table
    (row,) = cli_db("report", "amount_by_stage", "--json").json()["rows"]
    assert row["amount"] == "1374100.00"


@pytest.mark.parametrize(
    ("value", "scale", "shown"),
    [
        ("1250000", 2, "1,250,000.00"),
        ("374100.00", 2, "374,100.00"),
        ("-1234.5", 2, "-1,234.50"),
        ("0.125", 2, "0.13"),
        ("12.3456789", 6, "12.345679"),
        ("999", 0, "999"),
        ("not a number", 2, "not a number"),
    ],
)
def test_amount_format(value: str, scale: int, shown: str) -> None:
    assert format_amount(value, scale) == shown


# -- 2. durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "english", "chinese"),
    [
        (timedelta(days=14), "14 days", "14 天"),
        (timedelta(days=1), "1 day", "1 天"),
        (timedelta(days=2, hours=4), "2 days 4 h", "2 天 4 小时"),
        (timedelta(hours=3, minutes=30), "3 h 30 min", "3 小时 30 分钟"),
        (timedelta(minutes=30), "30 min", "30 分钟"),
        (timedelta(seconds=45), "45 s", "45 秒"),
        (timedelta(0), "0 s", "0 秒"),
        (timedelta(days=2, hours=23, minutes=59), "3 days", "3 天"),
        (5400.0, "1 h 30 min", "1 小时 30 分钟"),
    ],
)
def test_duration_format(value: timedelta | float, english: str, chinese: str) -> None:
    assert (format_duration(value), format_duration(value, "zh")) == (english, chinese)


def test_workflow_show_prints_slas_in_days_and_hours(cli_db: Run) -> None:
    shown = cli_db("workflow", "show", "opportunity").stdout
    assert "0:00:00" not in shown
    assert _line(shown, "  state open").endswith("SLA 14 days")
    assert _line(shown, "  state waiting").endswith("SLA 2 days 4 h")
    assert _line(shown, "  state won").endswith("SLA 3 h 30 min")
    chinese = cli_db("--lang", "zh", "workflow", "show", "opportunity").stdout
    assert _line(chinese, "  state waiting").endswith("SLA 2 天 4 小时")
    states = cli_db("workflow", "show", "opportunity", "--json").json()[0]["states"]
    assert states["waiting"]["max_duration_seconds"] == 2 * 86400 + 4 * 3600


def test_workflow_times_prints_durations(cli_db: Run) -> None:
    assert cli_db("transition", "opportunity", "1", "wait").exit_code == 0
    times = cli_db("workflow", "times", "opportunity").stdout
    header = times.splitlines()[0].split()
    assert header[-2:] == ["average", "longest"]
    assert re.search(r"^deal_flow\s+open\s+1\s+0\s+\d+ (s|min)", times, flags=re.M), times


# -- 4. help pages ----------------------------------------------------------------------------


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def _first_sentence(docstring: str) -> str:
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    match = re.match(r"(.*?\.)(\s|$)", paragraph)
    return match.group(1) if match else paragraph


def test_help_pages_show_whole_summaries_without_markup(run_cli: Run) -> None:
    pages = {path: run_cli(*path, "--help") for path, _ in _commands(cli)}
    assert len(pages) > 40
    for path, page in pages.items():
        assert page.exit_code == 0, (path, page.stderr)
        assert "``" not in page.stdout, path
    for path, command in _commands(cli):
        if not path or not command.help:
            continue
        listing = " ".join(pages[path[:-1]].stdout.partition("Commands:")[2].split())
        listing = re.sub(r"(?<=\w-) ", "", listing)  # the wrapping may break a line after a hyphen
        summary = _first_sentence(command.help)
        assert f"{path[-1]} {summary}" in listing, (path, summary)
        assert "..." not in listing, path[:-1]  # click's mark of a cut summary


# -- 5. the standard-product preset: one scoring, one pair of fields ---------------------------


def test_preset_lead_shows_each_scorings_own_score_and_grade(
    database_url: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("preset", "load", "standard_product").exit_code == 0
    lead = {
        "company": "中国电信江苏分公司", "contact_name": "王芳", "budget": "150000",
        "purchase_timeframe": "within_1_month", "is_decision_maker": True, "source": "referral",
    }  # fmt: skip
    created = run_cli("record", "create", "lead", "--data", json.dumps(lead, ensure_ascii=False))
    assert created.exit_code == 0, created.stderr
    assert run_cli("score", "run", "--entity", "lead").exit_code == 0
    record = run_cli("record", "get", "lead", "1", "--json").json()
    views = {v["scoring"]: v for v in run_cli("score", "show", "lead", "1", "--json").json()}
    for scoring, prefix in (("lead_quality", "quality"), ("lead_priority", "priority")):
        view = views[scoring]
        assert float(record[f"{prefix}_score"]) == view["value"], scoring
        assert record[f"{prefix}_grade"] == view["grade"], scoring
    assert "lead_score" not in record and "lead_grade" not in record
    engine = CrmEngine(database_url)
    fields = engine.model.entity("lead").fields
    engine.close()
    for name, scoring in [("quality_score", "lead quality"), ("quality_grade", "lead quality"),
                          ("priority_score", "lead priority"), ("priority_grade", "lead priority")]:  # fmt: skip
        assert scoring in fields[name].label.en, name
