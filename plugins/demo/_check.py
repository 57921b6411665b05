"""``crm demo check``: invariants a loaded database's records keep, whoever wrote them.

Demo data is coherent by construction (README.md); these checks say so after the fact, for
every preset and for admins' own bundles, because they read definitions and conventions of
names only, never a preset by name. :data:`RULES` is the table of invariants, one code each;
the rules themselves live in ``_check_rules`` (dates and states) and ``_check_figures``
(numbers, scores, derived values and time in stage).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.metadata import Definitions, EntityDef, WorkflowDef
from engine.storage import to_jsonable, workflow_history

#: rule code → what it asserts (the one list of invariants; docs/demo.md explains each)
RULES: Mapping[str, str] = {
    "date_order": "the earlier date of a pair (start/end, check-in/check-out, from/to, submitted/approved …) "
    "is not after the later one",
    "outcome_time": "an outcome time (done, won, approved, paid …) is not before the record was created nor after now",
    "state_time": "a record in a state with a time of its own (won → won_at, done → done_at) has that time",
    "time_without_state": "a record has an outcome time (won_at, done_at) only for a state it reached",
    "lost_received_money": "a lost, cancelled or rejected record received no money, nor did its children",
    "term_in_force": "an active or running record is within its term today; an expired one is past its end",
    "settled_in_full": "a collected or paid record collected all of its amount, a partly collected one a part",
    "part_of_whole": "a part (collected, paid, received …) is between 0 and its whole",
    "ledger_sign": "a ledger entry that takes away (redeem, expire, spend) is negative, one that adds positive",
    "score_agrees": "a stored score and its tier or grade are what the scoring computes from the record",
    "derived_agrees": "a computed or rolled-up value is what its rule gives from the record",
    "time_in_state": "an open record has not sat in its state longer than 3× the state's SLA (365 days without one)",
}


@dataclass(frozen=True)
class Violation:
    """One record breaking one invariant: the rule, the record, the values involved, why."""

    rule: str
    entity: str
    record_id: int
    fields: Mapping[str, Any]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "entity": self.entity,
            "record_id": self.record_id,
            "fields": {k: to_jsonable(v) for k, v in self.fields.items()},
            "message": self.message,
        }


@dataclass
class CheckData:
    """What the rules read: the definitions, every record, the workflow history, the clock."""

    engine: Any  # CrmEngine: imported lazily by the engine, never at import time here
    definitions: Definitions
    now: datetime
    records: dict[str, list[dict[str, Any]]]
    #: (entity, record id, workflow) → history rows in time order
    history: dict[tuple[str, int, str], list[dict[str, Any]]] = field(default_factory=dict)

    def workflows_of(self, entity: str) -> list[WorkflowDef]:
        return [w for _, w in sorted(self.definitions.workflows.items()) if w.entity == entity]

    def entities(self) -> Iterator[EntityDef]:
        for name in sorted(self.definitions.entities):
            yield self.definitions.entities[name]

    def visited(self, entity: str, record_id: int, workflow: str) -> set[str]:
        return {row["to_state"] for row in self.history.get((entity, record_id, workflow), ())}


Rule = Callable[[CheckData], Iterator[Violation]]


def load_check_data(engine: Any, now: datetime | None = None) -> CheckData:
    """Every record of every entity and the workflow history (a demo database is small)."""
    model = engine.model
    definitions = model.definitions
    records: dict[str, list[dict[str, Any]]] = {}
    history: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    with engine.db.read() as conn:
        for name in sorted(definitions.entities):
            table = model.table(name)
            records[name] = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
        query = sa.select(workflow_history).order_by(workflow_history.c.at, workflow_history.c.id)
        for row in conn.execute(query).mappings():
            history[(row["entity"], int(row["record_id"]), row["workflow"])].append(dict(row))
    return CheckData(engine, definitions, now or utcnow(), records, dict(history))


def check_demo(engine: Any, *, now: datetime | None = None) -> list[Violation]:
    """Every violation of :data:`RULES` in the loaded database, by rule, entity and record."""
    from ._check_figures import FIGURE_RULES
    from ._check_rules import DATE_STATE_RULES

    data = load_check_data(engine, now)
    found: list[Violation] = []
    for rule in (*DATE_STATE_RULES, *FIGURE_RULES):
        found.extend(rule(data))
    unknown = {v.rule for v in found} - set(RULES)
    assert not unknown, unknown  # a rule reports only codes of the table
    return sorted(found, key=lambda v: (v.rule, v.entity, v.record_id, sorted(v.fields)))
