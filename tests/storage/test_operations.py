"""Migration operations: one class per kind, each describing itself as ``crm schema diff`` prints it."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from engine.metadata import Choice, FieldDef, Label
from engine.storage import (
    AddField,
    AddIndex,
    AddUnique,
    ChangeReference,
    ChangeType,
    CreateEntity,
    DefinitionOnly,
    DropEntity,
    DropField,
    DropIndex,
    DropUnique,
    FillDefault,
    Operation,
    RemoveChoices,
    RenameEntity,
    RenameField,
    RequireField,
    StepKind,
)


def _field(name: str, type_: str, **options: Any) -> FieldDef:
    return FieldDef(name=name, type=type_, label=Label(name), **options)  # type: ignore[arg-type]


def _operation_classes() -> list[type[Operation]]:
    found: list[type[Operation]] = []
    todo = list(Operation.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "kind" in vars(cls):
            found.append(cls)
    return found


def test_every_kind_has_one_operation_class_named_after_it() -> None:
    classes = _operation_classes()
    assert sorted(cls.kind for cls in classes) == sorted(typing.get_args(StepKind))
    for cls in classes:
        assert cls.__name__ == "".join(part.title() for part in cls.kind.split("_"))


CODE = _field("code", "string", max_length=20)
STAGE = _field("stage", "enum", choices=(Choice("new", Label("New")), Choice("won", Label("Won"))))
OWNER = _field("owner", "reference", target="user", on_delete="set_null")


@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        (CreateEntity(entity="deal"), "create entity deal"),
        (DropEntity(entity="deal"), "drop entity deal and its table"),
        (RenameEntity(entity="deal", previous="opportunity"), "rename entity opportunity → deal (data kept)"),
        (DefinitionOnly(entity="-", text="report pipeline added"), "report pipeline added"),
        (AddField(entity="account", field="code", definition=CODE), "add field account.code (string)"),
        (DropField(entity="account", field="code"), "drop field account.code"),
        (RenameField(entity="account", field="code", previous="ref"), "rename field account.ref → code (data kept)"),
        (
            ChangeType(
                entity="account",
                field="code",
                column="code",
                before=CODE,
                after=_field("code", "decimal", precision=14, scale=2),
            ),
            "change account.code from string(20) to decimal(14,2)",
        ),
        (
            RemoveChoices(
                entity="deal",
                field="stage",
                column="stage",
                before=STAGE,
                after=_field("stage", "enum", choices=(Choice("new", Label("New")),)),
            ),
            "remove choice(s) won from deal.stage",
        ),
        (RequireField(entity="account", field="code"), "account.code is required"),
        (
            FillDefault(entity="account", field="size", definition=_field("size", "integer", default=5), added=True),
            "set account.size to its default 5 on existing records",
        ),
        (
            FillDefault(
                entity="account", field="region", definition=_field("region", "string", default="east"), added=False
            ),
            "account.region is required; empty values get the default 'east'",
        ),
        (
            ChangeReference(entity="deal", field="owner", definition=OWNER, previous_on_delete="restrict"),
            "deal.owner: on_delete restrict → set_null",
        ),
        (AddUnique(entity="account", field="code", columns=("code",)), "account.code must be unique"),
        (AddUnique(entity="account", field="code", columns=("code",), kept=True), "account.code stays unique"),
        (AddUnique(entity="account", columns=("name", "city")), "(name, city) must be unique together"),
        (DropUnique(entity="account", field="code", columns=("code",)), "account.code no longer unique"),
        (DropUnique(entity="account", columns=("name", "city")), "(name, city) no longer unique together"),
        (AddIndex(entity="account", field="code", columns=("code",)), "add index on account.code"),
        (AddIndex(entity="account", columns=("name", "city")), "add index on (name, city)"),
        (DropIndex(entity="account", field="code", columns=("code",)), "drop index on account.code"),
        (DropIndex(entity="account", columns=("name", "city")), "drop index on (name, city)"),
    ],
    ids=lambda value: value.kind if isinstance(value, Operation) else "",
)
def test_an_operation_describes_itself(operation: Operation, detail: str) -> None:
    assert operation.describe() == detail
    assert operation.detail == detail
    assert operation.to_json()["detail"] == detail


def test_the_json_form_leaves_empty_parts_out_and_keeps_its_order() -> None:
    step = ChangeType(
        entity="account",
        field="code",
        column="code",
        before=CODE,
        after=_field("code", "integer"),
        rows=3,
        lost=1,
        changed=1,
        examples=((1, "00123", "123"), (3, "n/a", None)),
        destructive=True,
        reason="…",
    )
    assert list(step.to_json()) == [
        "kind",
        "entity",
        "detail",
        "field",
        "rows",
        "lost",
        "destructive",
        "blocking",
        "reason",
        "changed",
        "examples",
    ]
    assert step.to_json()["examples"] == [
        {"id": 1, "before": "00123", "after": "123"},
        {"id": 3, "before": "n/a", "after": None},
    ]
    assert CreateEntity(entity="deal").to_json() == {
        "kind": "create_entity",
        "entity": "deal",
        "detail": "create entity deal",
        "rows": 0,
        "lost": 0,
        "destructive": False,
        "blocking": False,
        "changed": 0,
    }
    assert AddIndex(entity="account", columns=("name", "city")).to_json()["columns"] == ["name", "city"]


def test_a_change_of_value_kind_moves_the_values_to_a_new_column() -> None:
    to_text = ChangeType(entity="account", field="code", column="code", before=_field("code", "integer"), after=CODE)
    longer = ChangeType(
        entity="account", field="code", column="code", before=CODE, after=_field("code", "email", max_length=80)
    )
    assert to_text.rewrites
    assert not longer.rewrites


def test_operation_classes_carry_no_optional_field_they_need() -> None:
    """``field`` is required wherever an operation is about one field (no ``assert field``)."""
    for cls in (
        AddField,
        DropField,
        RenameField,
        ChangeType,
        RemoveChoices,
        RequireField,
        FillDefault,
        ChangeReference,
    ):
        assert typing.get_type_hints(cls)["field"] is str
