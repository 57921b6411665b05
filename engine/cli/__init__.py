"""The ``crm`` command line (click, as Flask's CLI is)."""

from __future__ import annotations

from ._main import cli, entry_point, main

__all__ = ["cli", "entry_point", "main"]
