"""Field value generators: realistic values by field name and type, in their JSON form.

Each field gets one generator, chosen once per run from the words of its name (``email``,
``city``, ``amount``, ``birthday``...), its type and the kind of its entity (a contact's
``title`` is a job title, an opportunity's its deal name). Generators return what the API
would accept (decimals and dates as strings); the record validator converts them, exactly as
it converts what users send. Limits of the definition (length, bounds, scale) are applied
here; patterns and uniqueness by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.metadata import EntityDef, FieldDef

from ._people import RecordContext
from ._roles import EntityRole, words
from ._texts import Generator, fit_text, text_generator
from ._texts import has as _has

DAY = 86400.0

_BIRTH_START = datetime(1960, 1, 1, tzinfo=UTC).timestamp()
_BIRTH_END = datetime(2004, 12, 31, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class FieldGenerator:
    field: FieldDef
    generate: Generator
    #: share of records that get a value (the rest leave it empty or to its default)
    fill: float


# -- numbers ----------------------------------------------------------------------------------------
_DEAL_KINDS = frozenset({"deal"})
_SMALL_KINDS = frozenset({"transaction", "activity"})


def _number_spec(names: set[str], role: EntityRole) -> tuple[float, float, float] | None:
    """(median, sigma of the log, how strongly it grows with the record's weight)."""
    if _has(names, "employees", "headcount", "staff", "employee", "workforce"):
        return 120.0, 1.3, 0.5
    if _has(names, "revenue", "turnover", "income", "gmv"):
        return 3e7, 1.4, 0.6
    if _has(names, "budget"):
        return 2e5, 1.1, 0.4
    if _has(names, "price", "unit"):
        return 300.0, 1.0, 0.0
    if _has(names, "quantity", "qty", "units", "count", "volume", "pieces", "boxes"):
        return 3.0, 0.9, 0.2
    if _has(names, "points", "bonus", "credits"):
        return 200.0, 1.0, 0.2
    if _has(names, "limit", "credit", "balance", "deposit", "stored"):
        return 5e4 if role.kind in ("org", "hospital", "store") else 2000.0, 1.0, 0.4
    if _has(names, "amount", "total", "value", "spend", "spent", "payment", "paid", "cost", "fee", "expense",
            "sales", "size", "contract", "receivable", "due", "invoice"):
        if role.kind in _DEAL_KINDS:
            return 1.2e5, 1.1, 0.35
        if role.kind in _SMALL_KINDS:
            return 260.0, 0.9, 0.35
        return 5000.0, 1.2, 0.35
    return None


def _bounded_spec(names: set[str]) -> tuple[float, float] | None:
    """A (low, high) range for scale-like numbers without bounds in the definition."""
    if _has(names, "per", "multiplier", "factor", "coefficient", "times"):
        return 1.0, 3.0
    if _has(names, "probability", "percent", "percentage", "pct"):
        return 10.0, 90.0
    if _has(names, "rate", "ratio", "share", "margin", "discount"):
        return 0.0, 30.0
    if _has(names, "age"):
        return 22.0, 65.0
    if _has(names, "year", "founded", "established"):
        return 1985.0, 2022.0
    if _has(names, "score", "rating", "stars", "influence", "level", "priority", "rank", "grade", "importance",
            "strength", "attitude", "closeness", "satisfaction", "intimacy", "support", "power"):
        return 1.0, 5.0
    if _has(names, "days", "duration", "hours", "minutes", "term", "months", "period"):
        return 1.0, 90.0
    return None


def _number_generator(field: FieldDef, role: EntityRole, names: set[str]) -> Generator:
    integer = field.type == "integer"
    scale = 0 if integer else (field.scale if field.scale is not None else 2)
    digits = None if integer else (field.precision or 18) - scale
    low = float(field.minimum) if field.minimum is not None else None
    high = float(field.maximum) if field.maximum is not None else None
    if digits is not None:
        ceiling = 10.0**digits - 10.0**-scale
        high = ceiling if high is None else min(high, ceiling)
        low = -ceiling if low is None else max(low, -ceiling)
    if integer and _has(names, "year", "fiscal") and not _has(names, "founded", "established", "years"):
        # the year a record is about is the year it was made in
        return lambda ctx: datetime.fromtimestamp(ctx.created, UTC).year
    bounded = _bounded_spec(names)
    spec = None if bounded is not None and _has(names, "per", "multiplier", "factor", "coefficient") else (
        _number_spec(names, role)
    )
    if spec is None and bounded is None:
        if low is not None and high is not None and high - low <= 1000:
            bounded = (low, high)
        else:
            spec = (100.0, 1.0, 0.0) if not integer else (20.0, 1.0, 0.0)
    if bounded is not None and spec is None:
        b_low = bounded[0] if low is None else max(bounded[0], low)
        b_high = bounded[1] if high is None else min(bounded[1], high)
        if b_low > b_high:
            b_low, b_high = (low or 0.0), (high if high is not None else (low or 0.0) + 100.0)
        span = b_high - b_low

        if role.kind == "lookup" and integer:
            def draw(ctx: RecordContext) -> float:
                return min(b_low + ctx.seq, b_high)  # ranks: 1, 2, 3...
        elif role.kind == "lookup":
            def draw(ctx: RecordContext) -> float:
                return b_low + span * min(ctx.seq / 5, 1.0)  # tiers: each one above the last
        else:
            def draw(ctx: RecordContext) -> float:
                # a triangular spread: middle values common, extremes rare
                return b_low + span * (ctx.rng.random() + ctx.rng.random()) / 2
    else:
        assert spec is not None
        median, sigma, growth = spec
        mu = math.log(median)
        if role.kind == "lookup":
            def draw(ctx: RecordContext) -> float:
                return median * 5 * ctx.seq**2  # tier thresholds: 0, 5x, 20x, 45x the usual value
        else:
            def draw(ctx: RecordContext) -> float:
                return math.exp(mu + sigma * ctx.rng.gauss(0.0, 1.0)) * (ctx.weight**growth if growth else 1.0)

    # counts are whole even in a decimal column; rates step by halves
    whole_numbers = _has(names, "quantity", "qty", "units", "count", "pieces", "boxes", "employees", "headcount")
    halves = _has(names, "rate", "ratio", "percent", "percentage", "discount", "probability")

    def number(ctx: RecordContext) -> Any:
        value = draw(ctx)
        if whole_numbers:
            value = float(max(round(value), 1))
        elif halves:
            value = round(value * 2) / 2
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        if integer:
            whole = round(value)
            if low is not None and whole < low:
                whole = math.ceil(low)
            if high is not None and whole > high:
                whole = math.floor(high)
            return int(whole)
        if scale >= 2 and value >= 100 and not _has(names, "price"):
            value = round(value, -1)  # amounts people type end in 0
        text = f"{value:.{scale}f}"
        if high is not None and Decimal(text) > Decimal(repr(high)):
            text = f"{math.floor(high * 10**scale) / 10**scale:.{scale}f}"
        if low is not None and Decimal(text) < Decimal(repr(low)):
            text = f"{math.ceil(low * 10**scale) / 10**scale:.{scale}f}"
        return text
    return number


def _decimal_text(field: FieldDef, value: Decimal) -> str:
    return format(value.quantize(Decimal(1).scaleb(-(field.scale or 0))), "f")


Rule = Callable[[dict[str, Any]], None]


def derived_rules(entity: EntityDef) -> list[Rule]:
    """Values computed from others of the same record, so a record adds up."""
    return [rule for rule in (_amount_rule(entity), _cost_rule(entity)) if rule is not None]


def _cost_rule(entity: EntityDef) -> Rule | None:
    """A cost price below the list price (45-80% of it)."""
    fields = sorted(entity.fields.values(), key=lambda f: f.name)
    price = next((f for f in fields if f.type in ("decimal", "money") and _has(set(words(f.name)), "price")
                  and not _has(set(words(f.name)), "cost")), None)
    cost = next((f for f in fields if f.type in ("decimal", "money") and _has(set(words(f.name)), "cost")
                 and f is not price), None)
    if price is None or cost is None:
        return None
    p_name, c_name, target = price.name, cost.name, cost

    def apply(values: dict[str, Any]) -> None:
        p = values.get(p_name)
        if p is not None and values.get(c_name) is not None:
            # the share comes from the price's digits: no extra random draw, no change to the stream
            share = Decimal(45 + int(Decimal(str(p)) * 100) % 36) / 100
            values[c_name] = _decimal_text(target, Decimal(str(p)) * share)
    return apply


def _amount_rule(entity: EntityDef) -> Rule | None:
    """``amount = quantity x price x (1 - discount%)`` for entities that have the three
    (order lines, quote lines, purchases), so a line adds up; None for the others."""
    quantity = price = amount = discount = None
    for f in sorted(entity.fields.values(), key=lambda f: f.name):
        names = set(words(f.name))
        if f.type not in ("integer", "decimal", "money"):
            continue
        if quantity is None and _has(names, "quantity", "qty"):
            quantity = f
        elif price is None and _has(names, "price") and not _has(names, "list"):
            price = f
        elif discount is None and _has(names, "discount"):
            discount = f
        elif amount is None and f.type != "integer" and _has(names, "amount", "subtotal", "total", "value") and not (
            _has(names, "discount", "tax")
        ):
            amount = f
    if quantity is None or price is None or amount is None:
        return None
    q_name, p_name, a_name, target = quantity.name, price.name, amount.name, amount
    d_name = discount.name if discount is not None else None

    def apply(values: dict[str, Any]) -> None:
        q, p = values.get(q_name), values.get(p_name)
        if q is None or p is None:
            return
        total = Decimal(str(q)) * Decimal(str(p))
        d = values.get(d_name) if d_name else None
        if d is not None and 0 <= Decimal(str(d)) <= 100:
            total = total * (100 - Decimal(str(d))) / 100
        values[a_name] = _decimal_text(target, total)
    return apply


# -- dates ------------------------------------------------------------------------------------------
_AFTER = ("due", "deadline", "expected", "close", "closing", "end", "expiry", "expire", "expires", "until", "left",
          "leave", "ended", "finished", "completed", "resolved", "closed", "done",
          "planned", "next", "follow", "renewal", "delivery", "maturity", "valid", "target", "estimated")
_BEFORE = ("start", "begin", "since", "join", "joined", "registered", "signed", "opened", "hire", "first",
           "enrolled", "activated", "issued")


def _date_generator(field: FieldDef, names: set[str]) -> Generator:
    as_date = field.type == "date"
    if _has(names, "birth", "birthday", "dob", "born", "birthdate"):
        def moment(ctx: RecordContext) -> float:
            return _BIRTH_START + (_BIRTH_END - _BIRTH_START) * ctx.rng.random()
    elif _has(names, "founded", "established", "incorporated"):
        def moment(ctx: RecordContext) -> float:
            return ctx.created - DAY * 365 * (1 + 30 * math.pow(ctx.rng.random(), 1.5))
    elif _has(names, *_AFTER):
        def moment(ctx: RecordContext) -> float:
            return ctx.created + DAY * math.exp(math.log(30) + 0.8 * ctx.rng.gauss(0.0, 1.0))
    elif _has(names, "last", "latest", "recent"):
        def moment(ctx: RecordContext) -> float:
            return ctx.created + (ctx.now - ctx.created) * math.sqrt(ctx.rng.random())
    elif _has(names, *_BEFORE):
        def moment(ctx: RecordContext) -> float:
            return ctx.created - DAY * 3 * ctx.rng.random()
    else:
        def moment(ctx: RecordContext) -> float:
            return ctx.created - DAY * 2 * ctx.rng.random() ** 2

    if as_date:
        return lambda ctx: date.fromordinal(_ordinal(moment(ctx))).isoformat()
    return lambda ctx: datetime.fromtimestamp(round(moment(ctx)), UTC).isoformat()


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _ordinal(timestamp: float) -> int:
    return _EPOCH_ORDINAL + int(timestamp // DAY)


# -- choices ---------------------------------------------------------------------------------------
def skewed_weights(count: int) -> list[float]:
    """Cumulative Zipf-like weights: the first choice is the most common, none is rare."""
    out, total = [], 0.0
    for i in range(count):
        total += 1.0 / (i + 1) ** 0.9
        out.append(total)
    return out


def _enum_generator(field: FieldDef, role: EntityRole) -> Generator:
    values = list(field.choice_values)
    if role.kind == "lookup":
        return lambda ctx: values[ctx.seq % len(values)]  # one row per choice: the tiers in order
    cumulative = skewed_weights(len(values))
    return lambda ctx: ctx.rng.choices(values, cum_weights=cumulative)[0]


def _multi_enum_generator(field: FieldDef) -> Generator:
    values = list(field.choice_values)
    cumulative = skewed_weights(len(values))

    def multi(ctx: RecordContext) -> list[str]:
        wanted = 1 + int(ctx.rng.random() ** 2 * min(3, len(values)))
        picked = set(ctx.rng.choices(values, cum_weights=cumulative, k=wanted))
        return [value for value in values if value in picked]
    return multi


_LIKELY_TRUE = ("active", "enabled", "consent", "opt", "subscribed", "verified", "valid", "agreed", "available")
_LIKELY_FALSE = ("vip", "key", "primary", "decision", "blacklist", "blacklisted", "blocked", "churned", "deleted",
                 "archived", "locked", "urgent", "competitor", "dnc", "lost", "closed", "cancelled")


def _boolean_generator(names: set[str]) -> Generator:
    share = 0.85 if _has(names, *_LIKELY_TRUE) else 0.2 if _has(names, *_LIKELY_FALSE) else 0.5
    return lambda ctx: ctx.rng.random() < share


# -- choosing a generator ---------------------------------------------------------------------------
_FILL: dict[str, float] = {
    "string": 0.85, "text": 0.45, "integer": 0.85, "decimal": 0.85, "money": 0.85, "boolean": 0.95,
    "date": 0.8, "datetime": 0.8, "enum": 0.9, "multi_enum": 0.7, "email": 0.85, "phone": 0.85, "url": 0.55,
    "json": 0.0,
}


def field_generator(
    field: FieldDef, entity: EntityDef, role: EntityRole, *, hints: frozenset[str], scored: bool
) -> FieldGenerator | None:
    """The generator of a non-reference field, or None when it stays empty."""
    names = set(words(field.name))
    kind = field.type
    if kind == "reference":
        return None
    if kind == "json":
        return FieldGenerator(field, lambda ctx: {}, 1.0 if field.required else 0.0)
    if kind in ("string", "text", "email", "phone", "url"):
        generate = fit_text(field, text_generator(field, entity, role, names, hints))
    elif kind in ("integer", "decimal", "money"):
        generate = _number_generator(field, role, names)
    elif kind in ("date", "datetime"):
        generate = _date_generator(field, names)
    elif kind == "enum":
        if not field.choices:
            return None
        generate = _enum_generator(field, role)
    elif kind == "multi_enum":
        if not field.choices:
            return None
        generate = _multi_enum_generator(field)
    elif kind == "boolean":
        generate = _boolean_generator(names)
    else:  # pragma: no cover - FIELD_TYPES is closed and validated
        return None
    fill = 1.0 if field.required or role.kind == "lookup" else 0.97 if scored or field.unique else _FILL.get(kind, 0.8)
    if "name" in names or "title" in names:
        fill = max(fill, 0.97)
    return FieldGenerator(field, generate, fill)
