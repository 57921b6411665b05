"""Scoring drafts: scorings and scoring overlays as read from valid documents.

A scoring draft is mutable so that overlays can merge into it. Each option remembers
where it was last set, and so does every part of the configuration an overlay wrote:
a value the scorer's schema rejects is reported in the document that wrote it, be it the
scoring itself or the overlay that changed a weight.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child

#: A place in a configuration: the keys (and list indexes, as strings) leading to it.
ConfigPath = tuple[str, ...]


@dataclass
class ScoringDraft:
    """One scoring: ``entity``, ``scorer``, ``label``, ``target_value``, ``target_grade``
    and ``triggers`` in ``spec``; the configuration apart, as it is merged.

    ``config_where`` maps a configuration path to where the value there was written; the
    empty path is the scoring's own ``config``, deeper paths are the parts overlays wrote.
    """

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    config: dict[str, Any]
    config_where: dict[ConfigPath, SourceRef]
    source: SourceRef
    bundle: str

    def at(self, option: str) -> SourceRef:
        """Where ``option`` was set (the scoring itself when it was not)."""
        return self.where.get(option, self.source)

    def config_at(self, path: ConfigPath) -> SourceRef:
        """Where the configuration value at ``path`` is written, in whichever document."""
        for length in range(len(path), -1, -1):
            found = self.config_where.get(path[:length])
            if found is not None:
                return child(found, *path[length:])
        raise AssertionError("the empty path always has a place")  # pragma: no cover


_OPTIONS = ("entity", "scorer", "label", "triggers")
#: Keys of ``target`` → the option of the draft that holds them.
TARGET_OPTIONS = {"value": "target_value", "grade": "target_grade"}


def scoring_draft(document: Mapping[str, Any], where: SourceRef, bundle: str) -> ScoringDraft:
    """The draft of the scoring of a valid ``scoring`` document."""
    spec = {key: copy.deepcopy(document[key]) for key in _OPTIONS if key in document}
    places = {"name": child(where, "name"), **{key: child(where, key) for key in spec}}
    for key, option in TARGET_OPTIONS.items():
        if key in document.get("target", {}):
            spec[option] = document["target"][key]
            places[option] = child(where, "target", key)
    return ScoringDraft(
        name=str(document["name"]),
        spec=spec,
        where=places,
        config=copy.deepcopy(dict(document.get("config", {}))),
        config_where={(): child(where, "config")},
        source=where,
        bundle=bundle,
    )
