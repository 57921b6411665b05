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


#: A loyalty book for rollup time windows: each member's spend over the last 365 days.
HOUSEHOLD: dict[str, Any] = {
    "name": {"type": "string", "required": True},
    "total_spend": {
        "type": "money",
        "rollup": {"entity": "member", "reference": "household", "function": "sum", "field": "annual_spend"},
    },
}
MEMBER: dict[str, Any] = {
    "name": {"type": "string", "required": True},
    "household": {"type": "reference", "target": "household"},
    "annual_spend": {
        "type": "money",
        "rollup": {
            "entity": "purchase",
            "reference": "member",
            "function": "sum",
            "field": "amount",
            "within": {"field": "purchased_at", "period": "P365D"},
        },
    },
    "big_purchases_30d": {
        "type": "integer",
        "rollup": {
            "entity": "purchase",
            "reference": "member",
            "function": "count",
            "where": {">=": [{"var": "record.amount"}, 100]},
            "within": {"field": "purchased_at", "period": "P30D"},
        },
    },
    "paid_today": {
        "type": "integer",
        "rollup": {
            "entity": "purchase",
            "reference": "member",
            "function": "count",
            "within": {"field": "paid_at", "period": "P1D"},
        },
    },
    "status": {
        "type": "enum",
        "choices": ["standard", "gold"],
        "compute": {"if": [{">=": [{"var": "record.annual_spend"}, 1000]}, "gold", "standard"]},
    },
}
PURCHASE: dict[str, Any] = {
    "member": {"type": "reference", "target": "member", "on_delete": "cascade"},
    "amount": {"type": "money"},
    "purchased_at": {"type": "date"},
    "paid_at": {"type": "datetime"},
    "member_status": {"type": "string", "compute": {"var": "record.member.status"}},
}


def loyalty_book(root: Path, **changes: dict[str, Any]) -> Path:
    """The loyalty bundle, with ``changes`` (entity → fields) merged over its fields."""
    entities = {"household": HOUSEHOLD, "member": MEMBER, "purchase": PURCHASE}
    merged = {name: {"fields": {**fields, **changes.get(name, {})}} for name, fields in entities.items()}
    return write_bundle(root, "loyalty", merged)
