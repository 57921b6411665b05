"""A small book of deals whose approval notifies: the definitions the notification tests run on."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from engine.metadata import Definitions, load_definitions
from engine.runtime import CrmEngine
from tests.support import write_bundle

ENTITIES: dict[str, dict[str, Any]] = {
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account_manager": {"type": "string"},
            "amount": {"type": "integer"},
            "status": {"type": "enum", "choices": ["open", "approved", "lost"], "default": "open"},
        }
    },
    # who works on a deal: notified through {"children": ...}
    "deal_member": {
        "fields": {
            "deal": {"type": "reference", "target": "deal", "required": True, "on_delete": "cascade"},
            "member": {"type": "string", "required": True},
            "share": {"type": "integer"},
            "left_on": {"type": "date"},
        }
    },
}

APPROVE_NOTIFY: dict[str, Any] = {
    "notify": {
        "topic": "deal.approved",
        "to": ["owner", {"role": "finance"}, {"user": "li.na"}, {"field": "account_manager"}],
        "title": {"cat": ["Deal approved: ", {"var": "record.title"}]},
        "message": "Please book the deal.",
    }
}

WORKFLOW: dict[str, Any] = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "deal_flow",
    "entity": "deal",
    "field": "status",
    "states": {"open": {"initial": True}, "approved": {"final": True}, "lost": {"final": True}},
    "transitions": {
        "approve": {"from": ["open"], "to": "approved", "actions": [APPROVE_NOTIFY]},
        "lose": {"from": ["open"], "to": "lost", "actions": [{"notify": {"topic": "deal.lost"}}]},
    },
}

ROLES: dict[str, dict[str, Any]] = {
    f"{name}.json": {
        "schema_version": 1,
        "kind": "role",
        "name": name,
        "permissions": {"*": {"create": True, "read": "all", "update": "all", "delete": "all"}},
    }
    for name in ("finance", "sales")
}

BIG_DEAL: dict[str, Any] = {
    "schema_version": 1,
    "kind": "automation",
    "name": "big_deal",
    "entity": "deal",
    "trigger": {"event": "created"},
    "when": {">=": [{"var": "record.amount"}, 1000000]},
    "actions": [
        {
            "notify": {
                "topic": "deal.big",
                "to": [{"role": "sales"}],
                "title": {"cat": ["Big deal: ", {"var": "record.title"}]},
            }
        }
    ],
}


def write(
    root: Path,
    *,
    workflow: dict[str, Any] | None = None,
    automations: list[dict[str, Any]] | None = None,
    roles: bool = True,
) -> Path:
    extra: dict[str, dict[str, Any]] = {"deal_flow.json": copy.deepcopy(workflow or WORKFLOW)}
    if roles:
        extra.update(ROLES)
    for doc in [BIG_DEAL] if automations is None else automations:
        extra[f"auto_{doc['name']}.json"] = doc
    return write_bundle(root, "deals", ENTITIES, extra=extra)


def definitions(root: Path, **options: Any) -> Definitions:
    return load_definitions(write(root, **options))


def make(database_url: str, root: Path, **options: Any) -> CrmEngine:
    crm = CrmEngine(database_url)
    crm.apply(definitions(root, **options))
    crm.users.create("wang.fang", roles=["sales"], email="wang.fang@example.com")
    crm.users.create("zhao.lei", roles=["finance"], email="zhao.lei@example.com")
    crm.users.create("chen.jie", roles=["finance"])
    crm.users.create("li.na", roles=["sales"], email="li.na@example.com")
    crm.users.create("old.hand", roles=["finance"], email="old.hand@example.com")
    crm.users.set_active("old.hand", False)
    return crm
