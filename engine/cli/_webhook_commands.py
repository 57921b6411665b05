"""``crm webhook``: subscriptions of other systems to the engine's events (administrators)."""

from __future__ import annotations

import sys

import click

from engine.errors import UsageError
from engine.webhooks import EVENTS

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_LIST_COLUMNS = ("name", "url", "entity", "events", "enabled", "disabled_reason", "cursor")
_DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "type",
    "entity",
    "record_id",
    "status",
    "attempts",
    "last_status",
    "next_attempt_at",
    "last_error",
)


@click.group()
def webhook() -> None:
    """Webhooks: send the engine's events, signed, to other systems."""


@webhook.command("create")
@click.argument("name")
@click.option("--url", required=True, help="Where to POST events (https://…).")
@click.option("--entity", metavar="ENTITY", help="Only events of this entity (default: every entity).")
@click.option(
    "--events",
    "event_list",
    default=",".join(EVENTS),
    show_default=True,
    metavar="LIST",
    help="Comma-separated: " + ", ".join(EVENTS) + ".",
)
@click.option("--secret-stdin", is_flag=True, help="Read the signing secret from the first line of standard input.")
@pass_context
def webhook_create(
    context: CliContext, name: str, url: str, entity: str | None, event_list: str, secret_stdin: bool
) -> None:
    """Subscribe URL to the events from now on, signed with a secret read from standard input
    (it is stored and never shown again)."""
    user = context.require_admin("managing webhooks")
    if not secret_stdin:
        raise UsageError("give the signing secret on standard input with --secret-stdin (it never goes in arguments)")
    secret = sys.stdin.readline().rstrip("\r\n")
    found = context.engine.webhooks.create(
        name, url=url, secret=secret, entity=entity, events=event_list.split(","), user=user
    )
    click.echo(
        f"webhook {found.name} created: {','.join(found.events)} events"
        + (f" of {found.entity}" if found.entity else "")
        + f" to {found.url}"
    )


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items}.")
@pass_context
def webhook_list(context: CliContext, as_json: bool) -> None:
    """List the subscriptions (their secrets are never shown)."""
    user = context.require_admin("reading webhooks")
    found = context.engine.webhooks.list(user=user)
    if as_json:
        echo_json({"items": [s.to_json() for s in found]})
        return
    if not found:
        click.echo("no webhook subscriptions")
        return
    echo_table([{**s.to_json(), "events": ",".join(s.events)} for s in found], _LIST_COLUMNS)


@webhook.command("disable")
@click.argument("name")
@pass_context
def webhook_disable(context: CliContext, name: str) -> None:
    """Stop sending to NAME; its events wait and follow when it is enabled again."""
    user = context.require_admin("managing webhooks")
    context.engine.webhooks.disable(name, user=user)
    click.echo(f"webhook {name} disabled")


@webhook.command("enable")
@click.argument("name")
@pass_context
def webhook_enable(context: CliContext, name: str) -> None:
    """Send to NAME again, starting with the events that waited."""
    user = context.require_admin("managing webhooks")
    context.engine.webhooks.enable(name, user=user)
    click.echo(f"webhook {name} enabled")


@webhook.command("delete")
@click.argument("name")
@pass_context
def webhook_delete(context: CliContext, name: str) -> None:
    """Remove NAME and its deliveries."""
    user = context.require_admin("managing webhooks")
    context.engine.webhooks.delete(name, user=user)
    click.echo(f"webhook {name} deleted")


@webhook.command("deliveries")
@click.argument("name")
@click.option("--failed", is_flag=True, help="Only deliveries that failed (dead, or waiting for a retry).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items}.")
@pass_context
def webhook_deliveries(context: CliContext, name: str, failed: bool, limit: int, as_json: bool) -> None:
    """List the deliveries of NAME, newest first."""
    user = context.require_admin("reading webhooks")
    found = context.engine.webhooks.deliveries(name, user=user, failed_only=failed, limit=limit)
    if as_json:
        echo_json({"items": [d.to_json() for d in found]})
        return
    if not found:
        click.echo("no deliveries" + (" failed" if failed else ""))
        return
    echo_table([d.to_json() for d in found], _DELIVERY_COLUMNS)


@webhook.command("replay")
@click.argument("name")
@click.option("--failed", is_flag=True, help="The dead deliveries (the default).")
@click.option("--since", "since", type=click.IntRange(min=0), metavar="EVENT_ID", help="Every event after this id.")
@pass_context
def webhook_replay(context: CliContext, name: str, failed: bool, since: int | None) -> None:
    """Send again the dead deliveries of NAME, or every event after --since EVENT_ID; then
    run the deliveries due once."""
    user = context.require_admin("replaying webhooks")
    if failed and since is not None:
        raise UsageError("give either --failed or --since EVENT_ID, not both")
    queued = context.engine.webhooks.replay(name, user=user, failed=since is None, since_event_id=since)
    sent = context.engine.webhooks.work()
    click.echo(f"{queued} delivery(ies) queued again, {sent} sent now")


@webhook.command("deliver")
@pass_context
def webhook_deliver(context: CliContext) -> None:
    """Fan out new events and run the deliveries due, once (crm automation tick does it too;
    run either from cron when no worker runs)."""
    context.require_admin("running webhook deliveries")
    sent = context.engine.webhooks.work()
    click.echo(f"{sent} delivery(ies) sent")
