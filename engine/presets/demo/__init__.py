"""Deterministic demo data for whatever definitions are loaded (see README.md)."""

from __future__ import annotations

from ._generate import BATCH_SIZE, demo_logins, generate_demo, preset_scope

__all__ = ["BATCH_SIZE", "demo_logins", "generate_demo", "preset_scope"]
