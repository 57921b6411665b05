"""Spreadsheet formula neutralising for CSV text cells (OWASP "CSV injection").

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula. Export writes such text with a leading ``'``,
which spreadsheets show as text; import takes that one ``'`` away again, so an exported file
reads back unchanged. A text that already starts with apostrophes before such a character
gains one more on export and loses one on import: the round trip is exact either way.
Only text cells pass through here; numbers (``-5``) are never touched.
"""

from __future__ import annotations

#: The first characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = frozenset("=+-@\t\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it verbatim: prefixed with ``'`` when it could run."""
    if text and (text[0] in FORMULA_STARTS or (text[0] == "'" and text.lstrip("'")[:1] in FORMULA_STARTS)):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """The text :func:`neutralise` was given (a cell without the prefix comes back as is)."""
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text
