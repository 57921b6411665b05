"""Bulk and inline edit in the admin UI (SQLite and PostgreSQL): rows ticked on the list go to
the bulk edit form, a preview says what each record would become and writes nothing, Apply
changes the records the user may change and names the others with their reasons; a list cell
is edited in place with the version it showed, and a change made since is refused with the
current value."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.support import SYSTEM, acting_for
from tests.web.test_web_admin_ui import sign_in, token

LIST = "/admin/records/opportunity/"


def deal(engine: CrmEngine, owner: str, title: str, **values: Any) -> dict[str, Any]:
    firm = engine.records.create("account", {"name": f"{title} Ltd"}, actor=acting_for(owner))
    fields = {"title": title, "account": firm["id"], "expected_close": "2027-01-29", **values}
    return engine.records.create("opportunity", fields, actor=acting_for(owner))


def stored(engine: CrmEngine, record_id: int) -> dict[str, Any]:
    return engine.records.get("opportunity", record_id, actor=SYSTEM)


def test_bulk_edit_previews_then_applies(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = [deal(standard, "rita", f"Bulk {n}", amount="100") for n in range(2)]
    theirs = deal(standard, "ada", "Not hers")
    sign_in(ui, "rita")
    page = ui.get(LIST).get_data(as_text=True)
    assert "modelActions.execute('bulk_edit')" in page and 'name="rowid"' in page  # the action and the row boxes
    ids = [str(r["id"]) for r in mine]
    chosen = ui.post(LIST + "action/", data={"csrf_token": token(ui, LIST), "action": "bulk_edit", "rowid": ids})
    assert chosen.status_code == 302
    target = urlparse(chosen.headers["Location"])
    assert target.path == LIST + "bulk/" and parse_qs(target.query)["id"] == ids
    form_page = ui.get(f"{target.path}?{target.query}").get_data(as_text=True)
    assert 'name="set" value="next_step"' in form_page and 'name="set" value="owner"' in form_page
    assert 'name="set" value="stage"' in form_page and 'name="i_reason"' in form_page
    # a crafted id of a colleague's record comes back refused, as not found
    posted = {
        "csrf_token": token(ui, LIST + "bulk/?id=1"),
        "id": [*ids, str(theirs["id"])],
        "set": ["next_step", "probability"],
        "v_next_step": "Send the brochure",
        "v_probability": "35",
    }
    preview = ui.post(LIST + "bulk/", data={**posted, "step": "preview"}).get_data(as_text=True)
    assert 'data-updated="2" data-refused="1" data-applied="false"' in preview
    assert "Send the brochure" in preview and f'data-id="{theirs["id"]}" data-ok="false"' in preview
    assert "Not hers" not in preview  # nothing of a record she may not read
    assert all(stored(standard, r["id"])["next_step"] is None for r in mine)  # a preview writes nothing
    assert 'name="step" value="apply"' in preview
    done = ui.post(LIST + "bulk/", data={**posted, "step": "apply"}).get_data(as_text=True)
    assert 'data-updated="2" data-refused="1" data-applied="true"' in done
    for record in mine:
        assert (stored(standard, record["id"])["next_step"], stored(standard, record["id"])["probability"]) == (
            "Send the brochure",
            35,
        )
    assert stored(standard, theirs["id"])["next_step"] is None
    trail = standard.records.audit("opportunity", mine[0]["id"], actor=SYSTEM)
    assert ("next_step", "rita") in {(a["field"], a["actor"]) for a in trail}


def test_bulk_state_change_reports_each_refusal(ui: FlaskClient, standard: CrmEngine) -> None:
    ready = deal(standard, "rita", "Ready", amount="100")
    early = deal(standard, "rita", "Early")
    standard.workflows.run("opportunity", ready["id"], "confirm_needs", user=standard.users.get("rita"))
    sign_in(ui, "rita")
    posted = {
        "csrf_token": token(ui, LIST),
        "id": [str(ready["id"]), str(early["id"])],
        "set": ["stage"],
        "v_stage": "proposal",
        "step": "apply",
    }
    done = ui.post(LIST + "bulk/", data=posted).get_data(as_text=True)
    assert 'data-updated="1" data-refused="1"' in done
    assert stored(standard, ready["id"])["stage"] == "proposal"
    assert stored(standard, early["id"])["stage"] == "qualification"
    assert standard.workflows.history("opportunity", ready["id"], actor=SYSTEM)[-1]["transition"] == "propose"


def test_nothing_chosen_or_a_forged_form_changes_nothing(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = deal(standard, "rita", "Quiet")
    sign_in(ui, "rita")
    base = {"id": [str(mine["id"])], "step": "apply"}
    empty = ui.post(LIST + "bulk/", data={**base, "csrf_token": token(ui, LIST)}).get_data(as_text=True)
    assert "Tick at least one field" in empty
    forged = {**base, "csrf_token": "forged", "set": ["next_step"], "v_next_step": "x"}
    assert "did not come from this site" in ui.post(LIST + "bulk/", data=forged).get_data(as_text=True)
    assert stored(standard, mine["id"])["version"] == mine["version"]


def test_a_cell_is_edited_in_place_with_its_version(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = deal(standard, "rita", "Inline", probability=10)
    theirs = deal(standard, "ada", "Elsewhere")
    sign_in(ui, "rita")
    page = ui.get(LIST).get_data(as_text=True)
    cell = re.search(rf'<span class="crm-inline"[^>]*data-id="{mine["id"]}"[^>]*data-field="probability"[^>]*>', page)
    assert cell and f'data-version="{mine["version"]}"' in cell.group(0)
    assert f'data-id="{theirs["id"]}"' not in page  # not listed for her, let alone editable
    csrf = html.unescape(re.search(r'data-csrf="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "id": mine["id"], "field": "probability", "version": mine["version"]}
    saved = ui.post(LIST + "inline/", data={**form, "value": "60"})
    assert saved.status_code == 200 and saved.json["ok"] and saved.json["version"] == mine["version"] + 1
    assert saved.json["value"] == "60" and stored(standard, mine["id"])["probability"] == 60
    # the same version again: someone (here: this very edit) changed it since
    stale = ui.post(LIST + "inline/", data={**form, "value": "70"})
    assert stale.status_code == 409 and not stale.json["ok"] and stale.json["message"]
    assert (stale.json["value"], stale.json["version"]) == ("60", mine["version"] + 1)  # the current value
    invalid = ui.post(LIST + "inline/", data={**form, "version": mine["version"] + 1, "value": "250"})
    assert invalid.status_code == 409 and "100" in invalid.json["message"]
    assert stored(standard, mine["id"])["probability"] == 60
    owner = ui.post(LIST + "inline/", data={**form, "field": "owner", "version": mine["version"] + 1, "value": "ada"})
    assert owner.json["ok"] and stored(standard, mine["id"])["owner"] == "ada"
    hidden = ui.post(LIST + "inline/", data={**form, "id": theirs["id"], "version": 1, "value": "5"})
    assert hidden.status_code == 409 and "Elsewhere" not in hidden.get_data(as_text=True)
    assert ui.post(LIST + "inline/", data={**form, "field": "won_at", "value": "x"}).status_code == 400
    assert ui.post(LIST + "inline/", data={**form, "csrf_token": "forged", "value": "1"}).status_code == 400


def test_the_pages_speak_chinese(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = deal(standard, "rita", "中文")
    standard.users.set_language("rita", "zh")
    sign_in(ui, "rita")
    assert "批量编辑" in ui.get(LIST).get_data(as_text=True)
    page = ui.get(f"{LIST}bulk/?id={mine['id']}").get_data(as_text=True)
    assert "批量编辑" in page and "预览" in page and "经流程转换" in page
