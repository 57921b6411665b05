"""Bulk edit through the API (SQLite and PostgreSQL): ``PATCH /api/v1/records/ENTITY`` writes
the same values over many records, each through the record service or, for a state, the
workflow service, as the calling user; every record has its own result, a refusal undoes only
its own record, a dry run writes nothing, and every change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from engine.storage import events as events_table
from tests.support import SYSTEM, acting_for
from tests.web.conftest import AuthHeaders
from tests.web.web_support import API, error_codes, problem


def account(engine: CrmEngine, owner: str, name: str) -> dict[str, Any]:
    return engine.records.create("account", {"name": name}, actor=acting_for(owner))


def deal(engine: CrmEngine, owner: str, title: str, **values: Any) -> dict[str, Any]:
    values.setdefault("account", account(engine, owner, f"{title} Ltd")["id"])
    values.setdefault("expected_close", "2027-01-29")
    return engine.records.create("opportunity", {"title": title, **values}, actor=acting_for(owner))


def move(engine: CrmEngine, record: dict[str, Any], *transitions: str) -> None:
    for name in transitions:
        engine.workflows.run("opportunity", record["id"], name, user=engine.users.get("ada"))


def patch(client: FlaskClient, headers: dict[str, str], entity: str, body: Any) -> Any:
    return client.patch(f"{API}/records/{entity}", json=body, headers=headers)


def stored(engine: CrmEngine, entity: str, record_id: int) -> dict[str, Any]:
    return engine.records.get(entity, record_id, actor=SYSTEM)


def audit_of(engine: CrmEngine, entity: str, record_id: int) -> list[dict[str, Any]]:
    return engine.records.audit(entity, record_id, actor=SYSTEM)


def event_count(engine: CrmEngine) -> int:
    with engine.db.read() as conn:
        return len(conn.execute(events_table.select()).all())


def test_bulk_edit_changes_every_record_and_audits_each(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    mine = [deal(standard, "rita", f"Deal {n}", probability=10) for n in range(3)]
    ids = [r["id"] for r in mine]
    response = patch(
        client,
        auth_headers("rita"),
        "opportunity",
        {"ids": ids, "values": {"next_step": "Call back", "probability": 40}},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["updated"], body["refused"], body["applied"], body["dry_run"]) == (3, 0, True, False)
    assert [r["id"] for r in body["results"]] == ids
    for result, before in zip(body["results"], mine, strict=True):
        assert result["ok"] and result["errors"] == [] and result["version"] == before["version"] + 1
        assert {"field": "probability", "old": 10, "new": 40} in result["changes"]
        assert {"field": "next_step", "old": None, "new": "Call back"} in result["changes"]
        assert stored(standard, "opportunity", before["id"])["next_step"] == "Call back"
        trail = {(a["field"], a["actor"]) for a in audit_of(standard, "opportunity", before["id"])}
        assert {("next_step", "rita"), ("probability", "rita")} <= trail


def test_one_refusal_leaves_the_others_applied(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    """A validator refuses one order (a distributor order needs a distributor), another is a
    colleague's: both are refused on their own, the third is changed."""
    customer = account(standard, "rita", "Customer")["id"]
    reseller = account(standard, "rita", "Reseller")["id"]
    create = standard.records.create
    with_reseller = create("sales_order", {"account": customer, "distributor": reseller}, actor=acting_for("rita"))
    without = create("sales_order", {"account": customer}, actor=acting_for("rita"))
    colleagues = create("sales_order", {"account": customer}, actor=acting_for("ada"))
    ids = [with_reseller["id"], without["id"], colleagues["id"]]
    body = patch(
        client, auth_headers("rita"), "sales_order", {"ids": ids, "values": {"channel": "distributor"}}
    ).get_json()
    assert (body["updated"], body["refused"], body["applied"]) == (1, 2, True)
    applied, invalid, hidden = body["results"]
    assert applied["ok"] and applied["changes"] == [{"field": "channel", "old": "direct", "new": "distributor"}]
    assert not invalid["ok"] and [e["field"] for e in invalid["errors"]] == ["distributor"]
    assert invalid["version"] == without["version"] and invalid["changes"] == []
    # a record the rep may not read is not found, as on its own page: nothing of it comes back
    assert not hidden["ok"] and hidden["code"] == "not_found" and hidden["version"] is None
    assert stored(standard, "sales_order", with_reseller["id"])["channel"] == "distributor"
    assert stored(standard, "sales_order", without["id"])["channel"] == "direct"
    assert stored(standard, "sales_order", colleagues["id"])["channel"] == "direct"
    assert not [a for a in audit_of(standard, "sales_order", without["id"]) if a["action"] == "update"]


def test_atomic_bulk_edit_applies_nothing_when_one_is_refused(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    customer = account(standard, "rita", "Customer")["id"]
    reseller = account(standard, "rita", "Reseller")["id"]
    fine = standard.records.create(
        "sales_order", {"account": customer, "distributor": reseller}, actor=acting_for("rita")
    )
    invalid = standard.records.create("sales_order", {"account": customer}, actor=acting_for("rita"))
    body = {"ids": [fine["id"], invalid["id"]], "values": {"channel": "distributor"}, "atomic": True}
    answer = patch(client, auth_headers("rita"), "sales_order", body).get_json()
    assert (answer["applied"], [r["ok"] for r in answer["results"]]) == (False, [True, False])
    assert stored(standard, "sales_order", fine["id"])["channel"] == "direct"


def test_a_dry_run_says_what_would_change_and_writes_nothing(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    mine = [deal(standard, "rita", f"Deal {n}", amount="100") for n in range(2)]
    move(standard, mine[0], "confirm_needs", "propose", "negotiate")
    events = event_count(standard)
    trails = [len(audit_of(standard, "opportunity", r["id"])) for r in mine]
    body = {"ids": [r["id"] for r in mine], "values": {"owner": "ada", "stage": "won"}, "dry_run": True}
    answer = patch(client, auth_headers("ada"), "opportunity", body).get_json()
    assert (answer["dry_run"], answer["applied"], answer["updated"], answer["refused"]) == (True, False, 1, 1)
    won, refused = answer["results"]
    changed = {c["field"]: (c["old"], c["new"]) for c in won["changes"]}
    assert changed["owner"] == ("rita", "ada") and changed["stage"] == ("negotiation", "won")
    assert changed["probability"][1] == 100  # what the transition's action would set
    assert refused["errors"][0]["field"] == "stage"  # no transition from qualification to won
    for record, trail in zip(mine, trails, strict=True):
        now = stored(standard, "opportunity", record["id"])
        assert now["owner"] == "rita" and now["version"] == record["version"] + (3 if record is mine[0] else 0)
        assert len(audit_of(standard, "opportunity", record["id"])) == trail
    assert event_count(standard) == events
    assert not standard.records.list("sales_order", where={"opportunity": mine[0]["id"]}, actor=SYSTEM).items


def test_a_state_moves_through_its_transition_with_guard_and_inputs(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    priced = deal(standard, "rita", "Priced", amount="5000")
    free = deal(standard, "rita", "Free", amount="0")
    move(standard, priced, "confirm_needs", "propose", "negotiate")
    move(standard, free, "confirm_needs", "propose", "negotiate")
    rita = auth_headers("rita")
    answer = patch(client, rita, "opportunity", {"ids": [priced["id"], free["id"]], "values": {"stage": "won"}})
    won, guarded = answer.get_json()["results"]
    assert won["ok"] and stored(standard, "opportunity", priced["id"])["stage"] == "won"
    assert stored(standard, "opportunity", priced["id"])["won_at"] is not None  # the transition's action ran
    history = standard.workflows.history("opportunity", priced["id"], actor=SYSTEM)
    assert (history[-1]["transition"], history[-1]["actor"]) == ("win", "rita")
    assert standard.records.list("sales_order", where={"opportunity": priced["id"]}, actor=SYSTEM).items
    assert not guarded["ok"] and guarded["code"] == "transition_refused"
    assert "guard" in error_codes({"errors": guarded["errors"]})
    assert stored(standard, "opportunity", free["id"])["stage"] == "negotiation"
    # a transition asking for inputs: refused without them, run with them
    lost = {"ids": [free["id"]], "values": {"stage": "lost"}}
    refused = patch(client, rita, "opportunity", lost).get_json()["results"][0]
    assert not refused["ok"] and refused["code"] == "transition_refused"
    again = patch(client, rita, "opportunity", {**lost, "inputs": {"reason": "price"}, "comment": "too dear"})
    assert again.get_json()["results"][0]["ok"]
    assert stored(standard, "opportunity", free["id"])["lost_reason"] == "price"
    assert standard.workflows.history("opportunity", free["id"], actor=SYSTEM)[-1]["comment"] == "too dear"


def test_an_owner_change_cascades(standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders) -> None:
    standard.users.create("sam", roles=["rep"], team="east")
    firm = account(standard, "rita", "Firm")
    follows = deal(standard, "rita", "Follows", account=firm["id"])
    answer = patch(client, auth_headers("ada"), "account", {"ids": [firm["id"]], "values": {"owner": "sam"}})
    assert answer.get_json()["results"][0]["ok"]
    assert stored(standard, "account", firm["id"])["owner"] == "sam"
    assert stored(standard, "opportunity", follows["id"])["owner"] == "sam"  # cascade_owner
    assert [
        a["actor"]
        for a in audit_of(standard, "account", firm["id"])
        if a["field"] == "owner" and a["action"] == "update"
    ] == ["ada"]


def test_a_stale_version_refuses_that_record(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    record = deal(standard, "rita", "Stale")
    standard.records.update("opportunity", record["id"], {"next_step": "x"}, actor=SYSTEM)
    body = {"ids": [record["id"]], "values": {"next_step": "y"}, "versions": {str(record["id"]): record["version"]}}
    result = patch(client, auth_headers("rita"), "opportunity", body).get_json()["results"][0]
    assert not result["ok"] and result["code"] == "conflict"
    assert stored(standard, "opportunity", record["id"])["next_step"] == "x"


def test_the_request_as_a_whole_is_refused_with_a_problem(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    rita = auth_headers("rita")
    record = deal(standard, "rita", "Mine")
    unknown = problem(patch(client, rita, "opportunity", {"ids": [record["id"]], "values": {"colour": "red"}}), 400)
    assert [(e["code"], e["pointer"]) for e in unknown["errors"]] == [("unknown_field", "/values/colour")]
    assert (
        problem(patch(client, rita, "opportunity", {"ids": [record["id"]]}), 400)["errors"][0]["pointer"] == "/values"
    )
    assert problem(patch(client, rita, "opportunity", {"ids": "1", "values": {"title": "x"}}), 400)
    assert problem(patch(client, rita, "opportunity", {"ids": [0], "values": {"title": "x"}}), 400)
    assert problem(patch(client, rita, "opportunity", {"ids": [2**64], "values": {"title": "x"}}), 400)
    assert problem(
        patch(client, rita, "opportunity", {"ids": [1], "values": {"title": "x"}, "versions": {"x": 1}}), 400
    )
    assert problem(patch(client, rita, "opportunity", {"ids": [1], "values": {"title": "x"}, "dry": 1}), 400)
    assert problem(patch(client, rita, "opportunity", {"ids": [1], "values": {"stage": "heaven"}}), 400)
    assert problem(patch(client, rita, "opportunity", [1, 2]), 400)
    too_many = problem(patch(client, rita, "opportunity", {"ids": list(range(1, 502)), "values": {"title": "x"}}), 413)
    assert too_many["errors"][0]["pointer"] == "/ids"
    fixed = problem(patch(client, rita, "opportunity", {"ids": [record["id"]], "values": {"won_at": None}}), 400)
    assert [(e["code"], e["pointer"]) for e in fixed["errors"]] == [("read_only", "/values/won_at")]
    # a rep may not change products at all
    assert problem(patch(client, rita, "product", {"ids": [1], "values": {"name": "x"}}), 403)
    assert problem(patch(client, rita, "nothing", {"ids": [1], "values": {"name": "x"}}), 404)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_refusals_are_said_in_the_request_language(
    standard: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders, language: str
) -> None:
    record = deal(standard, "rita", "Early")
    body = {"ids": [record["id"]], "values": {"stage": "won"}}
    result = client.patch(f"{API}/records/opportunity?lang={language}", json=body, headers=auth_headers("rita"))
    refused = result.get_json()["results"][0]
    assert not refused["ok"] and refused["message"]
    chinese = any("\u4e00" <= c <= "\u9fff" for c in refused["message"] + refused["errors"][0]["message"])
    assert chinese == (language == "zh"), refused


def test_the_openapi_document_describes_the_bulk_edit(standard: CrmEngine, client: FlaskClient) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    operations = spec["paths"]["/records/opportunity"]
    assert {"get", "post", "patch"} <= set(operations)  # beside list and create
    patch_op = operations["patch"]
    assert {"200", "400", "403", "413"} <= set(patch_op["responses"])
    body = patch_op["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["ids", "values"] and body["properties"]["ids"]["maxItems"] == 500
    values = spec["components"]["schemas"]["opportunity.bulk"]["properties"]
    assert "stage" in values and "owner" in values and "won_at" not in values
