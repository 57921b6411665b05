"""Deterministic demo data for whatever definitions are loaded (see README.md).

The engine reaches it through the ``crm_demo_generator`` hook (``plugins.builtin`` offers
:data:`GENERATOR`); call ``engine.presets.generate_demo`` rather than this package.
"""

from __future__ import annotations

from ._generate import BATCH_SIZE, GENERATOR, DemoDataGenerator, demo_logins, generate_demo, preset_scope

__all__ = ["BATCH_SIZE", "GENERATOR", "DemoDataGenerator", "demo_logins", "generate_demo", "preset_scope"]
