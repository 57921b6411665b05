"""The web edge: a Flask app serving the REST API (``/api/v1``) and its reference page.

``create_app()`` builds the app; each subsystem attaches itself with ``init_app(app,
engine)`` (``engine.web.api``, ``engine.web.docs``). See ``README.md`` beside this file.
"""

from __future__ import annotations

from ._app import create_app
from ._problems import PROBLEM_MIMETYPE, problem_response
from ._state import WebState, bind_engine, current_engine, web_state
from ._users import USER_HEADER, current_user, require_admin

__all__ = [
    "PROBLEM_MIMETYPE",
    "USER_HEADER",
    "WebState",
    "bind_engine",
    "create_app",
    "current_engine",
    "current_user",
    "problem_response",
    "require_admin",
    "web_state",
]
