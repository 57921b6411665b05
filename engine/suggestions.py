"""Suggestions for a mistyped name: the one place "Did you mean ...?" is decided and written.

:func:`suggest` picks the candidate a person most likely meant: an alias they commonly write
(``int`` for ``integer``), the same name in lower case, the snake_case form of a camelCase
spelling, else the closest by :func:`difflib.get_close_matches` (cutoff 0.6).
:func:`did_you_mean` turns it into the sentence messages append, and :func:`hint` writes that
sentence for a suggestion found another way.

Two quoting conventions exist: definition problems quote names as Python literals
(``'amount'``, ``quote="repr"``), everything else in double quotes (``"amount"``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

#: How a suggested name is quoted: ``"amount"`` or ``'amount'`` (its Python repr).
Quote = Literal["double", "repr"]

#: How close a candidate must be to count (difflib's ratio).
CUTOFF = 0.6

NO_ALIASES: Mapping[str, str] = MappingProxyType({})


def suggest(name: str, known: Iterable[str], *, aliases: Mapping[str, str] = NO_ALIASES) -> str | None:
    """The candidate of ``known`` that ``name`` most likely means, or ``None``.

    :param aliases: words people commonly write (``int``) mapped to what they mean (``integer``).
    """
    candidates = list(known)
    lowered = name.lower()
    aliased = aliases.get(lowered)
    if aliased is not None and aliased in candidates:
        return aliased
    if lowered != name and lowered in candidates:
        return lowered
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    if snake != name and snake in candidates:
        return snake
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=CUTOFF)
    return close[0] if close else None


def hint(suggestion: str | None, *, quote: Quote = "double", otherwise: str = "") -> str:
    """`` Did you mean "x"?`` for ``suggestion``; ``otherwise`` when there is none."""
    if suggestion is None:
        return otherwise
    quoted = repr(suggestion) if quote == "repr" else f'"{suggestion}"'
    return f" Did you mean {quoted}?"


def did_you_mean(
    name: str,
    known: Iterable[str],
    *,
    quote: Quote = "double",
    otherwise: str = "",
    aliases: Mapping[str, str] = NO_ALIASES,
) -> str:
    """`` Did you mean "x"?`` for the closest of ``known`` (see :func:`suggest`), else
    ``otherwise`` (say `` Known types: a, b.``), which is empty unless given."""
    return hint(suggest(name, known, aliases=aliases), quote=quote, otherwise=otherwise)
