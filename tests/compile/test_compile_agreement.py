"""The three implementations of the record rules agree, on generated entities and records.

- marshmallow (``load_record``) and the compiled validator accept the same records,
  report the same problems (field, code and message, in the same order) and return
  the same values, of the same types, for create and for update;
- the CSV converter equals the compiled validator applied to the decoded row.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from compile_defs import entity, field
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compile import (
    RecordValidator,
    build_record_schema,
    compile_csv_reader,
    compile_validator,
    load_record,
    record_problem,
)
from engine.compile._schema import RecordSchema
from engine.errors import Problem, RecordValidationError
from engine.metadata._field_types import TEXT_TYPES
from engine.metadata._model import FIELD_TYPES, EntityDef, FieldDef

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RECORDS_PER_ENTITY = 6

# Names that collide with Python keywords, marshmallow Schema attributes and the locals
# of the generated functions: they must all stay plain keys.
NAMES = [
    "name",
    "amount",
    "class",
    "load",
    "fields",
    "errs",
    "out",
    "v",
    "d",
    "s",
    "w",
    "get",
    "seen",
    "row",
    "c0",
    "stage",
]
PATTERNS = [None, None, "[a-z]+", "[A-Z][a-z]*", "[0-9]{3}-[0-9]{4}", ".*", "[a-z ]{0,5}"]
CHOICE_POOL = ["new", "won", "lost", "a", "b", "x y", "Δ"]
JUNK = st.sampled_from([None, True, False, 0, 1, -1, 2.5, "", "x", "12", [], ["a"], {}, {"a": 1}])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


BOUNDS = (
    st.none()
    | st.integers(-1000, 1000).map(Decimal)
    | st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
)


@st.composite
def field_defs(draw: st.DrawFn, name: str) -> FieldDef:
    kind = draw(st.sampled_from(FIELD_TYPES))
    options: dict[str, Any] = {
        "required": draw(st.booleans()),
        "read_only": draw(st.sampled_from([False, False, False, True])),
    }
    if kind in TEXT_TYPES:
        low = draw(st.none() | st.integers(0, 4))
        options["min_length"] = low
        if kind != "text" or draw(st.booleans()):
            options["max_length"] = draw(st.integers(max(low or 0, 1), 14))
        options["pattern"] = draw(st.sampled_from(PATTERNS))
    elif kind in ("integer", "decimal", "money"):
        options["minimum"] = draw(BOUNDS)
        options["maximum"] = draw(BOUNDS)
        if kind != "integer":
            precision = draw(st.integers(1, 20))
            options["precision"] = precision
            options["scale"] = draw(st.integers(0, min(precision, 6)))
    elif kind in ("enum", "multi_enum"):
        choices = st.lists(st.sampled_from(CHOICE_POOL), min_size=1, max_size=4, unique=True)
        options["choices"] = draw(choices)
    elif kind == "reference":
        options["target"] = "account"
    if kind == "autonumber":  # as definitions make them: unique, read-only, no default
        return field(name, kind, number_pattern="N-{###}", unique=True, read_only=True, max_length=64)
    definition = field(name, kind, **options)
    default = draw(st.sampled_from(["none", "none", "null", "value"]))
    if default == "null":
        return dataclasses.replace(definition, default=None)
    if default == "value":
        return dataclasses.replace(definition, default=draw(values_for(definition)))
    return definition


@st.composite
def entities(draw: st.DrawFn) -> EntityDef:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    return entity("thing", *(draw(field_defs(name)) for name in names))


EMAILS = ["ada@example.com", "a@b.c", "ada@example", "a b@c.de", "@c.de", "a@@b.c", "a@b..c"]
PHONES = ["+86 (10) 5555-0100", "555.0100 12", "1234", "+1-(((-)))", "12345", "+" + "1" * 33]
URLS = ["https://example.com/a?b", "HTTP://X.Y", "ftp://x.y", "http://", "https://a b.c", "http://a"]
DATES = [
    "2024-02-29",
    "2023-02-29",
    "2024-1-01",
    "20240101",
    "2024-W01-1",
    "２０２４-01-01",
    "2024-01-01T00:00",
    "0000-01-01",
    "9999-12-31",
    "0001-01-01",
]
DATETIMES = [
    "2024-03-01",
    "2024-03-01T24:00",
    "2024-03-01T12:30:00.1234567",
    "2024-03-01T12",
    "2024-03-01T12:30:00z",
    "2024-03-01T12:30:00+24:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "2024-03-01T12:30:00+0800",
    "2024-03-01T12:30,5",
]
NUMBERS = [
    "12",
    "-12.50",
    "1e2",
    "+.5",
    "5.",
    ".",
    "-",
    "",
    " 1",
    "1 ",
    "1_000",
    "١٢",
    "nan",
    "NaN",
    "Infinity",
    "-inf",
    "sNaN",
    "1e99999",
    "1e-99999",
    "12.500",
    "0.000",
    "-0",
    "0E+10",
    ".-5",
    "+-5",
    "1.2.3",
    "²",
]
OFFSETS = ["", "Z", "+00:00", "+05:30", "-08:00", "+23:59", "-23:59"]


def _text_values(definition: FieldDef) -> st.SearchStrategy[Any]:
    lengths = {n for n in (definition.min_length, definition.max_length) if n is not None}
    lengths |= {n + 1 for n in lengths} | {n - 1 for n in lengths if n > 0}
    options = [st.text(max_size=15), st.sampled_from(["a" * n for n in sorted(lengths)] or ["a"])]
    if definition.pattern is not None:
        matching = st.from_regex(definition.pattern, fullmatch=True)
        options.append(matching.filter(lambda s: len(s) < 20))
    formats = {"email": EMAILS, "phone": PHONES, "url": URLS}
    options.append(st.sampled_from(formats.get(definition.type, ["x"])))
    return st.one_of(options)


def _decimal_values(definition: FieldDef) -> st.SearchStrategy[Any]:
    precision, scale = definition.precision or 1, definition.scale or 0
    whole = "9" * (precision - scale)
    edges = [
        whole or "0",
        whole + "9",
        f"{whole or '0'}.{'9' * scale}",
        f"0.{'1' * (scale + 1)}",
        f"-{whole or '0'}.{'0' * (scale + 2)}",
    ]
    limit = 10 ** (precision - scale + 1)
    decimals = st.decimals(allow_nan=False, allow_infinity=False, places=scale + 1, min_value=-limit, max_value=limit)
    return st.one_of(
        decimals.map(str),
        decimals.map(float),
        st.integers(-(10**20), 10**20),
        st.floats(),
        st.sampled_from(NUMBERS + edges),
        st.booleans(),
    )


@st.composite
def _datetime_texts(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    text = moment.isoformat(
        sep=draw(st.sampled_from("T ")), timespec=draw(st.sampled_from(["minutes", "seconds", "microseconds"]))
    )
    return text + draw(st.sampled_from(OFFSETS))


def values_for(definition: FieldDef) -> st.SearchStrategy[Any]:
    """Mostly near-valid values of ``definition``: right types, edges, wrong types."""
    kind = definition.type
    choices = list(definition.choice_values)
    if kind in TEXT_TYPES:
        values = _text_values(definition)
    elif kind == "integer":
        edges = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1]
        for bound in (definition.minimum, definition.maximum):
            if bound is not None:
                edges += [int(bound) - 1, int(bound), int(bound) + 1]
        values = st.integers(-(2**64), 2**64) | st.sampled_from(edges) | st.floats(-5, 5) | st.booleans()
    elif kind in ("decimal", "money"):
        values = _decimal_values(definition)
    elif kind == "boolean":
        values = st.booleans()
    elif kind == "date":
        values = st.dates().map(lambda d: d.isoformat()) | st.sampled_from(DATES)
    elif kind == "datetime":
        values = _datetime_texts() | st.sampled_from(DATETIMES)
    elif kind == "enum":
        values = st.sampled_from(choices) | st.sampled_from(CHOICE_POOL)
    elif kind == "multi_enum":
        items = st.sampled_from([*choices, "zz"])
        values = st.lists(items, max_size=4) | st.lists(JUNK, max_size=2)
    elif kind == "reference":
        values = st.integers(-5, 2**64) | st.sampled_from([1, 2**63 - 1, 2**63])
    else:
        values = JSON
    # Three parts near-valid values to one part values of any other type.
    return st.sampled_from([values, values, values, JUNK]).flatmap(lambda chosen: chosen)


@st.composite
def records(draw: st.DrawFn, definition: EntityDef) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, spec in definition.fields.items():
        if draw(st.booleans()):
            record[name] = draw(values_for(spec))
    others = ["owner", "owner", "owner", "id", "version", "created_at", "updated_at", "created_by", "nmae", "Name"]
    extras = draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
    keys = st.lists(st.sampled_from(others), unique=True, min_size=extras, max_size=extras)
    for key in draw(keys):
        owners = st.sampled_from(["bob", "", "x" * 128, "x" * 129]) | JUNK
        record[key] = draw(owners if key == "owner" else JUNK)
    return dict(draw(st.permutations(list(record.items()))))


Outcome = tuple[Any, list[Problem]]


def _typed(outcome: Outcome) -> tuple[Any, list[Problem]]:
    """Values with their exact types and representations (Decimal('1.0') != '1.00')."""
    values, problems = outcome
    if values is not None:
        if isinstance(values, dict):
            values = {key: (type(value), repr(value)) for key, value in values.items()}
        else:
            values = tuple((type(value), repr(value)) for value in values)
    return values, list(problems)


def _marshmallow(schema: type[RecordSchema], record: Any) -> Outcome:
    try:
        return load_record(schema, record), []
    except RecordValidationError as error:
        return None, list(error.problems)


@SETTINGS
@given(st.data())
def test_marshmallow_and_compiled_validators_agree(data: st.DataObject) -> None:
    definition = data.draw(entities(), label="entity")
    validator = compile_validator(definition)
    schemas = {mode: build_record_schema(definition, partial=mode) for mode in (False, True)}
    for _ in range(RECORDS_PER_ENTITY):
        record = data.draw(records(definition), label="record")
        for partial in (False, True):
            compiled = validator.check(record, partial=partial)
            reference = _marshmallow(schemas[partial], record)
            assert _typed(compiled) == _typed(reference), f"partial={partial}"


# -- CSV ----------------------------------------------------------------------------------

BOOLEAN_TEXT = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
CELLS = [
    "",
    "1.0",
    " 1",
    "1_0",
    "nan",
    "[",
    "[1]",
    "[]",
    '["a"]',
    "true",
    "TRUE",
    "Yes",
    "0",
    "-0",
    "+5",
    "null",
    "٣",
    "a|b",
    "new|won",
    "|",
    '{"a": 1}',
    "NaN",
    "12.50",
    "2024-02-29",
]


@dataclasses.dataclass(frozen=True)
class Fails:
    code: str


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _decode(definition: FieldDef, text: str) -> Any:
    """What a cell stands for, written independently of the converter."""
    kind = definition.type
    if kind in ("integer", "reference"):
        if re.fullmatch(r"[+-]?[0-9]+", text) is None:
            return Fails("type")
        try:
            return int(text)
        except ValueError:
            return Fails("out_of_range")
    if kind == "boolean":
        value = BOOLEAN_TEXT.get(text.lower())
        return Fails("type") if value is None else value
    if kind == "json" or (kind == "multi_enum" and text.startswith("[")):
        try:
            return json.loads(text, parse_constant=_refuse)
        except (ValueError, RecursionError):
            return Fails("format")
    if kind == "multi_enum":
        return text.split("|")
    return text


def _encode(definition: FieldDef, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower() if definition.type != "boolean" else ("yes" if value else "0")
    texts = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if texts and definition.type == "multi_enum":
        return "|".join(value) if not any("|" in v for v in value) else json.dumps(value)
    if isinstance(value, (list, dict)) or definition.type == "json":
        return json.dumps(value)
    return "" if value is None else str(value)


def cells_for(definition: FieldDef) -> st.SearchStrategy[str]:
    return st.one_of(
        values_for(definition).map(lambda value: _encode(definition, value)),
        st.sampled_from(CELLS),
        st.text(max_size=6),
    )


def _expected(validator: RecordValidator, header: list[str], cells: list[str], columns: tuple[str, ...]) -> Outcome:
    definition = validator.entity
    decoded: dict[str, Any] = {}
    failed: dict[str, Problem] = {}
    for name, cell in zip(header, cells, strict=True):
        if cell == "" or (name not in definition.fields and name != "owner"):
            continue
        value = cell if name == "owner" else _decode(definition.fields[name], cell)
        if isinstance(value, Fails):
            failed[name] = record_problem(definition, name, value.code)
        else:
            decoded[name] = value
    out, problems = validator.check(decoded)
    merged = [p for p in problems if p.field not in failed] + list(failed.values())
    order = [*definition.fields, "owner"]
    merged.sort(key=lambda p: order.index(p.field))
    if merged:
        return None, merged
    assert out is not None
    return tuple(out.get(column) for column in columns), []


@SETTINGS
@given(st.data())
def test_csv_reader_equals_the_validator_on_decoded_cells(data: st.DataObject) -> None:
    definition = data.draw(entities(), label="entity")
    names = [*definition.fields, "owner", "nmae"]
    columns = st.lists(st.sampled_from(names), unique=True, max_size=len(names))
    header = data.draw(columns, label="header")
    converter = compile_csv_reader(definition, header)
    # an import is the one writer that may give an autonumber: its cells are plain text
    writable = {
        n: dataclasses.replace(f, read_only=False) if f.type == "autonumber" else f
        for n, f in definition.fields.items()
    }
    validator = compile_validator(dataclasses.replace(definition, fields=writable))
    assert [p.field for p in converter.header_problems] == [n for n in header if n == "nmae"]
    for _ in range(RECORDS_PER_ENTITY):
        strategies = [
            cells_for(definition.fields[name]) if name in definition.fields else st.text(max_size=130)
            for name in header
        ]
        cells = [data.draw(strategy, label=name) for strategy, name in zip(strategies, header, strict=True)]
        got = converter.convert(cells)
        assert _typed(got) == _typed(_expected(validator, header, cells, converter.columns))
