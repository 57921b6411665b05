"""The built-in plugin: registers the eight scorers of ``plugins.scorers`` and offers the
demo-data generator of ``plugins.demo``.

Listed in ``engine.hooks.DEFAULT_PLUGINS`` (registered under its module name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.hooks import hookimpl
from engine.scoring import Scorer
from plugins.scorers import BUILTIN_SCORERS

if TYPE_CHECKING:
    from engine.presets import DemoGenerator


@hookimpl
def crm_register_scorers() -> list[Scorer]:
    """weighted_rules, lead_grade, rfm, customer_tier, project_evaluation,
    relationship_closeness, key_account_value and predictive."""
    return list(BUILTIN_SCORERS)


@hookimpl
def crm_demo_generator() -> DemoGenerator:
    """The demo-data generator of ``plugins.demo``, imported on first use: most runs of the
    engine never make demo data."""
    from plugins.demo import GENERATOR

    return GENERATOR
