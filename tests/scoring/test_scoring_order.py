"""A scoring run scores a scoring after the scorings whose results it reads, so one run leaves
every score computed from fresh results (churn risk reads the RFM segment)."""

from __future__ import annotations

from engine.metadata import Label, ScoringDef
from engine.scoring._order import after_what_they_read


def _scoring(name: str, reads: str | None, writes: str, entity: str = "member") -> ScoringDef:
    rules = [{"name": "r", "points": 1, "when": {"==": [{"var": f"record.{reads}"}, "x"]}}] if reads else []
    return ScoringDef(
        name=name,
        entity=entity,
        scorer="weighted_rules",
        label=Label(en=name),
        config={"rules": rules},
        target_value=f"{writes}_score",
        target_grade=writes,
    )


def test_a_scoring_runs_after_the_one_whose_result_it_reads() -> None:
    churn = _scoring("churn_risk", "rfm_segment", "churn_risk")
    rfm = _scoring("member_rfm", None, "rfm_segment")
    other = _scoring("another", None, "another")
    assert [d.name for d in after_what_they_read([other, churn, rfm])] == ["another", "member_rfm", "churn_risk"]


def test_independent_scorings_keep_name_order_and_a_cycle_does_not_hang() -> None:
    a, b = _scoring("a", None, "x"), _scoring("b", None, "y")
    assert after_what_they_read([a, b]) == [a, b]
    c, d = _scoring("c", "w", "v"), _scoring("d", "v", "w")
    assert sorted(s.name for s in after_what_they_read([c, d])) == ["c", "d"]


def test_a_field_of_another_entity_is_no_dependency() -> None:
    churn = _scoring("churn_risk", "rfm_segment", "churn_risk")
    rfm = _scoring("account_rfm", None, "rfm_segment", entity="account")
    assert [d.name for d in after_what_they_read([churn, rfm])] == ["churn_risk", "account_rfm"]
