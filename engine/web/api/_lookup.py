"""The resources a path names, looked up in the live definitions on every request, and the
preamble every view shares (:func:`resolved`).

Entities and scorings are not routes of their own: one route serves every entity, and the
name is resolved here against whatever version is live now, so an apply needs no new routes
(and no restart). Transitions are the workflow service's to find
(:meth:`~engine.workflow.WorkflowService.find_transition`), as for the CLI and the admin UI.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from typing import Any

from flask import Response

from engine.errors import Problem
from engine.metadata import EntityDef, ScoringDef
from engine.runtime import CrmEngine
from engine.suggestions import did_you_mean

from .._problems import UnknownResourceError
from .._requests import check_params
from .._state import current_engine
from .._users import require_admin

View = Callable[..., Response]


def resolved(*, params: Collection[str] = (), admin: bool = False) -> Callable[[View], View]:
    """What every API view does before its own work, stated once.

    In this order: the caller must be an administrator (``admin``); the ``entity`` of the
    path is resolved (404 ``unknown_entity``), and its ``scoring`` when the path has one
    (404 ``unknown_scoring``); the query may hold only ``params`` (and ``lang``). The view is
    then called with the engine first and the path's values, ``entity`` as an
    :class:`EntityDef` and ``scoring`` as a :class:`ScoringDef`.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def run(**path: str) -> Response:
            engine = current_engine()
            if admin:
                require_admin()
            values: dict[str, Any] = dict(path)
            if "entity" in path:
                values["entity"] = definition = entity(engine, path["entity"])
                if "scoring" in path:
                    values["scoring"] = scoring(engine, definition, path["scoring"])
            check_params(params)
            return view(engine, **values)

        return run

    return decorate


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


def scoring(engine: CrmEngine, entity: EntityDef, name: str) -> ScoringDef:
    """The scoring ``name`` of ``entity``; 404 ``unknown_scoring``."""
    scorings = {s.name: s for s in engine.model.definitions.scorings_for(entity.name)}
    found = scorings.get(name)
    if found is None:
        hint = _hint(name, scorings) if scorings else f" {entity.name} has no scoring."
        raise UnknownResourceError(
            f'{entity.name} has no scoring "{name}".{hint}',
            [Problem(code="unknown_scoring", field="scoring", message=f'there is no scoring "{name}"')],
        )
    return found
