"""The scorings each mode ships run on its entities and rank records the way the business
expects (hot leads above cold ones, strategic accounts in tier S, lapsed members at risk)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.runtime import CrmEngine
from tests.presets.presets_support import New, PresetEngines, RecordMaker, load_preset, mode_of
from tests.support import SYSTEM


def run_all(engine: CrmEngine, entity: str) -> None:
    runs = engine.scoring.run(entity=entity)
    assert runs and [r.error for r in runs] == [None] * len(runs)


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def test_hot_leads_score_above_cold_ones(preset_engines: PresetEngines) -> None:
    engine = preset_engines("standard_product", "sqlite")
    maker = RecordMaker(engine)
    hot = maker.make(
        "lead",
        {
            "budget": "150000",
            "purchase_timeframe": "within_1_month",
            "is_decision_maker": True,
            "need": "全省网点更换定位终端",
            "employees": 800,
            "source": "referral",
            "mobile": "13800138000",
        },
    )
    cold = maker.make("lead", {"purchase_timeframe": "later", "source": "website"})
    maker.make("activity", {"subject": "电话沟通需求", "lead": hot["id"], "done_at": f"{days_ago(1)}T10:00:00+08:00"})
    run_all(engine, "lead")
    hot, cold = (
        engine.records.get("lead", hot["id"], actor=SYSTEM),
        engine.records.get("lead", cold["id"], actor=SYSTEM),
    )
    # each scoring writes its own pair of fields: lead_quality → quality_*, lead_priority → priority_*
    assert (hot["quality_score"], hot["quality_grade"]) == (100, "A")
    assert (cold["quality_score"], cold["quality_grade"]) == (0, "D")
    assert hot["priority_grade"][0] == "A" and cold["priority_grade"][0] == "D"
    assert int(hot["priority_grade"][1]) < int(cold["priority_grade"][1])  # the hot lead is warmer too
    assert hot["priority_score"] > cold["priority_score"]


@pytest.mark.parametrize("preset", ["promotion", "promotion_pharma", "promotion_fmcg"])
def test_terminal_potential(preset: str, preset_engines: PresetEngines) -> None:
    engine = preset_engines(preset, "sqlite")
    maker = RecordMaker(engine)
    # what an industry adds to the rules (list operations of its scoring overlay)
    industry = {"promotion_pharma": {"hospital_level": "grade_3a"}, "promotion_fmcg": {"daily_traffic": 3000}}
    key = maker.make(
        "account",
        {
            "name": "市第一人民医院",
            "terminal_grade": "a",
            "purchase_potential": "1500000",
            "size": "large",
            "development_status": "listed",
            "supplying_distributor": New("account", {"account_type": "distributor"}),
            **industry.get(preset, {}),
        },
    )
    small = maker.make("account", {"name": "社区便民店", "terminal_grade": "d", "development_status": "developing"})
    run_all(engine, "account")
    assert [engine.records.get("account", a["id"], actor=SYSTEM)["potential_grade"] for a in (key, small)] == ["A", "D"]
    assert engine.records.get("account", key["id"], actor=SYSTEM)["potential_score"] == 100


def purchase(
    maker: RecordMaker, member: dict[str, Any], invoice: str, days: int, amount: str, kind: str = "sale"
) -> None:
    maker.make(
        "purchase",
        {
            "member": member["id"],
            "invoice_number": invoice,
            "purchase_date": days_ago(days),
            "amount": amount,
            "purchase_type": kind,
        },
    )


@pytest.mark.parametrize("preset", ["membership", "membership_retail_chain", "membership_fitness"])
def test_rfm_and_churn_risk(preset: str, preset_engines: PresetEngines) -> None:
    engine = preset_engines(preset, "sqlite")
    maker = RecordMaker(engine)
    loyal = maker.make("member", {"name": "李女士", "marketing_consent": True})
    lapsed = maker.make("member", {"name": "张先生"})
    for i, days in enumerate((2, 9, 16)):
        for _line in range(2):  # two lines on each receipt: three visits, not six
            purchase(maker, loyal, f"R-{loyal['id']}-{i}", days, "1200")
    purchase(maker, loyal, f"R-{loyal['id']}-9", 5, "-500", kind="refund")
    purchase(maker, lapsed, f"R-{lapsed['id']}-1", 200, "300")
    run_all(engine, "member")
    loyal, lapsed = (
        engine.records.get("member", loyal["id"], actor=SYSTEM),
        engine.records.get("member", lapsed["id"], actor=SYSTEM),
    )
    # the spend and the last purchase the churn rules read are the purchases' (refunds count against)
    assert (loyal["annual_spend"], str(loyal["last_purchase_date"])) == (Decimal("6700.00"), days_ago(2))
    assert (lapsed["annual_spend"], str(lapsed["last_purchase_date"])) == (Decimal("300.00"), days_ago(200))
    assert loyal["rfm_score"] > lapsed["rfm_score"]
    (rfm,) = [s for s in engine.scoring.show("member", loyal["id"], actor=SYSTEM) if s.scoring == "member_rfm"]
    assert (rfm.extra["frequency"], rfm.extra["monetary"]) == (3, 7200.0)
    assert (loyal["churn_risk"], lapsed["churn_risk"]) == ("low", "high")


def test_key_accounts_are_ranked_tiered_and_watched(preset_engines: PresetEngines) -> None:
    engine = preset_engines("key_account", "sqlite")
    maker = RecordMaker(engine)
    strategic = maker.make(
        "account",
        {
            "name": "省电网公司",
            "is_key_account": True,
            "industry_position": "leader",
            "growth_potential": "high",
            "annual_sales": "18000000",
            "annual_profit": "5000000",
            "share_of_wallet": "60",
            "satisfaction": 9,
            "consumption_trend": "growing",
            "competitor_presence": "none",
        },
    )
    shaky = maker.make(
        "account",
        {
            "name": "某城商行",
            "is_key_account": True,
            "industry_position": "small_player",
            "growth_potential": "low",
            "annual_sales": "100000",
            "annual_profit": "10000",
            "share_of_wallet": "10",
            "satisfaction": 5,
            "consumption_trend": "declining",
            "competitor_presence": "strong",
        },
    )
    ordinary = maker.make("account", {"name": "普通客户"})
    # per-capita figures come from the sales and the people serving the account (not those who left)
    for account, member, until in ((strategic, "mia", None), (strategic, "rita", None), (shaky, "rita", None),
                                   (shaky, "sam", "2024-03-01")):  # fmt: skip
        values = {"account": account["id"], "member": member, "team_role": "account_manager", "until": until}
        maker.make("account_team_member", values)
    strategic, shaky = (engine.records.get("account", a["id"], actor=SYSTEM) for a in (strategic, shaky))
    assert (strategic["serving_headcount"], strategic["per_capita_sales"]) == (2, Decimal("9000000.00"))
    assert (shaky["serving_headcount"], shaky["per_capita_profit"]) == (1, Decimal("10000.00"))
    for account, amount in ((strategic, "3000000"), (shaky, "200000")):
        maker.make("consumption", {"account": account["id"], "period": "2024-04", "amount": amount})
    maker.make("receivable", {"account": shaky["id"], "due_date": "2024-01-31", "amount": "80000"})
    run_all(engine, "account")
    strategic, shaky, ordinary = (
        engine.records.get("account", a["id"], actor=SYSTEM) for a in (strategic, shaky, ordinary)
    )
    assert (strategic["value_rank_band"], strategic["tier"], strategic["retention_risk"]) == ("top_10", "S", "low")
    assert strategic["value_score"] > shaky["value_score"]
    assert (shaky["tier"], shaky["retention_risk"]) == ("C", "high")
    assert ordinary["value_score"] is None  # only key accounts are ranked


@pytest.mark.parametrize(
    ("preset", "scoring", "path", "expected"),
    [
        ("standard_product_car_dealer", "lead_quality", "rules",
         {"removed": {"company_100"}, "added": {"model_chosen", "trade_in", "financing"}}),
        ("promotion_pharma", "terminal_potential", "rules", {"added": {"tertiary_hospital", "busy_outpatients"}}),
        ("promotion_fmcg", "terminal_potential", "rules", {"added": {"high_traffic"}}),
        ("complex_sale_engineering_equipment", "project_evaluation", "decision_tree/key_roles",
         {"removed": {"coach"}, "added": {"design_institute"}}),
        ("membership_fitness", "churn_risk", "rules", {"added": {"contract_ending"}}),
        ("key_account_banking", "customer_tier", "criteria", {"added": {"average_deposits"}}),
    ],
)  # fmt: skip
def test_industries_change_the_modes_scorings_item_by_item(
    preset: str, scoring: str, path: str, expected: dict[str, set[str]]
) -> None:
    def names(definitions_name: str) -> list[str]:
        node: Any = load_preset(definitions_name).scorings[scoring].config
        for key in path.split("/"):
            node = node[key]
        return [item if isinstance(item, str) else item["name"] for item in node]

    mode, industry = names(mode_of(preset) or ""), names(preset)
    assert set(mode) - set(industry) == expected.get("removed", set())
    assert set(industry) - set(mode) == expected["added"]
    kept = [n for n in mode if n in industry]
    assert industry[: len(kept)] == kept  # the mode's items keep their order; the industry's come last
