"""The engine reaches the demo generator through the ``crm_demo_generator`` hook only."""

from __future__ import annotations

import ast
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

import pytest

from engine.errors import UsageError
from engine.hooks import hookimpl, make_plugins
from engine.presets import DemoGenerator, demo_generator, demo_logins, generate_demo
from engine.progress import NO_PROGRESS, Progress
from engine.runtime import CrmEngine
from plugins.demo import GENERATOR
from tests.support import REPO_ROOT


class _Fixed:
    """A generator that writes nothing and says so."""

    def generate(
        self,
        engine: CrmEngine,
        preset: str,
        size: int,
        *,
        seed: int = 7,
        progress: Progress = NO_PROGRESS,
        now: datetime | None = None,
        password: str | None = None,
    ) -> dict[str, int]:
        return {preset: size + seed}

    def logins(self, engine: CrmEngine, before: Collection[str]) -> list[tuple[str, str]]:
        return [("administrator", "nobody")]


class _Offers:
    @hookimpl
    def crm_demo_generator(self) -> DemoGenerator:
        return _Fixed()


class _Declines:
    @hookimpl
    def crm_demo_generator(self) -> DemoGenerator | None:
        return None


def test_the_built_in_generator_comes_from_the_hook(sqlite_url: str) -> None:
    with CrmEngine(sqlite_url, plugins=make_plugins(entry_points=False)) as crm:
        assert demo_generator(crm) is GENERATOR


def test_a_plugin_generator_replaces_the_built_in_one(sqlite_url: str) -> None:
    plugins = make_plugins(entry_points=False, extra=(_Declines(), _Offers()))
    with CrmEngine(sqlite_url, plugins=plugins) as crm:
        assert generate_demo(crm, "club", 3, seed=4) == {"club": 7}
        assert demo_logins(crm, set()) == [("administrator", "nobody")]


def test_no_generator_is_a_usage_error(sqlite_url: str) -> None:
    plugins = make_plugins(entry_points=False)
    plugins.manager.unregister(name="plugins.builtin")
    with CrmEngine(sqlite_url, plugins=plugins) as crm, pytest.raises(UsageError, match="crm_demo_generator"):
        generate_demo(crm, "club", 3)


def _imports(path: Path) -> list[str]:
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out.append(node.module or "")
    return out


#: The one module of the engine that names the plugins package: the list of built-in
#: plugins every plugin manager registers (pytest's ``default_plugins``).
_DEFAULT_PLUGINS = Path("engine/hooks/_defaults.py")


def test_the_engine_never_imports_plugins() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in sorted((REPO_ROOT / "engine").rglob("*.py"))
        if path.relative_to(REPO_ROOT) != _DEFAULT_PLUGINS
        for name in _imports(path)
        if name == "plugins" or name.startswith("plugins.")
    ]
    assert offenders == []
