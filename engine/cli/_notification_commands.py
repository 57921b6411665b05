"""``crm notifications``: what the notify actions told users (everyone's for an administrator,
one's own with ``--as``)."""

from __future__ import annotations

import click

from engine.notifications import MAX_PAGE

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_COLUMNS = ("id", "user", "created_at", "topic", "title", "entity", "record_id", "read")


@click.command("notifications")
@click.option("--user", "of_user", metavar="USER", help="Only USER's notifications (yours with --as).")
@click.option("--unread", is_flag=True, help="Only unread notifications.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items, unread}.")
@pass_context
def notifications_command(context: CliContext, of_user: str | None, unread: bool, limit: int, as_json: bool) -> None:
    """List notifications, newest first: everyone's (administrators), or USER's.

    Acting as a user who is no administrator (--as NAME), only that user's own are shown.
    """
    acting = context.user
    if of_user is None and not acting.is_admin:
        of_user = acting.name
    if of_user is not None and of_user != acting.name:
        context.require_admin("reading another user's notifications")
    service = context.engine.notifications
    if of_user is None:
        found = service.all_users(unread_only=unread, limit=limit)
    else:
        found = service.list(of_user, unread_only=unread, limit=limit)
    if as_json:
        out: dict[str, object] = {"items": [n.to_json() for n in found]}
        if of_user is not None:
            out["unread"] = service.unread_count(of_user)
        echo_json(out)
        return
    if not found:
        click.echo("no notifications" + (" unread" if unread else ""))
        return
    echo_table([n.to_json() for n in found], _COLUMNS)
