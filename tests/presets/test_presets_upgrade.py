"""An admin's own bundle extends a preset; when the preset changes (a new field, a new stage,
a new report), ``crm schema diff`` shows what the upgrade changes and ``crm schema apply``
applies it, keeping the admin's own fields, reports and records.

The preset's two versions are copies of ``standard_product`` in a directory of the test
(the admin's bundle extends the copy by path), so the shipped presets stay as they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.presets.presets_support import PRESETS_DIR, SCORER_SCHEMAS
from tests.support import SYSTEM, CliResult, acting_for

OWN_FIELD = {
    "survey_done": {"type": "boolean", "default": False, "label": {"en": "Site survey done", "zh": "已现场勘察"}}
}
OWN_REPORT = {
    "schema_version": 1, "kind": "report", "name": "surveyed_deals", "type": "aggregate", "entity": "opportunity",
    "label": {"en": "Surveyed opportunities", "zh": "已勘察商机"}, "by": ["survey_done"],
    "measures": [{"name": "deals", "op": "count"}],
}  # fmt: skip
NEW_REPORT = {
    "schema_version": 1, "kind": "report", "name": "contract_review_pass_rate", "type": "rate",
    "label": {"en": "Contract review pass rate", "zh": "合同评审通过率"},
    "workflow": "opportunity_pipeline", "base": ["contract_review"], "passed": ["won"],
}  # fmt: skip


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def upgrade(preset: Path) -> None:
    """Version 2 of the preset: a field, a stage between negotiation and won, a report."""

    def entity(document: dict[str, Any]) -> None:
        document["fields"]["source_channel"] = {"type": "string", "label": {"en": "Source channel", "zh": "来源渠道"}}
        choices = document["fields"]["stage"]["choices"]
        choices.insert(4, {"value": "contract_review", "label": {"en": "Contract review", "zh": "合同评审"}})

    def workflow(document: dict[str, Any]) -> None:
        document["states"]["contract_review"] = {}
        document["transitions"]["review_contract"] = {
            "from": ["negotiation"], "to": "contract_review", "roles": ["rep", "manager"],
            "label": {"en": "Review the contract", "zh": "合同评审"},
        }  # fmt: skip
        document["transitions"]["win"]["from"] = [*document["transitions"]["win"]["from"], "contract_review"]

    _edit(preset / "entities" / "opportunity.json", entity)
    _edit(preset / "workflows" / "opportunity_pipeline.json", workflow)
    (preset / "reports" / "contract_review_pass_rate.json").write_text(json.dumps(NEW_REPORT), encoding="utf-8")


def own_bundle(root: Path) -> Path:
    """The admin's bundle: extends the preset, adds a field and a report of its own."""
    bundle = root / "my_crm"
    bundle.mkdir()
    files = {
        "bundle.json": {"schema_version": 1, "kind": "bundle", "name": "my_crm",
                        "label": {"en": "Our CRM", "zh": "我们的CRM"}, "extends": ["../vendor/standard_product"]},
        "opportunity.json": {"schema_version": 1, "kind": "entity_overlay", "entity": "opportunity",
                             "add_fields": OWN_FIELD},
        "surveyed_deals.json": OWN_REPORT,
    }  # fmt: skip
    for name, document in files.items():
        (bundle / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return bundle


def test_a_preset_upgrade_is_shown_and_applied_keeping_the_admins_parts(
    tmp_path: Path, database_url: str, run_cli: Callable[..., CliResult]
) -> None:
    shutil.copytree(PRESETS_DIR / "standard_product", tmp_path / "vendor" / "standard_product")
    bundle = own_bundle(tmp_path)
    db = ("--database-url", database_url)
    assert run_cli(*db, "schema", "apply", bundle).exit_code == 0
    with CrmEngine(database_url) as engine:
        account = engine.records.create("account", {"name": "华东电力设计院"}, actor=acting_for("ada"))
        deal = engine.records.create(
            "opportunity",
            {"title": "调度系统升级", "account": account["id"], "survey_done": True},
            actor=acting_for("ada"),
        )

    upgrade(tmp_path / "vendor" / "standard_product")
    diff = run_cli(*db, "schema", "diff", bundle, "--json")
    assert diff.exit_code == 0, diff.stderr
    steps = [(s["kind"], s["detail"]) for s in diff.json()["steps"]]
    assert steps == [
        ("definition_only", "opportunity.stage: choices (+contract_review) changed"),
        ("add_field", "add field opportunity.source_channel (string)"),
        (
            "definition_only",
            "workflow opportunity_pipeline changes: states +contract_review; transitions +review_contract, ~win, ~lose",
        ),
        ("definition_only", "report contract_review_pass_rate added"),
    ]
    assert not diff.json()["destructive"]
    assert "+ add field opportunity.source_channel" in run_cli(*db, "schema", "diff", bundle).stdout

    applied = run_cli(*db, "schema", "apply", bundle)
    assert applied.exit_code == 0, applied.stderr
    assert run_cli(*db, "schema", "diff", bundle, "--json").json()["steps"] == []  # nothing left to apply
    with CrmEngine(database_url) as engine:
        definitions = engine.model.definitions
        assert definitions == load_definitions(bundle, scorer_schemas=SCORER_SCHEMAS)
        assert {"survey_done", "source_channel"} <= set(definitions.entities["opportunity"].fields)
        assert "contract_review" in definitions.workflows["opportunity_pipeline"].states
        assert {"surveyed_deals", "contract_review_pass_rate", "pipeline_funnel_by_rep"} <= set(definitions.reports)
        kept = engine.records.get("opportunity", deal["id"], actor=SYSTEM)
        assert (kept["survey_done"], kept["source_channel"]) == (True, None)
    report = run_cli(*db, "report", "surveyed_deals", "--json")
    assert report.json()["rows"] == [{"survey_done": True, "deals": 1}]


def before_the_score_pairs(preset: Path) -> None:
    """The preset as it was before each lead scoring wrote its own pair of fields:
    ``lead_score`` from lead_quality beside ``lead_grade`` from lead_priority."""

    def lead(document: dict[str, Any]) -> None:
        fields = document["fields"]
        for name in ("quality_grade", "priority_score"):
            del fields[name]
        fields["lead_score"] = {k: v for k, v in fields.pop("quality_score").items() if k != "renamed_from"}
        fields["lead_grade"] = {k: v for k, v in fields.pop("priority_grade").items() if k != "renamed_from"}
        document["indexes"] = [["status", "owner"], ["lead_grade"], ["mobile"]]

    def report(document: dict[str, Any]) -> None:
        document["measures"][2]["field"] = "lead_score"

    _edit(preset / "entities" / "lead.json", lead)
    _edit(preset / "scorings" / "lead_quality.json", lambda d: d.update(target={"value": "lead_score"}))
    _edit(preset / "scorings" / "lead_priority.json", lambda d: d.update(target={"grade": "lead_grade"}))
    _edit(preset / "reports" / "campaign_results.json", report)


def test_upgrading_keeps_the_lead_scores_under_their_new_names(
    tmp_path: Path, database_url: str, run_cli: Callable[..., CliResult]
) -> None:
    vendor = tmp_path / "vendor" / "standard_product"
    shutil.copytree(PRESETS_DIR / "standard_product", vendor)
    before_the_score_pairs(vendor)
    db = ("--database-url", database_url)
    assert run_cli(*db, "schema", "apply", vendor).exit_code == 0
    data = {"company": "华东电力设计院", "budget": "150000", "purchase_timeframe": "within_1_month"}
    assert run_cli(*db, "record", "create", "lead", "--data", json.dumps(data, ensure_ascii=False)).exit_code == 0
    assert run_cli(*db, "score", "run", "--entity", "lead").exit_code == 0
    old = run_cli(*db, "record", "get", "lead", "1", "--json").json()
    assert old["lead_score"] is not None and old["lead_grade"] is not None

    shutil.rmtree(vendor)
    shutil.copytree(PRESETS_DIR / "standard_product", vendor)
    applied = run_cli(*db, "schema", "apply", vendor)
    assert applied.exit_code == 0, applied.stderr
    new = run_cli(*db, "record", "get", "lead", "1", "--json").json()
    assert (new["quality_score"], new["priority_grade"]) == (old["lead_score"], old["lead_grade"])
    assert "lead_score" not in new and "lead_grade" not in new
