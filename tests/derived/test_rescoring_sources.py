"""A scoring that reads related records (a project's stakeholders) reruns when they change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.presets import load_preset
from engine.runtime import CrmEngine
from tests.support import SYSTEM


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    with CrmEngine(database_url) as engine:
        load_preset(engine, "complex_sale")
        yield engine


def evaluation(crm: CrmEngine, project_id: int) -> float:
    (view,) = [v for v in crm.scoring.show("project", project_id, actor=SYSTEM) if v.scoring == "project_evaluation"]
    assert view.value is not None
    return float(view.value)


def test_adding_moving_and_removing_stakeholders_rescores_their_projects(crm: CrmEngine) -> None:
    account = crm.records.create("account", {"name": "国家电网江苏省电力公司"}, actor=SYSTEM)
    first = crm.records.create("project", {"name": "配网自动化二期", "account": account["id"]}, actor=SYSTEM)
    second = crm.records.create("project", {"name": "变电站巡检机器人", "account": account["id"]}, actor=SYSTEM)
    before = evaluation(crm, first["id"])
    person = crm.records.create("contact", {"name": "王建国", "account": account["id"]}, actor=SYSTEM)

    added = crm.records.create(
        "stakeholder",
        {
            "project": first["id"],
            "contact": person["id"],
            "decision_role": "decision_maker",
            "relationship_level": "advocate",
        },
        actor=SYSTEM,
    )
    raised = evaluation(crm, first["id"])
    assert raised > before  # a key role identified, and a strong relationship

    crm.records.update("stakeholder", added["id"], {"project": second["id"]}, actor=SYSTEM)  # both projects move
    assert evaluation(crm, first["id"]) == before
    assert evaluation(crm, second["id"]) == raised

    crm.records.delete("stakeholder", added["id"], actor=SYSTEM)
    assert evaluation(crm, second["id"]) == before
