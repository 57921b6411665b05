"""JSON Schemas (OpenAPI 3.1 dialect) of an entity's records, from its field definitions.

Three per entity: the record as the API returns it (``account``), the body that creates
one (``account.create``: required fields required, read-only ones absent) and the body of
a partial update (``account.update``: nothing required, ``version`` allowed). Decimals
are strings in responses (exact) and strings or numbers in requests, as the engine takes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from engine.metadata import DECIMAL_TYPES, NO_DEFAULT, EntityDef, FieldDef
from engine.storage import to_jsonable

Mode = Literal["record", "input"]

_FORMATS = {"email": "email", "url": "uri", "date": "date", "datetime": "date-time"}
_INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}

SYSTEM_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "format": "int64", "minimum": 1, "readOnly": True},
    "version": {
        "type": "integer",
        "minimum": 1,
        "readOnly": True,
        "description": "Starts at 1, +1 on every change; send it back (If-Match) to update.",
    },
    "owner": {"type": ["string", "null"], "maxLength": 128, "description": "The user who owns the record."},
    "created_by": {"type": ["string", "null"], "maxLength": 128, "readOnly": True},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
}


def _number(f: FieldDef, mode: Mode) -> dict[str, Any]:
    if f.type == "integer":
        out: dict[str, Any] = {"type": "integer", "format": "int64"}
    elif mode == "record":
        # exact decimals travel as strings; their limits are on the request schemas, where numbers go
        return {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    else:
        out = {"type": ["string", "number"], "format": "decimal"}
    for key, value in (("minimum", f.minimum), ("maximum", f.maximum)):
        if value is not None:
            out[key] = int(value) if value == value.to_integral_value() else float(value)
    if f.type == "integer":
        out.setdefault("minimum", _INT64["minimum"])
        out.setdefault("maximum", _INT64["maximum"])
    return out


def _text(f: FieldDef, mode: Mode) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if f.type in _FORMATS:
        out["format"] = _FORMATS[f.type]
    if f.min_length is not None:
        out["minLength"] = f.min_length
    if f.max_length is not None:
        out["maxLength"] = f.max_length
    if f.pattern is not None:
        out["pattern"] = f.pattern
    return out


def _autonumber(f: FieldDef, mode: Mode) -> dict[str, Any]:
    return {
        "type": "string",
        "maxLength": f.max_length,
        "description": f"Numbered by the engine when the record is created, as {f.number_pattern}.",
        "x-number-pattern": f.number_pattern,
    }


def _temporal(f: FieldDef, mode: Mode) -> dict[str, Any]:
    return {"type": "string", "format": _FORMATS[f.type]}


def _enum(f: FieldDef, mode: Mode) -> dict[str, Any]:
    return {"type": "string", "enum": list(f.choice_values)}


def _multi_enum(f: FieldDef, mode: Mode) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "enum": list(f.choice_values)}, "uniqueItems": True}


def _reference(f: FieldDef, mode: Mode) -> dict[str, Any]:
    return {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "description": f"The id of the {f.target} record it refers to.",
    }


#: The schema of each field type's values.
SCHEMAS: Mapping[str, Callable[[FieldDef, Mode], dict[str, Any]]] = {
    "string": _text,
    "text": _text,
    "email": _text,
    "phone": _text,
    "url": _text,
    "integer": _number,
    "decimal": _number,
    "money": _number,
    "boolean": lambda f, mode: {"type": "boolean"},
    "date": _temporal,
    "datetime": _temporal,
    "enum": _enum,
    "multi_enum": _multi_enum,
    "reference": _reference,
    "json": lambda f, mode: {},
    "autonumber": _autonumber,
}


def _base(f: FieldDef, mode: Mode) -> dict[str, Any]:
    try:
        make = SCHEMAS[f.type]
    except KeyError:
        raise ValueError(f"no OpenAPI schema for field type {f.type!r}") from None  # a new type must be added
    return make(f, mode)


def field_schema(f: FieldDef, mode: Mode, *, nullable: bool) -> dict[str, Any]:
    """The schema of one field's value."""
    out = _base(f, mode)
    if nullable and out:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = [*kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    out["title"] = f.label.en
    description = [f.description.en] if f.description is not None else []
    if "description" in out:
        description.append(out.pop("description"))
    if f.label.zh:
        description.append(f"中文：{f.label.zh}")
    if description:
        out["description"] = " ".join(description)
    if (f.read_only or f.derived) and mode == "record":
        out["readOnly"] = True
    # conditional rules, in JSON Logic over record (after the change) and before
    if f.required_when is not None:
        out["x-required-when"] = f.required_when
    if f.read_only_when is not None:
        out["x-read-only-when"] = f.read_only_when
    if f.default is not NO_DEFAULT:
        out["default"] = _default(f, mode)
    if f.type == "reference":
        out["x-target"] = f.target
    if f.choices:
        out["x-choices"] = [{"value": c.value, "label": c.label.to_json()} for c in f.choices]
    return out


def _default(f: FieldDef, mode: Mode) -> Any:
    """The default as the schema's values look: decimals in records are strings at the scale."""
    if mode == "record" and f.type in DECIMAL_TYPES and f.default is not None:
        exact = Decimal(str(f.default))
        return format(exact.quantize(Decimal(1).scaleb(-f.scale)) if f.scale is not None else exact, "f")
    return to_jsonable(f.default)


def record_schema(entity: EntityDef) -> dict[str, Any]:
    """A record as responses carry it: every field (null when empty), then the system fields."""
    properties: dict[str, Any] = {"id": SYSTEM_PROPERTIES["id"]}
    for f in entity.fields.values():
        properties[f.name] = field_schema(f, "record", nullable=not f.required)
    for name in ("version", "owner", "created_by", "created_at", "updated_at"):
        properties[name] = SYSTEM_PROPERTIES[name]
    if entity.duplicates:
        properties["_duplicates"] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/DuplicateCandidate"},
            "description": "After a create or update only, when duplicate rules matched: the likely duplicates.",
        }
    # no "title": client generators name the record's class after it, and a class named after
    # the label ("Terminal" for account) differs from the entity's other classes and can clash
    # with another entity's name; the label travels in the description and x-label instead
    return {
        "type": "object",
        "description": entity.description.en if entity.description else f"{entity.label.en}: one {entity.name} record.",
        "properties": properties,
        "required": ["id", "version", *[f.name for f in entity.fields.values() if f.required]],
        "x-entity": entity.name,
        "x-label": entity.label.to_json(),
    }


def input_schema(entity: EntityDef, *, update: bool, driven: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The body that creates (``update=False``) or partially updates a record.

    ``driven`` are fields workflows own: they are set by transitions, never written here.
    """
    properties: dict[str, Any] = {}
    required = []
    for f in entity.fields.values():
        if f.read_only or f.derived or f.name in driven:
            continue
        properties[f.name] = field_schema(f, "input", nullable=update or not f.required)
        if not update and f.required and not f.has_default:
            required.append(f.name)
    properties["owner"] = SYSTEM_PROPERTIES["owner"]
    if entity.duplicates and "allow_duplicate" not in entity.fields:
        properties["allow_duplicate"] = {
            "type": "boolean",
            "description": "Save even though a block duplicate rule finds likely duplicates (audited).",
        }
    if update:
        properties["version"] = {
            "type": "integer",
            "minimum": 1,
            "description": "The version you read (or send If-Match); a newer one on the server is a 409.",
        }
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out
