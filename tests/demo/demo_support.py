"""Checks the demo-data tests share: validity, references, uniqueness, workflow history, dumps."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.runtime import CrmEngine
from engine.storage import audit_log, to_jsonable, users, workflow_history

NOW = datetime.fromisoformat("2025-06-30T00:00:00+00:00")


def rows(engine: CrmEngine, entity: str) -> list[dict[str, Any]]:
    table = engine.model.table(entity)
    with engine.db.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def history(engine: CrmEngine) -> list[dict[str, Any]]:
    with engine.db.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(workflow_history).order_by(workflow_history.c.id)).mappings()]


def user_roles(engine: CrmEngine) -> dict[str, set[str]]:
    with engine.db.read() as conn:
        return {r.name: set(r.roles) for r in conn.execute(sa.select(users.c.name, users.c.roles))}


def as_input(engine: CrmEngine, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as a user would send it (JSON values; system columns, numbers and
    derived values, which the engine writes, left out)."""
    fields = engine.model.entity(entity).fields
    data = {
        name: to_jsonable(record[name])
        for name, f in fields.items()
        if record[name] is not None and not f.derived and f.type != "autonumber"
    }
    data["owner"] = record["owner"]
    return data


def check_records(engine: CrmEngine) -> None:
    """Every record passes its entity's validator, points at records that exist, keeps
    unique values unique, is owned by a user, and is created after what it points at
    (references inside a cycle aside: one side of it is filled afterwards)."""
    definitions = engine.model.definitions
    everything = {name: rows(engine, name) for name in definitions.entities}
    ids = {name: {r["id"]: r for r in found} for name, found in everything.items()}
    people = user_roles(engine)
    for name, found in everything.items():
        entity = definitions.entities[name]
        validator = engine.model.validator(name)
        for record in found:
            _values, problems = validator.check(as_input(engine, name, record))
            assert problems == [], (name, record["id"], problems)
            assert record["owner"] in people, (name, record["id"], record["owner"])
            # a user made it, or the engine's clock did (an automation, named in the audit)
            made_by = record["created_by"]
            assert made_by in people or made_by.startswith("system:automation:"), (name, record["id"], made_by)
            assert record["created_at"] <= record["updated_at"] <= NOW
            for f in entity.references():
                value = record[f.name]
                if value is None:
                    continue
                assert value in ids[f.target or ""], (name, record["id"], f.name, value)
                target = definitions.entities[f.target or ""]
                in_cycle = f.target == name or any(g.target == name for g in target.references())
                if not in_cycle:
                    assert ids[f.target or ""][value]["created_at"] <= record["created_at"], (name, f.name)
        for f in entity.fields.values():
            if f.unique:
                values = [r[f.name] for r in found if r[f.name] is not None]
                assert len(values) == len(set(values)), (name, f.name)
        for group in entity.unique:
            keys = [tuple(r[n] for n in group) for r in found if all(r[n] is not None for n in group)]
            assert len(keys) == len(set(keys)), (name, group)


def check_history(engine: CrmEngine) -> int:
    """Workflow records and their history agree; returns the number of transitions seen.

    Per record and workflow: the creation row comes first (no transition, no from-state,
    the initial state, at the record's creation), times increase, each row starts where the
    previous one ended along a defined transition run by a user holding one of its roles
    (the system for escalations), and the last row ends in the record's state, whose
    required fields have values.
    """
    definitions = engine.model.definitions
    people = user_roles(engine)
    by_record: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in history(engine):
        by_record[(row["entity"], row["record_id"], row["workflow"])].append(row)
    transitions = 0
    for workflow in definitions.workflows.values():
        escalations = {s.escalation.transition for s in workflow.states.values() if s.escalation}
        for record in rows(engine, workflow.entity):
            steps = by_record.pop((workflow.entity, record["id"], workflow.name))
            first, rest = steps[0], steps[1:]
            assert first["transition"] is None and first["from_state"] is None
            assert first["to_state"] == workflow.initial_state
            assert first["at"] == record["created_at"]
            previous = first
            for step in rest:
                t = workflow.transitions[step["transition"]]
                assert step["from_state"] == previous["to_state"] and step["from_state"] in t.from_states
                assert step["to_state"] == t.to_state
                assert step["at"] > previous["at"]
                if step["actor"] == "system":
                    assert step["transition"] in escalations
                elif step["actor"].startswith("system:automation:"):  # the clock ran it, by name
                    assert step["actor"].removeprefix("system:automation:") in definitions.automations
                elif t.roles:
                    assert people[step["actor"]] & set(t.roles), (step, t.roles)
                if t.not_by_creator:
                    assert step["actor"] != record["created_by"]
                for name, spec in t.inputs.items():
                    if spec.required:
                        assert (step["inputs"] or {}).get(name) not in (None, "")
                previous = step
                transitions += 1
            assert previous["to_state"] == record[workflow.field]
            assert previous["at"] <= record["updated_at"]
            for name in workflow.states[record[workflow.field]].required:
                assert record[name] not in (None, "", [])
    assert not by_record, "history rows of records that do not exist"
    return transitions


def dump(engine: CrmEngine) -> str:
    """Every generated row, canonical: equal dumps mean byte-identical data."""
    out: dict[str, Any] = {}
    for name in engine.model.definitions.entities:
        out[name] = [to_jsonable(r) for r in rows(engine, name)]
    with engine.db.read() as conn:
        out["history"] = [
            to_jsonable(dict(r))
            for r in conn.execute(sa.select(workflow_history).order_by(workflow_history.c.id)).mappings()
        ]
        out["users"] = [to_jsonable(dict(r)) for r in conn.execute(sa.select(users).order_by(users.c.name)).mappings()]
        out["audit"] = [
            to_jsonable(dict(r))
            for r in conn.execute(
                sa.select(audit_log).where(audit_log.c.action == "demo").order_by(audit_log.c.entity)
            ).mappings()
        ]
    for rows_ in out.values():
        for row in rows_:
            if isinstance(row, dict) and isinstance(row.get("roles"), list):
                row["roles"] = sorted(row["roles"])
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
