"""The built-in plugins, registered first by every plugin manager (pytest's ``default_plugins``).

Imported when a plugin manager is made, not with ``engine.hooks``: the built-in plugins
are written against ``engine.hooks`` and ``engine.scoring`` like any installed plugin.
"""

from __future__ import annotations

from types import ModuleType

import plugins.builtin

#: Built-in plugin modules, each registered under its module name (``plugins.builtin``).
DEFAULT_PLUGINS: tuple[ModuleType, ...] = (plugins.builtin,)
