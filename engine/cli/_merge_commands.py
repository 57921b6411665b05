"""``crm record merge`` and ``crm merge list|show|undo``: merging duplicates, and undoing it."""

from __future__ import annotations

from typing import Any

import click

from engine.errors import Problem, UsageError
from engine.merge import MAX_MERGES

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def parse_take(values: tuple[str, ...]) -> dict[str, str]:
    """``--take FIELD=source`` options as ``{field: side}``; every malformed one at once."""
    take: dict[str, str] = {}
    problems = []
    for value in values:
        name, sep, side = value.partition("=")
        if not sep or not name.strip() or side.strip() not in ("source", "target"):
            problems.append(
                Problem(code="take", field=name.strip() or value, message=f'write --take FIELD=source, not "{value}"')
            )
        else:
            take[name.strip()] = side.strip()
    if problems:
        raise UsageError("; ".join(p.message for p in problems), problems)
    return take


@click.command("merge")
@click.argument("entity")
@click.argument("source_id", metavar="SOURCE_ID", type=int)
@click.option("--into", "target_id", required=True, type=int, metavar="TARGET_ID", help="The record that remains.")
@click.option(
    "--take",
    multiple=True,
    metavar="FIELD=source",
    help="Keep the source's value of FIELD (repeat for several); otherwise the target's, unless empty.",
)
@_json_flag
@pass_context
def merge_record_command(
    context: CliContext, entity: str, source_id: int, target_id: int, take: tuple[str, ...], as_json: bool
) -> None:
    """Merge SOURCE_ID into TARGET_ID: references move to the target, the source is removed
    (undo with crm merge undo)."""
    merged = context.engine.merges.merge(entity, source_id, into=target_id, take=parse_take(take), actor=context.user)
    if as_json:
        merged.pop("record", None)
        merged.pop("source_row", None)
        echo_json(merged)
        return
    moved = sum(g["count"] for g in merged["repointed"])
    taken = ", ".join(merged["taken"]) or "none"
    click.echo(
        f"merged {entity} {source_id} into {target_id} (merge {merged['id']}): "
        f"{moved} reference(s) moved, target fields written: {taken}"
    )
    click.echo(f"  undo with: crm merge undo {merged['id']}")


@click.group("merge")
def merge_group() -> None:
    """List, show and undo record merges."""


@merge_group.command("list")
@click.option("--entity", metavar="ENTITY", help="Only merges of this entity.")
@click.option("--limit", type=click.IntRange(1, MAX_MERGES), default=50, show_default=True)
@_json_flag
@pass_context
def list_command(context: CliContext, entity: str | None, limit: int, as_json: bool) -> None:
    """Merges, newest first."""
    found = context.engine.merges.list(entity, limit=limit, actor=context.user)
    if as_json:
        echo_json(found)
        return
    echo_table([_row(m) for m in found], ["id", "entity", "source", "target", "moved", "actor", "merged_at", "undone"])


@merge_group.command("show")
@click.argument("merge_id", metavar="MERGE_ID", type=int)
@_json_flag
@pass_context
def show_command(context: CliContext, merge_id: int, as_json: bool) -> None:
    """One merge: the fields taken, the references moved, the source as it was."""
    found = context.engine.merges.get(merge_id, actor=context.user)
    if as_json:
        echo_json(found)
        return
    row = _row(found)
    for key in ("id", "entity", "source", "target", "actor", "merged_at", "undone"):
        click.echo(f"{key:<10} {row[key]}")
    for name, values in found["taken"].items():
        click.echo(f"taken      {name}: {values['old']!r} -> {values['new']!r}")
    for group in found["repointed"]:
        click.echo(f"moved      {group['count']} {group['entity']}.{group['field']}")


@merge_group.command("undo")
@click.argument("merge_id", metavar="MERGE_ID", type=int)
@_json_flag
@pass_context
def undo_command(context: CliContext, merge_id: int, as_json: bool) -> None:
    """Undo a merge: the source back under its id, with its references and the target's values."""
    undone = context.engine.merges.undo(merge_id, actor=context.user)
    if as_json:
        echo_json(undone)
        return
    click.echo(f"undid merge {merge_id}: {undone['entity']} {undone['source']} restored")


def _row(merge: dict[str, Any]) -> dict[str, Any]:
    return {
        **merge,
        "moved": sum(g["count"] for g in merge["repointed"]),
        "undone": merge["undone_at"] or "",
    }
