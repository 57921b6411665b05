"""Ownership: hand-overs when users leave, and the customer pool reps claim accounts from."""

from __future__ import annotations

from ._assigned import still_assigned, user_fields
from ._handover import HANDOVER_REASON, Handover, HandoverService
from ._pool import CLAIM_REASON, PoolService, claim_limit

__all__ = [
    "CLAIM_REASON",
    "HANDOVER_REASON",
    "Handover",
    "HandoverService",
    "PoolService",
    "claim_limit",
    "still_assigned",
    "user_fields",
]
