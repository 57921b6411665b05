"""``crm score run|show|train|override|clear|history`` and ``crm plugins list``."""

from __future__ import annotations

from typing import Any

import click

from engine.storage import to_jsonable

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table
from ._progress import terminal_progress

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def score() -> None:
    """Compute, explain, train and override scores."""


@score.command("run")
@click.option("--entity", metavar="ENTITY", help="Only the scorings of this entity.")
@click.option("--scoring", metavar="NAME", help="Only this scoring.")
@_json_flag
@click.pass_context
def score_run(ctx: click.Context, entity: str | None, scoring: str | None, as_json: bool) -> None:
    """Score every record (streaming, safe to rerun). Exit 1 if a scorer failed."""
    context: CliContext = ctx.obj
    context.require_admin("score run")
    runs = context.engine.scoring.run(entity=entity, scoring=scoring, progress=terminal_progress())
    if as_json:
        echo_json([r.to_json() for r in runs])
    else:
        for r in runs:
            if r.error:
                click.echo(f"{r.scoring}: FAILED: {r.error}", err=True)
            else:
                click.echo(f"{r.scoring} ({r.entity}): {r.scored} scored, {r.changed} changed in {r.seconds:.2f}s")
        if not runs:
            click.echo("no scorings defined" + (f" for {entity}" if entity else ""))
    if any(r.error for r in runs):
        ctx.exit(1)


@score.command("show")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@_json_flag
@pass_context
def score_show(context: CliContext, entity: str, record_id: int, as_json: bool) -> None:
    """A record's scores with value, grade and the factors behind them."""
    views = context.engine.scoring.show(
        entity, record_id, language=None if as_json else context.language, actor=context.user
    )
    if as_json:
        echo_json([v.to_json() for v in views])
        return
    if not views:
        click.echo(f"{entity} has no scorings")
    for view in views:
        data = view.to_json()
        over = " (overridden)" if view.override else ""
        value = "-" if data["value"] is None else f"{data['value']:.2f}".rstrip("0").rstrip(".")
        click.echo(f"{view.scoring}: {value} {data['grade'] or ''}{over}".rstrip())
        for factor in view.factors[:8]:
            click.echo(
                f"    {factor['contribution']:+.2f}  {factor['label']}"
                + (f"  ({factor['detail']})" if factor.get("detail") else "")
            )
        if view.hidden_factors:
            click.echo(f"    … and {view.hidden_factors} factor(s) from fields you may not see")
        if view.override:
            click.echo(f"    override by {view.override['by']}: {view.override['reason']}")


@score.command("train")
@click.argument("scoring")
@_json_flag
@pass_context
def score_train(context: CliContext, scoring: str, as_json: bool) -> None:
    """Retrain a learning scoring (e.g. predictive) and report its metrics."""
    context.require_admin("score train")
    result = context.engine.scoring.train(scoring)
    if as_json:
        echo_json(result)
    else:
        metrics = ", ".join(f"{k}={v}" for k, v in result["metrics"].items() if not isinstance(v, dict | list))
        click.echo(f"trained {scoring} ({result['scorer']}): {metrics}")


@score.command("override")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--scoring", required=True, metavar="NAME")
@click.option("--value", type=float)
@click.option("--grade")
@click.option("--reason", required=True)
@_json_flag
@pass_context
def score_override(
    context: CliContext,
    entity: str,
    record_id: int,
    scoring: str,
    value: float | None,
    grade: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Override a score; it survives recomputation until cleared."""
    view = context.engine.scoring.override(
        entity, record_id, scoring, value=value, grade=grade, reason=reason, actor=context.user
    )
    if as_json:
        echo_json(view.to_json())
    else:
        click.echo(f"{scoring} of {entity} {record_id} overridden")


@score.command("clear")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--scoring", required=True, metavar="NAME")
@pass_context
def score_clear(context: CliContext, entity: str, record_id: int, scoring: str) -> None:
    """Clear an override: the computed score applies again."""
    context.engine.scoring.clear_override(entity, record_id, scoring, actor=context.user)
    click.echo(f"override of {scoring} on {entity} {record_id} cleared")


@score.command("history")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--scoring", metavar="NAME")
@_json_flag
@pass_context
def score_history(context: CliContext, entity: str, record_id: int, scoring: str | None, as_json: bool) -> None:
    """Every computed score, override and clearing of a record."""
    rows = context.engine.scoring.history(entity, record_id, scoring=scoring, actor=context.user)
    if as_json:
        echo_json([{k: to_jsonable(v) for k, v in r.items()} for r in rows])
    else:
        echo_table(rows, ["at", "scoring", "kind", "value", "grade", "actor", "reason"])


@click.group()
def plugins() -> None:
    """Plugins and the scorers they offer."""


@plugins.command("list")
@_json_flag
@pass_context
def plugins_list(context: CliContext, as_json: bool) -> None:
    """Every plugin, the distribution it came from, its scorers, and any that failed."""
    from engine.hooks import make_plugins
    from engine.scoring import ScorerRegistry

    loaded = make_plugins()
    registry = ScorerRegistry.collect(loaded)
    names = [name for name, _plugin in loaded.manager.list_name_plugin()]
    listing: list[dict[str, Any]] = [
        {
            "plugin": name,
            "distribution": loaded.distribution(name),
            "scorers": [
                {
                    "name": s.name,
                    "label": s.label.to_json(),
                    "entities": list(s.entities),
                    "trains": s.train is not None,
                }
                for s in registry.scorers.values()
                if registry.plugin_of[s.name] == name
            ],
        }
        for name in names
    ]
    failures = [{"plugin": f.plugin, "hook": f.hook, "error": f.error} for f in registry.failures]
    if as_json:
        echo_json({"plugins": listing, "failures": failures})
        return
    for item in listing:
        click.echo(f"{item['plugin']}  ({item['distribution']})")
        for s in item["scorers"]:
            label = s["label"] if isinstance(s["label"], str) else f"{s['label']['en']} / {s['label'].get('zh', '')}"
            click.echo(f"    scorer {s['name']}: {label}" + (" [trains]" if s["trains"] else ""))
    for f in failures:
        click.echo(f"FAILED {f['plugin']}" + (f" in {f['hook']}" if f["hook"] else "") + f": {f['error']}", err=True)
