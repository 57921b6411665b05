"""Rules a generated value must keep beyond its type: pattern, format, length, uniqueness.

A value that misses the field's ``pattern`` is replaced by one drawn from the pattern; one
that cannot be made to fit is left out (the record validator then decides whether the record
can do without it). Unique values get a suffix (``wang.fang2@…``, ``ACC2024000001-2``) until
they are free, remembering what the database already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.metadata import FieldDef, pattern_matcher

from ._patterns import sample_pattern
from ._people import RecordContext
from ._texts import Generator

_MAX_SUFFIX_TRIES = 10_000


def constrained(field: FieldDef, generate: Generator) -> Generator:
    """``generate`` with the field's pattern and length limits enforced (None when no
    fitting value could be made). Built-in formats (e-mail, phone, url) are the
    generators' own business; the record validator has the last word."""
    pattern = pattern_matcher(field.pattern) if field.pattern else None
    high = field.max_length
    low = field.min_length or 0
    if pattern is None and field.type not in ("email", "url", "phone"):
        return generate

    def fits(value: str) -> bool:
        return low <= len(value) <= (high if high is not None else len(value)) and (pattern is None or pattern(value))

    source = field.pattern

    def checked(ctx: RecordContext) -> Any:
        value = generate(ctx)
        if not isinstance(value, str) or fits(value):
            return value
        if source is not None:
            for _ in range(3):
                candidate = sample_pattern(source, ctx.rng)
                if candidate is None:
                    break
                if fits(candidate):
                    return candidate
        return None

    return checked


def _variant(field: FieldDef, value: Any, n: int) -> Any:
    """The ``n``-th variant of ``value`` (n >= 2), or None when its type has none."""
    kind = field.type
    if kind == "email" and isinstance(value, str) and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local}{n}@{domain}"
    if kind == "url" and isinstance(value, str) and "://" in value:
        scheme, _, rest = value.partition("://")
        host, slash, path = rest.partition("/")
        labels = host.split(".")
        at = 1 if labels[0] == "www" and len(labels) > 2 else 0
        labels[at] = f"{labels[at]}{n}"
        return f"{scheme}://{'.'.join(labels)}{slash}{path}"
    if kind == "phone" and isinstance(value, str):
        digits = f"{n:04d}"[-4:]
        return value[: -len(digits)] + digits if len(value) > 8 else None
    if isinstance(value, str) and kind in ("string", "text"):
        suffix = f"-{n}"
        if field.max_length is not None and len(value) + len(suffix) > field.max_length:
            value = value[: field.max_length - len(suffix)]
        return value + suffix
    if kind == "integer" and isinstance(value, int):
        return value + n - 1
    if kind in ("decimal", "money") and isinstance(value, str):
        step = Decimal(1).scaleb(-(field.scale or 0))
        return format(Decimal(value) + step * (n - 1), "f")
    if kind == "date" and isinstance(value, str):
        return (date.fromisoformat(value) + timedelta(days=n - 1)).isoformat()
    if kind == "datetime" and isinstance(value, str):
        return (datetime.fromisoformat(value) + timedelta(seconds=n - 1)).isoformat()
    return None


class UniqueValues:
    """The values of one unique field: taken ones (from the database and this run)."""

    def __init__(self, field: FieldDef, taken: Iterable[Any] = ()) -> None:
        self.field = field
        self.taken: set[Any] = set(taken)
        self._next: dict[Any, int] = {}
        self._pattern: Callable[[str], Any] | None = pattern_matcher(field.pattern) if field.pattern else None

    def _acceptable(self, value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if self.field.max_length is not None and len(value) > self.field.max_length:
            return False
        return self._pattern is None or bool(self._pattern(value))

    def claim(self, value: Any) -> Any:
        """``value`` if free, else a free variant of it, else None; the result is taken."""
        if value is None:
            return None
        key = _key(value)
        if key not in self.taken:
            self.taken.add(key)
            return value
        n = self._next.get(key, 2)
        for _ in range(_MAX_SUFFIX_TRIES):
            candidate = _variant(self.field, value, n)
            n += 1
            if candidate is None:
                break
            if _key(candidate) not in self.taken and self._acceptable(candidate):
                self._next[key] = n
                self.taken.add(_key(candidate))
                return candidate
        self._next[key] = n
        return None

    def release(self, value: Any) -> None:
        """Give a claimed value back (its record was left out)."""
        if value is not None:
            self.taken.discard(_key(value))


def _key(value: Any) -> Any:
    """Values as the database compares them (``"12.50"`` and ``"12.5"`` are one amount)."""
    if isinstance(value, list):
        return tuple(value)
    return value


def normalized(field: FieldDef, stored: Any) -> Any:
    """A value read from the database in the JSON form generators produce."""
    if stored is None:
        return None
    if field.type in ("decimal", "money"):
        scale = field.scale or 0
        return format(Decimal(stored).quantize(Decimal(1).scaleb(-scale)), "f")
    if isinstance(stored, datetime | date):
        return stored.isoformat()
    return stored
