"""Saved views of an entity's records: view documents and stored views (``engine.views``).

See ``docs/views.md``: who sees and manages which views, and how a view is applied.
"""

from __future__ import annotations

from ._model import AppliedView, SavedView
from ._service import MAX_NAME, VIEW_KEYS, ViewService

__all__ = ["MAX_NAME", "VIEW_KEYS", "AppliedView", "SavedView", "ViewService"]
