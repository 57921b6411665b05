"""A scoring's ``schedule``: refused when it is not a five-field cron, kept in the stored
form, and run by the workers as a ``score_run`` job once per occurrence, however many
workers run and however often they pass."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.clock import frozen
from engine.errors import DefinitionError
from engine.jobs import run_due
from engine.metadata import definitions_from_json, definitions_to_json, load_definitions
from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from tests.support import REPO_ROOT

SALES = REPO_ROOT / "examples" / "sales"
QUALITY = "opportunity_quality.json"


def sales_with(tmp_path: Path, **changes: object) -> Path:
    """The sales example with ``changes`` made to its opportunity_quality scoring."""
    folder = tmp_path / "sales"
    shutil.copytree(SALES, folder)
    document = json.loads((folder / QUALITY).read_text(encoding="utf-8"))
    document.update(changes)
    (folder / QUALITY).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize("cron", ["0 3 * *", "0 25 * * *", "every day", "0 0 3 * * * *"])
def test_a_bad_schedule_is_refused_with_file_and_pointer(tmp_path: Path, cron: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(sales_with(tmp_path, schedule=cron))
    found = [(p.code, p.file and Path(p.file).name, p.pointer) for p in refused.value.problems]
    assert found == [("invalid_cron", QUALITY, "/schedule")]


def test_an_empty_schedule_is_refused_by_the_meta_schema(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(sales_with(tmp_path, schedule=""))
    assert [p.pointer for p in refused.value.problems] == ["/schedule"]


def test_the_schedule_is_kept_in_the_stored_form(tmp_path: Path) -> None:
    definitions = load_definitions(sales_with(tmp_path, schedule="0 3 * * *"))
    assert definitions.scorings["opportunity_quality"].schedule == "0 3 * * *"
    again = definitions_from_json(definitions_to_json(definitions))
    assert again.scorings["opportunity_quality"].schedule == "0 3 * * *"
    assert load_definitions(SALES).scorings["opportunity_quality"].schedule is None


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(sales_with(tmp_path, schedule="0 3 * * *", triggers=["batch"])))
    account = engine.records.create("account", {"name": "Acme"}, actor=SYSTEM_USER)
    for amount in (150_000, 20_000):
        values = {"title": f"Deal {amount}", "account": account["id"], "amount": amount}
        engine.records.create("opportunity", values, actor=SYSTEM_USER)
    yield engine
    engine.close()


def scores(crm: CrmEngine) -> list[object]:
    table = crm.model.table("opportunity")
    with crm.db.read() as conn:
        return list(conn.execute(sa.select(table.c.quality_score).order_by(table.c.id)).scalars())


def score_jobs(crm: CrmEngine) -> list[tuple[str, str]]:
    return [(j.status, j.created_by) for j in crm.jobs.list(user=SYSTEM_USER) if j.kind == "score_run"]


def test_each_occurrence_runs_once_as_a_job(crm: CrmEngine, database_url: str) -> None:
    assert scores(crm) == [None, None]  # batch only: nothing scored them yet
    first = run_due(crm, worker="a", now=datetime(2026, 3, 2, 3, 0, 30, tzinfo=UTC))
    assert list(first.ran["scheduled_scores"]) == ["opportunity_quality"]
    with CrmEngine(database_url) as other:  # another worker, later in the same occurrence
        second = run_due(other, worker="b", now=datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert second.ran["scheduled_scores"] == {}
    assert score_jobs(crm) == [("queued", SYSTEM_USER.name)]
    crm.jobs.run_queued()
    assert score_jobs(crm) == [("done", SYSTEM_USER.name)]
    assert scores(crm) == [40, 0]
    third = run_due(crm, worker="a", now=datetime(2026, 3, 3, 3, 1, tzinfo=UTC))  # the next day's
    assert list(third.ran["scheduled_scores"]) == ["opportunity_quality"]
    assert len(score_jobs(crm)) == 2


def test_one_worker_pass_claims_and_runs_the_occurrence(crm: CrmEngine) -> None:
    with frozen(datetime(2026, 3, 2, 3, 5, tzinfo=UTC)):
        report = crm.jobs.queue.run_once(worker="a")
        again = crm.jobs.queue.run_once(worker="a")
    assert [(j["kind"], j["status"]) for j in report.jobs] == [("score_run", "done")]
    assert scores(crm) == [40, 0] and again.jobs == [] and len(score_jobs(crm)) == 1
