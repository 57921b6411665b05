"""Building the API blueprint and attaching it to an app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, request

from engine.runtime import CrmEngine

from .._responses import json_response
from .._state import bind_engine, web_state
from .._users import current_user
from ..openapi import API_PREFIX, build_spec
from . import (
    _admin,
    _automations,
    _bulk,
    _events,
    _imports,
    _jobs,
    _merges,
    _metadata,
    _notifications,
    _ownership,
    _records,
    _scores,
    _views,
    _webhooks,
    _workflow,
)
from ._lookup import resolved

Route = tuple[str, Callable[..., Response], tuple[str, ...]]


@resolved()
def openapi_document(engine: CrmEngine) -> Response:
    """The OpenAPI 3.1 document of the live definitions (built once per version)."""
    return json_response(openapi_spec())


def openapi_spec() -> dict[str, Any]:
    """The live OpenAPI document as a dict (cached per definitions version)."""
    state = web_state()
    engine = state.engine

    def build() -> dict[str, Any]:
        definitions = engine.model.definitions if engine.has_definitions else None
        return build_spec(definitions, engine.version)

    spec: dict[str, Any] = state.cached("openapi", build)
    return spec


#: Endpoints anyone may call: the health check and the API's description.
PUBLIC_ENDPOINTS = frozenset({"api.health", "api.openapi_document"})


def _before_request() -> None:
    web_state().refresh()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    # who asks is settled before any view runs: the API takes bearer tokens only (no
    # session cookies, so no CSRF surface); without a valid one, every operation is a 401
    current_user(allow_session=False)


def _routes() -> Iterable[Route]:
    yield from _metadata.ROUTES
    yield ("/openapi.json", openapi_document, ("GET",))
    yield from _records.ROUTES
    yield from _bulk.ROUTES
    yield from _workflow.ROUTES
    yield from _scores.ROUTES
    yield from _admin.ROUTES
    yield from _imports.ROUTES
    yield from _events.ROUTES
    yield from _automations.ROUTES
    yield from _notifications.ROUTES
    yield from _jobs.ROUTES
    yield from _webhooks.ROUTES
    yield from _merges.ROUTES
    yield from _ownership.ROUTES
    yield from _views.ROUTES


def init_app(app: Flask, engine: CrmEngine) -> None:
    """Serve the REST API of ``engine`` under ``/api/v1`` on ``app``.

    Routes do not depend on the definitions: entity, transition and scoring names are
    resolved per request against the live version, which every request first refreshes
    (at most once per ``CRM_RELOAD_INTERVAL`` seconds).
    """
    bind_engine(app, engine)
    blueprint = Blueprint("api", __name__, url_prefix=API_PREFIX)
    blueprint.before_request(_before_request)
    for rule, view, methods in _routes():
        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=list(methods))
    app.register_blueprint(blueprint)
