"""The README's commands work as written: the run command's steps and the admin tour."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, CliResult

README = REPO_ROOT / "README.md"


def tour_commands() -> list[tuple[list[str], bool]]:
    """``crm …`` lines of the tour's shell blocks, and whether each is expected to be refused."""
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour") : text.index("Further reading")]
    out = []
    for block in re.findall(r"```sh\n(.*?)```", tour, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line.startswith("crm "):
                continue
            command, _, comment = line.partition("#")
            out.append((shlex.split(command)[1:], "refused" in comment))
    return out


def run_command_steps() -> list[list[str]]:
    """The ``crm`` steps of the README's run command (after installing)."""
    text = README.read_text(encoding="utf-8")
    start = "python3 -m venv .venv && .venv/bin/pip install -q -e . &&"
    line = next(candidate for candidate in text.splitlines() if candidate.startswith(start))
    steps = [s.strip() for s in line.split("&&")]
    return [shlex.split(s)[1:] for s in steps if s.startswith(".venv/bin/crm ")]


def test_readme_tour_runs_as_written(
    run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    steps = run_command_steps()
    assert steps[0][:2] == ["preset", "load"] and steps[-1] == ["serve"]
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'main.db'}")
    for args in steps[:-1]:  # the last step serves until stopped; tests/web starts the server
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'tour.db'}")
    commands = tour_commands()
    assert len(commands) >= 15
    for args, refused in commands:
        result = run_cli(*args)
        if refused:
            assert result.exit_code not in (0, 70), (args, result.stdout)
            assert "Traceback" not in result.stderr
        else:
            assert result.exit_code == 0, (args, result.stderr)
    history = run_cli("history", "opportunity", "1", "--json").json()
    assert [h["to_state"] for h in history] == ["qualification", "proposal", "negotiation", "won"]
    lost = run_cli("record", "get", "opportunity", "2", "--json").json()
    assert (lost["stage"], lost["lost_reason"]) == ("lost", "competitor")
    (quality,) = run_cli("score", "show", "opportunity", "1", "--json").json()
    # 240,000 >= 100,000: 40 points; won is past the scored stages; no source, no close date
    assert (quality["computed"]["value"], quality["computed"]["grade"], quality["grade"]) == (40.0, "B", "A")
    assert [f["name"] for f in quality["factors"]] == ["rule_1"]
    won = run_cli("record", "get", "opportunity", "1", "--json").json()
    assert (won["quality_score"], won["quality_grade"]) == (40, "A")
