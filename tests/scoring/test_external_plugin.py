"""A third-party scorer package: built, installed, discovered through ``crm.plugins``,
configured in a bundle and scoring through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, CliResult, write_bundle

pytestmark = pytest.mark.slow
PACKAGE = REPO_ROOT / "examples" / "crm-scorer-example"


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("plugin")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(PACKAGE),
            "-w",
            str(work / "dist"),
        ],
        check=True,
    )
    (wheel,) = (work / "dist").glob("crm_scorer_example-*.whl")
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    return target


@pytest.fixture
def with_plugin(installed_package: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(installed_package))
    for name in [m for m in sys.modules if m.startswith("crm_scorer_example")]:
        monkeypatch.delitem(sys.modules, name)
    return installed_package


def test_the_plugin_is_discovered_with_its_distribution(with_plugin: Path, run_cli: Callable[..., CliResult]) -> None:
    listing = run_cli("plugins", "list", "--json").json()
    (urgency,) = [p for p in listing["plugins"] if p["plugin"] == "urgency"]
    assert urgency["distribution"] == "crm-scorer-example 1.0.0"
    assert [s["name"] for s in urgency["scorers"]] == ["request_urgency"]
    assert listing["failures"] == []


def test_the_plugin_is_configured_and_scores(
    with_plugin: Path, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'crm.db'}")
    entities = {
        "service_request": {
            "fields": {
                "subject": {"type": "string", "required": True},
                "opened_at": {"type": "datetime"},
                "customer_tier": {"type": "enum", "choices": ["S", "A", "B"]},
                "urgency": {"type": "decimal", "precision": 6, "scale": 2},
            }
        }
    }
    scoring = {
        "schema_version": 1,
        "kind": "scoring",
        "name": "urgency",
        "entity": "service_request",
        "scorer": "request_urgency",
        "config": {
            "opened_field": "opened_at",
            "tier_field": "customer_tier",
            "tier_weights": {"S": 1.5},
            "hours_to_max": 48,
            "grades": [{"grade": "urgent", "min": 70}, {"grade": "normal", "min": 0}],
        },
        "target": {"value": "urgency"},
        "triggers": ["batch"],
    }
    bad = {**scoring, "config": {**scoring["config"], "hours_to_max": -1}}
    broken = write_bundle(tmp_path / "broken", "support", entities, extra={"urgency.json": bad})
    refused = run_cli("schema", "validate", broken, "--json")
    assert refused.exit_code == 2
    assert [p["pointer"] for p in refused.json()] == ["/config/hours_to_max"]
    bundle = write_bundle(tmp_path, "support", entities, extra={"urgency.json": scoring})
    assert run_cli("schema", "apply", bundle).exit_code == 0
    now = datetime.now(UTC)
    for subject, hours, tier in (("Router down", 36, "S"), ("Invoice copy", 12, "B")):
        data = {"subject": subject, "opened_at": (now - timedelta(hours=hours)).isoformat(), "customer_tier": tier}
        assert run_cli("record", "create", "service_request", "--data", json.dumps(data)).exit_code == 0
    ran = run_cli("score", "run", "--scoring", "urgency", "--json")
    assert ran.exit_code == 0 and ran.json()[0]["scored"] == 2
    first = run_cli("score", "show", "service_request", "1", "--json").json()[0]
    # 36 h of 48 h = 75 points, × 1.5 for tier S = 112.5, capped at 100
    assert (first["value"], first["grade"]) == (100.0, "urgent")
    assert [f["name"] for f in first["factors"]] == ["waiting", "tier"]
    second = run_cli("score", "show", "service_request", "2", "--json").json()[0]
    assert second["value"] == pytest.approx(25.0, abs=0.1) and second["grade"] == "normal"  # 12 / 48
    record = run_cli("record", "get", "service_request", "2", "--json").json()
    assert float(record["urgency"]) == pytest.approx(25.0, abs=0.1)
