"""What every scorer's configuration shares: schema fragments, labels, grade bands, errors.

Schemas are JSON Schema 2020-12 and strict (``additionalProperties: false`` everywhere), so a
misspelled key is an error with its pointer instead of a silently ignored setting. Defaults
are written into the schemas as ``default`` annotations (for admins and docs) and applied by
the scorers themselves: JSON Schema validation never fills them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import DefinitionError, Problem, UsageError
from engine.metadata import Label
from engine.scoring import ScoringContext

DIALECT = "https://json-schema.org/draft/2020-12/schema"
NAME_PATTERN = "^[a-z][a-z0-9_]*$"

#: A snake_case name of an entity or a field.
NAME: dict[str, Any] = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63}
#: A field of the scored entity, or a path through reference fields (``account.industry``).
FIELD_PATH: dict[str, Any] = {
    "type": "string",
    "pattern": "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$",
    "maxLength": 255,
}
#: A label as in definitions: a string, or English and Chinese.
LABEL: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 200},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["en"],
            "properties": {
                "en": {"type": "string", "minLength": 1, "maxLength": 200},
                "zh": {"type": "string", "minLength": 1, "maxLength": 200},
            },
        },
    ]
}
#: A JSON Logic rule (checked by ``engine.logic`` when the scorer binds its configuration).
RULE: dict[str, Any] = {"type": ["object", "boolean"]}
WEIGHT: dict[str, Any] = {"type": "number", "minimum": 0}
POSITIVE: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0}
#: Text values mapped to points 0-100 (enum choices, usually).
POINTS_MAP: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
}


def strict(properties: Mapping[str, Any], required: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """An object schema that allows exactly ``properties``."""
    out: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": dict(properties),
    }
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def bands_schema(key: str = "grade", default: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Grade bands: ``[{"grade": "A", "min": 80}, ...]``; the first band (highest ``min``
    first) whose ``min`` is at most the value gives the grade."""
    name = {"type": ["string", "integer"], "minLength": 1, "maxLength": 64}
    item = strict({key: name, "min": {"type": "number"}}, [key, "min"])
    out: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": 50, "items": item}
    if default is not None:
        out["default"] = [dict(band) for band in default]
    return out


def top_schema(properties: Mapping[str, Any], required: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """The root schema of a scorer's configuration."""
    return {"$schema": DIALECT, **strict(properties, required, **extra)}


def label_of(value: Any, default_en: str, default_zh: str | None = None) -> Label:
    """A :class:`Label` from a configuration label (string or ``{"en", "zh"}``)."""
    if isinstance(value, str):
        return Label(en=value)
    if isinstance(value, Mapping) and isinstance(value.get("en"), str):
        zh = value.get("zh")
        return Label(en=value["en"], zh=zh if isinstance(zh, str) else None)
    return Label(en=default_en, zh=default_zh)


@dataclass(frozen=True)
class Band:
    grade: str
    min: float


def bands(
    config: Sequence[Mapping[str, Any]] | None,
    default: Sequence[Mapping[str, Any]],
    key: str = "grade",
) -> tuple[Band, ...]:
    """Bands from configuration, highest ``min`` first (the order written does not matter)."""
    items = config if config is not None else default
    return tuple(sorted((Band(str(b[key]), float(b["min"])) for b in items), key=lambda b: -b.min))


def grade_for(value: float | None, table: Sequence[Band]) -> str | None:
    """The grade of the first band whose ``min`` is at most ``value``; None below them all."""
    if value is None:
        return None
    for band in table:
        if value >= band.min:
            return band.grade
    return None


def config_error(code: str, message: str, pointer: str) -> DefinitionError:
    """A configuration problem found when the scorer binds it to the definitions.

    The pointer is inside the scoring document (``/config/rules/0/when``).
    """
    return DefinitionError([Problem(code, message, pointer="/config" + pointer)])


def not_trained(scoring: str) -> UsageError:
    """Scoring with a learning scorer whose model was never trained."""
    message = f'scoring "{scoring}" has no trained model; train it first (crm score train {scoring})'
    return UsageError(message, [Problem("not_trained", message)])


def prepared(context: ScoringContext, prepare: Callable[[ScoringContext], Any]) -> Any:
    """The prepared state of this run, or a fresh one when the caller did not prepare."""
    return context.prepared if context.prepared is not None else prepare(context)
