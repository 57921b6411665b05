"""``crm preset list|show|load``."""

from __future__ import annotations

from typing import Any

import click

from engine.metadata import load_definitions
from engine.presets import MODES, catalog, load_preset, resolve

from ._context import CliContext, pass_context
from ._output import echo_json
from ._progress import terminal_progress
from ._schema_commands import print_plan

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
#: The password of the users a demo load creates (never of users that already exist).
DEMO_PASSWORD = "demo"


@click.group()
def preset() -> None:
    """The business-mode presets that ship with the engine."""


@preset.command("list")
@_json_flag
@pass_context
def preset_list(context: CliContext, as_json: bool) -> None:
    """The five modes with their industries (and the shared core)."""
    presets = catalog()
    shown = [presets[m] for m in MODES if m in presets]
    if "core" in presets:
        shown.insert(0, presets["core"])
    if as_json:
        echo_json([p.to_json() for p in shown])
        return
    for p in shown:
        industries = f"  industries: {', '.join(p.industries)}" if p.industries else ""
        click.echo(f"{p.name:<18} {p.label.get(context.language)}{industries}")


@preset.command("show")
@click.argument("name")
@click.option("--industry", metavar="INDUSTRY")
@_json_flag
@pass_context
def preset_show(context: CliContext, name: str, industry: str | None, as_json: bool) -> None:
    """Entities, workflows, scorings and reports of a preset (or one of its industry variants)."""
    info = resolve(name, industry)
    definitions = load_definitions(info.path)
    lang = context.language
    data: dict[str, Any] = {
        **info.to_json(),
        "bundles": list(definitions.bundles),
        "entities": [
            {"name": e.name, "label": e.label.get(lang), "fields": len(e.fields)} for e in definitions.entities.values()
        ],
        "workflows": [
            {
                "name": w.name,
                "entity": w.entity,
                "field": w.field,
                "states": list(w.states),
                "transitions": list(w.transitions),
            }
            for w in definitions.workflows.values()
        ],
        "scorings": [
            {"name": s.name, "entity": s.entity, "scorer": s.scorer}
            for s in getattr(definitions, "scorings", {}).values()
        ],
        "reports": [{"name": r.name, "label": r.label.get(lang)} for r in getattr(definitions, "reports", {}).values()],
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{info.name}: {info.label.get(lang)}")
    if info.description:
        click.echo(f"  {info.description}")
    for key in ("entities", "workflows", "scorings", "reports"):
        click.echo(f"{key}:")
        for item in data[key]:
            detail = {k: v for k, v in item.items() if k != "name"}
            click.echo(f"  {item['name']}  " + "  ".join(f"{k}={v}" for k, v in detail.items()))


@preset.command("load")
@click.argument("name")
@click.option("--industry", metavar="INDUSTRY", help="An industry variant of the mode.")
@click.option(
    "--demo",
    type=click.IntRange(0),
    default=0,
    metavar="N",
    help="Also generate about N demo records; the users it creates (and admin) get the password demo.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the demo data generator.")
@click.option("--allow-data-loss", is_flag=True)
@_json_flag
@pass_context
def preset_load(
    context: CliContext, name: str, industry: str | None, demo: int, seed: int, allow_data_loss: bool, as_json: bool
) -> None:
    """Load a mode (optionally an industry variant) next to the modes already loaded."""
    context.require_admin("preset load")
    result = load_preset(
        context.engine,
        name,
        industry=industry,
        allow_data_loss=allow_data_loss,
        actor=context.actor_name,
        progress=terminal_progress(),
    )
    out: dict[str, Any] = {
        "version": result.version,
        "presets": list(result.bundles),
        "changes": len(result.plan.steps),
    }
    if demo:
        from engine.presets import demo_logins, generate_demo

        before = {u.name for u in context.engine.users.list(active_only=False)}
        out["demo"] = generate_demo(
            context.engine,
            resolve(name, industry).name,
            demo,
            seed=seed,
            progress=terminal_progress(),
            password=DEMO_PASSWORD,
        )
        out["logins"] = {
            "users": [{"name": user, "role": role} for role, user in demo_logins(context.engine, before)],
            "password": DEMO_PASSWORD,
        }
        # demo records are written in bulk, past the save triggers: score them now, so that
        # rankings, tiers and segments show from the start
        runs = context.engine.scoring.run(progress=terminal_progress())
        out["scored"] = {r.scoring: r.scored for r in runs if r.error is None}
    if as_json:
        echo_json(out)
        return
    print_plan(result.plan)  # what the load changed
    click.echo(f"loaded {', '.join(result.bundles)} (definitions version {result.version}, {out['changes']} change(s))")
    if demo:
        click.echo("demo data: " + ", ".join(f"{k} {v}" for k, v in out["demo"].items()))
        if out["scored"]:
            click.echo("scored: " + ", ".join(f"{k} {v}" for k, v in out["scored"].items()))
        logins = out["logins"]["users"]
        if logins:
            click.echo("sign in to /admin (crm serve) as: " + ", ".join(f"{u['name']} ({u['role']})" for u in logins))
            click.echo(f"password: {DEMO_PASSWORD} (demo data only; change it with `crm user passwd NAME`)")
