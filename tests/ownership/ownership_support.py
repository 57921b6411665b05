"""A small CRM whose ownership follows the customer: accounts with contacts, deals and quotes
that follow the account's owner, notes that do not, reps who read the customers of their own
deals (``read_via``) and claim accounts from the pool (``claim_limits``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.users import User
from tests.support import acting_for, write_bundle

ENTITIES: dict[str, dict[str, Any]] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "status": {"type": "enum", "choices": ["prospect", "customer"]},
            "parent": {"type": "reference", "target": "account", "on_delete": "set_null", "cascade_owner": True},
        },
    },
    "contact": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "on_delete": "cascade", "cascade_owner": True},
        },
    },
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "cascade_owner": True},
            "contact": {"type": "reference", "target": "contact", "on_delete": "set_null"},
        }
    },
    "quote": {
        "fields": {
            "number": {"type": "string", "required": True},
            "deal": {"type": "reference", "target": "deal", "on_delete": "cascade", "cascade_owner": True},
        }
    },
    "note": {
        "fields": {
            "text": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "on_delete": "cascade"},
        }
    },
}


def role(name: str, permissions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "role", "name": name, "permissions": permissions, **extra}


ROLES: dict[str, dict[str, Any]] = {
    "rep.json": role(
        "rep",
        {"*": {"create": True, "read": "own", "update": "own", "delete": "none"}},
        read_via=["deal.account", "deal.contact"],
        claim_limits={"account": 2},
    ),
    "clerk.json": role("clerk", {"*": {"create": True, "read": "own", "update": "own"}}),
}

#: Reps win their accounts as customers.
LIFECYCLE: dict[str, Any] = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "account_lifecycle",
    "entity": "account",
    "field": "status",
    "states": {"prospect": {"initial": True}, "customer": {}},
    "transitions": {"win": {"from": ["prospect"], "to": "customer", "roles": ["rep"]}},
}

#: Accounts counted per owner: what a report shows of the records a user reads.
REPORTS: dict[str, dict[str, Any]] = {
    "accounts_per_owner.json": {
        "schema_version": 1,
        "kind": "report",
        "name": "accounts_per_owner",
        "type": "aggregate",
        "entity": "account",
        "by": ["owner"],
        "measures": [{"name": "accounts", "op": "count"}],
    }
}

#: name → roles
USERS: dict[str, list[str]] = {"boss": ["admin"], "ann": ["rep"], "bob": ["rep"], "carl": ["rep"], "cleo": ["clerk"]}


def write_crm(root: Path, roles: dict[str, dict[str, Any]] | None = None) -> Path:
    extra = {**(ROLES if roles is None else roles), **REPORTS, "lifecycle.json": LIFECYCLE}
    return write_bundle(root, "owned", ENTITIES, extra=extra)


def set_up(engine: CrmEngine, root: Path) -> None:
    engine.apply(load_definitions(write_crm(root)))
    for name, roles in USERS.items():
        engine.users.create(name, roles=roles)


def make(engine: CrmEngine, entity: str, owner: str | None, **values: Any) -> int:
    """A record of ``entity`` owned by ``owner`` (``None``: unowned), its id."""
    actor = acting_for(owner) if owner is not None else acting_for("boss")
    record = engine.records.create(entity, {**values, "owner": owner}, actor=actor)
    return int(record["id"])


def owner(engine: CrmEngine, entity: str, record_id: int) -> Any:
    return engine.records.get(entity, record_id, actor=acting_for("boss"))["owner"]


def user(engine: CrmEngine, name: str) -> User:
    return engine.users.get(name)
