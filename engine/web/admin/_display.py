"""Values as people read them: choice labels, yes/no, dates without microseconds, amounts
with thousands separators at their field's scale, references as their record's display text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from engine.metadata import MULTILINE_TYPES, EntityDef, FieldDef, TransitionDef
from engine.records import format_amount

from ._i18n import Text, current_language, word
from ._references import RecordChoice


def choice_label(f: FieldDef, value: Any) -> str:
    for choice in f.choices:
        if choice.value == value:
            return choice.label.get(current_language())
    return str(value)


def input_choice_label(entity: EntityDef, transition: TransitionDef, name: str, value: str) -> str:
    """The label of ``value``, a choice of the transition's input ``name``: the label the
    enum field the transition sets from that input gives it (an input ``reason`` written
    into ``lost_reason`` reads "No budget", not ``no_budget``), else the value itself."""
    for action in transition.actions:
        if action.kind != "set":
            continue
        for field_name, rule in action.values.items():
            target = entity.fields.get(field_name)
            if rule == {"var": f"inputs.{name}"} and target is not None:
                return choice_label(target, value)
    return value


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
