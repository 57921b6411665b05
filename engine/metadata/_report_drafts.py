"""Report drafts: reports as read from valid documents, before they are checked and frozen.

Reports have no overlays yet, so a draft is the document itself with where it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child, problem

if TYPE_CHECKING:
    from engine.metadata._drafts import Collection


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


def collect_report(document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Add the report of a valid ``report`` document; a second one of that name is an error."""
    name = str(document["name"])
    first = into.reports.get(name)
    if first is not None:
        message = (
            f"the report {name!r} is already defined in {first.source.file}; a report is "
            "defined once. Rename one of them."
        )
        into.problems.append(problem("duplicate_report", message, child(where, "name")))
        return
    into.reports[name] = ReportDraft(name, copy.deepcopy(dict(document)), where, bundle)
