"""A workflow as a pipeline board: a column per state, each with how many records are in it,
the sum of the entity's amount, and the first cards, as the asking user may read them.

Read only, and built from the services every edge uses: the cards are a
:meth:`RecordService.list` page per open state, the headers one ``GROUP BY`` within the same
filter and read scope (:func:`engine.records.group_totals`), and the time each card entered
its state one query over the workflow history. Moving a card is running a transition
(:meth:`WorkflowService.run`), with its roles, guards and inputs; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import NotFoundError
from engine.metadata import EntityDef, StateDef, WorkflowDef
from engine.records import group_totals
from engine.storage import workflow_history
from engine.users import Actor

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Cards a column shows at first, and loads at a time after (:func:`column_cards`).
CARDS_PER_COLUMN = 50
#: Amount fields, in the order a board looks for one when the entity has no money field.
_AMOUNT_NAMES = ("amount", "estimated_amount", "contract_amount", "budget_amount", "total")


@dataclass(frozen=True)
class Card:
    """One record on the board."""

    record: Mapping[str, Any]
    #: when it entered its current state (from the workflow history; its creation otherwise)
    since: datetime | None
    #: whether it has stayed in the state longer than the state's escalation allows
    breached: bool

    def days_in_state(self, now: datetime) -> int | None:
        return None if self.since is None else max((now - self.since).days, 0)


@dataclass(frozen=True)
class Column:
    """A state: how many records are in it, their amount, and the first cards."""

    state: StateDef
    count: int
    total: Decimal | None
    cards: tuple[Card, ...] = ()
    #: final states are shown collapsed, counts only
    collapsed: bool = False


@dataclass(frozen=True)
class Board:
    workflow: WorkflowDef
    entity: EntityDef
    amount_field: str | None
    columns: tuple[Column, ...]
    now: datetime
    #: the filters applied, as given (``owner``, ``search``)
    filters: Mapping[str, str] = field(default_factory=dict)


def amount_field(entity: EntityDef) -> str | None:
    """The field a board sums: the entity's first money field, else a decimal field with a
    usual amount name; ``None`` when it has neither."""
    for f in entity.fields.values():
        if f.type == "money":
            return f.name
    for name in _AMOUNT_NAMES:
        found = entity.fields.get(name)
        if found is not None and found.type in ("decimal", "integer"):
            return name
    return None


def board(
    engine: CrmEngine,
    workflow_name: str,
    *,
    actor: Actor,
    owner: str | None = None,
    search: str | None = None,
    where: Any = None,
    limit: int = CARDS_PER_COLUMN,
) -> Board:
    """The board of ``workflow_name`` for ``actor``: only the records they may read, filtered
    by ``owner`` (a user name), the free-text ``search`` and ``where`` (a filter of the
    records' filter language: a saved view's, for one).

    :raises NotFoundError: no such workflow.
    :raises PermissionDeniedError: the actor may not read the workflow's entity.
    """
    workflow = engine.model.definitions.workflows.get(workflow_name)
    if workflow is None:
        raise NotFoundError(f"there is no workflow {workflow_name!r}")
    entity = engine.model.entity(workflow.entity)
    amount = amount_field(entity)
    filtered = _filter_of(owner, where)
    totals = group_totals(
        engine.records, entity.name, by=workflow.field, sum_of=amount, where=filtered, search=search, actor=actor
    )
    now = utcnow()
    columns: list[Column] = []
    for state in workflow.states.values():
        found = totals.get(state.name)
        count, total = (found.count, found.total) if found is not None else (0, None)
        if state.final:
            columns.append(Column(state, count, total, collapsed=True))
            continue
        cards: tuple[Card, ...] = ()
        if count:
            cards, _more = _column_page(engine, workflow, state, filtered, search, actor, 0, limit, now)
        columns.append(Column(state, count, total, cards))
    open_first = [c for c in columns if not c.collapsed] + [c for c in columns if c.collapsed]
    filters = {k: v for k, v in (("owner", owner), ("search", search)) if v}
    return Board(workflow, entity, amount, tuple(open_first), now, filters)


def column_cards(
    engine: CrmEngine,
    workflow_name: str,
    state_name: str,
    *,
    actor: Actor,
    owner: str | None = None,
    search: str | None = None,
    where: Any = None,
    offset: int = 0,
    limit: int = CARDS_PER_COLUMN,
) -> tuple[tuple[Card, ...], bool]:
    """The cards of one open column after the first ``offset`` (the board's order: most
    recently changed first), under the same filters as :func:`board` (``where``: a saved
    view's filter, for one), and whether more follow. A column loads the rest of its cards
    this way, ``limit`` at a time.

    :raises NotFoundError: no such workflow, or no such open state in it.
    :raises PermissionDeniedError: the actor may not read the workflow's entity.
    """
    workflow = engine.model.definitions.workflows.get(workflow_name)
    state = workflow.states.get(state_name) if workflow is not None else None
    if workflow is None or state is None or state.final:
        raise NotFoundError(f"there is no open state {state_name!r} in the workflow {workflow_name!r}")
    filtered = _filter_of(owner, where)
    return _column_page(engine, workflow, state, filtered, search, actor, max(offset, 0), limit, utcnow())


def _filter_of(owner: str | None, where: Any) -> Any:
    """The records' filter of a board: its owner and ``where`` (``None``: every record)."""
    chosen = [part for part in ({"owner": owner} if owner else None, where) if part]
    return None if not chosen else chosen[0] if len(chosen) == 1 else {"and": chosen}


def _column_page(
    engine: CrmEngine,
    workflow: WorkflowDef,
    state: StateDef,
    where: Any,
    search: str | None,
    actor: Actor,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[tuple[Card, ...], bool]:
    """``limit`` cards of ``state`` from ``offset`` among the records ``where`` keeps, and
    whether more follow (one query more than shown: ``limit + 1`` rows)."""
    in_state = {workflow.field: state.name}
    page = engine.records.list(
        workflow.entity,
        where=in_state if where is None else {"and": [where, in_state]},
        sort=["-updated_at", "-id"],
        limit=limit + 1,
        offset=offset,
        with_total=False,
        search=search,
        actor=actor,
    )
    return _cards(engine, workflow, state, page.items[:limit], now), len(page.items) > limit


def _cards(
    engine: CrmEngine, workflow: WorkflowDef, state: StateDef, records: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[Card, ...]:
    ids = [int(r["id"]) for r in records]
    entered: dict[int, datetime] = {}
    if ids:
        h = workflow_history.c
        query = (
            sa.select(h.record_id, sa.func.max(h.at))
            .where(h.entity == workflow.entity, h.workflow == workflow.name, h.to_state == state.name)
            .where(h.record_id.in_(ids))
            .group_by(h.record_id)
        )
        with engine.db.read() as conn:
            entered = {int(row[0]): row[1] for row in conn.execute(query)}
    limit: timedelta | None = state.escalation.after if state.escalation is not None else None
    cards = []
    for record in records:
        since = entered.get(int(record["id"])) or record.get("created_at")
        breached = limit is not None and since is not None and now - since > limit
        cards.append(Card(record, since, breached))
    return tuple(cards)
