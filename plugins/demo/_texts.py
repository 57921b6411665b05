"""Text values by field name: names, companies, places, codes, subjects, notes.

The words of a field's name pick the generator (``email``, ``city``, ``title``...), and the
kind of its entity settles what a name or title is (a contact's name is a person's, an
opportunity's title a deal's). Values come back in the record's language (``ctx.zh``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.metadata import EntityDef, FieldDef

from . import _vocabulary as v
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


def _title_for(role: EntityRole, entity: EntityDef, hints: frozenset[str]) -> Generator:
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
    if kind == "unit":
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
    if kind == "lookup":
        tiers = role.word in ("level", "tier", "grade", "rank", "class", "segment")
        # one language for the whole table: it is a list users pick from
        names = v.TIERS_ZH if entity.label.zh else v.TIERS_EN
        label = label_zh

        def lookup(ctx: RecordContext) -> str:
            if tiers:
                return names[ctx.seq % len(names)] + ("" if ctx.seq < len(names) else f" {ctx.seq // len(names) + 1}")
            return f"{label} {chr(65 + ctx.seq % 26)}{ctx.seq // 26 or ''}"

        return lookup
    if kind == "plan":

        def plan(ctx: RecordContext) -> str:
            year, quarter = _period(ctx)
            return f"{year}年Q{quarter}{label_zh}" if ctx.zh else f"Q{quarter} {year} {label_en}"

        return plan
    if role.word == "department":
        medical = bool(hints & {"pharma", "medical", "hospital", "health"})
        zh_names = v.HOSPITAL_DEPARTMENTS_ZH if medical else v.DEPARTMENTS_ZH
        en_names = v.HOSPITAL_DEPARTMENTS_EN if medical else v.DEPARTMENTS_EN
        return lambda ctx: _pick(ctx, zh_names, en_names)
    if kind == "activity":
        if role.word in _COMPLAINT_WORDS:
            return lambda ctx: _pick(ctx, v.COMPLAINTS_ZH, v.COMPLAINTS_EN)
        return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)
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


def text_generator(
    field: FieldDef, entity: EntityDef, role: EntityRole, names: set[str], hints: frozenset[str]
) -> Generator:
    kind = field.type
    person_entity = role.kind == "person"
    if kind == "email" or has(names, "email", "mail"):
        if person_entity and role.word in ("member", "customer", "patient", "guest", "student"):
            return lambda ctx: ctx.personal_email()
        if person_entity:
            return lambda ctx: ctx.work_email()
        return lambda ctx: f"{ctx.rng.choice(('info', 'sales', 'contact', 'service'))}@{ctx.company()[1]}"
    if kind == "phone" or has(names, "phone", "mobile", "tel", "telephone", "fax", "cellphone", "cell"):
        if person_entity or has(names, "mobile", "cell", "cellphone"):
            return lambda ctx: ctx.mobile()
        return lambda ctx: ctx.landline()
    if kind == "url" or has(names, "website", "url", "homepage", "site", "link", "web"):
        return lambda ctx: f"https://www.{ctx.company()[1]}"
    if has(names, "first", "given", "firstname") and has(names, "name", "firstname"):
        return lambda ctx: ctx.person()[2]
    if has(names, "last", "surname", "family", "lastname"):
        return lambda ctx: ctx.person()[3]
    if "name" in names and has(names, "contact", "person", "doctor", "member", "patient", "full"):
        return lambda ctx: ctx.person()[0]
    if has(names, "company", "organization", "organisation", "employer", "firm", "corporation") or (
        "name" in names and has(names, "account", "customer", "client")
    ):
        return lambda ctx: ctx.company()[0]
    if has(names, "hospital"):
        return lambda ctx: ctx.hospital()
    if has(names, "store", "shop", "pharmacy"):
        return lambda ctx: ctx.store()
    if has(names, "product", "sku", "model", "drug", "goods") and not has(names, "code", "no", "number"):
        return _product
    if has(names, "code", "no", "number", "num", "serial", "sn", "ref", "reference", "barcode", "invoice"):
        return _code(entity)
    if has(names, "wechat", "weixin", "wx"):
        return lambda ctx: f"wxid_{ctx.person()[1].replace('.', '')[:12]}{ctx.rng.randint(10, 999)}"
    if has(names, "qq"):
        return lambda ctx: f"{ctx.rng.randint(10_000_000, 2_999_999_999)}"
    if has(names, "unit", "uom"):
        return lambda ctx: _pick(ctx, v.UNITS_ZH, v.UNITS_EN)
    if (has(names, "category", "family") or {"product", "line"} <= names) and not has(names, "name"):
        return lambda ctx: _pick(ctx, v.CATEGORIES_ZH, v.CATEGORIES_EN)
    if has(names, "specification", "spec", "specs"):

        def specification(ctx: RecordContext) -> str:
            rng = ctx.rng
            return f"{rng.choice('AKMSTX')}{rng.randint(10, 99)}0-{rng.choice(('S', 'M', 'L', 'Pro', 'Max'))}"

        return specification
    if has(names, "next", "action", "todo") and not has(names, "date", "at", "on"):
        return lambda ctx: _pick(ctx, v.NEXT_STEPS_ZH, v.NEXT_STEPS_EN)
    if has(names, "payment", "terms"):
        return lambda ctx: _pick(ctx, v.PAYMENT_TERMS_ZH, v.PAYMENT_TERMS_EN)
    if has(names, "nickname", "alias", "nick"):
        return lambda ctx: f"小{ctx.person()[2][-1]}" if ctx.zh else ctx.person()[2]
    if has(names, "speaker", "doctor", "expert", "lecturer", "presenter", "host", "physician", "referee"):
        return lambda ctx: ctx.person()[0]
    if (
        has(names, "colleague", "staff", "employee")
        or ("our" in names and has(names, "person", "contact", "rep", "owner", "people", "side"))
        or ("member" in names and "user" in field.label.en.lower())
    ):
        return lambda ctx: ctx.users[ctx.rng.randrange(len(ctx.users))] if ctx.users else (ctx.owner or "system")
    if has(names, "period", "month", "yearmonth", "ym"):
        return lambda ctx: _period_text(ctx)
    if has(names, "quarter"):
        return lambda ctx: f"{_period(ctx)[0]}-Q{_period(ctx)[1]}"
    if has(names, "purpose", "objective", "goal", "aim"):
        return lambda ctx: _pick(ctx, v.NEXT_STEPS_ZH, v.NEXT_STEPS_EN)
    if has(names, "dosage", "formulation"):
        return lambda ctx: _pick(ctx, v.DOSAGE_FORMS_ZH, v.DOSAGE_FORMS_EN)
    if has(names, "job", "position", "post", "occupation") or (person_entity and has(names, "title", "role")):
        return lambda ctx: _pick(ctx, v.JOB_TITLES_ZH, v.JOB_TITLES_EN)
    if has(names, "name", "title", "fullname", "subject", "topic", "headline", "caption"):
        if "name" in names and person_entity:
            return lambda ctx: ctx.person()[0]
        if has(names, "subject", "topic", "headline"):
            if role.word in _COMPLAINT_WORDS:
                return lambda ctx: _pick(ctx, v.COMPLAINTS_ZH, v.COMPLAINTS_EN)
            return lambda ctx: _pick(ctx, v.SUBJECTS_ZH, v.SUBJECTS_EN)
        return _title_for(role, entity, hints)
    if has(names, "city", "town"):
        return lambda ctx: ctx.city()[0]
    if has(names, "province", "state"):
        return lambda ctx: ctx.city()[1]
    if has(names, "country", "nation"):
        return lambda ctx: ctx.city()[2]
    if has(names, "region", "area", "territory", "district", "zone"):
        return lambda ctx: _pick(ctx, v.REGIONS_ZH, v.REGIONS_EN)
    if has(names, "address", "street", "location", "addr"):
        return lambda ctx: ctx.address()
    if has(names, "zip", "postcode", "postal"):
        return lambda ctx: f"{ctx.rng.randint(100000, 899999)}" if ctx.zh else f"{ctx.rng.randint(10000, 99999)}"
    if has(names, "industry", "sector"):
        return lambda ctx: ctx.company()[2].replace(" ", "")[-2:] if ctx.zh else ctx.company()[2].split(" ")[-1]
    if has(names, "department", "dept", "division"):
        if role.kind == "hospital" or hints & {"pharma", "medical", "hospital"}:
            return lambda ctx: _pick(ctx, v.HOSPITAL_DEPARTMENTS_ZH, v.HOSPITAL_DEPARTMENTS_EN)
        return lambda ctx: _pick(ctx, v.DEPARTMENTS_ZH, v.DEPARTMENTS_EN)
    if has(names, "gender", "sex"):
        return lambda ctx: ctx.rng.choice(("男", "女") if ctx.zh else ("male", "female"))
    if has(names, "source", "channel"):
        return lambda ctx: _pick(ctx, v.SOURCES_ZH, v.SOURCES_EN)
    if has(names, "reason", "cause"):
        return lambda ctx: _pick(ctx, v.REASONS_ZH, v.REASONS_EN)
    if has(names, "brand"):
        return lambda ctx: ctx.company()[2]
    if has(names, "assignee", "rep", "salesperson", "handler", "responsible", "manager", "owner", "user"):
        return lambda ctx: ctx.owner or "system"
    if kind == "text" or has(
        names,
        "description",
        "notes",
        "note",
        "comment",
        "comments",
        "remark",
        "remarks",
        "summary",
        "memo",
        "feedback",
        "content",
        "detail",
        "details",
        "result",
        "outcome",
        "minutes",
        "body",
        "situation",
        "analysis",
        "plan",
        "strategy",
    ):
        return _notes
    if "name" in names:
        return _title_for(role, entity, hints)
    label_zh = field.label.zh or field.label.en
    return lambda ctx: f"{label_zh if ctx.zh else field.label.en} {ctx.seq + 1}"


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
