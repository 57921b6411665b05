"""A small bundle with duplicate rules for the duplicate tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from tests.support import write_bundle

ENTITIES: dict[str, Any] = {
    "account": {
        "display": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "city": {"type": "string"},
            "phone": {"type": "phone"},
            "employees": {"type": "integer"},
        },
        "duplicates": [
            {
                "name": "same_company",
                "match": [{"field": "name", "method": "similar", "threshold": 0.85}, {"field": "city"}],
                "action": "block",
            },
            {"name": "same_phone", "match": [{"field": "phone", "method": "exact"}], "action": "warn"},
        ],
    },
    "contact": {
        "display": "name",
        "fields": {"name": {"type": "string"}, "email": {"type": "email"}},
        "duplicates": [{"name": "same_email", "match": [{"field": "email"}], "action": "block"}],
    },
}


def apply_bundle(engine: CrmEngine, root: Path, entities: dict[str, Any] | None = None) -> CrmEngine:
    """``engine`` with the duplicate-rule bundle (or ``entities``) applied."""
    engine.apply(load_definitions(write_bundle(root, "sales", entities or ENTITIES)))
    return engine
