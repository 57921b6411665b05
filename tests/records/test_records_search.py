"""Free-text search and filters through a reference, on SQLite and PostgreSQL, within the
user's read scope and without hidden fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.runtime import CrmEngine
from tests.records.records_support import set_up
from tests.support import SYSTEM


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    ann, bob = "ann", "bob"
    accounts = [
        ({"name": "Acme Industries", "city": "Paris", "secret": "golden", "notes": "100% reliable"}, ann),
        ({"name": "Globex", "city": "paris", "notes": "Big_Client"}, ann),
        ({"name": "ACME Labs", "city": "上海", "secret": "none"}, bob),
        ({"name": "Initech", "city": "Lyon"}, bob),
    ]
    for data, owner in accounts:
        engine.records.create("account", {**data, "owner": owner}, actor=SYSTEM)
    for title, account, user in [("Anvils", 1, ann), ("Rockets", 2, ann), ("Lab kit", 3, bob), ("Staplers", 4, bob)]:
        engine.records.create("deal", {"title": title, "account": account, "owner": user}, actor=SYSTEM)
    return engine


def _names(engine: CrmEngine, entity: str = "account", user: str | None = None, **kwargs: Any) -> list[str]:
    who = engine.users.get(user) if user else SYSTEM
    page = engine.records.list(entity, actor=who, sort="id", **kwargs)
    key = "name" if entity == "account" else "title"
    return [r[key] for r in page.items]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("acme", ["Acme Industries", "ACME Labs"]),
        ("ACME", ["Acme Industries", "ACME Labs"]),
        ("paris", ["Acme Industries", "Globex"]),
        ("acme paris", ["Acme Industries"]),
        ("上海", ["ACME Labs"]),
        ("100%", ["Acme Industries"]),
        ("big_client", ["Globex"]),
        ("b_g", []),
        ("%", ["Acme Industries"]),
        ("  ", ["Acme Industries", "Globex", "ACME Labs", "Initech"]),
        ("golden", ["Acme Industries"]),
    ],
)
def test_search_finds_words_in_text_fields_ignoring_case(crm: CrmEngine, search: str, expected: list[str]) -> None:
    assert _names(crm, search=search) == expected


def test_search_respects_scope_hidden_fields_and_filters(crm: CrmEngine) -> None:
    assert _names(crm, user="ann", search="acme") == ["Acme Industries"]
    assert _names(crm, user="bob", search="acme") == ["ACME Labs"]
    assert _names(crm, user="ann", search="golden") == [], "a hidden field is never searched"
    assert _names(crm, search="acme", where={"city": "Paris"}) == ["Acme Industries"]
    # statements are kept per shape: the next search runs with its own words
    assert _names(crm, search="initech") == ["Initech"]
    assert crm.records.list("account", search="paris", limit=1, actor=SYSTEM).total == 2


@pytest.mark.parametrize(
    ("search", "code"), [("x" * 201, "max_length"), ("a\x00", "invalid_character"), ("a " * 9, "too_many_words")]
)
def test_bad_searches_name_q(crm: CrmEngine, search: str, code: str) -> None:
    with pytest.raises(UsageError) as caught:
        crm.records.list("account", search=search, actor=SYSTEM)
    assert [(p.field, p.code) for p in caught.value.problems] == [("q", code)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"account.name": "Globex"}, ["Rockets"]),
        ({"account.name": {"contains": "acme"}}, ["Anvils", "Lab kit"]),
        ({"account.city": {"in": ["Lyon", "Paris"]}}, ["Anvils", "Staplers"]),
        ({"account.owner": "bob"}, ["Lab kit", "Staplers"]),
        ({"account.id": 2}, ["Rockets"]),
        ({"or": [{"account.name": "Globex"}, {"title": "Staplers"}]}, ["Rockets", "Staplers"]),
        ({"not": {"account.city": "Lyon"}}, ["Anvils", "Rockets", "Lab kit"]),
    ],
)
def test_filter_through_a_reference(crm: CrmEngine, where: dict[str, Any], expected: list[str]) -> None:
    assert _names(crm, "deal", where=where) == expected


def test_filter_through_a_reference_stays_in_the_read_scope(crm: CrmEngine) -> None:
    # bob's deal on ann's account: ann's account is outside bob's scope, so no match
    crm.records.create("deal", {"title": "Cross", "account": 1, "owner": "bob"}, actor=SYSTEM)
    assert _names(crm, "deal", user="bob", where={"account.city": "Paris"}) == []
    assert _names(crm, "deal", user="bob", where={"account.name": {"contains": "acme"}}) == ["Lab kit"]
    assert _names(crm, "deal", user="ann", where={"account.name": {"contains": "acme"}}) == ["Anvils"]
    assert _names(crm, "deal", where={"account.city": "Paris"}) == ["Anvils", "Cross"]
    with pytest.raises(UsageError) as caught:
        crm.records.list("deal", where={"account.secret": "golden"}, actor=crm.users.get("ann"))
    assert [(p.pointer, p.code) for p in caught.value.problems] == [("/account.secret", "unknown_field")]


@pytest.mark.parametrize(
    ("where", "pointer"),
    [
        ({"account.nmae": "x"}, "/account.nmae"),
        ({"title.name": "x"}, "/title.name"),
        ({"nothing.name": "x"}, "/nothing.name"),
        ({"account.name.first": "x"}, "/account.name.first"),
        ({"and": [{"account.cty": "x"}]}, "/and/0/account.cty"),
    ],
)
def test_unknown_reference_paths_name_their_pointer(crm: CrmEngine, where: dict[str, Any], pointer: str) -> None:
    with pytest.raises(UsageError) as caught:
        crm.records.list("deal", where=where, actor=SYSTEM)
    assert [(p.pointer, p.code) for p in caught.value.problems] == [(pointer, "unknown_field")]
    assert where_key(where) in caught.value.message


def where_key(where: dict[str, Any]) -> str:
    key = next(iter(where))
    return key if key != "and" else next(iter(where["and"][0]))
