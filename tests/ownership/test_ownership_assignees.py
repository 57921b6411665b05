"""A hand-over moves what the user owns and reports what still names them in an assignee-like
field (SQLite and PostgreSQL): open work items (a task's assignee), fields an assign action
writes; done work items are history and are not counted; nothing of it is rewritten."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.metadata import load_definitions
from engine.ownership import user_fields
from engine.runtime import CrmEngine
from tests.ownership.ownership_support import ENTITIES, REPORTS, ROLES, USERS, make, user
from tests.support import CliResult, acting_for, write_bundle

WORK: dict[str, dict[str, Any]] = {
    "task": {
        "fields": {
            "title": {"type": "string", "required": True},
            "due": {"type": "date"},
            "done_at": {"type": "datetime"},
            "assignee": {"type": "string", "max_length": 128},
        }
    },
    "ticket": {
        "fields": {
            "subject": {"type": "string", "required": True},
            "engineer": {"type": "string", "max_length": 128},
            "remark": {"type": "string"},
        }
    },
}
#: New tickets go to the least loaded rep, in the ``engineer`` field.
ASSIGN = {
    "schema_version": 1,
    "kind": "automation",
    "name": "route_tickets",
    "entity": "ticket",
    "label": {"en": "Route tickets"},
    "trigger": {"event": "created"},
    "when": {"!": [{"var": "record.engineer"}]},
    "actions": [{"assign": {"role": "rep", "strategy": "least_loaded", "field": "engineer"}}],
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    bundle = write_bundle(
        tmp_path, "owned", {**ENTITIES, **WORK}, extra={**ROLES, **REPORTS, "route_tickets.json": ASSIGN}
    )
    engine.apply(load_definitions(bundle))
    for name, roles in USERS.items():
        engine.users.create(name, roles=roles)
    return engine


def test_the_fields_naming_who_does_the_work(crm: CrmEngine) -> None:
    assert user_fields(crm.model.definitions) == {"task": {"assignee": "done_at"}, "ticket": {"engineer": None}}


def test_a_handover_reports_what_still_names_the_user(crm: CrmEngine) -> None:
    boss = acting_for("boss")
    done = "2026-01-05T09:00:00Z"
    crm.records.create("task", {"title": "call Acme", "assignee": "ann", "owner": "bob"}, actor=boss)
    crm.records.create("task", {"title": "visit Beta", "assignee": "ann", "owner": "bob"}, actor=boss)
    crm.records.create("task", {"title": "old call", "assignee": "ann", "done_at": done, "owner": "bob"}, actor=boss)
    crm.records.create("task", {"title": "bob's", "assignee": "bob", "owner": "bob"}, actor=boss)
    ticket = crm.records.create("ticket", {"subject": "pump", "engineer": "ann", "owner": "bob"}, actor=boss)
    crm.records.create("ticket", {"subject": "remark only", "remark": "ann", "owner": "bob"}, actor=boss)
    owned = make(crm, "account", "ann", name="Acme")
    _, handover = crm.handovers.deactivate("ann", transfer_to="carl", actor=user(crm, "boss"))
    assert handover is not None
    assert handover.records == {"account": 1}
    assert handover.still_assigned == {"task.assignee": 2, "ticket.engineer": 1}
    assert handover.to_json()["still_assigned"] == {"task.assignee": 2, "ticket.engineer": 1}
    assert "still_assigned" not in crm.handovers.get(handover.id).to_json()  # counted then, not stored
    # reported, not rewritten: who held the work stays as it was
    assert crm.records.get("ticket", ticket["id"], actor=boss)["engineer"] == "ann"
    assert crm.records.get("account", owned, actor=boss)["owner"] == "carl"


def test_nothing_to_report_when_no_field_names_the_user(crm: CrmEngine) -> None:
    make(crm, "account", "ann", name="Acme")
    _, handover = crm.handovers.deactivate("ann", transfer_to="carl", actor=user(crm, "boss"))
    assert handover is not None and handover.still_assigned == {}


def test_the_cli_names_what_is_still_assigned(
    crm: CrmEngine, database_url: str, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    crm.records.create("task", {"title": "call Acme", "assignee": "ann", "owner": "bob"}, actor=acting_for("boss"))
    result = run_cli("user", "deactivate", "ann", "--transfer-to", "carl")
    assert result.exit_code == 0, result.stderr
    assert "still assigned to ann (not moved; reassign them): 1 task.assignee" in result.stdout
