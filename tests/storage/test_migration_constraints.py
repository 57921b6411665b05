"""Schema changes that touch indexes, uniques, references and required fields, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DataLossError, ReferenceIntegrityError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import SYSTEM, write_bundle

ACCOUNT: dict[str, Any] = {
    "fields": {
        "name": {"type": "string", "required": True, "max_length": 100},
        "city": {"type": "string", "max_length": 40, "index": True},
        "region": {"type": "string", "max_length": 40},
        "legacy": {"type": "string", "max_length": 40},
        "parent": {"type": "reference", "target": "account"},
    },
    "unique": [["region", "legacy"]],
    "indexes": [["city", "region"]],
}
REGION: dict[str, Any] = {"fields": {"name": {"type": "string", "max_length": 40}}}
CONTACT: dict[str, Any] = {
    "fields": {
        "name": {"type": "string", "max_length": 40},
        "account": {"type": "reference", "target": "account"},
        "region": {"type": "reference", "target": "region"},
    }
}


def _apply(engine: CrmEngine, tmp_path: Path, entities: dict[str, Any], **kwargs: Any) -> tuple[int, Any]:
    bundle = write_bundle(tmp_path / f"v{engine.version + 1}", "sales", entities)
    return engine.apply(load_definitions(bundle), **kwargs)


def _without(doc: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    fields = {k: v for k, v in doc["fields"].items() if k != name}
    return {**doc, "fields": fields, **changes}


@pytest.fixture
def seeded(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    _apply(engine, tmp_path, {"account": ACCOUNT, "region": REGION, "contact": CONTACT})
    records = engine.records
    north = records.create("region", {"name": "North"}, actor=SYSTEM)
    records.create("region", {"name": "South"}, actor=SYSTEM)
    acme = records.create("account", {"name": "Acme", "city": "Oslo", "region": "N", "legacy": "A1"}, actor=SYSTEM)
    records.create(
        "account", {"name": "Globex", "city": "Rome", "region": "S", "legacy": "G1", "parent": acme["id"]}, actor=SYSTEM
    )
    records.create("contact", {"name": "Ann", "account": acme["id"], "region": north["id"]}, actor=SYSTEM)
    records.create("contact", {"name": "Bob", "account": 2}, actor=SYSTEM)
    return engine


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("city", {"indexes": []}),  # in a single-field index and a composite index
        ("legacy", {"unique": []}),  # in a composite unique
        ("parent", {}),  # a reference: indexed and a foreign key
    ],
    ids=["indexed", "composite-unique", "reference"],
)
def test_dropping_a_constrained_field_applies_in_one_go(
    seeded: CrmEngine, tmp_path: Path, field: str, changes: dict[str, Any]
) -> None:
    account = _without(ACCOUNT, field, **changes)
    if field == "city":
        account["fields"]["region"] = ACCOUNT["fields"]["region"]
    version, _ = _apply(
        seeded, tmp_path, {"account": account, "region": REGION, "contact": CONTACT}, allow_data_loss=True
    )
    assert version == 2
    rows = seeded.records.list("account", actor=SYSTEM).items
    assert [r["name"] for r in rows] == ["Acme", "Globex"]
    assert all(field not in r for r in rows)
    seeded.records.create("account", {"name": "Initech", "region": "N"}, actor=SYSTEM)


def test_dropping_a_field_in_a_composite_index_drops_the_index(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _without(ACCOUNT, "region", unique=[], indexes=[])
    version, _ = _apply(
        seeded, tmp_path, {"account": account, "region": REGION, "contact": CONTACT}, allow_data_loss=True
    )
    assert version == 2
    assert [r["city"] for r in seeded.records.list("account", actor=SYSTEM).items] == ["Oslo", "Rome"]


def test_dropping_a_referenced_entity_with_its_references(seeded: CrmEngine, tmp_path: Path) -> None:
    contact = _without(CONTACT, "region")
    version, plan = _apply(seeded, tmp_path, {"account": ACCOUNT, "contact": contact}, allow_data_loss=True)
    assert version == 2
    assert {s.kind for s in plan.steps} >= {"drop_entity", "drop_field"}
    assert [r["name"] for r in seeded.records.list("contact", actor=SYSTEM).items] == ["Ann", "Bob"]
    seeded.records.create("contact", {"name": "Cy", "account": 1}, actor=SYSTEM)


def test_changing_a_reference_target_names_the_rows_that_would_dangle(seeded: CrmEngine, tmp_path: Path) -> None:
    # contact.account holds accounts 1, 2, 2; only region 1 is left, so contacts 2 and 3 dangle
    seeded.records.create("contact", {"name": "Cy", "account": 2}, actor=SYSTEM)
    seeded.records.delete("region", 2, actor=SYSTEM)
    contact = {**CONTACT, "fields": {**CONTACT["fields"], "account": {"type": "reference", "target": "region"}}}
    plan = seeded.plan(
        load_definitions(
            write_bundle(tmp_path / "plan", "sales", {"account": ACCOUNT, "region": REGION, "contact": contact})
        )
    )
    (step,) = [s for s in plan.steps if s.kind == "change_type"]
    assert (step.field, step.lost, step.destructive) == ("account", 2, True)
    assert [e[0] for e in step.examples] == [2, 3]
    with pytest.raises(DataLossError) as caught:
        _apply(seeded, tmp_path, {"account": ACCOUNT, "region": REGION, "contact": contact})
    assert [p.code for p in caught.value.problems] == ["data_loss"]
    assert "#2" in caught.value.problems[0].message and "#3" in caught.value.problems[0].message
    _apply(seeded, tmp_path, {"account": ACCOUNT, "region": REGION, "contact": contact}, allow_data_loss=True)
    assert [r["account"] for r in seeded.records.list("contact", actor=SYSTEM).items] == [1, None, None]
    with pytest.raises(ReferenceIntegrityError):  # the foreign key follows the new target
        seeded.records.delete("region", 1, actor=SYSTEM)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "string", "max_length": 2, "required": True},  # narrowing: "Oslo" does not fit
        {"type": "enum", "choices": ["Rome"], "required": True},  # a type change that empties values
    ],
    ids=["narrowing", "enum"],
)
def test_a_destructive_change_never_leaves_a_required_field_empty(
    seeded: CrmEngine, tmp_path: Path, spec: dict[str, Any]
) -> None:
    account = {**ACCOUNT, "fields": {**ACCOUNT["fields"], "city": {**spec, "index": True}}}
    entities = {"account": account, "region": REGION, "contact": CONTACT}
    with pytest.raises(DataLossError) as caught:
        _apply(seeded, tmp_path, entities, allow_data_loss=True)
    assert [p.code for p in caught.value.problems] == ["blocked"]
    assert "optional" in caught.value.problems[0].message and "default" in caught.value.problems[0].message
    assert [r["city"] for r in seeded.records.list("account", actor=SYSTEM).items] == ["Oslo", "Rome"]
    with_default = {
        **account,
        "fields": {
            **account["fields"],
            "city": {**account["fields"]["city"], "default": "Rome" if spec["type"] == "enum" else "XX"},
        },
    }
    _apply(seeded, tmp_path, {**entities, "account": with_default}, allow_data_loss=True)
    cities = [r["city"] for r in seeded.records.list("account", actor=SYSTEM).items]
    assert None not in cities
