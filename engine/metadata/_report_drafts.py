"""Report drafts: reports as read from valid documents, before they are checked and frozen.

Reports have no overlays yet, so a draft is the document itself with where it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child


@dataclass(frozen=True)
class ReportDraft:
    """A valid ``report`` document of ``bundle``, read at ``source``."""

    name: str
    document: Mapping[str, Any]
    source: SourceRef
    bundle: str

    def at(self, *tokens: str | int) -> SourceRef:
        """Where the value at ``tokens`` (keys and list indexes) is written."""
        return child(self.source, *tokens)


def report_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> ReportDraft:
    """The draft of the report of a valid ``report`` document."""
    return ReportDraft(str(document["name"]), copy.deepcopy(dict(document)), where, bundle)
