"""Locate the data directories that ship with the engine (``schemas/``, ``presets/``).

In a source checkout (or an editable install) they sit at the top of the tree, beside
``engine/``; in a built wheel they are copied into ``engine/_bundled/`` (see
``pyproject.toml``). Callers never guess paths themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

ResourceName = Literal["schemas", "presets"]

_HERE = Path(__file__).resolve().parent


def resource_dir(name: ResourceName) -> Path:
    """Return the directory holding the bundled ``name`` resources."""
    for candidate in (_HERE / "_bundled" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the engine's {name}/ directory is missing; reinstall crm-engine")
