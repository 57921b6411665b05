"""The steps of the CSV importer that insert new records: the references a batch names, the
derived values and conditional rules of its new records, the bulk write and its one-by-one
fallback, the audit of duplicate overrides, and what follows a creation (workflow history,
``created`` automations)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.compile import record_problem
from engine.duplicates import LineDuplicate, override_rows
from engine.errors import Problem
from engine.records import conditional_problems, unknown_owners
from engine.storage import audit_log, workflow_history

from ._copy import BulkWriter
from ._import_base import ImporterBase, Row
from ._import_support import Rejects as _Rejects


class InsertSteps(ImporterBase):
    """How a batch of new lines becomes records."""

    def _check_references(
        self, conn: Connection, columns: tuple[str, ...], batch: list[Row], rejects: _Rejects
    ) -> list[Row]:
        """Drop (reject) the rows whose references name missing records or whose owner is
        not an active user."""
        references = [
            (i, self.definition.fields[c])
            for i, c in enumerate(columns)
            if c in self.definition.fields
            and self.definition.fields[c].type == "reference"
            and c not in self._looked_up
        ]
        owner_at = columns.index("owner") if "owner" in columns else None
        strangers: set[Any] = set()
        if owner_at is not None:
            strangers = unknown_owners(conn, {row.values[owner_at] for row in batch} - {None})
        if not references and not strangers:
            return batch
        missing: dict[int, set[Any]] = {}
        for index, f in references:
            wanted = {row.values[index] for row in batch if row.values[index] is not None}
            if not wanted:
                continue
            target = self.engine.model.table(f.target or "")
            found: set[Any] = set()
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 1000):
                chunk = ordered[start : start + 1000]
                found.update(r[0] for r in conn.execute(sa.select(target.c.id).where(target.c.id.in_(chunk))))
            missing[index] = wanted - found
        if not any(missing.values()) and not strangers:
            return batch
        kept = []
        for row in batch:
            problems = [
                Problem(
                    code="unknown_reference",
                    field=f.name,
                    line=row.line,
                    message=f"{f.target} {row.values[i]} does not exist",
                )
                for i, f in references
                if row.values[i] in missing.get(i, ())
            ]
            if owner_at is not None and row.values[owner_at] in strangers:
                problems.append(record_problem(self.definition, "owner", "unknown_owner", line=row.line))
            if problems:
                self._reject(rejects, row.line, row.raw, problems)
            else:
                kept.append(row)
        return kept

    def _with_derived(
        self, conn: Connection, columns: tuple[str, ...], batch: list[Row], rejects: _Rejects
    ) -> tuple[tuple[str, ...], list[Row]]:
        """The batch with the derived values of its new records added as columns (a line whose
        compute fails is rejected, naming the field and the rule)."""
        if self._derives is None:  # asked once: with no records, only the names come back
            self._derives = bool(self.engine.derived.values_for_new_rows(conn, self.model, self.definition, [])[0])
        if not self._derives and not self._conditional:
            return columns, batch  # nothing to check or add: no per-line dicts (a twentieth of a plain import)
        records = [dict(zip(columns, row.values, strict=True)) for row in batch]
        if self._conditional:  # required_when / read_only_when of new records
            checked = [
                (row, record, conditional_problems(self.definition, None, record))
                for row, record in zip(batch, records, strict=True)
            ]
            for row, _record, found in checked:
                if found:
                    self._reject(rejects, row.line, row.raw, [dataclasses.replace(p, line=row.line) for p in found])
            batch = [row for row, _record, found in checked if not found]
            records = [record for _row, record, found in checked if not found]
        names, values, problems = self.engine.derived.values_for_new_rows(conn, self.model, self.definition, records)
        if not names:
            return columns, batch
        added = tuple(n for n in names if n not in columns)
        out = (*columns, *added)
        # the file never has a derived column (_prepare leaves them out): the values are appended
        appended = len(added) == len(names)
        kept = []
        for row, own, found in zip(batch, values, problems, strict=True):
            if found:
                located = [dataclasses.replace(p, line=row.line) for p in found]
                self._reject(rejects, row.line, row.raw, located)
                continue
            if appended:
                kept.append(Row(row.line, row.raw, row.values + tuple(own.get(n) for n in added)))
                continue
            record = dict(zip(columns, row.values, strict=True)) | own
            kept.append(Row(row.line, row.raw, tuple(record.get(c) for c in out)))
        return out, kept

    def _max_id(self, conn: Connection) -> int:
        if not self.workflows:
            return 0
        return int(conn.execute(sa.select(sa.func.max(self.table.c.id))).scalar() or 0)

    def _automations(self, conn: Connection, after_id: int) -> None:
        """The ``created`` automations of the records this batch added, each as if it had been
        created alone (nothing to read when the entity has none)."""
        automations = self.engine.automations
        if not automations.wants_created(self.definition.name):
            return
        t = self.table
        query = (
            sa.select(t)
            .where(t.c.id > after_id, t.c.created_at == self.now, t.c.version == 1, t.c.created_by == self.actor)
            .order_by(t.c.id)
        )
        records = [dict(r) for r in conn.execute(query).mappings()]
        automations.created_in_bulk(conn, self.definition.name, records, self.actor)

    def _workflow_history(self, conn: Connection, after_id: int) -> None:
        """Creation history of the records this batch added (one INSERT … SELECT per workflow).

        Imported records are those above the id seen before the batch and stamped with this
        import's time and actor, so records created concurrently are never counted twice.
        """
        for workflow in self.workflows:
            t = self.table
            source = sa.select(
                sa.literal(self.definition.name),
                t.c.id,
                sa.literal(workflow.name),
                t.c[workflow.field],
                t.c.created_by,
                t.c.created_at,
                sa.literal("import"),
            ).where(t.c.id > after_id, t.c.created_at == self.now, t.c.version == 1)
            source = source.where(t.c.created_by == self.actor)
            conn.execute(
                workflow_history.insert().from_select(
                    ["entity", "record_id", "workflow", "to_state", "actor", "at", "comment"], source
                )
            )

    def _writer(self, conn: Connection, columns: tuple[str, ...], now: datetime) -> BulkWriter:
        constants = {"version": 1, "created_at": now, "updated_at": now, "created_by": self.actor}
        if "owner" not in columns:
            constants["owner"] = self.owner
        writer = self._writers.get(columns)
        if writer is None or writer.conn is not conn or writer.constants != constants:
            writer = self._writers[columns] = BulkWriter(conn, self.table, columns, constants)
        return writer

    def _write_one_by_one(
        self, conn: Connection, columns: tuple[str, ...], batch: list[Row], rejects: _Rejects, now: datetime
    ) -> dict[int, int]:
        """Insert the rows one at a time (a line the database refuses is rejected, naming
        why); answers the new records' ids by line."""
        written: dict[int, int] = {}
        insert = self.table.insert().returning(self.table.c.id)
        for row in batch:
            (values,) = self._rows(columns, [row], now)
            savepoint = conn.begin_nested()
            try:
                written[row.line] = int(conn.execute(insert, values).scalar_one())
                savepoint.commit()
                self.report.inserted += 1
            except sa.exc.IntegrityError as exc:
                savepoint.rollback()
                self._reject(rejects, row.line, row.raw, self._refusal(conn, row.line, values, exc))
        self._audit_bulk(conn, batch, now)
        return written

    def _audit_overrides(
        self, conn: Connection, written: dict[int, int], overriding: dict[int, list[LineDuplicate]], now: datetime
    ) -> None:
        """Who imported which record over which block rule, as a single save's override is
        audited (the stored records it matched, and the earlier lines of the file)."""
        rows = []
        for line, record_id in written.items():
            found = overriding[line]
            candidates = [c for d in found for c in d.candidates()]
            lines = {d.rule: d.lines for d in found}
            change = f"import-{line}-{record_id}"
            rows.extend(
                override_rows(change, self.definition.name, record_id, candidates, self.actor, now, file_lines=lines)
            )
        if rows:
            conn.execute(audit_log.insert(), rows)
