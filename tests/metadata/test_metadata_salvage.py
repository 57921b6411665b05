"""Form and meaning problems of a bundle come out in one run: a document that fails its
meta-schema takes part in the meaning checks with the parts at fault removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from metadata_support import (
    EXAMPLE,
    ORDER,
    TASK,
    Writer,
    app,
    edited,
    entity,
    located,
    manifest,
    wf,
)

from engine.metadata import validate_path
from engine.metadata._documents import salvage


def _bundle(write: Writer, *documents: tuple[str, Any]) -> Path:
    for file, document in documents:
        write(f"sales/{file}", document)
    return write("sales/bundle.json", manifest("sales")).parent


def test_an_inapplicable_option_and_an_unknown_field_come_out_together(write: Writer) -> None:
    deal = entity(
        {"title": {"type": "string"}, "amount": {"type": "decimal", "max_length": 3}},
        indexes=[["titel"]],
    )
    problems = validate_path(_bundle(write, ("deal.json", deal)))
    assert located(problems) == [
        ("sales/deal.json", "inapplicable_option", "/fields/amount/max_length"),
        ("sales/deal.json", "unknown_field", "/indexes/0/0"),
    ]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            [("/transitions/submit/rolse", ["rep"]), ("/transitions/review/from", ["submited"])],
            [("unknown_key", "/transitions/submit/rolse"), ("unknown_state", "/transitions/review/from/0")],
            id="unknown-key-and-unknown-state",
        ),
        pytest.param(
            [("/states/reviewed/final", "yes"), ("/states/submitted/required", ["amount", "custmer"])],
            [("type", "/states/reviewed/final"), ("unknown_field", "/states/submitted/required/1")],
            id="wrong-type-and-unknown-field",
        ),
        pytest.param(
            [("/label", {"zh": "订单审批"}), ("/states/submitted/read_only", ["amout"])],
            [("required", "/label"), ("unknown_field", "/states/submitted/read_only/0")],
            id="missing-key-and-unknown-field",
        ),
    ],
)
def test_a_workflow_reports_its_form_and_meaning_problems_in_one_run(
    write: Writer, edits: list[tuple[str, Any]], expected: list[tuple[str, str]]
) -> None:
    problems = validate_path(app(write, ("workflow.json", wf(*edits))))
    assert located(problems) == [("app/workflow.json", code, pointer) for code, pointer in expected]


def test_what_the_removal_of_a_broken_part_would_cause_is_not_reported(write: Writer) -> None:
    # Without its (broken) "initial", the workflow has no initial state: that is not news.
    problems = validate_path(app(write, ("workflow.json", wf(("/states/draft/initial", "yes")))))
    assert located(problems) == [("app/workflow.json", "type", "/states/draft/initial")]


def test_a_broken_named_part_keeps_its_document_out_of_the_meaning_checks(write: Writer) -> None:
    # Removing the field would make every reference to it an unknown_field: the document
    # sits out instead, and nothing refers to a missing "status".
    order = edited(ORDER, ("/fields/status/type", "enm"), ("/fields/amount/max_length", 3))
    write("app/order.json", order)
    write("app/task.json", TASK)
    write("app/workflow.json", EXAMPLE)
    problems = validate_path(write("app/bundle.json", manifest("app")).parent)
    assert sorted(located(problems)) == [
        ("app/order.json", "inapplicable_option", "/fields/amount/max_length"),
        ("app/order.json", "unknown_type", "/fields/status/type"),
    ]


def test_problems_are_not_repeated(write: Writer) -> None:
    deal = entity({"title": {"type": "string", "max_lenght": 3}}, display="titel", indexes=[["titel"], ["titel"]])
    problems = validate_path(_bundle(write, ("deal.json", deal)))
    assert len(problems) == len(set(problems))
    assert {p.code for p in problems} == {"unknown_key", "duplicate_item", "unknown_field"}


@pytest.mark.parametrize(
    ("document", "removed"),
    [
        (entity({"a": {"type": "string", "max_length": "3"}}), ("/fields/a/max_length",)),
        (entity(unique=[["title", 3]]), ("/unique",)),
        (entity(label={"zh": "交易"}), ("/label",)),
        (entity({"a": {"type": "strin"}}), None),
        (entity({"Bad": {"type": "string"}}), None),
        (entity({"a": {"type": "enum", "choices": ["x", 3]}}), None),
        ({**entity(), "fields": 3}, None),
    ],
    ids=["option", "list-item", "missing-key", "field-type", "field-name", "choice", "required-key"],
)
def test_salvage_removes_only_unnamed_parts(document: dict[str, Any], removed: tuple[str, ...] | None) -> None:
    found = salvage("entity.schema.json", document)
    assert (found.removed if found is not None else None) == removed
