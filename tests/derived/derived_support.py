"""A small order book with derived fields, written as a bundle for the derived-field tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import write_bundle

CUSTOMER: dict[str, Any] = {
    "name": {"type": "string", "required": True},
    "tier": {"type": "enum", "choices": ["standard", "gold"]},
    "region": {"type": "string"},
    "order_count": {
        "type": "integer",
        "rollup": {"entity": "sales_order", "reference": "customer", "function": "count"},
    },
    "lifetime_value": {
        "type": "money",
        "rollup": {
            "entity": "sales_order",
            "reference": "customer",
            "function": "sum",
            "field": "total",
            "where": {"==": [{"var": "record.status"}, "confirmed"]},
        },
    },
}
SALES_ORDER: dict[str, Any] = {
    "number": {"type": "string", "required": True},
    "customer": {"type": "reference", "target": "customer"},
    "status": {"type": "enum", "choices": ["draft", "confirmed"], "default": "draft"},
    "total": {
        "type": "money",
        "rollup": {"entity": "order_line", "reference": "sales_order", "function": "sum", "field": "line_total"},
    },
    "largest_line": {
        "type": "money",
        "rollup": {"entity": "order_line", "reference": "sales_order", "function": "max", "field": "line_total"},
    },
    "discount_rate": {
        "type": "decimal",
        "precision": 4,
        "scale": 2,
        "compute": {"if": [{"==": [{"var": "record.customer.tier"}, "gold"]}, 0.05, 0]},
    },
    "net": {"type": "money", "compute": {"*": [{"var": "record.total"}, {"-": [1, {"var": "record.discount_rate"}]}]}},
}
ORDER_LINE: dict[str, Any] = {
    "sales_order": {"type": "reference", "target": "sales_order", "on_delete": "cascade"},
    "product": {"type": "string"},
    "quantity": {"type": "integer", "minimum": 0},
    "unit_price": {"type": "money"},
    "line_total": {"type": "money", "compute": {"*": [{"var": "record.quantity"}, {"var": "record.unit_price"}]}},
    "region": {"type": "string", "compute": {"var": "record.sales_order.customer.region"}},
}


def order_book(root: Path, **changes: dict[str, Any]) -> Path:
    """The bundle, with ``changes`` (entity → fields) merged over its fields."""
    entities = {"customer": CUSTOMER, "sales_order": SALES_ORDER, "order_line": ORDER_LINE}
    merged = {name: {"fields": {**fields, **changes.get(name, {})}} for name, fields in entities.items()}
    return write_bundle(root, "order_book", merged)
