"""Which transition a request means is the workflow service's decision: the API asks it, and
names the workflow in the body or the query when a name is in several workflows."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.errors import CrmError
from engine.runtime import CrmEngine
from engine.workflow import AmbiguousTransitionError, UnknownTransitionError, UnknownWorkflowError
from tests.web.conftest import AuthHeaders
from tests.web.test_web_workflow import new_order
from tests.web.web_support import API, error_codes, problem


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def _approve_url(client: FlaskClient, auth_headers: AuthHeaders) -> str:
    order = new_order(client, auth_headers("rita"))
    return f"{API}/records/order/{order['id']}/transitions/approve"


def test_an_ambiguous_name_is_422_naming_both_workflows(
    two_approvals: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    refused = problem(client.post(_approve_url(client, auth_headers), headers=auth_headers("fiona")), 422)
    assert refused["code"] == "ambiguous_transition"
    assert error_codes(refused) == ["ambiguous_transition", "ambiguous_transition"]
    assert "order_approval" in refused["detail"] and "order_billing" in refused["detail"]


@pytest.mark.parametrize(
    ("query", "body"),
    [({}, {"workflow": "order_billing"}), ({"workflow": "order_billing"}, None), ({"workflow": "order_billing"},) * 2],
    ids=["body", "query", "both-agree"],
)
def test_the_workflow_is_named_in_the_body_or_the_query(
    two_approvals: CrmEngine,
    client: FlaskClient,
    auth_headers: AuthHeaders,
    query: dict[str, str],
    body: dict[str, Any] | None,
) -> None:
    url = _approve_url(client, auth_headers)
    ran = client.post(url, query_string=query, json=body, headers=auth_headers("fiona"))
    assert ran.status_code == 200, ran.get_data(as_text=True)
    assert ran.get_json()["billing"] == "invoiced" and ran.get_json()["status"] == "draft"


def test_a_query_and_a_body_naming_different_workflows_conflict(
    two_approvals: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    url = _approve_url(client, auth_headers)
    conflict = client.post(
        url,
        query_string={"workflow": "order_approval"},
        json={"workflow": "order_billing"},
        headers=auth_headers("fiona"),
    )
    assert error_codes(problem(conflict, 400)) == ["conflicting_workflow"]
    assert client.get(url.rsplit("/transitions", 1)[0]).get_json()["billing"] == "open"


def test_a_workflow_without_the_transition_names_those_with_it(
    two_approvals: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    url = f"{API}/records/order/{order['id']}/transitions/submit"
    wrong = problem(client.post(url, query_string={"workflow": "order_billing"}, headers=auth_headers("rita")), 400)
    assert wrong["code"] == "unknown_workflow" and error_codes(wrong) == ["unknown_workflow"]
    assert wrong["errors"][0]["message"] == "use one of order_approval"


def test_an_unknown_transition_is_404_with_a_suggestion(
    two_approvals: CrmEngine, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    order = new_order(client, auth_headers("rita"))
    url = f"{API}/records/order/{order['id']}/transitions/aprove"
    missing = problem(client.post(url, headers=auth_headers("fiona")), 404)
    assert missing["code"] == "not_found" and error_codes(missing) == ["unknown_transition"]
    assert missing["detail"] == 'order has no transition "aprove". Did you mean "approve"?'


@pytest.mark.parametrize(
    ("name", "workflow", "error"),
    [
        ("approve", None, AmbiguousTransitionError),
        ("approve", "nope", UnknownWorkflowError),
        ("submit", "order_billing", UnknownWorkflowError),
        ("aprove", None, UnknownTransitionError),
        ("aprove", "order_billing", UnknownTransitionError),
    ],
)
def test_the_service_decides_for_every_edge(
    two_approvals: CrmEngine, name: str, workflow: str | None, error: type[CrmError]
) -> None:
    with pytest.raises(error):
        two_approvals.workflows.find_transition("order", name, workflow)
    found, transition = two_approvals.workflows.find_transition("order", "approve", "order_billing")
    assert (found.name, transition.to_state) == ("order_billing", "invoiced")
