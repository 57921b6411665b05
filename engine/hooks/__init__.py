"""Plugins: the ``crm_*`` hooks (``hookspecs``) and the manager that calls them safely."""

from __future__ import annotations

from ._manager import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, PluginFailure, Plugins, hookimpl, make_plugins

__all__ = ["DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "PluginFailure", "Plugins", "hookimpl", "make_plugins"]
