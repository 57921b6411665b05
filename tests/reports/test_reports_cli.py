"""``crm report``: list, run by name (table and JSON), parameters, and errors as exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from reports_support import seed

from engine.cli._main import cli
from engine.cli._report_commands import report
from tests.support import CliResult

Run = Callable[..., CliResult]


@pytest.fixture
def crm_url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A seeded SQLite database; ``crm report`` registered (as engine/cli/_main.py does)."""
    monkeypatch.setitem(cli.commands, "report", report)
    seed(sqlite_url).close()
    yield sqlite_url


def test_list(run_cli: Run, crm_url: str) -> None:
    result = run_cli("--database-url", crm_url, "report", "list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "type", "of", "label", "params"]
    coverage = next(line for line in lines if line.startswith("visit_coverage "))
    assert coverage.split()[:3] == ["visit_coverage", "aggregate", "account"] and coverage.endswith("from, to")
    listed = run_cli("--database-url", crm_url, "report", "list", "--json").json()
    funnel = next(r for r in listed if r["name"] == "deal_funnel")
    assert funnel["workflow"] == "pipeline" and funnel["entity"] == "deal"
    assert funnel["params"] == [
        {"name": "min_amount", "type": "decimal", "label": {"en": "Minimum amount", "zh": "最低金额"}, "default": 0}
    ]


def test_run_by_name_as_table_in_chinese(run_cli: Run, crm_url: str) -> None:
    result = run_cli("--database-url", crm_url, "--lang", "zh", "report", "approval_rate")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "立项通过率"
    assert lines[1].split() == ["负责人", "记录数", "通过数", "比率"]
    assert lines[2].split() == ["rita", "2", "1", "50.0%"]
    assert lines[3].split() == ["sam", "3", "2", "66.7%"]


@pytest.mark.parametrize("words", [("report",), ("report", "run")])
def test_run_as_json_with_parameters(run_cli: Run, crm_url: str, words: tuple[str, ...]) -> None:
    args = ["--param", "from=2024-03-01", "--param", "to=2024-05-01", "--json"]
    result = run_cli("--database-url", crm_url, *words, "visit_coverage", *args)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert [(r["name"], r["visits"]) for r in data["rows"]] == [
        ("Big Chain", 0),
        ("Corner Pharmacy", 0),
        ("Huashan Hospital", 1),
        ("Ruijin Hospital", 3),
    ]
    assert data["chart"] == {"type": "bar"}


@pytest.mark.parametrize(("args", "code", "message"), [
    (("report", "visit_coverage"), 2, 'needs the parameter "from"'),
    (("report", "deal_funnel", "--param", "min_amount"), 2, "KEY=VALUE"),
    (("report", "deal_funnel", "--param", "min_amount=lots"), 2, "not a number"),
    (("report", "deal_funel"), 4, 'Did you mean "deal_funnel"?'),
])  # fmt: skip
def test_errors_exit_with_a_message(run_cli: Run, crm_url: str, args: tuple[str, ...], code: int, message: str) -> None:
    result = run_cli("--database-url", crm_url, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
