"""``crm serve``: the web app on werkzeug's development server, for local use."""

from __future__ import annotations

import click

from engine.errors import UsageError

from ._context import CliContext, pass_context


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--no-worker", is_flag=True, help="Run no background worker here (crm worker processes run the jobs instead)."
)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Background worker threads.")
@pass_context
def serve(context: CliContext, host: str, port: int, no_worker: bool, workers: int) -> None:
    """Serve the REST API (/api/v1, reference at /api/v1/docs) for local use.

    Definitions applied meanwhile (by `crm schema apply` or the API) are served within
    about a second, without a restart. In production run it under a WSGI server instead,
    one engine per worker (see docs/deploy.md):
    CRM_DATABASE_URL=postgresql://... gunicorn -w 4 'engine.web:serve_app()'

    Background jobs and periodic work (automation tick, SLA escalations) run in this process
    too, on worker threads, unless --no-worker (then run `crm worker`; see docs/jobs.md).
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
    consumer = None
    dispatcher = None
    if not no_worker:
        from engine.jobs import Dispatcher

        from ._job_commands import log_jobs_to_stderr

        queue = context.engine.jobs.queue
        log_jobs_to_stderr()
        consumer = queue.consumer(workers=workers, embedded=True)
        consumer.start()
        dispatcher = Dispatcher(context.engine).start()
        click.echo(
            f"background worker: {workers} thread(s) on the {queue.settings.describe()} queue "
            "(--no-worker to run none here)",
            err=True,
        )
    try:
        run_dev_server(app, host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port") from None
    finally:
        if consumer is not None:
            consumer.stop(graceful=False)
        if dispatcher is not None:
            dispatcher.stop()
