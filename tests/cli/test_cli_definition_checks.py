"""Definition problems the command line reports as problems (exit 2), never as a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import CliResult

Run = Callable[..., CliResult]


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return database_url


def test_a_lone_surrogate_in_a_label_is_a_problem_not_an_internal_error(db: str, run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "deal.json"
    path.write_bytes(
        rb'{"schema_version": 1, "kind": "entity", "name": "deal", "label": "bad \ud800",'
        rb' "fields": {"t": {"type": "string", "description": "a\u0000b"}}}'
    )
    for command in ("validate", "apply"):
        result = run_cli("schema", command, path)
        assert result.exit_code == 2, (command, result)
        assert "deal.json:/label: [invalid_character]" in result.stdout + result.stderr
        assert "deal.json:/fields/t/description: [invalid_character]" in result.stdout + result.stderr
        assert "internal error" not in result.stdout + result.stderr
