"""Safety limits of the condition language: what a rule may be, and what one evaluation may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds checked when a rule is compiled (the first three) and while it runs.

    :param max_depth: deepest JSON nesting of a rule (operators, argument arrays, literals).
    :param max_nodes: most JSON values in one rule.
    :param max_rule_chars: most characters of all the strings in one rule together.
    :param max_steps: operation budget of one evaluation: every item an iterator
        (``map``, ``filter``, ``reduce``, ``all``, ``some``, ``none``) visits costs one step,
        text built by ``cat``/``substr`` one per 16 characters, arrays built by ``merge``
        one per 4 items, so the budget also bounds the memory one evaluation takes. Rules
        with none of these operators are not metered: without a loop or a builder, their
        work is bounded by the size of the rule and of the data.
    :param max_string_length: longest string ``cat`` may build.
    :param max_array_length: longest array ``merge`` may build.
    """

    max_depth: int = 64
    max_nodes: int = 10_000
    max_rule_chars: int = 1_000_000
    max_steps: int = 1_000_000
    max_string_length: int = 1_000_000
    max_array_length: int = 100_000


#: The limits :func:`~engine.logic.compile_rule` applies unless told otherwise.
DEFAULT_LIMITS = Limits()
