"""The name-to-generator table of the demo data, row by row: a field name that reaches each
row (and no earlier one), and what a field no row matches gets."""

from __future__ import annotations

import pytest

from plugins.demo._heuristics import (
    DATE_RULES,
    NUMBER_RULES,
    RANGE_RULES,
    TEXT_RULES,
    NameRule,
    first_match,
)
from plugins.demo._roles import words
from plugins.demo._texts import TEXT_GENERATORS
from plugins.demo._values import MOMENTS

TABLES: dict[str, tuple[NameRule, ...]] = {
    "text": TEXT_RULES,
    "number": NUMBER_RULES,
    "range": RANGE_RULES,
    "date": DATE_RULES,
}

#: (table, row, field name, field type, of a person's entity, English label)
CASES: list[tuple[str, int, str, str, bool, str]] = [
    ("text", 0, "contact_mail", "string", False, ""),
    ("text", 0, "backup", "email", False, ""),
    ("text", 1, "fax", "string", False, ""),
    ("text", 1, "hotline", "phone", False, ""),
    ("text", 2, "homepage", "string", False, ""),
    ("text", 2, "docs", "url", False, ""),
    ("text", 3, "first_name", "string", True, ""),
    ("text", 4, "surname", "string", True, ""),
    ("text", 5, "contact_name", "string", False, ""),
    ("text", 6, "employer", "string", True, ""),
    ("text", 7, "customer_name", "string", False, ""),
    ("text", 8, "hospital", "string", False, ""),
    ("text", 9, "pharmacy", "string", False, ""),
    ("text", 10, "drug", "string", False, ""),
    ("text", 11, "product_code", "string", False, ""),
    ("text", 12, "wechat_id", "string", True, ""),
    ("text", 13, "qq", "string", True, ""),
    ("text", 14, "uom", "string", False, ""),
    ("text", 15, "category", "string", False, ""),
    ("text", 10, "product_line", "string", False, ""),  # a product, never a category
    ("text", 16, "specs", "string", False, ""),
    ("text", 17, "next_action", "string", False, ""),
    ("text", 18, "payment_terms", "string", False, ""),
    ("text", 19, "nickname", "string", True, ""),
    ("text", 20, "speaker", "string", False, ""),
    ("text", 21, "staff", "string", False, ""),
    ("text", 22, "our_side", "string", False, ""),
    ("text", 23, "member", "string", False, "Member (user)"),
    ("text", 24, "month", "string", False, ""),
    ("text", 25, "quarter", "string", False, ""),
    ("text", 26, "visit_goal", "string", False, ""),
    ("text", 27, "dosage", "string", False, ""),
    ("text", 28, "position", "string", True, ""),
    ("text", 29, "title", "string", True, ""),
    ("text", 30, "name", "string", True, ""),
    ("text", 31, "subject", "string", False, ""),
    ("text", 32, "title", "string", False, ""),
    ("text", 33, "city", "string", False, ""),
    ("text", 34, "state", "string", False, ""),
    ("text", 35, "country", "string", False, ""),
    ("text", 36, "sales_region", "string", False, ""),
    ("text", 37, "address", "string", False, ""),
    ("text", 38, "zip", "string", False, ""),
    ("text", 39, "industry", "string", False, ""),
    ("text", 40, "department", "string", True, ""),
    ("text", 41, "gender", "string", True, ""),
    ("text", 42, "lead_source", "string", False, ""),
    ("text", 43, "lost_reason", "string", False, ""),
    ("text", 44, "brand", "string", False, ""),
    ("text", 45, "assignee", "string", False, ""),
    ("text", 46, "remarks", "string", False, ""),
    ("text", 46, "background", "text", False, ""),
    ("number", 0, "employees", "integer", False, ""),
    ("number", 1, "annual_revenue", "money", False, ""),
    ("number", 2, "potential", "money", False, ""),
    ("number", 3, "budget", "money", False, ""),
    ("number", 4, "unit_price", "money", False, ""),
    ("number", 5, "quantity", "integer", False, ""),
    ("number", 6, "points", "integer", False, ""),
    ("number", 7, "credit_limit", "money", False, ""),
    ("number", 8, "amount", "money", False, ""),
    ("range", 0, "multiplier", "decimal", False, ""),
    ("range", 1, "probability", "decimal", False, ""),
    ("range", 2, "discount", "decimal", False, ""),
    ("range", 3, "age", "integer", False, ""),
    ("range", 4, "founded_year", "integer", False, ""),
    ("range", 5, "rating", "integer", False, ""),
    ("range", 6, "duration_days", "integer", False, ""),
    ("date", 0, "birthday", "date", True, ""),
    ("date", 1, "founded_on", "date", False, ""),
    ("date", 2, "expected_close_date", "date", False, ""),
    ("date", 3, "last_contacted_at", "datetime", False, ""),
    ("date", 4, "start_date", "date", False, ""),
]

#: Fields no row of their table matches (the table's fallback gives their values).
UNMATCHED: list[tuple[str, str, str]] = [
    ("text", "flavour", "string"),
    ("number", "weight", "decimal"),
    ("range", "amount", "money"),
    ("date", "visit_date", "date"),
]


@pytest.mark.parametrize(
    ("table", "row", "name", "field_type", "person", "label"),
    CASES,
    ids=[f"{table}-{row}-{name}-{field_type}" for table, row, name, field_type, _p, _l in CASES],
)
def test_a_name_reaches_its_row(table: str, row: int, name: str, field_type: str, person: bool, label: str) -> None:
    rules = TABLES[table]
    assert first_match(rules, set(words(name)), field_type, person=person, label=label) is rules[row]


@pytest.mark.parametrize(("table", "name", "field_type"), UNMATCHED, ids=[f"{t}-{n}" for t, n, _ in UNMATCHED])
def test_a_name_no_row_matches(table: str, name: str, field_type: str) -> None:
    assert first_match(TABLES[table], set(words(name)), field_type) is None


def test_every_row_has_a_case() -> None:
    covered = {(table, row) for table, row, *_ in CASES}
    assert covered == {(table, row) for table, rules in TABLES.items() for row in range(len(rules))}


@pytest.mark.parametrize(("table", "makers"), [("text", TEXT_GENERATORS), ("date", MOMENTS)], ids=["text", "date"])
def test_every_generator_a_row_names_exists(table: str, makers: dict[str, object]) -> None:
    assert {rule.generator for rule in TABLES[table]} <= set(makers)


@pytest.mark.parametrize(
    ("row", "name", "person", "label"),
    [(29, "title", False, ""), (30, "name", False, ""), (23, "member", False, "Member")],
    ids=["job-title-needs-a-person", "person-name-needs-a-person", "colleague-needs-user-in-the-label"],
)
def test_conditions_other_than_words(row: int, name: str, person: bool, label: str) -> None:
    """A row that needs a person's entity or a label word is not reached without them."""
    assert not TEXT_RULES[row].matches(set(words(name)), "string", person=person, label=label)
