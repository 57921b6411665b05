"""Broken plugins installed as packages: each is reported with its name, and the rest of the
engine — other plugins, the CLI, scoring — goes on working."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import CliResult

GOOD = """
from engine.hooks import hookimpl
from engine.metadata import Label
from engine.scoring import ScoreResult, Scorer

def _batch(context, records):
    return [ScoreResult(r["id"], 1.0) for r in records]

@hookimpl
def crm_register_scorers():
    return [Scorer("constant_one", Label("One", "一"), {"type": "object"}, _batch)]
"""
MISSPELLED = """
from engine.hooks import hookimpl

@hookimpl
def crm_register_scorer():
    return []
"""
BAD_SIGNATURE = """
from engine.hooks import hookimpl

@hookimpl
def crm_register_scorers(colour):
    return []
"""


def install(site: Path, distribution: str, entry: str, module: str, source: str | None) -> None:
    """Install a plugin the way pip leaves it: a module and a dist-info with its entry point."""
    info = site / f"{distribution}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[crm.plugins]\n{entry} = {module}\n")
    if source is not None:
        (site / f"{module}.py").write_text(source)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    install(site, "good-plugin", "good", "crm_good_plugin", GOOD)
    install(site, "missing-plugin", "missing", "crm_module_that_is_not_there", None)
    install(site, "misspelled-plugin", "misspelled", "crm_misspelled_plugin", MISSPELLED)
    install(site, "bad-signature-plugin", "bad_signature", "crm_bad_signature_plugin", BAD_SIGNATURE)
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m.startswith("crm_")]:
        monkeypatch.delitem(sys.modules, name)
    return site


def test_each_broken_plugin_is_named_and_the_good_one_loads(site: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("plugins", "list", "--json")
    assert result.exit_code == 0
    listing = result.json()
    plugins = {p["plugin"]: p for p in listing["plugins"]}
    assert plugins["good"]["distribution"] == "good-plugin 0.1"
    assert [s["name"] for s in plugins["good"]["scorers"]] == ["constant_one"]
    assert len(plugins["plugins.builtin"]["scorers"]) == 8
    failed = {f["plugin"]: f["error"] for f in listing["failures"]}
    assert set(failed) == {"missing", "misspelled", "bad_signature"}
    assert "ModuleNotFoundError" in failed["missing"]
    assert "crm_register_scorer" in failed["misspelled"]
    assert "colour" in failed["bad_signature"]


def test_scoring_still_runs_with_broken_plugins_installed(
    site: Path, run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import write_bundle

    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'crm.db'}")
    scoring = {"schema_version": 1, "kind": "scoring", "name": "one", "entity": "lead", "scorer": "constant_one"}
    bundle = write_bundle(
        tmp_path, "crm", {"lead": {"fields": {"name": {"type": "string"}}}}, extra={"one.json": scoring}
    )
    assert run_cli("schema", "apply", bundle).exit_code == 0
    assert run_cli("record", "create", "lead", "--data", '{"name": "x"}').exit_code == 0
    ran = run_cli("score", "run", "--json")
    assert ran.exit_code == 0 and ran.json()[0]["scored"] == 1
