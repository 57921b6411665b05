"""The org chart of a project's stakeholders (SQLite and PostgreSQL): found from the
definitions (a child entity that reports to itself), drawn as the tree of ``reports_to``
with each person's role, influence, attitude and relationship; a person the user may not
read is left out and those under them become roots; a cycle in the data still draws."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.web import create_app
from engine.workspace import Node, hierarchies_of, org_charts
from tests.support import SYSTEM, acting_for
from tests.web.test_web_admin_ui import PASSWORD, sign_in


@pytest.fixture
def complex_sale(engine: CrmEngine) -> CrmEngine:
    load_preset(engine, "complex_sale")
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"]), ("sam", ["rep"])):
        engine.users.create(name, roles=roles, team="east")
        engine.users.set_password(name, PASSWORD)
    return engine


def _person(engine: CrmEngine, owner: str, project: int, name: str, **values: Any) -> int:
    contact = engine.records.create("contact", {"name": name}, actor=acting_for(owner))["id"]
    fields = {"project": project, "contact": contact, "decision_role": "user", **values}
    return int(engine.records.create("stakeholder", fields, actor=acting_for(owner))["id"])


def _tree(nodes: tuple[Node, ...] | list[Node]) -> list[Any]:
    return [(n.text, _tree(n.children)) if n.children else n.text for n in nodes]


@pytest.fixture
def project(complex_sale: CrmEngine) -> dict[str, int]:
    engine = complex_sale
    account = engine.records.create("account", {"name": "西安市第一人民医院"}, actor=acting_for("rita"))["id"]
    project = engine.records.create("project", {"name": "影像中心扩建", "account": account}, actor=acting_for("rita"))
    p = project["id"]
    ids = {"project": p}
    ids["director"] = _person(
        engine, "rita", p, "王院长", decision_role="decision_maker", influence="high", attitude="supporter"
    )
    ids["chief"] = _person(
        engine, "rita", p, "李主任", decision_role="technical_evaluator", attitude="neutral", reports_to=ids["director"]
    )
    ids["engineer"] = _person(engine, "rita", p, "赵工", attitude="opponent", reports_to=ids["chief"])
    ids["buyer"] = _person(engine, "rita", p, "陈科长", decision_role="business_evaluator", reports_to=ids["director"])
    return ids


def test_the_definitions_name_the_hierarchy(complex_sale: CrmEngine) -> None:
    (found,) = hierarchies_of(complex_sale, "project")
    assert (found.entity.name, found.parent.name, found.up.name) == ("stakeholder", "project", "reports_to")
    assert hierarchies_of(complex_sale, "account") == []  # stakeholders belong to projects only


def test_stakeholders_draw_as_the_tree_of_whom_they_report_to(complex_sale: CrmEngine, project: dict[str, int]) -> None:
    (chart,) = org_charts(complex_sale, "project", project["project"], complex_sale.users.get("rita"), "zh")
    assert chart.count == 4 and not chart.cut
    assert _tree(chart.roots) == [("王院长", [("李主任", ["赵工"]), "陈科长"])]
    director = chart.roots[0]
    assert [(b.field, b.label) for b in director.badges] == [
        ("decision_role", "拍板人"),
        ("influence", "高"),
        ("attitude", "支持"),
        ("relationship_level", "未接触"),
    ]


def test_a_person_the_user_may_not_read_is_left_out(complex_sale: CrmEngine, project: dict[str, int]) -> None:
    # sam, another rep, adds himself under the technical chief: rita may not read his record,
    # and what sam reads of rita's project tree is nothing (he may not read her stakeholders)
    _person(complex_sale, "sam", project["project"], "孙工", reports_to=project["chief"])
    (rita,) = org_charts(complex_sale, "project", project["project"], complex_sale.users.get("rita"), "en")
    assert "孙工" not in str(_tree(rita.roots)) and rita.count == 4
    (sam,) = org_charts(complex_sale, "project", project["project"], complex_sale.users.get("sam"), "en")
    assert _tree(sam.roots) == ["孙工"] and sam.count == 1  # his superior unreadable: he is a root
    (admin,) = org_charts(complex_sale, "project", project["project"], complex_sale.users.get("ada"), "en")
    assert _tree(admin.roots) == [("王院长", [("李主任", ["赵工", "孙工"]), "陈科长"])]


def test_a_cycle_in_the_data_still_draws_every_person_once(complex_sale: CrmEngine, project: dict[str, int]) -> None:
    complex_sale.records.update("stakeholder", project["director"], {"reports_to": project["engineer"]}, actor=SYSTEM)
    (chart,) = org_charts(complex_sale, "project", project["project"], complex_sale.users.get("ada"), "en")
    drawn = re.findall(r"[\u4e00-\u9fff]+", str(_tree(chart.roots)))
    assert sorted(drawn) == sorted(["王院长", "李主任", "赵工", "陈科长"])
    assert _tree(chart.roots) == [("王院长", [("李主任", ["赵工"]), "陈科长"])]  # cut at the smallest id


def test_the_project_page_shows_the_chart(complex_sale: CrmEngine, project: dict[str, int]) -> None:
    ui: FlaskClient = create_app({"CRM_ENGINE": complex_sale, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(ui, "rita")
    page = ui.get(f"/admin/records/project/details/?id={project['project']}").get_data(as_text=True)
    section = page[page.index('id="org-chart"') : page.index('id="timeline"')]
    assert 'data-count="4"' in section
    assert section.index("王院长") < section.index("李主任") < section.index("赵工")
    assert f'data-node="{project["engineer"]}"' in section and 'data-value="opponent"' in section
    account_page = ui.get("/admin/records/account/").get_data(as_text=True)
    assert 'id="org-chart"' not in account_page
