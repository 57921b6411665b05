"""Salvage the sound parts of a document that fails its meta-schema, for the meaning checks.

A document with a form problem (an unknown key, an option that does not apply to a field's
type, a value of the wrong type) would otherwise sit out the meaning checks, and its
``unknown_field`` or ``unknown_state`` problems would come out only on the next run, once the
form is fixed. Instead, the parts at fault are removed from a copy of the document until
what remains passes the meta-schema, and that copy takes part in the meaning checks.

What is removed, for each meta-schema error:

- a key that is not allowed: that key alone;
- a missing key: the object that misses it;
- any other wrong value: that value; an item of a list takes the whole list with it, so
  that no pointer of the copy differs from the document's.

Nothing is salvaged when that would remove the document itself or a part named by its
author (a field, a state, a transition, a key of any other name map): other documents and
checks refer to those names, and every reference to a removed one would be reported as
missing. Such a document sits out the meaning checks, as before, and references to what it
defines are not reported.

A meaning problem located at a part that encloses a removed one (``/states`` when
``/states/new/initial`` was removed) may come from the removal itself, so the loader leaves
it out (:func:`encloses`); it comes back, if it still holds, once the form is fixed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema.exceptions import ValidationError

from engine.metadata._problems import pointer
from engine.metadata._schemas import validator

#: How a token of an instance path was reached: a fixed key of the schema (``properties``),
#: a name the author chose (a key of a name map), or a list index.
_Step = Literal["key", "name", "item"]
_Path = tuple[str | int, ...]
#: Enough for the deepest meta-schema: every round removes at least one part.
_MAX_ROUNDS = 32


@dataclass(frozen=True)
class Salvage:
    """What is left of a document, and the RFC 6901 pointers of the parts removed."""

    value: dict[str, Any]
    removed: tuple[str, ...]


def salvage(schema_file: str, document: dict[str, Any]) -> Salvage | None:
    """The sound rest of ``document`` under the meta-schema ``schema_file``, or ``None`` when
    salvaging would remove the document or a named part of it (see the module docstring)."""
    check = validator(schema_file)
    value = copy.deepcopy(document)
    removed: list[_Path] = []
    for _ in range(_MAX_ROUNDS):
        errors = list(check.iter_errors(value))
        if not errors:
            return Salvage(value, tuple(pointer(*path) for path in removed))
        targets: set[_Path] = set()
        for error in errors:
            found = _targets(error)
            if found is None:
                return None
            targets.update(found)
        # Remove the outermost parts first: a part inside one already removed is gone with it.
        for path in sorted(targets, key=len):
            if any(path[: len(done)] == done for done in removed):
                continue
            _remove(value, path)
            removed.append(path)
    return None


def encloses(outer: str, removed: Iterable[str]) -> bool:
    """Whether the pointer ``outer`` is one of ``removed`` or encloses one of them."""
    return any(inner == outer or inner.startswith(outer + "/") for inner in removed)


def _targets(error: ValidationError) -> list[_Path] | None:
    steps = _steps(error)
    if steps is None:
        return None
    path: _Path = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        return _escalated((*path, str(error.instance)), (*steps, "name"))
    if error.validator == "additionalProperties" and error.validator_value is False:
        extra = _extra_keys(error)
        return [(*path, key) for key in extra] if extra else None
    return _escalated(path, steps)


def _escalated(path: _Path, steps: Sequence[_Step]) -> list[_Path] | None:
    """``path``, or the list holding it; ``None`` for the document or a named part."""
    while steps and steps[-1] == "item":
        path, steps = path[:-1], steps[:-1]
    if not steps or steps[-1] == "name":
        return None
    return [path]


#: A schema path token: the instance step it takes (None: none) and how many tokens it spans
#: (``properties`` is followed by the property's name, ``allOf`` by the branch's index...).
_SCHEMA_TOKENS: dict[str, tuple[_Step | None, int]] = {
    "properties": ("key", 2),
    "patternProperties": ("name", 2),
    "additionalProperties": ("name", 1),
    "items": ("item", 1),
    "prefixItems": ("item", 2),
    **{combinator: (None, 2) for combinator in ("allOf", "anyOf", "oneOf")},
    **{branch: (None, 1) for branch in ("if", "then", "else", "not")},
}


def _steps(error: ValidationError) -> list[_Step] | None:
    """How each token of the error's instance path was reached, read from its schema path
    (``$ref`` does not appear in it); ``None`` for a schema path this does not read."""
    wanted = len(error.absolute_path)
    tokens = list(error.absolute_schema_path)
    steps: list[_Step] = []
    index = 0
    while index < len(tokens) and len(steps) < wanted:
        found = _SCHEMA_TOKENS.get(tokens[index]) if isinstance(tokens[index], str) else None
        if found is None:
            return None
        step, width = found
        if step is not None:
            steps.append(step)
        index += width
    return steps if len(steps) == wanted else None


def _extra_keys(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [key for key in instance if key not in allowed and not any(re.search(p, key) for p in patterns)]


def _remove(value: Any, path: _Path) -> None:
    holder = value
    for token in path[:-1]:
        holder = holder[token]
    holder.pop(path[-1], None)
