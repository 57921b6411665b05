"""Random JSON in random places of valid documents: only DefinitionError ever comes out.

And whenever a mutated bundle is still valid, it loads and survives the canonical round
trip, so the checks never let through something the later stages cannot store.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metadata_support import PRESETS, write_file

from engine.errors import DefinitionError, Problem
from engine.metadata import (
    FIELD_TYPES,
    PROBLEM_CODES,
    _schemas,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)

MANIFEST = {"schema_version": 1, "kind": "bundle", "name": "app", "extends": ["fx_core"]}
ENTITY: dict[str, Any] = {
    "schema_version": 1,
    "kind": "entity",
    "name": "ticket",
    "label": {"en": "Ticket", "zh": "工单"},
    "display": "subject",
    "fields": {
        "subject": {"type": "string", "required": True, "max_length": 120, "pattern": "[^<>]*"},
        "body": {"type": "text", "default": ""},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5, "default": 3},
        "cost": {"type": "money", "minimum": 0},
        "state": {
            "type": "enum",
            "choices": ["open", {"value": "closed", "label": "Done"}],
            "default": "open",
        },
        "tags": {"type": "multi_enum", "choices": ["a", "b"]},
        "account": {"type": "reference", "target": "account", "on_delete": "cascade"},
        "due": {"type": "date"},
        "data": {"type": "json"},
    },
    "indexes": [["state", "priority"]],
    "unique": [["account", "subject"]],
}
OVERLAY = {
    "schema_version": 1,
    "kind": "entity_overlay",
    "entity": "opportunity",
    "label": "Deal",
    "add_fields": {"ticket": {"type": "reference", "target": "ticket"}},
    "change_fields": {
        "source": {"add_choices": ["fair"], "default": "fair"},
        "title": {"required": False},
    },
    "add_indexes": [["ticket"]],
}
DOCUMENTS = {"bundle.json": MANIFEST, "ticket.json": ENTITY, "overlay.json": OVERLAY}

_WORDS = sorted(
    {
        *FIELD_TYPES, "type", "label", "description", "required", "unique", "index", "read_only",
        "default", "minimum", "maximum", "min_length", "max_length", "pattern", "precision",
        "scale", "choices", "target", "on_delete", "renamed_from", "value", "en", "zh", "name",
        "kind", "schema_version", "fields", "indexes", "display", "entity", "add_fields",
        "change_fields", "add_choices", "add_indexes", "add_unique", "extends", "account",
        "opportunity", "ticket", "subject", "state", "restrict", "set_null", "fx_core", "open",
        "./x", "../app", "(", "id", "order", "crm_x", "2024-01-01", "1.5",
    }
)  # fmt: skip
KEYS = st.sampled_from(_WORDS) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(_WORDS)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from _containers(item, (*path, key))
    elif isinstance(value, list):
        yield path
        for index, item in enumerate(value):
            yield from _containers(item, (*path, index))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three random changes at random places."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = _at(document, draw(st.sampled_from(list(_containers(document)))))
        if isinstance(target, dict):
            key = draw(st.sampled_from(list(target)) | KEYS) if target else draw(KEYS)
            if key in target and draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(JSON_VALUES)
        elif target and draw(st.booleans()):
            target[draw(st.integers(min_value=0, max_value=len(target) - 1))] = draw(JSON_VALUES)
        else:
            target.append(draw(JSON_VALUES))
    return document


def _check(problems: list[Problem]) -> None:
    for p in problems:
        assert isinstance(p, Problem)
        assert p.code in PROBLEM_CODES
        assert p.message and p.file


def _round_trip(path: Path) -> None:
    problems = validate_path(path, preset_dirs=[PRESETS])
    _check(problems)
    try:
        definitions = load_definitions(path, preset_dirs=[PRESETS])
    except DefinitionError as error:
        assert error.problems == tuple(problems) and problems
        return
    assert problems == []
    stored = json.loads(json.dumps(definitions_to_json(definitions), allow_nan=False))
    assert definitions_from_json(stored) == definitions
    assert definitions_digest(definitions_from_json(stored)) == definitions_digest(definitions)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.data())
def test_random_json_in_a_bundle_document(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(DOCUMENTS)))
    broken = data.draw(mutated(DOCUMENTS[name]))
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "app"
        for file, document in DOCUMENTS.items():
            write_file(root, file, broken if file == name else document)
        _round_trip(root)


#: The entity on its own, without the reference to the preset's account.
ALONE = {
    **ENTITY,
    "fields": {k: v for k, v in ENTITY["fields"].items() if k != "account"},
    "unique": [["subject"]],
}


@FUZZ
@given(mutated(ALONE))
def test_random_json_in_a_single_entity_document(document: Any) -> None:
    with tempfile.TemporaryDirectory() as temp:
        _round_trip(write_file(Path(temp), "ticket.json", document))


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_random_bytes_as_a_document(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as temp:
        _round_trip(write_file(Path(temp), "ticket.json", content))


def _stored() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "app"
        for file, document in DOCUMENTS.items():
            write_file(root, file, document)
        return definitions_to_json(load_definitions(root, preset_dirs=[PRESETS]))


STORED = _stored()


@FUZZ
@given(mutated(STORED))
def test_random_json_in_stored_definitions(stored: Any) -> None:
    try:
        definitions = definitions_from_json(stored)
    except DefinitionError as error:
        _check(list(error.problems))
        assert error.problems
        return
    again = json.loads(json.dumps(definitions_to_json(definitions)))
    assert definitions_from_json(again) == definitions


@FUZZ
@given(mutated(ALONE) | mutated(OVERLAY))
def test_field_type_dispatch_reports_what_standard_validation_reports(document: Any) -> None:
    # The engine evaluates only the matching "if type is t" branch of a field schema;
    # standard 2020-12 validation evaluates all of them. Their errors must be the same.
    name = "entity_overlay.schema.json" if document.get("kind") == "entity_overlay" else ("entity.schema.json")
    standard = _schemas.StrictValidator(dict(_schemas.schema_document(name)), registry=_schemas._registry())

    def errors(validator: Any) -> set[tuple[str, str, str]]:
        return {(json.dumps(list(e.absolute_path)), e.validator, e.message) for e in validator.iter_errors(document)}

    assert errors(_schemas.validator(name)) == errors(standard)
