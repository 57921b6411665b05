"""A record's dates and states made to agree before it is validated (``_conventions``):
dates of a pair in order, outcome times between the record's creation and now, a state's
time set exactly when the record is in it (for a status without history), and a record in
force within its term. Applied after the field generators and again after the workflows,
so that what ``crm demo check`` asserts holds by construction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import EntityDef

from ._conventions import (
    DATE_TYPES,
    IN_FORCE,
    LOST_STATES,
    OUTCOMES,
    OVER,
    RECEIVED,
    date_pairs,
    received_fields,
    stem,
    term_pairs,
    time_field,
)
from ._people import RecordContext

if TYPE_CHECKING:
    from engine.runtime import CompiledModel

_DAY = 86400.0
#: a datetime pair put back in order lasts minutes to hours (a visit, a meeting)
_SHORT = (20 * 60.0, 4 * 3600.0)


def _parse(value: Any) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    except ValueError:
        return None


def _ts(value: date | datetime) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()


def _text(timestamp: float, as_date: bool) -> str:
    moment = datetime.fromtimestamp(round(timestamp), UTC)
    return moment.date().isoformat() if as_date else moment.isoformat()


class Coherence:
    """What one entity's records must agree on, found once from its definition."""

    def __init__(self, entity: EntityDef, workflow_fields: Mapping[str, tuple[str, ...]]) -> None:
        fields = entity.fields
        self.as_date = {n: f.type == "date" for n, f in fields.items() if f.type in DATE_TYPES}
        self.pairs = date_pairs(entity)
        self.terms = term_pairs(entity)
        self.stamps = [n for n in sorted(self.as_date) if not self.as_date[n] and stem(n)[0] in OUTCOMES]
        self.workflow_fields = dict(workflow_fields)
        #: plain status enums (no workflow, no history): field → {state: its time field}
        self.status_times: dict[str, dict[str, str]] = {}
        #: state fields → states (workflows' and plain statuses')
        self.states: dict[str, tuple[str, ...]] = dict(workflow_fields)
        #: a status left out takes its default (a card is active unless said otherwise)
        self.defaults = {n: f.default for n, f in fields.items() if f.type == "enum" and f.has_default}
        for name, f in sorted(fields.items()):
            if name in workflow_fields or f.type != "enum":
                continue
            if name in ("status", "stage", "state") or name.endswith("_status"):
                self.states[name] = f.choice_values
                times = {s: t for s in f.choice_values if (t := time_field(entity, s)) is not None}
                if times:
                    self.status_times[name] = times
        self.empty = not (self.pairs or self.stamps or self.status_times or self.terms)

    def apply(self, values: dict[str, Any], ctx: RecordContext) -> None:
        """Make ``values`` (JSON, as generated or walked) agree with the conventions."""
        if self.empty:
            return
        self._statuses(values, ctx)
        self._stamps(values, ctx)
        self._ordered(values, ctx)
        self._terms(values, ctx)  # after the order: it keeps a term's dates in order itself

    def _state(self, values: dict[str, Any], name: str) -> Any:
        return values[name] if values.get(name) is not None else self.defaults.get(name)

    def _set(self, values: dict[str, Any], name: str, timestamp: float) -> None:
        values[name] = _text(timestamp, self.as_date[name])

    def _statuses(self, values: dict[str, Any], ctx: RecordContext) -> None:
        for name, times in self.status_times.items():
            state = self._state(values, name)
            for s, t in times.items():
                if s == state and _parse(values.get(t)) is None:
                    span = max(min(ctx.now - ctx.created, 14 * _DAY), 60.0)
                    self._set(values, t, ctx.created + span * ctx.rng.random() ** 2)
                elif s != state and values.get(t) is not None and stem(t)[0] in OUTCOMES:
                    values.pop(t)  # not (yet) reached: a done time belongs to done tasks only

    def _stamps(self, values: dict[str, Any], ctx: RecordContext) -> None:
        for name in self.stamps:
            moment = _parse(values.get(name))
            if moment is None:
                continue
            at = _ts(moment)
            if at < ctx.created or at > ctx.now:
                self._set(values, name, min(max(at, ctx.created + 60.0), ctx.now))

    def _terms(self, values: dict[str, Any], ctx: RecordContext) -> None:
        today = datetime.fromtimestamp(ctx.now, UTC).date()
        for start, end in self.terms:
            for field_name in self.states:
                state = self._state(values, field_name)
                a, b = _parse(values.get(start)), _parse(values.get(end))
                if state in IN_FORCE:
                    if a is not None and _day(a) > today:
                        self._set(values, start, min(ctx.created, ctx.now))
                        a = _parse(values[start])
                    if b is not None and _day(b) < today:
                        length = max(_ts(b) - _ts(a), 30 * _DAY) if a is not None else 180 * _DAY
                        self._set(values, end, ctx.now + length * (0.2 + 0.8 * ctx.rng.random()))
                elif state in OVER and b is not None and _day(b) >= today:
                    ended = ctx.now - _DAY * (1 + 60 * ctx.rng.random())
                    self._set(values, end, ended)
                    if a is not None and _ts(a) > ended:
                        self._set(values, start, ended - 180 * _DAY)

    def _ordered(self, values: dict[str, Any], ctx: RecordContext) -> None:
        for earlier, later in self.pairs:
            a, b = _parse(values.get(earlier)), _parse(values.get(later))
            if a is None or b is None or not _after(a, b):
                continue
            if self.as_date[later]:
                self._set(values, later, _ts(a) + (_ts(a) - _ts(b)))  # as far after as it was before
            else:
                self._set(values, later, _ts(a) + ctx.rng.uniform(*_SHORT))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _after(a: date | datetime, b: date | datetime) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a > b
    return _day(a) > _day(b)


def unreceived(conn: Connection, model: CompiledModel, first_ids: Mapping[str, int]) -> None:
    """Children of a record that came to nothing (a lost project) received no money: their
    received amounts and the dates they came in are left empty. Records of this run only
    (``first_ids``: entity → its first id in the run); before the derived values settle."""
    definitions = model.definitions
    for workflow in sorted(definitions.workflows.values(), key=lambda w: w.name):
        lost = sorted(set(workflow.states) & LOST_STATES)
        if not lost:
            continue
        parent = model.table(workflow.entity)
        for child_name in sorted(definitions.entities):
            child = definitions.entities[child_name]
            money = received_fields(child)
            if child_name == workflow.entity or not money or child_name not in first_ids:
                continue
            dates = [n for n, f in sorted(child.fields.items()) if f.type in DATE_TYPES and stem(n)[0] in RECEIVED]
            cleared = [n for n in (*money, *dates) if not child.fields[n].required]
            if not cleared:
                continue
            table = model.table(child_name)
            for ref in sorted(f.name for f in child.references() if f.target == workflow.entity):
                lost_ids = sa.select(parent.c.id).where(parent.c[workflow.field].in_(lost))
                conn.execute(
                    table.update()
                    .where(table.c.id >= first_ids[child_name], table.c[ref].in_(lost_ids))
                    .values({n: None for n in cleared})
                )
