"""The resources a path names, looked up in the live definitions on every request.

Entities, transitions and scorings are not routes of their own: one route serves every
entity, and the name is resolved here against whatever version is live now, so an apply
needs no new routes (and no restart).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from engine.errors import Problem
from engine.metadata import EntityDef, ScoringDef, TransitionDef, WorkflowDef
from engine.runtime import CrmEngine

from .._problems import InvalidBodyError, UnknownResourceError


def _hint(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f' Did you mean "{close[0]}"?'
    return f" Known: {', '.join(names)}." if names else ""


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


def transition(
    engine: CrmEngine, entity_name: str, name: str, workflow: str | None = None
) -> tuple[WorkflowDef, TransitionDef]:
    """The transition ``name`` of one of the entity's workflows (of ``workflow`` when given);
    404 ``unknown_transition``. Which workflow a name means is the workflow service's
    decision, as for the CLI: a name in several workflows needs ``workflow``
    (:class:`~engine.workflow.AmbiguousTransitionError` otherwise)."""
    entity(engine, entity_name)
    workflows = engine.model.definitions.workflows_for(entity_name)
    having = [w.name for w in workflows if name in w.transitions]
    if having and workflow is not None and workflow not in having:
        raise InvalidBodyError(
            f'workflow: {entity_name} has no workflow "{workflow}" with the transition "{name}"; '
            f"it is in {', '.join(having)}",
            [Problem(code="unknown_workflow", pointer="/workflow", message=f"use one of {', '.join(having)}")],
        )
    if having:
        return engine.workflows.find_transition(entity_name, name, workflow)
    known = {t for w in workflows for t in w.transitions}
    hint = _hint(name, known) if known else f" {entity_name} has no workflow."
    raise UnknownResourceError(
        f'{entity_name} has no transition "{name}".{hint}',
        [Problem(code="unknown_transition", field="transition", message=f'there is no transition "{name}"')],
    )


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
