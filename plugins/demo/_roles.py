"""What an entity is for, guessed from its name and fields, and how many records it gets.

Masters (accounts, products) are few, people more, transactions the bulk; lookup tables
(tiers, categories) get a handful. The guess reads the words of the entity's name, last word
first (``visit_plan`` is a plan, ``order_line`` a transaction line), then its place in the
reference graph when no word is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.metadata import Definitions, EntityDef

Kind = Literal[
    "person",
    "org",
    "hospital",
    "store",
    "product",
    "campaign",
    "deal",
    "lookup",
    "unit",
    "plan",
    "activity",
    "transaction",
    "generic",
]

_WORDS: dict[str, Kind] = {
    **dict.fromkeys(
        (
            "contact",
            "member",
            "person",
            "people",
            "stakeholder",
            "employee",
            "doctor",
            "patient",
            "staff",
            "agent",
            "student",
            "guest",
            "lead",
            "user",
            "decision",
            "influencer",
        ),
        "person",
    ),
    **dict.fromkeys(
        (
            "account",
            "company",
            "organization",
            "organisation",
            "org",
            "client",
            "supplier",
            "vendor",
            "partner",
            "distributor",
            "dealer",
            "competitor",
            "agency",
            "enterprise",
            "customer",
        ),
        "org",
    ),
    **dict.fromkeys(("hospital", "clinic"), "hospital"),
    **dict.fromkeys(("store", "shop", "pharmacy", "outlet", "terminal", "retailer", "branch"), "store"),
    **dict.fromkeys(
        ("product", "sku", "material", "goods", "drug", "medicine", "catalog", "catalogue", "brand", "package"),
        "product",
    ),
    **dict.fromkeys(("campaign", "event", "meeting", "promotion", "seminar", "conference", "exhibition"), "campaign"),
    **dict.fromkeys(
        (
            "opportunity",
            "deal",
            "project",
            "contract",
            "agreement",
            "quote",
            "quotation",
            "order",
            "proposal",
            "tender",
            "bid",
            "subscription",
        ),
        "deal",
    ),
    **dict.fromkeys(("level", "tier", "grade", "rank", "class", "segment", "category", "type", "stage"), "lookup"),
    **dict.fromkeys(("team", "territory", "region", "zone", "area"), "unit"),
    **dict.fromkeys(
        (
            "plan",
            "target",
            "goal",
            "budget",
            "forecast",
            "milestone",
            "report",
            "document",
            "map",
            "assessment",
            "evaluation",
        ),
        "plan",
    ),
    **dict.fromkeys(
        (
            "activity",
            "visit",
            "call",
            "task",
            "note",
            "interaction",
            "followup",
            "log",
            "checkin",
            "ticket",
            "case",
            "request",
            "complaint",
            "expense",
            "claim",
            "feedback",
            "survey",
            "history",
            "change",
        ),
        "activity",
    ),
    **dict.fromkeys(
        (
            "purchase",
            "consumption",
            "transaction",
            "ledger",
            "payment",
            "receivable",
            "invoice",
            "line",
            "item",
            "points",
            "usage",
            "redemption",
            "coupon",
            "card",
            "sale",
            "sales",
            "bill",
            "recharge",
            "topup",
            "entry",
        ),
        "transaction",
    ),
}
#: Share of the requested size per kind (relative; lookups are counted apart).
_WEIGHTS: Mapping[Kind, float] = {
    "person": 14.0,
    "org": 5.0,
    "hospital": 4.0,
    "store": 5.0,
    "product": 1.0,
    "campaign": 0.6,
    "deal": 7.0,
    "plan": 2.5,
    "activity": 22.0,
    "transaction": 26.0,
    "generic": 6.0,
}
_SPECIAL_WEIGHTS: Mapping[str, float] = {
    "member": 12.0,
    "lead": 10.0,
    "stakeholder": 6.0,
    "competitor": 0.4,
    "milestone": 3.0,
    "document": 3.0,
    "department": 3.0,
    "item": 20.0,
    "line": 20.0,
    "card": 10.0,
    "coupon": 12.0,
    "request": 5.0,
    "ticket": 5.0,
    "case": 5.0,
    "complaint": 4.0,
    "claim": 4.0,
    "expense": 6.0,
}
#: Records of the sales organisation's own units, whatever the size.
_UNIT_RECORDS: Mapping[str, int] = {"team": 6, "territory": 12, "region": 7, "zone": 7, "area": 7}
_MEDICAL = frozenset({"pharma", "pharmaceutical", "medical", "hospital", "health"})
#: Fields whose presence makes a "customer" a person rather than a company.
_PERSONAL_FIELDS = frozenset(
    {"birthday", "birth_date", "date_of_birth", "dob", "gender", "sex", "first_name", "last_name", "age", "nickname"}
)
#: Records of a lookup entity (tiers, categories): a small fixed number.
LOOKUP_RECORDS = 5


def words(name: str) -> list[str]:
    return [w for w in name.lower().split("_") if w]


@dataclass(frozen=True)
class EntityRole:
    kind: Kind
    #: the matched word ("member", "terminal"); "" when the graph decided
    word: str
    weight: float
    #: a fixed number of records (lookups, teams) instead of a share of the size
    fixed: int | None = None


def classify(entity: EntityDef, definitions: Definitions, hints: frozenset[str] = frozenset()) -> EntityRole:
    """The kind of ``entity``; ``hints`` are words of the preset name (``pharma``) that turn
    a terminal into a hospital rather than a store."""
    parts = words(entity.name)
    if parts and parts[-1] in ("id", "record", "records", "info"):
        parts = parts[:-1] or parts
    for word in reversed(parts):
        kind = _WORDS.get(word) or _WORDS.get(word.rstrip("s"))
        if kind is None:
            continue
        if word == "customer" and _PERSONAL_FIELDS & set(entity.fields):
            kind = "person"
        if kind == "store" and word == "terminal" and hints & _MEDICAL:
            kind = "hospital"
        if kind == "lookup" and entity.references():
            kind = "generic"  # a "department" or "stage" with references is data, not a lookup
        if kind == "lookup":
            # a lookup with a unique list of choices (levels) gets one record per choice
            choices = [len(f.choices) for f in entity.fields.values() if f.type == "enum" and f.unique and f.choices]
            return EntityRole("lookup", word, 0.0, min(choices) if choices else LOOKUP_RECORDS)
        if kind == "unit":
            return EntityRole("unit", word, 0.0, _UNIT_RECORDS[word])
        weight = _SPECIAL_WEIGHTS.get(word, _WEIGHTS[kind])
        return EntityRole(kind, word, weight)
    return EntityRole("generic", "", _graph_weight(entity, definitions))


def _graph_weight(entity: EntityDef, definitions: Definitions) -> float:
    referenced = any(
        f.target == entity.name and other.name != entity.name
        for other in definitions.entities.values()
        for f in other.references()
    )
    refers = any(f.target != entity.name for f in entity.references())
    if referenced and not refers:
        return 3.0  # a master nobody points from
    if referenced:
        return 8.0
    if refers:
        return 18.0  # a leaf: the transactions of something
    return 3.0


def split_size(size: int, roles: Mapping[str, EntityRole]) -> dict[str, int]:
    """Records per entity so that they add up to about ``size`` (every entity gets one)."""
    lookups = {name for name, role in roles.items() if role.fixed is not None}
    counts = {name: min(roles[name].fixed or 1, max(1, size // 20)) for name in lookups}
    rest = max(size - sum(counts.values()), 0)
    total = sum(role.weight for name, role in roles.items() if name not in lookups) or 1.0
    for name, role in roles.items():
        if name not in lookups:
            counts[name] = max(1, round(rest * role.weight / total))
    return counts
