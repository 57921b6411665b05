"""``crm import`` and ``crm export``."""

from __future__ import annotations

from pathlib import Path

import click

from engine.transfer import export_csv, import_csv

from ._context import CliContext, parse_json_option, pass_context
from ._output import echo_json
from ._progress import terminal_progress


@click.command("import")
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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_command(
    ctx: click.Context, entity: str, file: Path, on_error: str, rejects: Path | None, key: str | None, as_json: bool
) -> None:
    """Import records of ENTITY from a CSV FILE (header = field names)."""
    context: CliContext = ctx.obj
    context.require_admin("import")
    report = import_csv(
        context.engine,
        entity,
        file,
        on_error=on_error,  # type: ignore[arg-type]
        rejects=rejects,
        key=key,
        actor=context.user,
        progress=terminal_progress(),
    )
    if as_json:
        echo_json(report.to_json())
    else:
        rate = report.lines / report.seconds if report.seconds else 0
        click.echo(
            f"{entity}: {report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected} rejected ({report.lines} lines in {report.seconds:.1f}s, {rate:,.0f} lines/s)"
        )
        if report.ignored_columns:
            click.echo(f"ignored columns the engine maintains: {', '.join(report.ignored_columns)}")
        for problem in report.problems[:20]:
            click.echo(f"  {problem.format()}", err=True)
        if len(report.problems) > 20:
            click.echo(f"  … and {len(report.problems) - 20} more" + (f" (see {rejects})" if rejects else ""), err=True)
    if report.rejected:
        ctx.exit(3)


@click.command("export")
@click.argument("entity")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--where", metavar="JSON", help="Only records matching this filter.")
@pass_context
def export_command(context: CliContext, entity: str, file: Path, where: str | None) -> None:
    """Export records of ENTITY to a CSV FILE."""
    count = export_csv(
        context.engine,
        entity,
        file,
        where=parse_json_option(where, "--where"),
        progress=terminal_progress(),
        actor=context.user,
    )
    click.echo(f"exported {count} {entity} record(s) to {file}")
