"""``crm automation``: run what is due (tick), list runs, retry a failed one (administrators)."""

from __future__ import annotations

import click

from engine.automations import tick
from engine.clock import utcnow

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_COLUMNS = ("id", "automation", "entity", "record_id", "trigger", "status", "attempts", "created_at", "error")


@click.group()
def automation() -> None:
    """Automations: run what is due, see every run, retry failed runs."""


@automation.command("tick")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: what was planned and run.")
@pass_context
def automation_tick(context: CliContext, as_json: bool) -> None:
    """Run everything due once: date and schedule triggers, background runs waiting, SLA
    escalations, and (once a day) the refresh of derived fields that read the clock.

    Safe to run again, late, or from several machines at once: nothing fires twice. Run it
    from cron every minute when no worker runs (crm serve and crm worker run it themselves).
    """
    context.require_admin("running automations")
    report = tick(context.engine, now=utcnow())
    if as_json:
        echo_json(report.to_json())
        return
    for name, count in sorted(report.planned.items()):
        click.echo(f"{name}: {count} run(s) planned")
    click.echo(
        f"{report.ran} run(s) ran, {report.escalations} escalation(s) fired, "
        f"{report.webhooks} webhook delivery(ies) sent"
    )
    if report.refreshed is not None:
        moved = sum(report.refreshed.values())
        click.echo(f"daily refresh: {moved} record(s) changed")


@automation.command("runs")
@click.argument("name", required=False)
@click.option("--failed", is_flag=True, help="Only runs that failed (after their last attempt).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items}.")
@pass_context
def automation_runs(context: CliContext, name: str | None, failed: bool, limit: int, as_json: bool) -> None:
    """List automation runs, newest first (of the automation NAME only, when given)."""
    user = context.require_admin("reading automation runs")
    found = context.engine.automations.runs(user=user, automation=name, failed=failed, limit=limit)
    if as_json:
        echo_json({"items": [r.to_json() for r in found]})
        return
    if not found:
        click.echo("no runs" + (" failed" if failed else ""))
        return
    echo_table([r.to_json() for r in found], _COLUMNS)


@automation.command("retry")
@click.argument("run_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@pass_context
def automation_retry(context: CliContext, run_id: int, as_json: bool) -> None:
    """Run a failed run again now; prints how it went."""
    user = context.require_admin("retrying automation runs")
    run = context.engine.automations.retry(run_id, user=user)
    if as_json:
        echo_json(run.to_json())
        return
    click.echo(f"run {run.id} of {run.automation}: {run.status}" + (f" ({run.error})" if run.error else ""))
