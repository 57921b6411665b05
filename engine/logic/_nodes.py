"""What the compiler and the operator builders share: compiled nodes, sites, frames, budgets.

A compiled node is a closure ``fn(data, frame) -> value``. ``data`` is the current context
(the evaluation data, or the item an iterator is visiting). ``frame`` is None for rules
that are not metered (no iterator, nothing built); otherwise it is ``(budget, scopes)``:
``budget`` is the shared ``[steps_left, max_steps]`` list of this evaluation and
``scopes`` the chain of enclosing contexts that ``val`` can climb, ``(meta, context,
outer_scopes)`` per iterator or ``try`` fallback (``meta`` is the item index, or None for
a ``try``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import LimitExceededError

Fn = Callable[[Any, Any], Any]
Frame = tuple[list[int], Any] | None

_IMMUTABLE = (type(None), bool, int, float, str, Decimal)


class Node:
    """A compiled rule fragment; ``const`` when its value is known at compile time."""

    __slots__ = ("const", "fn", "value")

    def __init__(self, fn: Fn, const: bool = False, value: Any = None) -> None:
        self.fn = fn
        self.const = const
        self.value = value


@dataclass(frozen=True, slots=True)
class Site:
    """Where an operation is in its rule.

    :param op: the operator name.
    :param pointer: RFC 6901 pointer of the operation object (``/and/1``).
    :param args_pointer: pointer of its arguments (``/and/1/==``).
    """

    op: str
    pointer: str
    args_pointer: str


def constant(value: Any) -> Node:
    """A node of a literal value; arrays and objects are copied on every evaluation so a
    caller that changes a result cannot change the rule."""
    if isinstance(value, _IMMUTABLE):
        return Node(lambda data, frame: value, True, value)
    return Node(lambda data, frame: copy_json(value), True, value)


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (rule literals are at most ``max_depth`` deep)."""
    if isinstance(value, (list, tuple)):
        return [copy_json(item) for item in value]
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    return value


def child(pointer: str, key: str | int) -> str:
    """The RFC 6901 pointer of ``key`` below ``pointer``."""
    text = str(key)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{text}"


def identity(data: Any, frame: Any) -> Any:
    return data


def charge(frame: Frame, steps: int, at: str) -> None:
    """Spend ``steps`` of the evaluation's budget (nothing when the rule is not metered)."""
    if frame is None:
        return
    budget = frame[0]
    budget[0] -= steps
    if budget[0] < 0:
        raise out_of_steps(budget, at)


def out_of_steps(budget: list[int], at: str) -> LimitExceededError:
    return LimitExceededError(
        "max_steps",
        f"the rule needs more than {budget[1]} steps on this data; "
        "iterate over smaller arrays or raise Limits.max_steps",
        at,
    )


def ascend(data: Any, frame: Frame, levels: int) -> Any:
    """The context ``levels`` scopes up: odd levels are an iterator's ``{"index": i}`` (null
    for a ``try``), even levels the context the iterator (or ``try``) ran in."""
    if levels <= 0:
        return data
    scopes = frame[1] if frame is not None else None
    while scopes is not None:
        if levels == 1:
            meta = scopes[0]
            return None if meta is None else {"index": meta}
        if levels == 2:
            return scopes[1]
        levels -= 2
        scopes = scopes[2]
    return None
