"""A record's timeline: everything that happened to it, newest first (``engine.timeline``)."""

from __future__ import annotations

from ._notes import MAX_NOTE, NoteService
from ._timeline import KINDS, Entry, timeline

__all__ = ["KINDS", "MAX_NOTE", "Entry", "NoteService", "timeline"]
