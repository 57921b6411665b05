"""The Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from engine.runtime import CrmEngine

from . import _cors, _problems
from ._state import DEFAULT_RELOAD_INTERVAL, bind_engine

#: Largest request body (CSV imports, bundles); werkzeug answers 413 beyond it.
DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024
#: The defaults; the mapping given to :func:`create_app` overrides them.
DEFAULTS: Mapping[str, Any] = {
    "MAX_CONTENT_LENGTH": DEFAULT_MAX_CONTENT_LENGTH,
    "MAX_FORM_MEMORY_SIZE": DEFAULT_MAX_CONTENT_LENGTH,
    "CRM_RELOAD_INTERVAL": DEFAULT_RELOAD_INTERVAL,
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The web application: the REST API and its reference page.

    ``CRM_CORS_ORIGINS`` (here or in the environment) lets pages of those origins call the
    API from a browser (see :mod:`engine.web._cors`).

    :param config: Flask settings plus either ``CRM_ENGINE`` (an engine the caller owns
        and closes) or ``CRM_DATABASE_URL``. Without either, ``CRM_DATABASE_URL`` comes from
        the environment (else ``crm.db`` here), so ``gunicorn 'engine.web:create_app()'``
        works as it is; each worker process then opens its own engine.
    """
    settings = dict(config or {})
    engine = settings.pop("CRM_ENGINE", None)
    app = Flask("engine.web")
    app.config.update(DEFAULTS)
    app.config.update(settings)
    owns_engine = engine is None
    if engine is None:
        engine = CrmEngine(settings.get("CRM_DATABASE_URL") or os.environ.get("CRM_DATABASE_URL"))
    if not isinstance(engine, CrmEngine):
        raise TypeError("CRM_ENGINE must be a CrmEngine")
    bind_engine(app, engine, owns_engine=owns_engine)
    _problems.init_app(app)

    from . import admin, api, docs
    from .openapi import API_PREFIX

    _cors.init_app(app, API_PREFIX)

    api.init_app(app, engine)
    docs.init_app(app, engine)
    admin.init_app(app, engine)
    return app
