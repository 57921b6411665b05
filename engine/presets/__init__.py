"""Presets: the business-mode bundles that ship with the engine, and loading them."""

from __future__ import annotations

from ._catalog import COMPOSITE, MODES, PresetInfo, catalog, compose, resolve
from ._loading import (
    DemoChecker,
    DemoGenerator,
    check_demo,
    demo_generator,
    demo_logins,
    generate_demo,
    installed_presets,
    load_preset,
)

__all__ = [
    "COMPOSITE",
    "MODES",
    "DemoChecker",
    "DemoGenerator",
    "PresetInfo",
    "catalog",
    "check_demo",
    "compose",
    "demo_generator",
    "demo_logins",
    "generate_demo",
    "installed_presets",
    "load_preset",
    "resolve",
]
