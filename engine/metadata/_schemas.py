"""The meta-schemas in ``schemas/``: loaded once, cross-referenced offline, validators cached.

Schemas refer to each other by relative ``$ref`` (``common.schema.json#/$defs/label``) and
carry no ``$id``, so that an editor resolves those references to the files beside them.
Here each schema is registered under its file name, every reference is served from that
local registry, and nothing is ever fetched from a network.

References between meta-schemas point into ``$defs`` (``entity.schema.json#/$defs/entity``),
never at a document root: at a subschema carrying ``$schema`` jsonschema switches back to
its standard validator class, which would lose the field-type dispatch below.

Validate a document against its meta-schema and turn jsonschema errors into problems.

Each jsonschema error becomes one or more problems with a stable code and a precise RFC
6901 pointer: the pointer of the value at fault; of the object, for a missing key; of the
key itself, for a key that is not allowed. ``anyOf`` alternatives (a label is a string or an
object) are resolved to the alternative the value was evidently meant as, so the user reads
"missing key 'en'" instead of "not valid under any of the given schemas".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine import suggestions
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
from engine.resources import resource_dir


@functools.cache
def _schema_documents() -> Mapping[str, Mapping[str, Any]]:
    directory = resource_dir("schemas")
    documents = {
        path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.schema.json"))
    }
    return MappingProxyType(documents)


@functools.cache
def _registry() -> Registry[Any]:
    resources = [
        (name, Resource.from_contents(contents, default_specification=DRAFT202012))
        for name, contents in _schema_documents().items()
    ]
    # No ``retrieve`` callable: a reference outside the registry is an error, not a download.
    return Registry().with_resources(resources).crawl()


def schema_names() -> tuple[str, ...]:
    """File names of the meta-schemas (``entity.schema.json``...)."""
    return tuple(_schema_documents())


def schema_document(name: str) -> Mapping[str, Any]:
    """The meta-schema ``name`` as loaded (do not mutate)."""
    return _schema_documents()[name]


_STANDARD_ALL_OF = Draft202012Validator.VALIDATORS["allOf"]


def _dispatch_value(branch: Any) -> str | None:
    """``t`` when ``branch`` is ``{"if": {type is t}, "then": ...}``, else ``None``."""
    if not isinstance(branch, dict) or set(branch) != {"if", "then"}:
        return None
    condition = branch["if"]
    if condition.get("required") != ["type"] or set(condition) != {"properties", "required"}:
        return None
    properties = condition["properties"]
    if set(properties) != {"type"} or set(properties["type"]) != {"const"}:
        return None
    value = properties["type"]["const"]
    return value if isinstance(value, str) else None


#: id(allOf list) → (the list, its dispatch values or None). Keeping the list keeps its
#: id from being reused; meta-schemas live as long as the process anyway.
_DISPATCH: dict[int, tuple[list[Any], list[str] | None]] = {}


def _dispatch_values(all_of: list[Any]) -> list[str] | None:
    cached = _DISPATCH.get(id(all_of))
    if cached is None or cached[0] is not all_of:
        values = [_dispatch_value(branch) for branch in all_of]
        cached = (all_of, [v for v in values if v is not None] if all(values) else None)
        _DISPATCH[id(all_of)] = cached
    return cached[1]


def _all_of(validator: Any, all_of: list[Any], instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    # A field schema is an allOf of one "if type is t, then t_field" branch per field type.
    # Standard evaluation tests all fifteen conditions for every field, which made loading
    # large bundles slow; for an object only the branch whose constant equals its "type"
    # can apply, so evaluate just that one. Same errors, same schema paths.
    if isinstance(instance, dict):
        values = _dispatch_values(all_of)
        if values is not None:
            for index, value in enumerate(values):
                if value == instance.get("type"):
                    yield from validator.descend(instance, all_of[index], schema_path=index)
            return
    yield from _STANDARD_ALL_OF(validator, all_of, instance, schema)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    # JSON Schema patterns are ECMA-262 regular expressions, in which "$" matches only at
    # the very end. Python's "$" also matches before a final newline, which would let
    # "name\n" pass as an identifier; "\Z" is Python's true end.
    if isinstance(instance, str) and re.search(_ecma_end(pattern), instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _ecma_end(pattern: str) -> str:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


#: Standard 2020-12 validation, with patterns read as JSON Schema defines them.
StrictValidator = validators.extend(Draft202012Validator, validators={"pattern": _pattern})
_Validator = validators.extend(StrictValidator, validators={"allOf": _all_of})


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The (cached) validator of the meta-schema file ``name``."""
    return _Validator(dict(_schema_documents()[name]), registry=_registry())


@functools.cache
def field_options() -> Mapping[str, tuple[str, ...]]:
    """The options each field type accepts, read from ``entity.schema.json``.

    The meta-schema is the one place that says which option applies to which type; error
    messages and the semantic checks read it from there.
    """
    definitions = _schema_documents()["entity.schema.json"]["$defs"]
    return MappingProxyType({t: tuple(definitions[f"{t}_field"]["properties"]) for t in FIELD_TYPES})


@functools.cache
def all_field_options() -> tuple[str, ...]:
    """Every option some field type accepts, in first-seen order."""
    seen: dict[str, None] = {}
    for options in field_options().values():
        seen.update(dict.fromkeys(options))
    return tuple(seen)


@functools.cache
def changeable_properties() -> tuple[str, ...]:
    """What an overlay's ``change_fields`` may change, read from the overlay meta-schema."""
    change = _schema_documents()["entity_overlay.schema.json"]["$defs"]["field_change"]
    return tuple(change["properties"])


def types_accepting(option: str) -> tuple[str, ...]:
    """The field types that accept ``option``."""
    return tuple(t for t, options in field_options().items() if option in options)


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
    "pattern": ' Add how the numbers are written, e.g. "pattern": "SO-{YYYY}-{#####}".',
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
        hint = suggestions.hint(snake_case(name) or None, quote="repr")
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


def _pattern_mismatch(error: ValidationError, where: SourceRef) -> Iterator[Problem]:
    value = error.instance
    if error.validator_value == IDENTIFIER_PATTERN:
        hint = suggestions.hint(snake_case(str(value)) or None, quote="repr")
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
    "pattern": _pattern_mismatch,
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
