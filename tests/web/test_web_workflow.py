"""Transitions, history and scores over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.web.conftest import AuthHeaders
from tests.web.web_support import ADMIN, API, error_codes, problem


def new_order(client: FlaskClient, headers: dict[str, str], **values: Any) -> dict[str, Any]:
    """A new order created by whoever ``headers`` authenticate."""
    customer = client.post(f"{API}/records/customer", json={"name": "上海电信"}, headers=headers).get_json()
    response = client.post(
        f"{API}/records/order",
        json={"number": "SO-1", "customer": customer["id"], "amount": "25000", **values},
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    order: dict[str, Any] = response.get_json()
    return order


def test_transitions_say_what_is_possible_and_why_not(
    flow: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    response = client.get(f"{API}/records/order/{order['id']}/transitions", headers=auth_headers("rita"))
    assert response.status_code == 200
    checks = {c["transition"]: c for c in response.get_json()["items"]}
    assert checks["submit"]["available"] and checks["submit"]["to"] == "submitted"
    assert not checks["approve"]["available"]
    assert {"wrong_state", "role"} <= {r["code"] for r in checks["approve"]["reasons"]}
    zh = client.get(f"{API}/records/order/{order['id']}/transitions?lang=zh").get_json()
    assert {c["transition"] for c in zh["items"]} == set(checks)


def test_running_transitions_with_versions_and_history(
    flow: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    url = f"{API}/records/order/{order['id']}"
    submitted = client.post(
        f"{url}/transitions/submit", json={"comment": "please"}, headers={**auth_headers("rita"), "If-Match": 'W/"1"'}
    )
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    assert submitted.get_json()["status"] == "submitted" and submitted.headers["ETag"] == 'W/"2"'

    stale = problem(
        client.post(
            f"{url}/transitions/reject", json={"inputs": {"reason": "no"}, "version": 1}, headers=auth_headers("sam")
        ),
        409,
    )
    assert error_codes(stale) == ["stale_version"]

    refused = problem(client.post(f"{url}/transitions/review", headers=auth_headers("rita")), 409)
    assert refused["code"] == "transition_refused"
    assert {"role", "separation_of_duties"} <= set(error_codes(refused))

    missing = problem(client.post(f"{url}/transitions/reject", json={"inputs": {}}, headers=auth_headers("sam")), 409)
    assert "input_required" in error_codes(missing)
    rejected = client.post(
        f"{url}/transitions/reject", json={"inputs": {"reason": "credit"}, "version": 2}, headers=auth_headers("sam")
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["reject_reason"] == "credit"

    history = client.get(f"{url}/history").get_json()["items"]
    assert [(h["transition"], h["to_state"], h["actor"]) for h in history] == [
        (None, "draft", "rita"),
        ("submit", "submitted", "rita"),
        ("reject", "rejected", "sam"),
    ]
    assert history[1]["comment"] == "please" and history[2]["inputs"] == {"reason": "credit"}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("transitions/fly", {}, 404, "not_found"),
        ("transitions/submit", {"inputs": ["x"]}, 400, "invalid_body"),
        ("transitions/submit", {"comment": 5}, 400, "invalid_body"),
        ("transitions/submit", {"version": "1"}, 400, "invalid_body"),
        ("transitions/submit", {"input": {}}, 400, "invalid_body"),
    ],
    ids=["unknown-transition", "inputs-not-object", "comment-not-text", "version-not-number", "unknown-key"],
)
def test_bad_transition_requests(
    flow: CrmEngine,
    client: FlaskClient,
    auth_headers: AuthHeaders,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    order = new_order(client, auth_headers("rita"))
    response = client.post(f"{API}/records/order/{order['id']}/{path}", json=body, headers=auth_headers("rita"))
    assert problem(response, status)["code"] == code


def test_scores_explain_and_take_overrides(sales: CrmEngine, client: FlaskClient) -> None:
    account = client.post(f"{API}/records/account", json={"name": "Acme"}).get_json()
    deal = client.post(
        f"{API}/records/opportunity",
        json={"title": "Big", "account": account["id"], "amount": "150000", "source": "referral"},
    ).get_json()
    url = f"{API}/records/opportunity/{deal['id']}"
    (score,) = client.get(f"{url}/scores").get_json()["items"]
    assert (score["scoring"], score["value"], score["grade"]) == ("opportunity_quality", 65.0, "B")
    assert {f["name"] for f in score["factors"]} == {"rule_1", "rule_2"}
    labels = client.get(f"{url}/scores?lang=zh").get_json()["items"][0]["factors"]
    assert "金额十万以上" in {f["label"] for f in labels}

    overridden = client.put(f"{url}/scores/opportunity_quality/override", json={"grade": "A", "reason": "strategic"})
    assert overridden.status_code == 200, overridden.get_data(as_text=True)
    shown = overridden.get_json()
    assert shown["grade"] == "A" and shown["computed"]["grade"] == "B" and shown["override"]["by"] == ADMIN
    assert client.get(url).get_json()["quality_grade"] == "A"

    cleared = client.delete(f"{url}/scores/opportunity_quality/override")
    assert cleared.status_code == 200 and cleared.get_json()["grade"] == "B" and cleared.get_json()["override"] is None
    assert client.get(url).get_json()["quality_grade"] == "B"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("put", "opportunity_quality/override", {"grade": "A"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", {"reason": "why"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", {"value": "high", "reason": "r"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", {"value": 1e300, "reason": "r"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", {"grade": "AAAAA", "reason": "r"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", {"grade": "A", "reason": "r", "by": "me"}, 400, "invalid_body"),
        ("put", "opportunity_quality/override", ["A"], 400, "invalid_body"),
        ("put", "nope/override", {"grade": "A", "reason": "r"}, 404, "not_found"),
        ("get", "", None, 404, "not_found"),
    ],
    ids=[
        "no-reason",
        "no-value-or-grade",
        "value-not-number",
        "value-huge",
        "grade-wider-than-target",
        "unknown-key",
        "not-an-object",
        "unknown-scoring",
        "unknown-record",
    ],
)
def test_bad_score_requests(
    sales: CrmEngine, client: FlaskClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    account = client.post(f"{API}/records/account", json={"name": "Acme"}).get_json()
    deal = client.post(f"{API}/records/opportunity", json={"title": "T", "account": account["id"]}).get_json()
    record = deal["id"] if path else 999
    url = f"{API}/records/opportunity/{record}/scores" + (f"/{path}" if path else "")
    response = getattr(client, method)(url, **({"json": body} if body is not None else {}))
    assert problem(response, status)["code"] == code
