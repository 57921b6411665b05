"""The plugin manager: built-in plugins, entry-point plugins, safe hook calls."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "crm.plugins"
#: Built-in plugins, registered by default (module paths), like pytest's default_plugins.
DEFAULT_PLUGINS: tuple[str, ...] = ("plugins.builtin", "engine.scoring._triggers")

log = logging.getLogger("crm.plugins")
hookimpl = pluggy.HookimplMarker("crm")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or whose hook raised."""

    plugin: str
    hook: str | None
    error: str


@dataclass
class Plugins:
    """A pluggy manager plus what went wrong with plugins (reported, never fatal)."""

    manager: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    #: plugin name → "distribution version" for plugins installed as packages
    sources: dict[str, str] = field(default_factory=dict)

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of ``hook_name``, each on its own: one plugin's
        exception is logged with its name and does not stop the others."""
        return [result for _plugin, result in self.call_each(hook_name, **kwargs)]

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Like :meth:`call`, with the name of the plugin that gave each result."""
        hook = getattr(self.manager.hook, hook_name)
        results = []
        for impl in reversed(hook.get_hookimpls()):
            try:
                results.append((impl.plugin_name, impl.function(**{name: kwargs[name] for name in impl.argnames})))
            except Exception as exc:  # a plugin's bug must not stop the engine
                self.report(impl.plugin_name, hook_name, exc)
        return results

    def report(self, plugin: str, hook: str | None, exc: BaseException) -> PluginFailure:
        """Record (and log) that ``plugin`` failed."""
        failure = PluginFailure(plugin, hook, f"{exc.__class__.__name__}: {exc}")
        self.failures.append(failure)
        log.error("plugin %s failed in %s: %s", plugin, hook, failure.error)
        return failure

    def distribution(self, plugin_name: str) -> str:
        """Where a plugin came from: its distribution and version, or "built-in"."""
        return self.sources.get(plugin_name, "built-in")


def make_plugins(*, entry_points: bool = True, extra: tuple[object, ...] = ()) -> Plugins:
    """Build the plugin manager: hookspecs, built-in plugins, entry-point plugins, ``extra``."""
    manager = pluggy.PluginManager("crm")
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    for path in DEFAULT_PLUGINS:
        _register(plugins, path, functools.partial(importlib.import_module, path))
    if entry_points:
        from importlib.metadata import entry_points as find

        for entry in find(group=ENTRY_POINT_GROUP):
            _register(plugins, entry.name, entry.load, getattr(entry, "dist", None))
    for plugin in extra:
        _register(plugins, getattr(plugin, "__name__", repr(plugin)), functools.partial(_itself, plugin))
    while True:  # a misspelled hook name fails loudly, naming the plugin; the rest still load
        try:
            manager.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            plugin = exc.plugin
            name = manager.get_name(plugin) or repr(plugin)
            plugins.failures.append(PluginFailure(name, None, str(exc)))
            log.error("plugin %s: %s", name, exc)
            manager.unregister(plugin)
    return plugins


def _itself(plugin: object) -> object:
    return plugin


def _register(plugins: Plugins, name: str, load: Callable[[], object], dist: Any = None) -> None:
    try:
        plugin = load()
        plugins.manager.register(plugin, name=name)
        if dist is not None:
            plugins.sources[name] = f"{dist.metadata['Name']} {dist.version}"
    except Exception as exc:  # an import error or bad signature in one plugin
        plugins.failures.append(PluginFailure(name, None, f"{exc.__class__.__name__}: {exc}"))
        log.error("plugin %s could not be loaded: %s", name, exc)
