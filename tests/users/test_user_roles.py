"""Users hold only roles the applied definitions define (``unknown_role``), and definitions
cannot drop a role users hold (``role_in_use``), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import CrmError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.users import RoleInUseError, UnknownRoleError
from tests.support import CliResult, write_bundle

Run = Callable[..., CliResult]
KNOWN = "Known roles: admin, manager, rep"


def _role(name: str) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "role", "name": name, "permissions": {"*": {"read": "all"}}}


def _bundle(root: Path, *roles: str) -> Path:
    extra = {f"{role}.json": _role(role) for role in roles}
    return write_bundle(root, "sales", {"deal": {"fields": {"title": {"type": "string"}}}}, extra=extra)


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(_bundle(tmp_path, "rep", "manager")))
    return engine


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return database_url


def _codes(error: CrmError) -> list[tuple[str, str | None]]:
    return [(p.code, p.field or p.pointer) for p in error.problems]


def test_creating_a_user_with_an_undefined_role_is_refused_with_the_known_roles(crm: CrmEngine) -> None:
    with pytest.raises(UnknownRoleError) as refused:
        crm.users.create("bob", roles=["salesmen", "rep"])
    assert refused.value.code == "unknown_role"
    assert _codes(refused.value) == [("unknown_role", "roles")]
    assert KNOWN in refused.value.problems[0].message
    assert crm.users.list() == []


def test_defined_roles_and_admin_are_accepted(crm: CrmEngine) -> None:
    assert crm.users.create("bob", roles=["rep", "admin"]).roles == ("admin", "rep")


def test_setting_an_undefined_role_is_refused_and_changes_nothing(crm: CrmEngine) -> None:
    crm.users.create("bob", roles=["rep"])
    with pytest.raises(UnknownRoleError) as refused:
        crm.users.set_roles("bob", ["manger"])
    assert _codes(refused.value) == [("unknown_role", "roles")]
    assert 'Did you mean "manager"?' in refused.value.problems[0].message
    assert crm.users.get("bob").roles == ("rep",)
    assert crm.users.set_roles("bob", ["manager"]).roles == ("manager",)


def test_without_role_documents_roles_are_free_names(engine: CrmEngine, tmp_path: Path) -> None:
    assert engine.users.create("early", roles=["salesmen"]).roles == ("salesmen",)
    engine.apply(load_definitions(_bundle(tmp_path)))
    assert engine.users.create("bob", roles=["salesmen"]).roles == ("salesmen",)


def test_roles_follow_definitions_another_process_applied(crm: CrmEngine, database_url: str, tmp_path: Path) -> None:
    other = CrmEngine(database_url)
    try:
        other.apply(load_definitions(_bundle(tmp_path / "next", "rep", "manager", "auditor")))
    finally:
        other.close()
    assert crm.users.create("aud", roles=["auditor"]).roles == ("auditor",)


def test_definitions_dropping_a_held_role_are_refused_naming_role_and_holders(crm: CrmEngine, tmp_path: Path) -> None:
    crm.users.create("bob", roles=["manager"])
    crm.users.create("cleo", roles=["manager", "rep"])
    crm.users.create("dan", roles=["rep"])
    dropping = load_definitions(_bundle(tmp_path / "next", "rep"))
    for attempt in (lambda: crm.plan(dropping), lambda: crm.apply(dropping)):
        with pytest.raises(RoleInUseError) as refused:
            attempt()
        assert refused.value.code == "role_in_use"
        assert _codes(refused.value) == [("role_in_use", "/roles/manager")]
        assert "bob, cleo" in refused.value.problems[0].message
        assert "crm user set-roles" in refused.value.message
    assert crm.version == 1 and "manager" in crm.model.definitions.roles
    crm.users.set_roles("bob", ["rep"])
    crm.users.set_roles("cleo", ["rep"])
    version, _plan = crm.apply(dropping)
    assert version == 2 and set(crm.model.definitions.roles) == {"rep"}


def test_dropping_every_role_document_is_refused_while_roles_are_held(crm: CrmEngine, tmp_path: Path) -> None:
    # without role documents permissions stop applying: that is no silent change
    crm.users.create("dan", roles=["rep"])
    with pytest.raises(RoleInUseError) as refused:
        crm.plan(load_definitions(_bundle(tmp_path / "next")))
    assert _codes(refused.value) == [("role_in_use", "/roles/rep")]


def test_crm_user_commands_refuse_an_undefined_role(db: str, run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("schema", "apply", _bundle(tmp_path, "rep", "manager")).exit_code == 0
    refused = run_cli("user", "create", "bob", "--role", "salesmen")
    assert refused.exit_code == 2 and "[unknown_role]" in refused.stderr and KNOWN in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run_cli("user", "create", "bob", "--role", "rep").exit_code == 0
    refused = run_cli("user", "set-roles", "bob", "salesmen", "--json")
    assert refused.exit_code == 2
    assert '"code": "unknown_role"' in refused.stderr
    changed = run_cli("user", "set-roles", "bob", "manager", "rep")
    assert changed.exit_code == 0, changed
    assert run_cli("user", "roles", "bob").stdout.split() == ["manager", "rep"]


def test_crm_schema_diff_and_apply_refuse_to_drop_a_held_role(db: str, run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("schema", "apply", _bundle(tmp_path, "rep", "manager")).exit_code == 0
    assert run_cli("user", "create", "bob", "--role", "manager").exit_code == 0
    dropping = _bundle(tmp_path / "next", "rep")
    for command in ("diff", "apply"):
        refused = run_cli("schema", command, dropping)
        assert refused.exit_code == 5, (command, refused)
        assert '/roles/manager: [role_in_use] role "manager" is held by bob' in refused.stderr
        assert "Traceback" not in refused.stderr
    assert run_cli("user", "set-roles", "bob", "rep").exit_code == 0
    assert run_cli("schema", "apply", dropping).exit_code == 0
