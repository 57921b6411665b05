"""A small CRM for the record input, search and reference-filter tests (tests/records,
tests/web, tests/cli, tests/transfer): accounts and deals with a workflow, a ``rep`` role that
reads its own records and never sees an account's ``secret``, and users ann, bob and gone
(deactivated)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "notes": {"type": "text"},
            "extra": {"type": "json"},
            "tags": {"type": "multi_enum", "choices": ["vip", "new"]},
            "city": {"type": "string"},
            "secret": {"type": "string"},
            "size": {"type": "integer"},
        },
    },
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
            "stage": {"type": "enum", "choices": ["open", "won"]},
        },
    },
}
PIPELINE: dict[str, Any] = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "deal_flow",
    "entity": "deal",
    "field": "stage",
    "states": {"open": {"initial": True}, "won": {"final": True}},
    "transitions": {"win": {"from": ["open"], "to": "won"}},
}
REP = {
    "schema_version": 1,
    "kind": "role",
    "name": "rep",
    "permissions": {
        "*": {"create": True, "read": "own", "update": "own", "delete": "own"},
        "account": {"fields": {"secret": "hidden"}},
    },
}


def set_up(engine: CrmEngine, root: Path) -> CrmEngine:
    """``engine`` with the bundle applied and its users created."""
    bundle = write_bundle(root, "sales", ENTITIES, extra={"deal_flow.json": PIPELINE, "rep.json": REP})
    engine.apply(load_definitions(bundle))
    for name in ("ann", "bob", "gone"):
        engine.users.create(name, roles=["rep"])
    engine.users.set_active("gone", False)
    return engine
