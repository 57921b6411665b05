"""A small book for the merge tests: accounts (a unique code, a parent account, rollups over
their deals), contacts and deals (a workflow, a compute reading the account), a ``rep`` role
that updates only its own records, a ``clerk`` who never sees an account's phone, and users
ann and bob (reps), cleo (clerk) and boss (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import score_history, scores
from tests.support import SYSTEM, write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "unique": [["name", "city"]],
        "fields": {
            "name": {"type": "string", "required": True},
            "code": {"type": "string", "unique": True},
            "city": {"type": "string"},
            "phone": {"type": "string"},
            "tags": {"type": "multi_enum", "choices": ["vip", "new"]},
            "size": {"type": "integer"},
            "revenue": {"type": "money"},
            "since": {"type": "date"},
            "parent": {"type": "reference", "target": "account"},
            "deal_count": {
                "type": "integer",
                "rollup": {"entity": "deal", "reference": "account", "function": "count"},
            },
            "pipeline": {
                "type": "money",
                "rollup": {"entity": "deal", "reference": "account", "function": "sum", "field": "amount"},
            },
        },
    },
    "contact": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account", "on_delete": "cascade"},
        },
    },
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
            "amount": {"type": "money"},
            "stage": {"type": "enum", "choices": ["open", "won"]},
            "account_city": {"type": "string", "compute": {"var": "record.account.city"}},
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
    "permissions": {"*": {"create": True, "read": "all", "update": "own", "delete": "own"}},
}

#: Updates every record but never sees an account's phone.
CLERK = {
    "schema_version": 1,
    "kind": "role",
    "name": "clerk",
    "permissions": {
        "*": {"create": True, "read": "all", "update": "all"},
        "account": {"fields": {"phone": "hidden"}},
    },
}


def set_up(engine: CrmEngine, root: Path) -> CrmEngine:
    """``engine`` with the book applied and users ann, bob (reps), cleo (clerk) and boss (admin)."""
    extra = {"deal_flow.json": PIPELINE, "rep.json": REP, "clerk.json": CLERK}
    bundle = write_bundle(root, "book", ENTITIES, extra=extra)
    engine.apply(load_definitions(bundle))
    for name in ("ann", "bob"):
        engine.users.create(name, roles=["rep"])
    engine.users.create("cleo", roles=["clerk"])
    engine.users.create("boss", roles=["admin"])
    return engine


def add_score(engine: CrmEngine, entity: str, record_id: int, value: float) -> None:
    """A current score and its history row for a record (as a scoring run leaves them)."""
    now = utcnow()
    common = {"scoring": "fit", "entity": entity, "record_id": record_id, "scorer": "rules", "definitions_version": 1}
    with engine.db.write() as conn:
        conn.execute(scores.insert().values(**common, value=value, grade="A", computed_at=now))
        conn.execute(score_history.insert().values(**common, kind="computed", value=value, grade="A", at=now))


def full_rows(engine: CrmEngine, entity: str) -> list[dict[str, Any]]:
    """Every row of an entity's table, by id (the whole row: versions and times included)."""
    table = engine.model.table(entity)
    with engine.db.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def make(engine: CrmEngine, entity: str, **values: Any) -> int:
    return int(engine.records.create(entity, values, actor=SYSTEM)["id"])
