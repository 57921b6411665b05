"""``crm demo check``: the invariants demo data keeps, asserted on the loaded database."""

from __future__ import annotations

import json
from collections import Counter

import click

from engine.presets import check_demo

from ._context import CliContext
from ._output import echo_json


@click.group()
def demo() -> None:
    """Demo data of the loaded definitions."""


@demo.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def demo_check(ctx: click.Context, as_json: bool) -> None:
    """Check the records against the invariants of demo data (dates in order, states that
    agree with the data, parts within wholes, signed ledgers, scores and derived values
    as computed, no open record gone stale). Exit 1 when any record breaks one."""
    context: CliContext = ctx.obj
    context.require_admin("demo check")
    found = check_demo(context.engine)
    by_rule = Counter(v["rule"] for v in found)
    if as_json:
        echo_json({"violations": found, "count": len(found), "by_rule": dict(sorted(by_rule.items()))})
    else:
        for v in found:
            values = json.dumps(v["fields"], ensure_ascii=False, default=str)
            click.echo(f"{v['rule']}  {v['entity']} {v['record_id']}: {v['message']}  {values}")
        if found:
            counts = ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items()))
            click.echo(f"{len(found)} violation(s): {counts}")
        else:
            click.echo("no violations")
    if found:
        ctx.exit(1)
