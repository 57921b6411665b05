"""``crm --as USER`` enforces the permissions the API and the admin UI enforce (SQLite and
PostgreSQL): admin-only operations are refused with exit 7 and no traceback, and change
nothing; ``preset load`` does not silently revert a bundle applied over the presets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.runtime import CrmEngine
from tests.support import CliResult, write_bundle

Cli = Callable[..., CliResult]

ACCOUNT = {"fields": {"name": {"type": "string", "required": True}}}


@pytest.fixture
def cli(run_cli: Cli, database_url: str, tmp_path: Path) -> Cli:
    engine = CrmEngine(database_url)
    try:
        engine.users.create("ada", roles=["admin"])
        engine.users.create("rita", roles=["rep"])
    finally:
        engine.close()

    def run(*args: str) -> CliResult:
        return run_cli("--database-url", database_url, *args)

    return run


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path, "mine", {"account": ACCOUNT})


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("name\nAcme\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("operation", "needs_schema"),
    [
        pytest.param(("schema", "apply", "{bundle}"), False, id="schema-apply"),
        pytest.param(("schema", "diff", "{bundle}"), False, id="schema-diff"),
        pytest.param(("preset", "load", "standard_product"), False, id="preset-load"),
        pytest.param(("import", "account", "{csv}"), True, id="import"),
        pytest.param(("score", "run"), True, id="score-run"),
        pytest.param(("workflow", "tick"), True, id="workflow-tick"),
        pytest.param(("user", "create", "mallory", "--role", "admin"), False, id="user-create"),
    ],
)
def test_a_rep_cannot_run_admin_operations(
    cli: Cli, bundle: Path, tmp_path: Path, operation: tuple[str, ...], needs_schema: bool
) -> None:
    if needs_schema:
        assert cli("schema", "apply", str(bundle)).exit_code == 0
    args = [a.format(bundle=bundle, csv=_csv(tmp_path)) for a in operation]
    before = cli("schema", "history", "--json").stdout
    refused = cli("--as", "rita", *args)
    assert refused.exit_code == 7, refused
    assert '"rita" is not an administrator' in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert cli("schema", "history", "--json").stdout == before  # nothing applied
    if needs_schema:
        assert cli("record", "list", "account", "--json").json()["total"] == 0  # nothing imported
    assert cli("--as", "ada", *args).exit_code in (0, 1), "an administrator may"


def test_without_as_the_system_administrator_acts(cli: Cli, bundle: Path) -> None:
    assert cli("schema", "apply", str(bundle)).exit_code == 0


def test_preset_load_refuses_to_revert_a_bundle_applied_over_the_presets(cli: Cli, tmp_path: Path) -> None:
    assert cli("preset", "load", "standard_product").exit_code == 0
    overlay = {
        "schema_version": 1,
        "kind": "entity_overlay",
        "entity": "lead",
        "add_fields": {"region_code": {"type": "string", "label": {"en": "Region code", "zh": "区域代码"}}},
    }
    mine = write_bundle(tmp_path, "mine", {}, extends=["standard_product"], extra={"lead_overlay.json": overlay})
    assert cli("schema", "apply", str(mine)).exit_code == 0

    refused = cli("preset", "load", "promotion")
    assert refused.exit_code == 6, refused
    assert '"mine"' in refused.stderr and "--allow-data-loss" in refused.stderr
    assert "region_code" in cli("schema", "show", "--json").stdout  # still applied

    loaded = cli("preset", "load", "promotion", "--allow-data-loss")
    assert loaded.exit_code == 0, loaded
    assert "region_code" in loaded.stdout  # it says what it changes
    assert "region_code" not in cli("schema", "show", "--json").stdout
