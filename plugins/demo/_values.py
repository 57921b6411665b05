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

from ._heuristics import DATE_FALLBACK, DATE_RULES, NUMBER_RULES, RANGE_RULES, first_match
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


#: Preset words that make money amounts those of big customers (key accounts, enterprises).
_BIG_CUSTOMERS = frozenset({"key", "enterprise", "corporate", "strategic"})


#: (median, sigma of the log, growth with the record's weight) of the rows of ``NUMBER_RULES``
#: whose size does not depend on the entity.
_NUMBER_SPECS: dict[str, tuple[float, float, float]] = {
    "headcount": (120.0, 1.3, 0.5),
    "revenue": (3e7, 1.4, 0.6),
    "potential": (3e5, 1.2, 0.6),  # what a customer could buy from us in a year
    "budget": (2e5, 1.1, 0.4),
    "price": (300.0, 1.0, 0.0),
    "quantity": (3.0, 0.9, 0.2),
    "points": (200.0, 1.0, 0.2),
}
#: (low, high) of the rows of ``RANGE_RULES``.
_RANGES: dict[str, tuple[float, float]] = {
    "multiplier": (1.0, 3.0),
    "percent": (10.0, 90.0),
    "rate": (0.0, 30.0),
    "age": (22.0, 65.0),
    "year": (1985.0, 2022.0),
    "rating": (1.0, 5.0),
    "duration": (1.0, 90.0),
}


def _money_spec(role: EntityRole, hints: frozenset[str]) -> tuple[float, float, float]:
    """An amount: a deal's, a small transaction's, or any other record's."""
    if hints & _BIG_CUSTOMERS and role.kind in _SMALL_KINDS | _DEAL_KINDS:
        # a key account consumes hundreds of thousands to tens of millions a year: monthly
        # bills and invoices of about 150,000, agreements in the millions, long-tailed
        return (1.5e6, 1.0, 0.5) if role.kind in _DEAL_KINDS else (1.5e5, 1.1, 0.6)
    if role.kind in _DEAL_KINDS:
        return 1.2e5, 1.1, 0.35
    if role.kind in _SMALL_KINDS:
        return 260.0, 0.9, 0.35
    return 5000.0, 1.2, 0.35


def _number_spec(
    names: set[str], role: EntityRole, hints: frozenset[str] = frozenset()
) -> tuple[float, float, float] | None:
    """(median, sigma of the log, how strongly it grows with the record's weight)."""
    rule = first_match(NUMBER_RULES, names, "")
    if rule is None:
        return None
    if rule.generator == "balance":
        return 5e4 if role.kind in ("org", "hospital", "store") else 2000.0, 1.0, 0.4
    if rule.generator == "money":
        return _money_spec(role, hints)
    return _NUMBER_SPECS[rule.generator]


def _bounded_spec(names: set[str]) -> tuple[float, float] | None:
    """A (low, high) range for scale-like numbers without bounds in the definition."""
    rule = first_match(RANGE_RULES, names, "")
    return None if rule is None else _RANGES[rule.generator]


Draw = Callable[[RecordContext], float]


@dataclass(frozen=True)
class _Limits:
    """What a number column allows: whole or with ``scale`` decimals, between low and high."""

    integer: bool
    scale: int
    low: float | None
    high: float | None

    @classmethod
    def of(cls, field: FieldDef) -> _Limits:
        integer = field.type == "integer"
        scale = 0 if integer else (field.scale if field.scale is not None else 2)
        low = float(field.minimum) if field.minimum is not None else None
        high = float(field.maximum) if field.maximum is not None else None
        if not integer:
            digits = (field.precision or 18) - scale
            ceiling = 10.0**digits - 10.0**-scale
            high = ceiling if high is None else min(high, ceiling)
            low = -ceiling if low is None else max(low, -ceiling)
        return cls(integer, scale, low, high)


def _number_generator(field: FieldDef, role: EntityRole, names: set[str], hints: frozenset[str]) -> Generator:
    limits = _Limits.of(field)
    integer, low, high = limits.integer, limits.low, limits.high
    if integer and _has(names, "year", "fiscal") and not _has(names, "founded", "established", "years"):
        # the year a record is about is the year it was made in
        return lambda ctx: datetime.fromtimestamp(ctx.created, UTC).year
    bounded = _bounded_spec(names)
    spec = (
        None
        if bounded is not None and _has(names, "per", "multiplier", "factor", "coefficient")
        else (_number_spec(names, role, hints))
    )
    if spec is None and bounded is None:
        if low is not None and high is not None and high - low <= 1000:
            bounded = (low, high)
        else:
            spec = (100.0, 1.0, 0.0) if not integer else (20.0, 1.0, 0.0)
    if bounded is not None and spec is None:
        draw = _bounded_draw(bounded, limits, role)
    else:
        assert spec is not None
        draw = _spread_draw(spec, role)
    return _shaped(draw, names, limits)


def _bounded_draw(bounded: tuple[float, float], limits: _Limits, role: EntityRole) -> Draw:
    """Values on a scale: ranks and tiers in order for lookups, middle values common elsewhere."""
    low, high = limits.low, limits.high
    b_low = bounded[0] if low is None else max(bounded[0], low)
    b_high = bounded[1] if high is None else min(bounded[1], high)
    if b_low > b_high:
        b_low, b_high = (low or 0.0), (high if high is not None else (low or 0.0) + 100.0)
    span = b_high - b_low
    if role.kind == "lookup" and limits.integer:
        return lambda ctx: min(b_low + ctx.seq, b_high)  # ranks: 1, 2, 3...
    if role.kind == "lookup":
        return lambda ctx: b_low + span * min(ctx.seq / 5, 1.0)  # tiers: each one above the last
    # a triangular spread: middle values common, extremes rare
    return lambda ctx: b_low + span * (ctx.rng.random() + ctx.rng.random()) / 2


def _spread_draw(spec: tuple[float, float, float], role: EntityRole) -> Draw:
    """Sizes spread log-normally around a median, larger for weightier records."""
    median, sigma, growth = spec
    mu = math.log(median)
    if role.kind == "lookup":
        return lambda ctx: median * 5 * ctx.seq**2  # tier thresholds: 0, 5x, 20x, 45x the usual value
    return lambda ctx: math.exp(mu + sigma * ctx.rng.gauss(0.0, 1.0)) * (ctx.weight**growth if growth else 1.0)


def _shaped(draw: Draw, names: set[str], limits: _Limits) -> Generator:
    """A drawn number as users type it: whole counts, rates by halves, round amounts, in limits."""
    integer, scale, low, high = limits.integer, limits.scale, limits.low, limits.high
    # counts are whole even in a decimal column; rates step by halves
    whole_numbers = _has(names, "quantity", "qty", "units", "count", "pieces", "boxes", "employees", "headcount")
    halves = _has(names, "rate", "ratio", "percent", "percentage", "discount", "probability")
    price = _has(names, "price")

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
        if scale >= 2 and value >= 100 and not price:
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
    return [
        rule
        for rule in (_amount_rule(entity), _cost_rule(entity), *_actual_rules(entity), *_part_rules(entity))
        if rule is not None
    ]


#: First words of a number that is a part of another one (collected_amount of amount).
_PART_WORDS = ("collected", "paid", "received", "settled", "refunded", "redeemed", "used", "invoiced")


def part_fields(entity: EntityDef) -> dict[str, str]:
    """Numbers that are a part of another number of the record, part → whole: what was
    collected, paid or received of an amount can never be more than the amount."""
    out: dict[str, str] = {}
    numeric = {"integer", "decimal", "money"}
    for name in sorted(entity.fields):
        first, _, rest = name.partition("_")
        if first not in _PART_WORDS or entity.fields[name].type not in numeric:
            continue
        whole = next(
            (
                w
                for w in (rest, "amount", "total_amount", "total")
                if w and w != name and w in entity.fields and entity.fields[w].type in numeric
            ),
            None,
        )
        if whole is not None:
            out[name] = whole
    return out


def _part_rules(entity: EntityDef) -> list[Rule]:
    rules: list[Rule] = []
    for part, whole in part_fields(entity).items():
        rules.append(_at_most(part, whole))
    return rules


def _at_most(part: str, whole: str) -> Rule:
    def apply(values: dict[str, Any]) -> None:
        p, w = values.get(part), values.get(whole)
        if p is not None and w is not None and Decimal(str(p)) > Decimal(str(w)):
            values[part] = w  # all of it

    return apply


#: Words of an entity about money coming in: what was received stays within what was planned.
_INCOMING = frozenset({"revenue", "payment", "receivable", "invoice", "instalment", "installment", "collection"})


def _actual_rules(entity: EntityDef) -> list[Rule]:
    """``actual_X`` near ``planned_X`` (40-120% of it; at most all of it for money coming in,
    a project's instalments): a plan and its result belong together, so achievement ratios
    look like those of a sales team, not of two random numbers."""
    rules: list[Rule] = []
    cap = 100 if set(words(entity.name)) & _INCOMING else 120
    for name in sorted(entity.fields):
        if not name.startswith("actual_"):
            continue
        planned = entity.fields.get("planned_" + name.removeprefix("actual_"))
        actual = entity.fields[name]
        if planned is None or {planned.type, actual.type} - {"integer", "decimal", "money"}:
            continue
        rules.append(_follow(planned.name, actual, cap))
    return rules


def _follow(planned: str, actual: FieldDef, cap: int) -> Rule:
    a_name = actual.name

    def apply(values: dict[str, Any]) -> None:
        p = values.get(planned)
        if p is None or values.get(a_name) is None:
            return
        # the share comes from the plan's digits: no extra random draw, no change to the stream
        share = Decimal(40 + int(Decimal(str(p))) % (cap - 39)) / 100
        value = Decimal(str(p)) * share
        values[a_name] = int(value) if actual.type == "integer" else _decimal_text(actual, value)

    return apply


def _cost_rule(entity: EntityDef) -> Rule | None:
    """A cost price below the list price (45-80% of it)."""
    fields = sorted(entity.fields.values(), key=lambda f: f.name)
    price = next(
        (
            f
            for f in fields
            if f.type in ("decimal", "money")
            and _has(set(words(f.name)), "price")
            and not _has(set(words(f.name)), "cost")
        ),
        None,
    )
    cost = next(
        (f for f in fields if f.type in ("decimal", "money") and _has(set(words(f.name)), "cost") and f is not price),
        None,
    )
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
        elif (
            amount is None
            and f.type != "integer"
            and _has(names, "amount", "subtotal", "total", "value")
            and not (_has(names, "discount", "tax"))
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
#: Words of a moment that has passed once it is set: an activity done in the future is not done yet.
_PAST = ("done", "completed", "finished", "resolved", "closed", "ended", "left")


def _birth(ctx: RecordContext) -> float:
    return _BIRTH_START + (_BIRTH_END - _BIRTH_START) * ctx.rng.random()


def _founded(ctx: RecordContext) -> float:
    return ctx.created - DAY * 365 * (1 + 30 * math.pow(ctx.rng.random(), 1.5))


def _after(ctx: RecordContext) -> float:
    return ctx.created + DAY * math.exp(math.log(30) + 0.8 * ctx.rng.gauss(0.0, 1.0))


def _latest(ctx: RecordContext) -> float:
    return ctx.created + (ctx.now - ctx.created) * math.sqrt(ctx.rng.random())


def _before(ctx: RecordContext) -> float:
    return ctx.created - DAY * 3 * ctx.rng.random()


def _around(ctx: RecordContext) -> float:
    return ctx.created - DAY * 2 * ctx.rng.random() ** 2


#: Generator name (of ``_heuristics.DATE_RULES``) → the moment, as a timestamp.
MOMENTS: dict[str, Callable[[RecordContext], float]] = {
    "birth": _birth,
    "founded": _founded,
    "after": _after,
    "latest": _latest,
    "before": _before,
    DATE_FALLBACK: _around,
}


def _date_generator(field: FieldDef, names: set[str]) -> Generator:
    as_date = field.type == "date"
    rule = first_match(DATE_RULES, names, field.type)
    moment = MOMENTS[rule.generator if rule is not None else DATE_FALLBACK]
    past = _has(names, *_PAST)
    required = field.required

    def text(ctx: RecordContext) -> str | None:
        value = moment(ctx)
        if past and value > ctx.now:
            if not required:
                return None  # still to happen: left empty
            value = ctx.now
        if as_date:
            return date.fromordinal(_ordinal(value)).isoformat()
        return datetime.fromtimestamp(round(value), UTC).isoformat()

    return text


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


def _enum_generator(field: FieldDef, entity: EntityDef, role: EntityRole) -> Generator:
    values = list(field.choice_values)
    if role.kind == "lookup":
        return lambda ctx: values[ctx.seq % len(values)]  # one row per choice: the tiers in order
    # An entity given several fields about one of its kinds (an activity with
    # visit_plan_item and visit_purpose) is mostly of that kind.
    about = [v for v in values if sum(1 for f in entity.fields if f != field.name and f.startswith(v + "_")) >= 2]
    if about:
        others = [v for v in values if v not in about]
        rest = skewed_weights(len(others))
        head = 2.5 * (rest[-1] if rest else 1.0) / len(about)  # about 70% of the records
        ordered = [*about, *others]
        weights = [head * (i + 1) for i in range(len(about))]
        weights += [weights[-1] + r for r in rest]
        return lambda ctx: ctx.rng.choices(ordered, cum_weights=weights)[0]
    if field.required and field.has_default and field.default in values and len(values) > 1:
        # a required choice with a default: the default is the usual case (a sale, not a refund)
        usual = field.default
        others = [v for v in values if v != usual]
        rest = skewed_weights(len(others))
        return lambda ctx: usual if ctx.rng.random() < _USUAL else ctx.rng.choices(others, cum_weights=rest)[0]
    cumulative = skewed_weights(len(values))
    return lambda ctx: ctx.rng.choices(values, cum_weights=cumulative)[0]


#: how often a required choice takes its default
_USUAL = 0.85


def _multi_enum_generator(field: FieldDef) -> Generator:
    values = list(field.choice_values)
    cumulative = skewed_weights(len(values))

    def multi(ctx: RecordContext) -> list[str]:
        wanted = 1 + int(ctx.rng.random() ** 2 * min(3, len(values)))
        picked = set(ctx.rng.choices(values, cum_weights=cumulative, k=wanted))
        return [value for value in values if value in picked]

    return multi


_LIKELY_TRUE = ("active", "enabled", "consent", "opt", "subscribed", "verified", "valid", "agreed", "available")
_LIKELY_FALSE = (
    "vip",
    "key",
    "primary",
    "decision",
    "blacklist",
    "blacklisted",
    "blocked",
    "churned",
    "deleted",
    "archived",
    "locked",
    "urgent",
    "competitor",
    "dnc",
    "lost",
    "closed",
    "cancelled",
)


def _boolean_generator(names: set[str], hints: frozenset[str]) -> Generator:
    share = 0.85 if _has(names, *_LIKELY_TRUE) else 0.2 if _has(names, *_LIKELY_FALSE) else 0.5
    if len(names - {"is", "has"}) >= 2 and names - {"is", "has"} <= hints:
        share = 0.8  # the flag the preset is named after (is_key_account in key_account): common there
    return lambda ctx: ctx.rng.random() < share


# -- choosing a generator ---------------------------------------------------------------------------
_FILL: dict[str, float] = {
    "string": 0.85,
    "text": 0.45,
    "integer": 0.85,
    "decimal": 0.85,
    "money": 0.85,
    "boolean": 0.95,
    "date": 0.8,
    "datetime": 0.8,
    "enum": 0.9,
    "multi_enum": 0.7,
    "email": 0.85,
    "phone": 0.85,
    "url": 0.55,
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
        generate = _number_generator(field, role, names, hints)
    elif kind in ("date", "datetime"):
        generate = _date_generator(field, names)
    elif kind == "enum":
        if not field.choices:
            return None
        generate = _enum_generator(field, entity, role)
    elif kind == "multi_enum":
        if not field.choices:
            return None
        generate = _multi_enum_generator(field)
    elif kind == "boolean":
        generate = _boolean_generator(names, hints)
    else:  # pragma: no cover - FIELD_TYPES is closed and validated
        return None
    fill = 1.0 if field.required or role.kind == "lookup" else 0.97 if scored or field.unique else _FILL.get(kind, 0.8)
    if "name" in names or "title" in names:
        fill = max(fill, 0.97)
    return FieldGenerator(field, generate, fill)
