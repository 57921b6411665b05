"""Jobs on SQLite and PostgreSQL, on the queue beside the database and on Redis: submitted,
run by a worker pass with their progress and result, failures kept with their error, bad
submissions refused with pointers, periodic work claimed once per slot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import NotFoundError, PermissionDeniedError, UsageError
from engine.jobs import InvalidJobError, PeriodicWork, QueueUnavailableError, queue_settings, run_due
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import jobs, periodic_slots
from engine.users import SYSTEM_USER, User
from tests.support import REPO_ROOT, redis_queue

SALES = REPO_ROOT / "examples" / "sales"
CSV = "name,city,employees\nAcme,Shanghai,120\nBeta,Beijing,80\n中国电信,北京,12000\n"


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(SALES))
    yield engine
    engine.close()


def names(crm: CrmEngine) -> list[str]:
    table = crm.model.table("account")
    with crm.db.read() as conn:
        return list(conn.execute(sa.select(table.c.name).order_by(table.c.id)).scalars())


def submit_and_run(crm: CrmEngine, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    job_id = crm.jobs.submit(kind, params, user=SYSTEM_USER)
    assert crm.jobs.get(job_id, user=SYSTEM_USER).status == "queued"
    report = crm.jobs.queue.run_once()
    assert [j["id"] for j in report.jobs] == [job_id]
    return crm.jobs.get(job_id, user=SYSTEM_USER).to_json()


def test_an_import_job_runs_with_progress_and_result(crm: CrmEngine) -> None:
    job = submit_and_run(crm, "import", {"entity": "account", "csv": CSV})
    assert job["status"] == "done" and job["error"] is None
    assert job["progress"] == {"done": 3, "total": 3} and job["message"] == "import account"
    assert job["result"]["inserted"] == 3 and job["result"]["rejected"] == 0
    assert job["started_at"] and job["finished_at"] and job["worker"]
    assert job["params"]["csv"] == f"{len(CSV.encode())} bytes"  # the file is not shown again
    assert names(crm) == ["Acme", "Beta", "中国电信"]


def test_a_failing_job_is_failed_with_its_error(crm: CrmEngine) -> None:
    job = submit_and_run(crm, "import", {"entity": "account", "csv": "name,employees\nAcme,10\nBeta,many\n"})
    assert job["status"] == "failed" and job["result"] is None
    assert "employees" in job["error"] and "line 3" in job["error"]
    assert names(crm) == []  # abort: all or nothing


def test_a_score_run_job(crm: CrmEngine) -> None:
    crm.jobs.submit("import", {"entity": "account", "csv": CSV}, user=SYSTEM_USER)
    crm.jobs.queue.run_once()
    job = submit_and_run(crm, "score_run", {})
    assert job["status"] == "done"
    assert {r["scoring"] for r in job["result"]["runs"]} == {s for s in crm.model.definitions.scorings}


def test_a_preset_load_job(database_url: str) -> None:
    with CrmEngine(database_url) as crm:
        job = submit_and_run(crm, "preset_load", {"name": "core", "demo": 20})
        assert job["status"] == "done", job["error"]
        assert job["result"]["presets"] == ["core"] and sum(job["result"]["demo"].values()) > 0
        assert crm.has_definitions


@pytest.mark.parametrize(
    ("kind", "params", "pointer", "code"),
    [
        ("reindex", {}, "/kind", "unknown_kind"),
        ("", {}, "/kind", "required"),
        ("import", {"csv": "name\nA\n"}, "/params/entity", "required"),
        ("import", {"entity": "account", "csv": "x", "mode": "fast"}, "/params/mode", "unknown_param"),
        ("import", {"entity": "account", "csv": "x", "on_error": "ignore"}, "/params/on_error", "choices"),
        ("import", {"entity": "acount", "csv": "x"}, "/params/entity", "unknown_entity"),
        ("import", {"entity": "account", "csv": "x", "key": "nope"}, "/params/key", "unknown_field"),
        ("score_run", {"entity": "account", "scoring": "nope"}, "/params/scoring", "unknown_scoring"),
        ("preset_load", {"name": "b2b"}, "/params/name", "unknown_name"),
        ("preset_load", {"name": "core", "demo": -1}, "/params/demo", "type"),
        ("preset_load", {"name": "core", "allow_data_loss": "yes"}, "/params/allow_data_loss", "type"),
    ],
)
def test_bad_submissions_are_refused_with_pointers(
    crm: CrmEngine, kind: str, params: dict[str, Any], pointer: str, code: str
) -> None:
    with pytest.raises(InvalidJobError) as raised:
        crm.jobs.submit(kind, params, user=SYSTEM_USER)
    assert (raised.value.problems[0].pointer, raised.value.problems[0].code) == (pointer, code)
    with crm.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar() == 0


def test_only_administrators_run_and_read_jobs(crm: CrmEngine) -> None:
    rep = User("rita", roles=("rep",))
    with pytest.raises(PermissionDeniedError):
        crm.jobs.submit("score_run", {}, user=rep)
    job_id = crm.jobs.submit("score_run", {}, user=SYSTEM_USER)
    with pytest.raises(PermissionDeniedError):
        crm.jobs.get(job_id, user=rep)
    with pytest.raises(PermissionDeniedError):
        crm.jobs.list(user=rep)
    with pytest.raises(NotFoundError):
        crm.jobs.get(job_id + 100, user=SYSTEM_USER)


def test_a_job_delivered_twice_runs_once(crm: CrmEngine) -> None:
    job_id = crm.jobs.submit("import", {"entity": "account", "csv": CSV}, user=SYSTEM_USER)
    crm.jobs.queue.enqueue(job_id)  # a duplicate message
    report = crm.jobs.queue.run_once(worker="w1")
    assert report.messages == 2 and [j["id"] for j in report.jobs] == [job_id]
    assert crm.jobs.run(job_id) is None  # no longer queued
    assert len(names(crm)) == 3


def test_a_job_whose_message_was_lost_still_runs(crm: CrmEngine) -> None:
    job_id = crm.jobs.submit("import", {"entity": "account", "csv": CSV}, user=SYSTEM_USER)
    crm.jobs.queue.flush()
    report = crm.jobs.queue.run_once()
    assert report.messages == 0 and [j["id"] for j in report.jobs] == [job_id]
    assert crm.jobs.get(job_id, user=SYSTEM_USER).status == "done"


def test_jobs_list_newest_first_and_filtered(crm: CrmEngine) -> None:
    first = crm.jobs.submit("import", {"entity": "account", "csv": CSV}, user=SYSTEM_USER)
    crm.jobs.queue.run_once()
    second = crm.jobs.submit("score_run", {}, user=SYSTEM_USER)
    assert [j.id for j in crm.jobs.list(user=SYSTEM_USER)] == [second, first]
    assert [j.id for j in crm.jobs.list(user=SYSTEM_USER, status=("queued",))] == [second]
    assert [j.id for j in crm.jobs.list(user=SYSTEM_USER, kind="import")] == [first]
    assert [j.id for j in crm.jobs.list(user=SYSTEM_USER, before=second)] == [first]


def test_periodic_work_runs_once_per_slot_across_engines(crm: CrmEngine, database_url: str) -> None:
    ran: list[str] = []
    work = [PeriodicWork("count", timedelta(minutes=5), lambda engine, now: ran.append(now.isoformat()))]
    now = datetime(2026, 3, 1, 10, 7, 30, tzinfo=UTC)
    with CrmEngine(database_url) as other:
        first = run_due(crm, worker="a", now=now, work=work)
        second = run_due(other, worker="b", now=now + timedelta(minutes=2), work=work)  # same 10:05 slot
        third = run_due(other, worker="b", now=now + timedelta(minutes=3), work=work)  # the 10:10 slot
    assert (list(first.ran), second.skipped, list(third.ran)) == (["count"], ["count"], ["count"])
    assert len(ran) == 2
    with crm.db.read() as conn:
        rows = conn.execute(sa.select(periodic_slots).order_by(periodic_slots.c.slot)).mappings().all()
    assert [(r["slot"].minute, r["worker"]) for r in rows] == [(5, "a"), (10, "b")]
    assert all(r["finished_at"] is not None and r["error"] is None for r in rows)


def test_a_failing_periodic_entry_is_recorded_and_the_others_run(crm: CrmEngine) -> None:
    def broken(engine: CrmEngine, now: datetime) -> None:
        raise RuntimeError("boom")

    work = [
        PeriodicWork("broken", timedelta(minutes=1), broken),
        PeriodicWork("fine", timedelta(minutes=1), lambda e, n: 1),
    ]
    report = run_due(crm, worker="a", work=work)
    assert report.failed == {"broken": "RuntimeError: boom"} and report.ran == {"fine": 1}
    with crm.db.read() as conn:
        error = conn.execute(sa.select(periodic_slots.c.error).where(periodic_slots.c.name == "broken")).scalar()
    assert error == "RuntimeError: boom"


def test_the_default_periodic_work_ticks_the_automations(crm: CrmEngine) -> None:
    report = run_due(crm, worker="a")
    assert report.ran["automation_tick"]["ran"] == 0 and "webhook_delivery" in report.ran
    assert set(run_due(crm, worker="b").skipped) >= {"automation_tick", "sweep_jobs"}


def test_jobs_on_redis(crm: CrmEngine) -> None:
    for url in redis_queue():
        crm.jobs.close()
        del crm.jobs  # the queue is built from the settings on first use
        assert crm.jobs.queue.settings.backend == "redis" and crm.jobs.queue.settings.location == url
        job = submit_and_run(crm, "import", {"entity": "account", "csv": CSV})
        assert job["status"] == "done" and job["progress"] == {"done": 3, "total": 3}
        failed = submit_and_run(crm, "import", {"entity": "account", "csv": "name,employees\nX,many\n"})
        assert failed["status"] == "failed" and "employees" in failed["error"]
        assert crm.jobs.queue.pending() == 0


@pytest.mark.parametrize(
    ("database", "environment", "backend", "location"),
    [
        ("sqlite:////data/crm.db", {}, "sqlite", "/data/crm-queue.db"),
        ("sqlite:///crm.db", {}, "sqlite", "crm-queue.db"),
        ("sqlite://", {}, "memory", ":memory:"),
        ("postgresql+psycopg://u@db:5432/crm", {}, "postgres", "postgresql://u@db:5432/crm"),
        ("sqlite:///crm.db", {"CRM_QUEUE_URL": "redis://cache:6379/2"}, "redis", "redis://cache:6379/2"),
        ("sqlite:///crm.db", {"CRM_QUEUE_URL": "sqlite:////var/q.db"}, "sqlite", "/var/q.db"),
        ("sqlite:///crm.db", {"CRM_QUEUE_URL": "postgres://u@db/q"}, "postgres", "postgresql://u@db/q"),
    ],
)
def test_where_the_queue_lives(database: str, environment: dict[str, str], backend: str, location: str) -> None:
    settings = queue_settings(database, environment)
    assert (settings.backend, settings.location, settings.name) == (backend, location, "crm")


def test_an_unknown_queue_url_is_refused() -> None:
    with pytest.raises(UsageError) as raised:
        queue_settings("sqlite:///crm.db", {"CRM_QUEUE_URL": "amqp://rabbit"})
    assert raised.value.problems[0].field == "CRM_QUEUE_URL"


def test_the_queue_file_is_beside_the_database(tmp_path: Path) -> None:
    with CrmEngine(f"sqlite:///{tmp_path / 'crm.db'}") as crm:
        crm.jobs.submit("preset_load", {"name": "core"}, user=SYSTEM_USER)
        assert (tmp_path / "crm-queue.db").exists()


def test_a_job_whose_worker_died_is_failed_by_the_sweep(crm: CrmEngine) -> None:
    job_id = crm.jobs.submit("score_run", {}, user=SYSTEM_USER)
    long_ago = datetime.now(UTC) - timedelta(minutes=11)
    with crm.db.write() as conn:  # as a worker killed in the middle leaves it
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(status="running", worker="host-b:4242", started_at=long_ago, updated_at=long_ago)
        )
    alive = crm.jobs.submit("score_run", {}, user=SYSTEM_USER)
    with crm.db.write() as conn:
        conn.execute(jobs.update().where(jobs.c.id == alive).values(status="running", updated_at=datetime.now(UTC)))
    report = run_due(crm, worker="a")
    assert report.ran["sweep_jobs"]["abandoned"] == 1
    dead = crm.jobs.get(job_id, user=SYSTEM_USER)
    assert dead.status == "failed" and dead.error is not None and "host-b:4242" in dead.error
    assert crm.jobs.get(alive, user=SYSTEM_USER).status == "running"


def test_an_unreachable_queue_is_said_and_the_job_waits_in_the_database(
    crm: CrmEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_QUEUE_URL", "redis://127.0.0.1:9/0")  # nothing listens there
    with pytest.raises(QueueUnavailableError) as raised:
        crm.jobs.submit("score_run", {}, user=SYSTEM_USER)
    assert "redis://127.0.0.1:9/0" in raised.value.message and raised.value.http_status == 503
    (job,) = crm.jobs.list(user=SYSTEM_USER)
    assert job.status == "queued"  # a worker's pass over the database runs it once it can
    assert [j.id for j in crm.jobs.run_queued()] == [job.id]
