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
from engine.metadata._documents import read_document
from engine.metadata._drafts import Collection
from engine.metadata._entities import build_entities
from engine.metadata._kinds import KINDS, kinds_with_role
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._overlays import apply_overlays
from engine.metadata._problems import file_problem, unique_problems
from engine.metadata._reports import build_reports
from engine.metadata._role_drafts import apply_role_overlays
from engine.metadata._roles import build_roles, role_reference_problems
from engine.metadata._salvage import encloses
from engine.metadata._scoring_overlays import apply_scoring_overlays
from engine.metadata._scorings import build_scorings, rescore_problems
from engine.metadata._workflow_overlays import apply_workflow_overlays
from engine.metadata._workflows import build_workflows

_Schemas = Mapping[str, Mapping[str, Any]]


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
    members = kinds_with_role("member")
    form: list[Problem] = []
    removed: dict[str, tuple[str, ...]] = {}
    for bundle in graph.bundles:
        for document_path, display in bundle.documents:
            document = read_document(document_path, display, allowed=members, context="a document inside a bundle")
            collection.problems.extend(document.problems)
            form.extend(document.problems)
            value = document.value if document.valid else None
            if document.salvaged is not None:
                value = document.salvaged.value
                removed[display] = document.salvaged.removed
            if value is not None and document.kind is not None:
                collector = KINDS[document.kind].collect
                assert collector is not None  # every member kind has one
                collector(value, SourceRef(display), bundle.name, collection)
            elif document.kind == "entity" and isinstance(document.value.get("name"), str):
                collection.broken_entities.add(document.value["name"])
            elif document.kind == "workflow" and isinstance(document.value.get("name"), str):
                collection.broken_workflows.add(document.value["name"])
            elif document.kind == "scoring" and isinstance(document.value.get("name"), str):
                collection.broken_scorings.add(document.value["name"])
            elif document.kind == "role" and isinstance(document.value.get("name"), str):
                collection.broken_roles.add(document.value["name"])
    definitions, problems = _resolve(collection, graph, scorer_schemas)
    return definitions, _without_cascades(problems, set(form), removed)


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


def _resolve(
    collection: Collection, graph: BundleGraph, scorer_schemas: _Schemas | None
) -> tuple[Definitions | None, list[Problem]]:
    problems = collection.problems
    problems.extend(
        apply_overlays(collection.entities, collection.overlays, graph.ancestors, collection.broken_entities)
    )
    entities, entity_problems = build_entities(collection.entities, graph.ancestors, collection.broken_entities)
    problems.extend(entity_problems)
    problems.extend(
        apply_workflow_overlays(
            collection.workflows,
            collection.workflow_overlays,
            graph.ancestors,
            collection.broken_workflows,
        )
    )
    workflows, workflow_problems = build_workflows(
        collection.workflows,
        collection.entities,
        entities,
        graph.ancestors,
        collection.broken_entities,
    )
    problems.extend(workflow_problems)
    problems.extend(
        apply_scoring_overlays(
            collection.scorings,
            collection.scoring_overlays,
            graph.ancestors,
            collection.broken_scorings,
        )
    )
    scorings, scoring_problems = build_scorings(
        collection.scorings,
        collection.entities,
        entities,
        graph.ancestors,
        collection.broken_entities,
        workflows=workflows,
        scorer_schemas=scorer_schemas,
    )
    problems.extend(scoring_problems)
    problems.extend(
        rescore_problems(collection.workflows, collection.scorings, graph.ancestors, collection.broken_scorings)
    )
    reports, report_problems = build_reports(
        collection.reports,
        collection.entities,
        entities,
        graph.ancestors,
        collection.broken_entities,
        workflow_drafts=collection.workflows,
        workflows=workflows,
        scoring_drafts=collection.scorings,
        broken_workflows=collection.broken_workflows,
        broken_scorings=collection.broken_scorings,
    )
    problems.extend(report_problems)
    problems.extend(apply_role_overlays(collection.roles, collection.role_overlays, graph.ancestors))
    roles, role_problems = build_roles(
        collection.roles, collection.entities, entities, graph.ancestors, collection.broken_entities
    )
    problems.extend(role_problems)
    problems.extend(role_reference_problems(roles, workflows, collection.workflows, collection.broken_roles))
    if not graph.bundles:
        return None, unique_problems(problems)
    definitions = Definitions(
        name=graph.bundles[-1].name,
        entities=entities,
        bundles=tuple(b.name for b in graph.bundles),
        workflows=workflows,
        scorings=scorings,
        reports=reports,
        roles=roles,
    )
    return definitions, unique_problems(problems)


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
