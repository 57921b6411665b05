"""Read one definition file into a JSON value, turning every way it can fail into problems.

A user never sees a traceback for a bad file: missing or unreadable files, bytes that are
not UTF-8, empty files, JSON syntax errors (with line and column), NaN/Infinity, numbers
out of range, duplicate keys and absurd nesting all become :class:`Problem` entries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._problems import file_problem, pointer, problem

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
