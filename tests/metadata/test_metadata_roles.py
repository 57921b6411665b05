"""Role and role_overlay documents: every problem located by file, pointer and code; the stored
form reads back equal; a role change is a definitions-only migration step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.metadata import definitions_from_json, definitions_to_json, load_definitions, validate_path
from engine.runtime import CrmEngine
from tests.permissions.permissions_support import ENTITIES, PIPELINE, ROLES
from tests.support import write_bundle


def role(permissions: dict[str, Any], name: str = "custom", **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "role", "name": name, "permissions": permissions, **extra}


def overlay(role_name: str, permissions: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "role_overlay", "role": role_name, "permissions": permissions}


MANAGER = role({"*": {"read": "team"}}, name="manager")


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (role({"deal": {"read": "all"}}), "/permissions/deal", "unknown_entity"),
        (role({"lead": {"fields": {"price": "hidden"}}}), "/permissions/lead/fields/price", "unknown_field"),
        (role({"lead": {"read": "mine"}}), "/permissions/lead/read", "enum"),
        (role({"lead": {"fields": {"cost": "secret"}}}), "/permissions/lead/fields/cost", "enum"),
        (role({"lead": {"create": "yes"}}), "/permissions/lead/create", "type"),
        (role({"*": {"read": "all", "fields": {"cost": "hidden"}}}), "/permissions/*/fields", "unknown_key"),
        (role({"lead": {"approve": "all"}}), "/permissions/lead/approve", "unknown_key"),
        (role({"Lead": {"read": "all"}}), "/permissions/Lead", "invalid_name"),
        (role({"*": {"read": "all"}}, name="admin"), "/name", "reserved_name"),
        (role({}, name="manager"), "/name", "duplicate_role"),
        (overlay("sales_rep", {"lead": {"read": "all"}}), "/role", "unknown_role"),
        (overlay("rep", {"deal": {"read": "all"}}), "/permissions/deal", "unknown_entity"),
    ],
    ids=[
        "unknown-entity",
        "unknown-field",
        "bad-scope",
        "bad-field-access",
        "create-not-boolean",
        "fields-under-star",
        "unknown-operation",
        "entity-not-snake-case",
        "admin-is-built-in",
        "duplicate-role",
        "overlay-of-unknown-role",
        "overlay-unknown-entity",
    ],
)
def test_role_problems(tmp_path: Path, document: dict[str, Any], pointer: str, code: str) -> None:
    extra = {
        "lead_pipeline.json": PIPELINE,
        "rep.json": role({"*": {"read": "own"}}, name="rep"),
        "manager.json": MANAGER,
        "zz_case.json": document,
    }
    bundle = write_bundle(tmp_path, "crm", ENTITIES, extra=extra)
    found = [(p.file, p.pointer, p.code) for p in validate_path(bundle)]
    assert ("crm/zz_case.json", pointer, code) in found, found


def test_every_role_a_workflow_names_must_be_defined(tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path,
        "crm",
        ENTITIES,
        extra={"lead_pipeline.json": PIPELINE, "rep.json": role({"*": {"read": "own"}}, name="rep")},
    )
    found = {(p.file, p.pointer, p.code) for p in validate_path(bundle)}
    assert found == {
        ("crm/lead_pipeline.json", "/transitions/qualify/roles/1", "unknown_role"),
        ("crm/lead_pipeline.json", "/transitions/lose/roles/1", "unknown_role"),
    }
    # without any role document, roles are free names
    assert validate_path(write_bundle(tmp_path, "free", ENTITIES, extra={"lead_pipeline.json": PIPELINE})) == []


def test_overlays_merge_and_clash(tmp_path: Path) -> None:
    base_rep = role({"lead": {"read": "own", "update": "own"}}, name="rep")
    write_bundle(tmp_path, "base", ENTITIES, extra={"rep.json": base_rep})
    mode = write_bundle(
        tmp_path,
        "mode",
        {},
        extends=["../base"],
        extra={"rep.json": overlay("rep", {"lead": {"read": "team"}, "product": {"read": "all"}})},
    )
    rep = load_definitions(mode).roles["rep"]
    assert (rep.permissions["lead"].read, rep.permissions["lead"].update) == ("team", "own")
    assert rep.permissions["product"].read == "all"
    clash = write_bundle(
        tmp_path,
        "clash",
        {},
        extends=["../base"],
        extra={
            "a.json": overlay("rep", {"lead": {"read": "team"}}),
            "b.json": overlay("rep", {"lead": {"read": "all"}}),
        },
    )
    with pytest.raises(DefinitionError) as caught:
        load_definitions(clash)
    assert [(p.file, p.pointer, p.code) for p in caught.value.problems] == [
        ("clash/b.json", "/permissions/lead/read", "overlay_clash")
    ]


def test_stored_form_round_trips_and_roles_are_a_definitions_only_change(tmp_path: Path, engine: CrmEngine) -> None:
    plain = load_definitions(write_bundle(tmp_path, "crm", ENTITIES, extra={"lead_pipeline.json": PIPELINE}))
    assert "roles" not in definitions_to_json(plain)  # definitions without roles keep their digest
    guarded = load_definitions(write_bundle(tmp_path, "crm", ENTITIES, extra={"lead_pipeline.json": PIPELINE, **ROLES}))
    stored = json.loads(json.dumps(definitions_to_json(guarded)))
    assert set(stored["roles"]) == {"manager", "rep", "auditor"}
    assert definitions_from_json(stored) == guarded
    engine.apply(plain)
    plan = engine.plan(guarded)
    assert {(s.kind, s.detail) for s in plan.steps} == {
        ("definition_only", "role auditor added"),
        ("definition_only", "role manager added"),
        ("definition_only", "role rep added"),
    }
    version, _ = engine.apply(guarded)
    assert version == 2 and engine.model.definitions.roles["rep"] == guarded.roles["rep"]
    engine.reload()
    assert CrmEngine(engine.db.url).model.definitions.roles == guarded.roles
