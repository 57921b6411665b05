"""One entity document at a time: what is accepted, and the code and pointer of each mistake."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from metadata_support import Writer, entity, one_field, without

from engine.errors import DefinitionError
from engine.metadata import (
    NO_DEFAULT,
    PROBLEM_CODES,
    Choice,
    Label,
    load_definitions,
    validate_path,
)

LONG_NAME = "a" * 64


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        # header
        (without(entity(), "schema_version"), "", "required"),
        (without(entity(), "kind"), "", "required"),
        (entity(schema_version=2), "/schema_version", "unsupported_schema_version"),
        (entity(schema_version="1"), "/schema_version", "unsupported_schema_version"),
        (entity(schema_version=True), "/schema_version", "unsupported_schema_version"),
        (entity(kind="entty"), "/kind", "unknown_kind"),
        (entity(kind=5), "/kind", "unknown_kind"),
        (entity(kind="bundle"), "/kind", "unexpected_kind"),
        (entity(kind="definitions"), "/kind", "unexpected_kind"),
        ([entity()], "", "not_an_object"),
        (5, "", "not_an_object"),
        # required keys: the pointer of the object missing them
        (without(entity(), "name"), "", "required"),
        (without(entity(), "fields"), "", "required"),
        (entity({"f": {}}), "/fields/f", "required"),
        (one_field(type="enum"), "/fields/f", "required"),
        (one_field(type="reference"), "/fields/f", "required"),
        (one_field(type="string", label={"zh": "名称"}), "/fields/f/label", "required"),
        # keys that do not exist: the pointer of the key itself
        (entity(feilds={}), "/feilds", "unknown_key"),
        (one_field(type="string", maxLength=3), "/fields/f/maxLength", "unknown_key"),
        (
            one_field(type="string", label={"en": "F", "fr": "F"}),
            "/fields/f/label/fr",
            "unknown_key",
        ),
        (
            one_field(type="enum", choices=[{"value": "a", "name": "A"}]),
            "/fields/f/choices/0/name",
            "unknown_key",
        ),
        # one meaning per key: options of other types
        (one_field(type="integer", max_length=3), "/fields/f/max_length", "inapplicable_option"),
        (one_field(type="string", choices=["a"]), "/fields/f/choices", "inapplicable_option"),
        (one_field(type="string", minimum=1), "/fields/f/minimum", "inapplicable_option"),
        (one_field(type="integer", target="deal"), "/fields/f/target", "inapplicable_option"),
        (one_field(type="integer", precision=5), "/fields/f/precision", "inapplicable_option"),
        (one_field(type="date", pattern="x"), "/fields/f/pattern", "inapplicable_option"),
        (
            one_field(type="reference", target="deal", default=None),
            "/fields/f/default",
            "inapplicable_option",
        ),
        (one_field(type="json", unique=True), "/fields/f/unique", "inapplicable_option"),
        (
            one_field(type="multi_enum", choices=["a"], index=True),
            "/fields/f/index",
            "inapplicable_option",
        ),
        (one_field(type="boolean", unique=True), "/fields/f/unique", "inapplicable_option"),
        (entity({"j": {"type": "json"}}, indexes=[["j"]]), "/indexes/0/0", "inapplicable_option"),
        # JSON types
        (one_field(type="string", required="yes"), "/fields/f/required", "type"),
        (one_field(type="string", label=5), "/fields/f/label", "type"),
        (one_field(type="integer", minimum="1"), "/fields/f/minimum", "type"),
        (entity(fields=[]), "/fields", "type"),
        (entity(indexes="title"), "/indexes", "type"),
        (one_field(type="enum", choices=[1]), "/fields/f/choices/0", "type"),
        # field types and other fixed values
        (one_field(type="int"), "/fields/f/type", "unknown_type"),
        (one_field(type="Integer"), "/fields/f/type", "unknown_type"),
        (one_field(type=5), "/fields/f/type", "unknown_type"),
        (
            one_field(type="reference", target="deal", on_delete="nullify"),
            "/fields/f/on_delete",
            "enum",
        ),
        # names
        (entity({"Title": {"type": "string"}}), "/fields/Title", "invalid_name"),
        (entity({"first name": {"type": "string"}}), "/fields/first name", "invalid_name"),
        (entity({"a/b": {"type": "string"}}), "/fields/a~1b", "invalid_name"),
        (entity(name="Deal"), "/name", "invalid_name"),
        (entity(name="2deal"), "/name", "invalid_name"),
        (entity(name="deal\n"), "/name", "invalid_name"),
        (entity({"title\n": {"type": "string"}}), "/fields/title\n", "invalid_name"),
        (entity(name=LONG_NAME), "/name", "invalid_name"),
        (entity(display="Title"), "/display", "invalid_name"),
        (one_field(type="reference", target="Deal"), "/fields/f/target", "invalid_name"),
        (one_field(type="string", renamed_from="Old"), "/fields/f/renamed_from", "invalid_name"),
        (entity({"id": {"type": "string"}}), "/fields/id", "reserved_name"),
        (entity({"owner": {"type": "string"}}), "/fields/owner", "reserved_name"),
        (entity(name="crm_users"), "/name", "reserved_name"),
        (entity({"order": {"type": "integer"}}), "/fields/order", "sql_keyword"),
        (entity({"select": {"type": "string"}}), "/fields/select", "sql_keyword"),
        (entity({"end": {"type": "date"}}), "/fields/end", "sql_keyword"),
        (entity({"limit": {"type": "integer"}}), "/fields/limit", "sql_keyword"),
        # forms, lengths and ranges
        (one_field(type="enum", choices=["a b"]), "/fields/f/choices/0", "pattern"),
        (one_field(type="enum", choices=["a\n"]), "/fields/f/choices/0", "pattern"),
        (one_field(type="decimal", minimum="1\n"), "/fields/f/minimum", "pattern"),
        (one_field(type="decimal", minimum="1e5"), "/fields/f/minimum", "pattern"),
        (one_field(type="string", label=""), "/fields/f/label", "too_short"),
        (one_field(type="enum", choices=[]), "/fields/f/choices", "too_short"),
        (entity(indexes=[[]]), "/indexes/0", "too_short"),
        (one_field(type="string", label="x" * 201), "/fields/f/label", "too_long"),
        (one_field(type="string", max_length=0), "/fields/f/max_length", "out_of_range"),
        (one_field(type="string", min_length=-1), "/fields/f/min_length", "out_of_range"),
        (one_field(type="decimal", precision=39), "/fields/f/precision", "out_of_range"),
        (one_field(type="integer", maximum=2**63), "/fields/f/maximum", "out_of_range"),
        (entity(indexes=[["title", "title"]]), "/indexes/0/1", "duplicate_item"),
        (entity(unique=[["title"], ["title"]]), "/unique/1", "duplicate_item"),
        # defaults are values the field itself accepts
        (one_field(type="string", default=5), "/fields/f/default", "invalid_default"),
        (
            one_field(type="string", max_length=3, default="abcd"),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="string", min_length=2, default="a"),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="string", pattern="[A-Z]+", default="ABc"),
            "/fields/f/default",
            "invalid_default",
        ),
        (one_field(type="text", default=["x"]), "/fields/f/default", "invalid_default"),
        (one_field(type="email", default="not-an-address"), "/fields/f/default", "invalid_default"),
        (one_field(type="phone", default="call me"), "/fields/f/default", "invalid_default"),
        (one_field(type="phone", default="110"), "/fields/f/default", "invalid_default"),
        (one_field(type="email", default="a@example..com"), "/fields/f/default", "invalid_default"),
        (
            one_field(type="url", default="ftp://example.com"),
            "/fields/f/default",
            "invalid_default",
        ),
        (one_field(type="integer", default=1.5), "/fields/f/default", "invalid_default"),
        (one_field(type="integer", default="3"), "/fields/f/default", "invalid_default"),
        (one_field(type="integer", default=True), "/fields/f/default", "invalid_default"),
        (one_field(type="integer", minimum=0, default=-1), "/fields/f/default", "invalid_default"),
        (one_field(type="integer", default=2**63), "/fields/f/default", "invalid_default"),
        (one_field(type="decimal", default="abc"), "/fields/f/default", "invalid_default"),
        (one_field(type="money", default=1.234), "/fields/f/default", "invalid_default"),
        (
            one_field(type="decimal", precision=4, scale=2, default=100),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="money", maximum="9.99", default="10.00"),
            "/fields/f/default",
            "invalid_default",
        ),
        (one_field(type="boolean", default="yes"), "/fields/f/default", "invalid_default"),
        (one_field(type="date", default="2024-02-30"), "/fields/f/default", "invalid_default"),
        (one_field(type="date", default="01/02/2024"), "/fields/f/default", "invalid_default"),
        (one_field(type="date", default="2024-01-01\n"), "/fields/f/default", "invalid_default"),
        (
            one_field(type="datetime", default="2024-05-01"),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="enum", choices=["a"], default="b"),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="multi_enum", choices=["a"], default="a"),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="multi_enum", choices=["a", "b"], default=["a", "c"]),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="multi_enum", choices=["a"], default=["a", "a"]),
            "/fields/f/default",
            "invalid_default",
        ),
        (
            one_field(type="string", required=True, default=None),
            "/fields/f/default",
            "invalid_default",
        ),
        # options that contradict each other
        (one_field(type="integer", minimum=5, maximum=1), "/fields/f/minimum", "invalid_bounds"),
        (
            one_field(type="string", min_length=5, max_length=2),
            "/fields/f/min_length",
            "invalid_bounds",
        ),
        (one_field(type="string", min_length=300), "/fields/f/min_length", "invalid_bounds"),
        (
            one_field(type="decimal", precision=4, scale=2, maximum=1000),
            "/fields/f/maximum",
            "invalid_bounds",
        ),
        (one_field(type="money", minimum="0.001"), "/fields/f/minimum", "invalid_bounds"),
        (one_field(type="string", pattern="("), "/fields/f/pattern", "invalid_pattern"),
        (one_field(type="decimal", precision=4, scale=6), "/fields/f/scale", "invalid_scale"),
        (one_field(type="money", scale=19), "/fields/f/scale", "invalid_scale"),
        (
            one_field(type="enum", choices=["a", {"value": "a"}]),
            "/fields/f/choices/1",
            "duplicate_choice",
        ),
        (
            one_field(type="reference", target="deal", required=True, on_delete="set_null"),
            "/fields/f/on_delete",
            "invalid_on_delete",
        ),
        # names that must name something
        (entity(display="titel"), "/display", "unknown_field"),
        (entity(indexes=[["title", "amount"]]), "/indexes/0/1", "unknown_field"),
        (entity(unique=[["nope"]]), "/unique/0/0", "unknown_field"),
        (one_field(type="reference", target="account"), "/fields/f/target", "unknown_target"),
        (
            one_field(type="string", renamed_from="f"),
            "/fields/f/renamed_from",
            "renamed_from_clash",
        ),
        (
            entity({"a": {"type": "string"}, "b": {"type": "string", "renamed_from": "a"}}),
            "/fields/b/renamed_from",
            "renamed_from_clash",
        ),
        (
            entity(
                {
                    "a": {"type": "string", "renamed_from": "x"},
                    "b": {"type": "string", "renamed_from": "x"},
                }
            ),
            "/fields/b/renamed_from",
            "renamed_from_clash",
        ),
        (entity(renamed_from="deal"), "/renamed_from", "renamed_from_clash"),
    ],
)
def test_mistake_in_an_entity_document_is_located(write: Writer, document: Any, pointer: str, code: str) -> None:
    path = write("deal.json", document)
    problems = validate_path(path)
    assert [(p.code, p.pointer) for p in problems] == [(code, pointer)]
    assert code in PROBLEM_CODES
    assert problems[0].file == "deal.json"
    assert problems[0].message
    with pytest.raises(DefinitionError) as raised:
        load_definitions(path)
    assert raised.value.problems == tuple(problems)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(entity(name="order"), id="entity-named-like-sql-keyword"),
        pytest.param(entity({}), id="no-fields"),
        pytest.param(
            entity({"f": {"type": "string"}}, **{"$schema": "../schemas/entity.schema.json"}),
            id="editor-schema-key",
        ),
        pytest.param(entity({"start_date": {"type": "date"}}, display="start_date"), id="display"),
        pytest.param(entity(indexes=[["owner", "created_at"]]), id="index-on-system-fields"),
        pytest.param(one_field(type="reference", target="deal", on_delete="set_null"), id="self-reference"),
        pytest.param(one_field(type="string", default=None), id="null-default"),
        pytest.param(one_field(type="string", pattern="[A-Z]{2}[0-9]+", default="AB12"), id="pattern-default"),
        pytest.param(one_field(type="text", default="x" * 5000), id="text-has-no-default-length"),
        pytest.param(one_field(type="email", default="sales@example.com"), id="email-default"),
        pytest.param(one_field(type="phone", default="+86 (21) 5555-0100"), id="phone-default"),
        pytest.param(one_field(type="url", default="https://example.com/x?y=1"), id="url-default"),
        pytest.param(one_field(type="integer", minimum=1.0, maximum=10, default=10), id="integer"),
        pytest.param(
            one_field(type="decimal", precision=4, scale=2, minimum=-99.99, default="12.50"),
            id="decimal",
        ),
        pytest.param(one_field(type="money", default=0.1), id="money-float-default"),
        pytest.param(one_field(type="decimal", precision=4), id="precision-below-default-scale"),
        pytest.param(one_field(type="boolean", default=False), id="boolean"),
        pytest.param(one_field(type="date", default="2024-02-29"), id="date"),
        pytest.param(one_field(type="datetime", default="2024-05-01T09:30:00Z"), id="datetime"),
        pytest.param(one_field(type="datetime", default="2024-05-01 09:30"), id="datetime-utc"),
        pytest.param(one_field(type="multi_enum", choices=["a", "b"], default=[]), id="multi-enum"),
        pytest.param(one_field(type="json", default={"nested": [1, {"a": None}]}), id="json"),
    ],
)
def test_valid_document_loads(write: Writer, document: dict[str, Any]) -> None:
    path = write("deal.json", document)
    assert validate_path(path) == []
    definitions = load_definitions(path)
    assert definitions.name == "deal"
    assert definitions.bundles == ("deal",)
    assert list(definitions.entities) == [document["name"]]


def test_resolved_defaults_are_filled_in(write: Writer) -> None:
    path = write(
        "deal.json",
        entity(
            {
                "contact_email": {"type": "email"},
                "code": {"type": "string", "label": {"en": "Code", "zh": "编号"}},
                "notes": {"type": "text"},
                "amount": {"type": "decimal", "minimum": 0.5, "maximum": "1000000.25"},
                "price": {"type": "money", "precision": 10},
                "ratio": {"type": "decimal", "precision": 4},
                "stage": {
                    "type": "enum",
                    "choices": ["in_progress", {"value": "won", "label": "Won!"}],
                },
                "account": {"type": "reference", "target": "deal"},
            }
        ),
    )
    deal = load_definitions(path).entity("deal")
    assert deal.label == Label("Deal")
    fields = deal.fields
    assert list(fields) == [
        "contact_email",
        "code",
        "notes",
        "amount",
        "price",
        "ratio",
        "stage",
        "account",
    ]
    assert fields["contact_email"].label == Label("Contact email")
    assert fields["contact_email"].max_length == 254
    assert fields["code"].label == Label("Code", "编号")
    assert fields["code"].max_length == 255
    assert fields["notes"].max_length is None
    assert (fields["amount"].precision, fields["amount"].scale) == (18, 6)
    assert fields["amount"].minimum == Decimal("0.5")
    assert fields["amount"].maximum == Decimal("1000000.25")
    assert (fields["price"].precision, fields["price"].scale) == (10, 2)
    assert (fields["ratio"].precision, fields["ratio"].scale) == (4, 4)
    assert fields["stage"].choices == (
        Choice("in_progress", Label("In progress")),
        Choice("won", Label("Won!")),
    )
    assert fields["stage"].default is NO_DEFAULT
    assert fields["account"].on_delete == "restrict"
    assert fields["account"].source is not None
    assert (fields["account"].source.file, fields["account"].source.pointer) == (
        "deal.json",
        "/fields/account",
    )


def test_every_problem_of_a_document_is_reported(write: Writer) -> None:
    broken_form = entity(
        {
            "Title": {"type": "string"},
            "size": {"type": "int"},
            "amount": {"type": "integer", "max_length": 5},
            "stage": {"type": "enum", "choices": ["a"], "default": "b"},
        },
    )
    problems = validate_path(write("deal.json", broken_form))
    # The form comes first: with the meta-schema failing, the default is not checked yet.
    assert sorted((p.code, p.pointer) for p in problems) == [
        ("inapplicable_option", "/fields/amount/max_length"),
        ("invalid_name", "/fields/Title"),
        ("unknown_type", "/fields/size/type"),
    ]
    broken_meaning = entity(
        {
            "id": {"type": "string"},
            "stage": {"type": "enum", "choices": ["a"], "default": "b"},
            "amount": {"type": "integer", "minimum": 3, "maximum": 1},
        },
        display="nothing",
    )
    problems = validate_path(write("deal.json", broken_meaning))
    assert sorted((p.code, p.pointer) for p in problems) == [
        ("invalid_bounds", "/fields/amount/minimum"),
        ("invalid_default", "/fields/stage/default"),
        ("reserved_name", "/fields/id"),
        ("unknown_field", "/display"),
    ]


@pytest.mark.parametrize(
    ("document", "suggestion"),
    [
        (one_field(type="int"), "'integer'"),
        (one_field(type="strng"), "'string'"),
        (one_field(type="enum", options=["a"]), "'choices'"),
        (one_field(type="string", maxLength=3), "'max_length'"),
        (entity({"FirstName": {"type": "string"}}), "'first_name'"),
        (entity(kind="entitty"), "'entity'"),
    ],
)
def test_messages_suggest_the_fix(write: Writer, document: dict[str, Any], suggestion: str) -> None:
    problems = validate_path(write("deal.json", document))
    assert any(f"Did you mean {suggestion}?" in p.message for p in problems)
