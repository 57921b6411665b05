"""Workflow documents: what they load into, the code and pointer of each mistake, workflow
overlays, the canonical round trip, and random documents (only DefinitionError comes out).

The fixtures are in data/workflows: an ``order`` entity with two enum fields, a ``task``
entity, the example workflow of docs/workflows.md and a second workflow on ``payment``.
"""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metadata_support import DATA, PRESETS, Writer, manifest, write_file

from engine.errors import DefinitionError, Problem
from engine.metadata import (
    PROBLEM_CODES,
    ActionDef,
    Definitions,
    EscalationDef,
    InputDef,
    Label,
    StateDef,
    TransitionDef,
    WorkflowDef,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((DATA / "workflows" / f"{name}.json").read_text(encoding="utf-8"))


ORDER = _fixture("order")
TASK = _fixture("task")
EXAMPLE = _fixture("order_approval")
PAYMENT = _fixture("order_payment")
TASK_FLOW = _fixture("task_flow")

_DELETE = object()
#: Pointers the tables below use often.
APPROVE = "/transitions/approve"
ACTION = "/transitions/approve/actions/0"
WHEN = "/transitions/approve/when"
SUBMITTED = "/states/submitted"
REASON = "/transitions/reject/inputs/reason"


def wf(*edits: tuple[str, Any], base: dict[str, Any] = EXAMPLE) -> dict[str, Any]:
    """``base`` with each ``(pointer, value)`` applied (``_DELETE`` removes the key)."""
    document = copy.deepcopy(base)
    for where, value in edits:
        *parents, last = where.strip("/").split("/")
        target = document
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return document


def actions(*items: Any) -> tuple[str, Any]:
    """The edit giving ``approve`` these actions."""
    return (f"{APPROVE}/actions", list(items))


def guard(rule: Any) -> tuple[str, Any]:
    """The edit giving ``approve`` this guard."""
    return (WHEN, rule)


def app(write: Writer, *documents: tuple[str, Any]) -> Path:
    """A bundle ``app``: the order and task entities and ``documents`` (file, content)."""
    write("app/order.json", ORDER)
    write("app/task.json", TASK)
    for file, document in documents:
        write(f"app/{file}", document)
    return write("app/bundle.json", manifest("app")).parent


def located(problems: list[Problem]) -> list[tuple[str | None, str, str | None]]:
    return [(p.file, p.code, p.pointer) for p in problems]


def test_example_loads_into_the_exact_workflow(write: Writer) -> None:
    definitions = load_definitions(app(write, ("workflow.json", EXAMPLE)))
    workflow = definitions.workflows["order_approval"]
    set_now = ActionDef("set", values=MappingProxyType({"approved_at": {"var": "now"}}))
    reason = InputDef("reason", "text", Label("Reason"), required=True)
    assert workflow == WorkflowDef(
        name="order_approval",
        entity="order",
        field="status",
        label=Label("Order approval", "订单审批"),
        states={
            "draft": StateDef("draft", Label("Draft", "草稿"), initial=True),
            "submitted": StateDef(
                "submitted",
                Label("Submitted"),
                required=("amount", "customer"),
                read_only=("amount",),
                escalation=EscalationDef(after=timedelta(days=3), transition="escalate"),
            ),
            "reviewed": StateDef("reviewed", Label("Reviewed")),
            "approved": StateDef("approved", Label("Approved"), final=True),
            "rejected": StateDef("rejected", Label("Rejected")),
        },
        transitions={
            "submit": TransitionDef(
                "submit", Label("Submit"), ("draft", "rejected"), "submitted", roles=("rep",)
            ),
            "review": TransitionDef(
                "review",
                Label("Review"),
                ("submitted",),
                "reviewed",
                roles=("secretary",),
                not_by_creator=True,
            ),
            "approve": TransitionDef(
                "approve",
                Label("Approve"),
                ("reviewed",),
                "approved",
                when={"<=": [{"var": "record.amount"}, 1000000]},
                roles=("finance",),
                actions=(set_now,),
            ),
            "reject": TransitionDef(
                "reject",
                Label("Reject"),
                ("submitted", "reviewed"),
                "rejected",
                inputs=MappingProxyType({"reason": reason}),
            ),
            "escalate": TransitionDef(
                "escalate",
                Label("Escalate to review"),
                ("submitted",),
                "reviewed",
                actions=(ActionDef("notify", topic="order.escalated"),),
            ),
        },
    )
    assert workflow.initial_state == "draft"
    assert definitions.workflows_for("order") == (workflow,)
    assert definitions.workflows_for("task") == ()
    assert workflow.source is not None and workflow.source.file == "app/workflow.json"
    approve = workflow.transitions["approve"]
    assert approve.source is not None and approve.source.pointer == APPROVE
    assert approve.actions[0].source is not None and approve.actions[0].source.pointer == ACTION


def test_the_documented_example_is_this_one() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"
    block = docs.read_text(encoding="utf-8").split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(block) == EXAMPLE


def test_every_option_is_read(write: Writer) -> None:
    inputs = {
        "reason": {"type": "enum", "choices": ["price", "timing"], "label": "Why"},
        "note": {"type": "string", "max_length": 80},
        "comment": {"type": "text"},
        "count": {"type": "integer"},
    }
    values = {
        "customer": {"var": "inputs.note"},
        "priority": 3,
        "extra": {"preserve": {"a": 1}},
        "approved_by": None,
        "owner": "alice",
    }
    task = {"title": "Call back", "order_ref": {"var": "record.id"}}
    document = wf(
        ("/transitions/reject/inputs", inputs),
        (
            "/transitions/reject/actions",
            [
                {"set": values},
                {"create": {"entity": "task", "values": task}},
                {"assign": {"role": "rep", "team": "East", "strategy": "least_loaded"}},
                {"assign": {"role": "rep", "field": "handler"}},
                {"rescore": {"scorings": ["lead_score"]}},
                {"rescore": {}},
            ],
        ),
        (f"{SUBMITTED}/max_duration", "P1DT12H"),
        (f"{SUBMITTED}/escalation/actions", [{"set": {"priority": 1}}]),
        ("/transitions/cancel", {"from": "*", "to": "rejected"}),
    )
    definitions = load_definitions(app(write, ("workflow.json", document)))
    workflow = definitions.workflows["order_approval"]
    reject = workflow.transitions["reject"]
    assert reject.inputs == {
        "reason": InputDef("reason", "enum", Label("Why"), choices=("price", "timing")),
        "note": InputDef("note", "string", Label("Note"), max_length=80),
        "comment": InputDef("comment", "text", Label("Comment")),
        "count": InputDef("count", "integer", Label("Count")),
    }
    assert reject.actions == (
        ActionDef("set", values=MappingProxyType(values)),
        ActionDef("create", values=MappingProxyType(task), entity="task"),
        ActionDef("assign", field="owner", role="rep", team="East", strategy="least_loaded"),
        ActionDef("assign", field="handler", role="rep"),
        ActionDef("rescore", scorings=("lead_score",)),
        ActionDef("rescore"),
    )
    assert workflow.states["submitted"].escalation == EscalationDef(
        after=timedelta(days=1, hours=12),
        transition="escalate",
        actions=(ActionDef("set", values=MappingProxyType({"priority": 1})),),
    )
    # "*": every state that is not final, in the order the states are written
    cancel = workflow.transitions["cancel"]
    assert cancel.from_states == ("draft", "submitted", "reviewed", "rejected")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3D", timedelta(days=3)),
        ("PT4H", timedelta(hours=4)),
        ("PT30M", timedelta(minutes=30)),
        ("PT90S", timedelta(seconds=90)),
        ("P2W", timedelta(weeks=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1W2DT3H4M5S", timedelta(days=9, hours=3, minutes=4, seconds=5)),
    ],
)
def test_durations(write: Writer, text: str, expected: timedelta) -> None:
    document = wf((f"{SUBMITTED}/max_duration", text))
    definitions = load_definitions(app(write, ("workflow.json", document)))
    escalation = definitions.workflows["order_approval"].states["submitted"].escalation
    assert escalation is not None and escalation.after == expected


@pytest.mark.parametrize(
    "text", ["P1M", "P1Y", "P1Y2M", "3 days", "P0D", "PT0S", "PT", "P", "P1.5D", "P999999D", "p3d"]
)
def test_invalid_durations(write: Writer, text: str) -> None:
    document = wf((f"{SUBMITTED}/max_duration", text))
    problems = validate_path(app(write, ("workflow.json", document)))
    assert located(problems) == [
        ("app/workflow.json", "invalid_duration", f"{SUBMITTED}/max_duration")
    ]


@pytest.mark.parametrize(
    "rule",
    [
        {"var": "record.id"},
        {"var": "record.owner"},
        {"var": "record"},
        {"var": "changes.amount"},
        {"in": ["finance", {"var": "user.roles"}]},
        {"==": [{"var": "user.name"}, {"var": "user.team"}]},
        {"<": [{"var": "record.approved_at"}, {"var": "now"}]},
        {"some": [{"var": "record.extra.lines"}, {">": [{"var": "qty"}, 1]}]},
        {"missing": ["record.customer", "record.amount"]},
        True,
        None,
    ],
)
def test_guards_read_the_data_of_a_transition(write: Writer, rule: Any) -> None:
    assert validate_path(app(write, ("workflow.json", wf(guard(rule))))) == []


def test_a_guard_reads_its_own_transitions_inputs(write: Writer) -> None:
    document = wf(("/transitions/reject/when", {"!!": [{"var": "inputs.reason"}]}))
    assert validate_path(app(write, ("workflow.json", document))) == []


@pytest.mark.parametrize(
    ("rule", "pointer", "code"),
    [
        # the rule language's own problems keep their codes, located inside the guard
        ({"<==": [1, 2]}, "", "unknown_operator"),
        ({"and": [True, {"nto": [1]}]}, "/and/1", "unknown_operator"),
        ({"a": 1, "b": 2}, "", "invalid_operation"),
        ({"var": ["a", 1, 2]}, "/var", "invalid_arguments"),
        ({"in": ["x", list(range(10001))]}, "", "rule_too_large"),
        # what the guard reads
        ({"var": "record.amout"}, "", "unknown_field"),
        ({"var": "changes.colour"}, "", "unknown_field"),
        ({"var": "inputs.reason"}, "", "unknown_variable"),
        ({"var": "user.email"}, "", "unknown_variable"),
        ({"var": "recrd.amount"}, "", "unknown_variable"),
        ({"var": "now.year"}, "", "unknown_variable"),
        ({"missing": ["record.amount", "amount"]}, "", "unknown_variable"),
    ],
)
def test_guard_mistake_is_located(write: Writer, rule: Any, pointer: str, code: str) -> None:
    problems = validate_path(app(write, ("workflow.json", wf(guard(rule)))))
    assert located(problems) == [("app/workflow.json", code, WHEN + pointer)]


MISTAKES = [
    # the meta-schema
    (wf(("/entity", _DELETE)), "", "required"),
    (wf(("/states/draft/colour", "red")), "/states/draft/colour", "unknown_key"),
    (wf(("/states/Draft State", {})), "/states/Draft State", "invalid_name"),
    (wf(("/states", {})), "/states", "too_short"),
    (wf(("/transitions/submit/from", "draft")), "/transitions/submit/from", "enum"),
    (wf(("/transitions/submit/from", [])), "/transitions/submit/from", "too_short"),
    (wf(("/transitions/submit/from", ["draft"] * 2)),
     "/transitions/submit/from/1", "duplicate_item"),
    (wf(("/transitions/submit/to", _DELETE)), "/transitions/submit", "required"),
    (wf(("/transitions/submit/roles", "rep")), "/transitions/submit/roles", "type"),
    (wf(actions({"set": {"priority": 1}, "notify": {"topic": "x"}})), ACTION, "too_long"),
    (wf(actions({"sett": {"priority": 1}})), f"{ACTION}/sett", "unknown_key"),
    (wf(actions({"set": {}})), f"{ACTION}/set", "too_short"),
    (wf(actions({"assign": {"role": "rep", "strategy": "random"}})),
     f"{ACTION}/assign/strategy", "enum"),
    (wf(actions({"notify": {"topic": "Order Approved"}})), f"{ACTION}/notify/topic", "pattern"),
    (wf((REASON, {"type": "enum"})), REASON, "required"),
    (wf((REASON, {"type": "money"})), f"{REASON}/type", "enum"),
    (wf((f"{SUBMITTED}/escalation", {})), f"{SUBMITTED}/escalation", "too_short"),
    # the entity and the field
    (wf(("/entity", "ordr")), "/entity", "unknown_entity"),
    (wf(("/field", "stat")), "/field", "unknown_field"),
    (wf(("/field", "customer")), "/field", "not_enum_field"),
    # states are the field's choices
    (
        wf(("/states/archived", {}),
           ("/transitions/archive", {"from": ["rejected"], "to": "archived"})),
        "/states/archived",
        "state_not_choice",
    ),
    (
        wf(("/states/rejected", _DELETE), ("/transitions/reject", _DELETE),
           ("/transitions/submit/from", ["draft"])),
        "/field",
        "choice_not_state",
    ),
    # the graph
    (wf(("/states/draft/initial", _DELETE)), "/states", "initial_state"),
    (wf(("/states/reviewed/initial", True)), "/states/reviewed/initial", "initial_state"),
    (wf(("/transitions/submit/from", ["draft", "rejectd"])),
     "/transitions/submit/from/1", "unknown_state"),
    (wf(("/transitions/escalate/to", "reviewd")), "/transitions/escalate/to", "unknown_state"),
    (
        wf(("/transitions/reject", _DELETE), ("/transitions/submit/from", ["draft"])),
        "/states/rejected",
        "unreachable_state",
    ),
    (wf(("/transitions/reject/from", ["submitted", "approved"])),
     "/transitions/reject/from/1", "final_state_exit"),
    # fields a state names
    (wf((f"{SUBMITTED}/required", ["amount", "amout"])),
     f"{SUBMITTED}/required/1", "unknown_field"),
    (wf((f"{SUBMITTED}/read_only", ["custmer"])), f"{SUBMITTED}/read_only/0", "unknown_field"),
    # SLAs and escalations
    (wf((f"{SUBMITTED}/max_duration", _DELETE)), SUBMITTED, "required"),
    (wf((f"{SUBMITTED}/escalation", _DELETE)), SUBMITTED, "required"),
    (wf((f"{SUBMITTED}/escalation/transition", "escalte")),
     f"{SUBMITTED}/escalation/transition", "unknown_transition"),
    (wf((f"{SUBMITTED}/escalation/transition", "approve")),
     f"{SUBMITTED}/escalation/transition", "unknown_transition"),
    (
        wf((f"{SUBMITTED}/escalation/actions", [{"set": {"customer": {"var": "inputs.reason"}}}])),
        f"{SUBMITTED}/escalation/actions/0/set/customer",
        "unknown_variable",
    ),
    # inputs
    (wf((REASON, {"type": "integer", "max_length": 3})),
     f"{REASON}/max_length", "inapplicable_option"),
    (wf((REASON, {"type": "string", "choices": ["a"]})),
     f"{REASON}/choices", "inapplicable_option"),
    # set
    (wf(actions({"set": {"aproved_at": {"var": "now"}}})),
     f"{ACTION}/set/aproved_at", "unknown_field"),
    (wf(actions({"set": {"version": 2}})), f"{ACTION}/set/version", "unknown_field"),
    (wf(actions({"set": {"status": "approved"}})), f"{ACTION}/set/status", "state_field_action"),
    (wf(actions({"set": {"approved_at": {"nw": []}}})),
     f"{ACTION}/set/approved_at", "unknown_operator"),
    (wf(actions({"set": {"approved_by": {"var": "user.nam"}}})),
     f"{ACTION}/set/approved_by", "unknown_variable"),
    (wf(actions({"set": {"priority": "high"}})), f"{ACTION}/set/priority", "invalid_action_value"),
    (wf(actions({"set": {"amount": -1}})), f"{ACTION}/set/amount", "invalid_action_value"),
    (wf(actions({"set": {"owner": 5}})), f"{ACTION}/set/owner", "invalid_action_value"),
    # create
    (wf(actions({"create": {"entity": "tsk"}})), f"{ACTION}/create/entity", "unknown_entity"),
    (
        wf(actions({"create": {"entity": "task", "values": {"titel": "Call"}}})),
        f"{ACTION}/create/values/titel",
        "unknown_field",
    ),
    (
        wf(actions({"create": {"entity": "task", "values": {"title": None}}})),
        f"{ACTION}/create/values/title",
        "invalid_action_value",
    ),
    (
        wf(actions({"create": {"entity": "task", "values": {"order_ref": "x"}}})),
        f"{ACTION}/create/values/order_ref",
        "invalid_action_value",
    ),
    (
        wf(actions({"create": {"entity": "task", "values": {"due": {"var": "inputs.due"}}}})),
        f"{ACTION}/create/values/due",
        "unknown_variable",
    ),
    # assign
    (wf(actions({"assign": {"role": "rep", "field": "handlr"}})),
     f"{ACTION}/assign/field", "unknown_field"),
    (wf(actions({"assign": {"role": "rep", "field": "amount"}})),
     f"{ACTION}/assign/field", "not_user_field"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "pointer", "code"), MISTAKES)
def test_mistake_in_a_workflow_is_located(
    write: Writer, document: Any, pointer: str, code: str
) -> None:
    root = app(write, ("workflow.json", document))
    problems = validate_path(root)
    assert located(problems) == [("app/workflow.json", code, pointer)]
    assert code in PROBLEM_CODES
    assert problems[0].message
    with pytest.raises(DefinitionError) as raised:
        load_definitions(root)
    assert raised.value.problems == tuple(problems)


def test_every_problem_of_a_workflow_is_reported_together(write: Writer) -> None:
    document = wf(
        ("/states/draft/final", True),
        (f"{SUBMITTED}/max_duration", "P1M"),
        guard({"var": "record.amout"}),
    )
    problems = validate_path(app(write, ("workflow.json", document)))
    assert [(p.code, p.pointer) for p in problems] == [
        ("initial_state", "/states/draft/final"),
        ("final_state_exit", "/transitions/submit/from/0"),
        ("unknown_field", WHEN),
        ("invalid_duration", f"{SUBMITTED}/max_duration"),
    ]


def test_two_workflows_may_drive_two_fields_of_one_entity(write: Writer) -> None:
    root = app(write, ("workflow.json", EXAMPLE), ("payment.json", PAYMENT))
    definitions = load_definitions(root)
    # in the order of their files
    names = [w.name for w in definitions.workflows_for("order")]
    assert names == ["order_payment", "order_approval"]
    assert definitions.workflows["order_payment"].transitions["pay"].from_states == ("unpaid",)


def test_two_workflows_on_one_field(write: Writer) -> None:
    second = wf(("/name", "order_review"))
    problems = validate_path(app(write, ("a.json", EXAMPLE), ("b.json", second)))
    assert located(problems) == [("app/b.json", "field_has_workflow", "/field")]


def test_two_workflows_with_one_name(write: Writer) -> None:
    second = wf(("/name", "order_approval"), base=PAYMENT)
    problems = validate_path(app(write, ("a.json", EXAMPLE), ("b.json", second)))
    assert located(problems) == [("app/b.json", "duplicate_workflow", "/name")]


def test_actions_may_not_set_a_field_any_workflow_drives(write: Writer) -> None:
    document = wf(
        actions(
            {"create": {"entity": "task", "values": {"title": "Ship", "state": "done"}}},
            {"set": {"payment": "paid"}},
        )
    )
    root = app(write, ("w.json", document), ("task_flow.json", TASK_FLOW), ("p.json", PAYMENT))
    assert located(validate_path(root)) == [
        ("app/w.json", "state_field_action", f"{ACTION}/create/values/state"),
        ("app/w.json", "state_field_action", f"{APPROVE}/actions/1/set/payment"),
    ]


def test_a_broken_entity_is_not_reported_again(write: Writer) -> None:
    root = app(write, ("workflow.json", EXAMPLE))
    write("app/order.json", wf(("/fields/amount/type", "mony"), base=ORDER))
    assert located(validate_path(root)) == [
        ("app/order.json", "unknown_type", "/fields/amount/type")
    ]


def test_workflow_on_an_entity_of_a_bundle_not_extended(write: Writer) -> None:
    write("core/bundle.json", manifest("core"))
    write("core/order.json", ORDER)
    write("other/bundle.json", manifest("other"))
    write("other/workflow.json", EXAMPLE)
    root = write("app/bundle.json", manifest("app", "../core", "../other")).parent
    assert located(validate_path(root)) == [("other/workflow.json", "unknown_entity", "/entity")]


def test_workflow_on_an_entity_of_a_preset(write: Writer) -> None:
    document = {
        "schema_version": 1,
        "kind": "workflow",
        "name": "sourcing",
        "entity": "opportunity",
        "field": "source",
        "states": {"web": {"initial": True}, "referral": {}},
        "transitions": {"refer": {"from": ["web"], "to": "referral"}},
    }
    write("app/workflow.json", document)
    root = write("app/bundle.json", manifest("app", "fx_core")).parent
    definitions = load_definitions(root, preset_dirs=[PRESETS])
    assert definitions.workflows["sourcing"].entity == "opportunity"


# workflow overlays ----------------------------------------------------------------------


def overlay(**body: Any) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "workflow_overlay", "workflow": "order_approval", **body}


def choices_overlay(*values: str) -> dict[str, Any]:
    change = {"status": {"add_choices": list(values)}}
    document = {"schema_version": 1, "kind": "entity_overlay", "entity": "order"}
    return {**document, "change_fields": change}


def layered(write: Writer, *documents: tuple[str, Any]) -> Path:
    """``core`` (the entities and the example workflow) and ``app`` extending it, with
    ``documents`` written as ``(bundle/file, content)``."""
    write("core/bundle.json", manifest("core"))
    write("core/order.json", ORDER)
    write("core/task.json", TASK)
    write("core/workflow.json", EXAMPLE)
    for file, document in documents:
        write(file, document)
    return write("app/bundle.json", manifest("app", "../core")).parent


def test_overlay_adds_and_changes(write: Writer) -> None:
    document = overlay(
        add_states={"on_hold": {"label": {"en": "On hold", "zh": "暂停"}}},
        add_transitions={
            "hold": {"from": ["submitted"], "to": "on_hold"},
            "resume": {"from": ["on_hold"], "to": "submitted"},
            "withdraw": {"from": "*", "to": "rejected"},
        },
        change_transitions={
            "approve": {"when": {"<=": [{"var": "record.amount"}, 5000]}, "roles": ["cfo"]},
            "submit": {"label": "Send"},
        },
        change_states={
            "submitted": {"max_duration": "PT12H", "required": ["customer"]},
            "reviewed": {"label": "Checked"},
        },
    )
    root = layered(
        write, ("app/choices.json", choices_overlay("on_hold")), ("app/overlay.json", document)
    )
    workflow = load_definitions(root).workflows["order_approval"]
    assert workflow.states["on_hold"].label == Label("On hold", "暂停")
    approve = workflow.transitions["approve"]
    assert approve.when == {"<=": [{"var": "record.amount"}, 5000]}
    assert approve.roles == ("cfo",)
    assert workflow.transitions["submit"].label == Label("Send")
    withdraw = workflow.transitions["withdraw"]
    assert withdraw.from_states == ("draft", "submitted", "reviewed", "rejected", "on_hold")
    submitted = workflow.states["submitted"]
    assert submitted.required == ("customer",)
    assert submitted.escalation is not None
    assert submitted.escalation.after == timedelta(hours=12)
    assert workflow.states["reviewed"].label == Label("Checked")
    # the base, loaded alone, is untouched
    alone = load_definitions(root.parent / "core").workflows["order_approval"]
    assert alone.transitions["approve"].roles == ("finance",)


HOLD = {"hold": {"from": ["submitted"], "to": "on_hold"}}


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (overlay(workflow="order_aproval"), "/workflow", "unknown_workflow"),
        (overlay(add_states={"draft": {}}), "/add_states/draft", "state_exists"),
        (overlay(add_transitions={"submit": HOLD["hold"]}),
         "/add_transitions/submit", "transition_exists"),
        (overlay(change_states={"drafted": {"label": "D"}}),
         "/change_states/drafted", "unknown_state"),
        (overlay(change_transitions={"aprove": {"roles": ["cfo"]}}),
         "/change_transitions/aprove", "unknown_transition"),
        (overlay(change_transitions={"approve": {"to": "rejected"}}),
         "/change_transitions/approve/to", "unknown_key"),
        (overlay(change_states={"draft": {}}), "/change_states/draft", "too_short"),
        (
            overlay(change_transitions={"approve": {"when": {"var": "record.amout"}}}),
            "/change_transitions/approve/when",
            "unknown_field",
        ),
        (
            overlay(change_states={"submitted": {"max_duration": "P1M"}}),
            "/change_states/submitted/max_duration",
            "invalid_duration",
        ),
        (overlay(add_states={"on_hold": {}}, add_transitions=HOLD),
         "/add_states/on_hold", "state_not_choice"),
        (
            overlay(add_transitions={"hold": {"from": ["submitted"], "to": "on_hld"}}),
            "/add_transitions/hold/to",
            "unknown_state",
        ),
    ],
)  # fmt: skip
def test_workflow_overlay_mistake_is_located(
    write: Writer, document: dict[str, Any], pointer: str, code: str
) -> None:
    problems = validate_path(layered(write, ("app/overlay.json", document)))
    assert located(problems) == [("app/overlay.json", code, pointer)]


def test_a_choice_added_without_its_state(write: Writer) -> None:
    problems = validate_path(layered(write, ("app/choices.json", choices_overlay("on_hold"))))
    assert located(problems) == [("core/workflow.json", "choice_not_state", "/field")]


def test_sibling_overlays_that_disagree_clash(write: Writer) -> None:
    write("a/bundle.json", manifest("a", "../core"))
    write("a/overlay.json", overlay(change_transitions={"approve": {"roles": ["cfo"]}}))
    write("b/bundle.json", manifest("b", "../core"))
    write("b/overlay.json", overlay(change_transitions={"approve": {"roles": ["ceo"]}}))
    layered(write)
    root = write("both/bundle.json", manifest("both", "../a", "../b")).parent
    assert located(validate_path(root)) == [
        ("b/overlay.json", "overlay_clash", "/change_transitions/approve/roles")
    ]
    # a bundle extending both settles it
    write("both/overlay.json", overlay(change_transitions={"approve": {"roles": ["board"]}}))
    definitions = load_definitions(root)
    assert definitions.workflows["order_approval"].transitions["approve"].roles == ("board",)


def test_an_overlay_of_a_broken_workflow_is_not_reported_again(write: Writer) -> None:
    root = layered(write, ("app/overlay.json", overlay(change_states={"draft": {"label": "D"}})))
    write("core/workflow.json", wf(("/states/draft/colour", "red")))
    assert located(validate_path(root)) == [
        ("core/workflow.json", "unknown_key", "/states/draft/colour")
    ]


# the stored form --------------------------------------------------------------------------

ASSIGN = {"role": "rep", "team": "East", "strategy": "least_loaded", "field": "handler"}
RICH = wf(
    guard({"and": [{"<=": [{"var": "record.amount"}, 1e6]},
                   {"in": ["cfo", {"var": "user.roles"}]}]}),
    actions(
        {"set": {"approved_at": {"var": "now"}, "extra": {"preserve": {"k": [1, None]}},
                 "customer": "ACME", "priority": 2, "approved_by": None}},
        {"create": {"entity": "task",
                    "values": {"title": "Ship", "order_ref": {"var": "record.id"}}}},
        {"create": {"entity": "task", "values": {"title": "Bill"}}},
        {"assign": ASSIGN},
        {"rescore": {"scorings": ["lead_score"]}},
        {"rescore": {}},
        {"notify": {"topic": "order.approved"}},
    ),
    ("/transitions/reject/inputs", {
        "reason": {"type": "enum", "choices": ["price", "timing"],
                   "label": {"en": "Why", "zh": "原因"}},
        "note": {"type": "string", "max_length": 80},
        "short": {"type": "string", "max_length": 255},
    }),
    ("/transitions/cancel", {"from": "*", "to": "rejected"}),
    (f"{SUBMITTED}/max_duration", "P2W"),
    (f"{SUBMITTED}/escalation/actions", [{"assign": {"role": "manager"}}]),
)  # fmt: skip


def test_round_trip_keeps_guards_and_actions(write: Writer) -> None:
    definitions = load_definitions(app(write, ("workflow.json", RICH), ("p.json", PAYMENT)))
    stored = json.loads(json.dumps(definitions_to_json(definitions), allow_nan=False))
    again = definitions_from_json(stored)
    assert again == definitions
    assert definitions_digest(again) == definitions_digest(definitions)
    written = stored["workflows"]["order_approval"]
    # one way to write each thing: "*" as its states, weeks as days, defaults left out
    cancel = written["transitions"]["cancel"]
    assert cancel["from"] == ["draft", "submitted", "reviewed", "rejected"]
    submitted = written["states"]["submitted"]
    assert submitted["max_duration"] == "P14D"
    assert submitted["escalation"]["actions"] == [{"assign": {"role": "manager"}}]
    assert written["transitions"]["reject"]["inputs"]["short"] == {"type": "string"}
    assert written["states"]["reviewed"] == {}
    assert "label" not in written["transitions"]["approve"]
    assert written["transitions"]["approve"]["actions"][3] == {"assign": ASSIGN}
    assert written["transitions"]["approve"]["actions"][5] == {"rescore": {}}


@pytest.mark.parametrize(
    ("text", "stored"),
    [("P3D", "P3D"), ("PT36H", "P1DT12H"), ("PT90M", "PT1H30M"), ("P1W1DT1S", "P8DT1S")],
)
def test_stored_durations_are_canonical(write: Writer, text: str, stored: str) -> None:
    document = wf((f"{SUBMITTED}/max_duration", text))
    definitions = load_definitions(app(write, ("workflow.json", document)))
    written = definitions_to_json(definitions)["workflows"]["order_approval"]
    assert written["states"]["submitted"]["max_duration"] == stored


def test_definitions_without_workflows_keep_their_stored_form() -> None:
    definitions = load_definitions(PRESETS / "fx_marketing", preset_dirs=[PRESETS])
    assert definitions.workflows == {}
    assert "workflows" not in definitions_to_json(definitions)
    # the digest these definitions had before workflows existed
    digest = "1900f3f8a5f21e829008157e6f9176dd4277ee98382850ca49af0adb8a34640d"
    assert definitions_digest(definitions) == digest
    empty = Definitions(name="x", entities={})
    assert definitions_from_json(definitions_to_json(empty)) == empty


def test_stored_workflows_are_checked(write: Writer) -> None:
    definitions = load_definitions(app(write, ("workflow.json", EXAMPLE)))
    stored = definitions_to_json(definitions)
    stored["workflows"]["order_approval"]["transitions"]["escalate"]["to"] = "sent"
    renamed = definitions_to_json(definitions)
    renamed["workflows"]["other"] = renamed["workflows"].pop("order_approval")
    for data, pointer, code in (
        (stored, "/workflows/order_approval/transitions/escalate/to", "unknown_state"),
        (renamed, "/workflows/other/name", "invalid"),
    ):
        with pytest.raises(DefinitionError) as raised:
            definitions_from_json(data)
        assert [(p.code, p.pointer) for p in raised.value.problems] == [(code, pointer)]


# random documents -------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_WORDS = sorted(
    {
        "draft", "submitted", "approved", "rejected", "reviewed", "submit", "approve", "escalate",
        "record.amount", "record.amout", "inputs.reason", "user.roles", "now", "var", "set",
        "create", "assign", "rescore", "notify", "task", "order", "status", "payment", "*",
        "P3D", "P1M", "PT1H", "final", "initial", "from", "to", "when", "preserve", "owner",
        "amount", "title", "entity", "values", "role", "field", "transition", "actions", "label",
        "inputs", "type", "enum", "choices", "required", "read_only", "max_duration",
        "escalation", "roles", "not_by_creator", "topic", "scorings", "==", "<=", "in",
    }
)  # fmt: skip
KEYS = st.sampled_from(_WORDS) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(_WORDS)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=10,
)


def _paths(value: Any, path: tuple[Any, ...] = (), *, leaves: bool) -> list[tuple[Any, ...]]:
    """The paths of the containers (or of the leaves) of ``value``."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [path] if leaves else []
    found = [] if leaves else [path]
    for key, item in items:
        found.extend(_paths(item, (*path, key), leaves=leaves))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three random changes at random places."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = document
        for step in draw(st.sampled_from(_paths(document, leaves=False))):
            target = target[step]
        if isinstance(target, dict):
            key = draw(st.sampled_from(list(target)) | KEYS) if target else draw(KEYS)
            if key in target and draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(JSON_VALUES)
        elif target and draw(st.booleans()):
            target[draw(st.integers(min_value=0, max_value=len(target) - 1))] = draw(JSON_VALUES)
        else:
            target.append(draw(JSON_VALUES))
    return document


@st.composite
def reworded(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three values replaced by words it uses elsewhere: still
    well formed, so the semantic checks see it (a state that is not one, a field...)."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        *parents, last = draw(st.sampled_from([p for p in _paths(document, leaves=True) if p]))
        target = document
        for step in parents:
            target = target[step]
        target[last] = draw(st.sampled_from(_WORDS) | st.booleans())
    return document


def _check(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for p in problems:
        assert isinstance(p, Problem)
        assert p.code in PROBLEM_CODES
        assert p.message and p.file


def _round_trip(root: Path) -> None:
    problems = validate_path(root)
    _check(problems)
    try:
        definitions = load_definitions(root)
    except DefinitionError as error:
        assert error.problems == tuple(problems) and problems
        return
    assert problems == []
    stored = json.loads(json.dumps(definitions_to_json(definitions), allow_nan=False))
    assert definitions_from_json(stored) == definitions
    assert definitions_digest(definitions_from_json(stored)) == definitions_digest(definitions)


def _bundle(root: Path, *documents: tuple[str, Any]) -> Path:
    write_file(root, "app/bundle.json", manifest("app"))
    write_file(root, "app/order.json", ORDER)
    write_file(root, "app/task.json", TASK)
    for file, document in documents:
        write_file(root, f"app/{file}", document)
    return root / "app"


@FUZZ
@given(mutated(RICH) | reworded(RICH) | st.builds(lambda rule: wf(guard(rule)), JSON_VALUES))
def test_random_workflow_documents(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        _round_trip(_bundle(Path(temp), ("workflow.json", document)))


RICH_OVERLAY = overlay(
    add_states={"on_hold": {}},
    add_transitions=HOLD,
    change_transitions={"approve": {"roles": ["cfo"]}},
    change_states={"submitted": {"max_duration": "PT1H"}},
)


@FUZZ
@given(mutated(RICH_OVERLAY) | reworded(RICH_OVERLAY))
def test_random_workflow_overlays(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        write_file(base, "core/bundle.json", manifest("core"))
        write_file(base, "core/order.json", ORDER)
        write_file(base, "core/task.json", TASK)
        write_file(base, "core/workflow.json", EXAMPLE)
        write_file(base, "app/bundle.json", manifest("app", "../core"))
        write_file(base, "app/choices.json", choices_overlay("on_hold"))
        write_file(base, "app/overlay.json", document)
        _round_trip(base / "app")


def _stored(*documents: tuple[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        return definitions_to_json(load_definitions(_bundle(Path(temp), *documents)))


STORED = _stored()
STORED_RICH = _stored(("workflow.json", RICH))["workflows"]["order_approval"]


@FUZZ
@given(mutated(STORED_RICH) | reworded(STORED_RICH))
def test_random_stored_workflows(workflow: Any) -> None:
    stored = {**STORED, "workflows": {"order_approval": workflow}}
    try:
        definitions = definitions_from_json(stored)
    except DefinitionError as error:
        _check(error.problems)
        assert error.problems
        return
    again = json.loads(json.dumps(definitions_to_json(definitions)))
    assert definitions_from_json(again) == definitions
