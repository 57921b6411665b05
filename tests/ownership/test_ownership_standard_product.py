"""The standard product's ownership as a rep meets it: contacts, deals and activities follow
the account's owner; a rep reads the customer and contact of their own deal; idle accounts
return to the pool at night and another rep claims them, with what came along."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine.automations import tick
from engine.clock import utcnow
from engine.errors import NotFoundError, PermissionDeniedError
from engine.presets import load_preset
from engine.runtime import CrmEngine
from tests.support import SYSTEM


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    load_preset(engine, "standard_product")
    for name, roles in {"rita": ["rep"], "rob": ["rep"], "mia": ["manager"], "ada": ["admin"]}.items():
        engine.users.create(name, roles=roles, team="sales")
    yield engine
    engine.close()


def _create(crm: CrmEngine, entity: str, **values: object) -> int:
    return int(crm.records.create(entity, values, actor=SYSTEM)["id"])


def _owner(crm: CrmEngine, entity: str, record_id: int) -> object:
    return crm.records.get(entity, record_id, actor=SYSTEM)["owner"]


def test_children_follow_the_account_and_reps_read_their_deals_customers(crm: CrmEngine) -> None:
    account = _create(crm, "account", name="西安华信环保科技有限公司", owner="rob")
    contact = _create(crm, "contact", name="王芳", account=account, owner="rob")
    deal = _create(crm, "opportunity", title="除尘设备", account=account, contact=contact, owner="rita")
    rita = crm.users.get("rita")
    # rita reads the customer and the contact of her own deal, and may not change them
    assert crm.records.get("account", account, actor=rita)["name"] == "西安华信环保科技有限公司"
    assert [c["id"] for c in crm.records.list("contact", actor=rita).items] == [contact]
    # the account changes hands: rob's contact follows, rita's deal stays hers
    crm.records.update("account", account, {"owner": "mia"}, actor=crm.users.get("ada"))
    assert _owner(crm, "contact", contact) == "mia" and _owner(crm, "opportunity", deal) == "rita"


def test_idle_accounts_return_to_the_pool_and_are_claimed_with_their_children(crm: CrmEngine) -> None:
    night = (utcnow() + timedelta(days=100)).replace(hour=2, minute=0, second=30, microsecond=0)
    idle = _create(crm, "account", name="Idle Ltd", owner="rita")
    contact = _create(crm, "contact", name="Li", account=idle, owner="rita")
    deal = _create(crm, "opportunity", title="Old deal", account=idle, owner="rita")
    busy = _create(crm, "account", name="Busy Ltd", owner="rita")
    _create(crm, "activity", subject="Visit", account=busy, done_at=str(night - timedelta(days=10)), owner="rita")
    assert crm.records.get("account", busy, actor=SYSTEM)["last_activity_at"] is not None

    tick(crm, now=night)

    assert _owner(crm, "account", idle) is None  # 100 days without a done activity
    assert _owner(crm, "contact", contact) is None and _owner(crm, "opportunity", deal) is None
    assert _owner(crm, "account", busy) == "rita"
    rob = crm.users.get("rob")
    assert [a["name"] for a in crm.records.list("account", actor=rob).items] == ["Idle Ltd"]  # the pool
    assert crm.pool.claim("account", idle, actor=rob)["owner"] == "rob"
    assert _owner(crm, "contact", contact) == "rob" and _owner(crm, "opportunity", deal) == "rob"


def test_a_new_account_without_activity_stays_owned(crm: CrmEngine) -> None:
    account = _create(crm, "account", name="New Ltd", owner="rita")
    tick(crm, now=datetime.now(UTC).replace(hour=2, minute=0, second=30) + timedelta(days=1))
    assert _owner(crm, "account", account) == "rita"


def test_a_deals_customer_read_through_read_via_has_no_transitions_to_run(crm: CrmEngine) -> None:
    account = _create(crm, "account", name="Customer", owner="rob")
    theirs = _create(crm, "opportunity", title="Rob's deal", account=account, owner="rob")
    _create(crm, "opportunity", title="Rita's deal", account=account, owner="rita")
    rita = crm.users.get("rita")
    crm.records.get("account", account, actor=rita)  # readable through her deal
    with pytest.raises(NotFoundError):
        crm.records.get("opportunity", theirs, actor=rita)  # read_via reads targets, not siblings
    with pytest.raises(PermissionDeniedError):
        crm.records.update("account", account, {"phone": "029-88886666"}, actor=rita)
