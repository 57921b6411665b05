"""What a user's roles allow, computed from role definitions (no database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.metadata import Definitions, load_definitions
from engine.permissions import entity_access
from tests.permissions.permissions_support import ENTITIES, role, write_crm
from tests.support import write_bundle


@pytest.fixture(scope="module")
def definitions(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    return load_definitions(write_crm(tmp_path_factory.mktemp("crm")))


def test_without_role_documents_nothing_is_restricted(tmp_path: Path) -> None:
    plain = load_definitions(write_crm(tmp_path, roles=False))
    access = entity_access(plain, ["rep"], "lead")
    assert access.unrestricted and access.create and access.read == "all" and not access.hidden


@pytest.mark.parametrize(
    ("roles", "entity", "expected"),
    [
        (["admin"], "lead", (True, "all", "all", "all", set(), set())),
        (["rep"], "lead", (True, "own", "own", "none", {"cost"}, {"score"})),
        (["rep"], "product", (False, "all", "none", "none", set(), set())),
        (["manager"], "lead", (True, "team", "team", "team", set(), set())),
        (["auditor"], "lead", (False, "all", "none", "none", {"cost"}, set())),
        # union: the widest scope of any role; a field stays hidden only if every reader hides it
        (["rep", "auditor"], "lead", (True, "all", "own", "none", {"cost"}, set())),
        (["rep", "manager"], "lead", (True, "team", "team", "team", set(), set())),
        (["intern"], "lead", (False, "none", "none", "none", set(), set())),
        ([], "product", (False, "none", "none", "none", set(), set())),
    ],
    ids=[
        "admin",
        "rep",
        "rep-entity-entry-beats-star",
        "manager",
        "custom-auditor",
        "rep+auditor",
        "rep+manager",
        "undefined-role",
        "no-roles",
    ],
)
def test_access_is_the_union_of_the_roles(
    definitions: Definitions, roles: list[str], entity: str, expected: tuple[Any, ...]
) -> None:
    access = entity_access(definitions, roles, entity)
    got = (access.create, access.read, access.update, access.delete, set(access.hidden), set(access.read_only))
    assert got == expected


def test_visible_undoes_an_inherited_restriction(tmp_path: Path) -> None:
    base = write_bundle(
        tmp_path,
        "base",
        ENTITIES,
        extra={"rep.json": role("rep", {"lead": {"read": "own", "fields": {"cost": "hidden", "score": "read_only"}}})},
    )
    mode = write_bundle(
        tmp_path,
        "mode",
        {},
        extends=["../base"],
        extra={
            "rep.json": {
                "schema_version": 1,
                "kind": "role_overlay",
                "role": "rep",
                "permissions": {"lead": {"read": "team", "fields": {"cost": "visible"}}, "product": {"read": "all"}},
            }
        },
    )
    assert base.exists()
    access = entity_access(load_definitions(mode), ["rep"], "lead")
    assert (access.read, set(access.hidden), set(access.read_only)) == ("team", set(), {"score"})
    assert entity_access(load_definitions(mode), ["rep"], "product").read == "all"
