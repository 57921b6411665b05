"""Presets: the business-mode bundles that ship with the engine, and loading them."""

from __future__ import annotations

from ._catalog import COMPOSITE, MODES, PresetInfo, catalog, compose, resolve
from ._loading import installed_presets, load_preset

__all__ = ["COMPOSITE", "MODES", "PresetInfo", "catalog", "compose", "installed_presets", "load_preset", "resolve"]
