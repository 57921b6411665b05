"""The presets that ship with the engine: business modes, their industry variants, and
composing several of them into the definitions of one database."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.metadata import Definitions, Label, derive_label, load_definitions
from engine.resources import resource_dir

#: The five business modes (fixed names); industry variants are ``<mode>_<industry>``.
MODES: tuple[str, ...] = ("standard_product", "promotion", "complex_sale", "membership", "key_account")
#: The name under which definitions composed from presets are stored.
COMPOSITE = "presets"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    label: Label
    description: str
    path: Path
    mode: str | None = None
    industry: str | None = None
    industries: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label.to_json(), "description": self.description}
        if self.mode and self.industry:
            out |= {"mode": self.mode, "industry": self.industry}
        if self.industries:
            out["industries"] = list(self.industries)
        return out


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _label(value: Any, name: str) -> Label:
    if isinstance(value, dict) and isinstance(value.get("en"), str):
        return Label(value["en"], value.get("zh"))
    if isinstance(value, str):
        return Label(value)
    return derive_label(name)


def catalog(root: Path | None = None) -> dict[str, PresetInfo]:
    """Every preset by name: ``core``, the modes (with their industries) and the variants."""
    root = root or resource_dir("presets")
    found: dict[str, PresetInfo] = {}
    for path in sorted(p for p in root.iterdir() if (p / "bundle.json").is_file()):
        data = _read(path)
        name = path.name
        mode = next((m for m in MODES if name.startswith(m + "_")), None)
        found[name] = PresetInfo(
            name=name,
            label=_label(data.get("label"), name),
            description=str(data.get("description") or ""),
            path=path,
            mode=mode,
            industry=name[len(mode) + 1 :] if mode else None,
        )
    for name, info in list(found.items()):
        if name in MODES:
            industries = tuple(i.industry for i in found.values() if i.mode == name and i.industry)
            found[name] = PresetInfo(info.name, info.label, info.description, info.path, industries=industries)
    return found


def resolve(name: str, industry: str | None = None) -> PresetInfo:
    """The preset to load for a mode (and industry); a clear error naming what exists."""
    presets = catalog()
    if name not in presets:
        raise UsageError(f'there is no preset "{name}"; presets: {", ".join(sorted(presets)) or "none"}')
    if industry is None:
        return presets[name]
    variant = f"{name}_{industry}"
    if variant not in presets:
        industries = presets[name].industries
        raise UsageError(f'{name} has no industry "{industry}"; its industries: {", ".join(industries) or "none"}')
    return presets[variant]


def compose(names: list[str], *, scorer_schemas: Mapping[str, Any] | None = None) -> Definitions:
    """Definitions of several presets together (shared bases such as ``core`` come once)."""
    with tempfile.TemporaryDirectory(prefix="crm-presets-") as folder:
        bundle = Path(folder) / COMPOSITE
        bundle.mkdir()
        (bundle / "bundle.json").write_text(
            json.dumps({"schema_version": 1, "kind": "bundle", "name": COMPOSITE, "extends": names})
        )
        return load_definitions(bundle, scorer_schemas=scorer_schemas)
