"""Read one definition document: the file into JSON, then its header (``schema_version``,
``kind``), then its kind's meta-schema; and salvage what passes of a document that does
not. Semantic checks come later, once every document has been read.

Reading a file into a JSON value turns every way it can fail into problems.

A user never sees a traceback for a bad file: missing or unreadable files, bytes that are
not UTF-8, empty files, JSON syntax errors (with line and column), NaN/Infinity, numbers
out of range, duplicate keys and absurd nesting all become :class:`Problem` entries.

The sound parts of a document that fails its meta-schema are salvaged for the meaning checks.

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
import json
import math
import re
from collections.abc import Collection as Container
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jsonschema.exceptions import ValidationError

from engine.errors import Problem
from engine.metadata._kinds import KINDS
from engine.metadata._model import SourceRef
from engine.metadata._names import invalid_character_problems
from engine.metadata._pipeline import SCHEMA_VERSION
from engine.metadata._problems import child, did_you_mean, file_problem, pointer, problem, quoted_list
from engine.metadata._schemas import schema_problems, validator

#: Deepest nesting of objects/arrays a document may have. Definitions are shallow (an
#: entity is about five levels deep); the limit keeps later recursive code far from
#: Python's recursion limit whatever a ``json`` default contains.
MAX_DEPTH = 64


class _NotRead:
    def __repr__(self) -> str:
        return "NOT_READ"


#: What :func:`read_json` returns instead of a value when there is none (JSON ``null``
#: is a value, so ``None`` cannot say this).
NOT_READ: Any = _NotRead()


class _KeysSeenTwice(dict[str, Any]):
    """A parsed object that had repeated keys (JSON keeps the last; we report them)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key in out and key not in repeated:
            repeated.append(key)
        out[key] = value
    if not repeated:
        return out
    marked = _KeysSeenTwice(out)
    marked.repeated = tuple(repeated)
    return marked


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """Parse ``text`` strictly (no NaN/Infinity, finite floats); raises ``ValueError``."""
    return json.loads(text, object_pairs_hook=_object, parse_float=_finite_float, parse_constant=_no_constant)


def read_json(path: Path, display: str) -> tuple[Any, list[Problem]]:
    """The JSON value in ``path`` and the problems found; the value is :data:`NOT_READ` on failure.

    ``display`` is the file name used in problems (see ``docs/definitions.md``).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return NOT_READ, [file_problem("unreadable_file", f"cannot read the file: {reason}.", display)]
    try:
        # utf-8-sig: editors on Windows like to start files with a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 (byte {exc.start}, line {line}); save it with UTF-8 encoding."
        return NOT_READ, [file_problem("invalid_encoding", message, display, line=line)]
    if not text.strip():
        message = "the file is empty; write a JSON object with schema_version and kind."
        return NOT_READ, [file_problem("empty_file", message, display)]
    return parse_document_text(text, display)


def parse_document_text(text: str, display: str) -> tuple[Any, list[Problem]]:
    """Like :func:`read_json` for text already read."""
    where = SourceRef(display, "")
    try:
        value = parse_json(text)
    except json.JSONDecodeError as exc:
        message = (
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "Fix the syntax there (a missing comma or quote, or a trailing comma, is the "
            "usual cause)."
        )
        return NOT_READ, [file_problem("invalid_json", message, display, line=exc.lineno)]
    except RecursionError:
        message = f"the document nests deeper than {MAX_DEPTH} levels; flatten it."
        return NOT_READ, [problem("too_deep", message, where)]
    except ValueError as exc:
        # NaN/Infinity, numbers beyond float range, integers with thousands of digits.
        message = f"invalid JSON: {exc}. Use a finite number, or a string."
        return NOT_READ, [file_problem("invalid_json", message, display)]
    problems = check_structure(value, display)
    if any(p.code == "too_deep" for p in problems):
        return NOT_READ, problems
    return value, problems


def check_structure(value: Any, display: str) -> list[Problem]:
    """Report repeated keys and nesting beyond :data:`MAX_DEPTH`.

    Iterative on purpose: the value may be nested up to the parser's own limit.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            message = f"the document nests deeper than {MAX_DEPTH} levels; flatten it."
            return [problem("too_deep", message, SourceRef(display, pointer(*path)))]
        if isinstance(node, dict):
            for key in getattr(node, "repeated", ()):
                message = (
                    f"the key {key!r} appears more than once in this object; JSON keeps "
                    "only the last one. Remove or rename the others."
                )
                problems.append(problem("duplicate_key", message, SourceRef(display, pointer(*path, key))))
            stack.extend((v, (*path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    return problems


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


@dataclass(frozen=True)
class Document:
    """A document as read. ``valid`` means header and meta-schema checks passed.

    ``salvaged`` is, for a document of a known kind that fails only its meta-schema, what
    is left once the parts at fault are removed (see :func:`salvage`), or ``None``.
    """

    value: Any
    kind: str | None
    valid: bool
    problems: tuple[Problem, ...]
    salvaged: Salvage | None = None


def read_document(path: Path, display: str, *, allowed: Container[str], context: str) -> Document:
    """Read and check the document in ``path``; ``allowed`` kinds may appear here.

    ``context`` says where the document is, for the message of a misplaced kind
    (``"in bundle.json"``).
    """
    value, problems = read_json(path, display)
    if value is NOT_READ:
        return Document(None, None, False, tuple(problems))
    document = check_document(value, SourceRef(display), allowed=allowed, context=context)
    return Document(document.value, document.kind, document.valid, (*problems, *document.problems), document.salvaged)


def check_document(value: Any, where: SourceRef, *, allowed: Container[str], context: str) -> Document:
    """Header and meta-schema checks of a parsed document located at ``where``."""
    if not isinstance(value, dict):
        got = "an array" if isinstance(value, list) else "a single value"
        message = (
            f'a definition document must be a JSON object, got {got}; write {{"schema_version": 1, "kind": ..., ...}}.'
        )
        return Document(value, None, False, (problem("not_an_object", message, where),))
    problems: list[Problem] = invalid_character_problems(value, where)
    if "schema_version" not in value:
        message = f"missing required key 'schema_version'; add \"schema_version\": {SCHEMA_VERSION}."
        problems.append(problem("required", message, where))
    elif type(value["schema_version"]) is not int or value["schema_version"] != SCHEMA_VERSION:
        message = (
            f"schema_version {value['schema_version']!r} is not supported; this engine reads "
            f'version {SCHEMA_VERSION}. Write "schema_version": {SCHEMA_VERSION}, or upgrade '
            "the engine."
        )
        problems.append(problem("unsupported_schema_version", message, child(where, "schema_version")))
        # A document of another version means something else: do not guess further.
        return Document(value, None, False, tuple(problems))
    kind = value.get("kind")
    known = list(KINDS)
    if "kind" not in value:
        message = f"missing required key 'kind'; add one of: {quoted_list(known)}."
        problems.append(problem("required", message, where))
        return Document(value, None, False, tuple(problems))
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(kind, known) if isinstance(kind, str) else ""
        message = f"{kind!r} is not a document kind.{hint} Known kinds: {quoted_list(known)}."
        problems.append(problem("unknown_kind", message, child(where, "kind")))
        return Document(value, None, False, tuple(problems))
    if kind not in allowed:
        message = f"a document of kind {kind!r} cannot be {context}; expected {' or '.join(repr(k) for k in allowed)}."
        problems.append(problem("unexpected_kind", message, child(where, "kind")))
        return Document(value, kind, False, tuple(problems))
    # Invalid characters could sit in any key or text: nothing is salvaged from such a document.
    salvageable = not problems
    problems.extend(schema_problems(KINDS[kind].schema_file, value, where.file, where.pointer))
    if not problems:
        return Document(value, kind, True, ())
    rest = salvage(KINDS[kind].schema_file, value) if salvageable else None
    return Document(value, kind, False, tuple(problems), rest)
