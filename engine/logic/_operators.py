"""The allow-list: every operator a rule may use, and the function that compiles it.

A rule can call nothing that is not in this table. Adding an operator means adding a
builder here, a row to docs/conditions.md and cases to tests/logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import _ops_compare, _ops_iter, _ops_math
from ._nodes import Node, Site
from ._ops_data import (
    build_exists,
    build_missing,
    build_missing_some,
    build_preserve,
    build_val,
    build_var,
)
from ._ops_logic import (
    build_and,
    build_coalesce,
    build_if,
    build_log,
    build_not,
    build_or,
    build_throw,
    build_truthy,
    build_try,
)
from ._ops_text import build_cat, build_in, build_merge, build_substr

if TYPE_CHECKING:
    from ._compiler import Compiler

Builder = Callable[["Compiler", Any, Site], Node]

OPERATORS: Mapping[str, Builder] = MappingProxyType(
    {
        # data
        "var": build_var,
        "val": build_val,
        "exists": build_exists,
        "missing": build_missing,
        "missing_some": build_missing_some,
        "preserve": build_preserve,
        # logic and control
        "if": build_if,
        "?:": build_if,
        "and": build_and,
        "or": build_or,
        "!": build_not,
        "!!": build_truthy,
        "??": build_coalesce,
        "throw": build_throw,
        "try": build_try,
        "log": build_log,
        # comparison, arithmetic, iteration
        **_ops_compare.BUILDERS,
        **_ops_math.BUILDERS,
        **_ops_iter.BUILDERS,
        # strings and arrays
        "cat": build_cat,
        "substr": build_substr,
        "in": build_in,
        "merge": build_merge,
    }
)

#: The names of every operator a rule may use.
OPERATOR_NAMES: frozenset[str] = frozenset(OPERATORS)
