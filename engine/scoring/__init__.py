"""Scoring: the scorer contract plugins implement, and (``_service``) running scorings."""

from __future__ import annotations

from ._api import Factor, ScoreResult, Scorer, ScoringContext, ScoringSpec, TrainReport

__all__ = ["Factor", "ScoreResult", "Scorer", "ScoringContext", "ScoringSpec", "TrainReport"]
