"""Reports see what the asking user may read: a rep their own pipeline, a manager the
team's, an administrator everything; a user from whom a field is hidden is refused."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.errors import PermissionDeniedError
from engine.metadata import load_definitions
from engine.presets import generate_demo
from engine.reports import run_report
from engine.runtime import CrmEngine
from engine.users import User
from tests.support import SYSTEM, acting_for, write_bundle

NOW = datetime(2025, 6, 30, tzinfo=UTC)
REPORT = "pipeline_funnel_by_rep"
AUDITOR = {
    "schema_version": 1,
    "kind": "role",
    "name": "auditor",
    "label": {"en": "Auditor", "zh": "审计"},
    "permissions": {"*": {"read": "all"}, "opportunity": {"fields": {"amount": "hidden"}}},
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    bundle = write_bundle(tmp_path, "company", {}, extends=["standard_product"], extra={"auditor.json": AUDITOR})
    engine.apply(load_definitions(bundle))
    generate_demo(engine, "standard_product", 300, now=NOW)
    return engine


def reached(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter({(r["owner"], r["state"]): r["reached"] for r in rows if r["reached"]})


def _rep_of_a_team_pipeline(crm: CrmEngine) -> User:
    """A rep with a pipeline whose teammate has one too: when the demo data gave no rep
    such a teammate, one opportunity of another team is handed to one, so that the
    manager's view below is a team's pipeline whatever the generator happened to assign."""
    pipeline = crm.records.list("opportunity", limit=1000, actor=SYSTEM).items
    owners = {o["owner"] for o in pipeline}
    reps = crm.users.list(role="rep")
    pairs = [(r, m) for r in reps if r.name in owners for m in reps if m.team == r.team and m.name != r.name]
    rep, mate = next(((r, m) for r, m in pairs if m.name in owners), pairs[0])
    if mate.name not in owners:
        team = {u.name for u in crm.users.list() if u.team == rep.team}
        other = next(o for o in pipeline if o["owner"] not in team)
        crm.records.update("opportunity", other["id"], {"owner": mate.name}, actor=acting_for("admin"))
    return rep


def test_a_report_counts_the_records_the_user_may_read(crm: CrmEngine) -> None:
    rep = _rep_of_a_team_pipeline(crm)
    everything = reached(run_report(crm, REPORT, now=NOW, actor=SYSTEM).rows)
    assert everything, "the demo data has a pipeline"
    own = reached(run_report(crm, REPORT, now=NOW, actor=rep).rows)
    assert own == Counter({k: v for k, v in everything.items() if k[0] == rep.name})

    manager = next(u for u in crm.users.list(role="manager") if u.team == rep.team)
    team = {u.name for u in crm.users.list() if u.team == rep.team}
    seen = reached(run_report(crm, REPORT, now=NOW, actor=manager).rows)
    assert seen == Counter({k: v for k, v in everything.items() if k[0] in team})
    assert len({owner for owner, _ in seen}) > 1, "the team's pipeline, not one person's"

    assert reached(run_report(crm, REPORT, now=NOW, actor=User("boss", roles=("admin",))).rows) == everything


def test_a_user_with_a_hidden_field_or_no_read_access_is_refused(crm: CrmEngine) -> None:
    crm.users.create("ida", roles=["auditor"])
    with pytest.raises(PermissionDeniedError) as refused:
        run_report(crm, REPORT, now=NOW, actor=crm.users.get("ida"))
    assert [p.field for p in refused.value.problems] == ["amount"]
    # a role no document defines can no longer be given once roles are defined (#10.12);
    # a holder left from before still reads nothing
    with pytest.raises(PermissionDeniedError):
        run_report(crm, REPORT, now=NOW, actor=User("nobody", roles=("unknown_role",)))


def test_crm_as_a_rep_reports_their_own_pipeline(crm: CrmEngine, run_cli: Any, database_url: str) -> None:
    rep = next(u for u in crm.users.list(role="rep") if run_report(crm, REPORT, now=NOW, actor=u).rows)
    result = run_cli("--database-url", database_url, "--as", rep.name, "report", REPORT, "--json")
    assert result.exit_code == 0, result.stderr
    assert {row["owner"] for row in result.json()["rows"]} == {rep.name}


VISIT = {
    "fields": {
        "account": {"type": "reference", "target": "account", "required": True},
        "minutes": {"type": "integer"},
    }
}
VISITS_PER_ACCOUNT = {
    "schema_version": 1,
    "kind": "report",
    "name": "visits_per_account",
    "type": "aggregate",
    "entity": "account",
    "related": {"entity": "visit", "field": "account"},
    "by": ["name"],
    "measures": [
        {"name": "visits", "op": "count", "of": "related"},
        {"name": "minutes", "op": "sum", "field": "minutes", "of": "related"},
    ],
}
FIELD_REP = {
    "schema_version": 1,
    "kind": "role",
    "name": "field_rep",
    "permissions": {"account": {"read": "all"}, "visit": {"create": True, "read": "own"}},
}
VISIT_AUDITOR = {
    "schema_version": 1,
    "kind": "role",
    "name": "visit_auditor",
    "permissions": {"*": {"read": "all"}, "visit": {"fields": {"minutes": "hidden"}}},
}


@pytest.fixture
def visits(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    extra = {"report.json": VISITS_PER_ACCOUNT, "field_rep.json": FIELD_REP, "visit_auditor.json": VISIT_AUDITOR}
    engine.apply(load_definitions(write_bundle(tmp_path, "field", {"visit": VISIT}, extends=["core"], extra=extra)))
    engine.users.create("sam", roles=["field_rep"])
    engine.users.create("rita", roles=["field_rep"])
    engine.users.create("ida", roles=["visit_auditor"])
    shop = engine.records.create("account", {"name": "Shop"}, actor=acting_for("admin"))["id"]
    depot = engine.records.create("account", {"name": "Depot"}, actor=acting_for("admin"))["id"]
    for owner, account, minutes in [("sam", shop, 10), ("sam", shop, 20), ("rita", shop, 5), ("rita", depot, 7)]:
        engine.records.create("visit", {"account": account, "minutes": minutes}, actor=acting_for(owner))
    return engine


def _visits(crm: CrmEngine, actor: Any) -> dict[str, tuple[int, int | None]]:
    rows = run_report(crm, "visits_per_account", actor=actor).rows
    return {r["name"]: (r["visits"], r["minutes"]) for r in rows}


def test_related_counts_cover_only_the_related_records_the_user_may_read(visits: CrmEngine) -> None:
    # by hand: Shop has sam's two visits (30 minutes) and rita's one (5); Depot rita's one (7)
    assert _visits(visits, SYSTEM) == {"Depot": (1, 7), "Shop": (3, 35)}
    assert _visits(visits, User("boss", roles=("admin",))) == {"Depot": (1, 7), "Shop": (3, 35)}
    # a rep reads every account but only their own visits: the other rep's are not counted
    assert _visits(visits, visits.users.get("sam")) == {"Depot": (0, 0), "Shop": (2, 30)}
    assert _visits(visits, visits.users.get("rita")) == {"Depot": (1, 7), "Shop": (1, 5)}


def test_a_hidden_field_of_the_related_entity_refuses_the_report(visits: CrmEngine) -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        run_report(visits, "visits_per_account", actor=visits.users.get("ida"))
    assert [p.field for p in refused.value.problems] == ["minutes"]
    assert "fields of visit are hidden" in str(refused.value)
