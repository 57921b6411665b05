"""Which fields of an object in the data a compiled rule reads (what it would reveal)."""

from __future__ import annotations

from typing import Any

from ._api import CompiledRule

#: Operations that name a path of the data.
_PATH_OPERATIONS = frozenset({"var", "val", "exists", "missing", "missing_some"})


def fields_read(rule: CompiledRule, root: str = "record") -> frozenset[str] | None:
    """The fields of ``root`` the rule reads (``record.budget`` → ``budget``; a path through a
    reference, ``record.account.name``, reads ``account``).

    ``None`` when that is not known: the rule reads ``root`` whole, or computes a path at run
    time (``{"var": {"cat": ...}}``); callers then assume it may read any field.
    """
    fields: set[str] = set()
    for path in rule.variables:
        head, _, rest = path.partition(".")
        if head != root:
            continue
        if not rest:
            return None
        fields.add(rest.split(".", 1)[0])
    if _computes_paths(rule.source):
        return None
    return frozenset(fields)


def _computes_paths(node: Any) -> bool:
    if isinstance(node, list):
        return any(_computes_paths(item) for item in node)
    if not isinstance(node, dict):
        return False
    for op, args in node.items():
        if op in _PATH_OPERATIONS:
            listed = args if isinstance(args, list) else [args]
            if any(isinstance(item, dict | list) for item in listed):
                return True
        if _computes_paths(args):
            return True
    return False
