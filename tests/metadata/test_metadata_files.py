"""Files that are not clean JSON documents, and many broken files reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from metadata_support import PRESETS, Writer

from engine.metadata import validate_path

GOOD = '{"schema_version": 1, "kind": "entity", "name": "deal", "fields": {}}'


@pytest.mark.parametrize(
    ("content", "code", "pointer", "line"),
    [
        (b"", "empty_file", None, None),
        (b"  \n\t\n", "empty_file", None, None),
        (b'{"schema_version": 1,\n "kind": "entity",\n}', "invalid_json", None, 3),
        (b'{"schema_version": 1 "kind": "entity"}', "invalid_json", None, 1),
        (b"{'kind': 'entity'}", "invalid_json", None, 1),
        (b'{"x": NaN}', "invalid_json", None, None),
        (b'{"x": -Infinity}', "invalid_json", None, None),
        (b'{"x": 1e999}', "invalid_json", None, None),
        (b'{"x": ' + b"9" * 5000 + b"}", "invalid_json", None, None),
        (b'{"name": "caf\xe9"}', "invalid_encoding", None, 1),
        (b'\n\n\xff\xfe{"a": 1}', "invalid_encoding", None, 3),
        (b"[" * 100_000, "too_deep", "", None),
        (
            b"[" * 70 + b"]" * 70,
            "too_deep",
            "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0",
            None,
        ),
        (b"[1, 2]", "not_an_object", "", None),
        (b"null", "not_an_object", "", None),
        (b'"entity"', "not_an_object", "", None),
        (GOOD[:-1].encode() + b', "name": "again"}', "duplicate_key", "/name", None),
    ],
)
def test_file_that_is_not_a_clean_document(
    write: Writer, content: bytes, code: str, pointer: str | None, line: int | None
) -> None:
    problems = validate_path(write("deal.json", content))
    assert [(p.file, p.code, p.pointer, p.line) for p in problems] == [("deal.json", code, pointer, line)]


def test_json_syntax_error_names_line_and_column(write: Writer) -> None:
    (problem,) = validate_path(write("deal.json", b'{\n  "kind": "entity",,\n}'))
    assert problem.line == 2
    assert "line 2, column 20" in problem.message


def test_byte_order_mark_is_accepted(write: Writer) -> None:
    assert validate_path(write("deal.json", b"\xef\xbb\xbf" + GOOD.encode())) == []


def test_unreadable_file(write: Writer, tmp_path: Path) -> None:
    root = write("app/bundle.json", {"schema_version": 1, "kind": "bundle", "name": "app"}).parent
    (root / "gone.json").symlink_to(root / "missing-target.json")  # inside: outside is link_outside_bundle
    problems = validate_path(root)
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/gone.json", "unreadable_file", None)]


def test_every_broken_file_is_reported_together(write: Writer) -> None:
    root = write(
        "app/bundle.json",
        {"schema_version": 1, "kind": "bundle", "name": "app", "extends": ["fx_core"]},
    ).parent
    write("app/1_syntax.json", '{"schema_version": 1,')
    write("app/2_empty.json", "")
    write("app/3_latin1.json", b'{"name": "caf\xe9"}')
    write("app/4_array.json", [])
    write("app/5_kind.json", {"schema_version": 1, "kind": "workflows"})
    write("app/6_version.json", {"schema_version": 3, "kind": "entity"})
    write(
        "app/7_lead.json",
        {
            "schema_version": 1,
            "kind": "entity",
            "name": "prospect",
            "fields": {"Name": {"type": "string"}, "stage": {"type": "enum"}},
        },
    )
    write(
        "app/8_task.json",
        {
            "schema_version": 1,
            "kind": "entity",
            "name": "task",
            "fields": {
                # prospect is broken above: no second, misleading unknown_target for it
                "prospect": {"type": "reference", "target": "prospect"},
                "deal": {"type": "reference", "target": "opportunty"},
                "due": {"type": "date", "default": "tomorrow"},
            },
        },
    )
    write(
        "app/9_overlay.json",
        {
            "schema_version": 1,
            "kind": "entity_overlay",
            "entity": "opportunity",
            "add_fields": {"title": {"type": "string"}},
            "change_fields": {"source": {"add_choices": ["web"]}},
        },
    )
    problems = validate_path(root, preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [
        ("app/1_syntax.json", "invalid_json", None),
        ("app/2_empty.json", "empty_file", None),
        ("app/3_latin1.json", "invalid_encoding", None),
        ("app/4_array.json", "not_an_object", ""),
        ("app/5_kind.json", "unknown_kind", "/kind"),
        ("app/6_version.json", "unsupported_schema_version", "/schema_version"),
        ("app/7_lead.json", "invalid_name", "/fields/Name"),
        ("app/7_lead.json", "required", "/fields/stage"),
        ("app/9_overlay.json", "field_exists", "/add_fields/title"),
        ("app/9_overlay.json", "choice_exists", "/change_fields/source/add_choices/0"),
        ("app/8_task.json", "invalid_default", "/fields/due/default"),
        ("app/8_task.json", "unknown_target", "/fields/deal/target"),
    ]
    assert all(p.message for p in problems)
