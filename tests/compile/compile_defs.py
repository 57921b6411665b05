"""Builders for definition objects in compile tests (the metadata loader is not used)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.metadata._field_types import DEFAULT_MAX_LENGTH, DEFAULT_PRECISION
from engine.metadata._model import (
    NO_DEFAULT,
    Choice,
    Definitions,
    EntityDef,
    FieldDef,
    Label,
)


def field(name: str, type: str = "string", **options: Any) -> FieldDef:
    """A resolved FieldDef, with the defaults the loader fills in (max_length, precision)."""
    if type in DEFAULT_MAX_LENGTH and "max_length" not in options:
        options["max_length"] = DEFAULT_MAX_LENGTH[type]
    if type in DEFAULT_PRECISION:
        precision, scale = DEFAULT_PRECISION[type]
        options.setdefault("precision", precision)
        options.setdefault("scale", scale)
    for bound in ("minimum", "maximum"):
        if options.get(bound) is not None:
            options[bound] = Decimal(str(options[bound]))
    if "choices" in options:
        options["choices"] = tuple(c if isinstance(c, Choice) else Choice(c, Label(c)) for c in options["choices"])
    options.setdefault("default", NO_DEFAULT)
    return FieldDef(name=name, type=type, label=Label(name.replace("_", " ")), **options)


def entity(name: str, *fields: FieldDef, **options: Any) -> EntityDef:
    return EntityDef(name=name, label=Label(name), fields={f.name: f for f in fields}, **options)


def definitions(*entities: EntityDef) -> Definitions:
    return Definitions(name="test", entities={e.name: e for e in entities})
