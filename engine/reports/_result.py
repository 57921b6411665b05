"""What a report gives back: columns (name, label, type) and rows, in a JSON-ready form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from engine.metadata import DECIMAL_TYPES, WHOLE_TYPES, FieldDef, Label
from engine.storage import to_jsonable

ColumnType = Literal[
    "string", "enum", "state", "reference", "integer", "decimal", "money", "number", "ratio",
    "duration", "period", "band", "date", "datetime", "boolean", "json",
]  # fmt: skip

#: Column type of a field's values.
_FIELD_COLUMN_TYPES: Mapping[str, ColumnType] = {
    "string": "string", "text": "string", "email": "string", "phone": "string", "url": "string",
    "enum": "enum", "integer": "integer", "decimal": "decimal", "money": "money",
    "boolean": "boolean", "date": "date", "datetime": "datetime", "reference": "reference",
    "multi_enum": "json", "json": "json", "autonumber": "string",
}  # fmt: skip
#: Digits kept of numbers that are not decimals (averages, ratios, durations).
_DIGITS = 6


@dataclass(frozen=True)
class Column:
    """One column of a result; ``scale`` is the decimal places of a decimal or money one."""

    name: str
    label: Label
    type: ColumnType
    scale: int | None = None
    #: the name of each band, lowest first (a ``band`` column: its values are band indexes)
    bands: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        label = {"en": self.label.en} if self.label.zh is None else {"en": self.label.en, "zh": self.label.zh}
        return {"name": self.name, "label": label, "type": self.type}

    def value(self, raw: Any) -> Any:
        """A value read from the database in this column's form, the same on every database
        (SQLite hands back floats for sums of decimals, PostgreSQL decimals for averages)."""
        if raw is None:
            return None
        if self.type == "band":
            return self.bands[int(raw)]
        if self.type in WHOLE_TYPES:
            return int(raw)
        if self.type in DECIMAL_TYPES:
            number = raw if isinstance(raw, Decimal) else Decimal(str(raw))
            if self.scale is None:
                return number
            return number.quantize(Decimal(1).scaleb(-self.scale))
        if self.type in ("number", "ratio", "duration"):
            return round(float(raw), _DIGITS)
        if self.type == "boolean":
            return bool(raw)
        return raw


def field_column(name: str, field: FieldDef, label: Label | None = None) -> Column:
    """The column of a field's values."""
    return Column(name, label or field.label, _FIELD_COLUMN_TYPES[field.type], field.scale)


def label_json(label: Label) -> dict[str, str]:
    """A label as ``{"en": ..., "zh": ...}`` (``zh`` only when there is one)."""
    return {"en": label.en} if label.zh is None else {"en": label.en, "zh": label.zh}


@dataclass(frozen=True)
class ReportResult:
    """A report's figures.

    :param columns: ``{"name", "label": {"en", "zh"}, "type"}`` per column, in order.
    :param rows: one ``dict`` per row, keyed by column name (Python values: ``Decimal``,
        ``datetime``...; :meth:`to_json` turns them into JSON).
    :param chart: ``{"type": ...}``, the hint for drawing it.
    """

    name: str
    label: dict[str, str]
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    chart: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "columns": self.columns,
            "rows": [{k: to_jsonable(v) for k, v in row.items()} for row in self.rows],
            "chart": self.chart,
        }


def shape(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with exactly the columns' keys, in order, each value in its column's form."""
    return [{c.name: c.value(row.get(c.name)) for c in columns} for row in rows]
