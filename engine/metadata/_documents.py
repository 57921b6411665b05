"""Read one definition document: JSON, then its header (schema_version, kind), then its
kind's meta-schema. Semantic checks come later, once every document has been read."""

from __future__ import annotations

from collections.abc import Collection as Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Problem
from engine.metadata._characters import invalid_character_problems
from engine.metadata._json_files import NOT_READ, read_json
from engine.metadata._kinds import KINDS
from engine.metadata._model import SourceRef
from engine.metadata._pipeline import SCHEMA_VERSION
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._salvage import Salvage, salvage
from engine.metadata._schema_errors import schema_problems


@dataclass(frozen=True)
class Document:
    """A document as read. ``valid`` means header and meta-schema checks passed.

    ``salvaged`` is, for a document of a known kind that fails only its meta-schema, what
    is left once the parts at fault are removed (see ``_salvage``), or ``None``.
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
