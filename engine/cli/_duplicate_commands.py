"""``crm duplicates scan``, and how record commands show the candidates of warn rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from engine.duplicates import Candidate

from ._context import CliContext, pass_context
from ._output import echo_json
from ._progress import terminal_progress


def with_duplicates(record: dict[str, Any], found: Sequence[Candidate]) -> dict[str, Any]:
    """A record's JSON with the candidates found beside it (``_duplicates``: no field can
    have that name), when there are any."""
    if found:
        record["_duplicates"] = [c.to_json() for c in found]
    return record


def echo_duplicates(entity: str, found: Sequence[Candidate]) -> None:
    """One warning line per candidate (on stderr: the result line stays the first on stdout)."""
    for c in found:
        shown = f' "{c.display}"' if c.display else ""
        click.echo(
            f"warning: likely a duplicate of {entity} {c.id}{shown} (rule {c.rule}, similarity {c.similarity:g})",
            err=True,
        )


@click.group()
def duplicates() -> None:
    """Find likely duplicate records by the entities' duplicate rules."""


@duplicates.command("scan")
@click.argument("entity")
@click.option("--rule", metavar="NAME", help="Only this duplicate rule of ENTITY.")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@pass_context
def scan_command(context: CliContext, entity: str, rule: str | None, as_json: bool) -> None:
    """Groups of likely duplicates over the whole table of ENTITY, largest first."""
    groups = context.engine.duplicates.scan(entity, actor=context.user, rule=rule, progress=terminal_progress())
    if as_json:
        echo_json({"entity": entity, "groups": [g.to_json() for g in groups]})
        return
    if not groups:
        click.echo(f"no likely duplicates of {entity}")
        return
    for g in groups:
        click.echo(f"{g.rule} ({g.action}, similarity {g.similarity:g}): {len(g.ids)} records")
        for record_id in g.ids:
            click.echo(f"  {entity} {record_id}  {g.displays.get(record_id, '')}".rstrip())
    click.echo(f"{len(groups)} group(s) of likely duplicates")
