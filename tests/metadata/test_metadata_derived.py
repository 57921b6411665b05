"""Bad computes and rollups are refused when definitions load, each with its file, pointer and code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.metadata import load_definitions
from tests.derived.derived_support import order_book


def problems_of(tmp_path: Path, **changes: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(order_book(tmp_path, **changes))
    return [(p.code, p.file and Path(p.file).name, p.pointer) for p in refused.value.problems]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "compute": {"*": [{"var": "record.quantty"}, 2]}}}},
            ("invalid_path", "order_line.json", "/fields/line_total/compute"),
            id="unknown-field",
        ),
        pytest.param(
            {"order_line": {"region": {"type": "string", "compute": {"var": "record.product.name"}}}},
            ("invalid_path", "order_line.json", "/fields/region/compute"),
            id="path-through-a-non-reference",
        ),
        pytest.param(
            {"order_line": {"region": {"type": "string", "compute": {"var": "record.sales_order.customer.nme"}}}},
            ("invalid_path", "order_line.json", "/fields/region/compute"),
            id="unknown-field-at-the-end-of-a-path",
        ),
        pytest.param(
            {"sales_order": {"customer": {"type": "reference", "target": "customer", "compute": {"var": "record.x"}}}},
            ("inapplicable_option", "sales_order.json", "/fields/customer/compute"),
            id="compute-on-a-reference",
        ),
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "compute": {"var": "now"}}}},
            ("now_not_allowed", "order_line.json", "/fields/line_total/compute"),
            id="now-without-refresh",
        ),
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "compute": {"frobnicate": [1]}}}},
            ("unknown_operator", "order_line.json", "/fields/line_total/compute"),
            id="not-a-rule",
        ),
        pytest.param(
            {"sales_order": {"total": {"type": "money", "rollup": {"entity": "order_lne", "reference": "sales_order",
                                                                    "function": "sum", "field": "line_total"}}}},
            ("unknown_target", "sales_order.json", "/fields/total/rollup/entity"),
            id="rollup-over-an-unknown-entity",
        ),
        pytest.param(
            {"customer": {"order_count": {"type": "integer", "rollup": {"entity": "order_line",
                                                                         "reference": "sales_order",
                                                                         "function": "count"}}}},
            ("rollup_mismatch", "customer.json", "/fields/order_count/rollup/reference"),
            id="reference-that-does-not-point-back",
        ),
        pytest.param(
            {"sales_order": {"total": {"type": "money", "rollup": {"entity": "order_line", "reference": "sales_order",
                                                                    "function": "sum", "field": "product"}}}},
            ("rollup_mismatch", "sales_order.json", "/fields/total/rollup/field"),
            id="sum-of-text",
        ),
        pytest.param(
            {"sales_order": {"total": {"type": "money", "rollup": {"entity": "order_line", "reference": "sales_order",
                                                                    "function": "sum"}}}},
            ("rollup_mismatch", "sales_order.json", "/fields/total/rollup"),
            id="sum-without-a-field",
        ),
        pytest.param(
            {"sales_order": {"total": {"type": "money", "rollup": {"entity": "order_line", "reference": "sales_order",
                                                                    "function": "count",
                                                                    "where": {"<": [{"var": "now"}, 1]}}}}},
            ("now_not_allowed", "sales_order.json", "/fields/total/rollup/where"),
            id="now-in-where",
        ),
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "required": True,
                                           "compute": {"*": [{"var": "record.quantity"}, 2]}}}},
            ("derived_conflict", "order_line.json", "/fields/line_total/required"),
            id="required-compute",
        ),
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "refresh": "daily"}}},
            ("derived_conflict", "order_line.json", "/fields/line_total/refresh"),
            id="refresh-without-compute",
        ),
        pytest.param(
            {"order_line": {"line_total": {"type": "money", "rollup": {"entity": "order_line",
                                                                        "reference": "sales_order",
                                                                        "function": "count"}}}},
            ("rollup_mismatch", "order_line.json", "/fields/line_total/rollup/reference"),
            id="rollup-over-itself",
        ),
    ],
)  # fmt: skip
def test_each_bad_derived_field_is_refused_with_its_pointer(
    tmp_path: Path, changes: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert expected in problems_of(tmp_path, **changes)


def test_a_loop_across_entities_names_every_field_of_it(tmp_path: Path) -> None:
    share = {"type": "decimal", "compute": {"/": [{"var": "record.line_total"}, {"var": "record.sales_order.total"}]}}
    looped = {"type": "money", "compute": {"*": [{"var": "record.share"}, 2]}}
    found = problems_of(tmp_path, order_line={"share": share, "line_total": looped})
    cycles = sorted(p for p in found if p[0] == "dependency_cycle")
    assert cycles == [
        ("dependency_cycle", "order_line.json", "/fields/line_total/compute"),
        ("dependency_cycle", "order_line.json", "/fields/share/compute"),
        ("dependency_cycle", "sales_order.json", "/fields/total/rollup"),
    ]


def test_a_compute_reading_now_with_a_daily_refresh_loads(tmp_path: Path) -> None:
    age = {"type": "integer", "refresh": "daily", "compute": {"if": [{"var": "now"}, 1, 0]}}
    definitions = load_definitions(order_book(tmp_path, sales_order={"age": age}))
    assert definitions.entities["sales_order"].fields["age"].refresh == "daily"
