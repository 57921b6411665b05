"""The data set the report tests run on, put in through the services, and its figures
worked out here in plain Python from the same tables, never from the database.

Deals go through the ``pipeline`` workflow and projects through ``approval`` with real
transitions at pinned times (``now=``); creation times are pinned in the table and the
history. Accounts are scored by the real ``weighted_rules`` scorer, with one override.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.hooks import make_plugins
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import workflow_history
from engine.users import SYSTEM_USER
from tests.support import SYSTEM, acting_for

BUNDLE = Path(__file__).parent / "data" / "sales"
#: The time the reports run at: the end of every stay still open.
NOW = datetime(2024, 7, 1, tzinfo=UTC)
TO_STATE = {"qualify": "qualified", "propose": "proposal", "win": "won", "close_fast": "won", "lose": "lost"}


@dataclass(frozen=True)
class Deal:
    title: str
    owner: str
    amount: str
    product: str
    created: datetime
    #: (transition, hours after creation)
    steps: tuple[tuple[str, int], ...] = ()
    expected_close: str | None = None

    def entries(self) -> list[tuple[str, datetime]]:
        """(state, entered at), creation first."""
        return [("lead", self.created)] + [(TO_STATE[t], self.created + timedelta(hours=h)) for t, h in self.steps]

    @property
    def states(self) -> list[str]:
        return [state for state, _ in self.entries()]

    @property
    def quarter(self) -> str:
        return f"{self.created.year}-Q{(self.created.month + 2) // 3}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DEALS = (
    Deal("D1", "rita", "1000.00", "Widget", _at("2024-01-15T09:00"), (("qualify", 24), ("propose", 72), ("win", 120))),
    Deal("D2", "rita", "2000.00", "Widget", _at("2024-02-10T09:00"), (("qualify", 10), ("lose", 30))),
    Deal("D3", "rita", "500.00", "Gadget", _at("2024-03-01T09:00"), (("lose", 5),)),
    Deal("D8", "rita", "700.00", "Gadget", _at("2024-04-03T09:00"), (("qualify", 48),)),
    Deal("D4", "sam", "3000.00", "Gadget", _at("2024-04-20T09:00"), (("qualify", 6), ("propose", 30)), "2024-08-15"),
    Deal("D5", "sam", "4000.00", "Widget", _at("2024-05-02T09:00"), (), "2024-11-01"),
    Deal("D6", "sam", "100.00", "Gadget", _at("2024-05-05T09:00"), (("qualify", 12),), "2024-09-30"),
    Deal("D7", "sam", "600.00", "Widget", _at("2024-06-30T00:00"), (("qualify", 3), ("close_fast", 9))),
    Deal("D9", "sam", "250.00", "Widget", _at("2024-06-01T12:00"), (("lose", 1),)),
)
#: (name, owner, transitions)
PROJECTS = (
    ("P1", "rita", ("submit", "approve")),
    ("P2", "rita", ("submit", "reject")),
    ("P3", "sam", ("submit", "reject", "submit", "approve")),
    ("P4", "sam", ()),
    ("P5", "sam", ("submit",)),
    ("P6", "sam", ("submit", "approve")),
)
PROJECT_STATES = {"submit": "submitted", "approve": "approved", "reject": "rejected"}
#: (name, terminal type, revenue, employees, strategic)
ACCOUNTS = (
    ("Ruijin Hospital", "hospital", "2000000.00", 500, True),
    ("Huashan Hospital", "hospital", "800000.00", 150, False),
    ("Corner Pharmacy", "pharmacy", "50000.00", 5, False),
    ("Big Chain", "pharmacy", "1500000.00", 80, False),
    ("Distributor X", None, "3000000.00", 200, True),
)
#: A manager's override of the computed score: (account, value, grade).
OVERRIDE = ("Huashan Hospital", 75.0, "B")
#: (account, kind, done at, minutes)
VISITS = (
    ("Ruijin Hospital", "visit", "2024-03-05T10:00:00Z", 30),
    ("Ruijin Hospital", "visit", "2024-03-20T10:00:00Z", 45),
    ("Ruijin Hospital", "call", "2024-03-21T10:00:00Z", 10),
    ("Ruijin Hospital", "visit", "2024-04-30T23:59:00Z", None),
    ("Huashan Hospital", "visit", "2024-04-02T08:00:00Z", 60),
    ("Big Chain", "visit", "2024-02-29T23:30:00Z", 20),
    ("Distributor X", "visit", "2024-03-10T10:00:00Z", 15),
)


def seed(database_url: str) -> CrmEngine:
    """A new engine on ``database_url`` with the bundle applied and the data set in."""
    crm = CrmEngine(database_url, plugins=make_plugins(entry_points=False))
    crm.apply(load_definitions(BUNDLE))
    for user in ("rita", "sam"):
        crm.users.create(user, roles=["rep"])
    products = {
        name: crm.records.create("product", {"name": name}, actor=SYSTEM)["id"] for name in ("Widget", "Gadget")
    }
    accounts = {}
    for name, terminal, revenue, employees, strategic in ACCOUNTS:
        values = {"name": name, "terminal_type": terminal, "revenue": revenue, "employees": employees,
                  "strategic": strategic}  # fmt: skip
        accounts[name] = crm.records.create("account", values, actor=SYSTEM)["id"]
    for account, kind, done_at, minutes in VISITS:
        values = {"account": accounts[account], "kind": kind, "done_at": done_at, "minutes": minutes}
        crm.records.create("visit", values, actor=SYSTEM)
    for deal in DEALS:
        values = {"title": deal.title, "amount": deal.amount, "product": products[deal.product],
                  "expected_close": deal.expected_close}  # fmt: skip
        record = crm.records.create("deal", values, actor=acting_for(deal.owner))
        _pin_creation(crm, "deal", record["id"], deal.created)
        for transition, hours in deal.steps:
            at = deal.created + timedelta(hours=hours)
            crm.workflows.run("deal", record["id"], transition, user=SYSTEM_USER, now=at)
    for name, owner, transitions in PROJECTS:
        record = crm.records.create("project", {"name": name}, actor=acting_for(owner))
        for transition in transitions:
            crm.workflows.run("project", record["id"], transition, user=SYSTEM_USER)
    crm.scoring.run(entity="account")
    account, value, grade = OVERRIDE
    crm.scoring.override("account", accounts[account], "account_value", value=value, grade=grade,
                         reason="met the board", actor=acting_for("sam"))  # fmt: skip
    return crm


def _pin_creation(crm: CrmEngine, entity: str, record_id: int, at: datetime) -> None:
    table = crm.model.table(entity)
    h = workflow_history
    with crm.db.write() as conn:
        conn.execute(table.update().where(table.c.id == record_id).values(created_at=at))
        creation = sa.and_(h.c.entity == entity, h.c.record_id == record_id, h.c.transition.is_(None))
        conn.execute(h.update().where(creation).values(at=at))


# the figures, worked out in Python ---------------------------------------------------------


def funnel_rows(states: Sequence[str], groups: dict[Any, list[Deal]]) -> list[dict[str, Any]]:
    """Rows of a funnel over ``states`` for deals grouped as given (keys sorted)."""
    rows = []
    for key in sorted(groups):
        deals = groups[key]
        furthest = [max((states.index(s) for s in d.states if s in states), default=-1) for d in deals]
        reached = [sum(1 for f in furthest if f >= i) for i in range(len(states))]
        for i, state in enumerate(states):
            rows.append({
                "key": key, "state": state,
                "entered": sum(1 for d in deals if state in d.states),
                "reached": reached[i],
                "conversion": (reached[i] / reached[i - 1] if reached[i - 1] else None) if i else None,
                "overall": reached[i] / reached[0] if reached[0] else None,
            })  # fmt: skip
    return rows


def grouped(deals: Iterable[Deal], key: Any) -> dict[Any, list[Deal]]:
    out: dict[Any, list[Deal]] = {}
    for deal in deals:
        out.setdefault(key(deal), []).append(deal)
    return {k: v for k, v in out.items() if any(True for _ in v)}


def stays(deal: Deal) -> list[tuple[str, float, bool]]:
    """(state, hours, still open) of every stay of a deal."""
    entries = deal.entries()
    out = []
    for i, (state, entered) in enumerate(entries):
        left = entries[i + 1][1] if i + 1 < len(entries) else NOW
        out.append((state, (left - entered).total_seconds() / 3600, i + 1 == len(entries)))
    return out


def time_rows(states: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(owner, state) → entries, current, average, median and longest stay in hours."""
    out = {}
    for owner, deals in grouped(DEALS, lambda d: d.owner).items():
        for state in states:
            found = [(hours, open_) for d in deals for s, hours, open_ in stays(d) if s == state]
            if not found:
                continue
            hours = [h for h, _ in found]
            out[(owner, state)] = {
                "entries": len(found), "current": sum(1 for _, o in found if o),
                "average": statistics.mean(hours), "median": statistics.median(hours), "longest": max(hours),
            }  # fmt: skip
    return out


def score(revenue: str, employees: int, strategic: bool) -> tuple[float, str]:
    """The ``account_value`` rules, written out."""
    points = 50 * (Decimal(revenue) >= 1000000) + 30 * strategic + 20 * (employees >= 100)
    value = float(min(max(points, 0), 100))
    return value, "A" if value >= 70 else "B" if value >= 40 else "C"


def effective_scores() -> dict[str, tuple[float, str]]:
    """Account name → (value, grade) as reports see them: the override where there is one."""
    out = {name: score(revenue, employees, strategic) for name, _t, revenue, employees, strategic in ACCOUNTS}
    account, value, grade = OVERRIDE
    out[account] = (value, grade)
    return out
