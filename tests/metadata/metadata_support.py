"""Helpers shared by the definition-language tests: fixture paths and document builders.

A plain module, not conftest.py, so that test modules can import it by name; the name is
prefixed because test directories without ``__init__.py`` share one module namespace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
#: The fixture presets; tests pass them as ``preset_dirs``.
PRESETS = DATA / "presets"
#: Fixture bundles: diamonds, cycles, clashes...
BUNDLES = DATA / "bundles"

#: ``write("sales/bundle.json", content)`` → the path written (see the ``write`` fixture).
Writer = Callable[[str, Any], Path]


def write_file(root: Path, relative: str, content: Any) -> Path:
    """Write ``content`` (bytes, str, or a JSON value) to ``root/relative``."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def entity(fields: Any = None, **extra: Any) -> dict[str, Any]:
    """A valid entity document ``deal`` (with a ``title`` field unless ``fields`` is given)."""
    document: dict[str, Any] = {
        "schema_version": 1,
        "kind": "entity",
        "name": "deal",
        "fields": {"title": {"type": "string"}} if fields is None else fields,
    }
    document.update(extra)
    return document


def one_field(**spec: Any) -> dict[str, Any]:
    """An entity document whose only field ``f`` is ``spec``."""
    return entity({"f": spec})


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    """``document`` without ``key``."""
    return {k: v for k, v in document.items() if k != key}


def manifest(name: str, *extends: str) -> dict[str, Any]:
    """A bundle.json document."""
    return {"schema_version": 1, "kind": "bundle", "name": name, "extends": list(extends)}
