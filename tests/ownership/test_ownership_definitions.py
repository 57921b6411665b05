"""Definition errors of ``cascade_owner``, ``read_via`` and ``claim_limits``: each located by
file, JSON pointer and code; the keys survive the stored form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.metadata import definitions_from_json, definitions_to_json, load_definitions, validate_path
from tests.ownership.ownership_support import ENTITIES, role, write_crm
from tests.support import write_bundle

REP = {"*": {"read": "own"}}


@pytest.mark.parametrize(
    ("filename", "document", "pointer", "code"),
    [
        ("zz.json", role("x", REP, read_via=["deal.account", "lead.account"]), "/read_via/1", "unknown_entity"),
        ("zz.json", role("x", REP, read_via=["deal.customer"]), "/read_via/0", "unknown_field"),
        ("zz.json", role("x", REP, read_via=["deal.title"]), "/read_via/0", "not_reference"),
        ("zz.json", role("x", REP, read_via=["deal"]), "/read_via/0", "pattern"),
        ("zz.json", role("x", REP, claim_limits={"lead": 3}), "/claim_limits/lead", "unknown_entity"),
        ("zz.json", role("x", REP, claim_limits={"account": 0}), "/claim_limits/account", "out_of_range"),
        (
            "zz.json",
            {
                "schema_version": 1,
                "kind": "role_overlay",
                "role": "rep",
                "permissions": {},
                "read_via": ["quote.title"],
            },
            "/read_via/0",
            "unknown_field",
        ),
        (
            "zz.json",
            {
                "schema_version": 1,
                "kind": "entity_overlay",
                "entity": "note",
                "change_fields": {"text": {"cascade_owner": True}},
            },
            "/change_fields/text/cascade_owner",
            "inapplicable_option",
        ),
    ],
    ids=[
        "read-via-unknown-entity",
        "read-via-unknown-field",
        "read-via-not-a-reference",
        "read-via-not-entity-dot-field",
        "claim-limit-unknown-entity",
        "claim-limit-not-positive",
        "overlay-read-via",
        "cascade-owner-on-a-string",
    ],
)
def test_problems(tmp_path: Path, filename: str, document: dict[str, Any], pointer: str, code: str) -> None:
    bundle = write_crm(tmp_path)
    (bundle / filename).write_text(json.dumps(document))
    found = [(p.file, p.pointer, p.code) for p in validate_path(bundle)]
    assert (f"owned/{filename}", pointer, code) in found, found


def test_cascade_owner_on_a_string_field_is_refused(tmp_path: Path) -> None:
    entities = {**ENTITIES, "note": {"fields": {"text": {"type": "string", "cascade_owner": True}}}}
    bundle = write_bundle(tmp_path, "owned", entities)
    found = [(p.file, p.pointer, p.code) for p in validate_path(bundle)]
    assert ("owned/note.json", "/fields/text/cascade_owner", "inapplicable_option") in found, found


def test_the_keys_survive_the_stored_form(tmp_path: Path) -> None:
    definitions = load_definitions(write_crm(tmp_path))
    again = definitions_from_json(definitions_to_json(definitions))
    assert again.entities["contact"].fields["account"].cascade_owner
    assert not again.entities["note"].fields["account"].cascade_owner
    assert again.roles["rep"].read_via == (("deal", "account"), ("deal", "contact"))
    assert dict(again.roles["rep"].claim_limits) == {"account": 2}
    assert again == definitions
