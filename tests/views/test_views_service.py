"""Saved views through the service (SQLite and PostgreSQL): relative values worked out
against a frozen clock and the user applying the view, who sees and manages which views,
and a view never showing more than its user may read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.clock import frozen
from engine.errors import InvalidViewError, NotFoundError, PermissionDeniedError, ReadOnlyViewError, UsageError
from engine.metadata import load_definitions
from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.users import User
from tests.support import SYSTEM
from tests.views import bundle

#: A Saturday late in February (UTC): this month is February, the ISO week began on the 9th.
NOW = datetime(2026, 2, 14, 23, 30, tzinfo=UTC)


@pytest.fixture
def crm(database_url: str, tmp_path: Path) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(bundle.write(tmp_path)))
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"]), ("ravi", ["rep"]), ("mona", ["manager"])):
        engine.users.create(name, roles=roles)
    yield engine
    engine.close()


def user(crm: CrmEngine, name: str) -> User:
    found = crm.users.get(name)
    assert found is not None
    return found


def deal(crm: CrmEngine, title: str, owner: str, **values: Any) -> int:
    record = crm.records.create("deal", {"title": title, "owner": owner, **values}, actor=SYSTEM)
    return int(record["id"])


def titles(crm: CrmEngine, view: str | int, who: str, *, now: datetime = NOW) -> list[str]:
    applied = crm.views.apply(view, entity="deal", user=user(crm, who), now=now)
    page = crm.records.list("deal", where=applied.where, sort=list(applied.sort), actor=user(crm, who))
    return [r["title"] for r in page.items]


def test_a_view_document_resolves_me_and_this_month_for_whoever_applies_it(crm: CrmEngine) -> None:
    deal(crm, "Feb big", "rita", amount="900", close_on="2026-02-28")
    deal(crm, "Feb small", "rita", amount="100", close_on="2026-02-01")
    deal(crm, "Jan", "rita", close_on="2026-01-31")
    deal(crm, "Mar", "rita", close_on="2026-03-01")
    deal(crm, "Ravi Feb", "ravi", close_on="2026-02-10")
    assert titles(crm, "my_deals_this_month", "rita") == ["Feb small", "Feb big"]  # sorted by close_on
    assert titles(crm, "my_deals_this_month", "ravi") == ["Ravi Feb"]
    # a month later the same view means March
    assert titles(crm, "my_deals_this_month", "rita", now=datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == ["Mar"]


def test_days_ago_on_a_datetime_field_counts_utc_days(crm: CrmEngine) -> None:
    deal(crm, "stale", "rita", last_call="2026-01-14T23:59:00+00:00")
    deal(crm, "fresh", "rita", last_call="2026-01-15T00:00:00+00:00")
    deal(crm, "never", "rita")
    assert titles(crm, "quiet_deals", "mona") == ["stale"]


def test_the_engine_clock_is_the_default_moment(crm: CrmEngine) -> None:
    deal(crm, "Feb", "rita", close_on="2026-02-20")
    rita = user(crm, "rita")
    with frozen(NOW):
        applied = crm.views.apply("my_deals_this_month", entity="deal", user=rita)
    assert applied.where["close_on"] == {"gte": "2026-02-01", "lt": "2026-03-01"}
    assert applied.where["owner"] == "rita"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"close_on": "@last_7_days"}, ["d08", "d14"]),
        ({"close_on": {"ne": "@this_week"}}, ["@home", "d01", "d08", "d16", "none"]),
        ({"close_on": {"gt": "@today"}}, ["d16"]),
        ({"close_on": {"lte": "@yesterday"}}, ["@home", "d01", "d08"]),
        ({"close_on": {"gte": "@this_week", "lt": "@next_week"}}, ["d14"]),
        ({"title": "@@home"}, ["@home"]),
    ],
)
def test_periods_with_each_operator(crm: CrmEngine, where: dict[str, Any], expected: list[str]) -> None:
    for day in ("01", "08", "14", "16"):
        deal(crm, f"d{day}", "rita", close_on=f"2026-02-{day}")
    deal(crm, "none", "rita")
    deal(crm, "@home", "rita", close_on="2025-01-01")
    made = crm.views.create(
        {"entity": "deal", "name": "probe", "where": where, "sort": ["title"]}, user=user(crm, "ada")
    )
    assert titles(crm, made.id, "ada") == expected


def test_a_rep_sees_their_own_and_shared_views_never_a_colleagues(crm: CrmEngine) -> None:
    rita, ravi, ada = user(crm, "rita"), user(crm, "ravi"), user(crm, "ada")
    mine = crm.views.create(
        {"entity": "deal", "name": "Rita's big deals", "where": {"amount": {"gte": 500}}}, user=rita
    )
    shared = crm.views.create({"entity": "deal", "name": "Team", "shared": True}, user=ada)
    own_admin = crm.views.create({"entity": "deal", "name": "Ada's"}, user=ada)
    seen = {v.key for v in crm.views.visible(user=ravi, entity="deal")}
    assert seen == {"my_deals_this_month", "quiet_deals", str(shared.id)}
    assert str(mine.id) in {v.key for v in crm.views.visible(user=rita)}
    # an administrator does not see a colleague's personal view either
    assert str(mine.id) not in {v.key for v in crm.views.visible(user=ada)}
    with pytest.raises(NotFoundError):
        crm.views.get(mine.id, user=ravi)
    with pytest.raises(NotFoundError):
        crm.views.delete(own_admin.id, user=rita)
    with pytest.raises(NotFoundError):
        crm.views.update(mine.id, {"name": "mine now"}, user=ada)


def test_only_administrators_share_and_change_shared_views(crm: CrmEngine) -> None:
    rita, ada = user(crm, "rita"), user(crm, "ada")
    with pytest.raises(PermissionDeniedError):
        crm.views.create({"entity": "deal", "name": "For all", "shared": True}, user=rita)
    shared = crm.views.create({"entity": "deal", "name": "For all", "shared": True}, user=ada)
    with pytest.raises(PermissionDeniedError):
        crm.views.update(shared.id, {"name": "Mine"}, user=rita)
    with pytest.raises(PermissionDeniedError):
        crm.views.delete(shared.id, user=rita)
    mine = crm.views.create({"entity": "deal", "name": "Mine"}, user=rita)
    with pytest.raises(PermissionDeniedError):
        crm.views.update(mine.id, {"shared": True}, user=rita)
    renamed = crm.views.update(mine.id, {"name": "Still mine", "sort": "-amount"}, user=rita)
    assert (renamed.name, renamed.sort, renamed.shared) == ("Still mine", ("-amount",), False)
    assert crm.views.update(shared.id, {"where": {"stage": "open"}}, user=ada).where == {"stage": "open"}
    crm.views.delete(mine.id, user=rita)
    with pytest.raises(NotFoundError):
        crm.views.get(mine.id, user=rita)


def test_view_documents_are_read_only(crm: CrmEngine) -> None:
    with pytest.raises(ReadOnlyViewError):
        crm.views.update("quiet_deals", {"name": "x"}, user=user(crm, "ada"))
    with pytest.raises(ReadOnlyViewError):
        crm.views.delete("quiet_deals", user=user(crm, "ada"))


def test_a_view_never_widens_what_its_user_may_read(crm: CrmEngine) -> None:
    deal(crm, "Rita's", "rita")
    deal(crm, "Ravi's", "ravi")
    shared = crm.views.create({"entity": "deal", "name": "All deals", "shared": True}, user=user(crm, "ada"))
    assert titles(crm, shared.id, "rita") == ["Rita's"]
    assert sorted(titles(crm, shared.id, "mona")) == ["Ravi's", "Rita's"]


def test_bad_views_name_every_problem_with_its_pointer(crm: CrmEngine) -> None:
    with pytest.raises(InvalidViewError) as refused:
        crm.views.create(
            {
                "entity": "deal",
                "name": "",
                "where": {"amout": 1, "close_on": "@someday", "amount": {"gte": "lots"}},
                "sort": ["-clos_on"],
                "colour": "red",
            },
            user=user(crm, "rita"),
        )
    found = {(p.code, p.pointer) for p in refused.value.problems}
    assert found >= {
        ("unknown_key", "/colour"),
        ("invalid", "/name"),
        ("unknown_field", "/where/amout"),
        ("invalid_relative", "/where/close_on"),
        ("unknown_field", "/sort/0"),
    }
    with pytest.raises(InvalidViewError) as refused:
        crm.views.create({"entity": "deal", "name": "x", "where": {"amount": {"gte": "lots"}}}, user=user(crm, "rita"))
    assert [(p.code, p.pointer) for p in refused.value.problems] == [("invalid_value", "/where/amount/gte")]
    with pytest.raises(InvalidViewError) as refused:
        crm.views.create({"entity": "dael", "name": "x"}, user=user(crm, "rita"))
    assert [(p.code, p.pointer) for p in refused.value.problems] == [("unknown_entity", "/entity")]


def test_a_view_applies_to_its_own_entity_only(crm: CrmEngine) -> None:
    with pytest.raises(UsageError) as refused:
        crm.views.apply("quiet_deals", entity="account", user=user(crm, "ada"))
    assert refused.value.problems[0].code == "view_entity"


def test_the_standard_product_views_apply_to_its_demo_data(database_url: str) -> None:
    engine = CrmEngine(database_url)
    try:
        load_preset(engine, "standard_product")
        generate_demo(engine, "standard_product", 20, seed=3)
        engine.users.create("ada", roles=["admin"])
        ada = user(engine, "ada")
        names = {v.key for v in engine.views.visible(user=ada)}
        assert {"my_open_opportunities_this_month", "leads_last_7_days", "accounts_untouched_30_days"} <= names
        for view in ("my_open_opportunities_this_month", "leads_last_7_days", "accounts_untouched_30_days"):
            entity = engine.views.get(view, user=ada).entity
            applied = engine.views.apply(view, entity=entity, user=ada)
            engine.records.list(entity, where=applied.where, sort=list(applied.sort), actor=ada)  # runs, no error
    finally:
        engine.close()
