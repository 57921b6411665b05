"""The resources a path names, looked up in the live definitions on every request.

Entities and scorings are not routes of their own: one route serves every entity, and the
name is resolved here against whatever version is live now, so an apply needs no new routes
(and no restart). Transitions are the workflow service's to find
(:meth:`~engine.workflow.WorkflowService.find_transition`), as for the CLI and the admin UI.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import Problem
from engine.metadata import EntityDef, ScoringDef
from engine.runtime import CrmEngine
from engine.suggestions import did_you_mean

from .._problems import UnknownResourceError


def _hint(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    return did_you_mean(name, names, otherwise=f" Known: {', '.join(names)}." if names else "")


def entity(engine: CrmEngine, name: str) -> EntityDef:
    """The live entity ``name``; 404 ``unknown_entity`` otherwise."""
    if not engine.has_definitions:
        raise UnknownResourceError(
            f'there is no entity "{name}": no definitions are applied yet',
            [Problem(code="unknown_entity", field="entity", message="no definitions are applied yet")],
        )
    found = engine.model.definitions.entities.get(name)
    if found is None:
        hint = _hint(name, engine.model.definitions.entities)
        raise UnknownResourceError(
            f'there is no entity "{name}".{hint}',
            [Problem(code="unknown_entity", field="entity", message=f'there is no entity "{name}"')],
        )
    return found


def scoring(engine: CrmEngine, entity_name: str, name: str) -> ScoringDef:
    """The scoring ``name`` of the entity; 404 ``unknown_scoring``."""
    entity(engine, entity_name)
    scorings = {s.name: s for s in engine.model.definitions.scorings_for(entity_name)}
    found = scorings.get(name)
    if found is None:
        hint = _hint(name, scorings) if scorings else f" {entity_name} has no scoring."
        raise UnknownResourceError(
            f'{entity_name} has no scoring "{name}".{hint}',
            [Problem(code="unknown_scoring", field="scoring", message=f'there is no scoring "{name}"')],
        )
    return found
