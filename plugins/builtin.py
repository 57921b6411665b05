"""The built-in plugin: registers the eight scorers of ``plugins.scorers``.

Listed in ``engine.hooks.DEFAULT_PLUGINS`` (registered under its module name).
"""

from __future__ import annotations

from engine.hooks import hookimpl
from engine.scoring import Scorer
from plugins.scorers import BUILTIN_SCORERS


@hookimpl
def crm_register_scorers() -> list[Scorer]:
    """weighted_rules, lead_grade, rfm, customer_tier, project_evaluation,
    relationship_closeness, key_account_value and predictive."""
    return list(BUILTIN_SCORERS)
