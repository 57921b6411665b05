"""``cascade_owner``: the records referencing a record follow its owner, when they were the
previous owner's, in the same transaction, audited, recursively and without looping."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RecordValidationError
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from tests.ownership.ownership_support import make, owner, set_up, user
from tests.support import acting_for


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    set_up(engine, tmp_path)
    return engine


def test_the_previous_owners_children_follow_and_others_stay(crm: CrmEngine) -> None:
    account = make(crm, "account", "ann", name="西安华信环保科技有限公司")
    mine = make(crm, "contact", "ann", name="王芳", account=account)
    theirs = make(crm, "contact", "bob", name="李雷", account=account)
    deal = make(crm, "deal", "ann", title="Filters", account=account)
    quote = make(crm, "quote", "ann", number="Q-1", deal=deal)
    note = make(crm, "note", "ann", text="met at the fair", account=account)

    crm.records.update("account", account, {"owner": "carl"}, actor=user(crm, "boss"))

    assert owner(crm, "account", account) == "carl"
    assert owner(crm, "contact", mine) == "carl"
    assert owner(crm, "contact", theirs) == "bob"  # someone else's stays theirs
    assert owner(crm, "deal", deal) == "carl"
    assert owner(crm, "quote", quote) == "carl"  # recursively: account → deal → quote
    assert owner(crm, "note", note) == "ann"  # no cascade_owner on note.account


def test_each_cascaded_change_is_audited_as_the_user_who_changed_the_parent(crm: CrmEngine) -> None:
    account = make(crm, "account", "ann", name="Acme")
    contact = make(crm, "contact", "ann", name="Wang", account=account)
    crm.records.update("account", account, {"owner": "carl"}, actor=user(crm, "boss"))
    trail = crm.records.audit("contact", contact, actor=acting_for("boss"))
    change = [row for row in trail if row["field"] == "owner" and row["action"] == "update"]
    assert [(r["old_value"], r["new_value"], r["actor"]) for r in change] == [("ann", "carl", "boss")]
    assert crm.records.get("contact", contact, actor=acting_for("boss"))["version"] == 2


def test_a_cycle_of_references_ends(crm: CrmEngine) -> None:
    first = make(crm, "account", "ann", name="Group")
    second = make(crm, "account", "ann", name="Branch", parent=first)
    crm.records.update("account", first, {"parent": second}, actor=acting_for("ann"))
    crm.records.update("account", second, {"owner": "bob"}, actor=user(crm, "boss"))
    assert owner(crm, "account", first) == "bob" and owner(crm, "account", second) == "bob"


def test_unowned_children_follow_a_record_claimed_from_nobody(crm: CrmEngine) -> None:
    account = make(crm, "account", None, name="Pool Ltd")
    contact = make(crm, "contact", None, name="Zhao", account=account)
    crm.records.update("account", account, {"owner": "ann"}, actor=user(crm, "boss"))
    assert owner(crm, "contact", contact) == "ann"


def test_a_refused_owner_change_moves_nothing(crm: CrmEngine) -> None:
    account = make(crm, "account", "ann", name="Acme")
    contact = make(crm, "contact", "ann", name="Wang", account=account)
    with pytest.raises(RecordValidationError):
        crm.records.update("account", account, {"owner": "nobody"}, actor=user(crm, "boss"))
    assert owner(crm, "account", account) == "ann" and owner(crm, "contact", contact) == "ann"


def test_the_cascade_runs_in_the_same_transaction(crm: CrmEngine) -> None:
    account = make(crm, "account", "ann", name="Acme")
    contact = make(crm, "contact", "ann", name="Wang", account=account)
    with pytest.raises(RuntimeError), crm.db.write() as tx:
        crm.records.update("account", account, {"owner": "carl"}, actor=user(crm, "boss"), conn=tx)
        assert owner_in(crm, tx, contact) == "carl"
        raise RuntimeError("roll back")
    assert owner(crm, "account", account) == "ann" and owner(crm, "contact", contact) == "ann"


def owner_in(crm: CrmEngine, tx: object, contact: int) -> object:
    return crm.records.get("contact", contact, actor=acting_for("boss"), conn=tx)["owner"]  # type: ignore[arg-type]


def test_an_import_that_changes_owners_cascades(crm: CrmEngine, tmp_path: Path) -> None:
    account = make(crm, "account", "ann", name="Acme")
    contact = make(crm, "contact", "ann", name="Wang", account=account)
    path = tmp_path / "owners.csv"
    path.write_text(f"id,name,owner\n{account},Acme,carl\n", encoding="utf-8")
    import_csv(crm, "account", path, key="id", actor=acting_for("boss"))
    assert owner(crm, "account", account) == "carl" and owner(crm, "contact", contact) == "carl"
