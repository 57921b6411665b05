"""A record's timeline (SQLite and PostgreSQL): creation, changes, transitions with their
comments, the records that point at it and notes, newest first, filtered by kind and paged; notes added from
the record page; nothing of a record the reader may not read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from engine.clock import frozen
from engine.errors import NotFoundError, RecordValidationError
from engine.runtime import CrmEngine
from engine.timeline import timeline
from tests.support import SYSTEM
from tests.web.test_web_admin_ui import sign_in, token

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def history(crm: CrmEngine) -> int:
    """A lead with a life: created, changed, contacted with a comment, a task and a note."""
    rita = crm.users.get("rita")
    with frozen(START):
        lead = crm.records.create("lead", {"company": "西安华信环保科技有限公司"}, actor=rita)
    with frozen(START + timedelta(hours=1)):
        crm.records.update("lead", lead["id"], {"city": "西安"}, actor=rita)
    with frozen(START + timedelta(hours=2)):
        crm.workflows.run("lead", lead["id"], "contact", user=rita, comment="约了下周拜访")
    with frozen(START + timedelta(days=1)):
        crm.records.create("task", {"title": "准备方案", "lead": lead["id"]}, actor=rita)  # points at the lead
        crm.notes.add("lead", lead["id"], "客户关注环保设备的能耗", actor=rita)
    return int(lead["id"])


def section(page: str) -> str:
    """The timeline's part of a record page."""
    start = page.index('id="timeline"')
    return page[start : page.index("</section>", start)]


def test_the_timeline_tells_the_records_life_newest_first(standard: CrmEngine) -> None:
    lead = history(standard)
    rita = standard.users.get("rita")
    entries = timeline(standard, "lead", lead, actor=rita)
    kinds = [e.kind for e in entries]
    assert set(kinds[:2]) == {"note", "related"}  # the day after
    assert "created" in {e.kind for e in entries if e.at == START}  # with the scores it set off
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert {e.kind for e in entries if e.at == START + timedelta(hours=2)} >= {"transition"}
    (linked,) = [e for e in entries if e.kind == "related"]
    assert (linked.data["entity"], linked.data["field"], linked.data["record"]["title"]) == ("task", "lead", "准备方案")
    (moved,) = [e for e in entries if e.kind == "transition" and e.data["transition"] == "contact"]
    assert (moved.data["to_state"], moved.data["comment"], moved.actor) == ("contacted", "约了下周拜访", "rita")
    (changed,) = [e for e in entries if e.kind == "changed" and any(f["field"] == "city" for f in e.data["fields"])]
    assert [f["new"] for f in changed.data["fields"] if f["field"] == "city"] == ["西安"]
    assert [e.kind for e in timeline(standard, "lead", lead, actor=rita, kinds=["note"])] == ["note"]
    first_page = timeline(standard, "lead", lead, actor=rita, limit=2)
    rest = timeline(standard, "lead", lead, actor=rita, before=first_page[-1].at)
    assert [e.at for e in first_page + rest] == [e.at for e in entries]
    with pytest.raises(NotFoundError):
        timeline(standard, "lead", lead, actor=standard.users.create("otto", roles=["rep"]))


def test_notes_are_added_from_the_record_page(ui: FlaskClient, standard: CrmEngine) -> None:
    lead = history(standard)
    sign_in(ui, "rita")
    url = f"/admin/records/lead/details/?id={lead}"
    ui.post(
        "/admin/records/lead/note/", data={"csrf_token": token(ui, url), "id": lead, "body": "  二次拜访确认预算  "}
    )
    page = ui.get(url).get_data(as_text=True)
    assert 'id="timeline"' in page and "二次拜访确认预算" in page and "约了下周拜访" in page
    assert page.index("二次拜访确认预算") < page.index("客户关注环保设备的能耗")  # newest first
    notes_only = section(ui.get(url + "&timeline=note").get_data(as_text=True))
    assert "约了下周拜访" not in notes_only and "二次拜访确认预算" in notes_only
    with pytest.raises(RecordValidationError):
        standard.notes.add("lead", lead, "   ", actor=SYSTEM)
    with pytest.raises(NotFoundError):
        standard.notes.add("lead", lead, "not mine", actor=standard.users.create("otto", roles=["rep"]))
