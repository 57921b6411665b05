"""``crm schema validate|diff|apply|show|history``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from engine.metadata import definitions_to_json, load_definitions, validate_path
from engine.storage import MigrationPlan, schema_versions

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table
from ._progress import terminal_progress

_path_argument = click.argument("path", type=click.Path(path_type=Path))


def installed_scorer_schemas() -> dict[str, Any]:
    """Config schemas of every installed scorer (built-in and plugins), for validation."""
    from engine.hooks import make_plugins
    from engine.scoring import ScorerRegistry

    return ScorerRegistry.collect(make_plugins()).config_schemas()


@click.group()
def schema() -> None:
    """Validate definitions and migrate the database to them."""


@schema.command("validate")
@_path_argument
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
@click.pass_context
def validate_command(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Check the definitions at PATH (a bundle directory or one document); exit 2 when invalid."""
    problems = validate_path(path, scorer_schemas=installed_scorer_schemas())
    if as_json:
        echo_json([p.to_json() for p in problems])
    else:
        for problem in problems:
            click.echo(problem.format())
        if not problems:
            click.echo(f"{path}: valid")
    if problems:
        if not as_json:
            click.echo(f"{len(problems)} problem(s)")
        ctx.exit(2)


def print_plan(plan: MigrationPlan) -> None:
    if not plan.has_changes:
        click.echo(f"no changes (definitions version {plan.from_version})")
        return
    click.echo(f"definitions version {plan.from_version} → {plan.from_version + 1}:")
    for step in plan.steps:
        mark = "!" if step.blocking else "-" if step.destructive else "+" if step.kind != "definition_only" else "~"
        rows = f" [{step.rows} row(s)]" if step.rows else ""
        click.echo(f"  {mark} {step.detail}{rows}")
        if step.reason:
            click.echo(f"      {step.reason}")
    if plan.blocking:
        click.echo("blocked: fix the data named above first (marked !)")
    elif plan.destructive:
        click.echo("destructive: steps marked - lose data; apply needs --allow-data-loss")


@schema.command("diff")
@_path_argument
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_context
def diff_command(context: CliContext, path: Path, as_json: bool) -> None:
    """Show what applying PATH would change, with the rows each step touches."""
    context.require_admin("schema diff")
    engine = context.engine
    plan = engine.plan(load_definitions(path, scorer_schemas=engine.scoring.registry.config_schemas()))
    if as_json:
        echo_json(plan.to_json())
    else:
        print_plan(plan)


@schema.command("apply")
@_path_argument
@click.option("--allow-data-loss", is_flag=True, help="Apply even steps that drop or empty data.")
@click.option("--json", "as_json", is_flag=True, help="Print the applied plan as JSON.")
@pass_context
def apply_command(context: CliContext, path: Path, allow_data_loss: bool, as_json: bool) -> None:
    """Migrate the database to the definitions at PATH (all or nothing)."""
    context.require_admin("schema apply")
    definitions = load_definitions(path, scorer_schemas=context.engine.scoring.registry.config_schemas())
    version, plan = context.engine.apply(
        definitions, allow_data_loss=allow_data_loss, actor=context.actor_name, progress=terminal_progress()
    )
    if as_json:
        echo_json({**plan.to_json(), "version": version})
        return
    print_plan(plan)
    if plan.has_changes:
        click.echo(f"applied: definitions version {version}")


@schema.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the live definitions as JSON.")
@pass_context
def show_command(context: CliContext, as_json: bool) -> None:
    """Show the definitions applied to the database."""
    model = context.engine.model
    if as_json:
        echo_json({"version": model.version, "definitions": definitions_to_json(model.definitions)})
        return
    click.echo(f"{model.definitions.name} (definitions version {model.version})")
    for entity in model.definitions.entities.values():
        click.echo(f"  {entity.name}  {entity.label.get(context.language)}  ({len(entity.fields)} fields)")


@schema.command("history")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def history_command(context: CliContext, as_json: bool) -> None:
    """List the applied definition versions."""
    with context.engine.db.read() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    schema_versions.c.version,
                    schema_versions.c.name,
                    schema_versions.c.digest,
                    schema_versions.c.applied_at,
                    schema_versions.c.applied_by,
                    schema_versions.c.summary,
                ).order_by(schema_versions.c.version)
            ).mappings()
        ]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["version", "name", "applied_at", "applied_by", "summary"], max_width=60)
