"""``crm jobs``: submit, list and show background jobs; ``crm worker``: run them (administrators)."""

from __future__ import annotations

import json
import logging
import sys

import click

from engine.jobs import KINDS, STATUSES, Dispatcher, Job, worker_name

from ._context import CliContext, parse_json_option, pass_context
from ._output import echo_json, echo_table

_COLUMNS = ("id", "kind", "status", "progress", "message", "created_by", "created_at", "finished_at", "error")


def log_jobs_to_stderr() -> None:
    """Show what the workers do (jobs run, periodic slots run or skipped) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    for name in ("engine.jobs", "huey"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    logging.getLogger("huey").setLevel(logging.WARNING)


def _row(job: Job) -> dict[str, object]:
    out = job.to_json()
    total = job.progress_total
    out["progress"] = f"{job.progress_done}/{total}" if total is not None else str(job.progress_done)
    out["error"] = (job.error or "").splitlines()[0] if job.error else None
    return out


def _describe(job: Job) -> None:
    for key, value in _row(job).items():
        if key not in ("result", "error", "params"):
            click.echo(f"{key:<12}{'' if value is None else value}")
    click.echo(f"{'params':<12}{json.dumps(job.to_json()['params'], ensure_ascii=False)}")
    if job.result is not None:
        click.echo(f"{'result':<12}{json.dumps(job.result, ensure_ascii=False, default=str)}")
    if job.error:
        click.echo("error:")
        for line in job.error.splitlines():
            click.echo(f"  {line}")


@click.group()
def jobs() -> None:
    """Background jobs: imports, score runs and preset loads run by the workers, with progress."""


@jobs.command("submit")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--params", "params_text", metavar="JSON", help='The job\'s parameters, e.g. \'{"name": "core"}\'.')
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_context
def jobs_submit(context: CliContext, kind: str, params_text: str | None, as_json: bool) -> None:
    """Queue a job of KIND; a worker (crm worker, or crm serve's own) runs it."""
    user = context.require_admin("running jobs")
    params = parse_json_option(params_text, "--params") or {}
    job_id = context.engine.jobs.submit(kind, params, user=user)
    job = context.engine.jobs.get(job_id, user=user)
    if as_json:
        echo_json(job.to_json())
        return
    click.echo(f"job {job.id} ({job.kind}) queued; watch it with: crm jobs show {job.id}")


@jobs.command("list")
@click.option("--status", type=click.Choice(STATUSES), multiple=True, help="Only jobs in this status (repeatable).")
@click.option("--kind", type=click.Choice(sorted(KINDS)), help="Only jobs of this kind.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items}.")
@pass_context
def jobs_list(context: CliContext, status: tuple[str, ...], kind: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first, with their progress."""
    user = context.require_admin("reading jobs")
    found = context.engine.jobs.list(user=user, status=status, kind=kind, limit=limit)
    if as_json:
        echo_json({"items": [j.to_json() for j in found]})
        return
    if not found:
        click.echo("no jobs")
        return
    echo_table([_row(j) for j in found], _COLUMNS)


@jobs.command("show")
@click.argument("job_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_context
def jobs_show(context: CliContext, job_id: int, as_json: bool) -> None:
    """One job: its status, progress, result or error."""
    user = context.require_admin("reading jobs")
    job = context.engine.jobs.get(job_id, user=user)
    if as_json:
        echo_json(job.to_json())
        return
    _describe(job)


@click.command("worker")
@click.option("--once", is_flag=True, help="Do all due work (jobs waiting, periodic work due) and exit: for cron.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Threads taking jobs.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print what was done as JSON.")
@pass_context
def worker(context: CliContext, once: bool, workers: int, as_json: bool) -> None:
    """Run background jobs and periodic work (automation tick, SLA escalations, daily refresh).

    Any number of workers on any number of hosts can share a queue (CRM_QUEUE_URL=redis://…,
    or the PostgreSQL database itself): each job runs once, each periodic slot runs once.
    Stop it with Ctrl+C or SIGTERM (the jobs running finish first).
    """
    context.require_admin("running the worker")
    queue = context.engine.jobs.queue
    if once:
        report = queue.run_once()
        if as_json:
            echo_json(report.to_json())
            return
        for job in report.jobs:
            click.echo(
                f"job {job['id']} ({job['kind']}): {job['status']}" + (" — see crm jobs show" if job["error"] else "")
            )
        ran, skipped = report.periodic.ran, report.periodic.skipped
        click.echo(
            f"{len(report.jobs)} job(s) run; periodic work run: {', '.join(ran) or 'none'}"
            + (f"; already run by another worker: {', '.join(skipped)}" if skipped else "")
        )
        for name, error in report.periodic.failed.items():
            click.echo(f"periodic {name} failed: {error}", err=True)
        return
    queue.pending()  # an unreachable queue is one line and exit 1 now, not a log loop later
    log_jobs_to_stderr()
    click.echo(
        f"worker {worker_name()}: {workers} thread(s) on the {queue.settings.describe()} queue "
        f"({context.engine.db.url.split('://', 1)[0]} database); Ctrl+C stops",
        err=True,
    )
    dispatcher = Dispatcher(context.engine).start()  # webhooks and background runs, seconds after
    try:
        queue.consumer(workers=workers).run()
    finally:
        dispatcher.stop()
