"""Apply ``scoring_overlay`` documents to the scoring drafts of a bundle graph.

An overlay changes weights and thresholds without copying the scoring: its ``config`` is
merged into the scoring's, objects key by key, while lists and every other value replace
what was there (``{"grades": [...]}`` replaces the grades; ``{"cap": {"max": 90}}`` keeps
the cap's ``min``). ``label``, each key of ``target`` and ``triggers`` replace theirs.
Lists of named items (rules, criteria) are edited item by item with ``add_items``,
``change_items`` and ``remove_items`` (see ``_scoring_items``), after the overlay's ``config``.

The rules are those of entity overlays (see ``_overlays``): overlays apply in bundle
order and see only their own bundle and its ancestors. An overlay in a bundle that
extends another's wins where both write; overlays of the same bundle, or of unrelated
bundles, that write the same place differently are an ``overlay_clash``. In a
configuration, writing a value and writing inside it (``{"cap": null}`` beside
``{"cap": {"max": 90}}``) is writing the same place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, overlay_targets, related, same_json
from engine.metadata._problems import child, problem
from engine.metadata._scoring_drafts import TARGET_OPTIONS, ScoringDraft
from engine.metadata._scoring_items import ItemEdits, apply_item_edits, item_clashes, item_edits


@dataclass(frozen=True)
class _Write:
    """One place an overlay writes: ``path`` starts with the option (``config``,
    ``label``, ``target``, ``triggers``); ``value`` is what it writes there."""

    path: tuple[str, ...]
    value: Any
    bundle: str
    where: SourceRef

    @property
    def merges(self) -> bool:
        """An empty object merges into what is there instead of replacing it."""
        return isinstance(self.value, dict)


def apply_scoring_overlays(
    scorings: dict[str, ScoringDraft],
    overlays: Iterable[OverlayDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_scorings: Iterable[str] = (),
) -> list[Problem]:
    """Apply ``overlays`` (in bundle order) to ``scorings`` in place; return the problems."""
    problems: list[Problem] = []
    steps: dict[str, list[_Write | ItemEdits]] = {}
    targets = overlay_targets("scoring", overlays, scorings, ancestors, problems, broken=broken_scorings)
    for overlay, scoring in targets:
        group = steps.setdefault(scoring.name, [])
        group.extend(_writes(overlay))
        edits = item_edits(overlay)
        if edits is not None:
            group.append(edits)  # after the overlay's config: it may replace the list it edits
    for name, group in steps.items():
        problems.extend(_clashes([s for s in group if isinstance(s, _Write)], ancestors))
        problems.extend(item_clashes([s for s in group if isinstance(s, ItemEdits)], ancestors))
        for step in group:
            if isinstance(step, ItemEdits):
                problems.extend(apply_item_edits(scorings[name], step))
            else:
                _apply(scorings[name], step)
    return problems


def _writes(overlay: OverlayDraft) -> Iterator[_Write]:
    document = overlay.document
    for option in ("label", "triggers"):
        if option in document:
            yield _Write((option,), document[option], overlay.bundle, child(overlay.source, option))
    for key, value in document.get("target", {}).items():
        where = child(overlay.source, "target", key)
        yield _Write(("target", key), value, overlay.bundle, where)
    for key, value in document.get("config", {}).items():
        where = child(overlay.source, "config", key)
        yield from _config_writes(("config", key), value, overlay, where)


def _config_writes(path: tuple[str, ...], value: Any, overlay: OverlayDraft, where: SourceRef) -> Iterator[_Write]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _config_writes((*path, key), item, overlay, child(where, key))
    else:
        yield _Write(path, value, overlay.bundle, where)


def _overrides(later: _Write, earlier: _Write, ancestors: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``later``, in a bundle extending ``earlier``'s, replaces what it wrote."""
    if later.bundle == earlier.bundle or earlier.bundle not in ancestors.get(later.bundle, ()):
        return False
    if later.path == earlier.path:
        return True
    inside = len(later.path) < len(earlier.path) and _within(earlier.path, later.path)
    return inside and not later.merges


def _within(path: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return path[: len(prefix)] == prefix


def _clashes(group: list[_Write], ancestors: Mapping[str, frozenset[str]]) -> list[Problem]:
    standing = [w for w in group if not any(_overrides(o, w, ancestors) for o in group)]
    problems: list[Problem] = []
    for index, later in enumerate(standing):
        for earlier in standing[:index]:
            if related(later.bundle, earlier.bundle, ancestors):
                continue  # one refines the other: the bundle order decides
            if _agree(earlier, later):
                continue
            message = (
                f"this writes {_place(later)} as {_shown(later.value)}, but "
                f"{earlier.where.file} at {earlier.where.pointer} writes "
                f"{_place(earlier)} as {_shown(earlier.value)}; overlays never override "
                "each other silently. Write it in one place, or in a bundle that extends both."
            )
            problems.append(problem("overlay_clash", message, later.where))
            break
    return problems


def _agree(a: _Write, b: _Write) -> bool:
    if a.path == b.path:
        return same_json(a.value, b.value)
    if _within(b.path, a.path):
        return a.merges  # b writes inside the object a makes sure of
    if _within(a.path, b.path):
        return b.merges
    return True  # different places


def _place(write: _Write) -> str:
    return "/".join(write.path)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _apply(scoring: ScoringDraft, write: _Write) -> None:
    option, *rest = write.path
    if option == "config":
        _apply_config(scoring, tuple(rest), write)
        return
    key = TARGET_OPTIONS[rest[0]] if option == "target" else option
    scoring.spec[key] = copy.deepcopy(write.value)
    scoring.where[key] = write.where


def _apply_config(scoring: ScoringDraft, path: tuple[str, ...], write: _Write) -> None:
    node = scoring.config
    for depth, key in enumerate(path[:-1]):
        inner = node.get(key)
        if not isinstance(inner, dict):
            # A value that was not an object becomes one: what was written there is gone.
            inner = node[key] = {}
            scoring.config_where.pop(path[: depth + 1], None)
        node = inner
    last = path[-1]
    if write.merges and isinstance(node.get(last), dict):
        return
    node[last] = copy.deepcopy(write.value)
    for place in [p for p in scoring.config_where if len(p) > len(path) and _within(p, path)]:
        del scoring.config_where[place]
    scoring.config_where[path] = write.where
