"""My day (SQLite and PostgreSQL): a rep's overdue and today's tasks and activities, deals
without a next step, what was handed to them since yesterday; nothing of a colleague's; one
click completes or reschedules through the record service; reps land on it after signing in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from engine.clock import utcnow
from engine.runtime import CrmEngine
from engine.workspace import my_day
from tests.support import SYSTEM, acting_for
from tests.web.test_web_admin_ui import sign_in, token

URL = "/admin/my-day/"


def task(engine: CrmEngine, owner: str, title: str, due: date | None, **values: Any) -> dict[str, Any]:
    fields = {"title": title, "due": due.isoformat() if due else None, **values}
    return engine.records.create("task", fields, actor=acting_for(owner))


def test_a_reps_day_lists_only_their_work(ui: FlaskClient, standard: CrmEngine) -> None:
    today = utcnow().date()
    late = task(standard, "rita", "Call 华信 back", today - timedelta(days=3))
    now = task(standard, "rita", "Send the quote", today)
    task(standard, "rita", "Plan next month", today + timedelta(days=1))
    task(standard, "rita", "Already done", today - timedelta(days=1), done_at=datetime.now(UTC).isoformat())
    task(standard, "ada", "Ada's own task", today - timedelta(days=1))
    task(standard, "rita", "Handed to ada", today, assignee="ada")  # rita's record, ada's work
    account = standard.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    stalled = standard.records.create(
        "opportunity", {"title": "No next step", "account": account}, actor=acting_for("rita")
    )
    handed = standard.records.create("account", {"name": "交接客户有限公司"}, actor=acting_for("ada"))
    standard.records.update("account", handed["id"], {"owner": "rita"}, actor=acting_for("ada"))

    day = my_day(standard, standard.users.get("rita"))
    assert [i.record["id"] for i in day.overdue] == [late["id"]]
    assert [i.record["id"] for i in day.due_today] == [now["id"]]
    assert stalled["id"] in [i.record["id"] for i in day.stalled if i.entity.name == "opportunity"]
    assert [(i.entity.name, i.record["id"]) for i in day.handed_over] == [("account", handed["id"])]

    sign_in(ui, "rita")
    page = ui.get(URL).get_data(as_text=True)
    assert "Call 华信 back" in page and "Send the quote" in page and "交接客户有限公司" in page
    for absent in ("Ada's own task", "Plan next month", "Already done", "Handed to ada"):
        assert absent not in page, absent


def test_one_click_completes_or_reschedules(ui: FlaskClient, standard: CrmEngine) -> None:
    today = utcnow().date()
    first = task(standard, "rita", "Confirm the visit", today - timedelta(days=1))
    second = task(standard, "rita", "Chase the payment", today)
    sign_in(ui, "rita")
    form = {"csrf_token": token(ui, URL), "entity": "task"}
    ui.post(URL + "done/", data={**form, "id": first["id"], "version": first["version"]})
    done = standard.records.get("task", first["id"], actor=SYSTEM)
    assert done["done_at"] is not None and done["status"] == "done"
    ui.post(URL + "later/", data={**form, "id": second["id"], "version": second["version"], "when": "next_week"})
    assert standard.records.get("task", second["id"], actor=SYSTEM)["due"] == today + timedelta(days=7)
    assert standard.records.audit("task", second["id"], actor=SYSTEM)[0]["actor"] == "rita"
    ui.get(URL)  # the flashed confirmations
    page = ui.get(URL).get_data(as_text=True)
    assert "Confirm the visit" not in page and "Chase the payment" not in page
    theirs = task(standard, "ada", "Not rita's", today)
    refused = ui.post(URL + "done/", data={**form, "id": theirs["id"], "version": theirs["version"]})
    assert refused.status_code == 302
    assert standard.records.get("task", theirs["id"], actor=SYSTEM)["done_at"] is None


def test_reps_land_on_their_day_and_administrators_on_the_dashboard(ui: FlaskClient) -> None:
    for name, landing in (("rita", URL), ("ada", "/admin/")):
        response = ui.post("/admin/login/", data={"csrf_token": token(ui), "name": name, "password": "open sesame"})
        assert response.headers["Location"] == landing, name
        ui.post("/admin/logout/", data={"csrf_token": token(ui, "/admin/")})
