"""``crm derived refresh``: recompute computed and rolled-up fields (daily refresh, repairs)."""

from __future__ import annotations

import click

from ._context import CliContext, pass_context
from ._output import echo_json


@click.group()
def derived() -> None:
    """Computed and rolled-up fields: recompute them."""


@derived.command("refresh")
@click.option("--entity", "entities", multiple=True, metavar="ENTITY", help="Only this entity (repeat for several).")
@click.option(
    "--all", "everything", is_flag=True, help="Every derived field, not only those that read now or have a time window."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: records changed per entity.")
@pass_context
def derived_refresh(context: CliContext, entities: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Recompute what changes with time alone (run it once a day): the computed fields of the
    entities with a "refresh": "daily" field, and the rollups with a time window ("within"), and
    whatever depends on them; --all recomputes every computed and rolled-up field, which repairs
    values written around the engine."""
    user = context.require_admin("recomputing derived fields")
    engine = context.engine
    model = engine.model
    plan = engine.derived.plan(model)
    names = list(entities) or plan.entities_with_derived()
    for name in names:
        model.entity(name)  # an unknown entity is an error
    chosen = [n for n in names if everything or plan.entity(n).daily]
    moved = engine.derived.refresh_entities(model, chosen, recount=everything, actor=user.name)
    if as_json:
        echo_json({"changed": moved})
        return
    if not moved:
        click.echo(
            "no field to refresh (none reads now or has a time window; use --all to recompute every derived field)"
        )
    for name, count in moved.items():
        click.echo(f"{name}: {count} record(s) changed")
