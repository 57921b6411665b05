"""The web edge: a Flask app serving the REST API (``/api/v1``) and its reference page.

``create_app()`` builds the app; each subsystem attaches itself with ``init_app(app,
engine)`` (``engine.web.api``, ``engine.web.docs``). ``serve_app()`` is the production
entry point (``gunicorn 'engine.web:serve_app()'``): it rebuilds the app when the
definitions change. See ``README.md`` beside this file.
"""

from __future__ import annotations

from ._app import create_app
from ._problems import PROBLEM_MIMETYPE, problem_response
from ._state import WebState, bind_engine, current_engine, web_state
from ._swap import WORKER_HEADER, SwappingApp, serve_app
from ._users import current_user, require_admin

__all__ = [
    "PROBLEM_MIMETYPE",
    "WORKER_HEADER",
    "SwappingApp",
    "WebState",
    "bind_engine",
    "create_app",
    "current_engine",
    "current_user",
    "problem_response",
    "require_admin",
    "serve_app",
    "web_state",
]
