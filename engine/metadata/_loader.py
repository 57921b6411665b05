"""Load definitions from disk: a bundle directory, a bundle.json, or one entity document.

Reading goes in stages, and every stage runs whatever failed before it, so that one broken
file never hides the problems of another: bundles are resolved, every document is read
and checked against its meta-schema, overlays are applied, entities are frozen and
checked, then workflows (with their overlays) are frozen and checked against them, then
scorings (with theirs) against both, then reports against all three, then roles (with their
overlays) against entities and workflows. Only when nothing at all was wrong is a
:class:`Definitions` returned.

A document that fails its meta-schema takes part in the later stages with the parts at
fault removed (``_salvage``), so that its form problems and its meaning problems come out
in one run; when that is not possible it sits out, and references to what it defines are
not reported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.errors import DefinitionError, Problem
from engine.metadata._bundles import (
    MANIFEST,
    BundleGraph,
    bundle_graph,
    display_name,
    is_dir,
    is_file,
    single_document_graph,
)
from engine.metadata._documents import Document, encloses, read_document
from engine.metadata._kinds import KINDS, collect_document, definitions_of, kinds_with_role, resolve
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._pipeline import Collection
from engine.metadata._problems import file_problem, unique_problems

_Schemas = Mapping[str, Mapping[str, Any]]
_MEMBERS = kinds_with_role("member")


def load_definitions(
    path: str | os.PathLike[str],
    *,
    preset_dirs: Sequence[Path] = (),
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> Definitions:
    """Load and validate the definitions at ``path``.

    :param path: a bundle directory, its ``bundle.json``, or a single entity document
        (an anonymous bundle of one, named after the file).
    :param preset_dirs: directories searched for presets named in ``extends`` before the
        engine's own ``presets/``.
    :param scorer_schemas: scorer name → JSON Schema of its ``config``, for the installed
        scorers (``ScorerRegistry.config_schemas()``; this package never imports the
        plugins that define them). When given, a scoring naming another scorer is
        ``unknown_scorer`` and every error of a configuration is reported; when ``None``,
        scorers and configurations are not checked.
    :raises DefinitionError: holding every problem found, in every file.
    """
    definitions, problems = _load(Path(path), preset_dirs, scorer_schemas)
    if problems or definitions is None:
        raise DefinitionError(problems)
    return definitions


def validate_path(
    path: str | os.PathLike[str],
    *,
    preset_dirs: Sequence[Path] = (),
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Problem]:
    """Every problem of the definitions at ``path`` (empty when they are valid).

    Takes the same arguments as :func:`load_definitions`.
    """
    return _load(Path(path), preset_dirs, scorer_schemas)[1]


def _load(
    path: Path, preset_dirs: Sequence[Path], scorer_schemas: _Schemas | None
) -> tuple[Definitions | None, list[Problem]]:
    graph = _graph(path, preset_dirs)
    if isinstance(graph, Problem):
        return None, [graph]
    collection = Collection(problems=list(graph.problems))
    form: list[Problem] = []
    removed: dict[str, tuple[str, ...]] = {}
    for bundle in graph.bundles:
        for document_path, display in bundle.documents:
            document = read_document(document_path, display, allowed=_MEMBERS, context="a document inside a bundle")
            collection.problems.extend(document.problems)
            form.extend(document.problems)
            if document.salvaged is not None:
                removed[display] = document.salvaged.removed
            _collect(document, display, bundle.name, collection)
    resolution, problems = resolve(collection, graph.ancestors, scorer_schemas)
    problems = _without_cascades(unique_problems(problems), set(form), removed)
    if not graph.bundles:
        return None, problems
    definitions = definitions_of(resolution, graph.bundles[-1].name, tuple(b.name for b in graph.bundles))
    return definitions, problems


def _collect(document: Document, display: str, bundle: str, collection: Collection) -> None:
    """Read a document into the collection: whole when valid, what is left of it when
    salvaged; otherwise only its name is noted, as broken."""
    value = document.value if document.valid else None
    if document.salvaged is not None:
        value = document.salvaged.value
    if document.kind is None:
        return
    if value is not None:
        collect_document(document.kind, value, SourceRef(display), bundle, collection)
        return
    kind = KINDS[document.kind]
    if kind.definition is not None and not kind.overlay and isinstance(document.value.get("name"), str):
        collection.broken_of(kind.name).add(document.value["name"])


def _without_cascades(
    problems: list[Problem], form: set[Problem], removed: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    """``problems`` without the meaning problems located at a part that encloses one a
    salvaged document lost (they may come from the loss itself; see ``_salvage``)."""
    if not removed:
        return problems
    return [
        p
        for p in problems
        if p in form or p.file is None or p.pointer is None or not encloses(p.pointer, removed.get(p.file, ()))
    ]


def _graph(path: Path, preset_dirs: Sequence[Path]) -> BundleGraph | Problem:
    if not is_file(path) and not is_dir(path):
        message = f"{path} does not exist; give a bundle directory, a bundle.json or an entity file."
        return file_problem("path_not_found", message, str(path))
    if is_dir(path):
        if not is_file(path / MANIFEST):
            absolute = Path(os.path.abspath(path))
            message = (
                f"the directory has no {MANIFEST}; a bundle directory needs one, e.g. "
                '{"schema_version": 1, "kind": "bundle", "name": "sales"}.'
            )
            return file_problem("missing_bundle_file", message, display_name(absolute / MANIFEST, absolute))
        return bundle_graph(path, preset_dirs)
    if path.name == MANIFEST:
        return bundle_graph(path.parent, preset_dirs)
    return single_document_graph(path)
