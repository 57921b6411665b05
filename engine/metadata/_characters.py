"""Characters no definition text may hold, wherever it is in a document.

A JSON escape can spell two characters that cannot be stored or printed: a lone UTF-16
surrogate (``"\\ud800"``), which has no UTF-8 form at all, and NUL (``"\\u0000"``), which
PostgreSQL text columns refuse. Both are refused once, as the document is read, so that
no later stage (stored form, labels in the admin, columns on PostgreSQL) meets them.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SourceRef
from engine.metadata._problems import child, problem

_INVALID = re.compile("[\x00\ud800-\udfff]")


def _what(character: str) -> str:
    if character == "\x00":
        return "a NUL character (\\u0000), which PostgreSQL cannot store in text"
    return f"a lone surrogate (\\u{ord(character):04x}), which is not a character of any text"


def _problem(text: str, where: SourceRef, *, key: bool) -> Problem | None:
    found = _INVALID.search(text)
    if found is None:
        return None
    kind = "the key" if key else "the text"
    shown = _INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text[:60])
    message = (
        f"{kind} '{shown}' holds, at position {found.start()}, {_what(found.group())}; "
        "remove it or write the intended character."
    )
    return problem("invalid_character", message, where)


def invalid_character_problems(value: Any, where: SourceRef) -> list[Problem]:
    """An ``invalid_character`` problem for each string (key or value) in ``value`` that
    holds a NUL or a lone surrogate. A bad key is reported at its object (its own pointer
    would hold the character), and what is below it is not searched."""
    problems: list[Problem] = []
    pending: list[tuple[Any, SourceRef]] = [(value, where)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, str):
            found = _problem(item, at, key=False)
            if found is not None:
                problems.append(found)
        elif isinstance(item, dict):
            for key, member in item.items():
                bad_key = _problem(key, at, key=True)
                if bad_key is not None:
                    problems.append(bad_key)
                else:
                    pending.append((member, child(at, key)))
        elif isinstance(item, list):
            pending.extend((member, child(at, index)) for index, member in enumerate(item))
    return sorted(problems, key=lambda p: p.pointer or "")
