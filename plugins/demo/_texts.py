"""Text values by field name: names, companies, places, codes, subjects, notes.

The words of a field's name pick the generator (``email``, ``city``, ``title``...), and the
kind of its entity settles what a name or title is (a contact's name is a person's, an
opportunity's title a deal's). Values come back in the record's language (``ctx.zh``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.metadata import EntityDef, FieldDef

from . import _vocabulary as v
from ._heuristics import TEXT_FALLBACK, TEXT_RULES, first_match
from ._people import RecordContext, skewed_index
from ._roles import EntityRole, words

Generator = Callable[[RecordContext], Any]


def has(names: set[str], *candidates: str) -> bool:
    """Whether any of ``candidates`` is one of the words ``names``."""
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


_COMPLAINT_WORDS = frozenset({"ticket", "case", "complaint", "request", "issue", "incident", "claim", "feedback"})


def _campaign(ctx: RecordContext) -> str:
    year = _period(ctx)[0]
    return f"{year} {_pick(ctx, v.CAMPAIGNS_ZH, v.CAMPAIGNS_EN)}"


def _unit_title(role: EntityRole, entity: EntityDef) -> Generator:
    """Teams by region (华东销售部, East Sales), territories by province."""
    zh = entity.label.zh is not None
    if role.word == "team":

        def team(ctx: RecordContext) -> str:
            i = ctx.seq
            more = f"{i // len(v.REGIONS_ZH) + 1}" if i >= len(v.REGIONS_ZH) else ""
            if zh:
                return f"{v.REGIONS_ZH[i % len(v.REGIONS_ZH)]}销售{more}部"
            return f"{v.REGIONS_EN[i % len(v.REGIONS_EN)]} Sales {more}".rstrip()

        return team

    def territory(ctx: RecordContext) -> str:
        i = ctx.seq
        name_zh, name_en = v.PROVINCES[i % len(v.PROVINCES)]
        more = f" {i // len(v.PROVINCES) + 1}" if i >= len(v.PROVINCES) else ""
        return f"{name_zh}区域{more}" if zh else f"{name_en}{more}"

    return territory


def _lookup_title(role: EntityRole, entity: EntityDef) -> Generator:
    """Tiers in order (levels, grades) or lettered entries of a list users pick from."""
    tiers = role.word in ("level", "tier", "grade", "rank", "class", "segment")
    # one language for the whole table: it is a list users pick from
    names = v.TIERS_ZH if entity.label.zh else v.TIERS_EN
    label = entity.label.zh or entity.label.en

    def lookup(ctx: RecordContext) -> str:
        if tiers:
            return names[ctx.seq % len(names)] + ("" if ctx.seq < len(names) else f" {ctx.seq // len(names) + 1}")
        return f"{label} {chr(65 + ctx.seq % 26)}{ctx.seq // 26 or ''}"

    return lookup


def _plan_title(entity: EntityDef) -> Generator:
    label_zh = entity.label.zh or entity.label.en
    label_en = entity.label.en

    def plan(ctx: RecordContext) -> str:
        year, quarter = _period(ctx)
        return f"{year}年Q{quarter}{label_zh}" if ctx.zh else f"Q{quarter} {year} {label_en}"

    return plan


#: Titles that depend on the kind of the entity alone.
_TITLES_BY_KIND: dict[str, Generator] = {
    "person": lambda ctx: ctx.person()[0],
    "org": lambda ctx: ctx.company()[0],
    "hospital": lambda ctx: ctx.hospital(),
    "store": lambda ctx: ctx.store(),
    "product": _product,
    "campaign": _campaign,
    "deal": _deal_title,
}


def _title_for(role: EntityRole, entity: EntityDef, hints: frozenset[str]) -> Generator:
    """What the name or title of a record of this kind looks like."""
    kind = role.kind
    if kind in _TITLES_BY_KIND:
        return _TITLES_BY_KIND[kind]
    if kind == "unit":
        return _unit_title(role, entity)
    if kind == "lookup":
        return _lookup_title(role, entity)
    if kind == "plan":
        return _plan_title(entity)
    if role.word == "department":
        medical = bool(hints & {"pharma", "medical", "hospital", "health"})
        zh_names = v.HOSPITAL_DEPARTMENTS_ZH if medical else v.DEPARTMENTS_ZH
        en_names = v.HOSPITAL_DEPARTMENTS_EN if medical else v.DEPARTMENTS_EN
        return lambda ctx: _pick(ctx, zh_names, en_names)
    if kind == "activity":
        if role.word in _COMPLAINT_WORDS:
            return lambda ctx: _pick(ctx, v.COMPLAINTS_ZH, v.COMPLAINTS_EN)
        return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)
    label_zh = entity.label.zh or entity.label.en
    label_en = entity.label.en
    return lambda ctx: f"{label_zh if ctx.zh else label_en} {ctx.seq + 1}"


def _period_text(ctx: RecordContext) -> str:
    moment = datetime.fromtimestamp(ctx.created, UTC)
    return f"{moment.year}-{moment.month:02d}"


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


@dataclass(frozen=True)
class TextField:
    """What a text generator is chosen from: the field, its entity and what that is for."""

    field: FieldDef
    entity: EntityDef
    role: EntityRole
    names: set[str]
    hints: frozenset[str]

    @property
    def person(self) -> bool:
        return self.role.kind == "person"


def _email(t: TextField) -> Generator:
    if t.person and t.role.word in ("member", "customer", "patient", "guest", "student"):
        return lambda ctx: ctx.personal_email()
    if t.person:
        return lambda ctx: ctx.work_email()
    return lambda ctx: f"{ctx.rng.choice(('info', 'sales', 'contact', 'service'))}@{ctx.company()[1]}"


def _phone(t: TextField) -> Generator:
    if t.person or has(t.names, "mobile", "cell", "cellphone"):
        return lambda ctx: ctx.mobile()
    return lambda ctx: ctx.landline()


def _specification(ctx: RecordContext) -> str:
    rng = ctx.rng
    return f"{rng.choice('AKMSTX')}{rng.randint(10, 99)}0-{rng.choice(('S', 'M', 'L', 'Pro', 'Max'))}"


def _subject(t: TextField) -> Generator:
    if t.role.word in _COMPLAINT_WORDS:
        return lambda ctx: _pick(ctx, v.COMPLAINTS_ZH, v.COMPLAINTS_EN)
    return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)


def _department(t: TextField) -> Generator:
    if t.role.kind == "hospital" or t.hints & {"pharma", "medical", "hospital"}:
        return lambda ctx: _pick(ctx, v.HOSPITAL_DEPARTMENTS_ZH, v.HOSPITAL_DEPARTMENTS_EN)
    return lambda ctx: _pick(ctx, v.DEPARTMENTS_ZH, v.DEPARTMENTS_EN)


def _labelled(t: TextField) -> Generator:
    label_zh = t.field.label.zh or t.field.label.en
    label_en = t.field.label.en
    return lambda ctx: f"{label_zh if ctx.zh else label_en} {ctx.seq + 1}"


def _fixed(generate: Generator) -> Callable[[TextField], Generator]:
    return lambda _t: generate


#: Generator name (of ``_heuristics.TEXT_RULES``) → what makes the generator of a field.
TEXT_GENERATORS: dict[str, Callable[[TextField], Generator]] = {
    "email": _email,
    "phone": _phone,
    "website": _fixed(lambda ctx: f"https://www.{ctx.company()[1]}"),
    "given_name": _fixed(lambda ctx: ctx.person()[2]),
    "family_name": _fixed(lambda ctx: ctx.person()[3]),
    "person_name": _fixed(lambda ctx: ctx.person()[0]),
    "company": _fixed(lambda ctx: ctx.company()[0]),
    "hospital": _fixed(lambda ctx: ctx.hospital()),
    "store": _fixed(lambda ctx: ctx.store()),
    "product": _fixed(_product),
    "code": lambda t: _code(t.entity),
    "wechat": _fixed(lambda ctx: f"wxid_{ctx.person()[1].replace('.', '')[:12]}{ctx.rng.randint(10, 999)}"),
    "qq": _fixed(lambda ctx: f"{ctx.rng.randint(10_000_000, 2_999_999_999)}"),
    "unit": _fixed(lambda ctx: _pick(ctx, v.UNITS_ZH, v.UNITS_EN)),
    "category": _fixed(lambda ctx: _pick(ctx, v.CATEGORIES_ZH, v.CATEGORIES_EN)),
    "specification": _fixed(_specification),
    "next_step": _fixed(lambda ctx: _pick(ctx, v.NEXT_STEPS_ZH, v.NEXT_STEPS_EN)),
    "payment_terms": _fixed(lambda ctx: _pick(ctx, v.PAYMENT_TERMS_ZH, v.PAYMENT_TERMS_EN)),
    "nickname": _fixed(lambda ctx: f"小{ctx.person()[2][-1]}" if ctx.zh else ctx.person()[2]),
    "colleague": _fixed(
        lambda ctx: ctx.users[ctx.rng.randrange(len(ctx.users))] if ctx.users else (ctx.owner or "system")
    ),
    "period": _fixed(lambda ctx: _period_text(ctx)),
    "quarter": _fixed(lambda ctx: f"{_period(ctx)[0]}-Q{_period(ctx)[1]}"),
    "dosage_form": _fixed(lambda ctx: _pick(ctx, v.DOSAGE_FORMS_ZH, v.DOSAGE_FORMS_EN)),
    "job_title": _fixed(lambda ctx: _pick(ctx, v.JOB_TITLES_ZH, v.JOB_TITLES_EN)),
    "subject": _subject,
    "record_title": lambda t: _title_for(t.role, t.entity, t.hints),
    "city": _fixed(lambda ctx: ctx.city()[0]),
    "province": _fixed(lambda ctx: ctx.city()[1]),
    "country": _fixed(lambda ctx: ctx.city()[2]),
    "region": _fixed(lambda ctx: _pick(ctx, v.REGIONS_ZH, v.REGIONS_EN)),
    "address": _fixed(lambda ctx: ctx.address()),
    "postcode": _fixed(
        lambda ctx: f"{ctx.rng.randint(100000, 899999)}" if ctx.zh else f"{ctx.rng.randint(10000, 99999)}"
    ),
    "industry": _fixed(
        lambda ctx: ctx.company()[2].replace(" ", "")[-2:] if ctx.zh else ctx.company()[2].split(" ")[-1]
    ),
    "department": _department,
    "gender": _fixed(lambda ctx: ctx.rng.choice(("男", "女") if ctx.zh else ("male", "female"))),
    "source": _fixed(lambda ctx: _pick(ctx, v.SOURCES_ZH, v.SOURCES_EN)),
    "reason": _fixed(lambda ctx: _pick(ctx, v.REASONS_ZH, v.REASONS_EN)),
    "brand": _fixed(lambda ctx: ctx.company()[2]),
    "owner": _fixed(lambda ctx: ctx.owner or "system"),
    "notes": _fixed(_notes),
    TEXT_FALLBACK: _labelled,
}


def text_generator(
    field: FieldDef, entity: EntityDef, role: EntityRole, names: set[str], hints: frozenset[str]
) -> Generator:
    """The generator of a text field: the first row of ``TEXT_RULES`` its name matches."""
    rule = first_match(TEXT_RULES, names, field.type, person=role.kind == "person", label=field.label.en)
    return TEXT_GENERATORS[rule.generator if rule is not None else TEXT_FALLBACK](
        TextField(field, entity, role, names, hints)
    )


def fit_text(field: FieldDef, generate: Generator) -> Generator:
    """Cut values to ``max_length`` and pad them to ``min_length``."""
    high = field.max_length
    low = field.min_length or 0
    if field.type in ("email", "url", "phone"):
        return generate  # cutting would break the format; an overlong one is left out later
    if high is None and not low:
        return generate

    def fitted(ctx: RecordContext) -> str:
        value: str = generate(ctx)
        if high is not None and len(value) > high:
            value = value[:high].rstrip()
        if len(value) < low:
            value = value + "0" * (low - len(value))
        return value

    return fitted
