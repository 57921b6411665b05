"""One place decides which name a person meant and writes "Did you mean ...?"."""

from __future__ import annotations

import pytest

from engine.suggestions import did_you_mean, hint, suggest

KNOWN = ("amount", "close_date", "integer", "owner")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("amout", "amount"),  # closest by difflib
        ("AMOUNT", "amount"),  # the same name in lower case
        ("closeDate", "close_date"),  # camelCase of a snake_case name
        ("int", "integer"),  # an alias
        ("zzz", None),  # nothing close enough
        ("", None),
    ],
    ids=["close", "case", "camel", "alias", "none", "empty"],
)
def test_suggest_finds_the_name_meant(name: str, expected: str | None) -> None:
    assert suggest(name, KNOWN, aliases={"int": "integer"}) == expected


def test_an_alias_to_an_unknown_name_suggests_nothing_from_it() -> None:
    assert suggest("int", ("amount",), aliases={"int": "integer"}) is None


@pytest.mark.parametrize(
    ("quote", "otherwise", "name", "expected"),
    [
        ("double", "", "amout", ' Did you mean "amount"?'),
        ("repr", "", "amout", " Did you mean 'amount'?"),
        ("double", "", "zzz", ""),
        ("double", " Known: a, b.", "zzz", " Known: a, b."),
        ("repr", " Known: a, b.", "ownr", " Did you mean 'owner'?"),
    ],
)
def test_did_you_mean_writes_the_hint(quote: str, otherwise: str, name: str, expected: str) -> None:
    assert did_you_mean(name, KNOWN, quote=quote, otherwise=otherwise) == expected  # type: ignore[arg-type]


def test_hint_writes_a_suggestion_found_elsewhere() -> None:
    assert hint("deal.amount") == ' Did you mean "deal.amount"?'
    assert hint(None, otherwise=" Use one of: eq, ne.") == " Use one of: eq, ne."
