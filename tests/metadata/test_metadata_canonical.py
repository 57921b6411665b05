"""The canonical resolved form: round trip, only non-default keys, digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from metadata_support import BUNDLES, PRESETS, Writer

from engine.errors import DefinitionError
from engine.metadata import (
    Definitions,
    definitions_digest,
    definitions_from_json,
    definitions_to_json,
    load_definitions,
    validate_path,
)

EVERY_OPTION = {
    "schema_version": 1,
    "kind": "entity",
    "name": "sample",
    "label": {"en": "Sample", "zh": "样例"},
    "description": {"en": "Every option once.", "zh": "每个选项"},
    "display": "name",
    "renamed_from": "example",
    "fields": {
        "name": {
            "type": "string",
            "required": True,
            "unique": True,
            "min_length": 2,
            "max_length": 80,
            "pattern": "[A-Za-z ]+",
            "default": "Anon",
            "label": "Full name",
            "renamed_from": "title",
        },
        "notes": {
            "type": "text",
            "max_length": 100000,
            "description": "Free text",
            "read_only": True,
        },
        "priority": {"type": "integer", "minimum": -5, "maximum": 5, "default": 0, "index": True},
        "ratio": {
            "type": "decimal",
            "precision": 6,
            "scale": 4,
            "minimum": "-0.5",
            "maximum": 1.25,
            "default": "0.1250",
        },
        "price": {"type": "money", "precision": 4, "default": 0.25},
        "big": {
            "type": "decimal",
            "precision": 38,
            "scale": 0,
            "maximum": "99999999999999999999999999999999999999",
        },
        "active": {"type": "boolean", "default": True},
        "born": {"type": "date", "default": "2000-01-31"},
        "seen": {"type": "datetime", "default": "2024-05-01T09:30:00+08:00"},
        "stage": {
            "type": "enum",
            "choices": [
                "new",
                {"value": "won", "label": {"en": "Won", "zh": "赢单"}},
                {"value": "lost", "label": "Lost"},
            ],
            "default": "new",
        },
        "tags": {"type": "multi_enum", "choices": ["a", "b"], "default": ["b", "a"]},
        "email": {"type": "email", "max_length": 254},
        "phone": {"type": "phone", "default": None},
        "site": {"type": "url", "max_length": 300},
        "parent": {"type": "reference", "target": "sample", "on_delete": "set_null"},
        "owner_ref": {
            "type": "reference",
            "target": "sample",
            "on_delete": "cascade",
            "required": True,
        },
        "extra": {"type": "json", "default": {"k": [1, 2.5, None, True, "x"]}},
    },
    "indexes": [["stage", "priority"], ["created_at"]],
    "unique": [["name", "parent"]],
}


def _sources(write: Writer) -> list[Path]:
    return [write("sample.json", EVERY_OPTION), BUNDLES / "diamond"]


@pytest.mark.parametrize("which", [0, 1], ids=["every-option", "diamond-bundle"])
def test_round_trip_gives_equal_definitions(write: Writer, which: int) -> None:
    definitions = load_definitions(_sources(write)[which], preset_dirs=[PRESETS])
    stored = definitions_to_json(definitions)
    text = json.dumps(stored, ensure_ascii=False)  # JSON-ready, nothing but JSON types
    again = definitions_from_json(json.loads(text))
    assert again == definitions
    assert definitions_to_json(again) == stored
    assert definitions_digest(again) == definitions_digest(definitions)


def test_canonical_form_writes_only_what_differs_from_defaults(write: Writer) -> None:
    stored = definitions_to_json(load_definitions(write("sample.json", EVERY_OPTION)))
    fields = stored["entities"]["sample"]["fields"]
    assert fields["email"] == {"type": "email"}  # max_length 254 is email's default
    assert fields["price"] == {"type": "money", "precision": 4, "default": 0.25}
    assert fields["ratio"]["minimum"] == "-0.5" and fields["ratio"]["maximum"] == "1.25"
    assert fields["priority"]["minimum"] == -5
    assert fields["big"]["maximum"] == 10**38 - 1  # whole numbers stay JSON integers
    assert fields["parent"] == {"type": "reference", "target": "sample", "on_delete": "set_null"}
    assert fields["stage"]["choices"][0] == "new"
    assert fields["phone"] == {"type": "phone", "default": None}
    assert list(stored) == ["schema_version", "kind", "name", "bundles", "entities"]


def test_each_stored_entity_is_an_entity_document(write: Writer) -> None:
    stored = definitions_to_json(load_definitions(BUNDLES / "diamond", preset_dirs=[PRESETS]))
    for name, document in stored["entities"].items():
        path = write(f"one/{name}.json", document)
        # Alone, a document may refer to entities it does not contain; the form is what counts.
        codes = {p.code for p in validate_path(path)}
        assert codes <= {"unknown_target"}


def test_digest_is_stable_and_sensitive(write: Writer) -> None:
    definitions = load_definitions(write("sample.json", EVERY_OPTION))
    digest = definitions_digest(definitions)
    assert len(digest) == 64 and int(digest, 16) >= 0
    changed = json.loads(json.dumps(EVERY_OPTION))
    changed["fields"]["priority"]["maximum"] = 6
    assert definitions_digest(load_definitions(write("changed/sample.json", changed))) != digest
    # Writing what is the default explicitly changes nothing.
    explicit = json.loads(json.dumps(EVERY_OPTION))
    explicit["fields"]["parent"]["required"] = False
    explicit["fields"]["site"]["label"] = "Site"
    explicit["fields"]["price"]["scale"] = 2
    assert definitions_digest(load_definitions(write("explicit/sample.json", explicit))) == digest


@pytest.mark.parametrize(
    ("mutate", "pointer", "code"),
    [
        (lambda d: d.pop("entities"), "", "required"),
        (lambda d: d.update(kind="entity"), "/kind", "unexpected_kind"),
        (lambda d: d.update(schema_version=2), "/schema_version", "unsupported_schema_version"),
        (
            lambda d: d["entities"]["account"]["fields"]["name"].update(type="str"),
            "/entities/account/fields/name/type",
            "unknown_type",
        ),
        (
            lambda d: d["entities"]["account"].update(name="client"),
            "/entities/account/name",
            "invalid",
        ),
        (
            lambda d: d["entities"].pop("account"),
            "/entities/contact/fields/account/target",
            "unknown_target",
        ),
        (
            lambda d: d["entities"]["campaign"]["fields"]["channels"].update(default=["fax"]),
            "/entities/campaign/fields/channels/default",
            "invalid_default",
        ),
    ],
)
def test_invalid_stored_form_is_a_definition_error(mutate: Any, pointer: str, code: str) -> None:
    stored = definitions_to_json(load_definitions(BUNDLES / "diamond", preset_dirs=[PRESETS]))
    mutate(stored)
    with pytest.raises(DefinitionError) as raised:
        definitions_from_json(stored)
    problems = raised.value.problems
    assert (problems[0].code, problems[0].pointer, problems[0].file) == (
        code,
        pointer,
        "<definitions>",
    )


def test_stored_form_problems_name_the_given_file() -> None:
    with pytest.raises(DefinitionError) as raised:
        definitions_from_json([], file="crm_definitions#7")
    assert raised.value.problems[0].file == "crm_definitions#7"


def test_empty_definitions_round_trip() -> None:
    empty = Definitions(name="nothing", entities={}, bundles=("nothing",))
    assert definitions_from_json(definitions_to_json(empty)) == empty
