"""One run of one report: the engine, the report, its parameters' values and "now"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engine.errors import PermissionDeniedError, Problem, UsageError
from engine.metadata import EntityDef, GroupKey, ReportDef, Scope, WorkflowDef
from engine.users import user_of

from ._sql import Grouping, grouping, record_filter

if TYPE_CHECKING:
    from engine.runtime import CompiledModel, CrmEngine
    from engine.users import Actor


@dataclass(frozen=True)
class ReportRun:
    """What every report type reads: the report's records (entity and table), its filter
    compiled with the parameters' values, and the database to run on."""

    engine: CrmEngine
    report: ReportDef
    values: Mapping[str, Any]
    now: datetime
    #: who asks, and which of the entity's rows they may read (``all`` for the system)
    actor: Actor
    scope: Scope = "all"

    @property
    def model(self) -> CompiledModel:
        return self.engine.model

    @property
    def dialect(self) -> str:
        return self.engine.db.dialect

    @cached_property
    def entity(self) -> EntityDef:
        return self.model.entity(self.report.entity)

    @cached_property
    def table(self) -> sa.Table:
        return self.model.table(self.report.entity)

    @cached_property
    def workflow(self) -> WorkflowDef:
        assert self.report.workflow is not None  # the workflow types always name one
        return self.model.definitions.workflows[self.report.workflow]

    def where(self) -> ColumnElement[bool]:
        """The report's ``where`` over its own records, within the asking user's read scope."""
        condition = record_filter(
            self.report, self.entity, self.table, getattr(self.report.spec, "where", None), self.values,
            dialect=self.dialect,
        )  # fmt: skip
        scoped = self.engine.permissions.scope_condition(self.actor, self.table, self.scope)
        return condition if scoped is None else sa.and_(condition, scoped)

    def grouping(self, keys: Sequence[GroupKey]) -> Grouping:
        return grouping(self.model, self.entity, self.table, keys, dialect=self.dialect)

    def fetch(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        with self.engine.db.read() as conn:
            try:
                return [dict(row) for row in conn.execute(query).mappings()]
            except sa.exc.OperationalError as error:
                # SQLite adds up decimals (scaled integers) in 64 bits and refuses to round
                if "integer overflow" not in str(error.orig):
                    raise
                raise UsageError(
                    f'the report "{self.report.name}" cannot run on SQLite: a sum is too large for its '
                    "64-bit integers (decimals are added up exactly, as the value times 10^scale); "
                    "narrow the report's filter or use PostgreSQL"
                ) from None


def read_scope(engine: CrmEngine, report: ReportDef, actor: Actor, entity: str) -> Scope:
    """The rows of ``entity`` (the report's own, or its related records) ``actor`` may read;
    refused when one of its fields is hidden: a report's groups, sums and counts could show
    what the field hides."""
    access = engine.permissions.require(actor, entity, "read")
    if access.hidden:
        user = user_of(actor)
        assert user is not None  # the system: full access, nothing hidden
        fields = ", ".join(sorted(access.hidden))
        raise PermissionDeniedError(
            f'"{user.name}" may not run report {report.name}: fields of {entity} are hidden from them ({fields})',
            [Problem(code="hidden_field", field=f, message="hidden from this user") for f in sorted(access.hidden)],
        )
    return access.scope("read")
