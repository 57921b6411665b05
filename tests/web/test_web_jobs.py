"""``/api/v1/jobs`` (SQLite and PostgreSQL): submit as an administrator, watch the job run,
problem+json for bad input, unknown jobs and non-administrators; the admin jobs page."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.web import create_app
from tests.web.conftest import AuthHeaders
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token
from tests.web.web_support import API, problem

CSV = "name,employees\nAcme,10\nBeta,20\n"


def test_submit_and_watch_a_job(sales: CrmEngine, client: FlaskClient) -> None:
    response = client.post(f"{API}/jobs", json={"kind": "import", "params": {"entity": "account", "csv": CSV}})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["status"] == "queued" and job["created_by"] == "root"
    assert response.headers["Location"].endswith(f"{API}/jobs/{job['id']}")
    sales.jobs.queue.run_once()
    done = client.get(f"{API}/jobs/{job['id']}").get_json()
    assert done["status"] == "done" and done["progress"] == {"done": 2, "total": 2}
    assert done["result"]["inserted"] == 2
    page = client.get(f"{API}/jobs?kind=import&status=done").get_json()
    assert [j["id"] for j in page["items"]] == [job["id"]] and page["next_before"] is None


def test_a_failed_job_shows_its_error(sales: CrmEngine, client: FlaskClient) -> None:
    csv = "name,employees\nAcme,lots\n"
    job = client.post(f"{API}/jobs", json={"kind": "import", "params": {"entity": "account", "csv": csv}}).get_json()
    sales.jobs.queue.run_once()
    failed = client.get(f"{API}/jobs/{job['id']}").get_json()
    assert failed["status"] == "failed" and "employees" in failed["error"]


def test_bad_submissions_are_problems_with_pointers(sales: CrmEngine, client: FlaskClient) -> None:
    body = problem(client.post(f"{API}/jobs", json={"kind": "reindex"}), 422)
    assert body["code"] == "invalid_job" and body["errors"][0]["pointer"] == "/kind"
    body = problem(client.post(f"{API}/jobs", json={"kind": "import", "params": {"entity": "nope", "csv": "x"}}), 422)
    assert body["errors"][0]["pointer"] == "/params/entity"
    problem(client.post(f"{API}/jobs", json={"kind": "score_run", "extra": 1}), 400)
    problem(client.get(f"{API}/jobs?status=lost"), 400)


def test_an_unknown_job_is_404(sales: CrmEngine, client: FlaskClient) -> None:
    assert problem(client.get(f"{API}/jobs/999"), 404)["code"] == "not_found"
    assert problem(client.get(f"{API}/jobs/abc"), 404)["code"] == "not_found"


def test_non_administrators_get_403(sales: CrmEngine, app: Flask, auth_headers: AuthHeaders) -> None:
    sales.users.create("rita", roles=["rep"])
    rita = auth_headers("rita")
    viewer = app.test_client()
    assert problem(viewer.get(f"{API}/jobs", headers=rita), 403)["code"] == "forbidden"
    assert problem(viewer.post(f"{API}/jobs", json={"kind": "score_run"}, headers=rita), 403)["code"] == "forbidden"
    assert problem(viewer.get(f"{API}/jobs/1", headers=rita), 403)["code"] == "forbidden"
    assert viewer.get(f"{API}/jobs").status_code == 401


def test_the_admin_jobs_page(sales: CrmEngine) -> None:
    sales.users.create("ada", roles=["admin"])
    sales.users.set_password("ada", PASSWORD)
    ui = create_app({"CRM_ENGINE": sales, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(ui)
    assert "No jobs yet." in ui.get("/admin/jobs/").get_data(as_text=True)
    queued = ui.post("/admin/jobs/score/", data={"csrf_token": token(ui, "/admin/jobs/")})
    assert queued.status_code == 302
    page = ui.get("/admin/jobs/").get_data(as_text=True)
    assert 'id="job-1"' in page and "queued" in page and 'http-equiv="refresh"' in page
    sales.jobs.queue.run_once()
    page = ui.get("/admin/jobs/").get_data(as_text=True)
    assert "done" in page and "automation_tick" in page and 'http-equiv="refresh"' not in page


def test_a_preset_loads_in_the_background_from_the_presets_page(engine: CrmEngine) -> None:
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    ui = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(ui)
    form = {"csrf_token": token(ui, "/admin/presets/"), "mode": "core", "industry": "", "demo": "10"}
    response = ui.post("/admin/presets/load-in-background/", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/jobs/")
    (job,) = engine.jobs.list(user=engine.users.acting("ada"))
    assert (job.kind, job.params, job.created_by) == ("preset_load", {"name": "core", "demo": 10}, "ada")
    engine.jobs.queue.run_once()
    assert engine.jobs.get(job.id, user=engine.users.acting("ada")).status == "done"
    assert engine.has_definitions
