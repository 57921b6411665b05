"""The engine object: one database, its live definitions compiled, and the services on them.

There are no globals: every service, CLI command and web request works on an explicit
:class:`CrmEngine`. The compiled model is rebuilt from the definitions stored in the
database, so every process (CLI, each web worker) serves the same applied version.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.compile import RecordValidator, build_metadata, compile_validator
from engine.errors import Problem, UnknownNameError, UsageError
from engine.metadata import Definitions, EntityDef, field_type
from engine.progress import NO_PROGRESS, Progress
from engine.storage import (
    SYSTEM_METADATA,
    Database,
    HotStatement,
    MigrationPlan,
    UnitOfWork,
    add_missing_columns,
    apply_definitions,
    audit_log,
    batch_audit_row,
    current_version,
    load_stored,
    plan_migration,
    upgrade_storage,
)
from engine.suggestions import did_you_mean

if TYPE_CHECKING:
    from engine.automations import AutomationService
    from engine.derived import DerivedService
    from engine.duplicates import DuplicateService
    from engine.events import EventService
    from engine.hooks import Plugins
    from engine.jobs import JobService
    from engine.merge import MergeService
    from engine.notifications import NotificationService
    from engine.ownership import HandoverService, PoolService
    from engine.permissions import PermissionService
    from engine.records import RecordService
    from engine.scoring import ScoringService
    from engine.timeline import NoteService
    from engine.users import SessionService, SignInService, TokenService, UserService
    from engine.views import ViewService
    from engine.webhooks import WebhookService
    from engine.workflow import WorkflowService


class UnknownEntityError(UnknownNameError):
    """No live entity has that name (``known`` None: no definitions are applied at all)."""

    def __init__(self, name: str, known: tuple[str, ...] | None) -> None:
        if known is None:
            message = f'there is no entity "{name}": no definitions are applied yet'
            problem = "no definitions are applied yet"
        else:
            names = sorted(known)
            hint = did_you_mean(name, names, otherwise=f" Known entities: {', '.join(names)}.")
            message, problem = f'there is no entity "{name}".{hint}', f'there is no entity "{name}"'
        super().__init__(message, [Problem(code="unknown_entity", field="entity", message=problem)])


@dataclass
class CompiledModel:
    """The artifacts compiled from one version of the definitions (built once, then read-only).

    Services take one model per operation (``engine.model`` read once, passed down), so a
    reload by another thread never mixes two versions in one write. Its caches of compiled
    validators and statements fill lazily, each under the model's lock: a statement or
    validator is built once and never replaced.
    """

    definitions: Definitions
    version: int
    metadata: sa.MetaData
    _validators: dict[str, RecordValidator] = field(default_factory=dict, repr=False)
    _statements: dict[str, sa.Select[Any]] = field(default_factory=dict, repr=False)
    _updates: dict[tuple[str, tuple[str, ...]], sa.Update] = field(default_factory=dict, repr=False)
    _hot: dict[tuple[str, tuple[str, ...] | None], HotStatement] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, definitions: Definitions, version: int) -> CompiledModel:
        return cls(definitions=definitions, version=version, metadata=build_metadata(definitions))

    def entity(self, name: str) -> EntityDef:
        """The entity called ``name``; :class:`UnknownEntityError` naming the closest otherwise."""
        try:
            return self.definitions.entities[name]
        except KeyError:
            raise UnknownEntityError(name, tuple(self.definitions.entities)) from None

    def table(self, name: str) -> sa.Table:
        self.entity(name)
        return self.metadata.tables[name]

    def select_by_id(self, name: str) -> sa.Select[Any]:
        """``SELECT * FROM entity WHERE id = :record_id``, built once (statement building
        costs more than running it on a hot path)."""
        found = self._statements.get(name)
        if found is None:
            with self._lock:
                found = self._statements.get(name)
                if found is None:
                    table = self.table(name)
                    found = sa.select(table).where(table.c.id == sa.bindparam("record_id"))
                    self._statements[name] = found
        return found

    def update_by_version(self, name: str, columns: tuple[str, ...]) -> sa.Update:
        """``UPDATE entity SET columns…, version = :new_version, updated_at = :now WHERE id =
        :record_id AND version = :old_version`` (values bound as ``v_<column>``), built once
        per column set."""
        key = (name, columns)
        found = self._updates.get(key)
        if found is None:
            with self._lock:
                found = self._updates.get(key)
                if found is None:
                    table = self.table(name)
                    found = (
                        table.update()
                        .where(table.c.id == sa.bindparam("record_id"), table.c.version == sa.bindparam("old_version"))
                        .values(
                            {c: sa.bindparam(f"v_{c}") for c in columns}
                            | {"version": sa.bindparam("new_version"), "updated_at": sa.bindparam("now")}
                        )
                    )
                    self._updates[key] = found
        return found

    def read_by_id(self, name: str) -> HotStatement:
        """:meth:`select_by_id` as a :class:`HotStatement` (``first(conn, {"record_id": …})``)."""
        found = self._hot.get((name, None))
        if found is None:
            found = self._hot.setdefault((name, None), HotStatement(self.select_by_id(name)))
        return found

    def write_by_version(self, name: str, columns: tuple[str, ...]) -> HotStatement:
        """:meth:`update_by_version` as a :class:`HotStatement` (``rowcount(conn, params)``)."""
        found = self._hot.get((name, columns))
        if found is None:
            found = self._hot.setdefault((name, columns), HotStatement(self.update_by_version(name, columns)))
        return found

    def validator(self, name: str, *, system: bool = False) -> RecordValidator:
        """The compiled validator of an entity.

        ``system=True`` gives the variant for services that own read-only fields
        (workflow actions, cascades): the same checks, but read-only fields are writable,
        except those whose values the engine assigns (autonumbers), which no service owns.
        """
        key = f"{name}#system" if system else name
        found = self._validators.get(key)
        if found is None:
            with self._lock:
                found = self._validators.get(key)
                if found is None:
                    entity = self.entity(name)
                    if system:
                        entity = dataclasses.replace(
                            entity,
                            fields={
                                n: dataclasses.replace(f, read_only=field_type(f.type).assigned)
                                for n, f in entity.fields.items()
                            },
                        )
                    found = compile_validator(entity)
                    self._validators[key] = found
        return found

    def referencing(self, target: str) -> list[tuple[EntityDef, str]]:
        """Every (entity, field) whose reference points at ``target``."""
        return [
            (entity, f.name)
            for entity in self.definitions.entities.values()
            for f in entity.fields.values()
            if f.type == "reference" and f.target == target
        ]


class CrmEngine:
    """A CRM engine bound to one database.

    :param database_url: SQLAlchemy URL, a SQLite file path, or None for
        ``CRM_DATABASE_URL`` / ``sqlite:///crm.db``.
    """

    def __init__(
        self, database_url: str | None = None, *, plugins: Plugins | None = None, **engine_options: Any
    ) -> None:
        self.db = Database(database_url, **engine_options)
        self.db.subscribe(self._committed)
        self._plugins = plugins
        self._create_system_tables()
        upgrade_storage(self.db)
        self._model: CompiledModel | None = None
        self._lock = threading.Lock()
        self.db.before_commit(self._settle)
        self.reload()

    def _create_system_tables(self) -> None:
        with self.db.write() as conn:
            if self.db.is_postgres:
                # concurrent first starts (web workers, parallel CLI calls) must not race
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727274)"))
            SYSTEM_METADATA.create_all(conn, checkfirst=True)
            add_missing_columns(conn)

    # -- live definitions ---------------------------------------------------------------
    @property
    def has_definitions(self) -> bool:
        return self._model is not None

    def entity(self, name: str) -> EntityDef:
        """The live entity ``name``; :class:`UnknownEntityError` when there is none, or when no
        definitions are applied yet (what a request naming an entity is told)."""
        if self._model is None:
            raise UnknownEntityError(name, None)
        return self._model.entity(name)

    @property
    def model(self) -> CompiledModel:
        if self._model is None:
            raise UsageError(
                "no definitions are applied to this database yet; run `crm schema apply PATH` "
                "or `crm preset load NAME` first"
            )
        return self._model

    @property
    def version(self) -> int:
        return self._model.version if self._model else 0

    def reload(self) -> bool:
        """Recompile if another process applied new definitions; True when it did."""
        with self.db.read() as conn:
            version = current_version(conn)
            if self._model is not None and self._model.version == version:
                return False
            stored = load_stored(conn)
        with self._lock:
            self._model = CompiledModel.build(stored.definitions, stored.version) if stored else None
        return True

    # -- schema changes -------------------------------------------------------------------
    def plan(self, definitions: Definitions) -> MigrationPlan:
        """What applying ``definitions`` would change, with row counts (changes nothing).

        :raises RoleInUseError: when ``definitions`` drop a role users hold.
        """
        from engine.users import refuse_dropped_roles

        with self.db.read() as conn:
            version = current_version(conn)
            stored = load_stored(conn)
            old = stored.definitions if stored else None
            refuse_dropped_roles(conn, old, definitions)
            return plan_migration(conn, old, definitions, from_version=version)

    def apply(
        self,
        definitions: Definitions,
        *,
        allow_data_loss: bool = False,
        actor: str | None = None,
        expected_version: int | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> tuple[int, MigrationPlan]:
        """Migrate the database to ``definitions``; see :func:`engine.storage.apply_definitions`.

        :raises RoleInUseError: when ``definitions`` drop a role users hold.
        """
        from engine.users import refuse_dropped_roles

        self.reload()
        before = self._model.definitions if self._model else None
        with self.db.read() as conn:
            refuse_dropped_roles(conn, before, definitions)
        self._refuse_unknown_subscriptions(definitions)
        result = apply_definitions(
            self.db,
            definitions,
            allow_data_loss=allow_data_loss,
            actor=actor,
            expected_version=expected_version,
            progress=progress,
        )
        version, plan = result
        if plan.has_changes or self._model is None:
            # what was just stored is what reading it back would give (the stored form round-trips)
            with self._lock:
                self._model = CompiledModel.build(definitions, version)
        if plan.has_changes:
            self._number_existing(before, definitions, actor)
            self._backfill_derived(before, definitions, actor)
        self.duplicates.sync(definitions)  # keys of new and changed duplicate rules (or of an interrupted apply)
        return result

    def _refuse_unknown_subscriptions(self, definitions: Definitions) -> None:
        """Automations may only send to webhook subscriptions that exist (``unknown_subscription``)."""
        if not any(a.kind == "webhook" for d in definitions.automations.values() for a in d.actions):
            return
        from engine.errors import DefinitionError
        from engine.webhooks import subscription_problems

        problems = subscription_problems(definitions, self.webhooks.names())
        if problems:
            raise DefinitionError(problems)

    def _number_existing(self, before: Definitions | None, definitions: Definitions, actor: str | None) -> None:
        """Number the records stored before an autonumber field came to them (a new field, one
        that becomes an autonumber, a new pattern), one transaction per field, audited as one
        batch; the counters move past the numbers already written."""
        from engine.records import fields_to_number, new_change_id, number_existing

        old = before.entities if before is not None else {}
        for name in sorted(definitions.entities):
            entity = definitions.entities[name]
            for f in fields_to_number(old.get(name), entity):
                with self.db.write() as tx:
                    numbered = number_existing(tx, self.model.table(name), entity, f)
                    if numbered:
                        summary = {"field": f.name, "pattern": f.number_pattern, "records": numbered}
                        row = batch_audit_row(
                            change_id=new_change_id(),
                            entity=name,
                            action="number",
                            summary=summary,
                            actor=actor,
                            at=utcnow(),
                        )
                        tx.execute(audit_log.insert(), [row])

    def _backfill_derived(self, before: Definitions | None, definitions: Definitions, actor: str | None) -> None:
        """Fill new or redefined computed and rolled-up fields of the records already stored,
        in batches (one transaction each); what depends on them follows."""
        from engine.derived import entities_to_backfill

        for entity in entities_to_backfill(before, definitions):
            self.derived.refresh_all(self.model, entity, actor=actor)

    def _settle(self, conn: sa.Connection, unit: UnitOfWork) -> None:
        """Before a write commits: the automations its changes set off (none, at no cost,
        when the definitions have none)."""
        model = self._model
        if model is not None and model.definitions.automations:
            self.automations.settle(conn, unit)

    def _committed(self, unit: UnitOfWork) -> None:
        from engine.events import dispatch

        dispatch(self, unit)

    # -- services ---------------------------------------------------------------------------
    @cached_property
    def derived(self) -> DerivedService:
        from engine.derived import DerivedService

        return DerivedService(self)

    @cached_property
    def automations(self) -> AutomationService:
        from engine.automations import AutomationService

        return AutomationService(self)

    @cached_property
    def jobs(self) -> JobService:
        from engine.jobs import JobService

        return JobService(self)

    @cached_property
    def events(self) -> EventService:
        from engine.events import EventService

        return EventService(self)

    @cached_property
    def webhooks(self) -> WebhookService:
        from engine.webhooks import WebhookService

        return WebhookService(self)

    @cached_property
    def notifications(self) -> NotificationService:
        """In-app notifications; emailed too when ``CRM_SMTP_URL`` is set (read on first use)."""
        from engine.notifications import Mailer, NotificationService, SmtpSettings

        settings = SmtpSettings.from_env()
        return NotificationService(self, mailer=Mailer(settings) if settings is not None else None)

    @cached_property
    def duplicates(self) -> DuplicateService:
        from engine.duplicates import DuplicateService

        return DuplicateService(self)

    @cached_property
    def records(self) -> RecordService:
        from engine.records import RecordService

        return RecordService(self)

    @cached_property
    def views(self) -> ViewService:
        """Saved views: the definitions' view documents and the views people store."""
        from engine.views import ViewService

        return ViewService(self)

    @cached_property
    def notes(self) -> NoteService:
        """Notes people add to a record's timeline."""
        from engine.timeline import NoteService

        return NoteService(self)

    @cached_property
    def merges(self) -> MergeService:
        from engine.merge import MergeService

        return MergeService(self)

    @cached_property
    def users(self) -> UserService:
        from engine.users import UserService

        return UserService(self)

    @cached_property
    def handovers(self) -> HandoverService:
        from engine.ownership import HandoverService

        return HandoverService(self)

    @cached_property
    def pool(self) -> PoolService:
        from engine.ownership import PoolService

        return PoolService(self)

    @cached_property
    def permissions(self) -> PermissionService:
        from engine.permissions import PermissionService

        return PermissionService(self)

    @cached_property
    def tokens(self) -> TokenService:
        from engine.users import TokenService

        return TokenService(self)

    @cached_property
    def sessions(self) -> SessionService:
        from engine.users import SessionService

        return SessionService(self)

    @cached_property
    def sign_ins(self) -> SignInService:
        from engine.users import SignInService

        return SignInService(self)

    @cached_property
    def workflows(self) -> WorkflowService:
        from engine.workflow import WorkflowService

        return WorkflowService(self)

    @cached_property
    def scoring(self) -> ScoringService:
        from engine.scoring import ScoringService

        return ScoringService(self)

    @property
    def plugins(self) -> Plugins:
        """Built-in and installed plugins (loaded on first use)."""
        if self._plugins is None:
            from engine.hooks import make_plugins

            self._plugins = make_plugins()
        return self._plugins

    def close(self) -> None:
        if "jobs" in self.__dict__:
            self.jobs.close()
        if "webhooks" in self.__dict__:
            self.webhooks.close()
        self.db.dispose()

    def __enter__(self) -> CrmEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
