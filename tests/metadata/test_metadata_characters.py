"""NUL and lone surrogates are refused in every string of every document, with a pointer."""

from __future__ import annotations

from pathlib import Path

import pytest
from metadata_support import Writer, entity

from engine.metadata import validate_path


def _raw(write: Writer, relative: str, text: str) -> Path:
    # Written as JSON escapes, the way such characters reach a definition file.
    return write(relative, text.encode("ascii"))


@pytest.mark.parametrize(
    ("text", "pointer", "words"),
    [
        (r'"label": "bad \ud800 label"', "/label", "lone surrogate"),
        (r'"label": "trailing \udfff"', "/label", "lone surrogate"),
        (r'"description": "a\u0000b"', "/description", "NUL"),
        (r'"fields": {"t": {"type": "string", "label": {"en": "T", "zh": "\u0000"}}}', "/fields/t/label/zh", "NUL"),
        (r'"fields": {"t": {"type": "enum", "choices": ["a", "b\u0000"]}}', "/fields/t/choices/1", "NUL"),
        (r'"fields": {"t\ud800": {"type": "string"}}', "/fields", "the key"),
    ],
)
def test_an_invalid_character_is_refused_where_it_is(write: Writer, text: str, pointer: str, words: str) -> None:
    fields = "" if '"fields"' in text else ', "fields": {"t": {"type": "string"}}'
    path = _raw(write, "deal.json", f'{{"schema_version": 1, "kind": "entity", "name": "deal", {text}{fields}}}')
    problems = validate_path(path)
    found = [p for p in problems if p.code == "invalid_character"]
    assert [(p.file, p.pointer) for p in found] == [("deal.json", pointer)], problems
    assert words in found[0].message
    # the message itself can be printed and stored (no raw surrogate or NUL in it)
    found[0].message.encode("utf-8")
    assert "\x00" not in found[0].message


def test_a_pair_of_surrogates_is_one_character_and_fine(write: Writer) -> None:
    text = (
        r'{"schema_version": 1, "kind": "entity", "name": "deal", "label": "\ud83d\ude00",'
        r' "fields": {"t": {"type": "string"}}}'
    )
    assert validate_path(_raw(write, "deal.json", text)) == []


def test_bundle_manifest_and_member_documents_are_checked(tmp_path: Path, write: Writer) -> None:
    write("sales/bundle.json", rb'{"schema_version": 1, "kind": "bundle", "name": "sales", "label": "S\u0000"}')
    write("sales/deal.json", entity(label="fine"))
    write(
        "sales/other.json",
        rb'{"schema_version": 1, "kind": "entity", "name": "x", "label": "\udc00",'
        rb' "fields": {"t": {"type": "string"}}}',
    )
    problems = validate_path(tmp_path / "sales")
    assert sorted((p.code, p.file, p.pointer) for p in problems) == [
        ("invalid_character", "sales/bundle.json", "/label"),
        ("invalid_character", "sales/other.json", "/label"),
    ]
