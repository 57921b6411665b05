"""``crm demo check``: every preset and industry variant's demo data keeps the invariants of
demo data (zero violations, on SQLite and PostgreSQL), each invariant catches a record that
breaks it, and the command exits 1 with the violations (as text or JSON) when one does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.presets import MODES, catalog, check_demo, generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.storage import workflow_history
from plugins.demo._check import RULES
from tests.demo.demo_support import NOW
from tests.support import CliResult

SIZE = 300


def _variants() -> list[tuple[str, str | None]]:
    presets = catalog()
    out: list[tuple[str, str | None]] = []
    for mode in sorted(MODES):
        out.append((mode, None))
        out.extend((mode, industry) for industry in presets[mode].industries)
    return out


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    yield engine
    engine.close()


def _demo(engine: CrmEngine, mode: str, industry: str | None = None, size: int = SIZE) -> None:
    load_preset(engine, mode, industry=industry)
    generate_demo(engine, mode if industry is None else f"{mode}_{industry}", size, now=NOW)
    engine.scoring.run(now=NOW)  # as `crm preset load --demo` does


def test_every_mode_and_industry_variant_is_covered() -> None:
    variants = _variants()
    assert len(variants) == 15
    assert {m for m, _ in variants} == {"complex_sale", "key_account", "membership", "promotion", "standard_product"}


@pytest.mark.parametrize(("mode", "industry"), _variants(), ids=lambda v: v or "base")
def test_demo_data_keeps_every_invariant(crm: CrmEngine, mode: str, industry: str | None) -> None:
    _demo(crm, mode, industry)
    found = check_demo(crm, now=NOW)
    assert found == [], json.dumps(found[:5], ensure_ascii=False, indent=1)


# -- each rule catches what breaks it ---------------------------------------------------------------
def _update(engine: CrmEngine, entity: str, record_id: int, **values: Any) -> None:
    table = engine.model.table(entity)
    with engine.db.write() as tx:
        tx.execute(table.update().where(table.c.id == record_id).values(**values))


def _first(engine: CrmEngine, entity: str, *where: Callable[[sa.Table], Any]) -> dict[str, Any]:
    table = engine.model.table(entity)
    query = sa.select(table).where(*(w(table) for w in where)).order_by(table.c.id).limit(1)
    with engine.db.read() as conn:
        row = conn.execute(query).mappings().first()
    assert row is not None, entity
    return dict(row)


def _plant_date_order(engine: CrmEngine) -> tuple[str, int]:
    visit = _first(engine, "activity", lambda t: t.c.check_in_at.is_not(None), lambda t: t.c.check_out_at.is_not(None))
    _update(engine, "activity", visit["id"], check_out_at=visit["check_in_at"] - timedelta(hours=2))
    return "activity", visit["id"]


def _plant_outcome_time(engine: CrmEngine) -> tuple[str, int]:
    task = _first(engine, "task", lambda t: t.c.status == "done")
    _update(engine, "task", task["id"], done_at=task["created_at"] - timedelta(days=3))
    return "task", task["id"]


def _plant_state_time(engine: CrmEngine) -> tuple[str, int]:
    task = _first(engine, "task", lambda t: t.c.status == "done")
    _update(engine, "task", task["id"], done_at=None)
    return "task", task["id"]


def _plant_time_without_state(engine: CrmEngine) -> tuple[str, int]:
    task = _first(engine, "task", lambda t: t.c.status == "open")
    _update(engine, "task", task["id"], done_at=task["created_at"] + timedelta(hours=1))
    return "task", task["id"]


def _plant_lost_received_money(engine: CrmEngine) -> tuple[str, int]:
    revenue = _first(engine, "project_revenue", lambda t: t.c.project.is_not(None))
    _update(engine, "project_revenue", revenue["id"], actual_amount=Decimal("1000.00"))
    _update(engine, "project", revenue["project"], stage="lost")
    return "project", revenue["project"]


def _plant_term_in_force(engine: CrmEngine) -> tuple[str, int]:
    agreement = _first(engine, "agreement", lambda t: t.c.status == "active")
    _update(engine, "agreement", agreement["id"], end_date=(NOW - timedelta(days=40)).date())
    return "agreement", agreement["id"]


def _plant_settled_in_full(engine: CrmEngine) -> tuple[str, int]:
    receivable = _first(engine, "receivable", lambda t: t.c.status == "collected")
    _update(engine, "receivable", receivable["id"], collected_amount=receivable["amount"] / 2)
    return "receivable", receivable["id"]


def _plant_part_of_whole(engine: CrmEngine) -> tuple[str, int]:
    receivable = _first(engine, "receivable", lambda t: t.c.status.in_(["open", "overdue", "disputed", "written_off"]))
    _update(engine, "receivable", receivable["id"], collected_amount=receivable["amount"] + 1)
    return "receivable", receivable["id"]


def _plant_ledger_sign(engine: CrmEngine) -> tuple[str, int]:
    entry = _first(engine, "points_entry", lambda t: t.c.entry_type == "redeem")
    _update(engine, "points_entry", entry["id"], points_change=entry["points"])
    return "points_entry", entry["id"]


def _plant_score_agrees(engine: CrmEngine) -> tuple[str, int]:
    account = _first(engine, "account", lambda t: t.c.tier.is_not(None), lambda t: t.c.tier != "S")
    _update(engine, "account", account["id"], tier="S")
    return "account", account["id"]


def _plant_derived_agrees(engine: CrmEngine) -> tuple[str, int]:
    order = _first(engine, "sales_order", lambda t: t.c.line_count > 0)
    _update(engine, "sales_order", order["id"], line_count=order["line_count"] + 5)
    return "sales_order", order["id"]


def _plant_time_in_state(engine: CrmEngine) -> tuple[str, int]:
    """An open deal whose whole history happened 500 days earlier: it sat in its stage since."""
    deal = _first(engine, "opportunity", lambda t: t.c.id > 0)
    if deal["stage"] in ("won", "lost"):  # reopened: it sits in its last open stage
        _update(engine, "opportunity", deal["id"], stage="needs_analysis", won_at=None, lost_reason=None)
    h = workflow_history
    with engine.db.write() as tx:
        mine = (h.c.entity == "opportunity") & (h.c.record_id == deal["id"])
        for row_id, at in tx.execute(sa.select(h.c.id, h.c.at).where(mine)).all():
            tx.execute(h.update().where(h.c.id == row_id).values(at=at - timedelta(days=500)))
    return "opportunity", deal["id"]


PLANTS: dict[str, tuple[str, Callable[[CrmEngine], tuple[str, int]]]] = {
    "date_order": ("promotion", _plant_date_order),
    "outcome_time": ("complex_sale", _plant_outcome_time),
    "state_time": ("complex_sale", _plant_state_time),
    "time_without_state": ("complex_sale", _plant_time_without_state),
    "lost_received_money": ("complex_sale", _plant_lost_received_money),
    "term_in_force": ("key_account", _plant_term_in_force),
    "settled_in_full": ("key_account", _plant_settled_in_full),
    "part_of_whole": ("key_account", _plant_part_of_whole),
    "ledger_sign": ("membership", _plant_ledger_sign),
    "score_agrees": ("key_account", _plant_score_agrees),
    "derived_agrees": ("standard_product", _plant_derived_agrees),
    "time_in_state": ("standard_product", _plant_time_in_state),
}


def test_every_rule_has_a_planted_violation() -> None:
    assert set(PLANTS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(PLANTS))
def test_each_rule_catches_a_planted_violation(crm: CrmEngine, rule: str) -> None:
    mode, plant = PLANTS[rule]
    _demo(crm, mode, size=200)
    entity, record_id = plant(crm)
    found = check_demo(crm, now=NOW)
    hits = [v for v in found if v["rule"] == rule and v["entity"] == entity and v["record_id"] == record_id]
    assert hits, found
    assert hits[0]["message"] and hits[0]["fields"]


# -- the command ------------------------------------------------------------------------------------
def test_the_command_exits_0_on_clean_data_and_1_with_the_violations(
    sqlite_url: str, run_cli: Callable[..., CliResult]
) -> None:
    loaded = run_cli("--database-url", sqlite_url, "preset", "load", "key_account", "--demo", "200")
    assert loaded.exit_code == 0, loaded.stderr
    clean = run_cli("--database-url", sqlite_url, "demo", "check")
    assert (clean.exit_code, clean.stdout.strip()) == (0, "no violations"), clean.stdout
    data = json.loads(run_cli("--database-url", sqlite_url, "demo", "check", "--json").stdout)
    assert data == {"violations": [], "count": 0, "by_rule": {}}

    with CrmEngine(sqlite_url) as crm:
        entity, record_id = _plant_part_of_whole(crm)
    text = run_cli("--database-url", sqlite_url, "demo", "check")
    assert text.exit_code == 1
    assert f"part_of_whole  receivable {record_id}: collected_amount is not within 0…amount" in text.stdout
    assert text.stdout.strip().endswith("1 violation(s): part_of_whole 1")
    as_json = run_cli("--database-url", sqlite_url, "demo", "check", "--json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["count"] == 1 and data["by_rule"] == {"part_of_whole": 1}
    (violation,) = data["violations"]
    assert violation["rule"] == "part_of_whole" and violation["entity"] == entity
    assert violation["record_id"] == record_id
    assert set(violation["fields"]) == {"collected_amount", "amount"}
    assert violation["message"]


def test_the_command_is_for_administrators(sqlite_url: str, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("--database-url", sqlite_url, "preset", "load", "key_account", "--demo", "100").exit_code == 0
    with CrmEngine(sqlite_url) as crm:
        rep = next(u.name for u in crm.users.list() if "rep" in u.roles)
    refused = run_cli("--database-url", sqlite_url, "--as", rep, "demo", "check")
    assert refused.exit_code != 0 and "Traceback" not in refused.stderr
