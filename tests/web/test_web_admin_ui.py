"""The admin UI over the Flask test client (SQLite and PostgreSQL): sign-in, CSRF, every
entity of every mode preset rendered, a form error round trip, the definitions page, and
the pages as each role sees them (scopes, hidden and read-only fields, buttons, reports)."""

from __future__ import annotations

import html
import json
import re
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.metadata import load_definitions
from engine.presets import MODES, generate_demo, load_preset
from engine.reports import run_report
from engine.runtime import CrmEngine
from engine.web import create_app
from engine.web.admin import SECRET_FILE
from engine.web.admin._people import person_text
from tests.permissions.permissions_support import OWNERS, USERS, set_up
from tests.support import SYSTEM, acting_for, write_bundle

PASSWORD = "open sesame"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def token(client: FlaskClient, url: str = "/admin/login/") -> str:
    found = _TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def sign_in(client: FlaskClient, name: str = "ada") -> None:
    response = client.post("/admin/login/", data={"csrf_token": token(client), "name": name, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def standard(engine: CrmEngine) -> CrmEngine:
    load_preset(engine, "standard_product")
    generate_demo(engine, "standard_product", 20, seed=3)
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    engine.users.create("rita", roles=["rep"], team="east")
    engine.users.set_password("rita", PASSWORD)
    return engine


@pytest.fixture
def ui(standard: CrmEngine) -> FlaskClient:
    app = create_app({"CRM_ENGINE": standard, "TESTING": True, "SECRET_KEY": "tests"})
    return app.test_client()


PAGES = [
    "/admin/",
    "/admin/records/lead/",
    "/admin/records/lead/new/",
    "/admin/records/lead/details/?id=1",
    "/admin/records/lead/edit/?id=1",
    "/admin/definitions/",
    "/admin/presets/",
    "/admin/jobs/",
    "/admin/records/opportunity/?search=a&sort=2&desc=1",
]


def test_pages_need_a_signed_in_user(ui: FlaskClient) -> None:
    for url in PAGES:
        response = ui.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login/?next="), url
    sign_in(ui)
    for url in PAGES:
        assert ui.get(url).status_code == 200, url


def test_a_wrong_password_is_refused(ui: FlaskClient) -> None:
    response = ui.post("/admin/login/", data={"csrf_token": token(ui), "name": "ada", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong user name or password" in response.get_data(as_text=True)
    assert ui.get("/admin/").status_code == 302


def test_sign_in_goes_back_only_to_a_page_of_this_site(ui: FlaskClient) -> None:
    data = {"csrf_token": token(ui), "name": "ada", "password": PASSWORD}
    response = ui.post("/admin/login/?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/admin/"


def test_posts_without_a_csrf_token_are_refused(ui: FlaskClient, standard: CrmEngine) -> None:
    response = ui.post("/admin/login/", data={"name": "ada", "password": PASSWORD})
    assert response.status_code == 200 and ui.get("/admin/").status_code == 302  # not signed in
    sign_in(ui)
    before = standard.records.list("lead", limit=0, actor=SYSTEM).total
    response = ui.post("/admin/records/lead/new/", data={"company": "No Token Ltd"})
    assert response.status_code == 200
    assert standard.records.list("lead", limit=0, actor=SYSTEM).total == before
    lead = standard.records.create("lead", {"company": "Untouched"}, actor=acting_for("ada"))
    response = ui.post("/admin/records/lead/transition/", data={"id": lead["id"], "transition": "contact"})
    assert response.status_code == 302
    assert standard.records.get("lead", lead["id"], actor=SYSTEM)["status"] == "new"
    response = ui.post("/admin/definitions/apply/", data={"files": "{}"})
    assert response.status_code == 302 and standard.version == 1


def test_a_form_error_comes_back_at_its_field_then_the_record_saves(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    csrf = token(ui, "/admin/records/lead/new/")
    data = {"csrf_token": csrf, "company": "", "email": "not-an-email", "employees": "many"}
    page = ui.post("/admin/records/lead/new/", data=data).get_data(as_text=True)
    # each problem under its own field, in the record service's words
    assert re.search(r'id="email"[^>]*is-invalid|is-invalid[^>]*id="email"', page)
    assert re.search(r'id="company"[^>]*is-invalid|is-invalid[^>]*id="company"', page)
    assert "must be an email address" in page and "whole number" in page
    assert standard.records.list("lead", where={"email": "not-an-email"}, actor=SYSTEM).total == 0
    account = standard.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    data = {
        "csrf_token": csrf,
        "company": "Acme",
        "email": "a@acme.example",
        "employees": "12",
        "account": str(account),
        "source": "referral",
        "is_decision_maker": "true",
    }
    response = ui.post("/admin/records/lead/new/", data=data)
    assert response.status_code == 302 and "/admin/records/lead/details/?id=" in response.headers["Location"]
    (created,) = standard.records.list("lead", where={"company": "Acme"}, actor=SYSTEM).items
    assert (created["employees"], created["account"], created["owner"]) == (12, account, "ada")
    assert created["is_decision_maker"] is True and created["status"] == "new"


def test_an_edit_from_a_stale_page_is_a_conflict(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    lead = standard.records.list("lead", limit=1, actor=SYSTEM).items[0]
    csrf = token(ui, f"/admin/records/lead/edit/?id={lead['id']}")
    standard.records.update("lead", lead["id"], {"city": "Oslo"}, actor=acting_for("rita"))
    data = {"csrf_token": csrf, "version": str(lead["version"]), "company": lead["company"], "city": "Bergen"}
    page = ui.post(f"/admin/records/lead/edit/?id={lead['id']}", data=data).get_data(as_text=True)
    assert "changed by someone else" in page
    assert standard.records.get("lead", lead["id"], actor=SYSTEM)["city"] == "Oslo"


def test_transitions_run_as_the_signed_in_user_and_refusals_say_why(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui, "rita")
    lead = standard.records.create("lead", {"company": "Refusal Inc"}, actor=acting_for("rita"))
    csrf = token(ui, f"/admin/records/lead/details/?id={lead['id']}")
    base = {"csrf_token": csrf, "id": lead["id"]}
    ui.post("/admin/records/lead/transition/", data={**base, "transition": "disqualify"})
    page = ui.get(f"/admin/records/lead/details/?id={lead['id']}").get_data(as_text=True)
    assert "“Disqualify” needs “Reason”" in html.unescape(page)
    ui.post("/admin/records/lead/transition/", data={**base, "transition": "disqualify", "input_reason": "no_need"})
    after = standard.records.get("lead", lead["id"], actor=SYSTEM)
    assert (after["status"], after["disqualify_reason"]) == ("disqualified", "no_need")
    assert standard.workflows.history("lead", lead["id"], actor=SYSTEM)[-1]["actor"] == "rita"


def test_the_record_page_asks_one_comment_and_names_transitions_once(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui, "rita")
    deal = {"title": "华信环保 ERP", "account": standard.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]}
    opportunity = standard.records.create("opportunity", deal, actor=acting_for("rita"))
    url = f"/admin/records/opportunity/details/?id={opportunity['id']}"
    page = ui.get(url).get_data(as_text=True)
    assert page.count('name="comment"') == 1  # one comment box for whichever transition runs
    lose = re.search(r'data-transition-button="lose">([^<]*)</button>', page)
    assert lose is not None and lose.group(1) == "Lost"  # not "Lost → Lost"
    assert '<option value="no_budget">No budget</option>' in page  # the lost_reason field's label
    form = {"csrf_token": token(ui, url), "id": opportunity["id"], "comment": "预算冻结到明年"}
    ui.post("/admin/records/opportunity/transition/", data={**form, "transition": "opportunity_pipeline:lose",
                                                            "input_lose__reason": "no_budget"})  # fmt: skip
    after = standard.records.get("opportunity", opportunity["id"], actor=SYSTEM)
    assert (after["stage"], after["lost_reason"]) == ("lost", "no_budget")
    last = standard.workflows.history("opportunity", opportunity["id"], actor=SYSTEM)[-1]
    assert (last["transition"], last["comment"]) == ("lose", "预算冻结到明年")
    ended = ui.get(url).get_data(as_text=True)
    assert 'class="text-muted mb-0 crm-no-transitions"' in ended and 'name="comment"' not in ended
    # an entity without a workflow has no transitions card at all
    account = ui.get(f"/admin/records/account/details/?id={deal['account']}").get_data(as_text=True)
    assert 'class="card mb-4 crm-transitions"' not in account and "This record has no workflow" not in account


def test_people_are_shown_by_their_display_names(ui: FlaskClient, standard: CrmEngine) -> None:
    standard.users.create("wang.fang", roles=["rep"], display_name="王芳")
    standard.users.set_password("wang.fang", PASSWORD)
    lead = standard.records.create("lead", {"company": "西安华信环保科技有限公司"}, actor=acting_for("wang.fang"))
    standard.workflows.run("lead", lead["id"], "contact", user=standard.users.get("wang.fang"))
    sign_in(ui)
    page = ui.get(f"/admin/records/lead/details/?id={lead['id']}").get_data(as_text=True)
    person = '<span class="crm-person" data-user="wang.fang" title="wang.fang">王芳</span>'
    # the owner field, the audit trail and the workflow history
    assert page.count(person) >= 3 and ">wang.fang<" not in page
    listed = ui.get("/admin/records/lead/?search=华信").get_data(as_text=True)
    assert person in listed
    system = standard.records.create("lead", {"company": "Imported Ltd"}, actor=SYSTEM)
    shown = ui.get(f"/admin/records/lead/details/?id={system['id']}").get_data(as_text=True)
    assert 'data-user="system:test" title="system:test">System</span>' in shown  # who imported it
    app = create_app({"CRM_ENGINE": standard, "TESTING": True, "SECRET_KEY": "tests"})
    with app.test_request_context():
        said = person_text(standard, "system:automation:link_converted_lead")
    assert said == "Automation: Link a converted lead to its new account"


def test_a_score_override_needs_a_reason(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    lead = standard.records.list("lead", limit=1, actor=SYSTEM).items[0]["id"]
    csrf = token(ui, f"/admin/records/lead/details/?id={lead}")
    base = {"csrf_token": csrf, "id": lead, "scoring": "lead_quality"}
    ui.post("/admin/records/lead/score/", data={**base, "value": "80"})
    assert "an override needs a reason" in ui.get(f"/admin/records/lead/details/?id={lead}").get_data(as_text=True)
    ui.post("/admin/records/lead/score/", data={**base, "value": "80", "reason": "key account"})
    (view,) = [v for v in standard.scoring.show("lead", lead, actor=SYSTEM) if v.scoring == "lead_quality"]
    assert view.override is not None and view.override["value"] == 80 and view.override["by"] == "ada"
    ui.post("/admin/records/lead/score/", data={**base, "clear": "1"})
    (view,) = [v for v in standard.scoring.show("lead", lead, actor=SYSTEM) if v.scoring == "lead_quality"]
    assert view.override is None


def test_definitions_are_checked_with_file_and_pointer_then_applied(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    csrf = token(ui, "/admin/definitions/")
    bad = {"schema_version": 1, "kind": "entity", "name": "visit", "fields": {"hours": {"type": "intger"}}}
    page = ui.post(
        "/admin/definitions/check/",
        data={"csrf_token": csrf, "document": "entities/visit.json", "text": json.dumps(bad)},
    ).get_data(as_text=True)
    assert 'data-code="unknown_type"' in page and "/fields/hours/type" in page and "entities/visit.json" in page
    good = {**bad, "fields": {"hours": {"type": "integer"}}}
    page = ui.post(
        "/admin/definitions/check/",
        data={"csrf_token": csrf, "document": "entities/visit.json", "text": json.dumps(good)},
    ).get_data(as_text=True)
    assert "create_entity" in page or "visit" in page
    files = re.search(r'name="files" value="([^"]+)"', page)
    assert files is not None
    import html

    response = ui.post(
        "/admin/definitions/apply/",
        data={"csrf_token": csrf, "files": html.unescape(files.group(1)), "expected_version": "1"},
    )
    assert response.status_code == 302
    assert standard.version == 2 and "visit" in standard.model.definitions.entities


def test_definitions_and_presets_are_for_administrators(ui: FlaskClient) -> None:
    sign_in(ui, "rita")
    assert ui.get("/admin/definitions/").status_code == 403
    assert ui.get("/admin/presets/").status_code == 403
    assert ui.get("/admin/records/lead/").status_code == 200


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_meets_admin_errors_as_pages_in_its_language(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui, "rita")
    refused = ui.get("/admin/definitions/", headers=BROWSER)
    page = refused.get_data(as_text=True)
    assert (refused.status_code, refused.mimetype) == (403, "text/html")
    assert "You may not open this page" in page and "Ask an administrator" in page and 'href="/admin/"' in page
    missing = ui.get("/admin/no-such-page/", headers=BROWSER)
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    assert "This page does not exist" in missing.get_data(as_text=True)
    standard.users.set_language("rita", "zh")
    assert "无权访问此页面" in ui.get("/admin/definitions/", headers=BROWSER).get_data(as_text=True)
    # scripts, and the API even in a browser, keep the problem document
    for url, headers in (("/admin/definitions/", {"Accept": "*/*"}), ("/api/v1/nope", BROWSER)):
        kept = ui.get(url, headers=headers)
        assert kept.mimetype == "application/problem+json" and kept.json is not None, url


def test_the_language_switch_keeps_the_users_preference(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    ui.post("/admin/language/", data={"csrf_token": token(ui, "/admin/"), "language": "zh", "next": "/admin/"})
    assert standard.users.get("ada").language == "zh"
    page = ui.get("/admin/records/lead/").get_data(as_text=True)
    assert "线索" in page and "公司名称" in page


def test_a_second_app_on_the_same_engine_builds_and_serves(standard: CrmEngine) -> None:
    first: Flask = create_app({"CRM_ENGINE": standard, "SECRET_KEY": "s"})
    first.test_client().get("/admin/login/")
    second = create_app({"CRM_ENGINE": standard, "SECRET_KEY": "s"})
    client = second.test_client()
    sign_in(client)
    assert client.get("/admin/records/lead/").status_code == 200


def test_the_session_secret_is_created_once_beside_the_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    with CrmEngine(f"sqlite:///{tmp_path / 'crm.db'}") as engine:
        key = create_app({"CRM_ENGINE": engine}).secret_key
        again = create_app({"CRM_ENGINE": engine}).secret_key
    path = tmp_path / SECRET_FILE
    assert key == again == path.read_text() and len(str(key)) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", MODES)
def test_every_entity_of_every_mode_renders_its_list_form_and_record(engine: CrmEngine, mode: str) -> None:
    load_preset(engine, mode)
    generate_demo(engine, mode, 15, seed=5)
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    client = create_app({"CRM_ENGINE": engine, "SECRET_KEY": "tests"}).test_client()
    sign_in(client)
    assert client.get("/admin/").status_code == 200
    for entity in engine.model.definitions.entities:
        base = f"/admin/records/{entity}/"
        assert client.get(base).status_code == 200, entity
        assert client.get(base + "new/").status_code == 200, entity
        first = engine.records.list(entity, limit=1, actor=SYSTEM).items
        if first:
            assert client.get(f"{base}details/?id={first[0]['id']}").status_code == 200, entity
            assert client.get(f"{base}edit/?id={first[0]['id']}").status_code == 200, entity
    # the workspace over the same mode: every workflow's board with a column per state,
    # My day and the reports page
    for name, workflow in engine.model.definitions.workflows.items():
        board = client.get(f"/admin/board/{name}/")
        assert board.status_code == 200, name
        columns = re.findall(r'class="crm-board-column[^"]*" data-state="([^"]+)"', board.get_data(as_text=True))
        assert sorted(columns) == sorted(workflow.states), name
    assert client.get("/admin/my-day/").status_code == 200
    assert client.get("/admin/reports/").status_code == 200


def _card(page: str, report: str) -> str:
    found = re.search(rf'data-report="{report}".*?</section>', page, re.S)
    assert found, f"no card for {report}"
    return found.group(0)


def _bars(card: str) -> list[str]:
    """The bars of a card's chart as "label: number", as its description lists them."""
    found = re.search(r"<desc[^>]*>(.*?)</desc>", card, re.S)
    assert found, "no chart"
    return html.unescape(found.group(1)).split("; ")


def test_report_charts_draw_each_types_measure_with_readable_labels(ui: FlaskClient, standard: CrmEngine) -> None:
    # a deal still open: a small demo closes its stale deals, and may have no recent one
    account = standard.records.list("account", limit=1, actor=SYSTEM).items[0]["id"]
    deal = {"title": "Chart check", "account": account, "amount": "120000", "owner": "rita"}
    standard.records.create("opportunity", deal, actor=SYSTEM)
    sign_in(ui)
    assert 'data-src="/admin/reports/?part=1"' in ui.get("/admin/").get_data(as_text=True)  # loaded after the tiles
    page = ui.get("/admin/reports/?part=1").get_data(as_text=True)
    forecast = run_report(standard, "weighted_forecast", actor=SYSTEM).rows
    card = _card(page, "weighted_forecast")
    called = {u.name: u.display_name or u.name for u in standard.users.list(active_only=False)}
    called[None] = "(none)"  # a deal nobody owns (its account is in the pool)
    # the reps by the names people know them by, not their logins
    named = [(called[row["owner"]] if row["owner"] else "(none)", row["weighted"]) for row in forecast]
    assert _bars(card) == [f"{name}: {weighted:,}" for name, weighted in named]
    assert "Weighted amount" in card  # the caption names the measure
    stays = _bars(_card(page, "opportunity_time_in_stage"))
    assert stays and all(re.fullmatch(r"[A-Z][a-z ]+: [\d,.]+ (days|hours)", bar) for bar in stays), stays
    rates = _bars(_card(page, "lead_conversion_by_source"))
    assert rates and all(re.fullmatch(r"[A-Z][a-z ]+: [\d.]+%", bar) for bar in rates), rates
    # two dimensions (product, stage): a table, products down and stages across, not flattened bars
    products = {r["product_display"] for r in run_report(standard, "pipeline_funnel_by_product", actor=SYSTEM).rows}
    table = _card(page, "pipeline_funnel_by_product")
    assert "crm-pivot" in table and "<svg" not in table
    down = [html.unescape(h) for h in re.findall(r'<th scope="row">([^<]*)</th>', table)]
    assert down and all(g in products or (g == "(none)" and None in products) for g in down), down
    across = [html.unescape(h) for h in re.findall(r'<th scope="col" class="text-right">([^<]*)</th>', table)]
    assert across[:2] == ["Qualification", "Needs analysis"], across


def test_score_distributions_read_the_stored_scores_with_or_without_targets(
    ui: FlaskClient, standard: CrmEngine
) -> None:
    standard.scoring.run()
    sign_in(ui)
    page = ui.get("/admin/").get_data(as_text=True)
    for scoring in standard.model.definitions.scorings.values():
        summary = standard.scoring.summary(scoring.name)
        found = re.search(rf'<svg class="crm-chart crm-scores".*?aria-labelledby="scores-{scoring.name}-title.*?</svg>',
                          page, re.S)  # fmt: skip
        assert found, scoring.name
        counts = [int(bar.rsplit(": ", 1)[1].replace(",", "")) for bar in _bars(found.group(0))]
        assert sum(counts) == summary.scored > 0, scoring.name


def test_flask_admins_own_words_follow_the_users_language(ui: FlaskClient, standard: CrmEngine) -> None:
    sign_in(ui)
    english = ui.get("/admin/records/lead/new/").get_data(as_text=True)
    assert "Save" in english and "List" in english
    standard.users.set_language("ada", "zh")
    listing = ui.get("/admin/records/lead/").get_data(as_text=True)
    assert "列表" in listing and "创建" in listing and "搜索" in listing and "添加筛选器" in listing
    form = ui.get("/admin/records/lead/new/").get_data(as_text=True)
    assert "保存" in form and ">Save<" not in form


# -- as each role sees it (the permission tests' CRM: tests/permissions/permissions_support.py) --
SignIn = Callable[[str], FlaskClient]
#: user → the owners of the leads their list shows (ann, bob: team east; carl: west).
LISTED = {"boss": ("ann", "bob", "carl"), "mia": ("ann", "bob"), "ann": ("ann",), "aud": ("ann", "bob", "carl")}
LEADS = "/admin/records/lead"


@pytest.fixture
def leads(engine: CrmEngine, tmp_path: Path) -> dict[str, int]:
    """owner → id of the lead of ann, bob and carl (each with a cost); every user has a password."""
    found = set_up(engine, tmp_path)
    for name in USERS:
        engine.users.set_password(name, PASSWORD)
    return found


@pytest.fixture
def signed_in(engine: CrmEngine, leads: dict[str, int]) -> SignIn:
    app = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"})

    def client(name: str) -> FlaskClient:
        made = app.test_client()
        sign_in(made, name)
        return made

    return client


def _text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _flashed(client: FlaskClient) -> str:
    """The messages the next page shows."""
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', _text(client, "/admin/"), re.S))


@pytest.mark.parametrize("user", list(LISTED))
def test_a_list_shows_the_records_in_the_users_scope(leads: dict[str, int], signed_in: SignIn, user: str) -> None:
    page = _text(signed_in(user), f"{LEADS}/")
    assert f"List ({len(LISTED[user])})" in page
    for owner in OWNERS:
        assert (f"lead of {owner}" in page) == (owner in LISTED[user]), owner


def test_a_record_outside_the_scope_is_not_found(engine: CrmEngine, leads: dict[str, int], signed_in: SignIn) -> None:
    ann, mia = signed_in("ann"), signed_in("mia")
    for record in (leads["bob"], leads["carl"], 999_999):
        for page in ("details", "edit"):
            assert "lead of" not in _text(ann, f"{LEADS}/{page}/?id={record}", 404)
    assert "lead of carl" not in _text(mia, f"{LEADS}/details/?id={leads['carl']}", 404)
    assert "lead of bob" in _text(mia, f"{LEADS}/details/?id={leads['bob']}")
    # posting to a record outside the scope changes nothing
    csrf = token(ann, f"{LEADS}/edit/?id={leads['ann']}")
    response = ann.post(f"{LEADS}/edit/?id={leads['bob']}", data={"csrf_token": csrf, "title": "mine now"})
    assert response.status_code == 404
    ann.post(f"{LEADS}/transition/", data={"csrf_token": csrf, "id": leads["bob"], "transition": "lose"})
    assert engine.records.get("lead", leads["bob"], actor=SYSTEM)["stage"] == "new"
    assert "Not found" in _flashed(ann)


@pytest.mark.parametrize("user", ["ann", "aud"])
def test_a_hidden_field_appears_nowhere(engine: CrmEngine, leads: dict[str, int], signed_in: SignIn, user: str) -> None:
    own = leads["ann"]
    client, boss = signed_in(user), signed_in("boss")
    pages = [f"{LEADS}/", f"{LEADS}/?search=lead", f"{LEADS}/details/?id={own}"]
    if user == "ann":
        pages += [f"{LEADS}/new/", f"{LEADS}/edit/?id={own}"]
    for url in pages:
        page = _text(client, url)
        assert "Cost" not in page and 'name="cost"' not in page, url
        assert "1,200" not in page and "1200" not in page, url
        assert "Cost" in _text(boss, url), url
    record_page = _text(boss, f"{LEADS}/details/?id={own}")
    assert "1,200" in record_page and "1200" in record_page  # the field, and its line in the audit trail
    # a filter on the hidden field (cost equals 5, as the administrator's page has it) is no filter
    assert "lead of" not in _text(boss, f"{LEADS}/?flt0_2=5")
    assert f"List ({len(LISTED[user])})" in _text(client, f"{LEADS}/?flt0_2=5")


def test_a_read_only_field_is_shown_disabled_and_cannot_be_changed(
    engine: CrmEngine, leads: dict[str, int], signed_in: SignIn
) -> None:
    own = leads["ann"]
    engine.records.update("lead", own, {"score": 7}, actor=acting_for("boss"))
    ann = signed_in("ann")
    form = _text(ann, f"{LEADS}/edit/?id={own}")
    (score,) = re.findall(r'<input[^>]*id="score"[^>]*>', form)
    assert "disabled" in score and 'value="7"' in score
    assert "disabled" not in re.findall(r'<input[^>]*id="title"[^>]*>', form)[0]
    version = str(engine.records.get("lead", own, actor=SYSTEM)["version"])
    base = {"csrf_token": token(ann, f"{LEADS}/edit/?id={own}"), "version": version}
    # the browser does not send the disabled box: the rest saves, the score stays
    response = ann.post(f"{LEADS}/edit/?id={own}", data={**base, "title": "renamed"})
    assert response.status_code == 302
    after = engine.records.get("lead", own, actor=SYSTEM)
    assert (after["title"], after["score"]) == ("renamed", 7)
    # a crafted post of the read-only field is refused by the record service, at the field
    page = ann.post(
        f"{LEADS}/edit/?id={own}", data={**base, "version": str(after["version"]), "title": "again", "score": "99"}
    ).get_data(as_text=True)
    assert "“Score” is read-only for your roles" in html.unescape(page)
    after = engine.records.get("lead", own, actor=SYSTEM)
    assert (after["title"], after["score"]) == ("renamed", 7)


def test_buttons_follow_the_users_access_and_direct_posts_are_refused(
    engine: CrmEngine, leads: dict[str, int], signed_in: SignIn
) -> None:
    ann, aud, mia = signed_in("ann"), signed_in("aud"), signed_in("mia")
    own = leads["ann"]
    # ann: create and edit her own, never delete
    listing = _text(ann, f"{LEADS}/")
    assert f"{LEADS}/new/" in listing and f"{LEADS}/edit/?id={own}" in listing
    assert f"{LEADS}/delete/" not in listing
    assert "crm-edit" in _text(ann, f"{LEADS}/details/?id={own}")
    csrf = token(ann, f"{LEADS}/details/?id={own}")
    response = ann.post(f"{LEADS}/delete/", data={"csrf_token": csrf, "id": str(own)})
    assert response.status_code == 302
    assert engine.records.get("lead", own, actor=SYSTEM)["title"] == "lead of ann"
    message = _flashed(ann)
    assert "You may not do this" in message and "may not delete Lead records" in message
    # mia (manager): deletes the team's records
    assert f"{LEADS}/delete/" in _text(mia, f"{LEADS}/")
    # aud reads every lead and changes none: no Create, Edit or Delete anywhere
    listing = _text(aud, f"{LEADS}/")
    assert f"{LEADS}/new/" not in listing and "/edit/?id=" not in listing and f"{LEADS}/delete/" not in listing
    record_page = _text(aud, f"{LEADS}/details/?id={own}")
    assert "crm-edit" not in record_page and "crm-override" not in record_page
    before = engine.records.list("lead", limit=0, actor=SYSTEM).total
    csrf = token(aud, f"{LEADS}/details/?id={own}")
    page = aud.post(f"{LEADS}/new/", data={"csrf_token": csrf, "title": "by the auditor"}).get_data(as_text=True)
    assert "You may not do this" in page and "may not create Lead records" in page
    assert engine.records.list("lead", limit=0, actor=SYSTEM).total == before
    page = aud.post(f"{LEADS}/edit/?id={own}", data={"csrf_token": csrf, "title": "audited"}).get_data(as_text=True)
    assert "You may not do this" in page and engine.records.get("lead", own, actor=SYSTEM)["title"] == "lead of ann"
    response = aud.get(f"{LEADS}/edit/?id={own}")  # the edit page of a record aud may only read
    assert response.status_code == 302 and "/details/" in response.headers["Location"]
    assert "not change it" in _flashed(aud)


def test_the_menu_lists_only_the_entities_the_user_may_read(leads: dict[str, int], signed_in: SignIn) -> None:
    menu = _text(signed_in("ann"), "/admin/")
    assert f'href="{LEADS}/"' in menu and 'href="/admin/records/product/"' in menu
    assert 'href="/admin/definitions/"' not in menu
    ghost = signed_in("ghost")  # holds only a role no document defines
    menu = _text(ghost, "/admin/")
    assert "/admin/records/" not in menu
    for url in (f"{LEADS}/", f"{LEADS}/details/?id={leads['ann']}", "/admin/definitions/", "/admin/presets/"):
        assert ghost.get(url).status_code == 403, url
    assert 'href="/admin/definitions/"' in _text(signed_in("boss"), "/admin/")


def test_reports_count_the_records_the_user_may_read(ui: FlaskClient, standard: CrmEngine) -> None:
    for company in ("Rita One", "Rita Two"):
        standard.records.create("lead", {"company": company}, actor=acting_for("rita"))
    standard.scoring.run()  # every lead graded: the company's grades outnumber hers
    sign_in(ui, "rita")
    page = _text(ui, "/admin/?workflow=lead_pipeline")
    cards = _text(ui, "/admin/reports/")
    # a rep sees every report, counted over her own records, and is told so
    assert cards.count("data-report=") == len(standard.model.definitions.reports)
    assert "crm-scoped" in cards and "crm-withheld" not in cards
    funnel = re.search(r'<svg class="crm-chart crm-funnel".*?</svg>', page, re.S)
    assert funnel is not None
    counts = [int(bar.rsplit(": ", 1)[1].split(" · ")[0].replace(",", "")) for bar in _bars(funnel.group(0))]
    assert sum(counts) == 2  # her own open leads, not the company's
    rita = standard.users.get("rita")
    grades = run_report(standard, "lead_quality_grades", actor=rita).rows
    assert sum(row["records"] for row in grades) == 2
    listing = _text(ui, "/admin/records/lead/")
    assert "List (2)" in listing and "Rita One" in listing
    admin = create_app({"CRM_ENGINE": standard, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(admin)
    page = _text(admin, "/admin/reports/?part=1")
    assert page.count("data-report=") == len(standard.model.definitions.reports)
    assert "crm-withheld" not in page and "crm-scoped" not in page
    everyone = run_report(standard, "lead_quality_grades", actor=SYSTEM).rows
    assert sum(row["records"] for row in everyone) == standard.records.list("lead", limit=0, actor=SYSTEM).total > 2


def test_a_reference_picker_offers_the_records_the_user_may_read(ui: FlaskClient, standard: CrmEngine) -> None:
    mine = standard.records.create("account", {"name": "Rita's Own Account"}, actor=acting_for("rita"))
    sign_in(ui, "rita")
    offered = ui.get("/admin/records/lead/ajax/lookup/?name=account&query=").get_json()
    # her own and the pool's (unowned accounts a rep may claim), none of a colleague's
    pool = standard.records.list("account", where={"owner": None}, limit=100, actor=SYSTEM).items
    assert sorted(offered) == sorted([[mine["id"], "Rita's Own Account"], *[[a["id"], a["name"]] for a in pool]])
    everyone = standard.records.list("account", limit=0, actor=SYSTEM).total
    admin = create_app({"CRM_ENGINE": standard, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(admin)
    assert len(admin.get("/admin/records/lead/ajax/lookup/?name=account&query=").get_json()) == min(everyone, 20)


# -- related records and refusals in the user's language ------------------------------------------
def _converted_lead(engine: CrmEngine, actor: str = "ada") -> tuple[int, int]:
    """A lead worked to converted by ``actor``: (lead id, id of the opportunity made from it)."""
    account = engine.records.create("account", {"name": "Converted Account Ltd"}, actor=acting_for(actor))
    lead = engine.records.create("lead", {
        "company": "Contoso Pharma", "contact_name": "Grace Hopper", "need": "Replace the old ERP.",
        "budget": "250000", "purchase_timeframe": "within_3_months", "account": account["id"],
    }, actor=acting_for(actor))  # fmt: skip
    user = engine.users.get(actor)
    for name in ("contact", "qualify", "convert"):
        engine.workflows.run("lead", lead["id"], name, user=user)
    (opportunity,) = engine.records.list("opportunity", where={"lead": lead["id"]}, actor=SYSTEM).items
    return lead["id"], opportunity["id"]


def _related(page: str, entity: str, field: str) -> str:
    """The related-records group of ``entity`` through ``field`` on a record page ("" without one)."""
    found = re.search(rf'<div class="crm-related-group[^"]*" data-entity="{entity}" data-field="{field}">.*?</ul>',
                      page, re.S)  # fmt: skip
    return found.group(0) if found else ""


def _linked_ids(group: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-related-id="(\d+)"', group)}


def test_a_converted_leads_page_links_to_its_opportunity(ui: FlaskClient, standard: CrmEngine) -> None:
    lead, opportunity = _converted_lead(standard)
    sign_in(ui)
    page = _text(ui, f"/admin/records/lead/details/?id={lead}")
    group = _related(page, "opportunity", "lead")
    assert f'href="/admin/records/opportunity/details/?id={opportunity}"' in group
    assert _linked_ids(group) == {opportunity}
    assert "Contoso Pharma" in group and "Qualification" in group  # display value and state label
    # "show all" opens the opportunity list filtered on this lead
    link = re.search(r'class="small crm-related-all" href="([^"]+)"', group)
    assert link is not None
    listing = _text(ui, html.unescape(link.group(1)))
    assert "List (1)" in listing and f"/admin/records/opportunity/details/?id={opportunity}" in listing
    # and the opportunity links back to its lead through the reference field
    back = _text(ui, f"/admin/records/opportunity/details/?id={opportunity}")
    assert f'href="/admin/records/lead/details/?id={lead}"' in back


def test_an_account_page_lists_its_contacts_and_opportunities(ui: FlaskClient, standard: CrmEngine) -> None:
    ada = acting_for("ada")
    account = standard.records.create("account", {"name": "Related Ltd"}, actor=ada)["id"]
    contacts = {standard.records.create("contact", {"name": f"Person {i}", "account": account}, actor=ada)["id"]
                for i in range(3)}  # fmt: skip
    deal = standard.records.create("opportunity", {"title": "Big deal", "account": account}, actor=ada)["id"]
    sign_in(ui)
    page = _text(ui, f"/admin/records/account/details/?id={account}")
    assert _linked_ids(_related(page, "contact", "account")) == contacts
    assert _linked_ids(_related(page, "opportunity", "account")) == {deal}
    assert "Opportunity · Account" in page  # opportunities point at accounts twice (account, distributor)
    assert not _related(page, "opportunity", "distributor")  # no record through it: no group
    # ten shown, the rest behind "show all"
    for i in range(12):
        standard.records.create("contact", {"name": f"More {i}", "account": account}, actor=acting_for("ada"))
    group = _related(_text(ui, f"/admin/records/account/details/?id={account}"), "contact", "account")
    assert len(_linked_ids(group)) == 10 and ">10+<" in group


def test_a_rep_sees_only_the_related_records_in_their_scope(ui: FlaskClient, standard: CrmEngine) -> None:
    rita, ada = acting_for("rita"), acting_for("ada")
    account = standard.records.create("account", {"name": "Shared Account"}, actor=rita)["id"]
    hers = standard.records.create("contact", {"name": "Rita's Contact", "account": account}, actor=rita)["id"]
    standard.records.create("contact", {"name": "Someone Else's Contact", "account": account}, actor=ada)
    standard.records.create("opportunity", {"title": "Ada's Deal", "account": account}, actor=ada)
    sign_in(ui, "rita")
    page = _text(ui, f"/admin/records/account/details/?id={account}")
    assert _linked_ids(_related(page, "contact", "account")) == {hers}
    assert "Someone Else" not in page and "Ada's Deal" not in page
    assert not _related(page, "opportunity", "account")
    link = re.search(r'class="small crm-related-all" href="([^"]+)"', _related(page, "contact", "account"))
    assert link is not None and "List (1)" in _text(ui, html.unescape(link.group(1)))


def test_related_records_of_an_entity_or_through_a_field_the_user_may_not_read_are_not_shown(
    engine: CrmEngine, tmp_path: Path
) -> None:
    entities = {
        "lead": {"fields": {"title": {"type": "string"}}},
        "visit": {"fields": {"place": {"type": "string"}, "lead": {"type": "reference", "target": "lead"}}},
        "memo": {"fields": {"text": {"type": "string"}, "lead": {"type": "reference", "target": "lead"}}},
        "call": {
            "display": "topic",
            "fields": {"topic": {"type": "string"}, "lead": {"type": "reference", "target": "lead"}},
        },
    }
    rep = {"schema_version": 1, "kind": "role", "name": "rep", "permissions": {
        "*": {"create": True, "read": "own", "update": "own"},
        "visit": {"read": "none"},  # no visit at all
        "memo": {"fields": {"lead": "hidden"}},  # memos, but not what they are about
    }}  # fmt: skip
    engine.apply(load_definitions(write_bundle(tmp_path, "related", entities, extra={"rep.json": rep})))
    for name, roles in (("boss", ["admin"]), ("ann", ["rep"])):
        engine.users.create(name, roles=roles)
        engine.users.set_password(name, PASSWORD)
    lead = engine.records.create("lead", {"title": "Ann's lead"}, actor=acting_for("ann"))["id"]
    for entity, field in (("visit", "place"), ("memo", "text"), ("call", "topic")):
        engine.records.create(entity, {field: f"a {entity}", "lead": lead}, actor=acting_for("ann"))
    app = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"})
    boss, ann = app.test_client(), app.test_client()
    sign_in(boss, "boss")
    sign_in(ann, "ann")
    url = f"/admin/records/lead/details/?id={lead}"
    everything = _text(boss, url)
    assert all(_related(everything, entity, "lead") for entity in ("visit", "memo", "call"))
    page = _text(ann, url)
    assert _related(page, "call", "lead") and "a call" in page
    assert not _related(page, "visit", "lead") and not _related(page, "memo", "lead")
    assert "Visit" not in page and "a visit" not in page and "a memo" not in page  # memos are in her menu only


def _needs_analysis(engine: CrmEngine) -> int:
    """An opportunity in needs analysis without an expected close date (a proposal is refused)."""
    account = engine.records.create("account", {"name": "Proposal Account"}, actor=acting_for("ada"))["id"]
    deal = engine.records.create("opportunity", {"title": "No date yet", "account": account, "amount": "5000"},
                                 actor=acting_for("ada"))["id"]  # fmt: skip
    engine.workflows.run("opportunity", deal, "confirm_needs", user=engine.users.get("ada"))
    return int(deal)


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "操作被拒绝:进入「方案报价」前需要填写「预计成交日期」"),
    ("en", "Refused: Fill in “Expected close” before the record can enter “Proposal and quote”"),
])  # fmt: skip
def test_a_refused_transition_reads_in_the_users_language_with_labels(
    ui: FlaskClient, standard: CrmEngine, language: str, expected: str
) -> None:
    deal = _needs_analysis(standard)
    standard.users.set_language("ada", language)
    sign_in(ui)
    url = f"/admin/records/opportunity/details/?id={deal}"
    ui.post("/admin/records/opportunity/transition/", data={"csrf_token": token(ui, url), "id": deal,
                                                             "transition": "propose"})  # fmt: skip
    assert expected in html.unescape(_text(ui, url))
    assert standard.records.get("opportunity", deal, actor=SYSTEM)["stage"] == "needs_analysis"


def test_refusals_on_the_record_page_and_the_form_read_in_chinese(ui: FlaskClient, standard: CrmEngine) -> None:
    standard.users.set_language("rita", "zh")
    lead = standard.records.create("lead", {"company": "Refusal Inc"}, actor=acting_for("rita"))["id"]
    sign_in(ui, "rita")
    url = f"/admin/records/lead/details/?id={lead}"
    page = html.unescape(_text(ui, url))
    # a transition her role may not run says so, with the role labels
    refusal = re.search(r'data-transition="distribute".*?<li data-code="role">(.*?)</li>', page, re.S)
    assert refusal is not None and refusal.group(1) == "「分配线索」需要市场或销售经理角色,您的角色为销售代表"
    ui.post("/admin/records/lead/transition/", data={"csrf_token": token(ui, url), "id": lead,
                                                     "transition": "disqualify"})  # fmt: skip
    assert "「判定无效」需要填写「无效原因」" in html.unescape(_text(ui, url))
    # a form's problems under their fields, in Chinese with the field's label
    data = {"csrf_token": token(ui, "/admin/records/lead/new/"), "company": "", "email": "nope"}
    form = html.unescape(ui.post("/admin/records/lead/new/", data=data).get_data(as_text=True))
    assert "「公司名称」为必填项" in form and "必须是邮箱地址" in form


def test_the_history_shows_state_and_transition_labels(ui: FlaskClient, standard: CrmEngine) -> None:
    lead, _opportunity = _converted_lead(standard)
    sign_in(ui)
    url = f"/admin/records/lead/details/?id={lead}"
    history = re.search(r'<table class="table table-sm mb-0 crm-history">.*?</table>', _text(ui, url), re.S)
    assert history is not None
    rows = history.group(0)
    assert '<strong data-state="converted">Converted</strong>' in rows
    assert "Convert to opportunity" in rows and ">qualified<" not in rows
    standard.users.set_language("ada", "zh")
    history = re.search(r'<table class="table table-sm mb-0 crm-history">.*?</table>', _text(ui, url), re.S)
    assert history is not None
    assert '<strong data-state="converted">已转商机</strong>' in history.group(0) and "转为商机" in history.group(0)


def test_lists_filter_by_owner_me_and_by_dates(ui: FlaskClient, standard: CrmEngine) -> None:
    from engine.web.admin._filters import entity_filters

    first = len(entity_filters(standard.model.entity("lead")))  # the system filters follow the fields'
    owner, created_from = first, first + 1
    mine = standard.records.create("lead", {"company": "Owner Filter Ltd"}, actor=acting_for("ada"))
    sign_in(ui)
    page = ui.get(f"/admin/records/lead/?flt0_{owner}=me").get_data(as_text=True)
    assert "Owner Filter Ltd" in page and "List (1)" in page
    all_leads = standard.records.list("lead", limit=0, actor=SYSTEM).total
    assert f"List ({all_leads})" in ui.get("/admin/records/lead/").get_data(as_text=True)
    later = (mine["created_at"] + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")  # the picker has minutes
    after = ui.get(f"/admin/records/lead/?flt0_{created_from}={later}").get_data(as_text=True)
    assert "Owner Filter Ltd" not in after
    picker = ui.get("/admin/records/lead/").get_data(as_text=True)
    assert "Mine" in picker  # the owner filter offers "me" by name
