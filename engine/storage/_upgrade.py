"""Bring SQLite record tables written by older versions up to the current storage.

Two things changed on SQLite, and a database made before them is upgraded when it is opened
(and before ``crm schema apply`` migrates it), in one transaction per run:

- Record tables are ``AUTOINCREMENT``: an id is never handed out twice, even after the
  newest record is deleted. An older table is rebuilt with it, and SQLite's counter starts
  above the highest id ever used, including ids only the audit trail, the workflow history
  or the score history still name (records deleted before the upgrade).
- Decimal and money columns hold the value times ``10^scale`` as an INTEGER
  (:class:`engine.compile.ExactDecimal`) instead of a REAL. Older values are read as the
  text SQLite gives them and scaled exactly; what a REAL had already rounded stays rounded.

A database that is up to date costs one read of ``sqlite_master`` per record table.
PostgreSQL needs neither change: its ids come from sequences and it stores ``NUMERIC``.

On both databases, a system table that gained a nullable column since the database was made
(``crm_users.email``) gains it on start (:func:`add_missing_columns`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from engine.compile import SQLITE_MAX_PRECISION, ExactDecimal, build_metadata, column_type
from engine.errors import DefinitionError, Problem, UsageError
from engine.metadata import Definitions, EntityDef, FieldDef

from ._database import Database
from ._state import load_stored
from ._system_tables import SYSTEM_METADATA, audit_log, score_history, workflow_history

_TEMP_PREFIX = "crm_upgrade_"
#: Declared types of decimal columns made before they held scaled integers.
_OLD_DECIMAL_TYPES = ("NUMERIC", "DECIMAL", "REAL", "FLOAT", "DOUBLE")
_INT64_MAX = 2**63 - 1


def upgrade_storage(db: Database) -> list[str]:
    """Upgrade the record tables of an older SQLite database; the names of those rebuilt.

    Does nothing on PostgreSQL or when every table is current.
    """
    if not db.is_sqlite:
        return []
    with db.read() as conn:
        stored = load_stored(conn)
        if stored is None or not _outdated_tables(conn, stored.definitions):
            return []
    with db.migration() as conn:
        stored = load_stored(conn)
        return upgrade_tables(conn, stored.definitions if stored else None)


def upgrade_tables(conn: Connection, definitions: Definitions | None) -> list[str]:
    """Rebuild the outdated record tables of ``definitions`` inside ``conn``'s transaction."""
    if conn.dialect.name != "sqlite" or definitions is None:
        return []
    outdated = _outdated_tables(conn, definitions)
    if not outdated:
        return []
    metadata = build_metadata(definitions)
    for name, old_decimals in outdated.items():
        _rebuild(conn, metadata.tables[name], definitions.entities[name], old_decimals)
    return list(outdated)


def refuse_unstorable(conn: Connection, definitions: Definitions) -> None:
    """Raise :class:`DefinitionError` for decimals SQLite cannot keep exactly (more than 18 digits)."""
    if conn.dialect.name != "sqlite":
        return
    problems = [
        Problem(
            code="precision_too_large",
            message=(
                f"{entity.name}.{f.name} has precision {f.precision}, but SQLite keeps at most "
                f"{SQLITE_MAX_PRECISION} digits exactly; lower the precision to {SQLITE_MAX_PRECISION} "
                "or use PostgreSQL"
            ),
            file=entity.source.file if entity.source else None,
            pointer=(entity.source.pointer if entity.source else "") + f"/fields/{f.name}/precision",
        )
        for entity in definitions.entities.values()
        for f in entity.fields.values()
        if f.precision is not None and f.type in ("decimal", "money") and f.precision > SQLITE_MAX_PRECISION
    ]
    if problems:
        raise DefinitionError(problems)


def add_missing_columns(conn: Connection, metadata: sa.MetaData = SYSTEM_METADATA) -> list[str]:
    """Add the columns the system tables of ``metadata`` declare but the database lacks
    (``table.column`` of each added), inside ``conn``'s transaction.

    Only nullable columns can be added this way (existing rows hold null); a new required
    column needs an upgrade step of its own, so one is refused here rather than guessed.
    """
    present = _present_columns(conn)
    preparer = conn.dialect.identifier_preparer
    added: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        for column in table.columns:
            if column.name in present[table.name]:
                continue
            if not column.nullable:
                raise UsageError(
                    f"{table.name} lacks the required column {column.name}, which cannot be added to "
                    "existing rows without a value; upgrade this database with the version that added it"
                )
            kind = column.type.compile(dialect=conn.dialect)
            ddl = f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {preparer.format_column(column)} {kind}"
            conn.exec_driver_sql(ddl)
            added.append(f"{table.name}.{column.name}")
    return added


def _present_columns(conn: Connection) -> dict[str, set[str]]:
    """table → its columns, for every table of the database (one query)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    else:
        query = (
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'"
        )
    found: dict[str, set[str]] = {}
    for table, column in conn.exec_driver_sql(query):
        found.setdefault(str(table), set()).add(str(column))
    return found


# -- ids ----------------------------------------------------------------------------------------
def used_ids(conn: Connection) -> dict[str, int]:
    """SQLite's ``AUTOINCREMENT`` counters, per table (empty on PostgreSQL)."""
    if conn.dialect.name != "sqlite" or not _has_sequences(conn):
        return {}
    return {str(name): int(seq) for name, seq in conn.exec_driver_sql("SELECT name, seq FROM sqlite_sequence")}


def keep_ids_used(conn: Connection, before: dict[str, int], renamed: dict[str, str]) -> None:
    """Put back counters a table rebuild lowered (a rebuilt table counts from its highest id).

    :param before: :func:`used_ids` before the rebuilds.
    :param renamed: old table name → new one, for tables renamed meanwhile.
    """
    if conn.dialect.name != "sqlite":
        return
    tables = set(sa.inspect(conn).get_table_names())
    for name, seq in before.items():
        table = renamed.get(name, name)
        if table in tables:
            _raise_sequence(conn, table, seq)


def _has_sequences(conn: Connection) -> bool:
    found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    return found.first() is not None


def _raise_sequence(conn: Connection, table: str, seq: int) -> None:
    current = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).first()
    if current is None:
        conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))
    elif int(current[0]) < seq:
        conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, table))


def _highest_id_used(conn: Connection, table: str) -> int:
    """The highest id the table or any trail of its records has named."""
    quoted = conn.dialect.identifier_preparer.quote(table)
    highest = int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {quoted}").scalar() or 0)
    for trail in (audit_log, workflow_history, score_history):
        found = conn.execute(sa.select(sa.func.max(trail.c.record_id)).where(trail.c.entity == table)).scalar()
        highest = max(highest, int(found or 0))
    return highest


# -- finding what is outdated ---------------------------------------------------------------------
def _outdated_tables(conn: Connection, definitions: Definitions) -> dict[str, list[FieldDef]]:
    """Record tables to rebuild → their decimal fields still stored as REAL/NUMERIC."""
    found: dict[str, list[FieldDef]] = {}
    for entity in definitions.entities.values():
        row = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (entity.name,)
        ).first()
        if row is None or row[0] is None:
            continue
        old_decimals = _old_decimal_fields(conn, entity) if _has_decimals(entity) else []
        if "AUTOINCREMENT" not in str(row[0]).upper() or old_decimals:
            found[entity.name] = old_decimals
    return found


def _has_decimals(entity: EntityDef) -> bool:
    return any(f.type in ("decimal", "money") for f in entity.fields.values())


def _old_decimal_fields(conn: Connection, entity: EntityDef) -> list[FieldDef]:
    quoted = conn.dialect.identifier_preparer.quote(entity.name)
    declared = {str(r[1]): str(r[2]).upper() for r in conn.exec_driver_sql(f"PRAGMA table_info({quoted})")}
    return [
        f
        for f in entity.fields.values()
        if f.type in ("decimal", "money")
        and declared.get(f.name, "").startswith(_OLD_DECIMAL_TYPES)
        and isinstance(column_type(f), ExactDecimal)
        and not column_type(f).compile(dialect=conn.dialect).upper().startswith(_OLD_DECIMAL_TYPES)
    ]


# -- rebuilding ----------------------------------------------------------------------------------
def _rebuild(conn: Connection, table: sa.Table, entity: EntityDef, old_decimals: list[FieldDef]) -> None:
    """SQLite's own recipe for a table change: create the new table, copy, drop, rename.

    Foreign keys are off (:meth:`Database.migration`), so references to the table survive the
    swap; the compiled table's DDL keeps every constraint name.
    """
    preparer = conn.dialect.identifier_preparer
    name = preparer.quote(table.name)
    temp = preparer.quote(_TEMP_PREFIX + table.name)
    before = _sequence(conn, table.name)
    values = {f.name: _scaled_values(conn, name, entity, f) for f in old_decimals}
    present = {str(r[1]) for r in conn.exec_driver_sql(f"PRAGMA table_info({name})")}
    ddl = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
    header = f"CREATE TABLE {preparer.format_table(table)} ("
    assert ddl.startswith(header), ddl[:80]
    conn.exec_driver_sql(f"CREATE TABLE {temp} (" + ddl[len(header) :])
    copied = [c.name for c in table.columns if c.name in present and c.name not in values]
    columns = ", ".join(preparer.quote(c) for c in copied)
    conn.exec_driver_sql(f"INSERT INTO {temp} ({columns}) SELECT {columns} FROM {name}")
    for column, rows in values.items():
        update = f"UPDATE {temp} SET {preparer.quote(column)} = ? WHERE id = ?"
        for start in range(0, len(rows), 5000):
            conn.exec_driver_sql(update, [(v, i) for i, v in rows[start : start + 5000]])
    conn.exec_driver_sql(f"DROP TABLE {name}")
    conn.exec_driver_sql(f"ALTER TABLE {temp} RENAME TO {name}")
    for index in table.indexes:
        index.create(conn)
    _raise_sequence(conn, table.name, max(before, _highest_id_used(conn, table.name)))


def _sequence(conn: Connection, table: str) -> int:
    if not _has_sequences(conn):
        return 0
    found = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).first()
    return int(found[0]) if found else 0


def _scaled_values(conn: Connection, table: str, entity: EntityDef, f: FieldDef) -> list[tuple[int, int]]:
    """(id, value × 10^scale) of every stored value of an old REAL/NUMERIC column."""
    assert f.scale is not None
    quantum = Decimal(1).scaleb(-f.scale)
    column = conn.dialect.identifier_preparer.quote(f.name)
    out: list[tuple[int, int]] = []
    problems: list[Problem] = []
    for record_id, raw in conn.exec_driver_sql(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"):
        scaled = int(_decimal(raw).quantize(quantum).scaleb(f.scale))
        if abs(scaled) > _INT64_MAX:
            problems.append(
                Problem(
                    code="precision_too_large",
                    field=f.name,
                    message=f"{entity.name} {record_id}: {raw} has more digits than SQLite keeps exactly",
                )
            )
        out.append((int(record_id), scaled))
    if problems:
        raise UsageError(f"cannot upgrade {entity.name}.{f.name}: lower these values or move to PostgreSQL", problems)
    return out


def _decimal(raw: Any) -> Decimal:
    # repr of a float is the shortest text that reads back as it, so 0.1 stays 0.1
    return Decimal(raw) if isinstance(raw, int) else Decimal(str(raw))
