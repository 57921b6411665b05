"""Names a database keeps for itself are refused at validation, not when applied."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from metadata_support import Writer, entity

from engine.errors import DefinitionError
from engine.metadata import load_definitions, validate_path
from engine.runtime import CrmEngine

SYSTEM_COLUMNS = ("ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid")


@pytest.mark.parametrize("name", SYSTEM_COLUMNS)
def test_a_postgresql_system_column_is_not_a_field_name(write: Writer, name: str) -> None:
    path = write("deal.json", entity({name: {"type": "string"}}))
    [found] = validate_path(path)
    assert (found.code, found.file, found.pointer) == ("reserved_name", "deal.json", f"/fields/{name}")
    assert "PostgreSQL" in found.message


@pytest.mark.parametrize("name", ["sqlite_deal", "pg_deal", "pg_class"])
def test_a_database_table_prefix_is_not_an_entity_name(write: Writer, name: str) -> None:
    path = write("deal.json", entity(name=name))
    [found] = validate_path(path)
    assert (found.code, found.file, found.pointer) == ("reserved_name", "deal.json", "/name")
    assert repr(name.split("_")[0] + "_") in found.message


def test_names_close_to_reserved_ones_are_fine(write: Writer) -> None:
    fields = {name: {"type": "string"} for name in ("xmin_value", "oid_code", "object_id")}
    assert validate_path(write("deal.json", entity(fields, name="pgsql_link"))) == []


def test_the_refused_names_fail_on_the_database(database_url: str) -> None:
    """Why they are refused: the database itself refuses them when the schema is applied."""
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    if engine.dialect.name == "postgresql":
        sa.Table("deal", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("xmin", sa.Text))
    else:
        sa.Table("sqlite_deal", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        with pytest.raises(sa.exc.DatabaseError):
            metadata.create_all(engine)
    finally:
        engine.dispose()


def test_the_check_runs_on_a_bundle_too(tmp_path: Path, write: Writer) -> None:
    write("sales/bundle.json", {"schema_version": 1, "kind": "bundle", "name": "sales"})
    write("sales/deal.json", entity({"tableoid": {"type": "integer"}}))
    [found] = validate_path(tmp_path / "sales")
    assert (found.code, found.file, found.pointer) == ("reserved_name", "sales/deal.json", "/fields/tableoid")


def test_a_decimal_wider_than_sqlite_keeps_is_valid_but_refused_when_applied_to_sqlite(
    tmp_path: Path, write: Writer
) -> None:
    """Precision above 18 is a limit of SQLite (64-bit integers), not of the definitions:
    PostgreSQL keeps 38 digits. So it is refused where it is applied, at the field's precision."""
    fields = {"ok": {"type": "money", "precision": 18}, "big": {"type": "decimal", "precision": 19, "scale": 2}}
    path = write("deal.json", entity(fields))
    assert validate_path(path) == []
    crm = CrmEngine(f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        with pytest.raises(DefinitionError) as refused:
            crm.apply(load_definitions(path))
    finally:
        crm.close()
    [found] = refused.value.problems
    assert (found.code, found.pointer) == ("precision_too_large", "/fields/big/precision")
    assert found.file is not None and Path(found.file).name == "deal.json"
    assert "deal.big has precision 19" in found.message
