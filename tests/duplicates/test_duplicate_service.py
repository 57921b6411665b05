"""Duplicate rules through the records service: block, warn, override and its audit, updates,
deletes, and the keys kept for existing records when a rule is added."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.duplicates import Candidate, DuplicateError
from engine.runtime import CrmEngine
from engine.storage import duplicate_keys
from tests.duplicates.duplicates_support import ENTITIES, apply_bundle
from tests.support import SYSTEM, acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    return apply_bundle(engine, tmp_path)


@pytest.mark.parametrize(
    "second",
    [
        "西安华信环保科技有限公司 ",
        "西安华信环保科技",
        "华信环保科技（西安）有限公司",
        "陕西省西安市华信环保科技股份有限公司",
    ],
)
def test_a_block_rule_refuses_the_same_company_written_otherwise(crm: CrmEngine, second: str) -> None:
    first = crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM)
    with pytest.raises(DuplicateError) as raised:
        crm.records.create("account", {"name": second, "city": " 西安 "}, actor=SYSTEM)
    assert raised.value.code == "duplicate"
    [candidate] = raised.value.candidates
    assert (candidate.id, candidate.display, candidate.rule) == (
        first["id"],
        "西安华信环保科技有限公司",
        "same_company",
    )
    assert candidate.similarity == 1.0
    assert raised.value.to_json()["candidates"][0]["id"] == first["id"]
    assert crm.records.list("account", actor=SYSTEM).total == 1


def test_other_companies_and_other_cities_are_not_duplicates(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM)
    crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "北京"}, actor=SYSTEM)
    crm.records.create("account", {"name": "华为技术有限公司", "city": "西安"}, actor=SYSTEM)
    crm.records.create("account", {"name": "西安华信", "city": None}, actor=SYSTEM)  # no city: no key
    assert crm.records.list("account", actor=SYSTEM).total == 4


def test_a_similar_name_above_the_threshold_is_a_candidate_with_its_similarity(crm: CrmEngine) -> None:
    crm.records.create("account", {"name": "Acme Widgets International Ltd.", "city": "Shanghai"}, actor=SYSTEM)
    with pytest.raises(DuplicateError) as raised:
        crm.records.create("account", {"name": "ACME Widget International, Inc.", "city": "shanghai"}, actor=SYSTEM)
    [candidate] = raised.value.candidates
    assert 0.85 <= candidate.similarity < 1.0


def test_allow_duplicate_saves_and_the_audit_records_who_overrode_which_rule(crm: CrmEngine) -> None:
    first = crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM)
    second = crm.records.create(
        "account", {"name": "西安华信环保科技", "city": "西安"}, actor=acting_for("alice"), allow_duplicate=True
    )
    rows = [r for r in crm.records.audit("account", second["id"], actor=SYSTEM) if r["action"] == "allow_duplicate"]
    assert [(r["actor"], r["new_value"]) for r in rows] == [
        ("alice", {"rule": "same_company", "candidates": [first["id"]]})
    ]


def test_a_warn_rule_saves_and_names_the_candidates(crm: CrmEngine) -> None:
    first = crm.records.create("account", {"name": "甲公司", "phone": "+86 138 0013 8000"}, actor=SYSTEM)
    found: list[Candidate] = []
    second = crm.records.create(
        "account", {"name": "乙公司", "phone": "138-0013-8000"}, actor=SYSTEM, found_duplicates=found
    )
    assert [(c.id, c.rule, c.action) for c in found] == [(first["id"], "same_phone", "warn")]
    assert crm.records.get("account", second["id"], actor=SYSTEM)["name"] == "乙公司"
    assert not [r for r in crm.records.audit("account", second["id"], actor=SYSTEM) if r["action"] == "allow_duplicate"]


def test_an_update_into_a_duplicate_is_refused_and_its_own_record_never_counts(crm: CrmEngine) -> None:
    first = crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM)
    other = crm.records.create("account", {"name": "华为技术有限公司", "city": "西安"}, actor=SYSTEM)
    crm.records.update("account", first["id"], {"name": "西安华信环保科技有限公司 "}, actor=SYSTEM)
    crm.records.update("account", first["id"], {"employees": 5}, actor=SYSTEM)
    with pytest.raises(DuplicateError):
        crm.records.update("account", other["id"], {"name": "华信环保科技"}, actor=SYSTEM)
    crm.records.update("account", other["id"], {"name": "华信环保科技"}, actor=SYSTEM, allow_duplicate=True)
    # the update moved the other record's key: a third one now meets both
    with pytest.raises(DuplicateError) as raised:
        crm.records.create("account", {"name": "华信环保科技公司", "city": "西安"}, actor=SYSTEM)
    assert sorted(c.id for c in raised.value.candidates) == [first["id"], other["id"]]


def test_a_deleted_record_is_no_longer_a_candidate(crm: CrmEngine) -> None:
    first = crm.records.create("contact", {"name": "A", "email": "Li.Lei@Example.com"}, actor=SYSTEM)
    with pytest.raises(DuplicateError):
        crm.records.create("contact", {"name": "B", "email": "li.lei@EXAMPLE.COM"}, actor=SYSTEM)
    crm.records.delete("contact", first["id"], actor=SYSTEM)
    crm.records.create("contact", {"name": "B", "email": "li.lei@example.com"}, actor=SYSTEM)


def test_a_rule_added_to_existing_records_finds_them(engine: CrmEngine, tmp_path: Path) -> None:
    plain = {name: {k: v for k, v in doc.items() if k != "duplicates"} for name, doc in ENTITIES.items()}
    apply_bundle(engine, tmp_path / "v1", plain)
    first = engine.records.create("contact", {"name": "A", "email": "a@example.com"}, actor=SYSTEM)
    engine.records.create("contact", {"name": "B", "email": "A@example.com"}, actor=SYSTEM)
    apply_bundle(engine, tmp_path / "v2")
    with engine.db.read() as conn:
        keyed = conn.execute(sa.select(sa.func.count()).select_from(duplicate_keys)).scalar()
    assert keyed == 2
    with pytest.raises(DuplicateError) as raised:
        engine.records.create("contact", {"name": "C", "email": "a@EXAMPLE.com"}, actor=SYSTEM)
    assert len(raised.value.candidates) == 2 and raised.value.candidates[0].id == first["id"]
    # removing the rule drops its keys
    apply_bundle(engine, tmp_path / "v3", plain)
    with engine.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(duplicate_keys)).scalar() == 0


def test_two_concurrent_saves_of_the_same_company_do_not_both_pass(crm: CrmEngine) -> None:
    outcome: list[str] = []

    def second() -> None:
        try:
            crm.records.create("account", {"name": "西安华信环保科技", "city": "西安"}, actor=SYSTEM)
            outcome.append("saved")
        except DuplicateError:
            outcome.append("duplicate")

    with crm.db.write() as tx:
        crm.records.create("account", {"name": "西安华信环保科技有限公司", "city": "西安"}, actor=SYSTEM, conn=tx)
        other = threading.Thread(target=second)
        other.start()
        other.join(0.5)
        assert other.is_alive()  # it waits for the first save to commit
    other.join(30)
    assert outcome == ["duplicate"]
