"""The compiled record validator: one generated function per entity and mode.

Same rules as the marshmallow schemas (``_rules`` documents them), written out as
straight-line Python for bulk import. Hand-written because no library compiles record
validators with these semantics (every problem collected, our codes, JSON values in and
Decimal/date/aware datetime out), and the general ones are 10-50x slower per record:
about 20x for marshmallow and for jsonschema on a 20-field record. ``_codegen`` says
how the source is generated and why that is safe.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compile._codegen import MISSING, Source, chain, emit_value_checks, owner_rules
from engine.compile._rules import READ_ONLY_SYSTEM_FIELDS, record_problem
from engine.errors import Problem, RecordValidationError
from engine.metadata._field_types import field_type
from engine.metadata._model import NO_DEFAULT, EntityDef, FieldDef

#: ``(converted values, [(key, code), ...])`` as the generated functions return them.
RawCheck = Callable[[Mapping[Any, Any]], tuple[dict[str, Any], list[tuple[Any, str]]]]


def _unknown_scanner(known: frozenset[str]) -> Callable[[Mapping[Any, Any], list[Any]], None]:
    def scan(data: Mapping[Any, Any], errs: list[tuple[Any, str]]) -> None:
        for key in data:
            if key not in known:
                code = "read_only" if key in READ_ONLY_SYSTEM_FIELDS else "unknown_field"
                errs.append((key, code))

    return scan


def default_expression(src: Source, field: FieldDef) -> str:
    """The expression for a fresh copy of ``field``'s default as the definition gives it."""
    value = field.default
    if isinstance(value, (list, dict)):
        # Records must not share one mutable default: a caller may change its copy.
        return f"{src.const(copy.deepcopy)}({src.const(value)})"
    return src.const(value)


def _emit_given(src: Source, field: FieldDef, depth: int, key: str) -> None:
    """Checks for a value that is present (possibly null) in local ``v``."""

    def store(expr: str) -> str:
        return f"out[{key}] = {expr}"

    def fail(code: str) -> str:
        return f"errs.append(({key}, {code}))"

    src.add(depth, "if v is None:")
    src.add(depth + 1, fail(repr("required")) if field.required else store("None"))
    src.add(depth, "else:")
    emit_value_checks(src, field, depth + 1, value="v", store=store, fail=fail)


def _emit_field(src: Source, field: FieldDef, partial: bool, missing: str) -> None:
    key = src.const(field.name)
    src.add(2, f"v = get({key}, {missing})")
    if field.read_only and (partial or field_type(field.type).assigned):
        # read-only once the record exists; the engine's own numbers even before
        src.add(2, f"if v is not {missing}:")
        src.add(3, "seen += 1")
        src.add(3, f"errs.append(({key}, 'read_only'))")
    elif partial:
        src.add(2, f"if v is not {missing}:")
        src.add(3, "seen += 1")
        _emit_given(src, field, 3, key)
    elif field.has_default:
        # A default stands in for a missing value and is checked like one sent.
        src.add(2, f"if v is {missing}:")
        src.add(3, f"v = {default_expression(src, field)}")
        src.add(2, "else:")
        src.add(3, "seen += 1")
        _emit_given(src, field, 2, key)
    else:
        src.add(2, f"if v is {missing}:")
        src.add(3, f"errs.append(({key}, 'required'))" if field.required else "pass")
        src.add(2, "else:")
        src.add(3, "seen += 1")
        _emit_given(src, field, 3, key)


def _emit_owner(src: Source, missing: str) -> None:
    key = src.const("owner")
    src.add(2, f"v = get({key}, {missing})")
    src.add(2, f"if v is not {missing}:")
    src.add(3, "seen += 1")
    src.add(3, "if v is None:")
    src.add(4, f"out[{key}] = None")
    src.add(3, "else:")
    rules = [("not isinstance(v, str)", "type"), *owner_rules(src, "v")]
    chain(src, 4, rules, lambda code: f"errs.append(({key}, {code}))", [f"out[{key}] = v"])


def generate_check(entity: EntityDef, *, partial: bool) -> tuple[RawCheck, str]:
    """The generated check function of ``entity`` for one mode, and its source."""
    src = Source()
    missing = src.const(MISSING)
    known = frozenset([*entity.fields, "owner"])
    src.add(1, "def check(data):")
    src.add(2, "errs = []")
    src.add(2, "out = {}")
    src.add(2, "get = data.get")
    src.add(2, "seen = 0")
    for definition in entity.fields.values():
        _emit_field(src, definition, partial, missing)
    _emit_owner(src, missing)
    # Every known key found was counted; any other key is unknown or a system field.
    src.add(2, "if seen != len(data):")
    src.add(3, f"{src.const(_unknown_scanner(known))}(data, errs)")
    src.add(2, "return out, errs")
    mode = "update" if partial else "create"
    function = src.build("check", f"<record validator {entity.name} {mode}>")
    return function, src.text("check")


@dataclass(frozen=True)
class RecordValidator:
    """Validates and converts records of one entity (see :func:`compile_validator`)."""

    entity: EntityDef
    create_check: RawCheck = field(repr=False, compare=False)
    update_check: RawCheck = field(repr=False, compare=False)
    create_source: str = field(repr=False, compare=False)
    update_source: str = field(repr=False, compare=False)

    def check(self, data: Mapping[str, Any], *, partial: bool = False) -> tuple[dict[str, Any] | None, list[Problem]]:
        """``(values, [])`` for a valid record, ``(None, problems)`` otherwise.

        ``partial=False`` checks a record to create, ``partial=True`` an update.
        """
        if not isinstance(data, Mapping):
            return None, [record_problem(self.entity, None, "type")]
        out, errs = (self.update_check if partial else self.create_check)(data)
        if not errs:
            return out, []
        return None, [record_problem(self.entity, key, code) for key, code in errs]

    def check_values(self, data: Mapping[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], list[Problem]]:
        """The converted values that passed and the problems of the others, so that a
        caller can run its own checks on the valid ones and report every problem at once."""
        if not isinstance(data, Mapping):
            return {}, [record_problem(self.entity, None, "type")]
        out, errs = (self.update_check if partial else self.create_check)(data)
        return out, [record_problem(self.entity, key, code) for key, code in errs]

    def validate(self, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """The converted values of a valid record; raises :class:`RecordValidationError`
        with every problem otherwise."""
        out, problems = self.check(data, partial=partial)
        if out is None:
            raise RecordValidationError(problems)
        return out


def compile_validator(entity: EntityDef) -> RecordValidator:
    """Generate and compile the create and update validators of ``entity``."""
    create, create_source = generate_check(entity, partial=False)
    update, update_source = generate_check(entity, partial=True)
    return RecordValidator(entity, create, update, create_source, update_source)


@functools.lru_cache(maxsize=512)
def _cached_field_validator(definition: FieldDef) -> RecordValidator:
    return compile_validator(EntityDef(name="field", label=definition.label, fields={definition.name: definition}))


def field_validator(definition: FieldDef) -> RecordValidator:
    """A validator of the field ``definition`` alone, as an optional, writable field without a default.

    For converting single values by a field's rules: filter operands, defaults written
    by migrations. Cached, because building a validator costs far more than using it
    (filters convert their operands on every list request).
    """
    probe = dataclasses.replace(
        definition, required=False, read_only=False, unique=False, default=NO_DEFAULT, renamed_from=None
    )
    try:
        return _cached_field_validator(probe)
    except TypeError:  # an unhashable option value (a list default): build it uncached
        return _cached_field_validator.__wrapped__(probe)
