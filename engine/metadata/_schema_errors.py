"""Validate a document against its meta-schema and turn jsonschema errors into problems.

Each jsonschema error becomes one or more problems with a stable code and a precise RFC
6901 pointer: the pointer of the value at fault; of the object, for a missing key; of the
key itself, for a key that is not allowed. ``anyOf`` alternatives (a label is a string or an
object) are resolved to the alternative the value was evidently meant as, so the user reads
"missing key 'en'" instead of "not valid under any of the given schemas".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from engine.errors import Problem
from engine.metadata._model import FIELD_TYPES, SourceRef
from engine.metadata._names import IDENTIFIER_PATTERN, IDENTIFIER_RULE, snake_case
from engine.metadata._problems import (
    did_you_mean,
    pointer,
    problem,
    quoted_list,
    unique_problems,
)
from engine.metadata._schemas import (
    all_field_options,
    changeable_properties,
    types_accepting,
    validator,
)

#: Keys the document reader checks itself before choosing a meta-schema.
_HEADER_KEYS = ("schema_version", "kind")

#: What people coming from other tools write for a field type.
TYPE_ALIASES = {
    "str": "string", "varchar": "string", "char": "string", "textarea": "text",
    "int": "integer", "bigint": "integer", "number": "decimal", "float": "decimal",
    "double": "decimal", "numeric": "decimal", "currency": "money", "bool": "boolean",
    "timestamp": "datetime", "select": "enum", "choice": "enum", "multiselect": "multi_enum",
    "tags": "multi_enum", "mail": "email", "tel": "phone", "link": "reference",
    "foreign_key": "reference", "fk": "reference", "relation": "reference",
    "many2one": "reference", "object": "json", "dict": "json",
}  # fmt: skip

#: What people coming from other tools write for a key.
KEY_ALIASES = {
    "options": "choices", "values": "choices", "nullable": "required", "not_null": "required",
    "ref": "target", "references": "target", "to": "target", "entity": "target",
    "min": "minimum", "max": "maximum", "regex": "pattern", "readonly": "read_only",
    "indexed": "index", "help": "description", "title": "label", "digits": "precision",
    "decimals": "scale", "ondelete": "on_delete", "base": "extends", "inherits": "extends",
}  # fmt: skip

_REQUIRED_HINTS = {
    "type": f" Every field needs a type, one of: {', '.join(FIELD_TYPES)}.",
    "choices": ' Add the list of allowed values, e.g. "choices": ["new", "won"].',
    "target": " Add the name of the entity this field refers to.",
    "fields": ' Add the fields, e.g. "fields": {"title": {"type": "string"}}.',
    "en": " The English text is required; zh is optional.",
}

_JSON_TYPES = (
    (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
    (list, "an array"), (dict, "an object"), (type(None), "null"),
)  # fmt: skip
_ARTICLES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
    "array": "an array", "object": "an object", "null": "null",
}  # fmt: skip

Handler = Callable[[ValidationError, SourceRef], Iterator[Problem]]


def schema_problems(schema_file: str, document: Any, file: str, base: str = "") -> list[Problem]:
    """Every meta-schema problem of ``document``; ``base`` prefixes the pointers."""
    problems: list[Problem] = []
    for error in validator(schema_file).iter_errors(document):
        path = tuple(error.absolute_path)
        if path and path[0] in _HEADER_KEYS and len(path) == 1:
            continue  # the reader already reported schema_version and kind
        problems.extend(_problems_for(error, file, base))
    return unique_problems(problems)


def value_problems(errors: Iterable[ValidationError], file: str) -> list[Problem]:
    """Problems of a value that is not a document (a scorer's configuration), one or more
    per jsonschema error, with pointers inside the value.

    The codes are those of the meta-schemas; callers that report under a code of their
    own keep the messages and pointers.
    """
    problems: list[Problem] = []
    for error in errors:
        problems.extend(_problems_for(error, file, "", document=False))
    return unique_problems(problems)


def _json_type(value: Any) -> str:
    for python_type, name in _JSON_TYPES:
        if isinstance(value, python_type):
            return name
    return "a value"


def _problems_for(error: ValidationError, file: str, base: str, *, document: bool = True) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        # The error is about an object key, reported at the key's own pointer.
        name = str(error.instance)
        where = SourceRef(file, base + pointer(*path, name))
        schema = error.schema if isinstance(error.schema, dict) else {}
        if error.validator == "pattern" and error.validator_value != IDENTIFIER_PATTERN:
            # Keys that are not identifiers (workflow states are choice values).
            rule = schema.get("description") or f"a name matching {error.validator_value}."
            yield problem("invalid_name", f"{name!r} is not a valid name; expected {rule}", where)
            return
        suggestion = snake_case(name)
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        yield problem("invalid_name", f"{name!r} is not a valid name: {IDENTIFIER_RULE}.{hint}", where)
        return
    if error.validator in ("anyOf", "oneOf"):
        yield from _alternatives(error, file, base, document=document)
        return
    handler = _HANDLERS.get(str(error.validator), _invalid)
    if not document:
        # The header keys and their codes belong to documents, not to values inside them.
        handler = _VALUE_HANDLERS.get(str(error.validator), handler)
    yield from handler(error, SourceRef(file, base + pointer(*path)))


def _alternatives(error: ValidationError, file: str, base: str, *, document: bool) -> Iterator[Problem]:
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    # A branch whose type does not even match was evidently not meant.
    meant = [
        errors for errors in branches.values() if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if len(meant) == 1:
        for sub in meant[0]:
            yield from _problems_for(sub, file, base, document=document)
        return
    expected: list[str] = []
    for errors in branches.values():
        for e in errors:
            if e.validator == "type" and not e.relative_path:
                names = e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
                expected.extend(n for n in names if n not in expected)
    wanted = " or ".join(_ARTICLES.get(n, n) for n in expected) or "another value"
    message = f"expected {wanted}, got {_json_type(error.instance)}."
    yield problem("type", message, SourceRef(file, base + pointer(*error.absolute_path)))


def _required(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    skipped = _HEADER_KEYS if not error.absolute_path else ()
    yield from _missing_keys(error, where, skipped, _REQUIRED_HINTS)


def _value_required(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    yield from _missing_keys(error, where, (), {})


def _missing_keys(
    error: ValidationError,
    where: SourceRef,
    skipped: tuple[str, ...],
    hints: Mapping[str, str],
) -> Iterator[Problem]:
    # jsonschema reports each missing key without saying which in a structured way;
    # report them all here and let the caller drop the repeats.
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in error.validator_value:
        if key in instance or key in skipped:
            continue
        message = f"missing required key {key!r}.{hints.get(key, f' Add {key!r}.')}"
        yield problem("required", message, where)


def _additional(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    anchor = str(schema.get("$anchor", ""))
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in instance:
        if key in allowed or any(re.search(p, key) for p in patterns):
            continue
        at = SourceRef(where.file, where.pointer + pointer(key))
        if anchor.endswith("-field") and key in all_field_options():
            field_type = anchor.removesuffix("-field")
            types = ", ".join(types_accepting(key))
            message = (
                f"{key!r} does not apply to {field_type} fields (it applies to: {types}); "
                "remove it, or change the field's type."
            )
            yield problem("inapplicable_option", message, at)
        elif anchor == "field-change" and key in all_field_options():
            message = (
                f"an overlay cannot change {key!r} of an inherited field; change_fields may "
                f"change only {quoted_list(changeable_properties())}. To store something "
                "different, add a new field with add_fields."
            )
            yield problem("not_changeable", message, at)
        else:
            hint = did_you_mean(key, allowed, KEY_ALIASES)
            message = f"unknown key {key!r}.{hint} Allowed here: {quoted_list(allowed)}."
            yield problem("unknown_key", message, at)


def _type(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    names = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    wanted = " or ".join(_ARTICLES.get(str(n), str(n)) for n in names)
    yield problem("type", f"expected {wanted}, got {_json_type(error.instance)}.", where)


def _enum(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    allowed = [str(v) for v in error.validator_value]
    value = error.instance
    word = value if isinstance(value, str) else ""
    if list(error.validator_value) == list(FIELD_TYPES):
        hint = did_you_mean(word, allowed, TYPE_ALIASES) if word else ""
        message = f"{value!r} is not a field type.{hint} Field types: {', '.join(allowed)}."
        yield problem("unknown_type", message, where)
        return
    hint = did_you_mean(word, allowed) if word else ""
    yield problem("enum", f"{value!r} is not allowed here.{hint} Use one of: {quoted_list(allowed)}.", where)


def _value_const(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    yield problem("enum", f"must be {error.validator_value!r}, not {error.instance!r}.", where)


def _const(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    last = where.pointer.rsplit("/", 1)[-1]
    expected = error.validator_value
    if last == "schema_version":
        message = f"schema_version must be {expected}, not {error.instance!r}."
        yield problem("unsupported_schema_version", message, where)
    elif last == "kind":
        message = f"expected a document of kind {expected!r} here, not {error.instance!r}."
        yield problem("unexpected_kind", message, where)
    else:
        yield problem("enum", f"must be {expected!r}, not {error.instance!r}.", where)


def _pattern(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    value = error.instance
    if error.validator_value == IDENTIFIER_PATTERN:
        suggestion = snake_case(str(value))
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        yield problem("invalid_name", f"{value!r} is not a valid name: {IDENTIFIER_RULE}.{hint}", where)
        return
    schema = error.schema if isinstance(error.schema, dict) else {}
    rule = schema.get("description") or f"a string matching {error.validator_value}."
    yield problem("pattern", f"{value!r} has the wrong form; expected {rule}", where)


def _too_short(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    limit = error.validator_value
    unit = {"minLength": "characters", "minItems": "items", "minProperties": "keys"}[str(error.validator)]
    message = "must not be empty." if limit == 1 else f"must have at least {limit} {unit}."
    yield problem("too_short", message, where)


def _too_long(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    unit = {"maxLength": "characters", "maxItems": "items", "maxProperties": "keys"}[str(error.validator)]
    yield problem("too_long", f"must have at most {error.validator_value} {unit}.", where)


def _range(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    lower = error.validator in ("minimum", "exclusiveMinimum")
    side = "at least" if lower else "at most"
    message = f"{error.instance!r} is out of range: it must be {side} {error.validator_value}."
    yield problem("out_of_range", message, where)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _unique_items(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, item in enumerate(error.instance if isinstance(error.instance, list) else []):
        key = _canonical(item)
        if key in seen:
            at = SourceRef(where.file, where.pointer + pointer(index))
            message = f"item {index} repeats item {seen[key]}; remove one of them."
            yield problem("duplicate_item", message, at)
        else:
            seen[key] = index


def _invalid(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    yield problem("invalid", f"invalid value: {error.message}.", where)


_HANDLERS: dict[str, Handler] = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": _too_short,
    "minItems": _too_short,
    "minProperties": _too_short,
    "maxLength": _too_long,
    "maxItems": _too_long,
    "maxProperties": _too_long,
    "minimum": _range,
    "maximum": _range,
    "exclusiveMinimum": _range,
    "exclusiveMaximum": _range,
    "uniqueItems": _unique_items,
}
_VALUE_HANDLERS: dict[str, Handler] = {"required": _value_required, "const": _value_const}
