"""``crm import`` (and ``crm import list`` / ``revert``) and ``crm export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.transfer import (
    ENCODINGS,
    ImportFormat,
    delimiter_of,
    export_csv,
    import_csv,
    list_imports,
    read_mapping,
    revert_import,
)

from ._context import CliContext, parse_json_option, pass_context
from ._output import echo_json, echo_table
from ._progress import terminal_progress

_IMPORT_COLUMNS = (
    "id",
    "entity",
    "file_name",
    "actor",
    "started_at",
    "status",
    "inserted",
    "updated",
    "unchanged",
    "rejected",
)


class _ImportGroup(click.Group):
    """``crm import ENTITY FILE`` imports; ``crm import list`` and ``crm import revert ID``
    are its subcommands (so an entity cannot be called ``list`` or ``revert`` here)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args[:1] not in (["--help"], ["-h"]) and (not args or args[0] not in self.commands):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("import", cls=_ImportGroup)
def import_group() -> None:
    """Import records from a CSV file; list imports and revert them.

    crm import ENTITY FILE [OPTIONS] is short for crm import run ENTITY FILE [OPTIONS]
    (its options: crm import run --help).
    """


@import_group.command("run")
@click.argument("entity")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--on-error",
    type=click.Choice(["abort", "skip"]),
    default="abort",
    show_default=True,
    help="abort: any bad line imports nothing; skip: import the good lines.",
)
@click.option(
    "--rejects", type=click.Path(path_type=Path, dir_okay=False), help="Write skipped lines and their errors here."
)
@click.option("--key", metavar="FIELD", help="Upsert: update records whose FIELD (id or a unique field) exists.")
@click.option("--dry-run", is_flag=True, help="Check every line against the database and report; write nothing.")
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Import lines a block duplicate rule matches (reported; the audit records the override).",
)
@click.option("--delimiter", metavar="CHAR", help="The cell separator: one character, or tab, semicolon, pipe.")
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default="utf-8",
    show_default=True,
    help="The file's encoding (gbk/gb18030: CSV saved by Chinese Excel; a UTF-8 BOM is always read as UTF-8).",
)
@click.option(
    "--map",
    "mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help='A JSON file of "CSV column": "field" (null leaves a column out).',
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(
    ctx: click.Context,
    entity: str,
    file: Path,
    on_error: str,
    rejects: Path | None,
    key: str | None,
    dry_run: bool,
    allow_duplicate: bool,
    delimiter: str | None,
    encoding: Any,
    mapping: Path | None,
    as_json: bool,
) -> None:
    """Import records of ENTITY from a CSV FILE.

    The header names fields; a reference may be named by a unique field of its target
    (account.code) or its display field (account.name) instead of the id.
    """
    context: CliContext = ctx.obj
    context.require_admin("import")
    file_format = ImportFormat(
        delimiter=delimiter_of(delimiter),
        encoding=encoding,
        mapping=read_mapping(mapping) if mapping is not None else {},
        mapping_source=str(mapping) if mapping is not None else "the mapping",
    )
    report = import_csv(
        context.engine,
        entity,
        file,
        on_error=on_error,  # type: ignore[arg-type]
        rejects=rejects,
        key=key,
        actor=context.user,
        progress=terminal_progress(),
        dry_run=dry_run,
        file_format=file_format,
        allow_duplicate=allow_duplicate,
    )
    if as_json:
        echo_json(report.to_json())
    else:
        rate = report.lines / report.seconds if report.seconds else 0
        counts = (
            f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected} rejected ({report.lines} lines in {report.seconds:.1f}s, {rate:,.0f} lines/s)"
        )
        if dry_run:
            click.echo(f"{entity} (dry run, nothing written): would be {counts}")
        else:
            click.echo(f"import {report.import_id}: {entity}: {counts}")
        if report.ignored_columns:
            click.echo(f"ignored columns the engine maintains: {', '.join(report.ignored_columns)}")
        if report.duplicates:
            lines = len({d.line for d in report.duplicates})
            click.echo(f"{lines} line(s) {'would be ' if dry_run else ''}imported although a duplicate rule matched:")
            for found in report.duplicates[:20]:
                click.echo(f"  {found.format(entity)}")
            if len(report.duplicates) > 20:
                click.echo(f"  … and {len(report.duplicates) - 20} more (crm import --json lists them all)")
        for problem in report.problems[:20]:
            click.echo(f"  {problem.format()}", err=True)
        if len(report.problems) > 20:
            click.echo(f"  … and {len(report.problems) - 20} more" + (f" (see {rejects})" if rejects else ""), err=True)
    if report.rejected:
        ctx.exit(3)


@import_group.command("list")
@click.option("--entity", help="Only imports of this entity.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the imports as JSON.")
@pass_context
def import_list(context: CliContext, entity: str | None, limit: int, as_json: bool) -> None:
    """The latest imports, newest first: who imported which file when, and the counts."""
    context.require_admin("import list")
    found = list_imports(context.engine, entity=entity, limit=limit)
    if as_json:
        echo_json(found)
    elif not found:
        click.echo("no imports")
    else:
        echo_table(found, _IMPORT_COLUMNS)


@import_group.command("revert")
@click.argument("import_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def import_revert(context: CliContext, import_id: int, as_json: bool) -> None:
    """Delete the records import IMPORT_ID created and restore those it updated (refused,
    naming the records, where a later change would be lost)."""
    context.require_admin("import revert")
    result = revert_import(context.engine, import_id, actor=context.user)
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(
            f"import {import_id} reverted: {result.deleted} {result.entity} record(s) deleted, "
            f"{result.restored} restored"
        )


@click.command("export")
@click.argument("entity")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--where", metavar="JSON", help="Only records matching this filter.")
@click.option(
    "--raw",
    is_flag=True,
    help="Write text as stored: no ' before text starting with = + - @ (for programs, not spreadsheets).",
)
@pass_context
def export_command(context: CliContext, entity: str, file: Path, where: str | None, raw: bool) -> None:
    """Export records of ENTITY to a CSV FILE."""
    count = export_csv(
        context.engine,
        entity,
        file,
        where=parse_json_option(where, "--where"),
        progress=terminal_progress(),
        actor=context.user,
        raw=raw,
    )
    click.echo(f"exported {count} {entity} record(s) to {file}")
