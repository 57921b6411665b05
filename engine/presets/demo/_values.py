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

from . import _vocabulary as v
from ._people import RecordContext, skewed_index
from ._roles import EntityRole, words

Generator = Callable[[RecordContext], Any]
DAY = 86400.0

_BIRTH_START = datetime(1960, 1, 1, tzinfo=UTC).timestamp()
_BIRTH_END = datetime(2004, 12, 31, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class FieldGenerator:
    field: FieldDef
    generate: Generator
    #: share of records that get a value (the rest leave it empty or to its default)
    fill: float


def _has(names: set[str], *candidates: str) -> bool:
    return any(c in names for c in candidates)


def _pick(ctx: RecordContext, zh: tuple[str, ...], en: tuple[str, ...]) -> str:
    options = zh if ctx.zh else en
    return options[skewed_index(ctx.rng, len(options), 1.2)]


# -- text -----------------------------------------------------------------------------------------
def _product(ctx: RecordContext) -> str:
    table = v.PRODUCTS["default"]
    for hint in ("pharma", "food", "auto"):
        if hint in ctx.hints:
            table = v.PRODUCTS[hint]
            break
    zh, en = table[skewed_index(ctx.rng, len(table), 1.3)]
    model = f"{ctx.rng.choice('ACKMSTX')}{ctx.rng.randint(1, 9) * 100}"
    return f"{zh if ctx.zh else en} {model}"


def _deal_title(ctx: RecordContext) -> str:
    short = ctx.company()[2]
    product = _product(ctx).split(" ")[0]
    if ctx.zh:
        return f"{short}{product}{v.PROJECT_WORDS_ZH[skewed_index(ctx.rng, len(v.PROJECT_WORDS_ZH))]}"
    return f"{short} {product} {v.PROJECT_WORDS_EN[skewed_index(ctx.rng, len(v.PROJECT_WORDS_EN))]}"


def _period(ctx: RecordContext) -> tuple[int, int]:
    moment = datetime.fromtimestamp(ctx.created, UTC)
    return moment.year, (moment.month - 1) // 3 + 1


def _title_for(role: EntityRole, entity: EntityDef) -> Generator:
    """What the name or title of a record of this kind looks like."""
    label_zh = entity.label.zh or entity.label.en
    label_en = entity.label.en
    kind = role.kind
    if kind == "person":
        return lambda ctx: ctx.person()[0]
    if kind == "org":
        return lambda ctx: ctx.company()[0]
    if kind == "hospital":
        return lambda ctx: ctx.hospital()
    if kind == "store":
        return lambda ctx: ctx.store()
    if kind == "product":
        return _product
    if kind == "campaign":
        def campaign(ctx: RecordContext) -> str:
            year = _period(ctx)[0]
            return f"{year} {_pick(ctx, v.CAMPAIGNS_ZH, v.CAMPAIGNS_EN)}"
        return campaign
    if kind == "deal":
        return _deal_title
    if kind == "lookup":
        tiers = role.word in ("level", "tier", "grade", "rank", "class", "segment")

        def lookup(ctx: RecordContext) -> str:
            if tiers:
                names = v.TIERS_ZH if ctx.zh else v.TIERS_EN
                return names[ctx.seq % len(names)] + ("" if ctx.seq < len(names) else f" {ctx.seq // len(names) + 1}")
            return f"{label_zh if ctx.zh else label_en} {chr(65 + ctx.seq % 26)}{ctx.seq // 26 or ''}"
        return lookup
    if kind == "plan":
        def plan(ctx: RecordContext) -> str:
            year, quarter = _period(ctx)
            return f"{year}年Q{quarter}{label_zh}" if ctx.zh else f"Q{quarter} {year} {label_en}"
        return plan
    if kind == "activity":
        return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)
    return lambda ctx: f"{label_zh if ctx.zh else label_en} {ctx.seq + 1}"


def _code(entity: EntityDef) -> Generator:
    prefix = "".join(w[0] for w in words(entity.name)).upper() if "_" in entity.name else entity.name[:3].upper()

    def code(ctx: RecordContext) -> str:
        return f"{prefix}{_period(ctx)[0]}{ctx.seq + 1:06d}"
    return code


def _notes(ctx: RecordContext) -> str:
    first = _pick(ctx, v.NOTES_ZH, v.NOTES_EN)
    if ctx.rng.random() < 0.3:
        second = _pick(ctx, v.NOTES_ZH, v.NOTES_EN)
        if second != first:
            return first + ("" if ctx.zh else " ") + second
    return first


def _text_generator(field: FieldDef, entity: EntityDef, role: EntityRole, names: set[str], hints: frozenset[str]) -> Generator:
    kind = field.type
    person_entity = role.kind == "person"
    if kind == "email" or _has(names, "email", "mail"):
        if person_entity and role.word in ("member", "customer", "patient", "guest", "student"):
            return lambda ctx: ctx.personal_email()
        if person_entity:
            return lambda ctx: ctx.work_email()
        return lambda ctx: f"{ctx.rng.choice(('info', 'sales', 'contact', 'service'))}@{ctx.company()[1]}"
    if kind == "phone" or _has(names, "phone", "mobile", "tel", "telephone", "fax", "cellphone", "cell"):
        if person_entity or _has(names, "mobile", "cell", "cellphone"):
            return lambda ctx: ctx.mobile()
        return lambda ctx: ctx.landline()
    if kind == "url" or _has(names, "website", "url", "homepage", "site", "link", "web"):
        return lambda ctx: f"https://www.{ctx.company()[1]}"
    if _has(names, "first", "given", "firstname") and _has(names, "name", "firstname"):
        return lambda ctx: ctx.person()[2]
    if _has(names, "last", "surname", "family", "lastname"):
        return lambda ctx: ctx.person()[3]
    if "name" in names and _has(names, "contact", "person", "doctor", "member", "patient", "full"):
        return lambda ctx: ctx.person()[0]
    if _has(names, "company", "organization", "organisation", "employer", "firm", "corporation") or (
        "name" in names and _has(names, "account", "customer", "client")
    ):
        return lambda ctx: ctx.company()[0]
    if _has(names, "hospital"):
        return lambda ctx: ctx.hospital()
    if _has(names, "store", "shop", "pharmacy"):
        return lambda ctx: ctx.store()
    if _has(names, "product", "sku", "model", "drug", "goods") and not _has(names, "code", "no", "number"):
        return _product
    if _has(names, "code", "no", "number", "num", "serial", "sn", "ref", "reference", "barcode", "invoice"):
        return _code(entity)
    if _has(names, "job", "position", "post", "occupation") or (person_entity and _has(names, "title", "role")):
        return lambda ctx: _pick(ctx, v.JOB_TITLES_ZH, v.JOB_TITLES_EN)
    if _has(names, "name", "title", "fullname", "subject", "topic", "headline", "caption"):
        if "name" in names and person_entity:
            return lambda ctx: ctx.person()[0]
        if _has(names, "subject", "topic", "headline"):
            return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)
        return _title_for(role, entity)
    if _has(names, "city", "town"):
        return lambda ctx: ctx.city()[0]
    if _has(names, "province", "state"):
        return lambda ctx: ctx.city()[1]
    if _has(names, "country", "nation"):
        return lambda ctx: ctx.city()[2]
    if _has(names, "region", "area", "territory", "district", "zone"):
        return lambda ctx: _pick(ctx, v.REGIONS_ZH, v.REGIONS_EN)
    if _has(names, "address", "street", "location", "addr"):
        return lambda ctx: ctx.address()
    if _has(names, "zip", "postcode", "postal"):
        return lambda ctx: f"{ctx.rng.randint(100000, 899999)}" if ctx.zh else f"{ctx.rng.randint(10000, 99999)}"
    if _has(names, "industry", "sector"):
        return lambda ctx: ctx.company()[2].replace(" ", "")[-2:] if ctx.zh else ctx.company()[2].split(" ")[-1]
    if _has(names, "department", "dept", "division"):
        if role.kind == "hospital" or hints & {"pharma", "medical", "hospital"}:
            return lambda ctx: _pick(ctx, v.HOSPITAL_DEPARTMENTS_ZH, v.HOSPITAL_DEPARTMENTS_EN)
        return lambda ctx: _pick(ctx, v.DEPARTMENTS_ZH, v.DEPARTMENTS_EN)
    if _has(names, "gender", "sex"):
        return lambda ctx: ctx.rng.choice(("男", "女") if ctx.zh else ("male", "female"))
    if _has(names, "source", "channel"):
        return lambda ctx: _pick(ctx, ("官网", "展会", "老客户转介绍", "电话营销", "微信"), ("Website", "Trade show", "Referral", "Cold call", "LinkedIn"))
    if _has(names, "reason", "cause"):
        return lambda ctx: _pick(ctx, v.REASONS_ZH, v.REASONS_EN)
    if _has(names, "brand"):
        return lambda ctx: ctx.company()[2]
    if _has(names, "assignee", "rep", "salesperson", "handler", "responsible", "manager", "owner", "user"):
        return lambda ctx: ctx.owner or "system"
    if kind == "text" or _has(names, "description", "notes", "note", "comment", "comments", "remark", "remarks",
                                "summary", "memo", "feedback", "content", "detail", "details", "result",
                                "outcome", "minutes", "body", "situation", "analysis", "plan", "strategy"):
        return _notes
    if "name" in names:
        return _title_for(role, entity)
    label_zh = field.label.zh or field.label.en
    return lambda ctx: f"{label_zh if ctx.zh else field.label.en} {ctx.seq + 1}"


def _fit_text(field: FieldDef, generate: Generator) -> Generator:
    """Cut values to ``max_length`` and pad them to ``min_length``."""
    high = field.max_length
    low = field.min_length or 0
    if field.type in ("email", "url", "phone"):
        return generate  # cutting would break the format; an overlong one is left out later
    if high is None and not low:
        return generate

    def fitted(ctx: RecordContext) -> str:
        value = generate(ctx)
        if high is not None and len(value) > high:
            value = value[:high].rstrip()
        if len(value) < low:
            value = value + "0" * (low - len(value))
        return value
    return fitted


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
    spec = _number_spec(names, role)
    bounded = _bounded_spec(names)
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

        def draw(ctx: RecordContext) -> float:
            # a triangular spread: middle values common, extremes rare
            return b_low + span * (ctx.rng.random() + ctx.rng.random()) / 2
    else:
        assert spec is not None
        median, sigma, growth = spec
        mu = math.log(median)

        def draw(ctx: RecordContext) -> float:
            return math.exp(mu + sigma * ctx.rng.gauss(0.0, 1.0)) * (ctx.weight**growth if growth else 1.0)

    def number(ctx: RecordContext) -> Any:
        value = draw(ctx)
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


# -- dates ------------------------------------------------------------------------------------------
_AFTER = ("due", "deadline", "expected", "close", "closing", "end", "expiry", "expire", "expires", "until",
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
            return ctx.created - DAY * 365 * (1 + 30 * ctx.rng.random() ** 1.5)
    elif _has(names, *_AFTER):
        def moment(ctx: RecordContext) -> float:
            return ctx.created + DAY * math.exp(math.log(30) + 0.8 * ctx.rng.gauss(0.0, 1.0))
    elif _has(names, "last", "latest", "recent"):
        def moment(ctx: RecordContext) -> float:
            return ctx.created + (ctx.now - ctx.created) * ctx.rng.random() ** 0.5
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


def _enum_generator(field: FieldDef) -> Generator:
    values = list(field.choice_values)
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
        generate = _fit_text(field, _text_generator(field, entity, role, names, hints))
    elif kind in ("integer", "decimal", "money"):
        generate = _number_generator(field, role, names)
    elif kind in ("date", "datetime"):
        generate = _date_generator(field, names)
    elif kind == "enum":
        if not field.choices:
            return None
        generate = _enum_generator(field)
    elif kind == "multi_enum":
        if not field.choices:
            return None
        generate = _multi_enum_generator(field)
    elif kind == "boolean":
        generate = _boolean_generator(names)
    else:  # pragma: no cover - FIELD_TYPES is closed and validated
        return None
    fill = 1.0 if field.required else 0.97 if scored or field.unique else _FILL.get(kind, 0.8)
    if "name" in names or "title" in names:
        fill = max(fill, 0.97)
    return FieldGenerator(field, generate, fill)
