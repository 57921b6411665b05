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
from typing import TYPE_CHECKING, Any

from engine.metadata._model import SourceRef
from engine.metadata._problems import child, problem

if TYPE_CHECKING:
    from engine.metadata._drafts import Collection

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


@dataclass(frozen=True)
class ScoringOverlayDraft:
    """A ``scoring_overlay`` document of ``bundle``, applied after its bases are merged."""

    scoring: str
    document: Mapping[str, Any]
    source: SourceRef
    bundle: str


_OPTIONS = ("entity", "scorer", "label", "triggers")
#: Keys of ``target`` → the option of the draft that holds them.
TARGET_OPTIONS = {"value": "target_value", "grade": "target_grade"}


def collect_scoring(document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Add the scoring of a valid ``scoring`` document; a second one of that name is an error."""
    name = str(document["name"])
    first = into.scorings.get(name)
    if first is not None:
        message = (
            f"the scoring {name!r} is already defined in {first.source.file}; a scoring is "
            "defined once. Rename one of them, or change the existing one with a "
            "scoring_overlay document."
        )
        into.problems.append(problem("duplicate_scoring", message, child(where, "name")))
        return
    spec = {key: copy.deepcopy(document[key]) for key in _OPTIONS if key in document}
    places = {"name": child(where, "name"), **{key: child(where, key) for key in spec}}
    for key, option in TARGET_OPTIONS.items():
        if key in document.get("target", {}):
            spec[option] = document["target"][key]
            places[option] = child(where, "target", key)
    into.scorings[name] = ScoringDraft(
        name=name,
        spec=spec,
        where=places,
        config=copy.deepcopy(dict(document.get("config", {}))),
        config_where={(): child(where, "config")},
        source=where,
        bundle=bundle,
    )


def collect_scoring_overlay(document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Queue a valid ``scoring_overlay`` document; overlays apply once everything is read."""
    into.scoring_overlays.append(ScoringOverlayDraft(str(document["scoring"]), document, where, bundle))
