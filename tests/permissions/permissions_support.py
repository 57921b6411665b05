"""A small CRM with roles, its users and records owned across two teams, for the permission
tests of the services (tests/permissions) and of the REST API (tests/web)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import acting_for, write_bundle

ENTITIES: dict[str, dict[str, Any]] = {
    "lead": {
        "fields": {
            "title": {"type": "string", "required": True},
            "cost": {"type": "money"},
            "score": {"type": "integer"},
            "stage": {"type": "enum", "choices": ["new", "qualified", "lost"]},
        }
    },
    "product": {"fields": {"name": {"type": "string", "required": True}}},
}

PIPELINE: dict[str, Any] = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "lead_pipeline",
    "entity": "lead",
    "field": "stage",
    "states": {"new": {"initial": True}, "qualified": {}, "lost": {"final": True}},
    "transitions": {
        "qualify": {
            "from": ["new"],
            "to": "qualified",
            "roles": ["rep", "manager"],
            "actions": [{"set": {"score": 50}}],
        },
        "lose": {"from": ["new", "qualified"], "to": "lost", "roles": ["rep", "manager"]},
    },
}


def role(name: str, permissions: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "role", "name": name, "permissions": permissions}


ROLES: dict[str, dict[str, Any]] = {
    "manager.json": role("manager", {"*": {"create": True, "read": "team", "update": "team", "delete": "team"}}),
    "rep.json": role(
        "rep",
        {
            "*": {"create": True, "read": "own", "update": "own", "delete": "none"},
            "lead": {"fields": {"cost": "hidden", "score": "read_only"}},
            "product": {"create": False, "read": "all", "update": "none"},
        },
    ),
    # a custom role: reads everything, changes nothing, never sees what leads cost
    "auditor.json": role("auditor", {"*": {"read": "all"}, "lead": {"fields": {"cost": "hidden"}}}),
}

#: name → (roles, team). ``ghost`` holds a role no document defines (see :func:`set_up`).
USERS: dict[str, tuple[list[str], str | None]] = {
    "boss": (["admin"], None),
    "mia": (["manager"], "east"),
    "ann": (["rep"], "east"),
    "bob": (["rep"], "east"),
    "carl": (["rep"], "west"),
    "aud": (["auditor"], None),
    "ghost": (["intern"], "east"),
}

#: The owners of the three leads every matrix case starts with: the acting user's own
#: record (for ann), a teammate's (bob, east) and another team's (carl, west).
OWNERS = ("ann", "bob", "carl")


def write_crm(root: Path, *, roles: bool = True) -> Path:
    """The bundle on disk (without role documents when ``roles`` is false)."""
    extra: dict[str, dict[str, Any]] = {"lead_pipeline.json": PIPELINE}
    if roles:
        extra.update(ROLES)
    return write_bundle(root, "guarded", ENTITIES, extra=extra)


def set_up(engine: CrmEngine, root: Path, *, roles: bool = True) -> dict[str, int]:
    """Create the users, apply the bundle, and create one lead per owner of :data:`OWNERS`
    (owner → lead id).

    The users come first: ``ghost``'s role could not be given once roles are defined, so it
    stands for a user created while roles were still free names.
    """
    for name, (user_roles, team) in USERS.items():
        engine.users.create(name, roles=user_roles, team=team)
    engine.apply(load_definitions(write_crm(root, roles=roles)))
    return {
        owner: engine.records.create(
            "lead", {"title": f"lead of {owner}", "cost": "1200.00", "owner": owner}, actor=acting_for("boss")
        )["id"]
        for owner in OWNERS
    }
