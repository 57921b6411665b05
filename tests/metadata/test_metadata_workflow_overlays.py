"""Workflow overlays, the canonical stored form of workflows, and random documents (only
DefinitionError comes out; what loads survives the round trip).

The fixtures are in data/workflows (see metadata_support).
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from metadata_support import (
    EXAMPLE,
    FUZZ,
    ORDER,
    ORDER_SCORE,
    PAYMENT,
    PRESETS,
    SUBMITTED,
    TASK,
    Writer,
    actions,
    app,
    check_problems,
    choices_overlay,
    guard,
    json_values,
    layered,
    located,
    manifest,
    mutated,
    overlay,
    reworded,
    wf,
    write_file,
)

from engine.errors import DefinitionError
from engine.metadata import (
    Definitions,
    Label,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)


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
    root = layered(write, ("app/choices.json", choices_overlay("on_hold")), ("app/overlay.json", document))
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
def test_workflow_overlay_mistake_is_located(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
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
    assert located(validate_path(root)) == [("b/overlay.json", "overlay_clash", "/change_transitions/approve/roles")]
    # a bundle extending both settles it
    write("both/overlay.json", overlay(change_transitions={"approve": {"roles": ["board"]}}))
    definitions = load_definitions(root)
    assert definitions.workflows["order_approval"].transitions["approve"].roles == ("board",)


def test_an_overlay_of_a_broken_workflow_is_not_reported_again(write: Writer) -> None:
    root = layered(write, ("app/overlay.json", overlay(change_states={"draft": {"label": "D"}})))
    write("core/workflow.json", wf(("/states/draft/colour", "red")))
    assert located(validate_path(root)) == [("core/workflow.json", "unknown_key", "/states/draft/colour")]


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
        {"rescore": {"scorings": ["order_score"]}},
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

WORDS = sorted(
    {
        "draft", "submitted", "approved", "rejected", "reviewed", "submit", "approve", "escalate",
        "record.amount", "record.amout", "inputs.reason", "user.roles", "now", "var", "set",
        "create", "assign", "rescore", "notify", "task", "order", "status", "payment", "*",
        "P3D", "P1M", "PT1H", "final", "initial", "from", "to", "when", "preserve", "owner",
        "amount", "title", "entity", "values", "role", "field", "transition", "actions", "label",
        "inputs", "type", "enum", "choices", "required", "read_only", "max_duration",
        "escalation", "roles", "not_by_creator", "topic", "scorings", "==", "<=", "in",
        "order_score",
    }
)  # fmt: skip


def _round_trip(root: Path) -> None:
    problems = validate_path(root)
    check_problems(problems)
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
    write_file(root, "app/order_score.json", ORDER_SCORE)
    for file, document in documents:
        write_file(root, f"app/{file}", document)
    return root / "app"


@FUZZ
@given(mutated(RICH, WORDS) | reworded(RICH, WORDS) | st.builds(lambda rule: wf(guard(rule)), json_values(WORDS)))
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
@given(mutated(RICH_OVERLAY, WORDS) | reworded(RICH_OVERLAY, WORDS))
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
@given(mutated(STORED_RICH, WORDS) | reworded(STORED_RICH, WORDS))
def test_random_stored_workflows(workflow: Any) -> None:
    stored = {**STORED, "workflows": {"order_approval": workflow}}
    try:
        definitions = definitions_from_json(stored)
    except DefinitionError as error:
        check_problems(error.problems)
        assert error.problems
        return
    again = json.loads(json.dumps(definitions_to_json(definitions)))
    assert definitions_from_json(again) == definitions
