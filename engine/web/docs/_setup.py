"""Attaching the reference page to an app."""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from engine.runtime import CrmEngine

from .._requests import check_params
from .._state import bind_engine, web_state
from ..api import openapi_spec
from ..openapi import API_PREFIX
from ._page import render_page


def docs_page() -> Response:
    """The reference of the live definitions (rendered once per version)."""
    check_params(())
    state = web_state()
    state.refresh()
    html: str = state.cached("docs", lambda: render_page(openapi_spec()))
    return Response(html, mimetype="text/html")


def init_app(app: Flask, engine: CrmEngine) -> None:
    """Serve the API reference of ``engine`` at ``/api/v1/docs``."""
    bind_engine(app, engine)
    blueprint = Blueprint("docs", __name__, url_prefix=API_PREFIX)
    blueprint.add_url_rule("/docs", endpoint="docs_page", view_func=docs_page, methods=["GET"])
    app.register_blueprint(blueprint)
