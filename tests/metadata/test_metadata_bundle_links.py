"""Symbolic links in a bundle: a bundle reads only its own files, and a link loop ends."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from metadata_support import Writer, entity, manifest

from engine.errors import DefinitionError
from engine.metadata import load_definitions, validate_path
from engine.web._problems import UploadError
from engine.web.api._uploads import bundle_on_disk


@pytest.fixture
def bundle(tmp_path: Path, write: Writer) -> Path:
    write("sales/bundle.json", manifest("sales"))
    write("sales/deal.json", entity())
    write("secrets/account.json", entity(name="account"))
    return tmp_path / "sales"


def test_a_file_linking_outside_the_bundle_is_refused(bundle: Path, tmp_path: Path) -> None:
    (bundle / "account.json").symlink_to(tmp_path / "secrets" / "account.json")
    problems = validate_path(bundle)
    assert [(p.code, p.file) for p in problems] == [("link_outside_bundle", "sales/account.json")]
    assert "outside the bundle" in problems[0].message
    with pytest.raises(DefinitionError):
        load_definitions(bundle)


def test_a_directory_linking_outside_the_bundle_is_refused(bundle: Path, tmp_path: Path) -> None:
    (bundle / "shared").symlink_to(tmp_path / "secrets", target_is_directory=True)
    problems = validate_path(bundle)
    assert [(p.code, p.file) for p in problems] == [("link_outside_bundle", "sales/shared")]


def test_links_inside_the_bundle_are_fine_and_a_loop_ends(bundle: Path) -> None:
    (bundle / "entities").mkdir()
    (bundle / "entities" / "up").symlink_to(bundle, target_is_directory=True)  # a loop
    (bundle / "a").symlink_to(bundle / "b", target_is_directory=True)
    (bundle / "b").symlink_to(bundle / "a", target_is_directory=True)  # a loop of links
    definitions = load_definitions(bundle)
    assert list(definitions.entities) == ["deal"]


def _zip_with_link(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bundle.json", '{"schema_version": 1, "kind": "bundle", "name": "up"}')
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc")
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["link.json", "folder/", "deep/link.json"])
def test_any_link_in_an_uploaded_bundle_is_refused(name: str) -> None:
    with pytest.raises(UploadError) as caught, bundle_on_disk(archive=_zip_with_link(name)):
        pass
    [found] = caught.value.problems
    assert (found.code, found.file) == ("unsafe_path", name)
    assert "links are not allowed" in found.message
