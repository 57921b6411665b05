"""Record validation rules, checked on both implementations (marshmallow and compiled)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from compile_defs import entity, field

from engine.compile import build_record_schema, compile_validator, load_record
from engine.errors import RecordValidationError
from engine.metadata._model import EntityDef, FieldDef

UTC = UTC
Outcome = tuple[dict[str, Any] | None, list[tuple[str | None, str]]]
Validate = Callable[[EntityDef, Any, bool], Outcome]


def _marshmallow(definition: EntityDef, data: Any, partial: bool) -> Outcome:
    schema = build_record_schema(definition, partial=partial)
    try:
        return load_record(schema, data, partial=partial), []
    except RecordValidationError as error:
        return None, [(p.field, p.code) for p in error.problems]


def _compiled(definition: EntityDef, data: Any, partial: bool) -> Outcome:
    out, problems = compile_validator(definition).check(data, partial=partial)
    return out, [(p.field, p.code) for p in problems]


@pytest.fixture(params=[_marshmallow, _compiled], ids=["marshmallow", "compiled"])
def validate(request: pytest.FixtureRequest) -> Validate:
    """Every rule test runs against both validators: they must agree."""
    return request.param  # type: ignore[no-any-return]


OK = object()  # marks a case whose value is accepted unchanged

MONEY = field("f", "money")
SMALL = field("f", "decimal", precision=5, scale=2, minimum=0, maximum=100)
CHOICES = ["new", "won", "lost"]

VALUE_CASES: list[tuple[FieldDef, Any, Any]] = [
    # string-like: type, min_length, max_length, format, pattern
    (field("f", "string", max_length=5), "abc", OK),
    (field("f", "string", max_length=5), "", OK),
    (field("f", "string", max_length=5), "abcdef", "max_length"),
    (field("f", "string", max_length=5), 5, "type"),
    (field("f", "string", max_length=5), True, "type"),
    (field("f", "string", max_length=5), ["a"], "type"),
    (field("f", "string", min_length=2), "a", "min_length"),
    (field("f", "string", pattern="[A-Z]{3}"), "ABC", OK),
    (field("f", "string", pattern="[A-Z]{3}"), "ABCD", "pattern"),
    (field("f", "string", pattern="[A-Z]{3}"), "abc", "pattern"),
    (field("f", "string", max_length=3, pattern="[A-Z]+"), "ABCD", "max_length"),
    (field("f", "text"), "x" * 100_000, OK),
    # a required text is missing when blank after trimming; optional ones keep blanks
    (field("f", "string", required=True), "", "required"),
    (field("f", "string", required=True), "   ", "required"),
    (field("f", "text", required=True), "\t\n\u3000", "required"),
    (field("f", "email", required=True), " ", "required"),
    (field("f", "string", required=True), " x ", OK),
    (field("f", "string"), "   ", OK),
    # text no database stores: NUL and unpaired surrogates, in every text-holding type
    (field("f", "string"), "a\x00b", "invalid_character"),
    (field("f", "text"), "\ud800", "invalid_character"),
    (field("f", "string", max_length=2), "ab\udfff", "invalid_character"),
    (field("f", "url"), "https://e.com/\ud83d", "invalid_character"),
    (field("f", "string"), "\U0001f600 \u4e2d", OK),
    (field("f", "json"), {"a": ["ok", {"b": "\ud800"}]}, "invalid_character"),
    (field("f", "json"), {"\udc00": 1}, "invalid_character"),
    (field("f", "json"), ["\x00"], "invalid_character"),
    (field("f", "json"), {"a": ["\U0001f600"]}, OK),
    (field("f", "enum", choices=["new", "won"]), "\ud800", "choice"),
    (field("f", "multi_enum", choices=["new", "won"]), ["new", "\ud800"], "choice"),
    (field("f", "email"), "ada@example.com", OK),
    (field("f", "email"), "a@b.c", OK),
    (field("f", "email"), "ada@example", "format"),
    (field("f", "email"), "a b@example.com", "format"),
    (field("f", "email"), "@example.com", "format"),
    (field("f", "email"), "ada@@example.com", "format"),
    (field("f", "email"), "ada@example..com", "format"),
    (field("f", "email", pattern=".*@corp[.]com"), "ada@example.com", "pattern"),
    (field("f", "phone"), "+86 (10) 5555-0100", OK),
    (field("f", "phone"), "555.0100 12", OK),
    (field("f", "phone"), "1234", "format"),
    (field("f", "phone"), "+1-(((-)))", "format"),
    (field("f", "phone"), "call 5550100", "format"),
    (field("f", "url"), "https://example.com/a?b=c#d", OK),
    (field("f", "url"), "HTTP://EXAMPLE.COM", OK),
    (field("f", "url"), "ftp://example.com", "format"),
    (field("f", "url"), "https://", "format"),
    (field("f", "url"), "https://exa mple.com", "format"),
    # integer: type, out_of_range, minimum, maximum
    (field("f", "integer"), 42, OK),
    (field("f", "integer"), -(2**63), OK),
    (field("f", "integer"), 2**63 - 1, OK),
    (field("f", "integer"), 2**63, "out_of_range"),
    (field("f", "integer"), -(2**63) - 1, "out_of_range"),
    (field("f", "integer"), True, "type"),
    (field("f", "integer"), 1.0, "type"),
    (field("f", "integer"), "12", "type"),
    (field("f", "integer", minimum=1), 0, "minimum"),
    (field("f", "integer", maximum=10), 11, "maximum"),
    (field("f", "integer", minimum=1.5), 1, "minimum"),
    (field("f", "integer", minimum=1.5), 2, OK),
    (field("f", "integer", maximum=-0.5), 0, "maximum"),
    # decimal and money: type, precision, scale, minimum, maximum
    (MONEY, "12.50", Decimal("12.50")),
    (MONEY, 12.5, Decimal("12.5")),
    (MONEY, 0.1, Decimal("0.1")),
    (MONEY, 12, Decimal(12)),
    (MONEY, -7, Decimal(-7)),
    (MONEY, "1e2", Decimal("1E+2")),
    (MONEY, "+.5", Decimal("0.5")),
    (MONEY, "5.", Decimal("5")),
    (MONEY, "-0", Decimal("-0")),
    (MONEY, "12.500", Decimal("12.500")),  # trailing zeros do not count against the scale
    (MONEY, "12.345", "scale"),
    (MONEY, 0.125, "scale"),
    (MONEY, "1e-3", "scale"),
    (MONEY, "9999999999999999.99", Decimal("9999999999999999.99")),
    (MONEY, "10000000000000000", "precision"),
    (MONEY, 1e300, "precision"),
    (MONEY, "abc", "type"),
    (MONEY, "", "type"),
    (MONEY, ".", "type"),
    (MONEY, " 12", "type"),
    (MONEY, "1_000", "type"),
    (MONEY, "١٢", "type"),
    (MONEY, "NaN", "type"),
    (MONEY, "Infinity", "type"),
    (MONEY, float("nan"), "type"),
    (MONEY, float("inf"), "type"),
    (MONEY, True, "type"),
    (MONEY, [1], "type"),
    (SMALL, "999.99", "maximum"),
    (SMALL, "99.99", Decimal("99.99")),
    (SMALL, "1000", "precision"),
    (SMALL, "1000.001", "precision"),
    (SMALL, "-0.001", "scale"),
    (SMALL, "-1", "minimum"),
    (SMALL, "100.01", "maximum"),
    (SMALL, "0E+10", Decimal("0E+10")),
    # boolean
    (field("f", "boolean"), True, OK),
    (field("f", "boolean"), False, OK),
    (field("f", "boolean"), 1, "type"),
    (field("f", "boolean"), "true", "type"),
    # date: type, format
    (field("f", "date"), "2024-02-29", date(2024, 2, 29)),
    (field("f", "date"), "2023-02-29", "format"),
    (field("f", "date"), "2024-1-01", "format"),
    (field("f", "date"), "20240101", "format"),
    (field("f", "date"), "2024-W01-1", "format"),
    (field("f", "date"), "２０２４-01-01", "format"),
    (field("f", "date"), "2024-01-01T00:00", "format"),
    (field("f", "date"), 20240101, "type"),
    # datetime: type, format, out_of_range
    (field("f", "datetime"), "2024-03-01T12:30:00+08:00", datetime(2024, 3, 1, 4, 30, tzinfo=UTC)),
    (field("f", "datetime"), "2024-03-01T12:30:00Z", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
    (field("f", "datetime"), "2024-03-01 12:30", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
    (
        field("f", "datetime"),
        "2024-03-01T12:30:00.123456-01:00",
        datetime(2024, 3, 1, 13, 30, 0, 123456, tzinfo=UTC),
    ),
    (field("f", "datetime"), "2024-03-01", "format"),
    (field("f", "datetime"), "2024-03-01T24:00", "format"),
    (field("f", "datetime"), "2024-03-01T12:30:00.1234567", "format"),
    (field("f", "datetime"), "2024-03-01T12:30:00+24:00", "format"),
    (field("f", "datetime"), "2024-03-01T12:30:00z", "format"),
    (field("f", "datetime"), "2024-03-01T12", "format"),
    (field("f", "datetime"), "0001-01-01T00:00:00+01:00", "out_of_range"),
    (field("f", "datetime"), "9999-12-31T23:30:00-01:00", "out_of_range"),
    (field("f", "datetime"), 1709296200, "type"),
    # enum: type, choice
    (field("f", "enum", choices=CHOICES), "won", OK),
    (field("f", "enum", choices=CHOICES), "WON", "choice"),
    (field("f", "enum", choices=CHOICES), "", "choice"),
    (field("f", "enum", choices=CHOICES), 1, "type"),
    (field("f", "enum", choices=CHOICES), ["won"], "type"),
    # multi_enum: type, then per item in order: type, choice, duplicate
    (field("f", "multi_enum", choices=CHOICES), ["lost", "new"], OK),
    (field("f", "multi_enum", choices=CHOICES), [], OK),
    (field("f", "multi_enum", choices=CHOICES), ["new", "new"], "duplicate"),
    (field("f", "multi_enum", choices=CHOICES), ["new", "old"], "choice"),
    (field("f", "multi_enum", choices=CHOICES), ["old", "new", "new"], "choice"),
    (field("f", "multi_enum", choices=CHOICES), ["new", 1], "type"),
    (field("f", "multi_enum", choices=CHOICES), "new", "type"),
    (field("f", "multi_enum", choices=CHOICES), {"new": True}, "type"),
    # reference: a positive integer
    (field("f", "reference", target="account"), 5, OK),
    (field("f", "reference", target="account"), 0, "type"),
    (field("f", "reference", target="account"), -1, "type"),
    (field("f", "reference", target="account"), True, "type"),
    (field("f", "reference", target="account"), "5", "type"),
    (field("f", "reference", target="account"), 5.0, "type"),
    (field("f", "reference", target="account"), 2**63, "out_of_range"),
    # json: anything JSON
    (field("f", "json"), {"a": [1, None]}, OK),
    (field("f", "json"), [1, "2"], OK),
    (field("f", "json"), "text", OK),
    (field("f", "json"), False, OK),
]


def _case_id(case: tuple[FieldDef, Any, Any]) -> str:
    definition, value, expected = case
    outcome = "ok" if not isinstance(expected, str) else expected
    return f"{definition.type}-{value!r:.30}-{outcome}"


@pytest.mark.parametrize(("definition", "value", "expected"), VALUE_CASES, ids=map(_case_id, VALUE_CASES))
@pytest.mark.parametrize("partial", [False, True], ids=["create", "update"])
def test_value_rules(validate: Validate, definition: FieldDef, value: Any, expected: Any, partial: bool) -> None:
    out, problems = validate(entity("thing", definition), {"f": value}, partial)
    if isinstance(expected, str):
        assert (out, problems) == (None, [("f", expected)])
    else:
        converted = value if expected is OK else expected
        assert problems == []
        assert out == {"f": converted}
        assert type(out["f"]) is type(converted)


def test_null_is_accepted_for_every_optional_field_type(validate: Validate) -> None:
    kinds = {case[0].type: case[0] for case in VALUE_CASES}
    definition = entity("thing", *(field(k, kinds[k].type, **_options(kinds[k])) for k in kinds))
    out, problems = validate(definition, dict.fromkeys(kinds), False)
    assert problems == [] and out == dict.fromkeys(kinds)


def _options(definition: FieldDef) -> dict[str, Any]:
    return {"choices": list(definition.choice_values), "target": definition.target}


REQUIRED = entity(
    "deal",
    field("name", "string", required=True),
    field("stage", "enum", choices=CHOICES, required=True, default="new"),
    field("amount", "money", default="12.50"),
    field("closes", "date", default="2024-12-31"),
    field("tags", "multi_enum", choices=CHOICES, default=["new"]),
    field("extra", "json", default={"source": ["web"]}),
    field("code", "string", read_only=True),
    field("note", "text"),
)


@pytest.mark.parametrize(
    ("data", "partial", "problems"),
    [
        ({}, False, [("name", "required")]),
        ({"name": None}, False, [("name", "required")]),
        ({"name": "x", "stage": None}, False, [("stage", "required")]),
        ({}, True, []),
        ({"name": None}, True, [("name", "required")]),
        ({"stage": None}, True, [("stage", "required")]),
        ({"name": "x", "code": "A1"}, False, []),
        ({"code": "A1"}, True, [("code", "read_only")]),
        ({"code": None}, True, [("code", "read_only")]),
        ({"name": "x", "id": 1}, False, [("id", "read_only")]),
        ({"version": 2}, True, [("version", "read_only")]),
        (
            {"name": "x", "created_at": None, "updated_at": "x", "created_by": "me"},
            False,
            [("created_at", "read_only"), ("updated_at", "read_only"), ("created_by", "read_only")],
        ),
        ({"name": "x", "owner": "bob"}, False, []),
        ({"owner": None}, True, []),
        ({"owner": 5}, True, [("owner", "type")]),
        ({"owner": "x" * 129}, True, [("owner", "max_length")]),
        ({"owner": "b\ud800b"}, True, [("owner", "invalid_character")]),
        ({"owner": "b\x00"}, True, [("owner", "invalid_character")]),
        ({"name": "  "}, True, [("name", "required")]),
        ({"name": "x", "\ud800": 1}, False, [("\\ud800", "unknown_field")]),
        ({"name": "x", "nmae": 1}, False, [("nmae", "unknown_field")]),
        ({"naem": 1, "name": "x"}, True, [("naem", "unknown_field")]),
    ],
)
def test_create_and_update_rules(
    validate: Validate, data: dict[str, Any], partial: bool, problems: list[tuple[str, str]]
) -> None:
    out, found = validate(REQUIRED, data, partial)
    assert found == problems
    assert (out is None) == bool(problems)


def test_every_problem_is_collected_in_a_stable_order(validate: Validate) -> None:
    data = {"zzz": 1, "id": 5, "owner": 7, "note": 3, "amount": "x", "name": None, "aaa": 2}
    out, problems = validate(REQUIRED, data, False)
    assert out is None
    assert problems == [
        ("name", "required"),
        ("amount", "type"),
        ("note", "type"),
        ("owner", "type"),
        ("zzz", "unknown_field"),
        ("id", "read_only"),
        ("aaa", "unknown_field"),
    ]


def test_defaults_fill_missing_fields_on_create_only(validate: Validate) -> None:
    out, _ = validate(REQUIRED, {"name": "x"}, False)
    assert out == {
        "name": "x",
        "stage": "new",
        "amount": Decimal("12.50"),
        "closes": date(2024, 12, 31),
        "tags": ["new"],
        "extra": {"source": ["web"]},
    }
    assert validate(REQUIRED, {"name": "y"}, True) == ({"name": "y"}, [])


def test_explicit_null_beats_a_default(validate: Validate) -> None:
    out, _ = validate(REQUIRED, {"name": "x", "amount": None}, False)
    assert out is not None and out["amount"] is None


def test_records_never_share_a_mutable_default(validate: Validate) -> None:
    first, _ = validate(REQUIRED, {"name": "x"}, False)
    assert first is not None
    first["tags"].append("won")
    first["extra"]["source"].append("mail")
    second, _ = validate(REQUIRED, {"name": "y"}, False)
    assert second is not None
    assert second["tags"] == ["new"] and second["extra"] == {"source": ["web"]}


def test_an_invalid_default_is_reported_like_an_invalid_value(validate: Validate) -> None:
    broken = entity("t", field("n", "integer", default="seven"))
    assert validate(broken, {}, False) == (None, [("n", "type")])


@pytest.mark.parametrize("data", [[1, 2], "record", None, 5])
def test_a_record_must_be_an_object(validate: Validate, data: Any) -> None:
    assert validate(REQUIRED, data, False) == (None, [(None, "type")])


# Names that are Python keywords, marshmallow Schema attributes, or locals of the
# generated code must all be plain keys.
AWKWARD = [
    "class",
    "load",
    "fields",
    "opts",
    "dump",
    "validate",
    "errs",
    "out",
    "v",
    "d",
    "data",
    "get",
    "seen",
    "_k0",
    "MISSING",
    "__class__",
    'x"); raise SystemExit("',
]


def test_field_names_are_data_never_code(validate: Validate) -> None:
    definition = entity("t", *(field(name, "integer", minimum=0) for name in AWKWARD))
    good = {name: i for i, name in enumerate(AWKWARD)}
    assert validate(definition, good, False) == (good, [])
    bad = dict.fromkeys(AWKWARD, -1)
    assert validate(definition, bad, True) == (None, [(name, "minimum") for name in AWKWARD])


def test_patterns_are_data_never_code(validate: Validate) -> None:
    definition = entity("t", field("f", "string", pattern="'''\"\"\"\\\\[a]"))
    assert validate(definition, {"f": "'''\"\"\"\\a"}, False) == ({"f": "'''\"\"\"\\a"}, [])


def test_validate_raises_with_every_problem() -> None:
    validator = compile_validator(REQUIRED)
    with pytest.raises(RecordValidationError) as caught:
        validator.validate({"amount": "x"})
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("name", "required"),
        ("amount", "type"),
    ]
    assert all(p.message for p in caught.value.problems)
    assert validator.validate({"name": "x"}, partial=True) == {"name": "x"}


def test_both_validators_give_the_same_messages() -> None:
    data = {"amount": "1.234", "tags": ["new", "new"], "closes": "2024-02-30", "nam": 1}
    expected = compile_validator(REQUIRED).check(data)[1]
    with pytest.raises(RecordValidationError) as caught:
        load_record(build_record_schema(REQUIRED), data)
    assert list(caught.value.problems) == expected


def test_load_record_refuses_a_schema_of_the_other_mode() -> None:
    with pytest.raises(ValueError, match="partial"):
        load_record(build_record_schema(REQUIRED, partial=True), {}, partial=False)


def test_datetimes_are_aware_utc(validate: Validate) -> None:
    definition = entity("t", field("at", "datetime"))
    out, _ = validate(definition, {"at": "2024-03-01T08:00:00+05:30"}, True)
    assert out is not None
    assert out["at"].utcoffset() == timedelta(0) and out["at"].hour == 2
