"""``crm jobs`` and ``crm worker --once`` (SQLite and PostgreSQL): submit, run, list, show;
bad input and non-administrators refused with one line and an exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from engine.clock import frozen
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import REPO_ROOT, CliResult

SALES = REPO_ROOT / "examples" / "sales"


@pytest.fixture
def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(SALES))
        crm.users.create("rita", roles=["rep"])
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return database_url


def test_submit_run_list_and_show(url: str, run_cli: Callable[..., CliResult]) -> None:
    params = json.dumps({"entity": "account", "csv": "name\nAcme\nBeta\n"})
    submitted = run_cli("jobs", "submit", "import", "--params", params, "--json")
    assert submitted.exit_code == 0, submitted.stderr
    job_id = submitted.json()["id"]
    assert run_cli("jobs", "show", str(job_id), "--json").json()["status"] == "queued"
    with frozen(datetime(2026, 12, 6, 9, 0, 10, tzinfo=UTC)):  # both runs in one periodic slot
        once = run_cli("worker", "--once")
    assert once.exit_code == 0 and f"job {job_id} (import): done" in once.stdout
    assert "automation_tick" in once.stdout
    shown = run_cli("jobs", "show", str(job_id))
    assert "status      done" in shown.stdout and "progress    2/2" in shown.stdout
    listed = run_cli("jobs", "list")
    assert listed.stdout.splitlines()[0].split()[:4] == ["id", "kind", "status", "progress"]
    assert run_cli("jobs", "list", "--json").json()["items"][0]["result"]["inserted"] == 2
    with frozen(datetime(2026, 12, 6, 9, 0, 50, tzinfo=UTC)):
        again = run_cli("worker", "--once", "--json").json()
    assert again["jobs"] == [] and "automation_tick" in again["periodic"]["skipped"]


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        (("jobs", "show", "99"), 4, "there is no job 99"),
        (("jobs", "submit", "import", "--params", '{"entity": "nope", "csv": "x"}'), 2, "/params/entity"),
        (("jobs", "submit", "import", "--params", "{oops"), 2, "--params is not valid JSON"),
        (("--as", "rita", "jobs", "list"), 7, "is not an administrator"),
        (("--as", "rita", "worker", "--once"), 7, "is not an administrator"),
    ],
)
def test_refusals(
    url: str, run_cli: Callable[..., CliResult], args: tuple[str, ...], exit_code: int, says: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == exit_code and says in result.stderr and "Traceback" not in result.stderr
