"""``crm events list``: the outbox, what every committed write did (administrators only)."""

from __future__ import annotations

from typing import Any

import click

from engine.events import EVENT_TYPES, MAX_EVENTS

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_COLUMNS = ("id", "occurred_at", "type", "entity", "record_id", "actor", "summary")


@click.group()
def events() -> None:
    """Read the events of committed writes (record created, updated, deleted, transitioned …)."""


@events.command("list")
@click.option("--since", type=click.IntRange(min=0), default=0, metavar="ID", help="Only events after this id.")
@click.option("--entity", metavar="ENTITY", help="Only events of this entity.")
@click.option("--type", "types", multiple=True, type=click.Choice(EVENT_TYPES), help="Only events of this type.")
@click.option("--limit", type=click.IntRange(1, MAX_EVENTS), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {items, next_since}.")
@pass_context
def events_list(
    context: CliContext, since: int, entity: str | None, types: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """List events oldest first; pass the last id shown as --since to read on from there."""
    user = context.require_admin("reading the event log")
    if entity is not None:
        context.engine.model.entity(entity)  # an unknown entity is an error, not an empty list
    found = context.engine.events.list(user=user, since=since, entity=entity, types=types, limit=limit)
    if as_json:
        echo_json({"items": [e.to_json() for e in found], "next_since": found[-1].id if found else since})
        return
    if not found:
        click.echo(f"no events after {since}")
        return
    echo_table([{**e.to_json(), "summary": _summary(e.type, e.payload)} for e in found], _COLUMNS)


def _summary(kind: str, payload: dict[str, Any]) -> str:
    """One line of what happened, for the table."""
    changes = payload.get("changes")
    if kind == "record.updated" and isinstance(changes, dict):
        return ", ".join(sorted(changes))
    if kind == "record.transitioned":
        return f"{payload.get('transition')}: {payload.get('from_state')} → {payload.get('to_state')}"
    if kind == "records.imported":
        lines = payload.get("lines")
        where = f", lines {lines[0]}–{lines[1]}" if isinstance(lines, list) and len(lines) == 2 else ""
        return f"{payload.get('records')} records{where}" + (" (demo data)" if payload.get("source") == "demo" else "")
    if kind == "score.changed":
        return f"{payload.get('scoring')}: {payload.get('old_value')} → {payload.get('value')}"
    if kind == "scores.recomputed":
        return f"{payload.get('scoring')}: {payload.get('changed')} of {payload.get('scored')} changed"
    return ""
