"""Overlays: adding to and changing inherited entities, and every way that can clash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from metadata_support import BUNDLES, PRESETS, Writer

from engine.metadata import Label, load_definitions, validate_path


def overlay(**body: Any) -> dict[str, Any]:
    """An entity_overlay document on the fixture preset's ``opportunity``."""
    return {"schema_version": 1, "kind": "entity_overlay", "entity": "opportunity", **body}


def app_bundle(write: Writer, *documents: dict[str, Any]) -> Path:
    """A bundle ``app`` extending the fixture preset ``fx_core``, holding ``documents``."""
    manifest = {"schema_version": 1, "kind": "bundle", "name": "app", "extends": ["fx_core"]}
    for number, document in enumerate(documents):
        write(f"app/overlay{number or ''}.json", document)
    return write("app/bundle.json", manifest).parent


@pytest.mark.parametrize(
    ("document", "pointer", "code"),
    [
        (overlay(entity="oportunity"), "/entity", "unknown_entity"),
        (overlay(add_fields={"title": {"type": "text"}}), "/add_fields/title", "field_exists"),
        (
            overlay(change_fields={"titel": {"label": "Name"}}),
            "/change_fields/titel",
            "unknown_field",
        ),
        (
            overlay(change_fields={"title": {"type": "text"}}),
            "/change_fields/title/type",
            "not_changeable",
        ),
        (
            overlay(change_fields={"title": {"max_length": 10}}),
            "/change_fields/title/max_length",
            "not_changeable",
        ),
        (
            overlay(change_fields={"title": {"colour": "red"}}),
            "/change_fields/title/colour",
            "unknown_key",
        ),
        (overlay(change_fields={"title": {}}), "/change_fields/title", "too_short"),
        (overlay(replace_fields={}), "/replace_fields", "unknown_key"),
        (
            overlay(change_fields={"source": {"add_choices": ["web"]}}),
            "/change_fields/source/add_choices/0",
            "choice_exists",
        ),
        (
            overlay(change_fields={"source": {"add_choices": ["fair", {"value": "fair"}]}}),
            "/change_fields/source/add_choices/1",
            "choice_exists",
        ),
        (
            overlay(change_fields={"title": {"add_choices": ["a"]}}),
            "/change_fields/title/add_choices",
            "inapplicable_option",
        ),
        (
            overlay(change_fields={"extra": {"index": True}}),
            "/change_fields/extra/index",
            "inapplicable_option",
        ),
        (
            overlay(change_fields={"source": {"default": "fax"}}),
            "/change_fields/source/default",
            "invalid_default",
        ),
        (
            overlay(change_fields={"account": {"default": 1}}),
            "/change_fields/account/default",
            "invalid_default",
        ),
        (
            overlay(change_fields={"contact_email": {"required": True, "default": None}}),
            "/change_fields/contact_email/default",
            "invalid_default",
        ),
        (overlay(add_indexes=[["account", "source"]]), "/add_indexes/0", "index_exists"),
        (overlay(add_unique=[["account", "title"]]), "/add_unique/0", "index_exists"),
        (overlay(add_indexes=[["budget"]]), "/add_indexes/0/0", "unknown_field"),
        (overlay(display="budget"), "/display", "unknown_field"),
        (
            overlay(add_fields={"prospect": {"type": "reference", "target": "prospect"}}),
            "/add_fields/prospect/target",
            "unknown_target",
        ),
        (overlay(add_fields={"order": {"type": "integer"}}), "/add_fields/order", "sql_keyword"),
        (
            overlay(add_fields={"version": {"type": "integer"}}),
            "/add_fields/version",
            "reserved_name",
        ),
        (
            overlay(add_fields={"n": {"type": "integer", "minimum": 2, "maximum": 1}}),
            "/add_fields/n/minimum",
            "invalid_bounds",
        ),
        (overlay(add_fields={"n": {"type": "int"}}), "/add_fields/n/type", "unknown_type"),
        (overlay(label=""), "/label", "too_short"),
    ],
)
def test_overlay_mistake_is_located(write: Writer, document: dict[str, Any], pointer: str, code: str) -> None:
    problems = validate_path(app_bundle(write, document), preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/overlay.json", code, pointer)]


def test_overlay_adds_and_changes_without_copying(write: Writer) -> None:
    document = overlay(
        label={"en": "Project", "zh": "项目"},
        description="A project we deliver.",
        display="code",
        add_fields={"budget": {"type": "money"}, "code": {"type": "string", "max_length": 20}},
        change_fields={
            "source": {
                "label": "Lead source",
                "default": "fair",
                "add_choices": [{"value": "fair"}],
            },
            "amount": {"required": True, "read_only": True, "index": True, "description": "Total"},
        },
        add_indexes=[["budget"]],
        add_unique=[["code"]],
    )
    definitions = load_definitions(app_bundle(write, document), preset_dirs=[PRESETS])
    assert definitions.bundles == ("fx_core", "app")
    project = definitions.entity("opportunity")
    assert project.label == Label("Project", "项目")
    assert project.description == Label("A project we deliver.")
    assert project.display == "code"
    assert list(project.fields) == [
        "title",
        "account",
        "amount",
        "source",
        "contact_email",
        "extra",
        "budget",
        "code",
    ]
    source = project.fields["source"]
    assert source.label == Label("Lead source")
    assert source.choice_values == ("web", "referral", "fair")
    assert source.default == "fair"
    amount = project.fields["amount"]
    assert (amount.required, amount.read_only, amount.index) == (True, True, True)
    assert (amount.precision, amount.scale) == (14, 2)  # untouched options stay
    assert project.indexes == (("account", "source"), ("budget",))
    assert project.unique == (("account", "title"), ("code",))
    assert project.fields["budget"].source is not None
    assert project.fields["budget"].source.file == "app/overlay.json"
    assert project.fields["budget"].source.pointer == "/add_fields/budget"


def test_two_overlays_in_one_bundle_agreeing_is_fine(write: Writer) -> None:
    first = overlay(change_fields={"title": {"label": "Name"}})
    second = overlay(change_fields={"title": {"label": "Name", "required": False}})
    definitions = load_definitions(app_bundle(write, first, second), preset_dirs=[PRESETS])
    assert definitions.entity("opportunity").fields["title"].label == Label("Name")
    assert definitions.entity("opportunity").fields["title"].required is False


@pytest.mark.parametrize(
    ("first", "second", "pointer"),
    [
        (overlay(label="Deal"), overlay(label="Case"), "/label"),
        (
            overlay(change_fields={"title": {"label": "Name"}}),
            overlay(change_fields={"title": {"label": {"en": "Name", "zh": "名称"}}}),
            "/change_fields/title/label",
        ),
        (
            overlay(change_fields={"source": {"default": "web"}}),
            overlay(change_fields={"source": {"default": None}}),
            "/change_fields/source/default",
        ),
    ],
)
def test_overlays_of_one_bundle_disagreeing_clash(
    write: Writer, first: dict[str, Any], second: dict[str, Any], pointer: str
) -> None:
    problems = validate_path(app_bundle(write, first, second), preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [("app/overlay1.json", "overlay_clash", pointer)]
    assert "app/overlay.json" in problems[0].message


def test_sibling_bundles_disagreeing_clash() -> None:
    problems = validate_path(BUNDLES / "clash", preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [("right/opportunity.json", "overlay_clash", "/label")]
    assert "left/opportunity.json" in problems[0].message


def test_a_bundle_extending_both_siblings_settles_their_clash() -> None:
    definitions = load_definitions(BUNDLES / "clash_resolved", preset_dirs=[PRESETS])
    assert definitions.bundles == ("fx_core", "left", "right", "clash_resolved")
    assert definitions.entity("opportunity").label == Label("Matter")
    assert definitions.entity("opportunity").fields["title"].label == Label("Deal name")


def test_an_overlay_cannot_reach_into_a_sibling_bundle(write: Writer) -> None:
    write(
        "left/bundle.json",
        {"schema_version": 1, "kind": "bundle", "name": "left", "extends": ["fx_core"]},
    )
    write(
        "left/prospect.json",
        {"schema_version": 1, "kind": "entity", "name": "prospect", "fields": {}},
    )
    write("left/budget.json", overlay(add_fields={"budget": {"type": "money"}}))
    write(
        "right/bundle.json",
        {"schema_version": 1, "kind": "bundle", "name": "right", "extends": ["fx_core"]},
    )
    write("right/prospect.json", overlay(entity="prospect", label="Lead"))
    write("right/budget.json", overlay(change_fields={"budget": {"required": True}}))
    write(
        "right/link.json",
        overlay(add_fields={"prospect": {"type": "reference", "target": "prospect"}}),
    )
    root = write(
        "both/bundle.json",
        {"schema_version": 1, "kind": "bundle", "name": "both", "extends": ["../left", "../right"]},
    ).parent
    problems = validate_path(root, preset_dirs=[PRESETS])
    assert [(p.file, p.code, p.pointer) for p in problems] == [
        ("right/prospect.json", "unknown_entity", "/entity"),
        ("right/budget.json", "unknown_field", "/change_fields/budget"),
        ("right/link.json", "unknown_target", "/add_fields/prospect/target"),
    ]
    assert all("does not extend" in p.message for p in problems)


def test_overlays_of_a_base_apply_inside_the_base() -> None:
    # fx_projects adds 'fair' to source and makes it the default; the diamond bundle
    # refines fx_projects' label and makes fx_projects' budget field required.
    definitions = load_definitions(BUNDLES / "diamond", preset_dirs=[PRESETS])
    opportunity = definitions.entity("opportunity")
    assert opportunity.label == Label("Engagement", "项目合作")
    assert opportunity.fields["source"].default == "fair"
    assert opportunity.fields["budget"].required is True
    assert opportunity.fields["campaign"].target == "campaign"
    assert definitions.entity("account").fields["industry"].choice_values == (
        "retail",
        "finance",
        "public",
    )
    assert definitions.entity("account").fields["website"].index is True
