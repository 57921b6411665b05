"""Workflow documents: what they load into, and the code and pointer of each mistake.

The fixtures are in data/workflows (see metadata_support); overlays, the stored form and
random documents are in test_metadata_workflow_overlays.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from metadata_support import (
    ACTION,
    APPROVE,
    DELETE,
    EXAMPLE,
    ORDER,
    PAYMENT,
    PRESETS,
    REASON,
    SUBMITTED,
    TASK_FLOW,
    WHEN,
    Writer,
    actions,
    app,
    guard,
    located,
    manifest,
    wf,
)

from engine.errors import DefinitionError
from engine.metadata import (
    PROBLEM_CODES,
    ActionDef,
    EscalationDef,
    InputDef,
    Label,
    StateDef,
    TransitionDef,
    WorkflowDef,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)


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
            "submit": TransitionDef("submit", Label("Submit"), ("draft", "rejected"), "submitted", roles=("rep",)),
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
                {"rescore": {"scorings": ["order_score"]}},
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
        ActionDef("rescore", scorings=("order_score",)),
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
    assert located(problems) == [("app/workflow.json", "invalid_duration", f"{SUBMITTED}/max_duration")]


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
    (wf(("/entity", DELETE)), "", "required"),
    (wf(("/states/draft/colour", "red")), "/states/draft/colour", "unknown_key"),
    (wf(("/states/Draft State", {})), "/states/Draft State", "invalid_name"),
    (wf(("/states", {})), "/states", "too_short"),
    (wf(("/transitions/submit/from", "draft")), "/transitions/submit/from", "enum"),
    (wf(("/transitions/submit/from", [])), "/transitions/submit/from", "too_short"),
    (wf(("/transitions/submit/from", ["draft"] * 2)),
     "/transitions/submit/from/1", "duplicate_item"),
    (wf(("/transitions/submit/to", DELETE)), "/transitions/submit", "required"),
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
        wf(("/states/rejected", DELETE), ("/transitions/reject", DELETE),
           ("/transitions/submit/from", ["draft"])),
        "/field",
        "choice_not_state",
    ),
    # the graph
    (wf(("/states/draft/initial", DELETE)), "/states", "initial_state"),
    (wf(("/states/reviewed/initial", True)), "/states/reviewed/initial", "initial_state"),
    (wf(("/transitions/submit/from", ["draft", "rejectd"])),
     "/transitions/submit/from/1", "unknown_state"),
    (wf(("/transitions/escalate/to", "reviewd")), "/transitions/escalate/to", "unknown_state"),
    (
        wf(("/transitions/reject", DELETE), ("/transitions/submit/from", ["draft"])),
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
    (wf((f"{SUBMITTED}/max_duration", DELETE)), SUBMITTED, "required"),
    (wf((f"{SUBMITTED}/escalation", DELETE)), SUBMITTED, "required"),
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
def test_mistake_in_a_workflow_is_located(write: Writer, document: Any, pointer: str, code: str) -> None:
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
    assert located(validate_path(root)) == [("app/order.json", "unknown_type", "/fields/amount/type")]


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


# state labels ---------------------------------------------------------------------------

LABELLED_CHOICES = [
    {"value": "draft", "label": {"en": "Draft", "zh": "草稿"}},
    {"value": "submitted", "label": {"en": "Sent", "zh": "已提交"}},
    "reviewed",
    {"value": "approved", "label": "Accepted"},
    "rejected",
]


def test_a_state_without_a_label_takes_its_choices(write: Writer) -> None:
    order = wf(("/fields/status/choices", LABELLED_CHOICES), base=ORDER)
    document = wf(("/states/draft/label", DELETE), ("/states/reviewed/label", "Checked"))
    root = app(write, ("workflow.json", document))
    write("app/order.json", order)
    definitions = load_definitions(root)
    states = definitions.workflows["order_approval"].states
    assert {name: state.label for name, state in states.items()} == {
        "draft": Label("Draft", "草稿"),  # the choice's, with its Chinese text
        "submitted": Label("Sent", "已提交"),
        "reviewed": Label("Checked"),  # its own label wins
        "approved": Label("Accepted"),
        "rejected": Label("Rejected"),  # derived, as the choice's is
    }
    # the stored form leaves out labels equal to the choice's, and reads back the same
    stored = json.loads(json.dumps(definitions_to_json(definitions)))
    written = stored["workflows"]["order_approval"]["states"]
    assert {name: state.get("label") for name, state in written.items()} == {
        "draft": None,
        "submitted": None,
        "reviewed": "Checked",
        "approved": None,
        "rejected": None,
    }
    assert definitions_from_json(stored) == definitions


def test_a_state_label_that_differs_from_its_choices_is_stored(write: Writer) -> None:
    order = wf(("/fields/status/choices", LABELLED_CHOICES), base=ORDER)
    # "Draft" alone is what the name derives to, but not the choice's label
    document = wf(("/states/draft/label", "Draft"))
    root = app(write, ("workflow.json", document))
    write("app/order.json", order)
    definitions = load_definitions(root)
    assert definitions.workflows["order_approval"].states["draft"].label == Label("Draft")
    stored = json.loads(json.dumps(definitions_to_json(definitions)))
    assert stored["workflows"]["order_approval"]["states"]["draft"]["label"] == "Draft"
    assert definitions_from_json(stored) == definitions
