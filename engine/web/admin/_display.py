"""Values as people read them: choice labels, yes/no, dates without microseconds, amounts
with thousands separators at their field's scale, references as their record's display text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from engine.metadata import MULTILINE_TYPES, FieldDef
from engine.records import format_amount

from ._i18n import Text, current_language, word
from ._references import RecordChoice


def choice_label(f: FieldDef, value: Any) -> str:
    for choice in f.choices:
        if choice.value == value:
            return choice.label.get(current_language())
    return str(value)


def plain(f: FieldDef | None, value: Any) -> str:
    """A value as text (no markup)."""
    if value is None or value == "":
        return ""
    if f is not None and f.type == "enum":
        return choice_label(f, value)
    if f is not None and f.type == "multi_enum":
        return ", ".join(choice_label(f, v) for v in value or ())
    if isinstance(value, bool):
        return str(word("yes") if value else word("no"))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value, f.scale if f is not None else None)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def shown(f: FieldDef | None, value: Any, reference: RecordChoice | None = None, link: str | None = None) -> Markup:
    """A value as HTML: a reference links to its record, an enum is a badge."""
    if value is None or value == "":
        return Markup('<span class="text-muted">—</span>')
    if reference is not None:
        text = escape(reference.text)
        return Markup(f'<a href="{escape(link)}">{text}</a>') if link else Markup(text)
    if f is not None and f.type == "enum":
        return Markup('<span class="badge badge-light crm-choice">{}</span>').format(choice_label(f, value))
    if f is not None and f.type in MULTILINE_TYPES:
        return Markup('<span class="crm-long">{}</span>').format(plain(f, value))
    return escape(plain(f, value))


def label_of(labels: Mapping[str, Text], name: str) -> Text:
    return labels.get(name) or Text(name.replace("_", " ").capitalize())
