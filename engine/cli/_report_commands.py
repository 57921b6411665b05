"""``crm report NAME``, ``crm report run NAME`` and ``crm report list``."""

from __future__ import annotations

from typing import Any

import click

from engine.errors import UsageError
from engine.metadata import Label
from engine.records import AMOUNT_TYPES, format_amount
from engine.reports import ReportResult, list_reports, run_report

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


class _ReportGroup(click.Group):
    """``crm report NAME`` runs the report NAME: a word that is not a subcommand is a
    report's name (``crm report run NAME`` reaches a report called ``list`` or ``run``)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)


@click.group(cls=_ReportGroup)
def report() -> None:
    """Run the reports of the definitions: crm report NAME [--json] [--param KEY=VALUE]."""


@report.command("list")
@_json_flag
@pass_context
def report_list(context: CliContext, as_json: bool) -> None:
    """The reports of the applied definitions, with their parameters."""
    reports = list_reports(context.engine)
    if as_json:
        echo_json([
            {
                "name": r.name, "label": _label_json(r.label), "type": r.type, "entity": r.entity,
                "workflow": r.workflow,
                "params": [
                    {"name": p.name, "type": p.type, "label": _label_json(p.label),
                     **({"default": p.default} if p.has_default else {})}
                    for p in r.params.values()
                ],
            }
            for r in reports
        ])  # fmt: skip
        return
    if not reports:
        click.echo("no reports defined")
        return
    rows = [
        {
            "name": r.name,
            "type": r.type,
            "of": r.workflow or r.entity,
            "label": r.label.get(context.language),
            "params": ", ".join(p.name + (f"={p.default}" if p.has_default else "") for p in r.params.values()),
        }
        for r in reports
    ]
    echo_table(rows, ["name", "type", "of", "label", "params"], max_width=48)


@report.command("run")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter's value (repeatable).")
@_json_flag
@pass_context
def report_run(context: CliContext, name: str, params: tuple[str, ...], as_json: bool) -> None:
    """Compute the report NAME and print it as a table (or JSON)."""
    result = run_report(context.engine, name, params=_parse_params(params), actor=context.user)
    if as_json:
        echo_json(result.to_json())
        return
    echo_result(result, context.language)


def _label_json(label: Label) -> dict[str, str]:
    return {"en": label.en} if label.zh is None else {"en": label.en, "zh": label.zh}


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param takes KEY=VALUE, e.g. --param from=2024-01-01; got {pair!r}")
        values[key.strip()] = value
    return values


def echo_result(result: ReportResult, language: str) -> None:
    """A result as an aligned table: headers in ``language``, ratios as percentages, amounts
    grouped in thousands."""
    click.echo(_text(result.label, language))
    headers = [_text(c["label"], language) for c in result.columns]
    if len(set(headers)) < len(headers):  # two labels alike: names are unique
        headers = [c["name"] for c in result.columns]
    rows = [
        {header: _cell(row[c["name"]], c["type"]) for header, c in zip(headers, result.columns, strict=True)}
        for row in result.rows
    ]
    if not rows:
        click.echo("(no rows)")
        return
    echo_table(rows, headers)


def _text(label: dict[str, str], language: str) -> str:
    if language.startswith("zh"):
        return label.get("zh") or label["en"]
    return label["en"]


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "ratio":
        return f"{value * 100:.1f}%"
    if kind in ("number", "duration"):
        return f"{value:.2f}"
    if kind in AMOUNT_TYPES:
        return format_amount(value, None)  # the report gives it at its field's scale
    return value
