"""Rows as the CLI's text tables show them: a reference as its record's display text and id
(``中国电信 (#9)``), an amount grouped at its field's scale (``1,250,000.00``). The texts come
from ``engine.records`` (as the admin UI's do), one query per referenced entity and page.
``--json`` output never goes through here: it keeps raw ids and values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.metadata import EntityDef, FieldDef
from engine.records import display_texts, format_value, reference_text, reference_texts

from ._context import CliContext
from ._output import TABLE_CELL_WIDTH, display_width


def shown_records(
    context: CliContext, definition: EntityDef, rows: Sequence[Mapping[str, Any]], *, width: int | None = None
) -> list[dict[str, Any]]:
    """``rows`` (records of ``definition``) with their references and amounts made readable;
    with a ``width``, a reference's display text is shortened so that its id still shows."""
    texts = reference_texts(context.engine.records, definition, rows, context.user, context.language)
    out = []
    for row in rows:
        shown = dict(row)
        for name, f in definition.fields.items():
            value = shown.get(name)
            if value is None:
                continue
            if f.type == "reference":
                shown[name] = _reference(value, texts.get((name, value)), width)
            else:
                shown[name] = format_value(f, value)
        out.append(shown)
    return out


def shown_audit(context: CliContext, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows with a ``record`` column (the changed record's display text and id) and their
    old and new values made readable as the field's values are in record tables."""
    model = context.engine.model.definitions
    fields = [_field(model.entities.get(r["entity"]), r.get("field")) for r in rows]
    wanted: dict[str, set[int]] = {}
    for row, f in zip(rows, fields, strict=True):
        if row["entity"] in model.entities and row.get("record_id"):
            wanted.setdefault(row["entity"], set()).add(int(row["record_id"]))
        if f is not None and f.target is not None and f.type == "reference" and f.target in model.entities:
            wanted.setdefault(f.target, set()).update(_ids(row.get("old_value"), row.get("new_value")))
    texts = _texts(context, wanted)
    out = []
    for row, f in zip(rows, fields, strict=True):
        shown = dict(row)
        record_id = int(row.get("record_id") or 0)
        text = texts.get(row["entity"], {}).get(record_id)
        shown["record"] = _reference(record_id, text, TABLE_CELL_WIDTH) if record_id else ""
        for key in ("old_value", "new_value"):
            value = row.get(key)
            if value is None or f is None:
                continue
            if f.type == "reference" and isinstance(value, int) and f.target is not None:
                shown[key] = _reference(value, texts.get(f.target, {}).get(value), TABLE_CELL_WIDTH)
            else:
                shown[key] = format_value(f, value)
        out.append(shown)
    return out


def _reference(record_id: Any, text: str | None, width: int | None) -> str:
    """:func:`reference_text`, its display text shortened with "…" to fit ``width`` columns."""
    shown = reference_text(record_id, text)
    if width is None or text is None or display_width(shown) <= width:
        return shown
    room = width - display_width(shown) + display_width(text) - 1
    while text and display_width(text) > room:
        text = text[:-1]
    return reference_text(record_id, text.rstrip() + "…")


def _field(entity: EntityDef | None, name: str | None) -> FieldDef | None:
    return None if entity is None or name is None else entity.fields.get(name)


def _ids(*values: Any) -> Iterable[int]:
    return (v for v in values if isinstance(v, int) and not isinstance(v, bool))


def _texts(context: CliContext, wanted: Mapping[str, set[int]]) -> dict[str, dict[int, str]]:
    """entity → id → display text, one query per entity (as the acting user reads them)."""
    records = context.engine.records
    return {
        entity: display_texts(records, entity, ids, context.user, context.language) for entity, ids in wanted.items()
    }
