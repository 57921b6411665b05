"""Source generation shared by the compiled record validator and the CSV converter.

Why generate code at all: bulk import checks millions of values, and a loop over
per-field check objects spends most of its time in calls and attribute look-ups, not in
checks. One function per entity with every check written out costs about one
comparison per rule. No library compiles record validators with these semantics
(collect every problem, our codes, JSON-in/Python-out conversion): jsonschema and
marshmallow are 10-50x slower per record (about 20x on a typical 20-field record, and
jsonschema converts nothing).

Safety rules for the generated source:

- it contains only identifiers and literals written in this package: local names
  (``v``, ``d``, ``c3``), problem codes, our own numeric limits and cell positions;
- every value that comes from a definition (field names, bounds, patterns, choices,
  defaults) is passed in as a closure variable (``_k0``, ``_k1``...) of a factory
  function, never formatted into the source; record values only ever exist at run
  time.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any

from engine.compile._rules import (
    DATETIME_RE,
    INT64_MAX,
    INT64_MIN,
    OWNER_MAX_LENGTH,
    UNSTORABLE_SEARCH,
    format_regex,
    integer_bounds,
    integer_digits,
    json_unstorable,
    scale_of,
)
from engine.metadata import pattern_matcher
from engine.metadata._field_types import DECIMAL_TYPES, TEXT_TYPES
from engine.metadata._model import FieldDef

#: Stands for "key not given" in generated code (``None`` is a given null).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

Statement = Callable[[str], str]


class Source:
    """Python source under construction, with the constants it refers to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self._by_id: dict[int, str] = {}

    def const(self, value: Any) -> str:
        """The closure variable name that holds ``value`` in the generated code."""
        name = self._by_id.get(id(value))
        if name is not None and self.constants[name] is value:
            return name
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        self._by_id[id(value)] = name
        return name

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def text(self, function: str) -> str:
        """The whole module: a factory taking the constants, returning ``function``."""
        params = ", ".join(self.constants)
        body = "\n".join(self.lines)
        return f"def _factory({params}):\n{body}\n    return {function}\n"

    def build(self, function: str, filename: str) -> Callable[..., Any]:
        """Execute the source once and return the generated ``function``."""
        namespace: dict[str, Any] = {"__builtins__": builtins}
        exec(compile(self.text(function), filename, "exec"), namespace)
        factory = namespace["_factory"]
        return factory(**self.constants)  # type: ignore[no-any-return]


def chain(
    src: Source,
    depth: int,
    conditions: list[tuple[str, str]],
    fail: Statement,
    success: list[str],
) -> None:
    """``if c1: fail(code1) elif c2: ... else: success`` (the first failing rule wins)."""
    if not conditions:
        for line in success:
            src.add(depth, line)
        return
    for i, (condition, code) in enumerate(conditions):
        src.add(depth, f"{'if' if i == 0 else 'elif'} {condition}:")
        src.add(depth + 1, fail(repr(code)))
    src.add(depth, "else:")
    for line in success:
        src.add(depth + 1, line)


_NOT_INT = "{v}.__class__ is not int and (not isinstance({v}, int) or isinstance({v}, bool))"


def _must_be_text(v: str, trusted: bool) -> list[tuple[str, str]]:
    """The type rule of a value whose JSON form is a string (none when ``trusted``)."""
    return [] if trusted else [(f"not isinstance({v}, str)", "type")]


def unstorable_condition(src: Source, v: str) -> str:
    """The expression that is true when text ``v`` holds a NUL or an unpaired surrogate
    (ASCII text, most of it, only pays for the NUL test)."""
    return f"'\\x00' in {v} or not {v}.isascii() and {src.const(UNSTORABLE_SEARCH)}({v}) is not None"


def owner_rules(src: Source, v: str) -> list[tuple[str, str]]:
    """The rules of ``owner`` on text ``v`` (after its type), as :func:`chain` takes them."""
    return [
        (unstorable_condition(src, v), "invalid_character"),
        (f"len({v}) > {src.const(OWNER_MAX_LENGTH)}", "max_length"),
    ]


def _text(src: Source, field: FieldDef, v: str, trusted: bool) -> list[tuple[str, str]]:
    conditions = _must_be_text(v, trusted)
    if field.required:
        # a required text is missing when blank after trimming
        conditions.append((f"not {v}.strip()", "required"))
    conditions.append((unstorable_condition(src, v), "invalid_character"))
    if field.min_length is not None:
        conditions.append((f"len({v}) < {src.const(field.min_length)}", "min_length"))
    if field.max_length is not None:
        conditions.append((f"len({v}) > {src.const(field.max_length)}", "max_length"))
    regex = format_regex(field)
    if regex is not None:
        conditions.append((f"{src.const(regex.fullmatch)}({v}) is None", "format"))
    if field.pattern is not None:
        matches = pattern_matcher(field.pattern)
        conditions.append((f"not {src.const(matches)}({v})", "pattern"))
    return conditions


def _integer(src: Source, field: FieldDef, v: str, trusted: bool) -> list[tuple[str, str]]:
    conditions = [] if trusted else [(_NOT_INT.format(v=v), "type")]
    conditions.append((f"{v} < {INT64_MIN} or {v} > {INT64_MAX}", "out_of_range"))
    low, high = integer_bounds(field)
    if low is not None:
        conditions.append((f"{v} < {src.const(low)}", "minimum"))
    if high is not None:
        conditions.append((f"{v} > {src.const(high)}", "maximum"))
    return conditions


def _decimal_from_text(src: Source, v: str, depth: int) -> None:
    """``d`` = the Decimal that string ``v`` spells (``NUMERIC_RE``), or None."""
    # Decimal() parses exactly NUMERIC_RE's language once we also refuse what it is
    # lenient about: non-ASCII digits, "_" separators, surrounding whitespace (all of
    # it at or below " " in ASCII), NaN and Infinity. Parsing first and checking after
    # costs about half of matching the regex and then parsing.
    src.add(depth, "try:")
    src.add(depth + 1, f"d = {src.const(Decimal)}({v})")
    src.add(
        depth + 1,
        f"if not (d.is_finite() and {v}.isascii() and '_' not in {v} and {v}[0] > ' ' and {v}[-1] > ' '):",
    )
    src.add(depth + 2, "d = None")
    src.add(depth, "except ArithmeticError:")
    src.add(depth + 1, "d = None")


def _decimal(
    src: Source,
    field: FieldDef,
    v: str,
    trusted: bool,
    store: Statement,
    fail: Statement,
    depth: int,
) -> None:
    make = src.const(Decimal)
    if trusted:
        _decimal_from_text(src, v, depth)
    else:
        src.add(depth, f"if isinstance({v}, str):")
        _decimal_from_text(src, v, depth + 1)
        src.add(depth, f"elif isinstance({v}, float):")
        # v - v is 0.0 for every finite float and NaN for NaN and the infinities.
        as_text = src.const(float.__repr__)
        src.add(depth + 1, f"d = {make}({as_text}({v})) if {v} - {v} == 0.0 else None")
        src.add(depth, f"elif isinstance({v}, int) and not isinstance({v}, bool):")
        src.add(depth + 1, f"d = {make}({v})")
        src.add(depth, "else:")
        src.add(depth + 1, "d = None")
    scale = scale_of(field)
    digits = integer_digits(field)
    # One quantize decides both limits for valid values: in a context exactly as precise
    # as the column, quantizing to the scale gives back an equal number if and only if
    # the whole part fits and the fraction has at most `scale` digits (trailing zeros do
    # not count); too many whole digits give NaN, which equals nothing. Only a refused
    # value pays for finding out which limit it broke.
    context = Context(prec=max(digits + scale, 1), Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
    quantize = src.const(context.quantize)
    quantum = src.const(Decimal(1).scaleb(-scale))
    src.add(depth, "if d is None:")
    src.add(depth + 1, fail(repr("type")))
    src.add(depth, f"elif {quantize}(d, {quantum}) != d:")
    src.add(depth + 1, f"if d and d.adjusted() >= {src.const(digits)}:")
    src.add(depth + 2, fail(repr("precision")))
    src.add(depth + 1, "else:")
    src.add(depth + 2, fail(repr("scale")))
    conditions = []
    if field.minimum is not None:
        conditions.append((f"d < {src.const(field.minimum)}", "minimum"))
    if field.maximum is not None:
        conditions.append((f"d > {src.const(field.maximum)}", "maximum"))
    src.add(depth, "else:")
    chain(src, depth + 1, conditions, fail, [store("d")])


def _iso(
    src: Source,
    v: str,
    trusted: bool,
    fail: Statement,
    depth: int,
    *,
    shape: str,
    parse: Callable[[str], Any],
    parsed: list[str],
) -> None:
    """Emit the checks of ISO text ``v``: a string, of the right ``shape`` (the condition
    that fails with "format"), that ``parse`` accepts (else "format" again) into ``d``;
    ``parsed`` are the ``elif``/``else`` lines that go on from a parsed ``d``."""
    conditions = _must_be_text(v, trusted)
    conditions.append((shape, "format"))
    lines = [
        "try:",
        f"    d = {src.const(parse)}({v})",
        "except ValueError:",
        "    d = None",
        "if d is None:",
        f"    {fail(repr('format'))}",
        *parsed,
    ]
    chain(src, depth, conditions, fail, lines)


def _date(src: Source, v: str, trusted: bool, store: Statement, fail: Statement, depth: int) -> None:
    # Same as DATE_RE.fullmatch, cheaper: among ten-character strings with dashes at
    # 4 and 7, date.fromisoformat accepts exactly ASCII-digit YYYY-MM-DD.
    shape = f"len({v}) != 10 or {v}[4] != '-' or {v}[7] != '-'"
    _iso(src, v, trusted, fail, depth, shape=shape, parse=date.fromisoformat, parsed=["else:", f"    {store('d')}"])


def _datetime(src: Source, v: str, trusted: bool, store: Statement, fail: Statement, depth: int) -> None:
    utc = src.const(UTC)
    in_utc = [
        "elif d.tzinfo is None:",
        f"    {store(f'd.replace(tzinfo={utc})')}",
        f"elif d.tzinfo is {utc}:",
        f"    {store('d')}",
        "else:",
        "    try:",
        f"        d = d.astimezone({utc})",
        "    except OverflowError:",
        "        d = None",
        "    if d is None:",
        f"        {fail(repr('out_of_range'))}",
        "    else:",
        f"        {store('d')}",
    ]
    shape = f"{src.const(DATETIME_RE.fullmatch)}({v}) is None"
    _iso(src, v, trusted, fail, depth, shape=shape, parse=datetime.fromisoformat, parsed=in_utc)


def _multi_enum(src: Source, field: FieldDef, v: str, store: Statement, fail: Statement, depth: int) -> None:
    choices = src.const(frozenset(field.choice_values))
    chain(
        src,
        depth,
        [(f"not isinstance({v}, list)", "type")],
        fail,
        [
            "c = None",
            "given = set()",
            f"for item in {v}:",
            "    if not isinstance(item, str):",
            "        c = 'type'",
            "        break",
            f"    if item not in {choices}:",
            "        c = 'choice'",
            "        break",
            "    if item in given:",
            "        c = 'duplicate'",
            "        break",
            "    given.add(item)",
            "if c is None:",
            f"    {store(f'list({v})')}",
            "else:",
            f"    {fail('c')}",
        ],
    )


def emit_value_checks(
    src: Source,
    field: FieldDef,
    depth: int,
    *,
    value: str,
    store: Statement,
    fail: Statement,
    trusted: bool = False,
) -> None:
    """Emit the checks of ``field`` on the non-null value in local ``value``.

    ``store(expr)`` is the statement that keeps a converted value, ``fail(code_expr)``
    the one that records a problem. ``trusted`` says the value already has the Python
    type of the field's JSON form (``str`` for text, decimal, date, enum; ``int`` for
    integer and reference), as after CSV decoding, which skips the type test.
    """
    v = value
    kind = field.type
    if kind in TEXT_TYPES:
        chain(src, depth, _text(src, field, v, trusted), fail, [store(v)])
    elif kind == "integer":
        chain(src, depth, _integer(src, field, v, trusted), fail, [store(v)])
    elif kind in DECIMAL_TYPES:
        _decimal(src, field, v, trusted, store, fail, depth)
    elif kind == "boolean":
        chain(src, depth, [(f"{v} is not True and {v} is not False", "type")], fail, [store(v)])
    elif kind == "date":
        _date(src, v, trusted, store, fail, depth)
    elif kind == "datetime":
        _datetime(src, v, trusted, store, fail, depth)
    elif kind == "enum":
        conditions = _must_be_text(v, trusted)
        conditions.append((f"{v} not in {src.const(frozenset(field.choice_values))}", "choice"))
        chain(src, depth, conditions, fail, [store(v)])
    elif kind == "multi_enum":
        _multi_enum(src, field, v, store, fail, depth)
    elif kind == "reference":
        positive = f"{v} <= 0" if trusted else f"{_NOT_INT.format(v=v)} or {v} <= 0"
        conditions = [(positive, "type"), (f"{v} > {INT64_MAX}", "out_of_range")]
        chain(src, depth, conditions, fail, [store(v)])
    elif kind == "json":
        chain(src, depth, [(f"{src.const(json_unstorable)}({v})", "invalid_character")], fail, [store(v)])
    else:
        raise ValueError(f"field {field.name!r} has unknown type {kind!r}")
