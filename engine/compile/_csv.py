"""CSV rows to database-ready tuples, for ``crm import``: one generated function per header.

A cell is first decoded from text into the JSON value it stands for, then checked with
exactly the rules of the record validator in create mode (``_rules``):

- an empty cell is a missing value: the field's default applies, a required field
  without one is ``required``;
- integer and reference: ``[+-]?[0-9]+``; decimal and money: a numeric string
  (``12.50``); boolean: ``true/false/1/0/yes/no`` in any case;
- date and datetime: ISO text, as in JSON; enum and the text types: the cell as is;
- multi_enum: ``a|b``, or a JSON array when the cell starts with ``[``;
- json: JSON text (``NaN`` and ``Infinity`` are not JSON).

A cell that cannot be decoded is ``type`` (``format`` for unreadable JSON). Columns of
the header that are not fields of the entity are reported once, in
``CsvRowConverter.header_problems``, and ignored in every row.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from engine.compile._codegen import Source, chain, emit_value_checks, owner_rules
from engine.compile._rules import (
    BOOLEAN_TEXT,
    INT64_MAX,
    READ_ONLY_SYSTEM_FIELDS,
    record_problem,
)
from engine.compile._spreadsheet import unneutralise
from engine.compile._validator import RawCheck, generate_check
from engine.errors import Problem
from engine.metadata import TEXT_TYPES
from engine.metadata._model import EntityDef, FieldDef

RawConvert = Callable[[Sequence[str]], tuple[tuple[Any, ...] | None, list[tuple[Any, str]] | None]]


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


#: JSON text to a value; json.loads would also accept NaN and Infinity.
_decode_json = json.JSONDecoder(parse_constant=_refuse_constant).decode
#: Stands for "this cell is not readable JSON" in generated code.
_UNREADABLE: Any = type("Unreadable", (), {"__repr__": lambda self: "UNREADABLE"})()


def _converted_default(check: RawCheck, field: FieldDef) -> tuple[Any, str | None]:
    """``field``'s default as the validator converts it, or the code of its problem."""
    out, errs = check({field.name: field.default})
    for key, code in errs:
        if key == field.name:
            return None, code
    return out[field.name], None


def _emit_missing(src: Source, check: RawCheck, field: FieldDef, depth: int, local: str) -> None:
    """The value of a field whose cell is empty or whose column is absent."""
    key = src.const(field.name)
    if field.has_default:
        # Converted once here, exactly as the record validator converts it per record.
        value, code = _converted_default(check, field)
        if code is not None:
            src.add(depth, f"errs.append(({key}, {code!r}))")
        elif isinstance(value, (list, dict)):
            # Each row gets its own copy: rows must not share one mutable default.
            src.add(depth, f"{local} = {src.const(copy.deepcopy)}({src.const(value)})")
        else:
            src.add(depth, f"{local} = {src.const(value)}")
    elif field.required:
        src.add(depth, f"errs.append(({key}, 'required'))")
    else:
        src.add(depth, f"{local} = None")


def _emit_integer_text(src: Source, depth: int, fail: Callable[[str], str]) -> None:
    """Decode non-empty cell ``s`` into int ``v``, or fail and leave ``v`` None.

    The test is ``[+-]?[0-9]+`` written with string methods (a regex costs twice as
    much): ``isdigit`` alone would also take other scripts' digits, hence ``isascii``.
    """
    src.add(depth, "v = None")
    src.add(depth, "if (s.isdigit() or s[0] in '+-' and s[1:].isdigit()) and s.isascii():")
    src.add(depth + 1, "try:")
    src.add(depth + 2, "v = int(s)")
    src.add(depth + 1, "except ValueError:")
    # Only digit strings longer than Python converts (4300 digits) get here.
    src.add(depth + 2, fail(repr("out_of_range")))
    src.add(depth, "else:")
    src.add(depth + 1, fail(repr("type")))


CellForm = Literal["verbatim", "whole", "boolean", "choices", "json"]
#: How a non-empty CSV cell of each field type is read: as it is (its text is its JSON
#: value), as a whole number, as a yes/no word, as ``a|b`` or a JSON array, as JSON text.
CELL_FORMS: Mapping[str, CellForm] = {
    "string": "verbatim",
    "text": "verbatim",
    "email": "verbatim",
    "phone": "verbatim",
    "url": "verbatim",
    "enum": "verbatim",
    "decimal": "verbatim",
    "money": "verbatim",
    "date": "verbatim",
    "datetime": "verbatim",
    "integer": "whole",
    "reference": "whole",
    "boolean": "boolean",
    "multi_enum": "choices",
    "json": "json",
    "autonumber": "verbatim",
}


def _emit_cell(src: Source, field: FieldDef, depth: int, local: str) -> None:
    """Decode and check non-empty cell ``s`` of ``field`` into ``local``."""
    key = src.const(field.name)

    def store(expr: str) -> str:
        return f"{local} = {expr}"

    def fail(code: str) -> str:
        return f"errs.append(({key}, {code}))"

    form = CELL_FORMS[field.type]
    if form == "whole":
        _emit_integer_text(src, depth, fail)
        src.add(depth, "if v is not None:")
        emit_value_checks(src, field, depth + 1, value="v", store=store, fail=fail, trusted=True)
    elif form == "boolean":
        table = src.const(dict(BOOLEAN_TEXT))
        src.add(depth, f"v = {table}.get(s)")
        src.add(depth, "if v is None:")
        src.add(depth + 1, f"v = {table}.get(s.lower())")
        src.add(depth, "if v is None:")
        src.add(depth + 1, fail(repr("type")))
        src.add(depth, "else:")
        src.add(depth + 1, store("v"))
    elif form in ("json", "choices"):
        decode = src.const(_decode_json)
        unreadable = src.const(_UNREADABLE)
        if form == "choices":
            src.add(depth, "if s[0] != '[':")
            src.add(depth + 1, "v = s.split('|')")
            src.add(depth, "else:")
            depth += 1
        src.add(depth, "try:")
        src.add(depth + 1, f"v = {decode}(s)")
        src.add(depth, "except (ValueError, RecursionError):")
        src.add(depth + 1, f"v = {unreadable}")
        if form == "choices":
            depth -= 1
        src.add(depth, f"if v is {unreadable}:")
        src.add(depth + 1, fail(repr("format")))
        src.add(depth, "elif v is None:")
        src.add(depth + 1, fail(repr("required")) if field.required else store("None"))
        src.add(depth, "else:")
        emit_value_checks(src, field, depth + 1, value="v", store=store, fail=fail)
    else:  # a text, enum, decimal, date or datetime cell is already its JSON value
        if field.type in TEXT_TYPES:  # a text ``crm export`` kept from running as a formula
            src.add(depth, 'if s[0] == "\'":')
            src.add(depth + 1, f"s = {src.const(unneutralise)}(s)")
        emit_value_checks(src, field, depth, value="s", store=store, fail=fail, trusted=True)


def _emit_owner(src: Source, index: int, local: str) -> None:
    key = src.const("owner")
    src.add(2, f"s = row[{index}]")
    src.add(2, "if not s:")
    src.add(3, f"{local} = None")
    src.add(2, "else:")
    chain(src, 3, owner_rules(src, "s"), lambda code: f"errs.append(({key}, {code}))", [f"{local} = s"])


def _emit_id(src: Source, index: int, local: str) -> None:
    key = src.const("id")

    def fail(code: str) -> str:
        return f"errs.append(({key}, {code}))"

    src.add(2, f"s = row[{index}]")
    src.add(2, f"{local} = None")
    src.add(2, "if s:")
    _emit_integer_text(src, 3, fail)
    src.add(3, "if v is None:")
    src.add(4, "pass")
    src.add(3, "elif v <= 0:")
    src.add(4, fail(repr("type")))
    src.add(3, f"elif v > {INT64_MAX}:")
    src.add(4, fail(repr("out_of_range")))
    src.add(3, "else:")
    src.add(4, f"{local} = v")


def _header_problems(entity: EntityDef, header: Sequence[str], allow_id: bool) -> tuple[dict[str, int], list[Problem]]:
    known = {*entity.fields, "owner", *(("id",) if allow_id else ())}
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for i, name in enumerate(header):
        if name in positions:
            problems.append(
                Problem(
                    code="duplicate",
                    message=f'column "{name}" appears more than once in the header; keep one',
                    field=name,
                )
            )
        elif name in known:
            positions[name] = i
        elif name == "id":
            problems.append(
                Problem(
                    code="read_only",
                    message='"id" is only accepted when importing updates to existing records; remove the column',
                    field=name,
                )
            )
        elif name in READ_ONLY_SYSTEM_FIELDS:
            problems.append(record_problem(entity, name, "read_only"))
        else:
            problems.append(record_problem(entity, name, "unknown_field"))
    return positions, problems


@dataclass(frozen=True)
class CsvRowConverter:
    """Converts CSV rows of one header into tuples ordered like :attr:`columns`."""

    entity: EntityDef
    header: tuple[str, ...]
    #: The database columns of each converted tuple, in order.
    columns: tuple[str, ...]
    #: Problems with the header itself; their columns are ignored in every row.
    header_problems: tuple[Problem, ...]
    convert_raw: RawConvert = field(repr=False, compare=False)
    source: str = field(repr=False, compare=False)

    def convert(self, row: Sequence[str], line: int | None = None) -> tuple[tuple[Any, ...] | None, list[Problem]]:
        """``(values, [])`` for a valid row, ``(None, problems)`` otherwise.

        ``line`` is copied into the problems (the row's line in the file).
        """
        values, errs = self.convert_raw(row)
        if errs is None:
            return values, []
        return None, [record_problem(self.entity, key, code, line=line) for key, code in errs]


def _default_columns(entity: EntityDef, positions: dict[str, int]) -> tuple[str, ...]:
    system = tuple(name for name in ("id", "owner") if name in positions)
    return (*system, *entity.fields)


def compile_csv_reader(
    entity: EntityDef,
    header: Sequence[str],
    *,
    allow_id: bool = False,
    columns: Sequence[str] | None = None,
) -> CsvRowConverter:
    """A converter from CSV rows with ``header`` to database-ready tuples.

    Header names are field names or ``owner``; ``id`` too when ``allow_id`` (upserts).
    ``columns`` is the order of the output tuple; by default ``id`` and ``owner`` when
    in the header, then every field in definition order (fields without a column get
    their default or null). Raises ``ValueError`` for ``columns`` outside those names.
    In a hot loop call :attr:`CsvRowConverter.convert_raw` and build problems only for
    the rows that have some.
    """
    header = tuple(header)
    positions, header_problems = _header_problems(entity, header, allow_id)
    allowed = {*entity.fields, "owner", *(("id",) if allow_id else ())}
    output = _default_columns(entity, positions) if columns is None else tuple(columns)
    wrong = [name for name in output if name not in allowed]
    if wrong or len(set(output)) != len(output):
        raise ValueError(f"columns must be distinct names among {sorted(allowed)}, got {output}")
    check, _ = generate_check(entity, partial=False)
    src = Source()
    src.add(1, "def convert(row):")
    src.add(2, f"if len(row) != {len(header)}:")
    src.add(3, "return None, [(None, 'row_length')]")
    src.add(2, "errs = []")
    local = {name: f"c{i}" for i, name in enumerate([*entity.fields, "owner", "id"])}
    for name, definition in entity.fields.items():
        if name in positions:
            src.add(2, f"s = row[{positions[name]}]")
            src.add(2, "if not s:")
            _emit_missing(src, check, definition, 3, local[name])
            src.add(2, "else:")
            _emit_cell(src, definition, 3, local[name])
        else:
            _emit_missing(src, check, definition, 2, local[name])
    for name, emit in (("owner", _emit_owner), ("id", _emit_id)):
        if name in positions:
            emit(src, positions[name], local[name])
        elif name in output:
            src.add(2, f"{local[name]} = None")
    src.add(2, "if errs:")
    src.add(3, "return None, errs")
    values = "".join(f"{local[name]}, " for name in output)
    src.add(2, f"return ({values}), None")
    convert = src.build("convert", f"<csv reader {entity.name}>")
    return CsvRowConverter(
        entity=entity,
        header=header,
        columns=output,
        header_problems=tuple(header_problems),
        convert_raw=convert,
        source=src.text("convert"),
    )
