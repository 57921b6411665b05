"""``crm serve``: werkzeug's development server, whose own refusals are problem documents too.

Some requests never reach the app: the server itself refuses a request line longer than
:data:`MAX_REQUEST_LINE` bytes (414), a header line longer than :data:`MAX_HEADER_LINE` bytes or
more than :data:`MAX_HEADERS` headers (431), and a request it cannot parse (400). Python's
``http.server`` answers those with an HTML page; :class:`ProblemRequestHandler` answers them
as ``application/problem+json``, the body every other error of the API has (see
:mod:`engine.web._problems`). gunicorn has limits of its own: see docs/deploy.md.
"""

from __future__ import annotations

import http.client
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler, run_simple

from ._problems import _HTTP_CODES, PROBLEM_MIMETYPE, problem_body
from ._responses import dump_json

#: What Python's HTTP server accepts (``http.server`` and ``http.client`` fix these).
MAX_REQUEST_LINE = 65536
MAX_HEADER_LINE = getattr(http.client, "_MAXLINE", 65536)
MAX_HEADERS = getattr(http.client, "_MAXHEADERS", 100)

_DETAILS = {
    414: f"the request line (method, path and query) is longer than {MAX_REQUEST_LINE} bytes; "
    "shorten the query (a where with in, fewer conditions)",
    431: f"a header line is longer than {MAX_HEADER_LINE} bytes, or there are more than {MAX_HEADERS} headers",
}


class ProblemRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering the server's own refusals as problem+json."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            status = HTTPStatus(code)
            phrase, description = status.phrase, status.description
        except ValueError:
            phrase, description = "Error", ""
        detail = _DETAILS.get(code) or explain or (message if message and message != phrase else description)
        self.log_error("code %d, message %s", code, message or phrase)
        self.send_response(code, message or phrase)
        self.send_header("Connection", "close")
        self.close_connection = True
        body = dump_json(problem_body(code, _HTTP_CODES.get(code, "http_error"), detail or phrase)).encode("utf-8")
        self.send_header("Content-Type", PROBLEM_MIMETYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def run_dev_server(app: Any, host: str, port: int) -> None:
    """Serve ``app`` (a WSGI app) on werkzeug's development server, threaded, without the
    reloader and the debugger; :class:`OSError` when it cannot listen."""
    run_simple(
        host,
        port,
        app,
        threaded=True,
        use_reloader=False,
        use_debugger=False,
        request_handler=ProblemRequestHandler,
    )
