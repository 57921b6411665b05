"""Ownership: hand-overs when users leave, and the customer pool reps claim accounts from."""

from __future__ import annotations

from ._handover import HANDOVER_REASON, Handover, HandoverService

__all__ = ["HANDOVER_REASON", "Handover", "HandoverService"]
