"""Scoring: the scorer contract plugins implement, and (``_service``) running scorings."""

from __future__ import annotations

from ._api import Factor, Scorer, ScoreResult, ScoringContext, ScoringSpec, TrainReport, fields_read, visible_factors
from ._registry import ScorerRegistry
from ._service import ScoreView, ScoringRun, ScoringService, UnknownScoringError
from ._summary import ScoreBin, ScoreSummary

__all__ = [
    "Factor",
    "ScoreBin",
    "ScoreResult",
    "ScoreSummary",
    "ScoreView",
    "Scorer",
    "ScorerRegistry",
    "ScoringContext",
    "ScoringRun",
    "ScoringService",
    "ScoringSpec",
    "TrainReport",
    "UnknownScoringError",
    "fields_read",
    "visible_factors",
]
