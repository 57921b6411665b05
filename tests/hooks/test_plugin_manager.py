"""The plugin manager: hooks run through pluggy (wrappers included), one plugin's failure is
reported by name and stops nothing, and plugins that cannot run are refused at load, named."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import plugins.builtin
from engine.hooks import DEFAULT_PLUGINS, Plugins, hookimpl, make_plugins
from engine.metadata import Label, load_definitions
from engine.runtime import CrmEngine
from engine.scoring import Scorer, ScoreResult, ScorerRegistry
from tests.support import SYSTEM, write_bundle


class Plugin:
    """A plugin object with a name, as installed plugins (modules) have."""

    def __init__(self, name: str, heard: list[str]) -> None:
        self.__name__ = name
        self.heard = heard


class Saving(Plugin):
    @hookimpl
    def crm_record_saved(self, entity: str, record: dict[str, Any]) -> str:
        self.heard.append(f"{self.__name__} {entity} {record['id']}")
        return self.__name__


class Failing(Plugin):
    @hookimpl
    def crm_record_saved(self, entity: str) -> None:
        self.heard.append(f"{self.__name__} raises")
        raise RuntimeError("mail server down")


class Wrapping(Plugin):
    @hookimpl(wrapper=True)
    def crm_record_saved(self, entity: str) -> Generator[None, list[str], list[str]]:
        self.heard.append(f"{self.__name__} before")
        results = yield
        self.heard.append(f"{self.__name__} after {sorted(results)}")
        return results


class FailingWrapper(Plugin):
    @hookimpl(wrapper=True)
    def crm_record_saved(self) -> Generator[None, list[str], list[str]]:
        yield
        raise ValueError("teardown broke")


class OldStyleWrapper(Plugin):
    @hookimpl(hookwrapper=True)
    def crm_record_saved(self, entity: str) -> Generator[None, Any, None]:
        yield


class Misspelled(Plugin):
    @hookimpl
    def crm_record_save(self, entity: str) -> None:
        """One letter short of ``crm_record_saved``."""


def plugins_with(*extra: object) -> Plugins:
    return make_plugins(entry_points=False, extra=extra)


def saved(loaded: Plugins) -> list[str]:
    return list(loaded.hook.crm_record_saved(engine=None, entity="lead", record={"id": 7}, created=True, actor=None))


def test_the_built_in_plugins_are_modules_registered_under_their_names() -> None:
    assert (plugins.builtin,) == DEFAULT_PLUGINS
    assert all(isinstance(module, ModuleType) for module in DEFAULT_PLUGINS)
    names = [name for name, _plugin in plugins_with().manager.list_name_plugin()]
    assert names == ["plugins.builtin"]


def test_a_wrapper_runs_around_the_other_implementations() -> None:
    heard: list[str] = []
    loaded = plugins_with(Saving("a", heard), Wrapping("wrap", heard), Saving("b", heard))
    assert sorted(saved(loaded)) == ["a", "b"]
    assert heard == ["wrap before", "b lead 7", "a lead 7", "wrap after ['a', 'b']"]
    assert loaded.failures == []


def test_a_failing_implementation_is_reported_by_name_and_stops_nothing() -> None:
    heard: list[str] = []
    loaded = plugins_with(Saving("a", heard), Failing("broken", heard), Wrapping("wrap", heard), Saving("b", heard))
    assert sorted(saved(loaded)) == ["a", "b"]
    assert heard == ["wrap before", "b lead 7", "broken raises", "a lead 7", "wrap after ['a', 'b']"]
    (failure,) = loaded.failures
    assert (failure.plugin, failure.hook) == ("broken", "crm_record_saved")
    assert failure.error == "RuntimeError: mail server down"


def test_a_failing_wrapper_is_reported_by_name_and_the_result_stands() -> None:
    heard: list[str] = []
    loaded = plugins_with(Saving("a", heard), FailingWrapper("wrap", heard))
    assert saved(loaded) == ["a"]
    (failure,) = loaded.failures
    assert (failure.plugin, failure.hook, failure.error) == ("wrap", "crm_record_saved", "ValueError: teardown broke")


def test_an_old_style_hookwrapper_is_refused_with_the_plugin_and_its_signature() -> None:
    heard: list[str] = []
    loaded = plugins_with(OldStyleWrapper("old", heard), Saving("a", heard))
    (failure,) = loaded.failures
    assert failure.plugin == "old"
    assert "plugin old: crm_record_saved(entity)" in failure.error
    assert "wrapper=True" in failure.error
    assert [name for name, _ in loaded.manager.list_name_plugin()] == ["plugins.builtin", "a"]
    assert saved(loaded) == ["a"]


def test_a_misspelled_hook_is_refused_at_start_up_naming_the_plugin() -> None:
    heard: list[str] = []
    loaded = plugins_with(Misspelled("typo", heard), Saving("a", heard))
    (failure,) = loaded.failures
    assert failure.plugin == "typo"
    assert failure.error == 'unknown hook crm_record_save(entity) (did you mean "crm_record_saved"?)'
    assert [name for name, _ in loaded.manager.list_name_plugin()] == ["plugins.builtin", "a"]


def _constant(name: str) -> Scorer:
    return Scorer(
        name, Label(name), {"type": "object"}, lambda context, records: [ScoreResult(r["id"], 1.0) for r in records]
    )


class Offering(Plugin):
    @hookimpl
    def crm_register_scorers(self) -> list[Scorer]:
        return [_constant(f"{self.__name__}_score")]


class WrappingOffers(Plugin):
    @hookimpl(wrapper=True)
    def crm_register_scorers(self) -> Generator[None, list[list[Scorer]], list[list[Scorer]]]:
        offered = yield
        self.heard.append(", ".join(s.name for found in offered for s in found))
        return offered


def test_scorers_keep_the_plugin_that_offered_them_with_a_wrapper_around_each() -> None:
    heard: list[str] = []
    registry = ScorerRegistry.collect(plugins_with(Offering("one", heard), WrappingOffers("wrap", heard)))
    assert registry.plugin_of["one_score"] == "one"
    assert registry.plugin_of["rfm"] == "plugins.builtin"
    assert heard[0] == "one_score"
    assert len(heard) == 2 and "rfm" in heard[1]


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[tuple[CrmEngine, list[str]]]:
    heard: list[str] = []
    loaded = plugins_with(Saving("a", heard), Failing("broken", heard), Wrapping("wrap", heard))
    engine = CrmEngine(database_url, plugins=loaded)
    entities = {"lead": {"fields": {"name": {"type": "string"}}}}
    engine.apply(load_definitions(write_bundle(tmp_path, "crm", entities)))
    yield engine, heard
    engine.close()


def test_a_saved_record_runs_the_wrapper_around_the_plugins_and_a_failure_stops_nothing(
    crm: tuple[CrmEngine, list[str]],
) -> None:
    engine, heard = crm
    created = engine.records.create("lead", {"name": "Ada"}, actor=SYSTEM)
    assert heard == ["wrap before", "broken raises", "a lead 1", "wrap after ['a']"]
    assert engine.records.get("lead", created["id"], actor=SYSTEM)["name"] == "Ada"
    assert [(f.plugin, f.hook) for f in engine.plugins.failures] == [("broken", "crm_record_saved")]
