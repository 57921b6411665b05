"""Tables: one SQLAlchemy ``Table`` per entity, system columns first."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.schema import (
    ColumnCollectionConstraint,
    Constraint,
    ForeignKeyConstraint,
    SchemaItem,
)

from engine.clock import utcnow
from engine.compile._types import UTCDateTime, column_type
from engine.errors import DefinitionError, Problem
from engine.metadata._model import Definitions, EntityDef

#: PostgreSQL truncates identifiers longer than this (silently); names we generate
#: stay within it on every database, so a name means the same object everywhere.
MAX_IDENTIFIER_LENGTH = 63
#: Width of ``created_by`` and ``owner``: user names.
USER_NAME_LENGTH = 128

_ON_DELETE = {"restrict": "RESTRICT", "cascade": "CASCADE", "set_null": "SET NULL"}


def _fit(name: str) -> str:
    """``name`` if short enough, else a prefix plus a hash of the whole name.

    SQLAlchemy only shortens convention names on dialects with a length limit, so the
    same index would be called differently on SQLite and PostgreSQL; this does not.
    """
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_LENGTH - len(digest) - 1]}_{digest}"


def _column_names(constraint: ColumnCollectionConstraint | Index) -> str:
    return "_".join(column.name for column in constraint.columns)


def _ix(constraint: Index, table: Table) -> str:
    return _fit(f"ix_{table.name}_{_column_names(constraint)}")


def _uq(constraint: UniqueConstraint, table: Table) -> str:
    return _fit(f"uq_{table.name}_{_column_names(constraint)}")


def _fk(constraint: ForeignKeyConstraint, table: Table) -> str:
    columns = "_".join(element.parent.name for element in constraint.elements)
    return _fit(f"fk_{table.name}_{columns}")


def _pk(constraint: Constraint, table: Table) -> str:
    return _fit(f"pk_{table.name}")


#: Deterministic names for every index and constraint, at most 63 characters:
#: ``ix_<table>_<columns>``, ``uq_<table>_<columns>``, ``fk_<table>_<column>``,
#: ``pk_<table>``, ``ck_<table>_<name>``; longer ones end in a hash of the full name.
#: A plain dict because SQLAlchemy and Alembic copy and pickle it; treat it as constant.
NAMING_CONVENTION: dict[str, str | Callable[[Any, Table], str]] = {
    "crm_ix": _ix,
    "crm_uq": _uq,
    "crm_fk": _fk,
    "crm_pk": _pk,
    "ix": "%(crm_ix)s",
    "uq": "%(crm_uq)s",
    "fk": "%(crm_fk)s",
    "pk": "%(crm_pk)s",
    # CHECK constraints must be named explicitly (the engine itself makes none).
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def _utcnow() -> datetime:
    return utcnow()


def _same_as_created_at(context: DefaultExecutionContext) -> datetime:
    # A record created without explicit timestamps was last updated when it was
    # created, to the microsecond, not a few microseconds later.
    # SQLAlchemy leaves get_current_parameters() unannotated; it returns a dict.
    created = context.get_current_parameters().get("created_at")  # type: ignore[no-untyped-call]
    return created if isinstance(created, datetime) else _utcnow()


def system_columns() -> list[Column[Any]]:
    """New ``Column`` objects for the system columns every record table starts with.

    ``id`` (BigInteger, INTEGER on SQLite so that it is the rowid), ``version``
    (starts at 1), ``created_at``/``updated_at`` (UTC, not null), ``created_by`` and
    ``owner`` (user names; ``owner`` is indexed). Fresh objects on every call: a
    ``Column`` belongs to one table.
    """
    return [
        Column(
            "id",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("version", Integer(), nullable=False, default=1, server_default=text("1")),
        Column("created_at", UTCDateTime(), nullable=False, default=_utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, default=_same_as_created_at),
        Column("created_by", String(USER_NAME_LENGTH), nullable=True),
        Column("owner", String(USER_NAME_LENGTH), nullable=True, index=True),
    ]


def _problem(entity: EntityDef, pointer: str, code: str, message: str) -> Problem:
    source = entity.source
    file = source.file if source is not None else None
    base = source.pointer if source is not None else ""
    return Problem(code=code, message=message, file=file, pointer=base + pointer)


def _reaches(defs: Definitions, start: str, goal: str) -> bool:
    """Whether entity ``start`` refers to ``goal`` through a chain of references."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name == goal:
            return True
        if name in seen or name not in defs.entities:
            continue
        seen.add(name)
        stack.extend(f.target for f in defs.entities[name].references() if f.target)
    return False


def _field_columns(entity: EntityDef, defs: Definitions, problems: list[Problem]) -> list[Column[Any]]:
    columns: list[Column[Any]] = []
    for field in entity.fields.values():
        args: list[SchemaItem] = []
        if field.type == "reference":
            if field.target is None or field.target not in defs.entities:
                problems.append(
                    _problem(
                        entity,
                        f"/fields/{field.name}/target",
                        "unknown_target",
                        f"{entity.name}.{field.name} refers to entity {field.target!r}, "
                        "which is not defined; define it or fix the target",
                    )
                )
            else:
                # Tables that refer to each other (account <-> contact) cannot be created
                # one after the other with inline foreign keys; those keys are added by
                # ALTER after both tables exist (SQLite, which has no ALTER, keeps them
                # inline and does not need the order).
                in_cycle = field.target != entity.name and _reaches(defs, field.target, entity.name)
                args.append(
                    ForeignKey(
                        f"{field.target}.id",
                        ondelete=_ON_DELETE[field.on_delete],
                        use_alter=in_cycle,
                    )
                )
        # Every field column is nullable: "required" is enforced by the validators,
        # so making a field required never needs a NOT NULL table rebuild.
        columns.append(Column(field.name, column_type(field), *args, nullable=True))
    return columns


def _indexes(entity: EntityDef, table: Table, problems: list[Problem]) -> Iterable[Index | UniqueConstraint]:
    unique: list[tuple[str, ...]] = []
    indexed: list[tuple[str, ...]] = []
    for field in entity.fields.values():
        if field.unique:
            unique.append((field.name,))
        elif field.index or field.type == "reference":
            indexed.append((field.name,))
    sources = (("unique", entity.unique, unique), ("indexes", entity.indexes, indexed))
    for kind, groups, into in sources:
        for i, group in enumerate(groups):
            missing = [(j, name) for j, name in enumerate(group) if name not in table.c]
            for j, name in missing:
                problems.append(
                    _problem(
                        entity,
                        f"/{kind}/{i}/{j}",
                        "unknown_field",
                        f"{kind} of {entity.name} names {name!r}, which is not a column; "
                        "use a field name or a system column",
                    )
                )
            if not missing:
                into.append(tuple(group))
    # A unique constraint is an index already; an index listed twice is made once.
    made: set[tuple[str, ...]] = set()
    for group in unique:
        if group not in made:
            made.add(group)
            yield UniqueConstraint(*(table.c[name] for name in group))
    for group in indexed:
        if group not in made:
            made.add(group)
            yield Index(None, *(table.c[name] for name in group))


def _table(entity: EntityDef, defs: Definitions, metadata: MetaData, problems: list[Problem]) -> None:
    # AUTOINCREMENT: SQLite otherwise hands the id of the newest record, once deleted, to
    # the next one, which would inherit the deleted record's audit trail and history.
    table = Table(
        entity.name,
        metadata,
        *system_columns(),
        *_field_columns(entity, defs, problems),
        sqlite_autoincrement=True,
    )
    for item in _indexes(entity, table, problems):
        if isinstance(item, UniqueConstraint):
            table.append_constraint(item)
        # An Index built from a table's columns attaches itself to that table.


def build_metadata(defs: Definitions) -> MetaData:
    """A new ``MetaData`` holding one ``Table`` per entity of ``defs``.

    Tables are named after the entities and columns after the fields, in definition
    order after the system columns (:func:`system_columns`). Index and constraint
    names follow :data:`NAMING_CONVENTION`. Raises :class:`DefinitionError` when a
    reference targets an undefined entity or an index names an undefined column.
    """
    metadata = MetaData(naming_convention=dict(NAMING_CONVENTION))
    problems: list[Problem] = []
    for entity in defs.entities.values():
        _table(entity, defs, metadata, problems)
    if problems:
        raise DefinitionError(problems)
    return metadata
