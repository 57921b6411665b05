"""The conventions API clients expect: transitions named without ambiguity, conditional
requests, CORS, languages, cursors, limits on queries, and problem documents for every error."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import CrmEngine
from tests.support import SYSTEM
from tests.web.conftest import AuthHeaders
from tests.web.test_web_workflow import new_order
from tests.web.web_support import API, error_codes, problem


# -- #10.16: a transition name in two workflows -------------------------------------------------
def test_an_ambiguous_transition_is_refused_until_the_workflow_is_named(
    two_approvals: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    url = f"{API}/records/order/{order['id']}/transitions/approve"
    refused = problem(client.post(url, headers=auth_headers("fiona")), 422)
    assert refused["code"] == "ambiguous_transition"
    assert {e["message"].split()[-1] for e in refused["errors"]} == {"order_approval", "order_billing"}
    assert client.get(f"{API}/records/order/{order['id']}").get_json()["billing"] == "open"

    wrong = problem(client.post(url, json={"workflow": "nope"}, headers=auth_headers("fiona")), 400)
    assert error_codes(wrong) == ["unknown_workflow"]
    assert problem(client.post(url, json={"workflow": 3}, headers=auth_headers("fiona")), 400)["code"] == (
        "invalid_body"
    )

    ran = client.post(url, json={"workflow": "order_billing"}, headers=auth_headers("fiona"))
    assert ran.status_code == 200, ran.get_data(as_text=True)
    assert ran.get_json()["billing"] == "invoiced" and ran.get_json()["status"] == "draft"


# -- #10.19: conditional requests ---------------------------------------------------------------
def test_if_match_and_if_none_match_follow_http(flow: CrmEngine, client: FlaskClient) -> None:
    created = client.post(f"{API}/records/customer", json={"name": "Acme"})
    url = created.headers["Location"]
    assert created.headers["ETag"] == 'W/"1"'

    fresh = client.get(url, headers={"If-None-Match": 'W/"1"'})
    assert fresh.status_code == 304 and fresh.headers["ETag"] == 'W/"1"' and fresh.get_data() == b""
    assert client.get(url, headers={"If-None-Match": '"1"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": 'W/"7", W/"1"'}).status_code == 304

    changed = client.patch(url, json={"name": "Acme Ltd"}, headers={"If-Match": 'W/"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == 'W/"2"'
    full = client.get(url, headers={"If-None-Match": 'W/"1"'})
    assert full.status_code == 200 and full.get_json()["name"] == "Acme Ltd"

    stale = problem(client.patch(url, json={"name": "Acme Inc"}, headers={"If-Match": 'W/"1"'}), 412)
    assert stale["code"] == "precondition_failed" and error_codes(stale) == ["stale_version"]
    assert problem(client.delete(url, headers={"If-Match": 'W/"1"'}), 412)["code"] == "precondition_failed"
    # the version in the body is not a precondition of HTTP: a conflict, as before
    assert problem(client.patch(url, json={"name": "Acme Inc", "version": 1}), 409)["code"] == "conflict"
    assert client.get(url).get_json()["name"] == "Acme Ltd"


# -- #18.8: client input is never an outage -----------------------------------------------------
def test_large_filters_and_sorts_are_refused_with_their_limit(sales: CrmEngine, client: FlaskClient) -> None:
    client.post(f"{API}/records/account", json={"name": "Acme"})
    url = f"{API}/records/account"
    many = {"or": [{"name": f"n{i}"} for i in range(5000)]}
    refused = problem(client.get(url, query_string={"where": json.dumps(many)}), 400)
    assert error_codes(refused) == ["too_many_conditions"] and "200" in refused["detail"]
    operators = {"name": {"ne": "a", "startswith": "b"}, "and": [{"name": {"contains": "x"}}] * 199}
    assert error_codes(problem(client.get(url, query_string={"where": json.dumps(operators)}), 400)) == [
        "too_many_conditions"
    ]
    allowed = {"or": [{"name": f"n{i}"} for i in range(199)] + [{"name": "Acme"}]}
    assert client.get(url, query_string={"where": json.dumps(allowed)}).get_json()["total"] == 1

    sorts = problem(client.get(url, query_string={"sort": ",".join(["name"] * 5000)}), 400)
    assert error_codes(sorts) == ["too_many_sort_keys"] and "16" in sorts["detail"]
    assert client.get(url, query_string={"sort": ",".join(["name", "-id"] * 8)}).status_code == 200


def test_a_statement_the_database_refuses_is_not_an_outage(engine: CrmEngine, app: Flask, client: FlaskClient) -> None:
    def refused() -> str:
        with engine.db.read() as conn:
            if engine.db.dialect == "sqlite":  # parser stack overflow
                conn.execute(sa.text("SELECT " + "abs(" * 2000 + "1" + ")" * 2000))
            else:  # canceling statement due to statement timeout
                conn.execute(sa.text("SET LOCAL statement_timeout = 1"))
                conn.execute(sa.text("SELECT pg_sleep(1)"))
        return "unreachable"

    app.add_url_rule("/probe", view_func=refused)
    body = problem(client.get("/probe"), 400)
    assert body["code"] == "query_refused"


# -- #10.20: CORS ---------------------------------------------------------------------------------
ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization",
}


def test_cors_is_off_by_default(sales: CrmEngine, app: Flask, client: FlaskClient) -> None:
    preflight = app.test_client().options(f"{API}/records/account/1", headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    listed = client.get(f"{API}/records/account", headers={"Origin": ORIGIN})
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers


def test_cors_answers_allowed_origins_only(sales: CrmEngine, auth_headers: AuthHeaders) -> None:
    from engine.web import create_app

    app = create_app({"CRM_ENGINE": sales, "TESTING": True, "CRM_CORS_ORIGINS": f" {ORIGIN}, http://localhost:5173 "})
    anonymous = app.test_client()
    preflight = anonymous.options(f"{API}/records/account/1", headers=PREFLIGHT)  # no token: browsers send none
    assert preflight.status_code == 204 and preflight.get_data() == b""
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]

    created = anonymous.post(
        f"{API}/records/account", json={"name": "Acme"}, headers={"Origin": ORIGIN, **auth_headers("root")}
    )
    assert created.status_code == 201 and created.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {h.strip() for h in created.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Link", "Location"} <= exposed and "Origin" in created.headers["Vary"]
    refused = anonymous.get(f"{API}/records/account", headers={"Origin": ORIGIN})  # errors carry it too
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == ORIGIN

    other = {**PREFLIGHT, "Origin": "https://evil.example.net"}
    denied = anonymous.options(f"{API}/records/account/1", headers=other)
    assert denied.status_code != 204 and "Access-Control-Allow-Origin" not in denied.headers
    listed = anonymous.get(f"{API}/records/account", headers={"Origin": other["Origin"], **auth_headers("root")})
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers
    assert "Origin" in listed.headers["Vary"]


# -- #10.21: lang on every operation, refusals in the client's language -----------------------------
def test_lang_is_taken_by_every_operation_and_refusals_follow_it(sales: CrmEngine, client: FlaskClient) -> None:
    created = client.post(f"{API}/records/account?lang=zh", json={"name": "Acme"})
    assert created.status_code == 201, created.get_data(as_text=True)
    url = created.headers["Location"]
    assert client.patch(f"{url}?lang=en", json={"city": "Paris"}).status_code == 200
    assert client.get(f"{API}/health?lang=zh").status_code == 200
    assert error_codes(problem(client.post(f"{API}/records/account?lang=fr", json={"name": "B"}), 400)) == ["choice"]

    english = problem(client.post(f"{API}/records/account", json={"city": "Paris", "employees": -1}), 422)
    for ask in ({"query_string": {"lang": "zh"}}, {"headers": {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}}):
        chinese = problem(client.post(f"{API}/records/account", json={"city": "Paris", "employees": -1}, **ask), 422)
        assert chinese["code"] == english["code"] and chinese["title"] == "内容无法处理"
        assert [(e["code"], e["field"]) for e in chinese["errors"]] == [
            (e["code"], e["field"]) for e in english["errors"]
        ]
        messages = {e["field"]: e["message"] for e in chinese["errors"]}
        assert "名称" in messages["name"] and "员工数" in messages["employees"]
        assert "名称" in chinese["detail"]
    assert english["title"] == "Unprocessable Entity" and "名称" not in english["detail"]
    preferred = problem(
        client.post(f"{API}/records/account?lang=en", json={}, headers={"Accept-Language": "zh-CN"}), 422
    )
    assert preferred["title"] == "Unprocessable Entity"  # lang wins over the header
    missing = problem(client.get(f"{API}/records/nope", headers={"Accept-Language": "zh"}), 404)
    assert missing["title"] == "未找到" and missing["code"] == "not_found"


def test_workflow_refusals_name_states_and_transitions_in_chinese(
    flow: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    url = f"{API}/records/order/{order['id']}/transitions/approve?lang=zh"
    refused = client.post(url, headers=auth_headers("fiona"))
    body = problem(refused, refused.status_code)
    assert "wrong_state" in error_codes(body)
    said = next(e["message"] for e in body["errors"] if e["code"] == "wrong_state")
    assert "草稿" in said  # the label of the record's state


# -- #10.22 / #10.23: search and cursor pagination --------------------------------------------------
CITIES = ("Paris", "Lyon", None, "Nice")


def _fill(engine: CrmEngine, count: int) -> None:
    for i in range(count):
        engine.records.create(
            "account",
            {
                "name": f"Acme {i:03d}" if i % 3 else f"Globex {i:03d}",
                "city": CITIES[i % len(CITIES)],
                "employees": None if i % 5 == 0 else (i * 7) % 11,
                "annual_revenue": f"{(i * 13) % 17}.50",
            },
            actor=SYSTEM,
        )


def _walk(client: FlaskClient, first: str) -> tuple[list[int], list[str]]:
    """The ids of every page from ``first`` on, following the next links; and the links."""
    ids: list[int] = []
    links: list[str] = []
    url: str | None = first
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["offset"] == len(ids)
        ids += [r["id"] for r in body["items"]]
        url = body["next"]
        if url is not None:
            assert response.headers["Link"] == f'<{url}>; rel="next"'
            links.append(url)
        else:
            assert "Link" not in response.headers
        assert len(links) < 100
    return ids, links


@pytest.mark.parametrize(
    "sort", ["", "-employees", "city,-employees", "-city,name", "annual_revenue,-id", "-created_at", "name"]
)
def test_cursor_pages_walk_the_same_list_as_offsets(sales: CrmEngine, client: FlaskClient, sort: str) -> None:
    _fill(sales, 37)
    query = {"sort": sort, "where": json.dumps({"name": {"ne": "Acme 004"}}), "q": "E"}
    url = f"{API}/records/account"
    everything = client.get(url, query_string={**query, "limit": 1000}).get_json()
    assert everything["next"] is None and everything["total"] == 36
    walked, links = _walk(client, client.get(url, query_string={**query, "limit": 5}).request.full_path)
    assert walked == [r["id"] for r in everything["items"]]
    assert len(links) == 7 and all("cursor=" in link and "offset=" not in link for link in links)
    by_offset = [
        r["id"]
        for start in range(0, 36, 5)
        for r in client.get(url, query_string={**query, "limit": 5, "offset": start}).get_json()["items"]
    ]
    assert by_offset == walked


def test_a_cursor_is_stable_under_inserts_and_bound_to_its_list(sales: CrmEngine, client: FlaskClient) -> None:
    _fill(sales, 12)
    url = f"{API}/records/account"
    first = client.get(url, query_string={"sort": "-employees", "limit": 4, "q": "acme"}).get_json()
    next_url = first["next"]
    sales.records.create("account", {"name": "Acme new", "employees": 100}, actor=SYSTEM)  # sorts before the cursor
    second = client.get(next_url).get_json()
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    assert "Acme new" not in [r["name"] for r in second["items"]]

    cursor = next_url.split("cursor=", 1)[1]
    changed_q = problem(client.get(next_url.replace("q=acme", "q=globex")), 400)
    assert changed_q["code"] == "invalid_cursor" and error_codes(changed_q) == ["invalid_cursor"]
    assert problem(client.get(f"{url}?sort=-employees&limit=4&q=acme&where=%7B%7D&cursor={cursor}"), 400)["code"] == (
        "invalid_cursor"
    )
    assert problem(client.get(f"{url}?sort=employees&limit=4&q=acme&cursor={cursor}"), 400)["code"] == (
        "invalid_cursor"
    )
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert problem(client.get(f"{url}?sort=-employees&limit=4&q=acme&cursor={tampered}"), 400)["code"] == (
        "invalid_cursor"
    )
    assert problem(client.get(f"{url}?cursor=nonsense"), 400)["code"] == "invalid_cursor"
    both = problem(client.get(f"{next_url}&offset=4"), 400)
    assert error_codes(both) == ["cursor_and_offset"]
    # the limit may change along the walk
    assert client.get(next_url.replace("limit=4", "limit=2")).status_code == 200


def test_search_q_on_record_lists(sales: CrmEngine, client: FlaskClient) -> None:
    _fill(sales, 9)
    found = client.get(f"{API}/records/account", query_string={"q": "GLOBEX"}).get_json()
    assert sorted(r["name"] for r in found["items"]) == ["Globex 000", "Globex 003", "Globex 006"]
    refused = problem(client.get(f"{API}/records/account", query_string={"q": "x" * 201}), 400)
    assert error_codes(refused) == ["max_length"]
