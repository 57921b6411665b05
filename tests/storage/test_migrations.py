"""Schema evolution on SQLite and PostgreSQL: diff counts rows, apply is all-or-nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import DataLossError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import schema_versions
from tests.support import SYSTEM, write_bundle

ACCOUNT: dict[str, Any] = {
    "label": {"en": "Account", "zh": "客户"},
    "display": "name",
    "fields": {
        "name": {"type": "string", "required": True, "max_length": 100},
        "industry": {"type": "enum", "choices": ["telecom", "banking", "retail"]},
        "employees": {"type": "integer", "minimum": 0},
        "code": {"type": "string", "max_length": 20},
    },
}
OPPORTUNITY: dict[str, Any] = {
    "fields": {
        "title": {"type": "string", "required": True},
        "account": {"type": "reference", "target": "account", "on_delete": "cascade"},
        "amount": {"type": "decimal", "precision": 14, "scale": 2},
    }
}


def _apply(engine: CrmEngine, tmp_path: Path, entities: dict[str, Any], **kwargs: Any) -> tuple[int, Any]:
    bundle = write_bundle(tmp_path / f"v{engine.version + 1}", "sales", entities)
    return engine.apply(load_definitions(bundle), **kwargs)


def _plan(engine: CrmEngine, tmp_path: Path, entities: dict[str, Any]) -> Any:
    bundle = write_bundle(tmp_path / "plan", "sales", entities)
    return engine.plan(load_definitions(bundle))


def _with_field(doc: dict[str, Any], name: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    fields = dict(doc["fields"])
    if spec is None:
        fields.pop(name)
    else:
        fields[name] = spec
    return {**doc, "fields": fields}


@pytest.fixture
def seeded(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    _apply(engine, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY})
    records = engine.records
    for i, (name, industry, code) in enumerate(
        [("Acme", "telecom", "A-1"), ("Globex", "banking", "G-22"), ("Initech", "retail", None)]
    ):
        account = records.create(
            "account", {"name": name, "industry": industry, "employees": 10 * i, "code": code}, actor=SYSTEM
        )
        records.create(
            "opportunity", {"title": f"Deal {i}", "account": account["id"], "amount": "1000.50"}, actor=SYSTEM
        )
    return engine


def _versions(engine: CrmEngine) -> list[int]:
    with engine.db.read() as conn:
        return [r[0] for r in conn.execute(sa.select(schema_versions.c.version).order_by(schema_versions.c.version))]


def test_first_apply_creates_tables_and_stores_version(engine: CrmEngine, tmp_path: Path) -> None:
    version, plan = _apply(engine, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY})
    assert version == 1
    assert {s.kind for s in plan.steps} == {"create_entity"}
    assert _versions(engine) == [1]
    inspector = sa.inspect(engine.db.engine)
    assert {"account", "opportunity"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("opportunity")}
    assert {"id", "version", "created_at", "updated_at", "created_by", "owner", "title", "account", "amount"} <= columns


def test_reapplying_the_same_definitions_changes_nothing(seeded: CrmEngine, tmp_path: Path) -> None:
    version, plan = _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY})
    assert version == 1
    assert not plan.has_changes
    assert _versions(seeded) == [1]


def test_additive_change_applies_and_fills_default(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "tier", {"type": "enum", "choices": ["S", "A", "B", "C"], "default": "C"})
    version, plan = _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    assert version == 2
    kinds = [s.kind for s in plan.steps]
    assert "add_field" in kinds and "fill_default" in kinds
    assert not plan.destructive
    rows = seeded.records.list("account", actor=SYSTEM).items
    assert [r["tier"] for r in rows] == ["C", "C", "C"]
    assert [r["name"] for r in rows] == ["Acme", "Globex", "Initech"]


def test_dropping_a_field_with_data_is_refused_then_allowed(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "code", None)
    plan = _plan(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    (step,) = [s for s in plan.steps if s.kind == "drop_field"]
    assert (step.entity, step.field, step.rows, step.destructive) == ("account", "code", 2, True)
    with pytest.raises(DataLossError) as caught:
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    assert [p.code for p in caught.value.problems] == ["data_loss"]
    assert _versions(seeded) == [1]
    assert seeded.records.get("account", 1, actor=SYSTEM)["code"] == "A-1"
    version, _ = _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY}, allow_data_loss=True)
    assert version == 2
    assert "code" not in seeded.records.get("account", 1, actor=SYSTEM)
    assert seeded.records.list("opportunity", actor=SYSTEM).total == 3, "dropping a column must not touch other tables"


def test_dropping_an_entity_with_rows_is_destructive(seeded: CrmEngine, tmp_path: Path) -> None:
    plan = _plan(seeded, tmp_path, {"account": ACCOUNT})
    (step,) = [s for s in plan.steps if s.kind == "drop_entity"]
    assert (step.entity, step.rows, step.destructive) == ("opportunity", 3, True)
    with pytest.raises(DataLossError):
        _apply(seeded, tmp_path, {"account": ACCOUNT})
    assert seeded.records.list("opportunity", actor=SYSTEM).total == 3


def test_rename_field_keeps_data(seeded: CrmEngine, tmp_path: Path) -> None:
    fields = {("headcount" if k == "employees" else k): v for k, v in ACCOUNT["fields"].items()}
    fields["headcount"] = {**fields["headcount"], "renamed_from": "employees"}
    version, plan = _apply(seeded, tmp_path, {"account": {**ACCOUNT, "fields": fields}, "opportunity": OPPORTUNITY})
    assert version == 2
    assert [s.kind for s in plan.steps if s.kind != "definition_only"] == ["rename_field"]
    assert [r["headcount"] for r in seeded.records.list("account", actor=SYSTEM).items] == [0, 10, 20]


def test_rename_entity_keeps_data_and_references(seeded: CrmEngine, tmp_path: Path) -> None:
    customer = {**ACCOUNT, "renamed_from": "account"}
    opportunity = _with_field(
        OPPORTUNITY, "account", {"type": "reference", "target": "customer", "on_delete": "cascade"}
    )
    version, plan = _apply(seeded, tmp_path, {"customer": customer, "opportunity": opportunity})
    assert version == 2
    assert not plan.destructive
    assert [r["name"] for r in seeded.records.list("customer", actor=SYSTEM).items] == ["Acme", "Globex", "Initech"]
    seeded.records.delete("customer", 1, actor=SYSTEM)
    assert seeded.records.list("opportunity", actor=SYSTEM).total == 2, "the cascade follows the renamed table"


def test_narrowing_a_string_counts_rows_that_do_not_fit(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "code", {"type": "string", "max_length": 3})
    plan = _plan(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    (step,) = [s for s in plan.steps if s.kind == "change_type"]
    assert (step.rows, step.lost, step.destructive) == (2, 1, True)
    with pytest.raises(DataLossError):
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY}, allow_data_loss=True)
    assert [r["code"] for r in seeded.records.list("account", actor=SYSTEM).items] == ["A-1", None, None]


def test_widening_a_type_converts_every_value(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "employees", {"type": "decimal", "precision": 12, "scale": 1})
    version, plan = _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    assert version == 2 and not plan.destructive
    from decimal import Decimal

    employees = [r["employees"] for r in seeded.records.list("account", actor=SYSTEM).items]
    assert employees == [Decimal("0"), Decimal("10"), Decimal("20")]


def test_integer_to_string_and_back_keeps_values(seeded: CrmEngine, tmp_path: Path) -> None:
    as_text = _with_field(ACCOUNT, "employees", {"type": "string", "max_length": 10})
    _apply(seeded, tmp_path, {"account": as_text, "opportunity": OPPORTUNITY})
    assert [r["employees"] for r in seeded.records.list("account", actor=SYSTEM).items] == ["0", "10", "20"]
    _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY})
    assert [r["employees"] for r in seeded.records.list("account", actor=SYSTEM).items] == [0, 10, 20]


def test_removing_a_used_enum_choice_is_destructive(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "industry", {"type": "enum", "choices": ["telecom", "banking"]})
    plan = _plan(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    (step,) = [s for s in plan.steps if s.kind == "remove_choices"]
    assert (step.lost, step.destructive) == (1, True)
    with pytest.raises(DataLossError):
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    unused = _with_field(ACCOUNT, "industry", {"type": "enum", "choices": ["telecom", "banking", "retail"]})
    unused["fields"]["industry"]["choices"].append("energy")
    _apply(seeded, tmp_path, {"account": unused, "opportunity": OPPORTUNITY})
    removed_unused = _with_field(ACCOUNT, "industry", {"type": "enum", "choices": ["telecom", "banking", "retail"]})
    version, plan = _apply(seeded, tmp_path, {"account": removed_unused, "opportunity": OPPORTUNITY})
    assert version == 3 and not plan.destructive


def test_making_a_field_required_where_rows_are_empty(seeded: CrmEngine, tmp_path: Path) -> None:
    account = _with_field(ACCOUNT, "code", {"type": "string", "max_length": 20, "required": True})
    plan = _plan(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    (step,) = [s for s in plan.steps if s.kind == "require_field"]
    assert (step.rows, step.blocking) == (1, True)
    with pytest.raises(DataLossError) as caught:
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY}, allow_data_loss=True)
    assert [p.code for p in caught.value.problems] == ["blocked"]
    with_default = _with_field(
        ACCOUNT, "code", {"type": "string", "max_length": 20, "required": True, "default": "N/A"}
    )
    _, plan = _apply(seeded, tmp_path, {"account": with_default, "opportunity": OPPORTUNITY})
    assert not plan.destructive
    assert [r["code"] for r in seeded.records.list("account", actor=SYSTEM).items] == ["A-1", "G-22", "N/A"]


def test_unique_over_duplicates_is_blocked_even_with_allow_data_loss(seeded: CrmEngine, tmp_path: Path) -> None:
    seeded.records.create("account", {"name": "Acme"}, actor=SYSTEM)
    account = _with_field(ACCOUNT, "name", {"type": "string", "required": True, "max_length": 100, "unique": True})
    plan = _plan(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    (step,) = [s for s in plan.steps if s.kind == "add_unique"]
    assert step.blocking and step.rows == 2
    with pytest.raises(DataLossError) as caught:
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY}, allow_data_loss=True)
    assert [p.code for p in caught.value.problems] == ["blocked"]
    seeded.records.update("account", 4, {"name": "Acme Two"}, actor=SYSTEM)
    _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    from engine.errors import ConflictError

    with pytest.raises(ConflictError):
        seeded.records.create("account", {"name": "Globex"}, actor=SYSTEM)


def test_indexes_follow_the_definitions(seeded: CrmEngine, tmp_path: Path) -> None:
    account = {**ACCOUNT, "indexes": [["industry", "employees"]]}
    _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
    indexes = {tuple(i["column_names"]) for i in sa.inspect(seeded.db.engine).get_indexes("account")}
    assert ("industry", "employees") in indexes
    _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY})
    indexes = {tuple(i["column_names"]) for i in sa.inspect(seeded.db.engine).get_indexes("account")}
    assert ("industry", "employees") not in indexes


def test_failed_apply_leaves_data_and_version(seeded: CrmEngine, tmp_path: Path) -> None:
    # A table the definitions do not know blocks creating the new entity: the DDL fails
    # half-way, after other steps ran; everything must roll back.
    with seeded.db.write() as conn:
        conn.execute(sa.text("CREATE TABLE invoice (id INTEGER PRIMARY KEY)"))
    account = _with_field(ACCOUNT, "website", {"type": "url"})
    from engine.errors import CrmError

    invoice = {"fields": {"number": {"type": "string"}}}
    with pytest.raises(CrmError) as caught:
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY, "invoice": invoice})
    assert caught.value.code == "migration_failed"
    assert _versions(seeded) == [1]
    columns = {c["name"] for c in sa.inspect(seeded.db.engine).get_columns("account")}
    assert "website" not in columns
    assert seeded.records.list("account", actor=SYSTEM).total == 3


def test_another_process_sees_the_new_version(seeded: CrmEngine, tmp_path: Path) -> None:
    other = CrmEngine(seeded.db.url)
    try:
        assert other.version == 1
        account = _with_field(ACCOUNT, "website", {"type": "url"})
        _apply(seeded, tmp_path, {"account": account, "opportunity": OPPORTUNITY})
        assert other.reload() is True
        assert "website" in other.model.entity("account").fields
    finally:
        other.close()


def test_a_change_of_workflows_only_is_stored_as_a_new_version(seeded: CrmEngine, tmp_path: Path) -> None:
    stage = {"type": "enum", "choices": ["open", "won"]}
    opportunity = _with_field(OPPORTUNITY, "stage", stage)
    _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": opportunity})
    workflow = {
        "schema_version": 1,
        "kind": "workflow",
        "name": "deal_flow",
        "entity": "opportunity",
        "field": "stage",
        "states": {"open": {"initial": True}, "won": {"final": True}},
        "transitions": {"win": {"from": ["open"], "to": "won"}},
    }
    bundle = write_bundle(
        tmp_path / "wf", "sales", {"account": ACCOUNT, "opportunity": opportunity}, extra={"deal_flow.json": workflow}
    )
    version, plan = seeded.apply(load_definitions(bundle))
    assert version == 3
    assert [(s.kind, s.detail) for s in plan.steps] == [("definition_only", "workflow deal_flow added")]
    other = CrmEngine(seeded.db.url)
    try:
        assert list(other.model.definitions.workflows) == ["deal_flow"]
    finally:
        other.close()


def test_stored_definitions_keep_the_order_of_fields(seeded: CrmEngine) -> None:
    other = CrmEngine(seeded.db.url)
    try:
        assert list(other.model.entity("account").fields) == ["name", "industry", "employees", "code"]
    finally:
        other.close()


def test_an_added_reference_gets_one_index(seeded: CrmEngine, tmp_path: Path) -> None:
    contact = {"fields": {"name": {"type": "string"}}, "indexes": []}
    _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY, "contact": contact})
    with_reference = {
        "fields": {"name": {"type": "string"}, "account": {"type": "reference", "target": "account", "index": True}},
        "indexes": [["account"]],
    }
    _apply(seeded, tmp_path, {"account": ACCOUNT, "opportunity": OPPORTUNITY, "contact": with_reference})
    indexes = [tuple(i["column_names"]) for i in sa.inspect(seeded.db.engine).get_indexes("contact")]
    assert indexes.count(("account",)) == 1
