"""Plugins: the ``crm_*`` hooks (``hookspecs``), the built-in plugins and the manager that
calls them, each plugin's failure reported by name."""

from __future__ import annotations

from typing import Any

from ._manager import ENTRY_POINT_GROUP, GuardedPluginManager, PluginFailure, Plugins, hookimpl, make_plugins

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "GuardedPluginManager",
    "PluginFailure",
    "Plugins",
    "hookimpl",
    "make_plugins",
]


def __getattr__(name: str) -> Any:
    # DEFAULT_PLUGINS is imported on first use: the built-in plugins import this package
    # (and engine.scoring) themselves, like any installed plugin
    if name == "DEFAULT_PLUGINS":
        from ._defaults import DEFAULT_PLUGINS

        return DEFAULT_PLUGINS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
