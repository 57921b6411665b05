"""The steps of the CSV importer that update existing records (``--key``): each line whose
key is stored is checked and written as a single update would be, with its before-image
kept for a revert."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.duplicates import Candidate, override_rows
from engine.errors import Problem, UsageError
from engine.records import conditional_problems
from engine.storage import audit_log, audit_row, record_updated, unit_of

from ._import_base import ImporterBase, Row
from ._import_support import Rejects as _Rejects


class UpsertSteps(ImporterBase):
    """How the lines of an upsert whose key exists update their records."""

    def _upsert_existing(
        self, conn: Connection, columns: tuple[str, ...], batch: list[Row], now: datetime, rejects: _Rejects
    ) -> list[Row]:
        assert self.key is not None
        key_index = columns.index(self.key)
        existing = self._existing(conn, [row.values[key_index] for row in batch])
        if not existing:
            return batch
        inserts: list[Row] = []
        change_rows: list[dict[str, Any]] = []
        for row in batch:
            current = existing.get(row.values[key_index])
            if current is None:
                inserts.append(row)
                continue
            values = dict(zip(columns, row.values, strict=True))
            for name in (*(w.field for w in self.workflows), *self.numbered):
                if values.get(name) is None:  # an empty cell keeps the state or number; a new one is refused
                    values.pop(name, None)
            changed = {c: v for c, v in values.items() if c != "id" and c in self._given and current.get(c) != v}
            if not self._update_one(conn, row, current, changed, now, rejects):
                continue
            if self._images is not None:
                self._images.add(current["id"], current, changed, current["version"] + 1)
            change_rows.extend(
                audit_row(
                    change_id=f"import-{row.line}-{current['id']}",
                    entity=self.definition.name,
                    record_id=current["id"],
                    action="update",
                    field=c,
                    old_value=current.get(c),
                    new_value=v,
                    actor=self.actor,
                    at=now,
                )
                for c, v in changed.items()
            )
        if change_rows:
            conn.execute(audit_log.insert(), change_rows)
        if self._images is not None:
            self._images.flush(conn)
        return inserts

    def _existing(self, conn: Connection, keys: list[Any]) -> dict[Any, dict[str, Any]]:
        """The records whose key is one of ``keys``, by key (looked up a thousand at a time)."""
        assert self.key is not None
        present = [key for key in keys if key is not None]
        existing: dict[Any, dict[str, Any]] = {}
        key_column = self.table.c[self.key]
        for start in range(0, len(present), 1000):
            chunk = present[start : start + 1000]
            for found in conn.execute(sa.select(self.table).where(key_column.in_(chunk))).mappings():
                existing[found[self.key]] = dict(found)
        return existing

    def _update_one(
        self,
        conn: Connection,
        row: Row,
        current: dict[str, Any],
        changed: dict[str, Any],
        now: datetime,
        rejects: _Rejects,
    ) -> bool:
        """Write a line's ``changed`` values over the record it names; False when there is
        nothing to write or the line is rejected (a workflow field, a unique value taken)."""
        for names, code, message in (
            (
                [w.field for w in self.workflows],
                "workflow_field",
                "{} changes only through workflow transitions, not by import",
            ),
            (self.numbered, "read_only", "{} was numbered when the record was created; an import cannot change it"),
        ):
            fixed = [name for name in names if name in changed]
            if fixed:
                problems = [Problem(code=code, field=n, line=row.line, message=message.format(n)) for n in fixed]
                self._reject(rejects, row.line, row.raw, problems)
                return False
        if not changed:
            self.report.unchanged += 1
            return False
        refused = conditional_problems(self.definition, current, {**current, **changed}) if self._conditional else []
        if refused:
            self._reject(rejects, row.line, row.raw, [dataclasses.replace(p, line=row.line) for p in refused])
            return False
        overridden: list[Candidate] = []
        if self._duplicates.active:  # checked as a single update is
            refused, overridden = self._duplicates.check_update(conn, row.line, current, {**current, **changed})
            if refused:
                self._reject(rejects, row.line, row.raw, refused)
                return False
        savepoint = conn.begin_nested()
        try:
            result = conn.execute(
                self.table.update()
                .where(self.table.c.id == current["id"], self.table.c.version == current["version"])
                .values({**changed, "version": current["version"] + 1, "updated_at": now})
            )
            savepoint.commit()
        except sa.exc.IntegrityError as exc:
            savepoint.rollback()
            refusal = self._refusal(conn, row.line, {**current, **changed}, exc, own_id=current["id"])
            self._reject(rejects, row.line, row.raw, refusal)
            return False
        if result.rowcount != 1:  # pragma: no cover - only under a concurrent writer
            raise UsageError(f"line {row.line}: {self.definition.name} {current['id']} changed during the import")
        self.report.updated += 1
        if overridden:
            change = f"import-{row.line}-{current['id']}"
            audit = override_rows(change, self.definition.name, current["id"], overridden, self.actor, now)
            conn.execute(audit_log.insert(), audit)
        updated = {**current, **changed, "version": current["version"] + 1, "updated_at": now}
        event = record_updated(
            self.definition.name, current, updated, changed, self.actor, now, self.version, line=row.line
        )
        unit_of(conn).emit(event)
        self._duplicates.keep_updated(conn, updated, changed)
        derived = self.engine.derived  # the record's own computes, then what depends on the change
        derived.refresh(conn, self.model, self.definition.name, current["id"], (), self.actor)
        derived.after_write(conn, self.model, self.definition.name, current, updated, self.actor)
        if "owner" in changed:  # the records that follow this one's owner (cascade_owner)
            previous, owner = current.get("owner"), changed["owner"]
            self.engine.records.cascade_owner(conn, self.definition.name, current["id"], previous, owner, self.actor)
        return True
