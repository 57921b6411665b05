"""The pool: unowned accounts a rep reads and claims up to their roles' limit; the claim
cascades and is audited; claimed or unclaimable records are refused, on every edge."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, UsageError
from engine.runtime import CrmEngine
from engine.users import SystemActor
from tests.ownership.ownership_support import make, owner, set_up, user
from tests.support import CliResult, acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    return engine


def test_a_rep_reads_the_pool_and_claims_from_it(crm: CrmEngine) -> None:
    pooled = make(crm, "account", None, name="Pool Ltd")
    contact = make(crm, "contact", None, name="Zhao", account=pooled)
    ann = user(crm, "ann")
    assert [r["name"] for r in crm.records.list("account", actor=ann).items] == ["Pool Ltd"]
    claimed = crm.pool.claim("account", pooled, actor=ann)
    assert claimed["owner"] == "ann" and owner(crm, "contact", contact) == "ann"  # the contact came along
    trail = crm.records.audit("account", pooled, actor=acting_for("boss"))
    assert [(r["old_value"], r["new_value"], r["actor"]) for r in trail if r["field"] == "owner"][:1] == [
        (None, "ann", "ann")
    ]
    # no longer in the pool: bob neither sees nor claims it, ann has it already
    assert crm.records.list("account", actor=user(crm, "bob")).total == 0
    with pytest.raises(NotFoundError):
        crm.pool.claim("account", pooled, actor=user(crm, "bob"))
    with pytest.raises(ConflictError) as taken:
        crm.pool.claim("account", pooled, actor=ann)
    assert [p.code for p in taken.value.problems] == ["already_owned"]


def test_the_limit_counts_what_the_rep_owns(crm: CrmEngine) -> None:
    make(crm, "account", "ann", name="Own one")
    first, second = make(crm, "account", None, name="P1"), make(crm, "account", None, name="P2")
    crm.pool.claim("account", first, actor=user(crm, "ann"))
    with pytest.raises(ConflictError) as refused:
        crm.pool.claim("account", second, actor=user(crm, "ann"))
    assert [p.code for p in refused.value.problems] == ["claim_limit"]
    assert owner(crm, "account", second) is None
    assert crm.pool.claim("account", second, actor=user(crm, "boss"))["owner"] == "boss"  # admins: no limit


@pytest.mark.parametrize(
    ("entity", "actor", "error", "code"),
    [
        ("account", "cleo", PermissionDeniedError, "not_claimable"),  # no claim limit in her roles
        ("contact", "ann", PermissionDeniedError, "not_claimable"),  # reps claim accounts only
        ("account", None, UsageError, "claim_needs_user"),
    ],
)
def test_refused_claims(crm: CrmEngine, entity: str, actor: str | None, error: type[Exception], code: str) -> None:
    account = make(crm, "account", None, name="P")
    record = account if entity == "account" else make(crm, "contact", None, name="C", account=account)
    who = user(crm, actor) if actor is not None else SystemActor("test")
    with pytest.raises(error) as refused:
        crm.pool.claim(entity, record, actor=who)
    assert [p.code for p in refused.value.problems] == [code]  # type: ignore[attr-defined]
    assert owner(crm, entity, record) is None


def test_the_cli_and_the_api_claim(crm: CrmEngine, database_url: str, run_cli: Callable[..., CliResult]) -> None:
    first, second = make(crm, "account", None, name="P1"), make(crm, "account", None, name="P2")
    claimed = run_cli("--database-url", database_url, "--as", "ann", "record", "claim", "account", first, "--json")
    assert claimed.exit_code == 0, claimed.stderr
    assert claimed.json()["owner"] == "ann"
    again = run_cli("--database-url", database_url, "--as", "bob", "record", "claim", "account", first)
    assert again.exit_code == 4 and "Traceback" not in again.stderr and "does not exist" in again.stderr

    from engine.web import create_app

    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    bearer = {"Authorization": f"Bearer {crm.tokens.create('bob')}"}
    answer = client.post(f"/api/v1/records/account/{second}/claim", headers=bearer)
    assert answer.status_code == 200 and answer.get_json()["owner"] == "bob"
    refused = client.post(f"/api/v1/records/account/{first}/claim", headers=bearer)
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"  # ann's: unseen


def test_two_claims_at_once_do_not_pass_the_limit_together(crm: CrmEngine, database_url: str) -> None:
    make(crm, "account", "ann", name="Own one")  # her roles allow two: one claim left
    pooled = [make(crm, "account", None, name=f"Rush {i}") for i in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(record_id: int) -> None:
        with CrmEngine(database_url) as other:  # another worker on the same database
            ann = user(other, "ann")
            start.wait()
            try:
                other.pool.claim("account", record_id, actor=ann)
                outcomes.append("claimed")
            except ConflictError as refused:
                outcomes.append(refused.problems[0].code)

    threads = [threading.Thread(target=claim, args=(record_id,)) for record_id in pooled]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claim_limit", "claimed"]
    assert sorted(owner(crm, "account", r) or "" for r in pooled) == ["", "ann"]
