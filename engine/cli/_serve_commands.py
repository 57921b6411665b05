"""``crm serve``: the web app on werkzeug's development server, for local use."""

from __future__ import annotations

import click

from engine.errors import UsageError

from ._context import CliContext, pass_context


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@pass_context
def serve(context: CliContext, host: str, port: int) -> None:
    """Serve the REST API (/api/v1, reference at /api/v1/docs) for local use.

    Definitions applied meanwhile (by `crm schema apply` or the API) are served within
    about a second, without a restart. In production run it under a WSGI server instead,
    one engine per worker (see docs/deploy.md):
    CRM_DATABASE_URL=postgresql://... gunicorn -w 4 'engine.web:serve_app()'
    """
    from engine.web._dev_server import run_dev_server
    from engine.web._swap import SwappingApp, environment_settings

    app = SwappingApp(environment_settings(), engine=context.engine)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    click.echo(
        f"serving the {context.engine.db.url.split('://', 1)[0]} database: sign in at {base}/admin, "
        f"REST API at {base}/api/v1 (reference: {base}/api/v1/docs); Ctrl+C stops",
        err=True,
    )
    try:
        run_dev_server(app, host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port") from None
