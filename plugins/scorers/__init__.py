"""The eight built-in scorers (see docs/scorers.md and README.md beside this file)."""

from __future__ import annotations

from engine.compile import condition_sql

from ._customer_tier import CUSTOMER_TIER
from ._key_account_value import KEY_ACCOUNT_VALUE
from ._lead_grade import LEAD_GRADE
from ._naive_bayes import holdout_split
from ._predictive import PREDICTIVE
from ._project_evaluation import PROJECT_EVALUATION
from ._relationship_closeness import RELATIONSHIP_CLOSENESS
from ._rfm import RFM
from ._stats import auc
from ._weighted_rules import WEIGHTED_RULES, weighted_rules_sql

#: Every built-in scorer, in the order ``crm plugins list`` shows them.
BUILTIN_SCORERS = (
    WEIGHTED_RULES,
    LEAD_GRADE,
    RFM,
    CUSTOMER_TIER,
    PROJECT_EVALUATION,
    RELATIONSHIP_CLOSENESS,
    KEY_ACCOUNT_VALUE,
    PREDICTIVE,
)

__all__ = [
    "BUILTIN_SCORERS",
    "CUSTOMER_TIER",
    "KEY_ACCOUNT_VALUE",
    "LEAD_GRADE",
    "PREDICTIVE",
    "PROJECT_EVALUATION",
    "RELATIONSHIP_CLOSENESS",
    "RFM",
    "WEIGHTED_RULES",
    "auc",
    "condition_sql",
    "holdout_split",
    "weighted_rules_sql",
]
