"""The scoring service on SQLite and PostgreSQL: runs, stored results, history, overrides,
triggers, training and a broken scorer, with scorers registered by a test plugin."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.hooks import hookimpl, make_plugins
from engine.metadata import Label, load_definitions
from engine.runtime import CrmEngine
from engine.scoring import Factor, Scorer, ScoreResult, ScoringContext, TrainReport
from tests.support import SYSTEM, acting_for, write_bundle


def size_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    """10 points per employee hundred, capped at 100; grade A from 50."""
    per = float(context.spec.config.get("per_hundred", 10))
    out = []
    for r in records:
        value = min((r.get("employees") or 0) / 100 * per, 100.0)
        factors = (Factor("employees", value, Label("Employees", "员工数"), str(r.get("employees"))),)
        out.append(ScoreResult(r["id"], value, "A" if value >= 50 else "B", factors))
    return out


def learned_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    offset = context.trained or {}
    return [ScoreResult(r["id"], float(offset.get("offset", 0))) for r in records]


def train(context: ScoringContext) -> TrainReport:
    table = context.table("account")
    import sqlalchemy as sa

    count = context.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    return TrainReport(model={"offset": count}, metrics={"records": count})


def broken_batch(context: ScoringContext, records: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
    raise RuntimeError("model file missing")


SCHEMA = {"type": "object", "properties": {"per_hundred": {"type": "number"}}, "additionalProperties": False}


class TestScorers:
    @hookimpl
    def crm_register_scorers(self) -> list[Scorer]:
        return [
            Scorer("size", Label("Size", "规模"), SCHEMA, size_batch, entities=("account",)),
            Scorer("learned", Label("Learned", "学习"), {"type": "object"}, learned_batch, train=train),
            Scorer("broken", Label("Broken", "坏"), {"type": "object"}, broken_batch),
        ]


def scoring(name: str, scorer: str, **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "scoring", "name": name, "entity": "account", "scorer": scorer, **extra}


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url, plugins=make_plugins(entry_points=False, extra=(TestScorers(),)))
    entities = {
        "account": {
            "fields": {
                "name": {"type": "string", "required": True},
                "employees": {"type": "integer"},
                "stage": {"type": "enum", "choices": ["new", "active"]},
                "size_score": {"type": "integer"},
                "size_grade": {"type": "string", "max_length": 4},
            }
        }
    }
    workflow = {
        "schema_version": 1,
        "kind": "workflow",
        "name": "account_flow",
        "entity": "account",
        "field": "stage",
        "states": {"new": {"initial": True}, "active": {}},
        "transitions": {"activate": {"from": ["new"], "to": "active"}},
    }
    bundle = write_bundle(
        tmp_path,
        "crm",
        entities,
        extra={
            "size.json": scoring(
                "size",
                "size",
                config={"per_hundred": 10},
                target={"value": "size_score", "grade": "size_grade"},
                triggers=["save", "transition"],
            ),
            "learned.json": scoring("learned", "learned"),
            "broken.json": scoring("broken", "broken"),
            "flow.json": workflow,
        },
    )
    engine.apply(load_definitions(bundle, scorer_schemas=engine.scoring.registry.config_schemas()))
    for name, employees in (("Acme", 300), ("Globex", 800), ("Initech", None)):
        engine.records.create("account", {"name": name, "employees": employees}, actor=SYSTEM)
    yield engine
    engine.close()


def test_run_stores_scores_targets_and_history(crm: CrmEngine) -> None:
    (run,) = crm.scoring.run(scoring="size")
    assert (run.scored, run.changed, run.error) == (3, 0, None), "save triggers already scored them"
    view = {v.scoring: v for v in crm.scoring.show("account", 2, actor=SYSTEM)}["size"]
    assert (view.value, view.grade) == (80.0, "A")
    assert view.factors[0]["name"] == "employees" and view.factors[0]["label"] == {"en": "Employees", "zh": "员工数"}
    record = crm.records.get("account", 2, actor=SYSTEM)
    assert (record["size_score"], record["size_grade"]) == (80, "A")
    assert [h["kind"] for h in crm.scoring.history("account", 2, scoring="size", actor=SYSTEM)] == ["computed"]


def test_rerun_is_safe_and_writes_history_only_on_change(crm: CrmEngine) -> None:
    crm.scoring.run(scoring="size")
    (again,) = crm.scoring.run(scoring="size")
    assert again.changed == 0
    crm.records.update("account", 1, {"employees": 700}, actor=SYSTEM)  # save trigger rescores
    assert {v.scoring: v for v in crm.scoring.show("account", 1, actor=SYSTEM)}["size"].value == 70.0
    assert [h["value"] for h in crm.scoring.history("account", 1, scoring="size", actor=SYSTEM)] == [30.0, 70.0]


def test_override_survives_recomputation_until_cleared(crm: CrmEngine) -> None:
    crm.scoring.override(
        "account", 1, "size", value=95, grade="S", reason="strategic customer", actor=acting_for("maria")
    )
    crm.scoring.run(scoring="size")
    view = {v.scoring: v for v in crm.scoring.show("account", 1, actor=SYSTEM)}["size"].to_json()
    assert (view["value"], view["grade"], view["computed"]["value"]) == (95, "S", 30.0)
    assert view["override"]["reason"] == "strategic customer" and view["override"]["by"] == "maria"
    assert crm.records.get("account", 1, actor=SYSTEM)["size_score"] == 95
    crm.scoring.clear_override("account", 1, "size", actor=acting_for("maria"))
    view = {v.scoring: v for v in crm.scoring.show("account", 1, actor=SYSTEM)}["size"].to_json()
    assert (view["value"], view["override"]) == (30.0, None)
    assert crm.records.get("account", 1, actor=SYSTEM)["size_score"] == 30
    kinds = [h["kind"] for h in crm.scoring.history("account", 1, scoring="size", actor=SYSTEM)]
    assert kinds == ["computed", "override", "cleared"]
    with pytest.raises(UsageError):
        crm.scoring.override("account", 1, "size", value=1, reason=" ", actor=acting_for("maria"))


def test_transition_trigger_rescores(crm: CrmEngine) -> None:
    with crm.db.write() as conn:  # change data behind the service's back
        import sqlalchemy as sa

        conn.execute(sa.text("UPDATE account SET employees = 1000 WHERE id = 3"))
    crm.workflows.run("account", 3, "activate", user=crm.users.get("system"))
    assert {v.scoring: v for v in crm.scoring.show("account", 3, actor=SYSTEM)}["size"].value == 100.0


def test_a_broken_scorer_is_reported_and_the_others_run(crm: CrmEngine) -> None:
    runs = {r.scoring: r for r in crm.scoring.run()}
    assert runs["broken"].error is not None and "model file missing" in runs["broken"].error
    assert "TestScorers" in runs["broken"].error or "plugin" in runs["broken"].error
    assert runs["size"].error is None and runs["size"].scored == 3
    assert runs["learned"].error is None


def test_training_stores_a_model_used_when_scoring(crm: CrmEngine) -> None:
    result = crm.scoring.train("learned")
    assert result["metrics"] == {"records": 3}
    crm.scoring.run(scoring="learned")
    assert {v.scoring: v for v in crm.scoring.show("account", 1, actor=SYSTEM)}["learned"].value == 3.0
    with pytest.raises(UsageError):
        crm.scoring.train("size")


def test_rescoring_after_a_save_is_the_engines_and_a_scoring_that_cannot_run_is_logged(
    crm: CrmEngine, caplog: pytest.LogCaptureFixture
) -> None:
    without = CrmEngine(crm.db.url, plugins=make_plugins(entry_points=False))  # the scorers' plugin is gone
    try:
        with caplog.at_level(logging.ERROR, logger="crm.scoring"):
            updated = without.records.update("account", 1, {"employees": 900}, actor=SYSTEM)
        assert updated["employees"] == 900, "the save stands"
        assert 'rescoring size of account [1] failed: no scorer is called "size"' in caplog.text
        (run,) = without.scoring.on_event("account", 1, "save")
        assert run.scoring == "size" and run.error is not None and "no scorer" in run.error
    finally:
        without.close()
    crm.records.update("account", 1, {"employees": 600}, actor=SYSTEM)
    assert {v.scoring: v for v in crm.scoring.show("account", 1, actor=SYSTEM)}["size"].value == 60.0
