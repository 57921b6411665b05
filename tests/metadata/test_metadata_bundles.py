"""Bundles: extends (presets and paths), diamonds, cycles, duplicates, and file naming."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from metadata_support import BUNDLES, PRESETS, Writer, manifest

from engine.errors import DefinitionError
from engine.metadata import load_definitions, validate_path


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(BUNDLES / "diamond", id="directory"),
        pytest.param(BUNDLES / "diamond" / "bundle.json", id="bundle.json"),
        pytest.param(os.path.relpath(BUNDLES / "diamond"), id="relative-str"),
    ],
)
def test_diamond_loads_each_base_once(path: str | Path) -> None:
    definitions = load_definitions(path, preset_dirs=[PRESETS])
    assert definitions.name == "diamond"
    assert definitions.bundles == ("fx_core", "fx_projects", "fx_marketing", "diamond")
    assert list(definitions.entities) == [
        "account",
        "contact",
        "opportunity",
        "campaign",
        "campaign_member",
    ]


def test_many_to_many_is_a_link_entity() -> None:
    definitions = load_definitions(BUNDLES / "diamond", preset_dirs=[PRESETS])
    member = definitions.entity("campaign_member")
    assert [f.target for f in member.references()] == ["campaign", "contact"]
    assert member.unique == (("campaign", "contact"),)
    assert member.fields["role"].default == "invited"


def test_extends_by_path_needs_no_preset_dirs() -> None:
    definitions = load_definitions(BUNDLES / "by_path")
    assert definitions.bundles == ("fx_core", "by_path")
    assert definitions.entity("ticket").fields["account"].target == "account"


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        ("cycle_a", [("cycle_b/bundle.json", "extends_cycle", "/extends/1")]),
        ("cycle_b", [("cycle_a/bundle.json", "extends_cycle", "/extends/0")]),
        ("self_cycle", [("self_cycle/bundle.json", "extends_cycle", "/extends/0")]),
        (
            "missing_bases",
            [
                ("missing_bases/bundle.json", "unknown_bundle", "/extends/0"),
                ("missing_bases/bundle.json", "unknown_bundle", "/extends/1"),
            ],
        ),
        ("no_manifest", [("no_manifest/bundle.json", "missing_bundle_file", None)]),
        (
            "duplicate_entity",
            [
                ("duplicate_entity/entities/account.json", "duplicate_entity", "/name"),
                ("duplicate_entity/entities/lead_again.json", "duplicate_entity", "/name"),
            ],
        ),
        ("clash", [("right/opportunity.json", "overlay_clash", "/label")]),
    ],
)
def test_broken_bundle_is_reported(bundle: str, expected: list[tuple[str, str, str | None]]) -> None:
    problems = validate_path(BUNDLES / bundle, preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == expected
    with pytest.raises(DefinitionError):
        load_definitions(BUNDLES / bundle, preset_dirs=[PRESETS])


def test_cycle_message_shows_the_cycle() -> None:
    (cycle,) = validate_path(BUNDLES / "cycle_a", preset_dirs=[PRESETS])
    assert "cycle_a → cycle_b → cycle_a" in cycle.message


def test_duplicate_entity_names_both_places() -> None:
    first, _ = validate_path(BUNDLES / "duplicate_entity", preset_dirs=[PRESETS])
    assert first.file == "duplicate_entity/entities/account.json"
    assert "fx_core/entities/account.json" in first.message


def test_unknown_preset_suggests_the_closest() -> None:
    first, _ = validate_path(BUNDLES / "missing_bases", preset_dirs=[PRESETS])
    assert "Did you mean 'fx_core'?" in first.message


def test_preset_in_two_preset_directories_is_ambiguous(write: Writer, tmp_path: Path) -> None:
    write("more/fx_core/bundle.json", manifest("fx_core"))
    root = write("app/bundle.json", manifest("app", "fx_core")).parent
    problems = validate_path(root, preset_dirs=[PRESETS, tmp_path / "more"])
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/bundle.json", "ambiguous_bundle", "/extends/0")]
    # The same directory given twice is one directory.
    assert validate_path(root, preset_dirs=[PRESETS, PRESETS / ".." / "presets"]) == []


def test_two_bundles_with_one_name_are_an_error(write: Writer) -> None:
    write("one/bundle.json", manifest("shared"))
    write("two/bundle.json", manifest("shared"))
    root = write("app/bundle.json", manifest("app", "../one", "../two")).parent
    problems = validate_path(root)
    assert [(p.file, p.code, p.pointer) for p in problems] == [("two/bundle.json", "duplicate_bundle", "/name")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (manifest("app", "./nope"), [("unknown_bundle", "/extends/0")]),
        (manifest("app", "not/a/preset"), [("unknown_bundle", "/extends/0")]),
        (manifest("app", "./" + "x" * 300), [("unknown_bundle", "/extends/0")]),
        (manifest("app", "/etc/hostname/.."), [("unknown_bundle", "/extends/0")]),
        (manifest("app", "x" * 1001, "fx_core"), [("too_long", "/extends/0")]),
        (manifest("app", ""), [("too_short", "/extends/0")]),
        (manifest("App"), [("invalid_name", "/name")]),
        ({"schema_version": 1, "kind": "bundle"}, [("required", "")]),
        (
            {"schema_version": 1, "kind": "bundle", "name": "app", "extends": "fx_core"},
            [("type", "/extends")],
        ),
        (manifest("app", "fx_core", "fx_core"), [("duplicate_item", "/extends/1")]),
        ({**manifest("app"), "inherits": []}, [("unknown_key", "/inherits")]),
        (
            {"schema_version": 1, "kind": "entity", "name": "app", "fields": {}},
            [("unexpected_kind", "/kind")],
        ),
    ],
)
def test_bundle_json_mistakes(write: Writer, content: object, expected: list[tuple[str, str]]) -> None:
    root = write("app/bundle.json", content).parent
    problems = validate_path(root, preset_dirs=[PRESETS])
    assert [(p.code, p.pointer) for p in problems] == expected
    assert {p.file for p in problems} == {"app/bundle.json"}


def test_bundle_kind_inside_a_bundle_is_misplaced(write: Writer) -> None:
    root = write("app/bundle.json", manifest("app")).parent
    write("app/other.json", manifest("other"))
    problems = validate_path(root)
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/other.json", "unexpected_kind", "/kind")]


def test_member_documents_are_found_recursively_in_sorted_order(write: Writer) -> None:
    def thing(name: str) -> dict[str, object]:
        return {"schema_version": 1, "kind": "entity", "name": name, "fields": {}}

    root = write("app/bundle.json", manifest("app")).parent
    write("app/b.json", thing("b"))
    write("app/a/z.json", thing("az"))
    write("app/a.json", thing("a"))
    write("app/.hidden/broken.json", "not json")
    write("app/.editor.json", "not json")
    write("app/notes.txt", "not json")
    write("app/vendor/bundle.json", manifest("vendor"))  # a bundle of its own: not a member
    write("app/vendor/broken.json", "not json")
    assert list(load_definitions(root).entities) == ["a", "az", "b"]


def test_entity_file_alone_is_an_anonymous_bundle(write: Writer) -> None:
    path = write("defs/deal.json", {"schema_version": 1, "kind": "entity", "name": "deal", "fields": {}})
    definitions = load_definitions(path)
    assert (definitions.name, definitions.bundles, list(definitions.entities)) == (
        "deal",
        ("deal",),
        ["deal"],
    )


def test_overlay_file_alone_has_nothing_to_overlay(write: Writer) -> None:
    path = write("x.json", {"schema_version": 1, "kind": "entity_overlay", "entity": "deal"})
    assert [(p.code, p.pointer) for p in validate_path(path)] == [("unknown_entity", "/entity")]


def test_missing_path(tmp_path: Path) -> None:
    problems = validate_path(tmp_path / "nowhere")
    assert [(p.code, p.pointer) for p in problems] == [("path_not_found", None)]
