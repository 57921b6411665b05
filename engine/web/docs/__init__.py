"""``/api/v1/docs``: the API reference as a self-contained HTML page (works offline)."""

from __future__ import annotations

from ._page import render_page
from ._setup import init_app

__all__ = ["init_app", "render_page"]
