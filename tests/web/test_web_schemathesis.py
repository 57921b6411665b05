"""schemathesis against the live OpenAPI document: every operation, bounded examples.

Valid requests (every check) and invalid ones (refused with a documented 4xx, never a
5xx). The app runs in-process through its WSGI interface (werkzeug's client: Flask's real
request handling, no mock) over a database with the ``standard_product`` preset and demo
data, as an administrator with an API token, so that every operation is reachable. For
each response: no server error, and status code, content type and body as the document
says.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.web.web_support import API

PRESET = "standard_product"
DEMO_RECORDS = 150
#: Examples per operation: valid requests (every check applies) and invalid ones (a 4xx
#: that the document lists); bounded so that both databases take well under 90 s.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 8}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

pytestmark = pytest.mark.slow
Operation = APIOperation[Any, Any, Any, Any]


def auth_headers(engine: CrmEngine) -> dict[str, str]:
    """An administrator's API token, as every request sends it."""
    engine.users.create("ada", roles=["admin"])
    return {"Authorization": f"Bearer {engine.tokens.create('ada', name='schemathesis')}"}


@pytest.fixture
def crm_api(engine: CrmEngine) -> BaseSchema:
    """The live document of an app over the preset with demo data; every call goes to that app."""
    load_preset(engine, PRESET)
    generate_demo(engine, PRESET, DEMO_RECORDS, now=datetime(2026, 11, 2, tzinfo=UTC))
    app = create_app({"CRM_ENGINE": engine, "TESTING": True})
    return schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)


def _failures(
    operation: Operation, mode: GenerationMode, headers: dict[str, str], statuses: Counter[str]
) -> str | None:
    """What went wrong for ``operation`` (hypothesis' report of the first failing case), or None.

    ``statuses`` counts the answers by operation and class (``"GET /health 2xx"``).
    """

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Operation]) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[f"{operation.label} {response.status_code // 100}xx"] += 1

    try:
        run()
    except FailureGroup as group:
        return f"{operation.label} ({mode.value}): " + "; ".join(_describe(f) for f in group.exceptions)
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, operation.label
    except Exception as error:  # calling the app failed
        return f"{operation.label} ({mode.value}): {error!r}"
    return None


def _describe(failure: Failure) -> str:
    return f"{failure.title}: {failure.message}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_the_api_keeps_to_its_openapi_document(crm_api: BaseSchema, engine: CrmEngine, mode: GenerationMode) -> None:
    headers = auth_headers(engine)
    operations = [result.ok() for result in crm_api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 100  # every entity's records, transitions and scores, and the rest
    statuses: Counter[str] = Counter()
    failures = [f for op in operations if (f := _failures(op, mode, headers, statuses)) is not None]
    assert not failures, "\n\n".join(failures)
    if mode is GenerationMode.POSITIVE:
        # the token works: most operations answered a valid request with a success
        succeeded = {op.label for op in operations if statuses[f"{op.label} 2xx"]}
        assert len(succeeded) > len(operations) // 2, sorted(set(map(str, operations)) - succeeded)
    else:
        # invalid requests are refused as the client's fault
        assert sum(n for key, n in statuses.items() if key.endswith(" 4xx")) > len(operations)
