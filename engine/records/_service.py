"""The one service layer for records: create, read, update, delete, list, audit.

No HTTP and no terminal here: callers (CLI, web, workflows, import) pass the ``actor``
and keyword arguments, and get dicts of Python values or :mod:`engine.errors` exceptions.
Every call names its ``actor`` (:data:`~engine.users.Actor`). Edges pass the acting
:class:`~engine.users.User`: their permissions apply (``engine.permissions``: entity
operations, row scope, hidden and read-only fields) and the change is recorded as theirs.
The engine's own work passes a :class:`~engine.users.SystemActor` with its reason: it passes
the permission checks, and only its capabilities let it write workflow or read-only fields.
Methods that write accept ``conn`` to join a caller's transaction (a workflow transition
updates the record and writes its history in one transaction).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.clock import utcnow
from engine.duplicates import Candidate, override_rows, refuse_duplicates, rules_touched
from engine.errors import (
    ConflictError,
    NotFoundError,
    Problem,
    RecordValidationError,
    UsageError,
)
from engine.metadata import EntityDef
from engine.storage import (
    RECORD_CREATED,
    DomainEvent,
    RowInserter,
    audit_log,
    record_updated,
    to_jsonable,
    unit_of,
)
from engine.users import Actor, SystemActor, owner_of_new, user_of

from ._autonumber import number_record
from ._bulk import BulkOutcome, bulk_update
from ._checks import (
    ReadScope,
    check_unique,
    integrity_reason,
    owner_problems,
    reference_problems,
    workflow_field_problems,
)
from ._conditions import conditional_problems
from ._deletes import delete_tree
from ._derived_writes import write_derived
from ._filters import Filter, Follow, Target, compile_filter, compile_sort, sort_keys
from ._owner_cascade import cascade_owner
from ._search import compile_search
from ._stored import after_update, stored_value
from ._trail import as_id, audit_entry, new_change_id, read_trail

if TYPE_CHECKING:
    from engine.permissions import PermissionService
    from engine.runtime import CompiledModel, CrmEngine
    from engine.users import User

Record = dict[str, Any]
_AUDIT = RowInserter(audit_log)
MAX_PAGE = 1000
#: Statements kept per definitions version (past it, the memory starts afresh).
_MAX_STATEMENTS = 1000


@dataclass(frozen=True)
class Page:
    items: list[Record]
    total: int
    limit: int
    offset: int


class RecordService:
    """Records of every entity of one engine."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine
        # statements built once per compiled model (lists: per filter shape, sort and scope):
        # building a statement and its cache key costs more than running it on an indexed page
        self._statements: dict[tuple[Any, ...], Any] = {}
        self._statements_model: CompiledModel | None = None
        self._statements_lock = threading.Lock()

    @property
    def model(self) -> CompiledModel:
        return self._engine.model

    @property
    def _permissions(self) -> PermissionService:
        return self._engine.permissions

    @contextmanager
    def _write(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self._engine.db.write() as own:
                yield own

    # -- reading ----------------------------------------------------------------------------
    def get(self, entity: str, record_id: int, *, actor: Actor, conn: Connection | None = None) -> Record:
        """One record by id; :class:`NotFoundError` when there is none (or ``actor`` may not see it)."""
        user = user_of(actor)
        if user is not None:
            self._permissions.require(user, entity, "read")
        record = self._read(entity, record_id, conn)
        if user is not None:
            self._permissions.check_record(user, entity, record)
            return self._permissions.visible(user, entity, record)
        return record

    def _read(self, entity: str, record_id: int, conn: Connection | None) -> Record:
        """The stored record, unchecked (the service's own reads before a write)."""
        statement = self.model.read_by_id(entity)
        record_id = as_id(record_id)
        if conn is None:
            with self._engine.db.read() as own:
                record = statement.first(own, {"record_id": record_id})
        else:
            record = statement.first(conn, {"record_id": record_id})
        if record is None:
            raise NotFoundError(f"{entity} {record_id} does not exist")
        return record

    def list(
        self,
        entity: str,
        *,
        where: Any = None,
        sort: Any = None,
        limit: int = 50,
        offset: int = 0,
        with_total: bool = True,
        actor: Actor,
        search: str | None = None,
    ) -> Page:
        """Records matching ``where`` (see :mod:`._filters`) and the free-text ``search``
        (see :mod:`._search`), sorted, one page at a time; for a user, only the records
        in their read scope, without hidden fields (which filters and searches never see)."""
        user = user_of(actor)
        model = self.model
        definition = model.entity(entity)
        table = model.table(entity)
        hidden: frozenset[str] = frozenset()
        scope: Any = None
        scope_params: dict[str, Any] = {}
        scope_shape = "all"
        if user is not None:
            access = self._permissions.require(user, entity, "read")
            hidden = access.hidden
            definition = self._permissions.visible_entity(user, definition)
            scope, scope_params, scope_shape = self._permissions.scope_parameters(user, table, access.read)
        if not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE:
            raise UsageError(f"limit must be between 0 and {MAX_PAGE}")
        if not isinstance(offset, int) or offset < 0:
            raise UsageError("offset must be 0 or more")
        found = compile_filter(
            definition, table, where, dialect=self._engine.db.dialect, follow=self._targets(user)
        ).combined(compile_search(definition, table, search))
        order = compile_sort(definition, table, sort)  # checks the sort even when the statement is kept
        select, count = self._list_statements(model, entity, table, found, sort_keys(sort), order, scope, scope_shape)
        params = {**found.params, **scope_params}
        with self._engine.db.read() as conn:
            result = conn.execute(select, {**params, "crm_limit": limit, "crm_offset": offset})
            names = tuple(result.keys())
            if hidden:
                items = [{k: v for k, v in zip(names, row, strict=True) if k not in hidden} for row in result]
            else:
                items = [dict(zip(names, row, strict=True)) for row in result]
            if not with_total:
                total = len(items)
            elif len(items) < limit and (items or offset == 0):
                total = offset + len(items)  # the last page: the count is known without asking
            else:
                total = int(conn.execute(count, params).scalar() or 0)
        return Page(items=items, total=total, limit=limit, offset=offset)

    def _targets(self, user: User | None) -> Follow:
        """What filters of ``user`` see of the targets of references (``account.name``)."""
        model = self.model
        permissions = self._permissions

        def follow(entity: str) -> Target | None:
            definition = model.entity(entity)
            if user is None:
                return Target(definition, model.table(entity), lambda table: (None, {}, "all"))
            access = permissions.access(user, entity)
            if not access.allows("read"):
                return None
            return Target(
                permissions.visible_entity(user, definition),
                model.table(entity),
                lambda table: permissions.scope_parameters(user, table, access.read),  # type: ignore[arg-type]
            )

        return follow

    def _list_statements(
        self,
        model: CompiledModel,
        entity: str,
        table: sa.Table,
        found: Filter,
        sort: tuple[str, ...],
        order: builtins.list[Any],
        scope: Any,
        scope_shape: str,
    ) -> tuple[sa.Select[Any], sa.Select[Any]]:
        """The page and count statements of a list, built once per filter shape, sort and scope."""

        def build() -> tuple[sa.Select[Any], sa.Select[Any]]:
            condition = found.condition if scope is None else sa.and_(found.condition, scope)
            return (
                sa.select(table)
                .where(condition)
                .order_by(*order)
                .limit(sa.bindparam("crm_limit"))
                .offset(sa.bindparam("crm_offset")),
                sa.select(sa.func.count()).select_from(table).where(condition),
            )

        kept: tuple[sa.Select[Any], sa.Select[Any]] = self._statement(
            model, ("list", entity, found.shape, sort, scope_shape), build
        )
        return kept

    def _statement(self, model: CompiledModel, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """``build()`` once per ``key`` and compiled model."""
        kept = self._statements.get(key) if self._statements_model is model else None
        if kept is None:
            kept = build()
            with self._statements_lock:
                if self._statements_model is not model or len(self._statements) >= _MAX_STATEMENTS:
                    self._statements = {}
                    self._statements_model = model
                self._statements[key] = kept
        return kept

    def audit(
        self, entity: str | None = None, record_id: int | None = None, *, actor: Actor, limit: int = 200
    ) -> builtins.list[dict[str, Any]]:
        """The audit trail, newest first: who changed which field when, old → new (see
        :func:`._trail.read_trail`)."""
        return read_trail(self, entity, record_id, actor=actor, limit=limit)

    # -- writing ------------------------------------------------------------------------------
    def create(
        self,
        entity: str,
        data: Mapping[str, Any],
        *,
        actor: Actor,
        conn: Connection | None = None,
        allow_duplicate: bool = False,
        found_duplicates: builtins.list[Candidate] | None = None,
    ) -> Record:
        """Validate and insert a record as ``actor``, who owns it unless ``owner`` is given
        (a system actor's record has no owner, unless it acts on behalf of a user).

        Duplicate rules apply (:mod:`engine.duplicates`): a ``block`` rule's candidates refuse
        the record (:class:`~engine.duplicates.DuplicateError`) unless ``allow_duplicate``,
        which the audit records; every candidate found is appended to ``found_duplicates``."""
        model = self.model
        definition = model.entity(entity)
        data = _as_mapping(data)
        user = user_of(actor)
        if user is not None:
            self._permissions.require(user, entity, "create")
            self._permissions.check_writable(user, entity, data)
        name = actor.name
        workflows = model.definitions.workflows_for(entity)
        problems: builtins.list[Problem] = []
        if workflows:
            data, problems = self._initial_states(data, workflows)
        derived = self._engine.derived
        problems.extend(derived.refused(definition, data))
        data = {k: v for k, v in data.items() if not (k in definition.fields and definition.fields[k].derived)}
        values, value_problems = model.validator(entity).check_values(data, partial=False)
        problems.extend(value_problems)
        now = utcnow()
        table = model.table(entity)
        insert = self._statement(model, ("insert", entity), lambda: table.insert().returning(*table.c))
        with self._write(conn) as tx:
            # every problem of the request at once: workflow fields, values, references, owner
            problems.extend(reference_problems(model, tx, definition, values, self._read_scope(user)))
            problems.extend(owner_problems(tx, definition, values))
            problems.extend(conditional_problems(definition, None, values))
            if not problems:
                number_record(tx, definition, values, now)  # computes may read the number
                computed, compute_problems = derived.values_for(tx, model, definition, values, new=True)
                values.update(computed)
                problems.extend(compute_problems)
            if problems:
                raise RecordValidationError(problems)
            owner = values.pop("owner", None) if "owner" in values else owner_of_new(actor)
            check_unique(tx, definition, table, values, None)
            duplicates = self._engine.duplicates.check(tx, definition, values, None) if definition.duplicates else []
            overridden = refuse_duplicates(entity, duplicates, allow_duplicate)
            row = {**values, "version": 1, "created_at": now, "updated_at": now, "created_by": name, "owner": owner}
            try:
                # the record as stored (RETURNING: no second query to read it back)
                created = dict(tx.execute(insert, row).mappings().one())
            except sa.exc.IntegrityError as exc:
                raise ConflictError(f"{entity} could not be saved: {integrity_reason(exc)}") from exc
            record_id = created["id"]
            change = new_change_id()
            entries = [
                audit_entry(
                    change, entity, record_id, "create", key, None, stored_value(definition, key, value), name, now
                )
                for key, value in values.items()
                if value is not None
            ]
            entries.append(audit_entry(change, entity, record_id, "create", "owner", None, owner, name, now))
            entries.extend(override_rows(change, entity, record_id, overridden, name, now))
            _AUDIT.insert(tx, entries)
            if definition.duplicates:
                self._engine.duplicates.keep_keys(tx, definition, created, new=True)
                if found_duplicates is not None:
                    found_duplicates.extend(duplicates)
            if workflows:
                self._engine.workflows.record_creation(tx, entity, created, name, now)
            derived.after_write(tx, model, entity, None, created, name)
            unit_of(tx).emit(
                DomainEvent(
                    RECORD_CREATED,
                    entity,
                    record_id,
                    name,
                    {"record": to_jsonable(created)},
                    now,
                    model.version,
                    record=created,
                )
            )
        return self._permissions.visible(user, entity, created) if user is not None else created

    def _read_scope(self, user: User | None) -> ReadScope | None:
        """The condition selecting the records of an entity ``user`` may read (``None``:
        the system, which reads everything)."""
        if user is None:
            return None
        permissions = self._permissions

        def scope(entity: str, table: sa.Table) -> Any:
            access = permissions.access(user, entity)
            if access.unrestricted:
                return None
            return permissions.scope_condition(user, table, access.read)

        return scope

    def _initial_states(
        self, data: Mapping[str, Any], workflows: Any
    ) -> tuple[Mapping[str, Any], builtins.list[Problem]]:
        """``data`` with each workflow field at its initial state, and the problems of
        values that tried to set another one."""
        problems = []
        out = dict(data)
        for w in workflows:
            given = out.get(w.field)
            if given is not None and given != w.initial_state:
                problems.append(
                    Problem(
                        code="workflow_field",
                        field=w.field,
                        message=f"{w.field} is set by workflow {w.name}; new records start in "
                        f"{w.initial_state} and move on through its transitions",
                    )
                )
            out[w.field] = w.initial_state
        return out, problems

    def update(
        self,
        entity: str,
        record_id: int,
        changes: Mapping[str, Any],
        *,
        actor: Actor,
        expected_version: int | None = None,
        conn: Connection | None = None,
        current: Record | None = None,
        allow_duplicate: bool = False,
        found_duplicates: builtins.list[Candidate] | None = None,
    ) -> Record:
        """Apply a partial update as ``actor``. A stale ``expected_version`` is a :class:`ConflictError`.

        Without ``expected_version`` the version read in this transaction guards the write,
        so a concurrent change is still never overwritten silently.
        ``current`` is the record as the caller just read it in the same transaction
        ``conn`` (saves reading it again; the version check still guards the write).
        ``actor``: a user's permissions apply (the record in their update scope, no read-only
        or hidden field among ``changes``); the change is recorded as theirs. A system
        actor writes read-only fields only when it :attr:`~SystemActor.writes_read_only`
        (services that own them: workflow actions), and workflow state fields only when it
        :attr:`~SystemActor.writes_workflow_fields` (the workflow service).
        Duplicate rules comparing a changed field apply as on :meth:`create`.
        """
        model = self.model
        definition = model.entity(entity)
        changes = _as_mapping(changes)
        user = user_of(actor)
        if user is not None:
            self._permissions.require(user, entity, "update")
            self._permissions.check_writable(user, entity, changes)
        writes_read_only = isinstance(actor, SystemActor) and actor.writes_read_only
        derived = self._engine.derived
        refused = derived.refused(definition, changes)
        changes = {k: v for k, v in changes.items() if not (k in definition.fields and definition.fields[k].derived)}
        validator = model.validator(entity, system=writes_read_only)
        values, problems = validator.check_values(changes, partial=True)
        problems = [*refused, *problems]
        table = model.table(entity)
        with self._write(conn) as tx:
            if current is None or conn is None:
                current = self._read(entity, record_id, tx)
            if user is not None:
                self._permissions.check_record(user, entity, current, "update")
            changed = {k: v for k, v in values.items() if current.get(k) != v}
            # every problem of the request at once: values, workflow fields, references, owner
            problems.extend(workflow_field_problems(model, definition, current, changed, actor))
            problems.extend(reference_problems(model, tx, definition, changed, self._read_scope(user)))
            problems.extend(owner_problems(tx, definition, changed))
            if changed:
                problems.extend(conditional_problems(definition, current, {**current, **changed}))
            if changed and not problems:
                computed, compute_problems = derived.values_for(
                    tx, model, definition, {**current, **changed}, new=False
                )
                changed.update({k: v for k, v in computed.items() if current.get(k) != v})
                problems.extend(compute_problems)
            if problems:
                raise RecordValidationError(problems)
            if expected_version is not None and current["version"] != expected_version:
                raise ConflictError(
                    f"{entity} {record_id} was changed by someone else (version {current['version']}, "
                    f"you had {expected_version}); reload it and apply your change again",
                    [Problem(code="stale_version", field="version", message="the record has a newer version")],
                )
            if not changed:
                return self._permissions.visible(user, entity, current) if user is not None else current
            check_unique(tx, definition, table, {**current, **changed}, current["id"], only=set(changed))
            rules = rules_touched(definition, changed, current, {**current, **changed})
            duplicates = self._engine.duplicates.check(tx, definition, {**current, **changed}, current["id"], rules)
            overridden = refuse_duplicates(entity, duplicates, allow_duplicate)
            updated = self._write_update(model, tx, definition, current, changed, actor.name, overridden)
            if rules:
                self._engine.duplicates.keep_keys(tx, definition, updated, rules)
                if found_duplicates is not None:
                    found_duplicates.extend(duplicates)
        return self._permissions.visible(user, entity, updated) if user is not None else updated

    def bulk_update(
        self, entity: str, ids: Any, values: Mapping[str, Any], *, actor: User, **options: Any
    ) -> BulkOutcome:
        """The same ``values`` over many records, each on its own (see :mod:`._bulk`)."""
        return bulk_update(self._engine, entity, ids, values, actor=actor, **options)

    def _write_update(
        self,
        model: CompiledModel,
        tx: Connection,
        definition: EntityDef,
        current: Record,
        changed: Mapping[str, Any],
        actor: str | None,
        overridden: builtins.list[Candidate] | None = None,
    ) -> Record:
        """Write checked ``changed`` values over ``current`` (guarded by its version) with their
        audit rows (and those of ``overridden`` duplicate candidates); returns the record as
        the database now holds it, without reading it back."""
        entity = definition.name
        now = utcnow()
        columns = tuple(sorted(changed))
        written = model.write_by_version(entity, columns).rowcount(
            tx,
            {
                **{f"v_{c}": changed[c] for c in columns},
                "record_id": current["id"],
                "old_version": current["version"],
                "new_version": current["version"] + 1,
                "now": now,
            },
        )
        if written != 1:
            raise ConflictError(
                f"{entity} {current['id']} was changed by someone else at the same time; reload and retry",
                [Problem(code="stale_version", field="version", message="concurrent change")],
            )
        change = new_change_id()
        entries = [
            audit_entry(
                change,
                entity,
                current["id"],
                "update",
                name,
                current.get(name),
                stored_value(definition, name, value),
                actor,
                now,
            )
            for name, value in changed.items()
        ]
        entries.extend(override_rows(change, entity, current["id"], overridden or [], actor, now))
        _AUDIT.insert(tx, entries)
        updated = after_update(definition, current, changed, now)
        unit_of(tx).emit(record_updated(entity, current, updated, changed, actor, now, model.version))
        self._engine.derived.after_write(tx, model, entity, current, updated, actor)
        if "owner" in changed:
            self.cascade_owner(tx, entity, current["id"], current.get("owner"), updated["owner"], actor)
        return updated

    def cascade_owner(
        self, tx: Connection, entity: str, record_id: int, previous: Any, owner: Any, actor: str | None
    ) -> int:
        """Give ``owner`` the records following ``entity`` ``record_id`` that ``previous`` owned
        (``cascade_owner`` references, recursively; see :mod:`._owner_cascade`): every write
        that changes an owner calls it in its transaction. Returns how many records moved."""
        return cascade_owner(self, tx, self.model, entity, record_id, previous, owner, actor)

    def write_derived(
        self,
        tx: Connection,
        model: CompiledModel,
        definition: EntityDef,
        changes: builtins.list[tuple[Record, dict[str, Any]]],
        actor: str | None,
    ) -> builtins.list[tuple[Record, Record]]:
        """Write recomputed derived values over records (see :func:`._derived_writes.write_derived`)."""
        return write_derived(tx, model, definition, changes, actor)

    def delete(
        self,
        entity: str,
        record_id: int,
        *,
        actor: Actor,
        expected_version: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Delete a record as ``actor``, honouring every reference's ``on_delete`` (restrict,
        cascade, set_null).

        For a user, the record must be in their delete scope (cascades then run as the system,
        recorded as theirs).
        """
        user = user_of(actor)
        if user is not None:
            self._permissions.require(user, entity, "delete")
        with self._write(conn) as tx:
            current = self._read(entity, record_id, tx)
            if user is not None:
                self._permissions.check_record(user, entity, current, "delete")
            if expected_version is not None and current["version"] != expected_version:
                raise ConflictError(
                    f"{entity} {record_id} was changed by someone else (version {current['version']}, "
                    f"you had {expected_version}); reload it before deleting",
                    [Problem(code="stale_version", field="version", message="the record has a newer version")],
                )
            delete_tree(self, tx, entity, current, actor.name, set())


def _as_mapping(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise UsageError('record data must be a JSON object like {"field": value}')
    return data
