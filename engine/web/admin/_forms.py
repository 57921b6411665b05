"""Record forms generated from field definitions, and the way back from a form to record data.

The forms only carry text: every value is checked by the record service, exactly as the
API's are (its problems come back onto their fields). What happens here is transport: an
empty box is "no value", digits in a whole-number box are a number, a picked reference is
its id. Anything that does not read as its type is passed on as typed, so the service
names the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_admin.form import SecureForm
from wtforms import Field, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired

from engine.errors import Problem
from engine.metadata import DECIMAL_TYPES, MULTILINE_TYPES, TEMPORAL_TYPES, EntityDef, FieldDef

from ._i18n import Text, word
from ._references import RecordChoice, ReferenceField, ReferenceLoader

_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,19}\s*")
#: Types shown as one line of text (with the browser's keyboard hint, never its validation:
#: the service says what is wrong, in the same words as the API).
_INPUT_MODES = {
    "integer": "numeric",
    "decimal": "decimal",
    "money": "decimal",
    "email": "email",
    "phone": "tel",
    "url": "url",
}


class MarkedRequired(InputRequired):  # type: ignore[misc]
    """Marks a field required (the form shows its star) without checking it: the record
    service refuses an empty required value, in the API's words, and puts it on the field."""

    field_flags: dict[str, Any] = {}  # noqa: RUF012 - no browser-side "required" either

    def __call__(self, form: Any, field: Any) -> None:
        return None


def form_fields(definition: EntityDef, skipped: Iterable[str]) -> list[FieldDef]:
    """The fields a person edits: all but those a workflow drives and read-only ones."""
    hidden = set(skipped)
    return [f for f in definition.fields.values() if f.name not in hidden and not (f.read_only or f.derived)]


def build_form(
    definition: EntityDef, fields: list[FieldDef], loaders: Mapping[str, ReferenceLoader]
) -> type[SecureForm]:
    """A form class for ``definition`` (CSRF-protected with the session)."""
    attributes: dict[str, Any] = {"version": HiddenField()}
    for f in fields:
        attributes[f.name] = _field(f, loaders.get(f.name))
    return type(f"{definition.name}_form", (SecureForm,), attributes)


def _field(f: FieldDef, loader: ReferenceLoader | None) -> Field:
    label = Text.of(f.label)
    description = Text.of(f.description) if f.description else None
    extra: dict[str, Any] = {
        "label": label,
        "description": description,
        "validators": [MarkedRequired()] if f.required else [],
    }
    if f.type == "reference" and loader is not None:
        return ReferenceField(loader, allow_blank=not f.required, **extra)
    if f.type == "enum":
        choices = _choices([("", word("choose")), *((c.value, Text.of(c.label)) for c in f.choices)])
        return SelectField(choices=choices, validate_choice=False, **extra)
    if f.type == "multi_enum":
        return SelectMultipleField(
            choices=_choices([(c.value, Text.of(c.label)) for c in f.choices]), validate_choice=False, **extra
        )
    if f.type == "boolean":
        return SelectField(
            choices=_choices([("", "—"), ("true", word("yes")), ("false", word("no"))]),
            validate_choice=False,
            **extra,
        )
    if f.type in MULTILINE_TYPES:
        return TextAreaField(render_kw={"rows": 4 if f.type == "text" else 6}, **extra)
    render: dict[str, Any] = {}
    if f.type == "date":
        render["type"] = "date"
    elif f.type == "datetime":
        render["placeholder"] = "2026-01-31T09:30:00+00:00"
    elif f.type in _INPUT_MODES:
        render["inputmode"] = _INPUT_MODES[f.type]
    return StringField(render_kw=render, **extra)


def _choices(pairs: list[tuple[str, str]]) -> list[Any]:
    """Choices as the installed wtforms wants them (3.3 deprecates plain pairs)."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # wtforms before 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


# -- record → form --------------------------------------------------------------------------------
def form_values(
    fields: list[FieldDef], record: Mapping[str, Any], references: Mapping[str, RecordChoice]
) -> dict[str, Any]:
    """What the edit form shows for ``record`` (text, picked choices, the referenced records)."""
    out: dict[str, Any] = {"version": str(record.get("version") or "")}
    for f in fields:
        value = record.get(f.name)
        if f.type == "reference":
            out[f.name] = references.get(f.name) if value is not None else None
        elif f.type == "multi_enum":
            out[f.name] = list(value or [])
        else:
            out[f.name] = text_of(f, value)
    return out


def text_of(f: FieldDef, value: Any) -> str:
    """A stored value as the form's text."""
    if value is None:
        return ""
    if f.type == "boolean":
        return "true" if value else "false"
    if f.type == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    return str(value)


# -- form → record ---------------------------------------------------------------------------------
def record_data(fields: list[FieldDef], form: SecureForm, *, creating: bool) -> tuple[dict[str, Any], list[Problem]]:
    """The record data a submitted form stands for, and the values that cannot be read at all
    (JSON that does not parse). On create, empty boxes are left out so defaults apply."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in fields:
        field = form[f.name]
        if f.type == "reference":
            raw = field.raw_id if isinstance(field, ReferenceField) else ""
            value: Any = None if not raw else (int(raw) if _INTEGER.fullmatch(raw) else raw)
        elif f.type == "multi_enum":
            value = list(field.data or [])
        else:
            value = _typed(f, field.data, problems)
        if creating and (value is None or value == []):
            continue
        data[f.name] = value
    return data, problems


def typed_value(f: FieldDef, text: str, problems: list[Problem]) -> Any:
    """A value typed into a box (bulk and inline edits), as a form's field would read it."""
    return _typed(f, text, problems)


def _typed(f: FieldDef, raw: Any, problems: list[Problem]) -> Any:
    text = "" if raw is None else str(raw)
    if f.type not in MULTILINE_TYPES and not text.strip():
        return None
    if f.type == "integer":
        return int(text) if _INTEGER.fullmatch(text) else text
    if f.type == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if f.type == "json":
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            problems.append(Problem(code="format", field=f.name, message=f"{f.name}: not valid JSON ({exc})"))
            return None
    if f.type == "text":
        return text if text.strip() else None
    return text.strip() if f.type in DECIMAL_TYPES | TEMPORAL_TYPES else text


def expected_version(form: SecureForm) -> int | None:
    """The version the edit form was filled from (a stale one is the service's conflict)."""
    raw = str(form["version"].data or "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def show_problems(
    form: SecureForm, problems: Iterable[Problem], describe: Callable[[Problem], str] | None = None
) -> list[Problem]:
    """Put each problem on its field (in the words ``describe`` gives it, else the service's);
    the ones no field of the form shows are returned."""
    rest = []
    for p in problems:
        if p.field and p.field in form and p.field != "version":
            field = form[p.field]
            field.errors = [*list(field.errors or ()), describe(p) if describe is not None else p.message]
        else:
            rest.append(p)
    return rest
