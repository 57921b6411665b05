"""Record validation with marshmallow: one ``Schema`` class per entity and mode.

This is the readable reference implementation of the record rules (see ``_rules``);
``compile_validator`` is the fast one, and a property test holds the two to the same
answers. Every error a field raises is a ``ValidationError`` whose message is
``{"code": ..., "message": ...}``, so codes survive marshmallow's error collection
without parsing message text.
"""

from __future__ import annotations

import copy
import math
import re
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeGuard, TypeVar

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load

from engine.compile._rules import (
    DATE_RE,
    DATETIME_RE,
    INT64_MAX,
    INT64_MIN,
    NUMERIC_RE,
    OWNER_MAX_LENGTH,
    READ_ONLY_SYSTEM_FIELDS,
    format_regex,
    integer_digits,
    json_unstorable,
    record_problem,
    scale_of,
    unstorable,
)
from engine.errors import Problem, RecordValidationError
from engine.metadata import pattern_matcher
from engine.metadata._field_types import TEXT_TYPES, field_type
from engine.metadata._model import EntityDef, FieldDef

_Moment = TypeVar("_Moment", date, datetime)


class _CodedField(fields.Field[Any]):
    """A field whose errors carry a stable code next to their message."""

    #: marshmallow's own keys mapped to ours: a required field given ``null`` is as
    #: missing as a required field left out.
    _CODES: ClassVar[Mapping[str, str]] = {"null": "required"}

    def __init__(self, entity: EntityDef, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entity = entity
        self.name = name
        self.definition = entity.fields.get(name)

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        code = self._CODES.get(key, key)
        problem = record_problem(self.entity, self.name, code)
        return ValidationError({"code": problem.code, "message": problem.message})

    @property
    def field(self) -> FieldDef:
        if self.definition is None:
            raise LookupError(f"{self.name!r} is not a field of {self.entity.name}")
        return self.definition

    def _check_bounds(self, number: int | Decimal) -> None:
        """Raise "minimum" or "maximum" when ``number`` is outside the field's bounds."""
        field = self.field
        if field.minimum is not None and number < field.minimum:
            raise self.make_error("minimum")
        if field.maximum is not None and number > field.maximum:
            raise self.make_error("maximum")


class _ReadOnly(_CodedField):
    """A key that may not be written: system columns, read-only fields on update."""

    _CODES: ClassVar[Mapping[str, str]] = {"null": "read_only", "required": "read_only"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raise self.make_error("read_only")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _Text(_CodedField):
    def __init__(self, entity: EntityDef, name: str, **kwargs: Any) -> None:
        super().__init__(entity, name, **kwargs)
        field = self.field
        self.format = format_regex(field)
        self.pattern = None if field.pattern is None else pattern_matcher(field.pattern)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        field = self.field
        if not isinstance(value, str):
            raise self.make_error("type")
        if field.required and not value.strip():
            raise self.make_error("required")
        if unstorable(value):
            raise self.make_error("invalid_character")
        if field.min_length is not None and len(value) < field.min_length:
            raise self.make_error("min_length")
        if field.max_length is not None and len(value) > field.max_length:
            raise self.make_error("max_length")
        if self.format is not None and self.format.fullmatch(value) is None:
            raise self.make_error("format")
        if self.pattern is not None and not self.pattern(value):
            raise self.make_error("pattern")
        return value


class _Integer(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not _is_int(value):
            raise self.make_error("type")
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.make_error("out_of_range")
        self._check_bounds(value)
        return value


class _Decimal(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        field = self.field
        number = self._number(value)
        if number is None:
            raise self.make_error("type")
        _sign, digits, exponent = number.as_tuple()
        assert isinstance(exponent, int)  # finite: NaN and Infinity are refused above
        significant = list(digits)
        # Trailing zeros after the point do not count against the scale: "12.50" fits
        # a scale of 1 as well as 12.5 does.
        while exponent < 0 and len(significant) > 1 and significant[-1] == 0:
            significant.pop()
            exponent += 1
        is_zero = not any(significant)
        whole_digits = 0 if is_zero else len(significant) + exponent
        fraction_digits = 0 if is_zero else max(0, -exponent)
        if whole_digits > integer_digits(field):
            raise self.make_error("precision")
        if fraction_digits > scale_of(field):
            raise self.make_error("scale")
        self._check_bounds(number)
        return number

    @staticmethod
    def _number(value: Any) -> Decimal | None:
        if isinstance(value, str):
            return Decimal(value) if NUMERIC_RE.fullmatch(value) else None
        if isinstance(value, float):
            # A float's repr is its shortest round-tripping form: 0.1 -> "0.1", so the
            # record gets the number the sender wrote, not 0.1000000000000000055...
            return Decimal(float.__repr__(value)) if math.isfinite(value) else None
        if _is_int(value):
            return Decimal(value)
        return None


class _Boolean(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return bool(value)
        raise self.make_error("type")


def _iso(field: _CodedField, value: Any, shape: re.Pattern[str], parse: Callable[[str], _Moment]) -> _Moment:
    """ISO text ``value`` as ``parse`` reads it: a string (else "type") of the right
    ``shape`` that ``parse`` accepts (else "format")."""
    if not isinstance(value, str):
        raise field.make_error("type")
    if shape.fullmatch(value) is None:
        raise field.make_error("format")
    try:
        return parse(value)
    except ValueError:
        raise field.make_error("format") from None


class _Date(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        return _iso(self, value, DATE_RE, date.fromisoformat)


class _DateTime(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = _iso(self, value, DATETIME_RE, datetime.fromisoformat)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("out_of_range") from None


class _Enum(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("type")
        if value not in self.field.choice_values:
            raise self.make_error("choice")
        return value


class _MultiEnum(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list):
            raise self.make_error("type")
        choices = self.field.choice_values
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.make_error("type")
            if item not in choices:
                raise self.make_error("choice")
            if item in value[:i]:
                raise self.make_error("duplicate")
        return list(value)


class _Reference(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not _is_int(value) or value <= 0:
            raise self.make_error("type")
        if value > INT64_MAX:
            raise self.make_error("out_of_range")
        return value


class _Json(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if json_unstorable(value):
            raise self.make_error("invalid_character")
        return value


class _Owner(_CodedField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("type")
        if unstorable(value):
            raise self.make_error("invalid_character")
        if len(value) > OWNER_MAX_LENGTH:
            raise self.make_error("max_length")
        return value


_FIELD_CLASSES: dict[str, type[_CodedField]] = {
    **{kind: _Text for kind in TEXT_TYPES},
    "integer": _Integer,
    "decimal": _Decimal,
    "money": _Decimal,
    "boolean": _Boolean,
    "date": _Date,
    "datetime": _DateTime,
    "enum": _Enum,
    "multi_enum": _MultiEnum,
    "reference": _Reference,
    "json": _Json,
}


class RecordSchema(Schema):
    """Base of the generated record schemas; ``load_record`` is how to use them."""

    crm_entity: ClassVar[EntityDef]
    crm_partial: ClassVar[bool]
    crm_defaults: ClassVar[Mapping[str, Any]]

    class Meta:
        unknown = RAISE

    @pre_load
    def _apply_defaults(self, data: Any, **kwargs: Any) -> Any:
        # Defaults are filled in before the fields run, so that a default is checked
        # and converted exactly like a value the caller sent (load_default would
        # hand it through unconverted).
        if self.crm_partial or not isinstance(data, Mapping):
            return data
        missing = [name for name in self.crm_defaults if name not in data]
        if not missing:
            return data
        filled = dict(data)
        for name in missing:
            filled[name] = copy.deepcopy(self.crm_defaults[name])
        return filled


def _schema_field(entity: EntityDef, field: FieldDef, partial: bool) -> _CodedField:
    if field.read_only and (partial or field_type(field.type).assigned):
        return _ReadOnly(entity, field.name, required=False, allow_none=False)
    try:
        field_class = _FIELD_CLASSES[field.type]
    except KeyError:
        raise ValueError(f"field {field.name!r} has unknown type {field.type!r}") from None
    return field_class(
        entity,
        field.name,
        required=field.required and not partial,
        allow_none=not field.required,
    )


def _class_name(entity: EntityDef, partial: bool) -> str:
    words = "".join(part.capitalize() for part in entity.name.split("_"))
    return f"{words}{'Update' if partial else 'Create'}Schema"


def build_record_schema(entity: EntityDef, *, partial: bool = False) -> type[RecordSchema]:
    """A marshmallow schema class that validates records of ``entity``.

    ``partial=False`` validates a record to create (required fields, defaults);
    ``partial=True`` an update (only the keys given; read-only fields refused).
    Load it with :func:`load_record`, which turns errors into problems.
    """
    declared: dict[str, fields.Field[Any]] = {
        name: _schema_field(entity, field, partial) for name, field in entity.fields.items()
    }
    declared["owner"] = _Owner(entity, "owner", required=False, allow_none=True)
    for name in sorted(READ_ONLY_SYSTEM_FIELDS):
        declared[name] = _ReadOnly(entity, name, required=False, allow_none=False)
    defaults = {name: field.default for name, field in entity.fields.items() if field.has_default}
    base: type[RecordSchema] = type(
        f"{_class_name(entity, partial)}Base",
        (RecordSchema,),
        {"crm_entity": entity, "crm_partial": partial, "crm_defaults": defaults},
    )
    schema = base.from_dict(declared, name=_class_name(entity, partial))
    assert issubclass(schema, RecordSchema)
    return schema


# Schema instances hold no state between loads, and making one deep-copies every
# field, so each class keeps one for as long as the class lives.
_INSTANCES: weakref.WeakKeyDictionary[type[RecordSchema], RecordSchema] = weakref.WeakKeyDictionary()


def _instance(schema_cls: type[RecordSchema]) -> RecordSchema:
    schema = _INSTANCES.get(schema_cls)
    if schema is None:
        schema = _INSTANCES[schema_cls] = schema_cls()
    return schema


def _problems(entity: EntityDef, data: Mapping[Any, Any], messages: Mapping[Any, Any]) -> list[Problem]:
    rank = {name: i for i, name in enumerate([*entity.fields, "owner"])}
    position = {key: i for i, key in enumerate(data)}

    def order(key: Any) -> tuple[int, int]:
        if key in rank:
            return (0, rank[key])
        return (1, position.get(key, len(position)))

    problems = []
    for key in sorted(messages, key=order):
        message = messages[key]
        # Our fields raise {"code", "message"}; the only plain message is marshmallow's
        # own "Unknown field." for a key no field is declared for.
        code = message["code"] if isinstance(message, dict) else "unknown_field"
        problems.append(record_problem(entity, key, code))
    return problems


def load_record(schema_cls: type[RecordSchema], data: Any, *, partial: bool | None = None) -> dict[str, Any]:
    """Validate and convert one record with a schema from :func:`build_record_schema`.

    Returns the converted values (``Decimal``, ``date``, aware UTC ``datetime``...).
    Raises :class:`RecordValidationError` with every problem, one per key. ``partial``
    defaults to the mode the schema was built for; giving the other mode is a
    programming error (``ValueError``), since the two schemas differ.
    """
    if partial is not None and partial != schema_cls.crm_partial:
        mode = "update" if schema_cls.crm_partial else "create"
        raise ValueError(f"{schema_cls.__name__} validates {mode}s; build one with partial={partial}")
    entity = schema_cls.crm_entity
    if not isinstance(data, Mapping):
        raise RecordValidationError([record_problem(entity, None, "type")])
    try:
        result: dict[str, Any] = _instance(schema_cls).load(data, partial=schema_cls.crm_partial)
    except ValidationError as error:
        messages = error.messages
        assert isinstance(messages, dict)
        raise RecordValidationError(_problems(entity, data, messages)) from None
    return result
