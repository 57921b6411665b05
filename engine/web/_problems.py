"""The one place errors become HTTP responses: ``application/problem+json`` (RFC 9457).

Every error of the engine (:class:`~engine.errors.CrmError`), every HTTP error werkzeug
raises (unknown route, method not allowed, body too large) and every unexpected exception
is answered here, with the same body::

    {"type": "urn:crm-engine:problem:<code>", "title": "Not Found", "status": 404,
     "detail": "...", "code": "<code>", "errors": [{"code", "message", "pointer"|"field"|"file"|"line"}]}

Bad input is always a 4xx. A 500 says only that something failed (the traceback goes to
the log, never into the body).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from engine.errors import ConflictError, CrmError, Problem

from ._language import localized, request_language, title
from ._responses import dump_json

PROBLEM_MIMETYPE = "application/problem+json"
logger = logging.getLogger("engine.web")

#: Codes of werkzeug's HTTP errors (the ones a client can cause).
_HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    411: "length_required",
    412: "precondition_failed",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    428: "precondition_required",
    429: "too_many_requests",
    431: "headers_too_large",
}


# -- errors only the web layer raises -------------------------------------------------------
class InvalidBodyError(CrmError):
    """The request body is not what the operation takes (not JSON, not an object, bad keys)."""

    code = "invalid_body"
    http_status = 400


class InvalidParameterError(CrmError):
    """A query parameter or header has a wrong value or is not known to the operation."""

    code = "invalid_parameter"
    http_status = 400


class UnsupportedMediaTypeError(CrmError):
    code = "unsupported_media_type"
    http_status = 415


class UploadError(CrmError):
    """An uploaded bundle is unsafe or unreadable (paths outside it, too large, not a zip)."""

    code = "invalid_upload"
    http_status = 400


class PayloadTooLargeError(CrmError):
    code = "too_large"
    http_status = 413


# -- turning them into responses ------------------------------------------------------------
def problem_body(status: int, code: str, detail: str, problems: Iterable[Problem] = ()) -> dict[str, Any]:
    """The body of a problem document (what :func:`problem_response` sends); its title in
    the request's language."""
    return {
        "type": f"urn:crm-engine:problem:{code}",
        "title": title(status, request_language()),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [p.to_json() for p in problems],
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    problems: Iterable[Problem] = (),
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """An ``application/problem+json`` response."""
    body = problem_body(status, code, detail, problems)
    if extra:
        body.update(extra)
    response = Response(dump_json(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _crm_error(error: CrmError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="crm"'} if error.http_status == 401 else None
    detail, problems = localized(error)
    if _stale_precondition(error):
        # the version the client read came as If-Match: RFC 9110 says 412 (a body version stays 409)
        return problem_response(412, "precondition_failed", detail, problems)
    return problem_response(error.http_status, error.code, detail, problems, headers=headers)


def _stale_precondition(error: CrmError) -> bool:
    return (
        isinstance(error, ConflictError)
        and "If-Match" in request.headers
        and any(p.code == "stale_version" for p in error.problems)
    )


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    detail = error.description or HTTP_STATUS_CODES.get(status, "")
    if status == 404:
        detail = f"there is no route {request.method} {request.path}; the API is described at /api/v1/openapi.json"
    elif status == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        detail = f"{request.path} does not take {request.method}" + (f"; it takes {allowed}" if allowed else "")
    elif status == 413:
        detail = "the request body is too large"
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem_response(status, code, detail, headers=headers)


def _database_error(error: sa.exc.SQLAlchemyError) -> Response:
    if isinstance(error, sa.exc.DataError):
        # A value the engine let through but the database refused (out of a column's range):
        # the client's input, so a 4xx; logged because the engine should have caught it.
        logger.warning("database refused a value: %s", str(error).splitlines()[0])
        return problem_response(400, "invalid_value", "the database refused a value of this request; check the values")
    if isinstance(error, sa.exc.IntegrityError):
        logger.warning("database constraint refused a change: %s", str(error).splitlines()[0])
        return problem_response(
            409, "conflict", "a database constraint refused this change (a value taken, a record gone)"
        )
    if isinstance(error, sa.exc.OperationalError) and not _unreachable(error):
        # a statement the database would not run (too large, too deep, too many variables):
        # this request's doing, not an outage
        logger.warning("database refused a statement: %s", str(error).splitlines()[0])
        return problem_response(
            400, "query_refused", "the database refused to run this query; narrow the filter, the sort or the page"
        )
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
        logger.error("database unavailable: %s", str(error).splitlines()[0])
        return problem_response(
            503, "database_unavailable", "the database cannot be reached; try again later", headers={"Retry-After": "5"}
        )
    return _unexpected(error)


#: What a database says when it cannot be reached or used at all (any statement would fail).
_UNREACHABLE = (
    "unable to open database",
    "database is locked",
    "disk i/o error",
    "could not connect",
    "connection",
    "server closed",
    "terminating",
    "the database system is",
    "timeout expired",
    "no route to host",
    "name or service not known",
    "too many clients",
    "readonly database",
)


def _unreachable(error: sa.exc.OperationalError) -> bool:
    """Whether an operational error is an outage (503) rather than a refused statement."""
    if error.connection_invalidated:
        return True
    text = str(error.orig if error.orig is not None else error).lower()
    return any(marker in text for marker in _UNREACHABLE)


def _unexpected(error: Exception) -> Response:
    logger.exception("unexpected error in %s %s", request.method, request.path, exc_info=error)
    return problem_response(500, "internal_error", "the server failed to answer this request; it has been logged")


#: ``app.extensions`` key of the function that may show a problem as a page instead (the
#: admin UI does, to a browser on its pages); it returns ``None`` to keep the document.
PAGE_RENDERER = "crm_problem_page"
ProblemPage = Callable[[Exception, Response], Response | None]


def _any_error(error: Exception) -> Response:
    if isinstance(error, CrmError):
        response = _crm_error(error)
    elif isinstance(error, HTTPException):
        response = _http_error(error)
    elif isinstance(error, sa.exc.SQLAlchemyError):
        response = _database_error(error)
    else:
        response = _unexpected(error)
    page: ProblemPage | None = current_app.extensions.get(PAGE_RENDERER)
    return (page(error, response) if page is not None else None) or response


def init_app(app: Flask) -> None:
    """Answer every error of ``app`` with a problem document (or, where a page renderer is
    registered under :data:`PAGE_RENDERER` and wants it, a page built from the document)."""
    app.register_error_handler(Exception, _any_error)
