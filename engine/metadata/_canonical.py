"""The canonical resolved form of definitions: what the engine stores and compares.

One JSON document holds every entity with overlays applied and defaults resolved, every
workflow (under ``workflows``), every scoring (under ``scorings``), every report (under
``reports``) and every role (under ``roles``); those keys are present only when there are any. Each entity, workflow,
scoring and report in it is itself a valid document of its kind, so reading it back goes
through the same meta-schema and checks as a file an admin wrote. Only keys whose value
differs from the default are written, in a stable order, so equal definitions give equal
documents and the same digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from engine.errors import DefinitionError
from engine.metadata._documents import check_document, check_structure
from engine.metadata._kinds import DEFINITION_KINDS, definitions_of, resolve
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._pipeline import SCHEMA_VERSION, Collection, DocumentKind
from engine.metadata._problems import child, pointer, problem, unique_problems

#: The ``file`` of problems in stored definitions, unless the caller names it.
STORED_FILE = "<definitions>"


def definitions_to_json(definitions: Definitions) -> dict[str, Any]:
    """The canonical resolved form of ``definitions`` (a JSON-ready ``dict``)."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "definitions",
        "name": definitions.name,
        "bundles": list(definitions.bundles),
    }
    for kind in DEFINITION_KINDS:
        values: Mapping[str, Any] = getattr(definitions, kind.plural)
        # Only when there are any: definitions stored before a kind existed keep their
        # form and their digest.
        if values or kind.always_stored:
            out[kind.plural] = {name: kind.to_json(value, definitions) for name, value in values.items()}
    return out


def definitions_from_json(
    data: Any,
    *,
    file: str = STORED_FILE,
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> Definitions:
    """Read the canonical form back (``data`` as ``json.loads`` returns it).

    :param file: how problems name the source (the stored form has no file).
    :param scorer_schemas: scorer name → JSON Schema of its config, to check the stored
        scorings' configurations against (see :func:`load_definitions`); ``None`` leaves
        them unchecked.
    :raises DefinitionError: when ``data`` is not valid stored definitions.
    """
    problems = check_structure(data, file)
    if problems:
        raise DefinitionError(problems)
    document = check_document(data, SourceRef(file), allowed=("definitions",), context="stored definitions")
    if not document.valid:
        raise DefinitionError(document.problems)
    name = str(data["name"])
    collection = Collection()
    for kind in DEFINITION_KINDS:
        for key, value in data.get(kind.plural, {}).items():
            _collect_stored(kind, key, value, SourceRef(file, pointer(kind.plural, key)), name, collection)
    resolution, found = resolve(collection, {name: frozenset[str]()}, scorer_schemas)
    problems = unique_problems(found)
    if problems:
        raise DefinitionError(problems)
    return definitions_of(resolution, name, tuple(data["bundles"]))


def _collect_stored(
    kind: DocumentKind, key: str, value: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection
) -> None:
    if value["name"] != key:
        message = f"the {kind.name} stored under {key!r} is named {value['name']!r}; they must match."
        into.problems.append(problem("invalid", message, child(where, "name")))
        return
    kind.collect(value, where, bundle, into)


def definitions_digest(definitions: Definitions) -> str:
    """SHA-256 (hex) of the canonical form as JSON with sorted keys and no whitespace."""
    text = json.dumps(
        definitions_to_json(definitions),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
