"""A small book of agreements: the definitions the automation tests run on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ENTITIES: dict[str, dict[str, Any]] = {
    "account": {
        "fields": {
            "name": {"type": "string", "required": True},
            "last_agreement": {"type": "string"},
            "touches": {"type": "integer", "default": 0},
            "echoes": {"type": "integer", "default": 0},
        }
    },
    "agreement": {
        "fields": {
            "title": {"type": "string", "required": True},
            "account": {"type": "reference", "target": "account"},
            "end_date": {"type": "date"},
            "status": {"type": "enum", "choices": ["active", "expired"], "default": "active"},
        }
    },
    "task": {
        "fields": {
            "title": {"type": "string", "required": True},
            "agreement": {"type": "reference", "target": "agreement", "on_delete": "cascade"},
            "due": {"type": "date"},
            "done": {"type": "boolean", "default": False},
            "note": {"type": "string"},
            "priority": {"type": "integer", "minimum": 0, "maximum": 5},
        }
    },
    "member": {
        "fields": {
            "name": {"type": "string", "required": True},
            "birthday": {"type": "date"},
            "dormant": {"type": "boolean", "default": False},
        }
    },
}

WORKFLOW = {
    "schema_version": 1,
    "kind": "workflow",
    "name": "agreement_life",
    "entity": "agreement",
    "field": "status",
    "states": {"active": {"initial": True}, "expired": {"final": True}},
    "transitions": {"expire": {"from": ["active"], "to": "expired"}},
}


def automation(name: str, entity: str, trigger: dict[str, Any], actions: list[Any], **rest: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "automation",
        "name": name,
        "entity": entity,
        "trigger": trigger,
        "actions": actions,
        **rest,
    }


RENEWAL = automation(
    "renewal_reminder",
    "agreement",
    {"event": "date", "field": "end_date", "offset": "-P60D"},
    [
        {
            "create": {
                "entity": "task",
                "values": {
                    "title": {"cat": ["Renew ", {"var": "record.title"}]},
                    "agreement": {"var": "record.id"},
                    "due": {"var": "record.end_date"},
                },
            }
        }
    ],
    when={"==": [{"var": "record.status"}, "active"]},
    label={"en": "Renewal reminder", "zh": "续约提醒"},
)
EXPIRY = automation(
    "expire_after_end",
    "agreement",
    {"event": "date", "field": "end_date", "offset": "P1D"},
    [{"transition": {"name": "expire", "comment": "ended"}}],
    when={"==": [{"var": "record.status"}, "active"]},
)
CLOSE_TASKS = automation(
    "close_open_tasks",
    "agreement",
    {"event": "transitioned", "transitions": ["expire"]},
    [
        {
            "update": {
                "children": {"entity": "task", "reference": "agreement"},
                "where": {"!": [{"var": "child.done"}]},
                "values": {"done": True, "note": "closed: agreement expired"},
            }
        }
    ],
)
TOUCH_ACCOUNT = automation(
    "touch_account",
    "agreement",
    {"event": "created"},
    [{"update": {"target": "account", "values": {"last_agreement": {"var": "record.title"}}}}],
)
BIRTHDAY = automation(
    "birthday_care",
    "member",
    {"event": "date", "field": "birthday", "offset": "P0D", "yearly": True},
    [{"create": {"entity": "task", "values": {"title": {"cat": ["Birthday: ", {"var": "record.name"}]}}}}],
)

ALL = [RENEWAL, EXPIRY, CLOSE_TASKS, TOUCH_ACCOUNT, BIRTHDAY]


def write(root: Path, automations: list[dict[str, Any]] | None = None, name: str = "book") -> Path:
    """The bundle on disk, with ``automations`` (all of the above by default)."""
    bundle = root / name
    bundle.mkdir(parents=True, exist_ok=True)
    for old in bundle.glob("*.json"):
        old.unlink()
    docs: dict[str, Any] = {"bundle.json": {"schema_version": 1, "kind": "bundle", "name": name}}
    for entity, body in ENTITIES.items():
        docs[f"{entity}.json"] = {"schema_version": 1, "kind": "entity", "name": entity, **body}
    docs["agreement_life.json"] = WORKFLOW
    for doc in ALL if automations is None else automations:
        docs[f"auto_{doc['name']}.json"] = doc
    for filename, doc in docs.items():
        (bundle / filename).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return bundle
