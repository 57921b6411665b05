"""The registry of document kinds: which meta-schema validates a kind, and what reads it.

Adding a kind (workflow, scoring, report, roles...) means adding its meta-schema to
``schemas/``, a collector, and one entry here; the reader, the error for an unknown kind
and the documentation's list of kinds all follow from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from engine.metadata._drafts import Collection, collect_entity, collect_overlay
from engine.metadata._model import SourceRef
from engine.metadata._report_drafts import collect_report
from engine.metadata._role_drafts import collect_role, collect_role_overlay
from engine.metadata._scoring_drafts import collect_scoring, collect_scoring_overlay
from engine.metadata._workflow_drafts import collect_workflow, collect_workflow_overlay

#: ``manifest``: the bundle.json of a bundle; ``member``: a document inside a bundle;
#: ``stored``: the resolved form the engine keeps in its database.
KindRole = Literal["manifest", "member", "stored"]
Collector = Callable[[Mapping[str, Any], SourceRef, str, Collection], None]


@dataclass(frozen=True)
class DocumentKind:
    """One kind of definition document."""

    name: str
    schema_file: str
    role: KindRole
    summary: str
    #: Reads a valid member document into the collection (members only).
    collect: Collector | None = None


KINDS: Mapping[str, DocumentKind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            DocumentKind("bundle", "bundle.schema.json", "manifest", "a bundle's bundle.json"),
            DocumentKind("entity", "entity.schema.json", "member", "an entity and its fields", collect_entity),
            DocumentKind(
                "entity_overlay",
                "entity_overlay.schema.json",
                "member",
                "additions and changes to an inherited entity",
                collect_overlay,
            ),
            DocumentKind(
                "workflow",
                "workflow.schema.json",
                "member",
                "the states and guarded transitions of an entity's enum field",
                collect_workflow,
            ),
            DocumentKind(
                "workflow_overlay",
                "workflow_overlay.schema.json",
                "member",
                "additions and changes to an inherited workflow",
                collect_workflow_overlay,
            ),
            DocumentKind(
                "scoring",
                "scoring.schema.json",
                "member",
                "how a scorer scores an entity's records, and where the score goes",
                collect_scoring,
            ),
            DocumentKind(
                "scoring_overlay",
                "scoring_overlay.schema.json",
                "member",
                "changes to an inherited scoring's configuration, target and triggers",
                collect_scoring_overlay,
            ),
            DocumentKind(
                "report",
                "report.schema.json",
                "member",
                "figures computed over an entity's records, its workflow history or its scores",
                collect_report,
            ),
            DocumentKind(
                "role",
                "role.schema.json",
                "member",
                "what users holding a role may do with each entity's records and fields",
                collect_role,
            ),
            DocumentKind(
                "role_overlay",
                "role_overlay.schema.json",
                "member",
                "additions and changes to an inherited role's permissions",
                collect_role_overlay,
            ),
            DocumentKind(
                "definitions",
                "definitions.schema.json",
                "stored",
                "the resolved definitions as the engine stores them",
            ),
        )
    }
)


def kinds_with_role(role: KindRole) -> tuple[str, ...]:
    """Names of the kinds with ``role``, in registry order."""
    return tuple(name for name, kind in KINDS.items() if kind.role == role)
