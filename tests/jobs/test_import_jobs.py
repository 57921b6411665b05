"""Import jobs with natural keys, a dry run and another delimiter, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.jobs import InvalidJobError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from tests.jobs.test_jobs import SALES, submit_and_run
from tests.support import SYSTEM


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(SALES))
    engine.records.create("account", {"name": "Acme", "code": "A1"}, actor=SYSTEM)
    yield engine
    engine.close()


def test_an_import_job_checks_then_imports_by_natural_key(crm: CrmEngine) -> None:
    csv = "name;account.code\nAnn;A1\nBob;NOPE\n"
    params = {"entity": "contact", "csv": csv, "delimiter": ";", "on_error": "skip"}
    checked = submit_and_run(crm, "import", {**params, "dry_run": True})
    assert checked["status"] == "done", checked["error"]
    assert (checked["result"]["dry_run"], checked["result"]["inserted"], checked["result"]["rejected"]) == (True, 1, 1)
    assert checked["result"]["problems"][0]["code"] == "unknown_reference"
    assert crm.records.list("contact", actor=SYSTEM).items == []
    done = submit_and_run(crm, "import", params)
    assert done["result"]["import"] is not None and done["result"]["inserted"] == 1
    assert [(c["name"], c["account"]) for c in crm.records.list("contact", actor=SYSTEM).items] == [("Ann", 1)]


def test_a_bad_delimiter_is_refused_at_submit(crm: CrmEngine) -> None:
    with pytest.raises(InvalidJobError) as caught:
        crm.jobs.submit("import", {"entity": "contact", "csv": "name\nA\n", "delimiter": '"'}, user=SYSTEM_USER)
    assert [p.pointer for p in caught.value.problems] == ["/params/delimiter"]
