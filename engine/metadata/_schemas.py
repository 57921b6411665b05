"""The meta-schemas in ``schemas/``: loaded once, cross-referenced offline, validators cached.

Schemas refer to each other by relative ``$ref`` (``common.schema.json#/$defs/label``) and
carry no ``$id``, so that an editor resolves those references to the files beside them.
Here each schema is registered under its file name, every reference is served from that
local registry, and nothing is ever fetched from a network.

References between meta-schemas point into ``$defs`` (``entity.schema.json#/$defs/entity``),
never at a document root: at a subschema carrying ``$schema`` jsonschema switches back to
its standard validator class, which would lose the field-type dispatch below.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.metadata._model import FIELD_TYPES
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
