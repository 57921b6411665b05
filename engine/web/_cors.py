"""Cross-origin requests to the REST API (CORS), off unless ``CRM_CORS_ORIGINS`` names origins.

``CRM_CORS_ORIGINS`` (the app's config, else the environment) is a comma-separated list of
origins (``https://app.example.com,http://localhost:5173``), or ``*`` for any. For an allowed
``Origin``:

- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) of an ``/api/v1`` path is
  answered ``204`` before authentication, with the origin, the API's methods, and the request
  headers it takes (``Authorization`` first; a browser sends no token in a preflight);
- every other API response carries the origin and exposes ``ETag``, ``Link``, ``Location``
  and ``Retry-After`` to the page's script.

Another origin gets no CORS header at all (its browser then refuses the response). Every API
response says ``Vary: Origin`` when CORS is on, so a cache never hands one origin's answer to
another. Cookies are never allowed (``Access-Control-Allow-Credentials`` is not sent): the API
takes bearer tokens only.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from flask import Flask, Response, current_app, request

#: The API's methods, as a preflight lists them.
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
#: The request headers a cross-origin script may send.
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Accept-Language"
#: The response headers a cross-origin script may read (besides the CORS-safelisted ones).
EXPOSED_HEADERS = "ETag, Link, Location, Retry-After"
#: How long a browser may reuse a preflight's answer (seconds).
MAX_AGE = "600"

_CONFIG = "crm_cors_origins"


def parse_origins(text: str | None) -> frozenset[str]:
    """The origins of a ``CRM_CORS_ORIGINS`` value (empty: CORS off); trailing slashes dropped."""
    return frozenset(o.strip().rstrip("/") for o in (text or "").split(",") if o.strip())


def _allowed(origins: Collection[str], origin: str | None) -> bool:
    return origin is not None and bool(origins) and ("*" in origins or origin.rstrip("/") in origins)


def _is_api(prefix: str) -> bool:
    return request.path == prefix or request.path.startswith(prefix + "/")


def _preflight() -> Response | None:
    origins: frozenset[str] = current_app.extensions[_CONFIG][0]
    prefix: str = current_app.extensions[_CONFIG][1]
    origin = request.headers.get("Origin")
    if (
        request.method != "OPTIONS"
        or "Access-Control-Request-Method" not in request.headers
        or not _is_api(prefix)
        or not _allowed(origins, origin)
    ):
        return None
    response = Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = str(origin)
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = MAX_AGE
    response.vary.add("Origin")
    return response


def _headers(response: Response) -> Response:
    origins: frozenset[str] = current_app.extensions[_CONFIG][0]
    prefix: str = current_app.extensions[_CONFIG][1]
    if not _is_api(prefix) or "Access-Control-Allow-Origin" in response.headers:
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if _allowed(origins, origin):
        response.headers["Access-Control-Allow-Origin"] = str(origin)
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def init_app(app: Flask, prefix: str) -> None:
    """Answer cross-origin requests to the paths under ``prefix`` for the configured origins
    (nothing is registered when none are)."""
    configured = app.config.get("CRM_CORS_ORIGINS")
    origins = parse_origins(configured if configured is not None else os.environ.get("CRM_CORS_ORIGINS"))
    if not origins:
        return
    app.extensions[_CONFIG] = (origins, prefix)
    app.before_request(_preflight)
    app.after_request(_headers)
