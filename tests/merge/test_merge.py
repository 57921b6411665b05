"""Merging two records and undoing it, on SQLite and PostgreSQL: which value each field keeps,
every reference re-pointed, history reachable from the target, rollups recounted, the undo
restoring every row exactly, and the refusals (later changes, unique values, workflow states,
permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import ConflictError, NotFoundError, PermissionDeniedError, RecordValidationError, UsageError
from engine.runtime import CrmEngine
from engine.storage import COPY_EVENTS_FROM, audit_log, events, score_history, scores, workflow_history
from tests.merge.merge_support import add_score, full_rows, make, set_up
from tests.support import SYSTEM, acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> Iterator[CrmEngine]:
    yield set_up(engine, tmp_path)


def _pair(crm: CrmEngine) -> tuple[int, int]:
    """A target with a name, code and empty city; a source with another name and a city."""
    target = make(crm, "account", name="Acme", code="A-1", phone="123", tags=[])
    source = make(crm, "account", name="Acme Ltd", code="A-2", city="Xi'an", phone="999", size=40, tags=["vip"])
    return source, target


@pytest.mark.parametrize(
    ("take", "expected"),
    [
        # the target's value stands unless empty: city and size and tags come from the source
        ({}, {"name": "Acme", "code": "A-1", "phone": "123", "city": "Xi'an", "size": 40, "tags": ["vip"]}),
        ({"phone": "source"}, {"name": "Acme", "code": "A-1", "phone": "999", "city": "Xi'an", "size": 40}),
        ({"city": "target", "name": "source"}, {"name": "Acme Ltd", "city": None, "size": 40}),
    ],
    ids=["empty-filled", "take-phone", "take-target-keeps-empty"],
)
def test_field_choice(crm: CrmEngine, take: dict[str, str], expected: dict[str, Any]) -> None:
    source, target = _pair(crm)
    merged = crm.merges.merge("account", source, into=target, take=take, actor=SYSTEM)
    record = crm.records.get("account", target, actor=SYSTEM)
    assert {k: record[k] for k in expected} == expected
    assert merged["record"]["id"] == target
    with pytest.raises(NotFoundError):
        crm.records.get("account", source, actor=SYSTEM)


def test_plan_shows_each_field(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    plan = crm.merges.plan("account", source, into=target, take={"phone": "source"}, actor=SYSTEM)
    winners = {c.field: (c.winner, c.reason) for c in plan.choices}
    assert winners["name"] == ("target", "target")
    assert winners["city"] == ("source", "empty")
    assert winners["phone"] == ("source", "take")
    assert winners["deal_count"] == ("target", "derived")
    assert plan.problems == []
    assert crm.records.get("account", source, actor=SYSTEM)["name"] == "Acme Ltd"  # a plan writes nothing


def test_every_reference_repointed_and_rollups_recounted(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    other = make(crm, "account", name="Other")
    child = make(crm, "account", name="Branch", parent=source)
    contacts = [make(crm, "contact", name=f"c{i}", account=source) for i in range(3)]
    deals = [make(crm, "deal", title=f"d{i}", account=source, amount="100.00") for i in range(2)]
    make(crm, "deal", title="theirs", account=target, amount="5.00")
    untouched = make(crm, "deal", title="elsewhere", account=other)
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    assert sorted((g["entity"], g["field"], g["count"]) for g in merged["repointed"]) == [
        ("account", "parent", 1),
        ("contact", "account", 3),
        ("deal", "account", 2),
    ]
    for cid in contacts:
        assert crm.records.get("contact", cid, actor=SYSTEM)["account"] == target
    for did in deals:
        deal = crm.records.get("deal", did, actor=SYSTEM)
        assert deal["account"] == target
        assert deal["account_city"] == "Xi'an"  # the compute follows the new reference
    assert crm.records.get("account", child, actor=SYSTEM)["parent"] == target
    assert crm.records.get("deal", untouched, actor=SYSTEM)["account"] == other
    account = crm.records.get("account", target, actor=SYSTEM)
    assert account["deal_count"] == 3
    assert account["pipeline"] == Decimal("205.00")


def test_history_audit_and_scores_reachable_from_target(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    crm.records.update("account", source, {"phone": "555"}, actor=SYSTEM)
    add_score(crm, "account", source, 80.0)
    deal = make(crm, "deal", title="d", account=source)
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    trail = crm.records.audit("account", target, actor=SYSTEM)
    assert any(r["field"] == "phone" and r["new_value"] == "555" for r in trail)  # the source's change
    assert any(r["action"] == "merge" and r["new_value"]["merged"] == source for r in trail)
    with crm.db.read() as conn:
        history = conn.execute(sa.select(score_history.c.record_id).where(score_history.c.entity == "account")).all()
        assert history == [(target,)]
        assert conn.execute(sa.select(scores).where(scores.c.record_id == source)).first() is None
        kinds = [r.type for r in conn.execute(sa.select(events).order_by(events.c.id.desc()).limit(4))]
    assert set(kinds) >= {"record.deleted", "record.updated"}
    assert merged["history"]["score_history"] == 1
    # the deal's re-pointing is in its own trail, under the merge's change id
    (moved,) = [r for r in crm.records.audit("deal", deal, actor=SYSTEM) if r["field"] == "account"][:1]
    assert (moved["old_value"], moved["new_value"]) == (source, target)


def test_workflow_history_moves_with_the_record(crm: CrmEngine) -> None:
    boss = crm.users.get("boss")
    source, target = make(crm, "deal", title="a"), make(crm, "deal", title="b")
    merged = crm.merges.merge("deal", source, into=target, actor=boss)
    with crm.db.read() as conn:
        rows = conn.execute(sa.select(workflow_history.c.record_id).where(workflow_history.c.entity == "deal")).all()
    assert sorted(r[0] for r in rows) == [target, target]
    crm.merges.undo(merged["id"], actor=boss)
    with crm.db.read() as conn:
        rows = conn.execute(sa.select(workflow_history.c.record_id).where(workflow_history.c.entity == "deal")).all()
    assert sorted(r[0] for r in rows) == [source, target]


def test_undo_restores_every_row_exactly(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    crm.records.update("account", source, {"revenue": "12.50", "since": "2024-02-29"}, actor=SYSTEM)
    make(crm, "account", name="Branch", parent=source)
    crm.records.update("account", target, {"parent": source}, actor=SYSTEM)
    for i in range(3):
        make(crm, "contact", name=f"c{i}", account=source)
        make(crm, "deal", title=f"d{i}", account=source if i else target, amount="10.00")
    add_score(crm, "account", source, 70.0)
    before = {e: full_rows(crm, e) for e in ("account", "contact")}
    with crm.db.read() as conn:
        scored = [dict(r) for r in conn.execute(sa.select(scores)).mappings()]
    deals_before = full_rows(crm, "deal")
    merged = crm.merges.merge("account", source, into=target, take={"name": "source"}, actor=SYSTEM)
    assert crm.records.get("account", target, actor=SYSTEM)["parent"] is None  # never its own parent
    undone = crm.merges.undo(merged["id"], actor=SYSTEM)
    assert undone["undone_by"] == "system:test"
    after = {e: full_rows(crm, e) for e in ("account", "contact")}
    # the source comes back exactly (id, version, times); the others hold their old values
    assert after["account"][1] == before["account"][1]
    for entity in ("account", "contact"):
        for old, new in zip(before[entity], after[entity], strict=True):
            assert _fields(old) == _fields(new)
    assert [_fields(r) for r in full_rows(crm, "deal")] == [_fields(r) for r in deals_before]
    with crm.db.read() as conn:
        assert [dict(r) for r in conn.execute(sa.select(scores)).mappings()] == scored
    assert crm.records.get("account", target, actor=SYSTEM)["deal_count"] == 1
    assert crm.records.get("account", source, actor=SYSTEM)["deal_count"] == 2


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what every write moves on (version, updated_at)."""
    return {k: v for k, v in row.items() if k not in ("version", "updated_at")}


def test_undo_refused_after_the_target_changed(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    crm.records.update("account", target, {"city": "Beijing"}, actor=SYSTEM)
    with pytest.raises(ConflictError) as caught:
        crm.merges.undo(merged["id"], actor=SYSTEM)
    assert [(p.code, p.field) for p in caught.value.problems] == [("changed_since_merge", "city")]
    assert "Beijing" in caught.value.problems[0].message
    with pytest.raises(NotFoundError):  # nothing was written
        crm.records.get("account", source, actor=SYSTEM)


def test_undo_allowed_after_an_unrelated_change(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    crm.records.update("account", target, {"phone": "777"}, actor=SYSTEM)  # a field the merge kept
    crm.merges.undo(merged["id"], actor=SYSTEM)
    assert crm.records.get("account", target, actor=SYSTEM)["phone"] == "777"
    assert crm.records.get("account", source, actor=SYSTEM)["city"] == "Xi'an"


def test_undo_refused_after_a_repointed_record_changed(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    other = make(crm, "account", name="Other")
    moved = [make(crm, "contact", name=f"c{i}", account=source) for i in range(3)]
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    crm.records.update("contact", moved[1], {"account": other}, actor=SYSTEM)
    crm.records.delete("contact", moved[2], actor=SYSTEM)
    with pytest.raises(ConflictError) as caught:
        crm.merges.undo(merged["id"], actor=SYSTEM)
    found = {(p.code, p.field) for p in caught.value.problems}
    assert found == {("changed_since_merge", "account"), ("deleted_since_merge", "account")}
    assert f"contact {moved[1]}" in caught.value.message and f"contact {moved[2]}" in caught.value.message


def test_undo_twice_refused(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    crm.merges.undo(merged["id"], actor=SYSTEM)
    with pytest.raises(ConflictError) as caught:
        crm.merges.undo(merged["id"], actor=SYSTEM)
    assert caught.value.problems[0].code == "already_undone"
    with pytest.raises(NotFoundError):
        crm.merges.undo(999, actor=SYSTEM)


def test_unique_values(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    crm.records.update("account", target, {"code": None}, actor=SYSTEM)
    # the source's own unique code is no conflict: the source is removed first
    crm.merges.merge("account", source, into=target, actor=SYSTEM)
    assert crm.records.get("account", target, actor=SYSTEM)["code"] == "A-2"


def test_unique_conflict_writes_nothing(crm: CrmEngine) -> None:
    source, target = _pair(crm)
    make(crm, "account", name="Acme", city="Xi'an")  # name + city are unique together
    contact = make(crm, "contact", name="c", account=source)
    before = full_rows(crm, "account")
    with pytest.raises(ConflictError) as caught:
        crm.merges.merge("account", source, into=target, actor=SYSTEM)
    assert [(p.code, p.field) for p in caught.value.problems] == [("unique", "name")]
    assert full_rows(crm, "account") == before
    assert crm.records.get("contact", contact, actor=SYSTEM)["account"] == source
    assert crm.merges.list(actor=SYSTEM) == []


def test_workflow_state_refused(crm: CrmEngine) -> None:
    boss = crm.users.get("boss")
    won, open_ = make(crm, "deal", title="won"), make(crm, "deal", title="open")
    crm.workflows.run("deal", won, "win", user=boss)
    with pytest.raises(RecordValidationError) as caught:
        crm.merges.merge("deal", won, into=open_, actor=boss)
    assert [(p.code, p.field) for p in caught.value.problems] == [("workflow_state", "stage")]
    # the other way round: the open deal has not moved on, the won deal keeps its state
    crm.merges.merge("deal", open_, into=won, actor=boss)
    assert crm.records.get("deal", won, actor=boss)["stage"] == "won"
    with pytest.raises(RecordValidationError) as caught:
        crm.merges.merge("deal", won, into=make(crm, "deal", title="x"), take={"stage": "source"}, actor=boss)
    assert ("workflow_field", "stage") in [(p.code, p.field) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("take", "code"),
    [({"nope": "source"}, "unknown_field"), ({"deal_count": "source"}, "read_only"), ({"name": "both"}, "take")],
)
def test_take_refused(crm: CrmEngine, take: dict[str, str], code: str) -> None:
    source, target = _pair(crm)
    with pytest.raises(RecordValidationError) as caught:
        crm.merges.merge("account", source, into=target, take=take, actor=SYSTEM)
    assert [p.code for p in caught.value.problems] == [code]


def test_merge_into_itself_refused(crm: CrmEngine) -> None:
    source, _ = _pair(crm)
    with pytest.raises(UsageError) as caught:
        crm.merges.merge("account", source, into=source, actor=SYSTEM)
    assert caught.value.problems[0].code == "same_record"
    with pytest.raises(NotFoundError):
        crm.merges.merge("account", source, into=9999, actor=SYSTEM)


def test_permissions_update_on_both_records(crm: CrmEngine) -> None:
    ann, bob = crm.users.get("ann"), crm.users.get("bob")
    mine = crm.records.create("account", {"name": "Mine"}, actor=acting_for("ann"))["id"]
    also_mine = crm.records.create("account", {"name": "Mine too"}, actor=acting_for("ann"))["id"]
    theirs = crm.records.create("account", {"name": "Theirs"}, actor=acting_for("bob"))["id"]
    for source, target in ((mine, theirs), (theirs, mine)):
        with pytest.raises(PermissionDeniedError):
            crm.merges.merge("account", source, into=target, actor=ann)
    assert crm.records.get("account", mine, actor=SYSTEM)["name"] == "Mine"
    merged = crm.merges.merge("account", mine, into=also_mine, actor=ann)
    assert [m["id"] for m in crm.merges.list(actor=ann)] == [merged["id"]]
    assert crm.merges.list(actor=bob) == []  # reps see the merges they made
    with pytest.raises(NotFoundError):
        crm.merges.get(merged["id"], actor=bob)
    with pytest.raises(PermissionDeniedError):
        crm.merges.undo(merged["id"], actor=bob)
    crm.merges.undo(merged["id"], actor=crm.users.get("boss"))
    assert crm.records.get("account", mine, actor=SYSTEM)["name"] == "Mine"


def test_many_references_each_evented_and_audited(crm: CrmEngine) -> None:
    """Past COPY_EVENTS_FROM events the outbox takes them by COPY on PostgreSQL: every
    re-pointed record still has its event and audit row, in order."""
    source, target = _pair(crm)
    table = crm.model.table("contact")
    now = utcnow()
    count = COPY_EVENTS_FROM + 100
    with crm.db.write() as conn:
        conn.execute(
            table.insert(),
            [{"name": f"c{i}", "account": source, "created_at": now, "updated_at": now} for i in range(count)],
        )
    with crm.db.read() as conn:
        last = conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0
    merged = crm.merges.merge("account", source, into=target, actor=SYSTEM)
    assert merged["repointed"] == [{"entity": "contact", "field": "account", "count": count}]
    with crm.db.read() as conn:
        rows = conn.execute(
            sa.select(events.c.id, events.c.type, events.c.record_id, events.c.payload)
            .where(events.c.id > last, events.c.entity == "contact")
            .order_by(events.c.id)
        ).all()
        audited = conn.execute(
            sa.select(sa.func.count()).where(audit_log.c.entity == "contact", audit_log.c.field == "account")
        ).scalar()
    assert len(rows) == count and audited == count
    assert {r.type for r in rows} == {"record.updated"}
    assert rows[0].payload["changes"] == {"account": {"old": source, "new": target}}
    assert rows[0].payload["record"]["account"] == target and rows[0].payload["merge"] == merged["id"]
    crm.merges.undo(merged["id"], actor=SYSTEM)
    assert crm.records.list("contact", where={"account": source}, limit=0, actor=SYSTEM).total == count


def test_hidden_fields_are_merged_but_never_shown(crm: CrmEngine) -> None:
    """A field hidden from a user is merged by the same rules, and left out of what the
    merge shows them (the plan, the merge, the list)."""
    cleo = crm.users.get("cleo")
    target = make(crm, "account", name="A")
    source = make(crm, "account", name="B", phone="555")
    plan = crm.merges.plan("account", source, into=target, actor=cleo)
    assert "phone" not in [c.field for c in plan.shown_choices]
    merged = crm.merges.merge("account", source, into=target, actor=cleo)
    assert "phone" not in merged["taken"] and "phone" not in merged["source_row"]
    assert "phone" not in merged["record"]
    assert all("phone" not in m["taken"] for m in crm.merges.list(actor=cleo))
    assert crm.records.get("account", target, actor=SYSTEM)["phone"] == "555"  # merged all the same
    assert "phone" in crm.merges.get(merged["id"], actor=SYSTEM)["taken"]
