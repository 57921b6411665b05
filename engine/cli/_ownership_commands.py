"""``crm user deactivate|reactivate|handovers`` and ``crm record claim``: hand-overs when a
user leaves, and claiming accounts from the pool (see ``docs/ownership.md``)."""

from __future__ import annotations

import click

from engine.records import record_json

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.command("deactivate")
@click.argument("name")
@click.option("--transfer-to", metavar="OTHER", help="The active user who takes over every record NAME owns.")
@_json_flag
@pass_context
def user_deactivate(context: CliContext, name: str, transfer_to: str | None, as_json: bool) -> None:
    """Deactivate user NAME (no more sign-ins, tokens or sessions) and hand every record they
    own to OTHER, as one audited hand-over."""
    acting = context.require_admin("managing users and tokens")
    user, handover = context.engine.handovers.deactivate(name, transfer_to=transfer_to, actor=acting)
    if as_json:
        echo_json({"user": user.to_json() | {"active": user.active}, "handover": handover and handover.to_json()})
        return
    click.echo(f"deactivated user {user.name}")
    if handover is not None:
        moved = ", ".join(f"{n} {entity}" for entity, n in handover.records.items()) or "no records"
        click.echo(f"hand-over {handover.id}: {moved} moved to {handover.to_user}")
        if handover.still_assigned:
            left = ", ".join(f"{n} {where}" for where, n in handover.still_assigned.items())
            click.echo(f"still assigned to {user.name} (not moved; reassign them): {left}")


@click.command("reactivate")
@click.argument("name")
@_json_flag
@pass_context
def user_reactivate(context: CliContext, name: str, as_json: bool) -> None:
    """Let user NAME sign in and use their tokens again (their records stay where they went)."""
    acting = context.require_admin("managing users and tokens")
    user = context.engine.handovers.reactivate(name, actor=acting)
    if as_json:
        echo_json(user.to_json() | {"active": user.active})
    else:
        click.echo(f"reactivated user {user.name}")


@click.command("handovers")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@_json_flag
@pass_context
def user_handovers(context: CliContext, name: str | None, limit: int, as_json: bool) -> None:
    """List hand-overs, newest first (from or to NAME when given)."""
    context.require_admin("managing users and tokens")
    found = context.engine.handovers.list(user=name, limit=limit)
    if as_json:
        echo_json([h.to_json() for h in found])
        return
    rows = [
        {
            **h.to_json(),
            "records": ", ".join(f"{n} {e}" for e, n in h.records.items()) or "none",
            "at": h.at.isoformat(timespec="seconds"),
        }
        for h in found
    ]
    echo_table(rows, ["id", "from_user", "to_user", "records", "by", "at"])


@click.command("claim")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@_json_flag
@pass_context
def record_claim(context: CliContext, entity: str, record_id: int, as_json: bool) -> None:
    """Claim the unowned record ID of ENTITY from the pool: the acting user (--as) owns it
    afterwards, within the claim limit of their roles."""
    claimed = context.engine.pool.claim(entity, record_id, actor=context.user)
    if as_json:
        echo_json(record_json(claimed))
    else:
        click.echo(f"claimed {entity} {record_id}: owner {claimed['owner']}")


def add_ownership_commands(user: click.Group, record: click.Group) -> None:
    """Attach the commands of this module to the ``user`` and ``record`` groups."""
    for command in (user_deactivate, user_reactivate, user_handovers):
        user.add_command(command)
    record.add_command(record_claim)
