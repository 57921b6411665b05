"""The registry of document kinds, and the one resolver that walks them.

``DEFINITION_KINDS`` lists every kind of definition in dependency order (a kind comes
after the kinds its checks read). :func:`resolve` walks them for both loading paths, the
files of a bundle graph and the stored form (both in ``_loader``): for each kind
it applies the kind's overlays, builds (checks and freezes) its drafts, then runs its
cross-kind checks. ``KINDS`` is the table of document kinds that follows from it: the
meta-schema of each and what reads it; the reader, the error for an unknown kind and the
documentation's list of kinds all follow from this table.

Adding a kind means writing one module that defines its :class:`DocumentKind` (drafts,
overlays, semantic checks, stored form), its meta-schema in ``schemas/``, and one entry
in ``DEFINITION_KINDS`` (see ``README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._automations import AUTOMATION
from engine.metadata._entities import ENTITY
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._pipeline import Ancestors, Collection, DocumentKind, Resolution
from engine.metadata._reports import REPORT
from engine.metadata._roles import ROLE
from engine.metadata._scorings import SCORING
from engine.metadata._views import VIEW
from engine.metadata._workflows import WORKFLOW

#: Every kind of definition, in dependency order.
DEFINITION_KINDS: tuple[DocumentKind, ...] = (ENTITY, WORKFLOW, SCORING, REPORT, ROLE, AUTOMATION, VIEW)


def _check_order(kinds: tuple[DocumentKind, ...]) -> None:
    seen: set[str] = set()
    for kind in kinds:
        missing = [name for name in kind.after if name not in seen]
        if missing:  # pragma: no cover - a programming error, caught by any test
            raise AssertionError(f"the kind {kind.name!r} comes before {missing}, which it reads")
        seen.add(kind.name)


_check_order(DEFINITION_KINDS)

#: ``manifest``: the bundle.json of a bundle; ``member``: a document inside a bundle;
#: ``stored``: the resolved form the engine keeps in its database.
KindRole = Literal["manifest", "member", "stored"]


@dataclass(frozen=True)
class DocumentType:
    """One ``kind`` of document: its meta-schema, where it may stand, and what reads it."""

    name: str
    schema_file: str
    role: KindRole
    summary: str
    #: The kind of definition a member document belongs to (members only).
    definition: DocumentKind | None = None
    #: Whether the document is an overlay of that kind rather than a definition.
    overlay: bool = False


def _document_types() -> dict[str, DocumentType]:
    types = [DocumentType("bundle", "bundle.schema.json", "manifest", "a bundle's bundle.json")]
    for kind in DEFINITION_KINDS:
        types.append(DocumentType(kind.name, kind.schema_file, "member", kind.summary, kind))
        if kind.overlay is not None:
            name = kind.overlay_name
            types.append(DocumentType(name, f"{name}.schema.json", "member", kind.overlay.summary, kind, True))
    stored = DocumentType(
        "definitions", "definitions.schema.json", "stored", "the resolved definitions as the engine stores them"
    )
    types.append(stored)
    return {t.name: t for t in types}


KINDS: Mapping[str, DocumentType] = MappingProxyType(_document_types())


def kinds_with_role(role: KindRole) -> tuple[str, ...]:
    """Names of the kinds with ``role``, in registry order."""
    return tuple(name for name, kind in KINDS.items() if kind.role == role)


def collect_document(kind: str, document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
    """Read a valid member document of ``kind`` into the collection."""
    found = KINDS[kind]
    assert found.definition is not None  # every member kind belongs to a definition kind
    if found.overlay:
        found.definition.collect_overlay(document, where, bundle, into)
    else:
        found.definition.collect(document, where, bundle, into)


def resolve(
    collection: Collection,
    ancestors: Ancestors,
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Resolution, list[Problem]]:
    """Walk the kinds in dependency order: overlays, build, cross-kind checks.

    Returns what was built, and every problem (the collection's first) in the order found.
    """
    resolution = Resolution(collection, ancestors, scorer_schemas)
    problems = collection.problems
    for kind in DEFINITION_KINDS:
        if kind.overlay is not None:
            drafts, overlays = resolution.drafts(kind.name), collection.overlays_of(kind.name)
            problems.extend(kind.overlay.apply(drafts, overlays, ancestors, resolution.broken(kind.name)))
        built, found = kind.build(resolution)
        resolution.built[kind.name] = built
        problems.extend(found)
        for check in kind.checks:
            problems.extend(check(resolution))
    return resolution, problems


def definitions_of(resolution: Resolution, name: str, bundles: tuple[str, ...]) -> Definitions:
    """The :class:`Definitions` named ``name`` holding everything ``resolution`` built."""
    built = {kind.plural: resolution.built[kind.name] for kind in DEFINITION_KINDS}
    return Definitions(name=name, bundles=bundles, **built)
