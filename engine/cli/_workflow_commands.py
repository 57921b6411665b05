"""``crm transition``, ``crm workflow show|check|tick|times``, ``crm history``."""

from __future__ import annotations

from typing import Any

import click

from engine.errors import UsageError
from engine.metadata import StateDef, TransitionDef
from engine.records import format_duration
from engine.storage import to_jsonable
from engine.workflow import HIDDEN_FIELDS, WorkflowView, inputs_from_text, tick, time_in_states

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _parse_inputs(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f'--input takes KEY=VALUE, got "{pair}"')
        out[key.strip()] = value
    return out


@click.command("transition")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.argument("name")
@click.option("--input", "inputs", multiple=True, metavar="KEY=VALUE", help="A transition input (repeat).")
@click.option("--comment", metavar="TEXT", help="Kept in the history.")
@click.option("--version", "expected_version", type=int, help="Refuse if the record is no longer at this version.")
@click.option("--workflow", metavar="NAME", help="The workflow, when several have a transition of this name.")
@_json_flag
@pass_context
def transition_command(
    context: CliContext,
    entity: str,
    record_id: int,
    name: str,
    inputs: tuple[str, ...],
    comment: str | None,
    expected_version: int | None,
    workflow: str | None,
    as_json: bool,
) -> None:
    """Run transition NAME on record ID of ENTITY (exit 8 with the reasons when refused)."""
    service = context.engine.workflows
    wf, t = service.find_transition(entity, name, workflow)
    typed = inputs_from_text(t, _parse_inputs(inputs)) if inputs else {}
    record = service.run(
        entity,
        record_id,
        name,
        user=context.user,
        inputs=typed,
        comment=comment,
        expected_version=expected_version,
        workflow=wf.name,
    )
    if as_json:
        from engine.records import record_json

        echo_json(record_json(record))
    else:
        click.echo(f"{entity} {record_id}: {name} → {record[wf.field]} (version {record['version']})")


@click.group()
def workflow() -> None:
    """Inspect workflows, check transitions, fire SLA escalations."""


@workflow.command("show")
@click.argument("entity")
@_json_flag
@pass_context
def workflow_show(context: CliContext, entity: str, as_json: bool) -> None:
    """Show the workflows of ENTITY: states and transitions.

    With --as, fields hidden from that user are left out and a guard that reads them is not
    shown (the transition still says it is guarded)."""
    lang = context.language
    found = context.engine.workflows.views(entity, context.user)
    if as_json:
        echo_json([_workflow_json(w, lang) for w in found])
        return
    if not found:
        click.echo(f"{entity} has no workflow")
    for w in found:
        _echo_workflow(entity, w, lang)


def _workflow_json(w: WorkflowView, lang: str) -> dict[str, Any]:
    return {
        "name": w.definition.name,
        "field": w.definition.field,
        "label": w.definition.label.get(lang),
        "states": {n: _state_json(w, s, lang) for n, s in w.states.items()},
        "transitions": {n: _transition_json(w, t, lang) for n, t in w.transitions.items()},
    }


def _state_json(w: WorkflowView, s: StateDef, lang: str) -> dict[str, Any]:
    return {
        "label": s.label.get(lang),
        "initial": s.initial,
        "final": s.final,
        "required": list(w.required(s)),
        **({"requires_hidden_fields": True} if w.requires_hidden(s) else {}),
        "read_only": list(w.read_only(s)),
        **({"max_duration_seconds": s.escalation.after.total_seconds()} if s.escalation else {}),
    }


def _transition_json(w: WorkflowView, t: TransitionDef, lang: str) -> dict[str, Any]:
    return {
        "from": list(t.from_states),
        "to": t.to_state,
        "roles": list(t.roles),
        "label": t.label.get(lang),
        "when": w.guard(t),
        **({"when_hidden": True} if w.guard_hidden(t) else {}),
        "not_by_creator": t.not_by_creator,
        "inputs": {k: {"type": i.type, "required": i.required} for k, i in t.inputs.items()},
    }


def _echo_workflow(entity: str, w: WorkflowView, lang: str) -> None:
    """One workflow as ``crm workflow show`` prints it: a line per state and per transition."""
    click.echo(f"{w.definition.name} ({w.definition.label.get(lang)}) drives {entity}.{w.definition.field}")
    for s in w.states.values():
        marks = [m for m, on in (("initial", s.initial), ("final", s.final)) if on]
        required = [*w.required(s), *((HIDDEN_FIELDS,) if w.requires_hidden(s) else ())]
        extra = f"  requires {', '.join(required)}" if required else ""
        sla = f"  SLA {format_duration(s.escalation.after, lang)}" if s.escalation else ""
        click.echo(
            f"  state {s.name} ({s.label.get(lang)}){' [' + ', '.join(marks) + ']' if marks else ''}{extra}{sla}"
        )
    for n, t in w.transitions.items():
        roles = f"  roles: {', '.join(t.roles)}" if t.roles else ""
        guard = "  guarded" if t.when is not None else ""
        sod = "  not by creator" if t.not_by_creator else ""
        inputs = (
            f"  inputs: {', '.join(n + ('*' if i.required else '') for n, i in t.inputs.items())}" if t.inputs else ""
        )
        click.echo(f"  {n}: {', '.join(t.from_states)} → {t.to_state}{roles}{guard}{sod}{inputs}")


@workflow.command("check")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--all", "show_all", is_flag=True, help="Also list transitions from other states.")
@_json_flag
@pass_context
def workflow_check(context: CliContext, entity: str, record_id: int, show_all: bool, as_json: bool) -> None:
    """Which transitions the acting user may run on record ID now, and why not."""
    checks = context.engine.workflows.check(entity, record_id, context.user)
    if not show_all:
        checks = [c for c in checks if not any(r.code == "wrong_state" for r in c.reasons)]
    if as_json:
        echo_json([c.to_json(context.language) for c in checks])
        return
    if not checks:
        click.echo("no transitions from this state")
    for c in checks:
        if c.available:
            needs = (
                f"  (inputs: {', '.join(n + ('*' if i.required else '') for n, i in c.inputs.items())})"
                if c.inputs
                else ""
            )
            click.echo(f"  ok   {c.name} → {c.to_state}{needs}")
        else:
            click.echo(f"  no   {c.name} → {c.to_state}")
            for r in c.reasons:
                click.echo(f"         [{r.code}] {r.message}")


@workflow.command("tick")
@_json_flag
@pass_context
def workflow_tick(context: CliContext, as_json: bool) -> None:
    """Fire due SLA escalations (run from cron; running it twice fires nothing twice)."""
    context.require_admin("workflow tick")
    fired = tick(context.engine, context.engine.workflows)
    if as_json:
        echo_json([e.to_json() for e in fired])
        return
    for e in fired:
        click.echo(
            f"{e.entity} {e.record_id}: {e.workflow} {e.state} escalated: {e.outcome}"
            + (f" ({e.detail})" if e.detail else "")
        )
    click.echo(f"{len(fired)} escalation(s) fired")


@workflow.command("times")
@click.argument("entity")
@click.option("--workflow", "workflow_name", metavar="NAME")
@_json_flag
@pass_context
def workflow_times(context: CliContext, entity: str, workflow_name: str | None, as_json: bool) -> None:
    """Time records spend in each state (entries, now in it, average and longest stay)."""
    found = [w for w in context.engine.workflows.workflows(entity) if workflow_name in (None, w.name)]
    rows = [{"workflow": w.name, **r} for w in found for r in time_in_states(context.engine, entity, w.name)]
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            r["average"] = format_duration(r["avg_seconds"], context.language)
            r["longest"] = format_duration(r["max_seconds"], context.language)
        echo_table(rows, ["workflow", "state", "entries", "current", "average", "longest"])


@click.command("history")
@click.argument("entity")
@click.argument("record_id", metavar="ID", type=int)
@_json_flag
@pass_context
def history_command(context: CliContext, entity: str, record_id: int, as_json: bool) -> None:
    """The workflow history of record ID: every transition, who, when, inputs, comment."""
    rows = context.engine.workflows.history(entity, record_id, actor=context.user)
    if as_json:
        echo_json([{k: to_jsonable(v) for k, v in r.items()} for r in rows])
    else:
        echo_table(
            rows, ["at", "workflow", "transition", "from_state", "to_state", "actor", "inputs", "comment"], max_width=40
        )
