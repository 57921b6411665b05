"""A small sales book: the definitions the view tests run on (deals with an owner, an amount,
a close date and a stage a workflow drives; accounts they belong to), with two view documents
and two roles (a rep reads the deals they own, a manager reads every deal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ENTITIES: dict[str, dict[str, Any]] = {
    "account": {
        "fields": {
            "name": {"type": "string", "required": True},
            "industry": {"type": "enum", "choices": ["bank", "retail"]},
        },
        "display": "name",
    },
    "deal": {
        "label": {"en": "Deal", "zh": "商机"},
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
            "amount": {"type": "money"},
            "close_on": {"type": "date"},
            "last_call": {"type": "datetime"},
            "stage": {"type": "enum", "choices": ["open", "won", "lost"], "default": "open"},
            "notes": {"type": "text"},
        },
        "display": "title",
    },
}

WORKFLOW = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "deal_flow",
    "entity": "deal",
    "field": "stage",
    "states": {"open": {"initial": True}, "won": {"final": True}, "lost": {"final": True}},
    "transitions": {"win": {"from": ["open"], "to": "won"}, "lose": {"from": ["open"], "to": "lost"}},
}

ROLES = [
    {
        "schema_version": 1,
        "kind": "role",
        "name": "rep",
        "permissions": {
            "deal": {"read": "own", "create": True, "update": "own"},
            "account": {"read": "all", "create": True, "update": "all"},
        },
    },
    {
        "schema_version": 1,
        "kind": "role",
        "name": "manager",
        "permissions": {"deal": {"read": "all", "update": "all"}, "account": {"read": "all"}},
    },
]


def view(name: str, entity: str = "deal", **rest: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "view", "name": name, "entity": entity, **rest}


MY_DEALS_THIS_MONTH = view(
    "my_deals_this_month",
    label={"en": "My deals closing this month", "zh": "我本月成交的商机"},
    where={"owner": "@me", "stage": "open", "close_on": "@this_month"},
    sort=["close_on", "-amount"],
    columns=["title", "amount", "close_on"],
    group_by="stage",
)
QUIET_DEALS = view("quiet_deals", where={"last_call": {"lt": "@30_days_ago"}}, sort=["last_call"])
VIEWS = [MY_DEALS_THIS_MONTH, QUIET_DEALS]


def write(root: Path, views: list[dict[str, Any]] | None = None, *, roles: bool = True, name: str = "book") -> Path:
    """The bundle on disk, with ``views`` (the two above by default)."""
    bundle = root / name
    bundle.mkdir(parents=True, exist_ok=True)
    for old in bundle.glob("*.json"):
        old.unlink()
    docs: dict[str, Any] = {"bundle.json": {"schema_version": 1, "kind": "bundle", "name": name}}
    for entity, body in ENTITIES.items():
        docs[f"{entity}.json"] = {"schema_version": 1, "kind": "entity", "name": entity, **body}
    docs["deal_flow.json"] = WORKFLOW
    for role in ROLES if roles else ():
        docs[f"role_{role['name']}.json"] = role
    for doc in VIEWS if views is None else views:
        docs[f"view_{doc['name']}.json"] = doc
    for filename, doc in docs.items():
        (bundle / filename).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return bundle
