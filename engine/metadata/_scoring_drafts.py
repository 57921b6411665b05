"""Scoring drafts: scorings and ``scoring_overlay`` documents as read, and the overlays
merged into them (configuration keys, then named list items).

Scoring drafts: scorings and scoring overlays as read from valid documents.

A scoring draft is mutable so that overlays can merge into it. Each option remembers
where it was last set, and so does every part of the configuration an overlay wrote:
a value the scorer's schema rejects is reported in the document that wrote it, be it the
scoring itself or the overlay that changed a weight.

List operations of ``scoring_overlay`` documents: rules, criteria, indicators and
segments changed one by one, by name, instead of replacing the whole list.

A scorer's configuration holds lists of named items (``rules`` of ``weighted_rules``,
``criteria`` of ``customer_tier``, ``indicators`` of ``key_account_value``...). ``config``
can only replace such a list as a whole; these three keys reach into it:

- ``remove_items``: list path → names of the items to drop;
- ``change_items``: list path → item name → what to change in it (objects merged key by
  key, every other value replaced; the name itself never changes);
- ``add_items``: list path → items to append (each with a ``name`` the list lacks).

A list of plain names (``key_roles``: ``["decision_maker", "coach"]``) is a list of named
items too, each item its own name: items are removed and added, not changed.

A list path is the list's place in the configuration, keys joined by ``/`` (``rules``,
``fit/rules``). One overlay applies its ``config`` first, then removes, changes and adds,
so an overlay that replaces a list can also refine it; overlays apply in bundle order.

Apply ``scoring_overlay`` documents to the scoring drafts of a bundle graph.

An overlay changes weights and thresholds without copying the scoring: its ``config`` is
merged into the scoring's, objects key by key, while lists and every other value replace
what was there (``{"grades": [...]}`` replaces the grades; ``{"cap": {"max": 90}}`` keeps
the cap's ``min``). ``label``, each key of ``target`` and ``triggers`` replace theirs.
Lists of named items (rules, criteria) are edited item by item with ``add_items``,
``change_items`` and ``remove_items`` (below), after the overlay's ``config``.

The rules are those of entity overlays (see ``_entities`` and ``_pipeline``): overlays apply in bundle
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
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft, Placed, overlay_clash, overlay_targets, related, same_json
from engine.metadata._problems import child, did_you_mean, problem

#: A place in a configuration: the keys (and list indexes, as strings) leading to it.
ConfigPath = tuple[str, ...]


@dataclass
class ScoringDraft(Placed):
    """One scoring: ``entity``, ``scorer``, ``label``, ``target_value``, ``target_grade``
    ``triggers`` and ``schedule`` in ``spec``; the configuration apart, as it is merged.

    ``config_where`` maps a configuration path to where the value there was written; the
    empty path is the scoring's own ``config``, deeper paths are the parts overlays wrote.
    """

    config: dict[str, Any]
    config_where: dict[ConfigPath, SourceRef]

    def config_at(self, path: ConfigPath) -> SourceRef:
        """Where the configuration value at ``path`` is written, in whichever document."""
        for length in range(len(path), -1, -1):
            found = self.config_where.get(path[:length])
            if found is not None:
                return child(found, *path[length:])
        raise AssertionError("the empty path always has a place")  # pragma: no cover


_OPTIONS = ("entity", "scorer", "label", "triggers", "schedule")
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


Operation = Literal["remove_items", "change_items", "add_items"]
#: The overlay keys of list operations, in the order they apply.
ITEM_OPERATIONS: tuple[Operation, ...] = ("remove_items", "change_items", "add_items")


@dataclass(frozen=True)
class ItemEdit:
    """One item one overlay removes, changes or adds: ``value`` is the change or the new item."""

    operation: Operation
    path: str
    name: str
    value: Any
    bundle: str
    where: SourceRef
    #: where the list path is written (``/change_items/rules``)
    list_where: SourceRef


@dataclass(frozen=True)
class ItemEdits:
    """The list operations of one overlay, applied after its ``config``."""

    bundle: str
    edits: tuple[ItemEdit, ...]


def item_edits(overlay: OverlayDraft) -> ItemEdits | None:
    """The list operations of ``overlay`` (None when it has none), as written."""
    document, source = overlay.document, overlay.source
    edits: list[ItemEdit] = []
    for path, names in document.get("remove_items", {}).items():
        for index, name in enumerate(names):
            where = child(source, "remove_items", path, index)
            listed = child(source, "remove_items", path)
            edits.append(ItemEdit("remove_items", path, name, None, overlay.bundle, where, listed))
    for path, changes in document.get("change_items", {}).items():
        for name, change in changes.items():
            where = child(source, "change_items", path, name)
            listed = child(source, "change_items", path)
            edits.append(ItemEdit("change_items", path, name, change, overlay.bundle, where, listed))
    for path, items in document.get("add_items", {}).items():
        for index, item in enumerate(items):
            where = child(source, "add_items", path, index)
            listed = child(source, "add_items", path)
            name = item if isinstance(item, str) else str(item["name"])
            edits.append(ItemEdit("add_items", path, name, item, overlay.bundle, where, listed))
    return ItemEdits(overlay.bundle, tuple(edits)) if edits else None


def item_clashes(groups: list[ItemEdits], ancestors: Mapping[str, frozenset[str]]) -> list[Problem]:
    """Two overlays of bundles that do not extend one another editing one item differently."""
    problems: list[Problem] = []
    seen: list[ItemEdit] = []
    for group in groups:
        for edit in group.edits:
            for earlier in seen:
                if (earlier.path, earlier.name) != (edit.path, edit.name) or earlier.bundle == edit.bundle:
                    continue
                if related(earlier.bundle, edit.bundle, ancestors):
                    continue
                if (earlier.operation, earlier.value) == (edit.operation, edit.value):
                    continue
                this = f"{_verb(edit)} the item {edit.name!r} of {edit.path!r}"
                problems.append(overlay_clash(edit.where, this, earlier.where, f"{_verb(earlier)} it too", "Edit"))
                break
        seen.extend(group.edits)
    return problems


def _verb(edit: ItemEdit) -> str:
    return {"remove_items": "removes", "change_items": "changes", "add_items": "adds"}[edit.operation]


def apply_item_edits(scoring: ScoringDraft, group: ItemEdits) -> list[Problem]:
    """Apply one overlay's list operations to ``scoring`` in place; return the problems."""
    problems: list[Problem] = []
    for operation in ITEM_OPERATIONS:
        for edit in (e for e in group.edits if e.operation == operation):
            found = _named_list(scoring.config, edit.path)
            if found is None:
                lists = sorted(_named_lists(scoring.config))
                known = ", ".join(repr(p) for p in lists) or "none"
                message = (
                    f"the scoring {scoring.name!r} has no list of named items at {edit.path!r}"
                    f"{did_you_mean(edit.path, lists)} Its lists of named items: {known}."
                )
                problems.append(problem("unknown_item", message, edit.list_where))
                continue
            items = found
            names = [_name(item) for item in items]
            keys = _keys(edit.path)
            plain = all(isinstance(item, str) for item in items)
            if operation == "add_items":
                if edit.name in names:
                    message = (
                        f"{edit.path!r} of the scoring {scoring.name!r} already has an item named {edit.name!r}; "
                        "change it with change_items, or remove it first with remove_items."
                    )
                    where = edit.where if isinstance(edit.value, str) else child(edit.where, "name")
                    problems.append(problem("duplicate_item", message, where))
                    continue
                if plain != isinstance(edit.value, str):
                    shape = "plain names" if plain else "objects with a name"
                    message = f"the items of {edit.path!r} of the scoring {scoring.name!r} are {shape}; add one alike."
                    problems.append(problem("invalid_config", message, edit.where))
                    continue
                items.append(copy.deepcopy(edit.value))
                scoring.config_where[(*keys, str(len(items) - 1))] = edit.where
                continue
            if edit.name not in names:
                message = (
                    f"{edit.path!r} of the scoring {scoring.name!r} has no item named {edit.name!r}."
                    f"{did_you_mean(edit.name, names)} Its items: {', '.join(repr(n) for n in names)}."
                )
                problems.append(problem("unknown_item", message, edit.where))
                continue
            index = names.index(edit.name)
            if operation == "change_items" and plain:
                message = (
                    f"the items of {edit.path!r} of the scoring {scoring.name!r} are plain names, with nothing to "
                    "change: remove the item with remove_items and add another with add_items."
                )
                problems.append(problem("invalid_config", message, edit.where))
                continue
            if operation == "remove_items":
                del items[index]
                _shift(scoring, keys, index)
            else:
                _merge(items[index], edit.value)
                for key in edit.value:
                    scoring.config_where[(*keys, str(index), key)] = child(edit.where, key)
    return problems


def _keys(path: str) -> ConfigPath:
    return tuple(path.split("/"))


def _name(item: Any) -> str:
    return item if isinstance(item, str) else str(item["name"])


def _is_named(items: Any) -> bool:
    """Whether ``items`` is a list of named objects or of plain names (an empty list is either)."""
    if not isinstance(items, list):
        return False
    return all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items) or all(
        isinstance(i, str) for i in items
    )


def _named_list(config: dict[str, Any], path: str) -> list[Any] | None:
    node: Any = config
    for key in _keys(path):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if _is_named(node) else None


def _named_lists(node: Any, prefix: str = "") -> Iterator[str]:
    """The paths of the lists of named items under ``node``."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        path = f"{prefix}{key}"
        if value and _is_named(value):
            yield path
        else:
            yield from _named_lists(value, path + "/")


def _merge(target: dict[str, Any], change: Mapping[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _shift(scoring: ScoringDraft, keys: ConfigPath, removed: int) -> None:
    """Where the items after a removed one were written moves up with them."""
    depth = len(keys)
    moved: dict[ConfigPath, SourceRef] = {}
    for path in [p for p in scoring.config_where if len(p) > depth and p[:depth] == keys]:
        where = scoring.config_where.pop(path)
        index = int(path[depth])
        if index == removed:
            continue
        moved[(*keys, str(index - 1 if index > removed else index), *path[depth + 1 :])] = where
    scoring.config_where.update(moved)


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
    for option in ("label", "triggers", "schedule"):
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
            this = f"writes {_place(later)} as {_shown(later.value)}"
            that = f"writes {_place(earlier)} as {_shown(earlier.value)}"
            problems.append(overlay_clash(later.where, this, earlier.where, that, "Write"))
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
