"""Errors on admin pages shown as pages: a browser that asked for an admin page and met an
error (an unknown address, a record it may not open, a refused request) gets a page in
the admin's look and the user's language, with what went wrong and a way back, instead
of the raw ``application/problem+json`` document the API answers with.

The problem document is built first, in one place (``engine.web._problems``), for every
caller; this module only re-presents it, and only to clients that prefer HTML on the
admin's own URLs, so API clients and scripts keep the document they rely on.
"""

from __future__ import annotations

import functools
import json

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from engine.web._problems import PAGE_RENDERER, PROBLEM_MIMETYPE

from ._i18n import say, word

#: Statuses with a heading of their own; others share ``error_other`` (4xx) or ``error_500``.
_HEADINGS = {400: "error_400", 401: "error_401", 403: "error_403", 404: "error_404", 409: "error_409"}
#: Bare HTTP errors (no engine error behind them) explained in the user's words.
_EXPLAINED = {403: "error_403_explained", 404: "error_404_explained"}


def _wants_page(prefix: str) -> bool:
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return False
    # a browser names text/html; a script sending */* (curl) or nothing keeps the document
    named = {mimetype: quality for mimetype, quality in request.accept_mimetypes}
    return named.get("text/html", 0) > 0 and named.get("text/html", 0) >= named.get(PROBLEM_MIMETYPE, 0)


def problem_page(error: Exception, problem: Response, *, prefix: str) -> Response | None:
    """The page showing ``problem`` (the problem+json response to ``error``) to a browser on
    a page under ``prefix``, or ``None`` to keep the document."""
    if problem.mimetype != PROBLEM_MIMETYPE or not _wants_page(prefix):
        return None
    body = json.loads(problem.get_data(as_text=True))
    status = int(body.get("status", problem.status_code))
    key = _HEADINGS.get(status, "error_500" if status >= 500 else "error_other")
    detail = body.get("detail", "")
    if isinstance(error, HTTPException) and status in _EXPLAINED:
        # the router's or the view's bare status: say what it means to a user, in their language
        detail = say(_EXPLAINED[status])
    html = render_template(
        "crm_admin/error.html",
        status=status,
        heading=word(key),
        detail=detail,
        code=body.get("code", ""),
        problems=body.get("errors", []),
    )
    page = Response(html, status=problem.status_code, mimetype="text/html")
    for name, value in problem.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            page.headers[name] = value
    return page


def init_app(app: Flask, prefix: str) -> None:
    """Show the errors of the pages under ``prefix`` as pages (see the module's docstring)."""
    app.extensions[PAGE_RENDERER] = functools.partial(problem_page, prefix=prefix)
