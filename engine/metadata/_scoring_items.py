"""List operations of ``scoring_overlay`` documents: rules, criteria, indicators and
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
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import OverlayDraft
from engine.metadata._problems import child, did_you_mean, problem
from engine.metadata._scoring_drafts import ConfigPath, ScoringDraft

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
                related = earlier.bundle in ancestors.get(edit.bundle, ()) or edit.bundle in ancestors.get(
                    earlier.bundle, ()
                )
                if related or (earlier.operation, earlier.value) == (edit.operation, edit.value):
                    continue
                message = (
                    f"this {_verb(edit)} the item {edit.name!r} of {edit.path!r}, but {earlier.where.file} at "
                    f"{earlier.where.pointer} {_verb(earlier)} it too; overlays never override each other "
                    "silently. Edit it in one place, or in a bundle that extends both."
                )
                problems.append(problem("overlay_clash", message, edit.where))
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
