"""``crm record create|get|update|delete|list`` and ``crm audit``."""

from __future__ import annotations

import click

from engine.duplicates import Candidate
from engine.records import MAX_PAGE, record_json

from ._context import CliContext, parse_json_option, pass_context
from ._duplicate_commands import echo_duplicates, with_duplicates
from ._output import TABLE_CELL_WIDTH, echo_json, echo_record, echo_table
from ._shown import shown_audit, shown_records

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_allow_duplicate = click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Save even though a blocking duplicate rule finds likely duplicates (the audit records it).",
)


@click.group()
def record() -> None:
    """Create, read, update, delete and list records."""


@record.command("create")
@click.argument("entity")
@click.option("--data", required=True, metavar="JSON", help='Field values, e.g. \'{"name": "Acme"}\'.')
@_allow_duplicate
@_json_flag
@pass_context
def create_command(context: CliContext, entity: str, data: str, allow_duplicate: bool, as_json: bool) -> None:
    """Create a record of ENTITY (duplicate rules apply: see --allow-duplicate)."""
    found: list[Candidate] = []
    created = context.engine.records.create(
        entity,
        parse_json_option(data, "--data"),
        actor=context.user,
        allow_duplicate=allow_duplicate,
        found_duplicates=found,
    )
    if as_json:
        echo_json(with_duplicates(record_json(created), found))
    else:
        click.echo(f"created {entity} {created['id']}")
        echo_duplicates(entity, found)


@record.command("get")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@_json_flag
@pass_context
def get_command(context: CliContext, entity: str, record_id: int, as_json: bool) -> None:
    """Show one record (references as their record's display text and id)."""
    found = context.engine.records.get(entity, record_id, actor=context.user)
    if as_json:
        echo_json(record_json(found))
        return
    definition = context.engine.permissions.visible_entity(context.user, context.engine.model.entity(entity))
    echo_record(shown_records(context, definition, [found])[0])


@record.command("update")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--data", required=True, metavar="JSON", help="Fields to change.")
@click.option("--version", "expected_version", type=int, help="Refuse if the record is no longer at this version.")
@_allow_duplicate
@_json_flag
@pass_context
def update_command(
    context: CliContext,
    entity: str,
    record_id: int,
    data: str,
    expected_version: int | None,
    allow_duplicate: bool,
    as_json: bool,
) -> None:
    """Change fields of one record (only the fields given; duplicate rules apply)."""
    found: list[Candidate] = []
    updated = context.engine.records.update(
        entity,
        record_id,
        parse_json_option(data, "--data"),
        expected_version=expected_version,
        actor=context.user,
        allow_duplicate=allow_duplicate,
        found_duplicates=found,
    )
    if as_json:
        echo_json(with_duplicates(record_json(updated), found))
    else:
        click.echo(f"updated {entity} {record_id} (version {updated['version']})")
        echo_duplicates(entity, found)


@record.command("delete")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--version", "expected_version", type=int, help="Refuse if the record is no longer at this version.")
@_json_flag
@pass_context
def delete_command(
    context: CliContext, entity: str, record_id: int, expected_version: int | None, as_json: bool
) -> None:
    """Delete one record (references follow their on_delete rule)."""
    context.engine.records.delete(entity, record_id, expected_version=expected_version, actor=context.user)
    if as_json:
        echo_json({"deleted": {"entity": entity, "id": record_id}})
    else:
        click.echo(f"deleted {entity} {record_id}")


@record.command("list")
@click.argument("entity")
@click.option("--where", metavar="JSON", help='Filter, e.g. \'{"amount": {"gte": 1000}}\'.')
@click.option("--sort", metavar="FIELDS", help="Comma-separated fields, - for descending: -amount,title.")
@click.option("--limit", type=click.IntRange(0, MAX_PAGE), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@_json_flag
@pass_context
def list_command(
    context: CliContext, entity: str, where: str | None, sort: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """List records of ENTITY."""
    page = context.engine.records.list(
        entity, where=parse_json_option(where, "--where"), sort=sort, limit=limit, offset=offset, actor=context.user
    )
    if as_json:
        echo_json(
            {"items": [record_json(r) for r in page.items], "total": page.total, "limit": limit, "offset": offset}
        )
        return
    definition = context.engine.permissions.visible_entity(context.user, context.engine.model.entity(entity))
    columns = ["id", *list(definition.fields)[:6], "owner"]
    if definition.display and definition.display not in columns:
        columns.insert(1, definition.display)
    echo_table(shown_records(context, definition, page.items, width=TABLE_CELL_WIDTH), columns)
    shown = f"{offset + 1}-{offset + len(page.items)}" if page.items else "0"
    click.echo(f"({shown} of {page.total})")


@click.command("audit")
@click.argument("entity", required=False)
@click.argument("record_id", metavar="[ID]", type=int, required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@_json_flag
@pass_context
def audit_command(context: CliContext, entity: str | None, record_id: int | None, limit: int, as_json: bool) -> None:
    """Show the audit trail (who changed what, when, old → new), newest first."""
    rows = context.engine.records.audit(entity, record_id, limit=limit, actor=context.user)
    if as_json:
        echo_json([{**r, "at": r["at"].isoformat()} for r in rows])
    else:
        columns = ["at", "actor", "action", "entity", "record", "field", "old_value", "new_value"]
        echo_table(shown_audit(context, rows), columns)
