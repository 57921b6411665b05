"""The preamble every view shares (:func:`resolved`): the resources a path names, looked up
in the live definitions on every request, and the query parameters checked.

Entities and scorings are not routes of their own: one route serves every entity, and the
name is resolved per request against whatever version is live now, so an apply needs no new
routes (and no restart). Which entity, scoring or transition a name means is decided by the
engine and its services (``CrmEngine.entity``, ``ScoringService.find``,
``WorkflowService.find_transition``), as for the CLI and the admin UI; a view only asks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from flask import Response

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
    :class:`~engine.metadata.EntityDef` and ``scoring`` as a
    :class:`~engine.metadata.ScoringDef`.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def run(**path: str) -> Response:
            engine = current_engine()
            if admin:
                require_admin()
            values: dict[str, Any] = dict(path)
            if "entity" in path:
                values["entity"] = engine.entity(path["entity"])
                if "scoring" in path:
                    values["scoring"] = engine.scoring.find(path["entity"], path["scoring"])
            check_params(params)
            return view(engine, **values)

        return run

    return decorate
