"""Free-text search of record lists (``q=``): words found in the display field or any other
text field, ignoring case.

Each word of the search (split on whitespace) must occur in at least one searched field of
the record: ``acme paris`` finds an account named "Acme" in the city "Paris". The searched
fields are the text fields (string, text, email, phone, url) of the definition given, so a
caller passes the definition without the fields hidden from the user. Case is ignored with
SQL ``lower()``: for every letter on PostgreSQL, for ASCII letters on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from engine.compile import unstorable
from engine.errors import Problem, UsageError
from engine.metadata import TEXT_TYPES, EntityDef

from ._filters import NO_FILTER, Filter

#: Longest search accepted, and most words in it.
MAX_SEARCH_LENGTH: Final = 200
MAX_SEARCH_WORDS: Final = 8


def searched_fields(definition: EntityDef) -> list[str]:
    """The fields a search looks in: the display field first, then the other text fields."""
    names = [name for name, f in definition.fields.items() if f.type in TEXT_TYPES]
    if definition.display in names:
        names.remove(definition.display)
        names.insert(0, definition.display)
    return names


def _refused(message: str, code: str) -> UsageError:
    return UsageError(f"q: {message}", [Problem(code=code, field="q", message=message)])


def compile_search(definition: EntityDef, table: sa.Table, text: str | None) -> Filter:
    """The filter of a free-text search (``None`` or blank: every record); parameters are
    named ``crm_q0``, ``crm_q1``...; :class:`UsageError` for a search too long or holding
    text no database takes."""
    if text is None or not text.strip():
        return NO_FILTER
    if len(text) > MAX_SEARCH_LENGTH:
        raise _refused(f"a search is at most {MAX_SEARCH_LENGTH} characters long", "max_length")
    if unstorable(text):
        raise _refused("a search cannot hold a NUL or an unpaired surrogate", "invalid_character")
    words = text.split()
    if len(words) > MAX_SEARCH_WORDS:
        raise _refused(f"a search has at most {MAX_SEARCH_WORDS} words", "too_many_words")
    names = searched_fields(definition)
    if not names:
        raise _refused(f"{definition.name} has no text field you may search", "unsupported")
    params = {}
    parts = []
    for i, word in enumerate(words):
        key = f"crm_q{i}"
        escaped = word.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
        params[key] = f"%{escaped}%"
        pattern = sa.bindparam(key, type_=sa.String())
        parts.append(sa.or_(*(sa.func.lower(table.c[name]).like(pattern, escape="/") for name in names)))
    return Filter(sa.and_(*parts), params, ("search", tuple(names), len(words)))


def search_where(fields: Sequence[str], text: str) -> Any:
    """A free-text search as a filter of the record filter language, for keeping it (a saved
    view): each word ``contains``-matched (case ignored, as the search) in one of ``fields``
    (the :func:`searched_fields` the user may see); ``None`` for a blank search or no field."""
    words = text.split()[:MAX_SEARCH_WORDS]
    if not words or not fields:
        return None
    parts = [{"or": [{name: {"contains": word}} for name in fields]} for word in words]
    return parts[0] if len(parts) == 1 else {"and": parts}
