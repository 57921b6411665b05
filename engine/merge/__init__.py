"""Merging duplicate records into one, and undoing a merge (``crm record merge``, ``crm merge``)."""

from __future__ import annotations

from ._plan import FieldChoice, is_empty
from ._service import MAX_MERGES, MergePlan, MergeService, merge_json

__all__ = ["MAX_MERGES", "FieldChoice", "MergePlan", "MergeService", "is_empty", "merge_json"]
