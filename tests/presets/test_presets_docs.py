"""docs/presets.md keeps up with the presets: it names every preset, every mode's entities,
workflows and scorings, and its extension example is a valid bundle."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.metadata import validate_path
from engine.presets import MODES
from tests.presets.presets_support import PRESETS, SCORER_SCHEMAS, load_preset, mode_of
from tests.support import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "presets.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_is_described(preset: str) -> None:
    mode = mode_of(preset)
    if mode is None or preset == mode:
        assert f"`{preset}`" in DOC
    else:  # an industry, described by its name in its mode's section
        assert f"`{preset[len(mode) + 1 :]}`" in section(mode)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_section_names_what_the_mode_defines(mode: str) -> None:
    core = load_preset("core")
    definitions = load_preset(mode)
    names = {*definitions.entities, *definitions.workflows, *definitions.scorings}
    names -= {*core.entities, *core.workflows}
    text = section(mode)
    assert sorted(n for n in names if f"`{n}`" not in text) == []


def test_the_extension_example_is_a_valid_bundle(tmp_path: Path) -> None:
    text = section("Extending a preset with your own bundle")
    bundle = tmp_path / "my_crm"
    bundle.mkdir()
    manifest = re.search(r"bundle\.json\s+(\{.*?\"extends\": \[[^\]]*\]\})", text, flags=re.S)
    assert manifest is not None
    (bundle / "bundle.json").write_text(" ".join(manifest.group(1).split()), encoding="utf-8")
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", text, flags=re.S)):
        json.loads(block)
        (bundle / f"document_{i}.json").write_text(block, encoding="utf-8")
    assert validate_path(bundle, scorer_schemas=SCORER_SCHEMAS) == []
