"""What a field is for, read from the words of its name: one table of rows, first match wins.

Each :class:`NameRule` says which words (and field types, and kinds of entity) make a field
of one type family get one generator. The generators themselves live next to their values
(``_texts``, ``_values``); this module only decides, so a new convention of names is one row
here plus, when it needs a new kind of value, one generator there. The rows are checked one
by one in ``tests/demo/test_demo_heuristics.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

#: ``text``: string, text, email, phone, url; ``number``: integer, decimal, money (the
#: usual size of a value); ``range``: numbers on a scale (rates, ratings, ages); ``date``:
#: date and datetime (a moment relative to the record's creation).
Family = Literal["text", "number", "range", "date"]


@dataclass(frozen=True)
class NameRule:
    """Words of a field name (and its type, its entity's kind) → a generator's name.

    A field matches when its type is one of ``types``, or when every condition given holds:
    one of ``any_of`` and one of ``also_any`` among its words, all of ``all_of``, none of
    ``none_of``, its entity a person's (``person``) and ``label_word`` in its English label.
    """

    family: Family
    generator: str
    any_of: frozenset[str] = frozenset()
    also_any: frozenset[str] = frozenset()
    all_of: frozenset[str] = frozenset()
    none_of: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    person: bool | None = None
    label_word: str | None = None

    def matches(self, names: set[str], field_type: str, *, person: bool = False, label: str = "") -> bool:
        """Whether a field with the words ``names`` of type ``field_type`` is this row's."""
        if field_type in self.types:
            return True
        return (
            (not self.any_of or not self.any_of.isdisjoint(names))
            and (not self.also_any or not self.also_any.isdisjoint(names))
            and self.all_of <= names
            and self.none_of.isdisjoint(names)
            and (self.person is None or self.person == person)
            and (self.label_word is None or self.label_word in label.lower())
        )


def _rule(
    family: Family,
    generator: str,
    *any_of: str,
    also: Iterable[str] = (),
    every: Iterable[str] = (),
    none: Iterable[str] = (),
    types: Iterable[str] = (),
    person: bool | None = None,
    label: str | None = None,
) -> NameRule:
    return NameRule(
        family,
        generator,
        frozenset(any_of),
        frozenset(also),
        frozenset(every),
        frozenset(none),
        frozenset(types),
        person,
        label,
    )


_CODE_WORDS = ("code", "no", "number")
_NOTES_WORDS = (
    "description", "notes", "note", "comment", "comments", "remark", "remarks", "summary", "memo", "feedback",
    "content", "detail", "details", "result", "outcome", "minutes", "body", "situation", "analysis", "plan", "strategy",
)  # fmt: skip

#: Text fields, in order: the first row that matches gives the generator (``_texts``).
TEXT_RULES: tuple[NameRule, ...] = (
    _rule("text", "email", "email", "mail", types=("email",)),
    _rule("text", "phone", "phone", "mobile", "tel", "telephone", "fax", "cellphone", "cell", types=("phone",)),
    _rule("text", "website", "website", "url", "homepage", "site", "link", "web", types=("url",)),
    _rule("text", "given_name", "first", "given", "firstname", also=("name", "firstname")),
    _rule("text", "family_name", "last", "surname", "family", "lastname"),
    _rule("text", "person_name", "contact", "person", "doctor", "member", "patient", "full", every=("name",)),
    _rule("text", "company", "company", "organization", "organisation", "employer", "firm", "corporation"),
    _rule("text", "company", "account", "customer", "client", every=("name",)),
    _rule("text", "hospital", "hospital"),
    _rule("text", "store", "store", "shop", "pharmacy"),
    _rule("text", "product", "product", "sku", "model", "drug", "goods", none=_CODE_WORDS),
    _rule("text", "code", "code", "no", "number", "num", "serial", "sn", "ref", "reference", "barcode", "invoice"),
    _rule("text", "wechat", "wechat", "weixin", "wx"),
    _rule("text", "qq", "qq"),
    _rule("text", "unit", "unit", "uom"),
    _rule("text", "category", "category", "family", none=("name",)),
    _rule("text", "specification", "specification", "spec", "specs"),
    _rule("text", "next_step", "next", "action", "todo", none=("date", "at", "on")),
    _rule("text", "payment_terms", "payment", "terms"),
    _rule("text", "nickname", "nickname", "alias", "nick"),
    _rule(
        "text", "person_name", "speaker", "doctor", "expert", "lecturer", "presenter", "host", "physician", "referee"
    ),
    _rule("text", "colleague", "colleague", "staff", "employee"),
    _rule("text", "colleague", "person", "contact", "rep", "owner", "people", "side", every=("our",)),
    _rule("text", "colleague", every=("member",), label="user"),
    _rule("text", "period", "period", "month", "yearmonth", "ym"),
    _rule("text", "quarter", "quarter"),
    _rule("text", "next_step", "purpose", "objective", "goal", "aim"),
    _rule("text", "dosage_form", "dosage", "formulation"),
    _rule("text", "job_title", "job", "position", "post", "occupation"),
    _rule("text", "job_title", "title", "role", person=True),
    _rule("text", "person_name", every=("name",), person=True),
    _rule("text", "subject", "subject", "topic", "headline"),
    _rule("text", "record_title", "name", "title", "fullname", "caption"),
    _rule("text", "city", "city", "town"),
    _rule("text", "province", "province", "state"),
    _rule("text", "country", "country", "nation"),
    _rule("text", "region", "region", "area", "territory", "district", "zone"),
    _rule("text", "address", "address", "street", "location", "addr"),
    _rule("text", "postcode", "zip", "postcode", "postal"),
    _rule("text", "industry", "industry", "sector"),
    _rule("text", "department", "department", "dept", "division"),
    _rule("text", "gender", "gender", "sex"),
    _rule("text", "source", "source", "channel"),
    _rule("text", "reason", "reason", "cause"),
    _rule("text", "brand", "brand"),
    _rule("text", "owner", "assignee", "rep", "salesperson", "handler", "responsible", "manager", "owner", "user"),
    _rule("text", "notes", *_NOTES_WORDS, types=("text",)),
)
#: A text field no row matches: ``"<label> <n>"`` (the generator ``labelled``).
TEXT_FALLBACK = "labelled"

#: The usual size of a number (``_values``); the first row that matches wins.
NUMBER_RULES: tuple[NameRule, ...] = (
    _rule("number", "headcount", "employees", "headcount", "staff", "employee", "workforce"),
    _rule("number", "revenue", "revenue", "turnover", "income", "gmv"),
    _rule("number", "potential", "potential"),
    _rule("number", "budget", "budget"),
    _rule("number", "price", "price", "unit"),
    _rule("number", "quantity", "quantity", "qty", "units", "count", "volume", "pieces", "boxes"),
    _rule("number", "points", "points", "bonus", "credits"),
    _rule("number", "balance", "limit", "credit", "balance", "deposit", "stored"),
    _rule(
        "number", "money",
        "amount", "total", "value", "spend", "spent", "payment", "paid", "cost", "fee", "expense", "sales", "size",
        "contract", "receivable", "due", "invoice",
    ),
)  # fmt: skip

#: Numbers on a scale without bounds in the definition (``_values``): the range they take.
RANGE_RULES: tuple[NameRule, ...] = (
    _rule("range", "multiplier", "per", "multiplier", "factor", "coefficient", "times"),
    _rule("range", "percent", "probability", "percent", "percentage", "pct"),
    _rule("range", "rate", "rate", "ratio", "share", "margin", "discount"),
    _rule("range", "age", "age"),
    _rule("range", "year", "year", "founded", "established"),
    _rule(
        "range", "rating",
        "score", "rating", "stars", "influence", "level", "priority", "rank", "grade", "importance", "strength",
        "attitude", "closeness", "satisfaction", "intimacy", "support", "power",
    ),
    _rule("range", "duration", "days", "duration", "hours", "minutes", "term", "months", "period"),
)  # fmt: skip

#: Words of a moment after the record's creation (a due date, an expected close).
AFTER_WORDS = (
    "due", "deadline", "expected", "close", "closing", "end", "expiry", "expire", "expires", "until", "left", "leave",
    "ended", "finished", "completed", "resolved", "closed", "done", "planned", "next", "follow", "renewal", "delivery",
    "maturity", "valid", "target", "estimated",
)  # fmt: skip
#: Words of a moment just before the record's creation (a start, a sign-up).
BEFORE_WORDS = (
    "start", "begin", "since", "join", "joined", "registered", "signed", "opened", "hire", "first", "enrolled",
    "activated", "issued",
)  # fmt: skip

#: Dates and times (``_values``): when the moment falls; none matching: just before creation.
DATE_RULES: tuple[NameRule, ...] = (
    _rule("date", "birth", "birth", "birthday", "dob", "born", "birthdate"),
    _rule("date", "founded", "founded", "established", "incorporated"),
    _rule("date", "after", *AFTER_WORDS),
    _rule("date", "latest", "last", "latest", "recent"),
    _rule("date", "before", *BEFORE_WORDS),
)
#: A date field no row matches: a moment of the two days before the record's creation.
DATE_FALLBACK = "around"


def first_match(
    rules: tuple[NameRule, ...], names: set[str], field_type: str, *, person: bool = False, label: str = ""
) -> NameRule | None:
    """The first row of ``rules`` a field matches, or None."""
    return next((r for r in rules if r.matches(names, field_type, person=person, label=label)), None)
